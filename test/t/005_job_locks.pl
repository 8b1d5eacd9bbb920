
# Copyright (c) migrate_ext contributors
#
# Background jobs and locks (design section 5, invariant 4): no statement of
# a job waits for a lock longer than migrate_ext.lock_timeout, so application
# queries are never queued behind a job for longer than that; a job that
# cannot get its lock retries with backoff for as long as it takes (lock
# timeouts do not use up the attempts other errors have) and finishes once
# the lock is free.
#
#  (a) a session holding SHARE on the table (which conflicts with the SHARE
#      UPDATE EXCLUSIVE of a concurrent index build and the ROW EXCLUSIVE of a
#      backfill batch) delays an index build and a backfill; they retry and
#      finish once it commits.  A session queued behind the waiting index
#      build waits at most about one lock timeout.
#  (b) an idle-in-transaction session holding a row lock blocks the backfill
#      batch that reaches that row: the batch gives up after one lock timeout
#      and is retried.  An application UPDATE of another row the blocked
#      batch had already written waits at most about one lock timeout.  The
#      backfill completes after the idle session ends, and the application's
#      write is not overwritten.
#  (c) lock timeouts do not use up the retries other errors get.
#  (d) a new migrate_ext.lock_timeout (ALTER SYSTEM, reload) holds for a
#      backfill that is already running.
#
# Waits are measured twice: by the client (Time::HiRes) and, when the wait
# was long enough to be logged (log_lock_waits, deadlock_timeout = 100ms), by
# the server's own "acquired ... after N ms" message.  Upper bounds are
# generous (5 lock timeouts); a wait that happened to miss the job's lock
# attempt passes trivially, which the test notes.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $lock_timeout = 500;
my $max_wait_ms = 5 * $lock_timeout;

my $node = PostgreSQL::Test::Cluster->new('job_locks');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'migrate_ext'
max_worker_processes = 16
# autovacuum would queue for locks on the tables too
autovacuum = off
log_lock_waits = on
deadlock_timeout = '100ms'
});
$node->start;

$node->safe_psql(
	'postgres', qq{
	CREATE EXTENSION migrate_ext;
	CREATE SCHEMA chk;
	ALTER SYSTEM SET migrate_ext.lock_timeout = $lock_timeout;
	ALTER SYSTEM SET migrate_ext.retry_delay = 100;
	ALTER SYSTEM SET migrate_ext.backfill_batch_size = 2000;
	ALTER SYSTEM SET migrate_ext.backfill_delay = 10;
	SELECT pg_reload_conf();
});

sub make_table
{
	my ($table, $n) = @_;
	$node->safe_psql(
		'postgres', qq{
		CREATE TABLE $table (id integer PRIMARY KEY, val integer, note text);
		INSERT INTO $table
			SELECT g, g, 'note ' || lpad(g::text, 7, '0') FROM generate_series(1, $n) g;
		CREATE TABLE chk.$table AS SELECT id, 2 * val::bigint AS expect FROM $table;
		ALTER TABLE chk.$table ADD PRIMARY KEY (id);
		VACUUM ANALYZE $table;
	});
	return;
}

sub alter_val
{
	my ($table) = @_;
	return qq{{"operations": [{"alter_column": {"table": "$table", "column": "val",
		"type": "bigint", "up": "val * 2", "down": "val / 2"}}]}};
}

sub values_ok
{
	my ($what, $table, $rows) = @_;
	is( $node->safe_psql(
			'postgres', qq{
			SELECT count(*) || '|' || count(*) FILTER (WHERE t.val IS DISTINCT FROM c.expect)
			FROM $table t FULL JOIN chk.$table c USING (id)}),
		"$rows|0",
		"$what: after complete every row has val = up(old val), or the value the application wrote"
	);
	return;
}

my $worker_waits = q{
	SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
		WHERE a.backend_type = 'migrate_ext worker' AND NOT l.granted AND %s)};

# "process PID acquired MODE on ... after N ms", logged since $offset
sub logged_wait_ms
{
	my ($pid, $offset) = @_;
	my $log = slurp_file($node->logfile, $offset);
	return $log =~ /process $pid acquired \w+ on .* after ([\d.]+) ms/ ? $1 : undef;
}

# Poll the server log (since $offset) until $re matches at least $count
# times; returns the number of matches.
sub poll_log
{
	my ($re, $count, $offset) = @_;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	my $n = 0;
	while (time() < $deadline)
	{
		my $log = slurp_file($node->logfile, $offset);
		$n = () = $log =~ /$re/g;
		return $n if $n >= $count;
		usleep(50_000);
	}
	return $n;
}

