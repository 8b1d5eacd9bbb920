#!/usr/bin/perl
# Copyright (c) migrate_ext contributors
#
# test/fuzz/run.pl: the long fuzzing run (test/t/008_fuzz.pl is the bounded
# one in the test suite).  Feeds COUNT generated and mutated migration
# documents to mig.start on a throwaway cluster, walking the pgroll corpus
# (see MigFuzz.pm for what is generated and checked), prints progress and a
# summary, and writes every failing document to a file in the output
# directory.  A crash does not stop the run: the server restarts by itself,
# the database is rebuilt and the run goes on.
#
#   test/fuzz/run.pl [--count N] [--seed S] [--out DIR] [--keep]
#                    [--pg-bin DIR] [--max-failures N] [--huge BYTES]
#                    [--triggers N]
#
# --triggers N then runs N cases of mig.dual_write() attached as a trigger
# to generated tables (MigFuzz::trigger_fuzz; default 1000, 0 skips them).
#
# The installed migrate_ext is fuzzed (make install first).  As root, the
# server runs as "postgres" (PostgreSQL refuses to run as root).  Exits 1
# if anything failed, 0 otherwise.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Spec;
use File::Temp qw(tempdir);
use Getopt::Long;
use POSIX qw(strftime);

use lib dirname(abs_path(__FILE__));
use MigFuzz;

my %opt = (
	count => 10_000,
	seed => time() % 1_000_000,
	'pg-bin' => '/usr/lib/postgresql/15/bin',
	'max-failures' => 0,
	huge => 1_000_000,
	'committed-share' => 0.15,
	triggers => 1000,
);
GetOptions(\%opt, 'count=i', 'seed=s', 'out=s', 'keep', 'pg-bin=s',
	'max-failures=i', 'huge=i', 'committed-share=f', 'no-exercise', 'triggers=i', 'help')
  or die "usage: $0 [--count N] [--seed S] [--out DIR] [--keep]\n";
if ($opt{help})
{
	print "usage: $0 [--count N] [--seed S] [--out DIR] [--keep] [--pg-bin DIR]\n"
	  . "          [--max-failures N] [--huge BYTES] [--committed-share F] [--no-exercise]\n";
	exit 0;
}
$opt{out} //= "fuzz-failures-$opt{seed}";

my $root = File::Spec->catdir(dirname(abs_path(__FILE__)), '..', '..');
my $corpus = MigFuzz::load_corpus(File::Spec->catdir($root, 'test', 'corpus', 'pgroll-examples'));

# The throwaway cluster.
my $as_root = $> == 0;
my $run_user = $as_root ? 'postgres' : scalar getpwuid($>);
my @as_user = $as_root ? ('runuser', '-u', 'postgres', '--') : ();
my $tmp = tempdir('migfuzz.XXXXXX', TMPDIR => 1, CLEANUP => 0);
chmod 0700, $tmp;
if ($as_root)
{
	my ($uid, $gid) = (getpwnam('postgres'))[ 2, 3 ];
	defined $uid or die "user postgres does not exist\n";
	chown $uid, $gid, $tmp;
}
my $data = "$tmp/data";
my $log = "$tmp/server.log";
my $port = 20000 + int(rand(40000));
my $started = 0;

sub cleanup
{
	if ($started)
	{
		system(@as_user, "$opt{'pg-bin'}/pg_ctl", '-D', $data, '-m', 'immediate', '-w', 'stop');
		$started = 0;
	}
	if ($opt{keep}) { print "kept $tmp\n"; }
	else { remove_tree($tmp); }
}
$SIG{INT} = $SIG{TERM} = sub { cleanup(); exit 130; };

system(@as_user, "$opt{'pg-bin'}/initdb", '-D', $data, '-A', 'trust', '-E', 'UTF8',
	'--locale=C.UTF-8', '--no-sync', '-U', $run_user) == 0
  or do { cleanup(); die "initdb failed\n"; };
