
# Copyright (c) migrate_ext contributors
#
# DROP EXTENSION migrate_ext CASCADE in the middle of a migration (issue 14,
# item 7): with a real worker in the middle of a backfill, the drop rolls the
# migration back first, in the same transaction, exactly as mig.rollback
# would, so the old version's tables are exactly as before start (columns,
# constraints, indexes, triggers, schemas: a catalog snapshot taken before
# start) with their data unchanged; the worker stops without an error and is
# not restarted in a loop; and CREATE EXTENSION + the same migration works
# again.  Without CASCADE, the drop fails naming the migration and changes
# nothing.  The same holds for DROP SCHEMA mig CASCADE (the extension's
# schema) and DROP OWNED BY the extension's owner CASCADE, and without the
# library preloaded.  An index rebuilt by a worker stopped before it recorded
# the index's new OID is dropped too; an index a completed migration dropped
# whose job has not run yet is named in a warning.
#
# No sleeps: the test polls for the states it needs (the backfill half done,
# the worker gone, the restarted worker's quiet exit, logged at DEBUG1).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('drop_extension');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'migrate_ext'
max_worker_processes = 16
autovacuum = off
# the postmaster logs a background worker's clean exit at DEBUG1
log_min_messages = debug1
});
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION migrate_ext;
	CREATE SCHEMA app;
	CREATE TABLE app.t (id integer PRIMARY KEY, n integer CHECK (n > 0), m text);
	CREATE INDEX t_m_lower ON app.t (lower(m));
	INSERT INTO app.t SELECT g, g, 'row ' || g FROM generate_series(1, 30000) g;
	CREATE TABLE app.gone (id integer);
	INSERT INTO app.gone VALUES (1), (2);
	ALTER SYSTEM SET migrate_ext.backfill_batch_size = 100;
	-- about 300 batches 50 ms apart: the backfill takes 15 s or more
	ALTER SYSTEM SET migrate_ext.backfill_delay = 50;
	SELECT pg_reload_conf();
});

# columns, constraints, indexes, triggers and schemas outside pg_catalog
my $snapshot_sql = q{
	SELECT concat_ws(E'\n',
		(SELECT string_agg(format('%s.%s %s %s %s %s', c.relname, a.attname,
				format_type(a.atttypid, a.atttypmod), a.attnotnull,
				pg_get_expr(d.adbin, d.adrelid), a.attnum), ', '
				ORDER BY c.relname, a.attnum)
		   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
		   LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		  WHERE c.relnamespace = 'app'::regnamespace AND a.attnum > 0
		    AND NOT a.attisdropped),
		(SELECT string_agg(format('%s %s %s', conrelid::regclass, conname,
				pg_get_constraintdef(oid)), ', ' ORDER BY conrelid::regclass::text, conname)
		   FROM pg_constraint WHERE connamespace = 'app'::regnamespace),
		(SELECT string_agg(indexdef, ', ' ORDER BY indexname)
		   FROM pg_indexes WHERE schemaname = 'app'),
		(SELECT string_agg(format('%s %s %s', c.relname, c.relkind, c.relpersistence), ', '
				ORDER BY c.relname)
		   FROM pg_class c WHERE c.relnamespace = 'app'::regnamespace),
		(SELECT string_agg(pg_get_triggerdef(t.oid), ', ' ORDER BY tgname)
		   FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
		  WHERE c.relnamespace = 'app'::regnamespace),
		(SELECT string_agg(nspname, ', ' ORDER BY nspname)
		   FROM pg_namespace WHERE nspname NOT LIKE 'pg\_%'
		    AND nspname NOT IN ('information_schema', 'mig')))
};
my $data_sql = q{
	SELECT md5(string_agg(t::text, ',' ORDER BY id)) || ' ' ||
	       (SELECT md5(string_agg(g::text, ',' ORDER BY id)) FROM app.gone g)
	  FROM app.t
};