# Run $sql in $session, return the client-side time in ms; the server-side
# wait from the log, if it was logged, as second value.
sub timed_query
{
	my ($session, $pid, $sql) = @_;
	my $offset = -s $node->logfile;
	my $t0 = time();
	my ($out, $failed) = $session->query($sql);
	my $ms = (time() - $t0) * 1000;
	is($failed, 0, "query succeeded: $sql") or diag $session->{stderr};
	return ($ms, logged_wait_ms($pid, $offset), $out);
}

#
# (a) A session holding SHARE on the table: the index build retries until it
#     commits.
#
make_table('items', 20_000);
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN');
$holder->query_safe('LOCK TABLE items IN SHARE MODE');
my $offset = -s $node->logfile;

# start declares the index under SHARE too, which does not conflict
is( $node->safe_psql(
		'postgres', q{SELECT mig.start('m_idx', '{"operations": [{"create_index":
		{"name": "idx_val", "table": "items", "columns": [{"column": "val"}]}}]}')}),
	'public_m_idx',
	'(a) start with create_index succeeds while the SHARE lock is held');

# more lock timeouts than the 3 attempts any other error gets
cmp_ok(poll_log(qr/of migration "m_idx" will be retried: [^\n]*lock timeout/, 4, $offset),
	'>=', 4, '(a) the index build keeps retrying past 3 lock timeouts');
my ($attempts, $state, $err) = split /\|/,
  $node->safe_psql('postgres',
	q{SELECT attempts, state, last_error FROM mig.jobs WHERE migration = 'm_idx'});
is($attempts, '0', '(a) lock timeouts use up none of the attempts other errors get');
is($state, 'running', '(a) the job is still running, not failed');
like($err, qr/lock timeout/, "(a) last_error says the lock timed out: $err");
is( $node->safe_psql(
		'postgres', q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'idx_val'::regclass}),
	'f',
	'(a) the index is not valid yet');
is($node->safe_psql('postgres', 'SELECT phase FROM mig.status()'),
	'running jobs', '(a) status: running jobs');

# A session whose lock conflicts with the waiting build but not with the
# holder (SHARE) is queued behind the build, for at most one lock timeout.
my $queued = $node->background_psql('postgres');
my $queued_pid = $queued->query_safe('SELECT pg_backend_pid()');
$queued->query_safe("SET lock_timeout = '30s'");
ok( $node->poll_query_until(
		'postgres',
		sprintf($worker_waits,
			q{l.relation = 'items'::regclass AND l.mode = 'ShareUpdateExclusiveLock'})),
	'(a) the index build is waiting for its lock');
my ($ms, $server_ms) = timed_query($queued, $queued_pid,
	'BEGIN; LOCK TABLE items IN SHARE MODE; COMMIT;');
