
# Copyright (c) migrate_ext contributors
#
# The dual-write trigger never crashes the server (issue 14, item 1), and
# routes writes by the version view they go through even when the library
# is loaded by the trigger itself (item 6, no preload).
#
#  (a) the issue's repro, as a role that is not a superuser: a table of its
#      own with mig.dual_write() as a BEFORE INSERT trigger, one INSERT;
#      a clear error (55000, naming the table and the trigger), nothing
#      written, the server still up and no "terminated by signal" in its
#      log;
#  (b) the trigger fired AFTER, per statement, on DELETE, INSTEAD OF on a
#      view, with arguments, on a partition (the partitioned table's
#      trigger cloned), on a table with dropped columns, and the function
#      called directly: each a clear error;
#  (c) a migration in progress whose state row was damaged (a rule whose
#      target column is out of range, was dropped, or is missing; no
#      direction; no expression; rules that are not an array; no rules):
#      each write a clear error, never a crash or an internal error;
#  (c2) an up expression that redefines a function (invalidating every
#      table's compiled rules) and writes a table: its own (refused, 0A000)
#      or another one (works);
#  (d) mig.dual_write() attached to generated tables and written to
#      (MigFuzz::trigger_fuzz): no crash, no internal error;
#  (e) without the library preloaded, a session's first statement writing
#      through the new version's view from search_path public (the trigger
#      loads the library in the middle of that statement) is routed by the
#      view.
#
# After every statement: the server answers and its log has no "terminated
# by signal" since the test began.

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use lib File::Spec->rel2abs(File::Spec->catdir(dirname(__FILE__), '..', 'fuzz'));
use MigFuzz;

my $node = PostgreSQL::Test::Cluster->new('dual_write_trigger');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'migrate_ext'
max_worker_processes = 16
restart_after_crash = on
lc_messages = 'C'
});
$node->start;
my $log_start = -s $node->logfile;
my $postmaster_pid = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');

$node->safe_psql('postgres', q{
CREATE EXTENSION migrate_ext;
CREATE ROLE app LOGIN;
GRANT CREATE ON SCHEMA public TO app;
});