my $migration = q{'{"operations": [
	{"alter_column": {"table": "t", "column": "n", "type": "bigint",
	                  "up": "n", "down": "n::integer"}},
	{"add_column": {"table": "t", "column": {"name": "k", "type": "integer",
	                "nullable": false, "default": "0"}, "up": "n + 1"}},
	{"create_index": {"name": "t_m_idx", "table": "t", "columns": [{"column": "m"}]}},
	{"drop_table": {"name": "gone"}}]}'};

# Start the migration and wait until its worker is in the middle of the
# backfill (the index builds are done by then).
sub start_mid_backfill
{
	my ($what) = @_;
	$node->safe_psql('postgres',
		"SELECT mig.start('02_change', $migration, 'app')");
	ok( $node->poll_query_until(
			'postgres', q{
			SELECT bool_and(state = 'done') FILTER (WHERE kind = 'index')
			   AND bool_or(kind = 'backfill' AND state = 'running' AND rows_done > 0
			               AND next_block < end_block)
			  FROM mig.job_queue WHERE schema = 'app'}),
		"$what: the worker is in the middle of the backfill");
	is( $node->safe_psql(
			'postgres',
			q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'migrate_ext worker'}),
		'1',
		"$what: one worker is running");
}

# After the drop: the worker is gone and the one the postmaster starts again
# exits cleanly; nothing in the log is an error.
sub worker_exits_cleanly
{
	my ($what, $log_offset) = @_;
	ok( $node->poll_query_until(
			'postgres',
			q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'migrate_ext worker'}),
		"$what: the worker has stopped");
	# the postmaster restarts it after bgw_restart_time (5 s)
	$node->wait_for_log(
		qr/background worker "migrate_ext worker" \(PID \d+\) exited with exit code 0/,
		$log_offset);
	pass("$what: the restarted worker exited with code 0");
	is( $node->safe_psql(
			'postgres',
			q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'migrate_ext worker'}),
		'0',
		"$what: no worker runs afterwards");
	my $log = slurp_file($node->logfile, $log_offset);
	my @bad = grep {
		/\b(ERROR|PANIC|FATAL):/
		  && !/FATAL:  terminating background worker "migrate_ext worker" due to administrator command/
		  && !/ERROR:  cannot drop extension migrate_ext while migrations are in progress/
	} split /\n/, $log;
	is(join("\n", @bad), '', "$what: no errors in the server log");
	unlike($log, qr/cache lookup failed/, "$what: no cache lookup failure");
	my @exits = ($log =~ /background worker "migrate_ext worker" \(PID \d+\) exited/g);
	cmp_ok(scalar(@exits), '<=', 2, "$what: the worker was not restarted in a loop");
}

sub check_undone
{
	my ($what, $before, $data) = @_;
	is($node->safe_psql('postgres', $snapshot_sql), $before,
		"$what: the schema is exactly as before start");
	is($node->safe_psql('postgres', $data_sql), $data, "$what: the data is unchanged");
	is( $node->safe_psql(
			'postgres', q{SELECT count(*) FROM pg_extension WHERE extname = 'migrate_ext'}),
		'0',
		"$what: the extension is gone");
}

my $before = $node->safe_psql('postgres', $snapshot_sql);
my $data = $node->safe_psql('postgres', $data_sql);
like($before, qr/app_t_not_valid|t_n_check/, 'the snapshot sees the constraints');

###############################################################################
# DROP EXTENSION without CASCADE fails, naming the migration
###############################################################################
start_mid_backfill('DROP EXTENSION');
my ($ret, $stdout, $stderr) =
  $node->psql('postgres', 'DROP EXTENSION migrate_ext');
isnt($ret, 0, 'DROP EXTENSION without CASCADE fails');
like(
	$stderr,
	qr/cannot drop extension migrate_ext while migrations are in progress.*"02_change" in schema "app"/s,
	'... naming the migration in progress');