note sprintf('(a) session queued behind the index build: %.0f ms (server: %s)',
	$ms, $server_ms // 'not logged, under deadlock_timeout');
cmp_ok($ms, '<', $max_wait_ms,
	"(a) a session queued behind the index build waited less than $max_wait_ms ms");
cmp_ok($server_ms, '<', $max_wait_ms, '(a) the server agrees') if defined $server_ms;

$holder->query_safe('COMMIT');
$node->safe_psql('postgres', q{CALL mig.wait('public', '60 s')});
is( $node->safe_psql(
		'postgres', q{
		SELECT j.state || '|' || i.indisvalid::text || '|' || i.indisready::text
		FROM mig.jobs j, pg_index i
		WHERE j.migration = 'm_idx' AND i.indexrelid = 'idx_val'::regclass}),
	'done|true|true',
	'(a) once the lock is released the index is built, ready and valid');
$node->safe_psql('postgres', 'SELECT mig.complete()');
is( $node->safe_psql(
		'postgres', q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.idx_val'::regclass}),
	't',
	'(a) the index is valid after complete');

#
# (a) The same for a backfill: its batches need ROW EXCLUSIVE.  Jobs queued
#     paused, so the lock is taken before the first batch.
#
make_table('items_bf', 20_000);
$node->safe_psql('postgres',
	"SET migrate_ext.start_jobs = off; SELECT mig.start('m_bf', '" . alter_val('items_bf') . "')");
is($node->safe_psql('postgres', q{SELECT state FROM mig.jobs WHERE migration = 'm_bf'}),
	'paused', '(a) the backfill is queued paused');
$holder->query_safe('BEGIN');
$holder->query_safe('LOCK TABLE items_bf IN SHARE MODE');
$offset = -s $node->logfile;
like($node->safe_psql('postgres', q{SELECT mig.resume('public')}),
	qr/^resumed 1 jobs/, '(a) backfill resumed');
cmp_ok(poll_log(qr/of migration "m_bf" will be retried: [^\n]*lock timeout/, 4, $offset),
	'>=', 4, '(a) the backfill keeps retrying past 3 lock timeouts');
is( $node->safe_psql(
		'postgres', q{
		SELECT attempts || '|' || state || '|' || rows_done || '|'
			   || (last_error ~ 'lock timeout')::text
		FROM mig.jobs WHERE migration = 'm_bf'}),
	'0|running|0|true',
	'(a) mig.jobs: no attempt used up, still running, nothing done, last_error says the lock timed out');
$holder->query_safe('COMMIT');
$node->safe_psql('postgres', q{CALL mig.wait('public', '60 s')});
is( $node->safe_psql(
		'postgres',
		q{SELECT state || '|' || rows_done FROM mig.jobs WHERE migration = 'm_bf'}),
	'done|20000',
	'(a) once the lock is released the backfill finishes');
$node->safe_psql('postgres', 'SELECT mig.complete()');
values_ok('(a)', 'items_bf', 20_000);

#
# (b) An idle-in-transaction session holds a row lock in the middle of the
#     table while the backfill runs.
#
my $n = 50_000;
make_table('items_rl', $n);
# the locked row and, in the same block before it, the row the application
# updates: the batch that blocks has already written (and locked) that one
my ($locked_id, $app_id, $blk) = split /\|/,
  $node->safe_psql(
	'postgres', q{
	SELECT (SELECT id FROM items_rl WHERE ctid = format('(%s,50)', b)::tid),
		   (SELECT id FROM items_rl WHERE ctid = format('(%s,10)', b)::tid), b
	FROM (SELECT (SELECT relpages FROM pg_class WHERE oid = 'items_rl'::regclass) / 2 AS b) s});
note "(b) row $locked_id locked, row $app_id updated by the application, block $blk";

$node->safe_psql('postgres',
	"SET migrate_ext.start_jobs = off; SELECT mig.start('m_rl', '" . alter_val('items_rl') . "')");
my $idle = $node->background_psql('postgres');
$idle->query_safe('BEGIN');
$idle->query_safe("SELECT id FROM items_rl WHERE id = $locked_id FOR UPDATE");
like($node->safe_psql('postgres', q{SELECT mig.resume('public')}),
	qr/^resumed 1 jobs/, '(b) backfill resumed');

my $app = $node->background_psql('postgres', on_error_stop => 0);
my $app_pid = $app->query_safe('SELECT pg_backend_pid()');
$app->query_safe("SET lock_timeout = '30s'");
ok( $node->poll_query_until(
		'postgres', sprintf($worker_waits, q{l.locktype IN ('transactionid', 'tuple')})),
	'(b) the backfill batch is waiting for the locked row');
my ($app_ms, $app_server_ms, $out) = timed_query($app, $app_pid,
	"UPDATE items_rl SET val = -7 WHERE id = $app_id RETURNING round(extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)"
);
note sprintf('(b) application UPDATE: %.0f ms (statement: %s ms, lock wait logged: %s)',
	$app_ms, $out // '?', $app_server_ms // 'no');
cmp_ok($app_ms, '<', $max_wait_ms,
	"(b) the application UPDATE waited less than $max_wait_ms ms (5 lock timeouts)");
cmp_ok($out, '<', $max_wait_ms, '(b) the server agrees') if defined $out && $out =~ /^\d+$/;
$node->safe_psql('postgres', "UPDATE chk.items_rl SET expect = -14 WHERE id = $app_id");

ok( $node->poll_query_until(
		'postgres', qq{
		SELECT attempts = 0 AND state = 'running' AND last_error ~ 'lock timeout'
		   AND next_block <= $blk
		FROM mig.job_queue WHERE migration = 'm_rl'}),
	'(b) the blocked batch gives up after its lock timeout and is retried');

$idle->query_safe('COMMIT');
$node->safe_psql('postgres', q{CALL mig.wait('public', '60 s')});
is( $node->safe_psql(
		'postgres',
		q{SELECT state || '|' || rows_done FROM mig.jobs WHERE migration = 'm_rl'}),
	'done|' . ($n - 1),
	'(b) the backfill completes once the idle session ends, skipping the row the application wrote'
);
$node->safe_psql('postgres', 'SELECT mig.complete()');
values_ok('(b)', 'items_rl', $n);

#
# (c) Lock timeouts do not use up the attempts of other errors: after a few
#     lock timeouts, an error of another kind (here the up expression divides
#     by zero while chk.flags says so) is still retried twice before the job
#     fails, as for a job that never waited for a lock.
#
make_table('items_at', 1_000);
$node->safe_psql(
	'postgres', q{
	CREATE TABLE chk.flags (fail boolean NOT NULL);
	INSERT INTO chk.flags VALUES (true);
	SET migrate_ext.start_jobs = off;
	SELECT mig.start('m_at', '{"operations": [{"alter_column": {"table": "items_at",
		"column": "val", "type": "bigint",
		"up": "CASE WHEN (SELECT fail FROM chk.flags) THEN val / (id - id) ELSE val * 2 END",
		"down": "val / 2"}}]}');
});
$holder->query_safe('BEGIN');
$holder->query_safe('LOCK TABLE items_at IN SHARE MODE');
$offset = -s $node->logfile;
$node->safe_psql('postgres', q{SELECT mig.resume('public')});
cmp_ok(poll_log(qr/of migration "m_at" will be retried: [^\n]*lock timeout/, 3, $offset),
	'>=', 3, '(c) the backfill timed out on its lock three times');