# Runs $sql as $user in a new session; returns (sqlstate or '', stderr).
sub run_sql
{
	my ($sql, $user) = @_;
	my ($stdout, $stderr) = ('', '');
	$node->psql('postgres', "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout, stderr => \$stderr,
		extra_params => [ defined $user ? ('-U', $user) : () ]);
	my ($state) = $stderr =~ /ERROR:\s+([0-9A-Z]{5}):/;
	return ($state // '', $stderr);
}

# The server is up, the same postmaster run, and no backend crashed.
sub server_alive
{
	my ($what) = @_;
	my $ok = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()') eq $postmaster_pid;
	my $log = slurp_file($node->logfile, $log_start);
	ok($ok && $log !~ /terminated by signal|server process .* was terminated|PANIC/,
		"the server is still up after $what")
	  or diag(join("\n", grep { /terminated|PANIC|TRAP/ } split /\n/, $log));
}

# (a) the issue's repro, as a role that is not a superuser
my ($state, $err) = run_sql(q{
CREATE TABLE t (a int);
CREATE TRIGGER x BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION mig.dual_write();
INSERT INTO t VALUES (1);
}, 'app');
is($state, '55000', 'the repro of the issue fails with SQLSTATE 55000');
like($err, qr/table "public\.t" has no dual-write state/, 'naming the table');
like($err, qr/Trigger "x" runs mig\.dual_write\(\), but no active migration writes this table/,
	'with a detail naming the trigger');
like($err, qr/HINT:.*mig\.start installs/, 'and a hint');
server_alive('the repro');
is($node->safe_psql('postgres', 'SELECT count(*) FROM t'), '0', 'nothing was written');

# a table whose trigger is named as migrate_ext names its own (a restore)
($state, $err) = run_sql(q{
CREATE TABLE restored (a int, b text);
CREATE TRIGGER "~mig_dual_write" BEFORE INSERT OR UPDATE ON restored FOR EACH ROW EXECUTE FUNCTION mig.dual_write();
ALTER TABLE restored ENABLE ALWAYS TRIGGER "~mig_dual_write";
INSERT INTO restored VALUES (1, 'x');
}, 'app');
is($state, '55000', 'a trigger named ~mig_dual_write on a table with no state: 55000');
server_alive('a table with the trigger and no state');
($state, $err) = run_sql(q{UPDATE restored SET b = 'y'}, 'app');
is($state, '', 'an UPDATE of no row fires nothing');

# (b) the other ways of firing it
my @cases = (
	[ 'AFTER INSERT FOR EACH ROW', q{CREATE TABLE b1 (a int);
CREATE TRIGGER x AFTER INSERT ON b1 FOR EACH ROW EXECUTE FUNCTION mig.dual_write();
INSERT INTO b1 VALUES (1);}, '39P01', qr/must be fired BEFORE INSERT OR UPDATE FOR EACH ROW.*\n.*DETAIL:.*Trigger "x" on "b1" fired it AFTER INSERT FOR EACH ROW/ ],
	[ 'BEFORE INSERT FOR EACH STATEMENT', q{CREATE TABLE b2 (a int);
CREATE TRIGGER x BEFORE INSERT ON b2 FOR EACH STATEMENT EXECUTE FUNCTION mig.dual_write();
INSERT INTO b2 VALUES (1);}, '39P01', qr/fired it BEFORE INSERT FOR EACH STATEMENT/ ],
	[ 'BEFORE DELETE', q{CREATE TABLE b3 (a int); INSERT INTO b3 VALUES (1);
CREATE TRIGGER x BEFORE DELETE ON b3 FOR EACH ROW EXECUTE FUNCTION mig.dual_write();
DELETE FROM b3;}, '39P01', qr/fired it BEFORE DELETE FOR EACH ROW/ ],
	[ 'BEFORE TRUNCATE', q{CREATE TABLE b4 (a int);
CREATE TRIGGER x BEFORE TRUNCATE ON b4 FOR EACH STATEMENT EXECUTE FUNCTION mig.dual_write();
TRUNCATE b4;}, '39P01', qr/fired it BEFORE TRUNCATE FOR EACH STATEMENT/ ],
	[ 'INSTEAD OF INSERT on a view', q{CREATE TABLE b5 (a int); CREATE VIEW b5v AS SELECT * FROM b5;
CREATE TRIGGER x INSTEAD OF INSERT ON b5v FOR EACH ROW EXECUTE FUNCTION mig.dual_write();
INSERT INTO b5v VALUES (1);}, '39P01', qr/fired it INSTEAD OF INSERT FOR EACH ROW/ ],
	[ 'with arguments', q{CREATE TABLE b6 (a int);
CREATE TRIGGER x BEFORE INSERT ON b6 FOR EACH ROW EXECUTE FUNCTION mig.dual_write('public_02_x', 'up');
INSERT INTO b6 VALUES (1);}, '39P01', qr/takes no trigger arguments.*\n.*DETAIL:.*passes 2/ ],
	[ 'on a partition', q{CREATE TABLE b7 (k int, a text) PARTITION BY LIST (k);
CREATE TABLE b7_1 PARTITION OF b7 FOR VALUES IN (1);
CREATE TRIGGER x BEFORE INSERT OR UPDATE ON b7 FOR EACH ROW EXECUTE FUNCTION mig.dual_write();
CREATE TABLE b7_2 PARTITION OF b7 FOR VALUES IN (2);
INSERT INTO b7 VALUES (2, 'x');}, '55000', qr/table "public\.b7_2" has no dual-write state.*\n.*DETAIL:.*is a partition: trigger "x" was cloned from its partitioned table/ ],
	[ 'on a table with dropped columns', q{CREATE TABLE b8 (a int, gone text, b jsonb, gone2 int);
ALTER TABLE b8 DROP COLUMN gone, DROP COLUMN gone2;
CREATE TRIGGER x BEFORE INSERT OR UPDATE ON b8 FOR EACH ROW EXECUTE FUNCTION mig.dual_write();
INSERT INTO b8 VALUES (1, '{}');}, '55000', qr/table "public\.b8" has no dual-write state/ ],
	[ 'called directly', q{SELECT mig.dual_write();}, '39P01', qr/function mig\.dual_write\(\) can only be called as a trigger/ ],
);
for my $c (@cases)
{
	my ($what, $sql, $want, $re) = @$c;
	($state, $err) = run_sql($sql, 'app');
	is($state, $want, "fired $what: SQLSTATE $want");
	like($err, $re, "fired $what: the error says how") or diag($err);
	server_alive("firing it $what");
}
is($node->safe_psql('postgres',
	q{SELECT (SELECT count(*) FROM b1) + (SELECT count(*) FROM b6) + (SELECT count(*) FROM b7) + (SELECT count(*) FROM b8)}),
	'0', 'none of those writes was kept');

# (c) a damaged state row of a migration in progress
$node->safe_psql('postgres', q{
SET migrate_ext.start_jobs = off;
SELECT mig.start('01_init', '{"operations": [{"create_table": {"name": "acct", "columns": [
	{"name": "id", "type": "serial", "pk": true}, {"name": "bal", "type": "integer"}]}}]}');