is( $node->safe_psql(
		'postgres',
		q{SELECT status FROM mig.migrations WHERE schema = 'app' AND name = '02_change'}),
	'in_progress',
	'... and the migration is still in progress');

###############################################################################
# DROP EXTENSION CASCADE rolls it back first
###############################################################################
my $log_offset = -s $node->logfile;
($ret, $stdout, $stderr) =
  $node->psql('postgres', 'DROP EXTENSION migrate_ext CASCADE');
is($ret, 0, 'DROP EXTENSION CASCADE in the middle of a backfill succeeds');
like(
	$stderr,
	qr/rolling back migration "02_change" of schema "app" before extension migrate_ext is dropped/,
	'... saying it rolls the migration back');
like($stderr, qr/stopping the background worker of schema "app"/,
	'... and stops the worker');
check_undone('DROP EXTENSION CASCADE', $before, $data);
worker_exits_cleanly('DROP EXTENSION CASCADE', $log_offset);

# the launcher, after a restart, finds no extension and says nothing
$log_offset = -s $node->logfile;
$node->restart;
$node->safe_psql('postgres', 'SELECT 1');
ok( $node->poll_query_until(
		'postgres',
		q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'migrate_ext scanner'}),
	'after a restart the launcher has looked at the database');
unlike(slurp_file($node->logfile, $log_offset), qr/\b(ERROR|PANIC):/,
	'... without an error');

###############################################################################
# CREATE EXTENSION and the same migration work again; so does DROP SCHEMA mig
# CASCADE, and DROP OWNED BY the extension's owner CASCADE
###############################################################################
$node->safe_psql('postgres', 'CREATE EXTENSION migrate_ext');
start_mid_backfill('DROP SCHEMA mig');
$log_offset = -s $node->logfile;
($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP SCHEMA mig CASCADE');
is($ret, 0, 'DROP SCHEMA mig CASCADE in the middle of a backfill succeeds');
like($stderr, qr/stopping the background worker of schema "app"/,
	'... stopping the worker');
check_undone('DROP SCHEMA mig CASCADE', $before, $data);
worker_exits_cleanly('DROP SCHEMA mig CASCADE', $log_offset);

$node->safe_psql(
	'postgres', q{
	CREATE ROLE ext_owner SUPERUSER;
	SET ROLE ext_owner;
	CREATE EXTENSION migrate_ext;
});
start_mid_backfill('DROP OWNED');
$log_offset = -s $node->logfile;
($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP OWNED BY ext_owner CASCADE');
is($ret, 0, 'DROP OWNED BY the owner CASCADE in the middle of a backfill succeeds');
like($stderr, qr/stopping the background worker of schema "app"/,
	'... stopping the worker');
check_undone('DROP OWNED BY the owner CASCADE', $before, $data);
worker_exits_cleanly('DROP OWNED BY the owner CASCADE', $log_offset);

$node->safe_psql('postgres', 'CREATE EXTENSION migrate_ext');
$node->safe_psql('postgres',
	"ALTER SYSTEM RESET ALL; SELECT pg_reload_conf();");
is($node->safe_psql('postgres',
		"SELECT mig.start('02_change', $migration, 'app')"),
	'app_02_change', 'the same migration starts again after CREATE EXTENSION');
$node->safe_psql('postgres', "CALL mig.wait('app')");
is($node->safe_psql('postgres', "SELECT mig.complete('app')"),
	'app_02_change', '... and completes');
is( $node->safe_psql(
		'postgres',
		q{SELECT format_type(atttypid, atttypmod) FROM pg_attribute
		   WHERE attrelid = 'app.t'::regclass AND attname = 'n'}),
	'bigint',
	'... with its result');
is( $node->safe_psql(
		'postgres', q{SELECT count(*) FROM app.t WHERE k IS DISTINCT FROM n + 1}),
	'0',
	'... and every row backfilled');

###############################################################################
# An index whose build committed (REINDEX CONCURRENTLY gives it a new OID)
# just before its worker was stopped, so that the new OID was never
# recorded: the rollback still drops it.  The worker's REINDEX is run by
# hand here, with the jobs queued paused.
###############################################################################
my $completed = $node->safe_psql('postgres', $snapshot_sql);
$node->safe_psql(
	'postgres', q{
	SET migrate_ext.start_jobs = off;
	SELECT mig.start('03_index', '{"operations": [{"create_index": {"name": "t_m2_idx",
		"table": "t", "columns": [{"column": "m"}]}}]}', 'app');
});
my $declared = $node->safe_psql('postgres', q{SELECT 'app.t_m2_idx'::regclass::oid});
$node->safe_psql('postgres', 'REINDEX INDEX CONCURRENTLY app.t_m2_idx');
isnt($node->safe_psql('postgres', q{SELECT 'app.t_m2_idx'::regclass::oid}),
	$declared, 'the rebuilt index has a new OID');