$holder->query_safe('COMMIT');
ok( $node->poll_query_until(
		'postgres', q{SELECT state = 'failed' FROM mig.job_queue WHERE migration = 'm_at'}),
	'(c) the backfill failed on the division by zero');
my $log = slurp_file($node->logfile, $offset);
my $retried = () = $log =~ /of migration "m_at" will be retried: division by zero/g;
my $failed = () = $log =~ /of migration "m_at" failed: division by zero/g;
is("$retried|$failed", '2|1',
	'(c) the division by zero was retried twice before the job failed (lock timeouts did not count)'
);
$node->safe_psql('postgres', 'SELECT mig.rollback()');

#
# (d) migrate_ext.lock_timeout changed while a backfill runs (ALTER SYSTEM,
#     reload) holds for its next lock wait: an application UPDATE queued
#     behind the blocked batch then waits at most about the new timeout.
#
make_table('items_lt', 20_000);
my ($locked_lt, $app_lt) = split /\|/,
  $node->safe_psql(
	'postgres', q{
	SELECT (SELECT id FROM items_lt WHERE ctid = format('(%s,50)', b)::tid),
		   (SELECT id FROM items_lt WHERE ctid = format('(%s,10)', b)::tid)
	FROM (SELECT (SELECT relpages FROM pg_class WHERE oid = 'items_lt'::regclass) / 2 AS b) s});
$node->safe_psql('postgres',
	"SET migrate_ext.start_jobs = off; SELECT mig.start('m_lt', '" . alter_val('items_lt') . "')");
$node->safe_psql('postgres',
	'ALTER SYSTEM SET migrate_ext.lock_timeout = 4000; SELECT pg_reload_conf();');
$idle->query_safe('BEGIN');
$idle->query_safe("SELECT id FROM items_lt WHERE id = $locked_lt FOR UPDATE");
$node->safe_psql('postgres', q{SELECT mig.resume('public')});
ok( $node->poll_query_until(
		'postgres', sprintf($worker_waits, q{l.locktype IN ('transactionid', 'tuple')})),
	'(d) the backfill batch is waiting for the locked row (lock timeout 4 s)');
$node->safe_psql('postgres',
	"ALTER SYSTEM SET migrate_ext.lock_timeout = $lock_timeout; SELECT pg_reload_conf();");
my $reloaded_at = $node->safe_psql('postgres', 'SELECT clock_timestamp()');
ok( $node->poll_query_until(
		'postgres',
		sprintf($worker_waits,
			qq{l.locktype IN ('transactionid', 'tuple') AND l.waitstart > '$reloaded_at'})),
	"(d) after the reload (lock timeout $lock_timeout ms) the batch is retried and waits again");
($app_ms, $app_server_ms, $out) = timed_query($app, $app_pid,
	"UPDATE items_lt SET val = -7 WHERE id = $app_lt RETURNING round(extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)"
);
note sprintf('(d) application UPDATE: %.0f ms (statement: %s ms)', $app_ms, $out // '?');
cmp_ok($app_ms, '<', $max_wait_ms,
	"(d) the application UPDATE waited less than $max_wait_ms ms (5 new lock timeouts, not the old 4 s)");
$node->safe_psql('postgres', "UPDATE chk.items_lt SET expect = -14 WHERE id = $app_lt");
$idle->query_safe('COMMIT');
$node->safe_psql('postgres', q{CALL mig.wait('public', '60 s')});
$node->safe_psql('postgres', 'SELECT mig.complete()');
values_ok('(d)', 'items_lt', 20_000);

$app->quit;
$idle->quit;
$queued->quit;
$holder->quit;
$node->stop;

done_testing();