SELECT mig.complete();
INSERT INTO acct (bal) VALUES (100), (200);
SELECT mig.start('02_big', '{"operations": [{"alter_column": {"table": "acct", "column": "bal",
	"type": "bigint", "up": "bal::bigint", "down": "bal::integer"}}]}');
CREATE TABLE saved AS SELECT rules FROM mig.dual_writes WHERE relid = 'acct'::regclass;
});
($state, $err) = run_sql(q{INSERT INTO public_01_init.acct (bal) VALUES (1)});
is($state, '', 'the intact migration writes') or diag($err);

my @damage = (
	[ 'a target column out of range', q{jsonb_set(rules, '{0,target}', '999')}, '55000', qr/computes column number 999/ ],
	[ 'a target column 0', q{jsonb_set(rules, '{0,target}', '0')}, '55000', qr/computes column number 0/ ],
	[ 'no target column', q{rules #- '{0,target}'}, '55000', qr/computes column number 0/ ],
	[ 'a target that is not a number', q{jsonb_set(rules, '{0,target}', '"x"')}, '22P02', qr/invalid input syntax/ ],
	[ 'no direction', q{rules #- '{0,direction}'}, '55000', qr/is malformed: a rule has no direction/ ],
	[ 'an unknown direction', q{jsonb_set(rules, '{0,direction}', '"sideways"')}, '55000', qr/has no direction "up" or "down"/ ],
	[ 'no expression', q{rules #- '{0,sql}'}, '55000', qr/a rule has no expression/ ],
	[ 'names that are not an array', q{jsonb_set(rules, '{0,names}', '"bal"')}, '22023', qr/cannot extract elements from a scalar/ ],
	[ 'rules that are an object', q{'{"direction": "up"}'::jsonb}, '22023', qr/cannot extract elements from an object/ ],
	[ 'no rules at all', q{'[]'::jsonb}, '55000', qr/has no dual-write state/ ],
);
for my $d (@damage)
{
	my ($what, $expr, $want, $re) = @$d;
	$node->safe_psql('postgres', "UPDATE mig.dual_writes SET rules = $expr WHERE relid = 'acct'::regclass");
	for my $via ('public_01_init.acct', 'public_02_big.acct')
	{
		($state, $err) = run_sql("INSERT INTO $via (bal) VALUES (5)");
		is($state, $want, "state with $what: a write through $via fails with $want");
		like($err, $re, "state with $what: saying why") or diag($err);
	}
	server_alive("a write with $what");
	$node->safe_psql('postgres', "UPDATE mig.dual_writes d SET rules = s.rules FROM saved s WHERE relid = 'acct'::regclass");
}

# the target column itself dropped (the shadow column, with the new version)
$node->safe_psql('postgres', q{
SET client_min_messages = warning;
ALTER TABLE acct DROP COLUMN _mig_new_bal CASCADE;
});
($state, $err) = run_sql(q{INSERT INTO public_01_init.acct (bal) VALUES (7)});
is($state, '55000', 'a rule whose target column was dropped: 55000');
like($err, qr/computes column number \d+, which the table does not have/, 'saying so');
server_alive('a write to a table whose rule targets a dropped column');

# (c2) an up expression that redefines a function (which invalidates every
# table's compiled rules) and writes a table while the trigger runs it
$node->safe_psql('postgres', q{
CREATE SCHEMA rc;
CREATE FUNCTION rc.write_same(n text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	IF n NOT LIKE 'nested%' THEN
		EXECUTE 'CREATE OR REPLACE FUNCTION rc.noop() RETURNS int LANGUAGE sql AS ''SELECT 1''';
		INSERT INTO rc.a1 (name) VALUES ('nested-' || n);
	END IF;
	RETURN upper(n);
END $$;
CREATE FUNCTION rc.write_other(n text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE 'CREATE OR REPLACE FUNCTION rc.noop() RETURNS int LANGUAGE sql AS ''SELECT 2''';
	INSERT INTO rc.b (name) VALUES ('from-' || n);
	RETURN upper(n);
END $$;
SET migrate_ext.start_jobs = off;
SELECT mig.start('01_init', '{"operations": [
	{"create_table": {"name": "a1", "columns": [{"name": "id", "type": "serial", "pk": true}, {"name": "name", "type": "text"}]}},
	{"create_table": {"name": "a2", "columns": [{"name": "id", "type": "serial", "pk": true}, {"name": "name", "type": "text"}]}},
	{"create_table": {"name": "b", "columns": [{"name": "id", "type": "serial", "pk": true}, {"name": "name", "type": "text"}]}}]}', 'rc');
SELECT mig.complete('rc');
SELECT mig.start('02_up', '{"operations": [
	{"add_column": {"table": "a1", "up": "rc.write_same(name)", "column": {"name": "shout", "type": "text", "nullable": true}}},
	{"add_column": {"table": "a2", "up": "rc.write_other(name)", "column": {"name": "shout", "type": "text", "nullable": true}}},
	{"add_column": {"table": "b", "up": "lower(name)", "column": {"name": "quiet", "type": "text", "nullable": true}}}]}', 'rc');
});
($state, $err) = run_sql(q{INSERT INTO rc_01_init.a1 (name) VALUES ('x'), ('y')});
is($state, '0A000', 'an up expression that writes its own table: 0A000');
like($err, qr/an up or down expression of table "a1" writes to that table/, 'saying so') or diag($err);
server_alive('an up expression writing its own table');
($state, $err) = run_sql(q{INSERT INTO rc_01_init.a2 (name) VALUES ('x'), ('y')});
is($state, '', 'an up expression that redefines a function and writes another migrated table works') or diag($err);
is($node->safe_psql('postgres', q{
SELECT string_agg(name || '=' || _mig_new_shout, ', ' ORDER BY id) FROM rc.a2;
SELECT string_agg(name || '=' || _mig_new_quiet, ', ' ORDER BY id) FROM rc.b;
}), "x=X, y=Y\nfrom-x=from-x, from-y=from-y", 'and both tables get their up values');
server_alive('an up expression writing another table');

# (d) the trigger fuzzer
my $summary = MigFuzz::trigger_fuzz(
	host => $node->host,
	port => $node->port,
	psql => $node->installed_command('psql'),
	logfile => $node->logfile,
	dbname => 'trigger_fuzz',
	seed => $ENV{MIGRATE_EXT_FUZZ_SEED} // 20261204,
	count => $ENV{MIGRATE_EXT_TRIGGER_FUZZ_COUNT} // 300);
note sprintf('trigger fuzz: %d cases, %d statements; errors by SQLSTATE: %s',
	$summary->{cases}, $summary->{statements},
	join(', ', map { "$_ $summary->{sqlstates}{$_}" } sort keys %{ $summary->{sqlstates} }));
my %by_class;
push @{ $by_class{ $_->{class} } }, $_ for @{ $summary->{failures} };
for my $c ([ crash => 'the server never crashed' ], [ session_lost => 'no session was lost' ],
	[ hang => 'nothing hung' ], [ internal_error => 'no internal error' ],
	[ unclear_error => 'every error has a SQLSTATE and a message' ])
{
	my $f = delete $by_class{ $c->[0] } // [];
	is(scalar(@$f), 0, "trigger fuzz: $c->[1]")
	  or diag(join("\n", map { MigFuzz::describe_trigger_failure($_) } @$f[ 0 .. ($#$f < 9 ? $#$f : 9) ]));
}
is_deeply([ sort keys %by_class ], [], 'trigger fuzz: no other kind of failure');
cmp_ok($summary->{sqlstates}{'55000'} // 0, '>', 0, 'trigger fuzz: the unknown-table error was reached');
cmp_ok($summary->{sqlstates}{'39P01'} // 0, '>', 0, 'trigger fuzz: the wrong-firing error was reached');
server_alive('the trigger fuzz');

# (e) no preload: the trigger loads the library in the middle of the
# statement it fires in
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$node->restart;
$postmaster_pid = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
$log_start = -s $node->logfile;
$node->safe_psql('postgres', q{
CREATE SCHEMA np;
SET migrate_ext.start_jobs = off;
SELECT mig.start('01_init', '{"operations": [{"create_table": {"name": "acct", "columns": [
	{"name": "id", "type": "serial", "pk": true}, {"name": "bal", "type": "integer"}]}}]}', 'np');
SELECT mig.complete('np');
SELECT mig.start('02_note', '{"operations": [{"add_column": {"table": "acct",
	"up": "''up''", "column": {"name": "note", "type": "text", "nullable": true}}}]}', 'np');
});
is($node->safe_psql('postgres', q{
SET search_path = public;
INSERT INTO np_02_note.acct (bal, note) VALUES (42, 'mine');
SELECT _mig_new_note FROM np.acct WHERE bal = 42;
}), 'mine', 'without preload, the first write of a session through the new version\'s view is routed by the view');
is($node->safe_psql('postgres', q{
SET search_path = public;
SET migrate_ext.version = 'public_06_typo';
UPDATE np_02_note.acct SET note = 'again' WHERE bal = 42;
SELECT _mig_new_note FROM np.acct WHERE bal = 42;
}), 'again', 'and so is its first UPDATE, whatever migrate_ext.version says');
# one query string (\;): the library is loaded by its first statement, and
# its second, a COPY into the table itself, is not routed by the first's view
is($node->safe_psql('postgres', q{
SET search_path = public;
INSERT INTO np_02_note.acct (bal, note) VALUES (44, 'mine44') \; COPY np.acct (bal, _mig_new_note) FROM PROGRAM 'printf "45\tcopied\n"';
SELECT string_agg(bal || ':' || _mig_new_note, ', ' ORDER BY bal) FROM np.acct WHERE bal IN (44, 45);
}), '44:mine44, 45:up', 'in one query string, the statement after the one that loaded the library is routed by its own plan');
($state, $err) = run_sql(q{SET migrate_ext.version = 'public_06_typo';
INSERT INTO np.acct (bal, _mig_new_note) VALUES (43, 'typo');});
is($state, '22023', 'without preload, an unknown version is refused for a write to the table');
server_alive('the writes without preload');

$node->stop;
done_testing();