$node->safe_psql('postgres', 'DROP EXTENSION migrate_ext CASCADE');
is($node->safe_psql('postgres', $snapshot_sql), $completed,
	'DROP EXTENSION CASCADE dropped the rebuilt index too: the schema is as before start');

###############################################################################
# A completed migration's drop_index job that has not finished (a reader's
# open transaction holds up DROP INDEX CONCURRENTLY): the drop stops the
# worker and says which index is left, and how to drop it.
###############################################################################
$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION migrate_ext;
	CREATE INDEX t_m_old ON app.t (m);
	SELECT mig.start('05_drop_old', '{"operations": [{"drop_index": {"name": "t_m_old"}}]}', 'app');
});
my $reader = $node->background_psql('postgres');
$reader->query_safe('BEGIN');
$reader->query_safe('SELECT count(*) FROM app.t');
$node->safe_psql('postgres', "SELECT mig.complete('app')");
ok( $node->poll_query_until(
		'postgres', q{
		SELECT count(*) = 1 FROM mig.job_queue
		 WHERE kind = 'drop_index' AND state = 'running'}),
	'the old index is being dropped concurrently, held up by the reader');
$log_offset = -s $node->logfile;
($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP EXTENSION migrate_ext CASCADE');
is($ret, 0, 'DROP EXTENSION with a drop_index job under way succeeds');
like(
	$stderr,
	qr/WARNING:  index app.t_m_old is not dropped: migration "05_drop_old" of schema "app" dropped it.*HINT:  Drop it with DROP INDEX CONCURRENTLY app.t_m_old\./s,
	'... saying which index is left and how to drop it');
$reader->query_safe('COMMIT');
$reader->quit;
worker_exits_cleanly('DROP EXTENSION with a drop_index job', $log_offset);
$node->safe_psql('postgres', 'DROP INDEX CONCURRENTLY app.t_m_old');

###############################################################################
# Without the library preloaded, from a session that has not loaded it: the
# event trigger loads it and rolls the migration back all the same.
###############################################################################
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$node->restart;
my $plain = $node->safe_psql('postgres', $snapshot_sql);
$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION migrate_ext;
	SET migrate_ext.start_jobs = off;
	SELECT mig.start('04_plain', '{"operations": [{"add_column": {"table": "t",
		"column": {"name": "z", "type": "integer", "nullable": true}, "up": "id * 2"}}]}', 'app');
});
($ret, $stdout, $stderr) = $node->psql('postgres',
	q{SHOW shared_preload_libraries; DROP EXTENSION migrate_ext CASCADE});
is($ret, 0, 'without the library preloaded, DROP EXTENSION CASCADE succeeds');
like(
	$stderr,
	qr/rolling back migration "04_plain" of schema "app"/,
	'... and rolls the migration back');
is($node->safe_psql('postgres', $snapshot_sql), $plain,
	'... leaving the schema as before start');

$node->stop;
done_testing();
