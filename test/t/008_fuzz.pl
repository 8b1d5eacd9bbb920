
# Copyright (c) migrate_ext contributors
#
# Fuzzing mig.start (issue 5, point 4): a bounded run of thousands of
# generated and mutated migration documents, built from the pgroll corpus
# (test/fuzz/MigFuzz.pm generates them and says exactly what is checked;
# test/fuzz/run.pl is the longer run).  Walking the corpus in order, each
# step feeds its mutants to mig.start and then applies the step's document
# for real.  Every mutant must either start (and roll back cleanly, in the
# same transaction, and for a sample also committed: start in one
# transaction, rollback in the next) or fail with a clear error, and leave
# the catalogs, the mig state tables and mig.status exactly as before.
#
# One assertion per class of failure, not per document: no crash, no
# internal error (SQLSTATE XX000, "cache lookup failed" and the like), no
# unclear error, no hang, state restored after every attempt, rollback of
# a started mutant succeeds, the versions a started mutant creates are
# readable.  A failing assertion prints the offending documents (truncated)
# with their ids "seed/step/index": the run is reproducible from its seed,
# MIGRATE_EXT_FUZZ_SEED (default fixed), and its size is
# MIGRATE_EXT_FUZZ_COUNT (default 2000).
#
# Then mig.dual_write() is attached as a trigger to generated tables and
# written to (MigFuzz::trigger_fuzz, MIGRATE_EXT_TRIGGER_FUZZ_COUNT cases,
# default 500): no crash, no internal or unclear error.

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use lib File::Spec->rel2abs(File::Spec->catdir(dirname(__FILE__), '..', 'fuzz'));
use MigFuzz;

my $seed = $ENV{MIGRATE_EXT_FUZZ_SEED} // 20240605;
my $count = $ENV{MIGRATE_EXT_FUZZ_COUNT} // 2000;
note "fuzz seed $seed (MIGRATE_EXT_FUZZ_SEED), $count documents (MIGRATE_EXT_FUZZ_COUNT)";

my $corpus = MigFuzz::load_corpus(File::Spec->rel2abs(
	File::Spec->catdir(dirname(__FILE__), '..', 'corpus', 'pgroll-examples')));
is(scalar(@$corpus), 56, 'the corpus has 56 migrations')
  or BAIL_OUT('incomplete corpus');

my $node = PostgreSQL::Test::Cluster->new('fuzz');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'migrate_ext'
max_worker_processes = 16
restart_after_crash = on
});
$node->start;

my $t0 = time();
my $summary = eval {
	MigFuzz::run(
		host => $node->host,
		port => $node->port,
		psql => $node->installed_command('psql'),
		logfile => $node->logfile,
		dbname => 'fuzz',
		corpus => $corpus,
		seed => $seed,
		count => $count,
		committed_share => 0.15,
		exercise => 1,
		# a crash fails the test; stop at the first one rather than pile up
		# consequences
		max_crashes => 1,
		max_failures => 200,
		huge_max => 100_000,
		progress => sub {
			my ($p) = @_;
			note sprintf('step %d/%d %s: %d documents, %d failures, %.0f s',
				$p->{step}, $p->{steps}, $p->{name}, $p->{mutants}, $p->{failures},
				$p->{elapsed})
			  if $p->{step} % 8 == 0 || $p->{step} == $p->{steps};
		});
};
ok($summary, 'the fuzzing run went through the whole corpus') or diag("run stopped: $@");
$summary //= { mutants => 0, outcomes => {}, sqlstates => {}, kinds => {}, failures => [] };

note sprintf('%d documents in %.0f s', $summary->{mutants}, time() - $t0);
note 'outcomes: ' . join(', ', map { "$_ $summary->{outcomes}{$_}" } sort keys %{ $summary->{outcomes} });
note 'by kind: ' . join(', ', map { "$_ $summary->{kinds}{$_}" } sort keys %{ $summary->{kinds} // {} });
note 'errors by SQLSTATE: ' . join(', ', map { "$_ $summary->{sqlstates}{$_}" }
	  sort { $summary->{sqlstates}{$b} <=> $summary->{sqlstates}{$a} || $a cmp $b }
	  keys %{ $summary->{sqlstates} });

cmp_ok($summary->{mutants}, '>=', $count, "$count documents were tried");

# One assertion per failure class; the documents of a failing class are
# printed (the first ten, truncated).
my %by_class;
push @{ $by_class{ $_->{class} } }, $_ for @{ $summary->{failures} };
my @classes = (
	[ crash => 'the server never crashed' ],
	[ session_lost => 'the session was never lost (FATAL, PANIC)' ],
	[ hang => 'no document made mig.start hang' ],
	[ timeout => 'no statement timeout' ],
	[ internal_error => 'no internal error (XX000, "cache lookup failed", ...)' ],
	[ uncaught_error => 'every error could be caught in PL/pgSQL' ],
	[ unclear_error => 'every error has a SQLSTATE and a message' ],
	[ leak_warning => 'no resource leak warning' ],
	[ state_not_restored => 'catalogs, state tables and mig.status are as before after every attempt' ],
	[ rollback_failed => 'every started document rolls back' ],
	[ committed_start_failed => 'a document that starts in one transaction also starts committed' ],
	[ version_unreadable => 'every relation of both versions of a started document can be read' ],
);
my %known = map { $_->[0] => 1 } @classes;
for my $c (@classes)
{
	my ($class, $label) = @$c;
	my $fails = $by_class{$class} // [];
	is(scalar(@$fails), 0, $label) or do {
		my $n = 0;
		for my $f (@$fails)
		{
			last if ++$n > 10;
			diag(MigFuzz::describe_failure($f, 1500));
		}
		diag(sprintf('... and %d more', @$fails - 10)) if @$fails > 10;
	};
}
my @other = grep { !$known{$_} } sort keys %by_class;
is_deeply(\@other, [], 'no other kind of failure') or do {
	diag(MigFuzz::describe_failure($_, 1500)) for map { @{ $by_class{$_} } } @other;
};

# mig.dual_write() as a trigger on arbitrary tables (issue 14, item 1):
# MigFuzz::trigger_fuzz, checked by class as above
my $triggers = MigFuzz::trigger_fuzz(
	host => $node->host,
	port => $node->port,
	psql => $node->installed_command('psql'),
	logfile => $node->logfile,
	dbname => 'trigger_fuzz',
	seed => $seed,
	count => $ENV{MIGRATE_EXT_TRIGGER_FUZZ_COUNT} // 500);
note sprintf('trigger fuzz: %d cases, %d statements; errors by SQLSTATE: %s',
	$triggers->{cases}, $triggers->{statements},
	join(', ', map { "$_ $triggers->{sqlstates}{$_}" } sort keys %{ $triggers->{sqlstates} }));
is_deeply([ map { "$_->{class}: case $_->{case}: $_->{error}" } @{ $triggers->{failures} } ], [],
	'mig.dual_write() as a trigger on generated tables: no crash, no internal or unclear error')
  or diag(join("\n", map { MigFuzz::describe_trigger_failure($_) } grep { defined } @{ $triggers->{failures} }[ 0 .. 9 ]));

$node->stop;

done_testing();