open(my $conf, '>>', "$data/postgresql.conf") or die "$!";
print $conf <<"EOF";
# added by test/fuzz/run.pl
port = $port
listen_addresses = ''
unix_socket_directories = '$tmp'
shared_preload_libraries = 'migrate_ext'
fsync = off
max_worker_processes = 16
restart_after_crash = on
log_min_messages = warning
EOF
close $conf;
system(@as_user, "$opt{'pg-bin'}/pg_ctl", '-D', $data, '-l', $log, '-w', '-t', '60', 'start') == 0
  or do { system('cat', $log); cleanup(); die "the server did not start\n"; };
$started = 1;

make_path($opt{out});
my $nfail = 0;
print "seed $opt{seed}, $opt{count} mutants, cluster in $tmp, failures to $opt{out}/\n";
my $summary = eval {
	MigFuzz::run(
		host => $tmp,
		port => $port,
		user => $run_user,
		psql => "$opt{'pg-bin'}/psql",
		logfile => $log,
		dbname => 'fuzz',
		corpus => $corpus,
		seed => $opt{seed},
		count => $opt{count},
		committed_share => $opt{'committed-share'},
		exercise => !$opt{'no-exercise'},
		max_crashes => 0,
		max_failures => $opt{'max-failures'},
		huge_max => $opt{huge},
		progress => sub {
			my ($p) = @_;
			printf "%s step %2d/%d %-45s %6d mutants, %d failures, %.0f s\n",
			  strftime('%H:%M:%S', localtime), $p->{step}, $p->{steps}, $p->{name},
			  $p->{mutants}, $p->{failures}, $p->{elapsed};
		},
		on_failure => sub {
			my ($f) = @_;
			$nfail++;
			(my $id = $f->{mutant}{id}) =~ s{/}{_}g;
			my $file = sprintf('%s/%04d_%s_%s', $opt{out}, $nfail, $f->{class}, $id);
			open(my $fh, '>:raw', "$file.json") or die "$file.json: $!";
			print $fh $f->{mutant}{doc};
			close $fh;
			open($fh, '>:encoding(UTF-8)', "$file.txt") or die "$file.txt: $!";
			print $fh MigFuzz::describe_failure($f, 100_000), "\n";
			close $fh;
			print "FAIL " . MigFuzz::describe_failure($f, 300) . "\n";
		});
};
my $err = $@;
my $triggers = $summary && $opt{triggers} ? eval {
	MigFuzz::trigger_fuzz(host => $tmp, port => $port, user => $run_user,
		psql => "$opt{'pg-bin'}/psql", logfile => $log, dbname => 'trigger_fuzz',
		seed => $opt{seed}, count => $opt{triggers}, max_failures => 1000);
} : undef;
$err ||= $@ if $summary && $opt{triggers} && !$triggers;
cleanup();
die "the run stopped: $err" unless $summary && (!$opt{triggers} || $triggers);

print "\nsummary (seed $opt{seed}): $summary->{mutants} mutants in "
  . sprintf('%.0f', $summary->{elapsed}) . " s\n";
print "  outcomes: "
  . join(', ', map { "$_ $summary->{outcomes}{$_}" } sort keys %{ $summary->{outcomes} }) . "\n";
print "  by kind: "
  . join(', ', map { "$_ $summary->{kinds}{$_}" } sort keys %{ $summary->{kinds} }) . "\n";
print "  sqlstates: "
  . join(', ', map { "$_ $summary->{sqlstates}{$_}" }
	  sort { $summary->{sqlstates}{$b} <=> $summary->{sqlstates}{$a} } keys %{ $summary->{sqlstates} })
  . "\n";
my %fc = %{ $summary->{failure_classes} };
if ($triggers)
{
	print "  trigger cases: $triggers->{cases} ($triggers->{statements} statements), sqlstates: "
	  . join(', ', map { "$_ $triggers->{sqlstates}{$_}" } sort keys %{ $triggers->{sqlstates} }) . "\n";
	for my $f (@{ $triggers->{failures} })
	{
		$fc{"trigger $f->{class}"}++;
		print "FAIL " . MigFuzz::describe_trigger_failure($f) . "\n";
	}
}
if (%fc)
{
	print "  FAILURES: " . join(', ', map { "$_ $fc{$_}" } sort keys %fc)
	  . " (documents in $opt{out}/)\n";
	exit 1;
}
print "  no failures\n";
rmdir $opt{out};
exit 0;
