
# Copyright (c) migrate_ext contributors
#
# Background jobs survive crashes (design section 5, invariants 1, 2 and 5):
#
#  (a) with the library preloaded, a server crash in the middle of a backfill
#      is followed by the launcher resuming the job from its last committed
#      batch, without any mig.* call; no write through either version is
#      overwritten and, after complete, every row has new = up(old);
#  (b) without the library preloaded, nothing resumes the job by itself;
#      mig.status() restarts it and mig.wait() sees it to the end;
#  (c) a worker ended by pg_terminate_backend is restarted by the postmaster
#      and finishes the job without redoing work;
#  (d) a job whose up expression fails ends 'failed' with the reason; status,
#      complete and wait say so; once the data is fixed, mig.resume() retries
#      it and it finishes from where it stopped;
#  (e) a crash in the middle of a concurrent index build leaves an invalid
#      copy of the index; the launcher drops it and builds the index again.
#
# How "rows touched after the restart" is measured in (a) and (b): the table's
# n_tup_upd in pg_stat_user_tables.  Crash recovery discards the cumulative
# statistics, so after the restart the counter holds only what was written
# since, and the worker flushes its counters before it exits.  It counts
# every row an UPDATE wrote, committed or not.
#
# Where the crash left the cursor: without the launcher (b) it is simply read
# after the restart.  With the launcher (a) the resumed worker may already
# have moved it by the time the test connects, so it is found from the data
# instead: every transaction after the restart has an xid at least the
# next_xid of the end-of-recovery checkpoint, so a row version with a smaller
# xmin was written before the crash.  The first original block holding a row
# backfilled after the crash is where the crash left the cursor (a batch
# commits its rows and its cursor together); every row before it must have
# been backfilled before the crash, every row from it on after.
#
# Timing: upper bounds are generous (the machine may be loaded); the only
# deliberately bounded wait is (b)'s check that nothing resumes the job by
# itself, which is short and says so.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $batch_size = 2000;

my $node = PostgreSQL::Test::Cluster->new('crash_resume');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'migrate_ext'
max_worker_processes = 16
# statistics and cursors stay put: no vacuum moves rows or changes estimates,
# and no checkpoint replaces the end-of-recovery one before it is read
autovacuum = off
checkpoint_timeout = '1h'
});
$node->start;

$node->safe_psql(
	'postgres', qq{
	CREATE EXTENSION migrate_ext;
	CREATE SCHEMA chk;
	ALTER SYSTEM SET migrate_ext.backfill_batch_size = $batch_size;
	ALTER SYSTEM SET migrate_ext.backfill_delay = 20;
	SELECT pg_reload_conf();
});

# A table of $n rows with the same number of rows in every block, and beside
# it (schema chk) each row's original value, its original block and the value
# it must have after complete (new = up(old) = 2 * old, unless the test writes
# the row).
sub make_table
{
	my ($table, $n) = @_;
	$node->safe_psql(
		'postgres', qq{
		CREATE TABLE $table (id integer PRIMARY KEY, val integer, note text);
		INSERT INTO $table
			SELECT g, g, 'note ' || lpad(g::text, 7, '0') FROM generate_series(1, $n) g;
		CREATE TABLE chk.$table AS
			SELECT id, val AS orig, (ctid::text::point)[0]::bigint AS blk,
				   2 * val::bigint AS expect
			FROM $table;
		ALTER TABLE chk.$table ADD PRIMARY KEY (id);
		VACUUM ANALYZE $table;
	});
	return;
}

# alter_column val integer -> bigint: the table gets a backfill
sub alter_val
{
	my ($table, $up) = @_;
	$up //= 'val * 2';
	return qq{{"operations": [{"alter_column": {"table": "$table", "column": "val",
		"type": "bigint", "up": "$up", "down": "val / 2"}}]}};
}

sub job
{
	my ($migration, $cols) = @_;
	return $node->safe_psql('postgres',
		"SELECT $cols FROM mig.job_queue WHERE migration = '$migration' AND kind = 'backfill'"
	);
}

sub workers
{
	return $node->safe_psql('postgres',
		q{SELECT coalesce(string_agg(pid::text, ',' ORDER BY pid), '')
		  FROM pg_stat_activity WHERE backend_type = 'migrate_ext worker'});
}

# Poll the job's columns until $done->(@values) holds, calling $each on every
# reading; returns the last reading, or nothing on timeout.
sub poll_job
{
	my ($migration, $cols, $done, $each) = @_;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	while (time() < $deadline)
	{
		my @v = split /\|/, job($migration, $cols), -1;
		$each->(@v) if $each;
		return @v if $done->(@v);
		usleep(20_000);
	}
	return;
}

sub rows_done_ok
{
	my ($what, $table, $migration, $expected) = @_;
	my ($done, $total) = split /\|/, job($migration, 'rows_done, rows_total');
	is($done, $expected, "$what: rows_done counts each backfilled row once");
	cmp_ok($done, '<=', $total + $batch_size,
		"$what: rows_done ($done) never exceeds the total ($total) plus one batch");
	return;
}

# invariant 2, after complete
sub values_ok
{
	my ($what, $table, $rows) = @_;
	is( $node->safe_psql(
			'postgres', qq{
			SELECT count(*) || '|' || count(*) FILTER (WHERE t.val IS DISTINCT FROM c.expect)
			FROM $table t FULL JOIN chk.$table c USING (id)}),
		"$rows|0",
		"$what: after complete every row has val = up(old val), or the value written through a version"
	);
	is( $node->safe_psql(
			'postgres',
			"SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '$table'::regclass AND attname = 'val'"
		),
		'bigint',
		"$what: val is the new column");
	return;
}

# application writes: through the new version (val is the new bigint column)
# or the old one (the base schema); chk records what complete must leave
# ($expect_sql, over the ids)
sub write_through
{
	my ($table, $version, $ids, $value_sql, $expect_sql) = @_;
	my $list = join(',', @$ids);
	$node->safe_psql(
		'postgres', qq{
		SET search_path = $version;
		UPDATE $table SET val = $value_sql WHERE id IN ($list);
		RESET search_path;
		UPDATE chk.$table SET expect = $expect_sql WHERE id IN ($list);
	});
	return;
}

# An old-version write that changes nothing: the new version refuses a row
# the backfill has not reached (55000), so a row it writes before the
# backfill gets there is one written since start first.
sub touch
{
	my ($table, $ids) = @_;
	$node->safe_psql('postgres',
		"UPDATE public.$table SET note = note WHERE id IN (@{[join ',', @$ids]})");
	return;
}

#
# (a) A crash in the middle of a backfill, the library preloaded: the
#     launcher resumes the job from its last committed batch.
#
my $n_a = 200_000;
make_table('items', $n_a);
my $new_a =
  $node->safe_psql('postgres', "SELECT mig.start('m_a', '" . alter_val('items') . "')");
is($new_a, 'public_m_a', '(a) migration started');
my $end_block = job('m_a', 'end_block');
cmp_ok($end_block, '>', 1000, "(a) the backfill covers $end_block blocks");

ok(poll_job('m_a', 'next_block', sub { $_[0] * 10 >= $end_block * 3 }),
	'(a) the backfill is 30% through');

# writes before the crash: through the new version on rows the backfill has
# not reached yet (the last blocks) and on one it has done (id 1); through the
# old version on another row it has not reached
my @new_before = (195_001 .. 195_005);
touch('items', \@new_before);
write_through('items', $new_a, \@new_before, '1000000 + id', '1000000 + id');
write_through('items', $new_a, [1], '-1', '-1');
write_through('items', 'public', [195_010], '-id', '-2 * id');
my ($seen_before, $state_before) = split /\|/, job('m_a', 'next_block, state');
is($state_before, 'running', '(a) the backfill is running when the server crashes');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM chk.items WHERE id IN (@{[join ',', @new_before, 195_010]}) AND blk < $seen_before"
	),
	'0',
	'(a) the rows written before the crash were not backfilled yet');

$node->stop('immediate');
$node->start;
my $t_restart = time();

# the first statement after the restart: no mig.* call anywhere until the
# job is done
my ($epoch_xid, $ckpt_after_start) = split /\|/,
  $node->safe_psql(
	'postgres', q{
	SELECT next_xid, checkpoint_time >= date_trunc('second', pg_postmaster_start_time())
	FROM pg_control_checkpoint()});
my ($recovery_xid) = $epoch_xid =~ /:(\d+)$/;
is($ckpt_after_start, 't', '(a) the control file holds the end-of-recovery checkpoint');
my ($read_block, $read_precrash) = split /\|/,
  job('m_a', "next_block, xmin::text::bigint < $recovery_xid");

# writes after the restart, through the new version, on rows the backfill
# has not reached yet
my @new_after = (199_001 .. 199_005);
touch('items', \@new_after);
write_through('items', $new_a, \@new_after, '2000000 + id', '2000000 + id');
my $seen_after_writes = job('m_a', 'next_block');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM chk.items WHERE id IN (@{[join ',', @new_after]}) AND blk < $seen_after_writes"
	),
	'0',
	'(a) the rows written after the restart were not backfilled yet');

my $min_block = $read_block;
my $t_worker;
ok( poll_job(
		'm_a', 'state, next_block',
		sub { $_[0] eq 'done' },
		sub {
			$min_block = $_[1] if $_[1] < $min_block;
			$t_worker //= time() if workers() ne '';
		}),
	'(a) the launcher resumed the backfill and it finished, without any mig.* call');
note sprintf('(a) a worker ran %.2f s after the restart',
	($t_worker // time()) - $t_restart);
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'migrate_ext worker'}),
	'(a) the worker exited');

# where the crash left the cursor, from the data
my $not_app = join(',', @new_before, 1, 195_010, @new_after);
my ($crash_block, $early_after, $late_before) = split /\|/,
  $node->safe_psql(
	'postgres', qq{
	WITH r AS (
		SELECT c.blk, t.xmin::text::bigint >= $recovery_xid AS after
		FROM items t JOIN chk.items c USING (id)
		WHERE c.id NOT IN ($not_app)),
	 split AS (SELECT min(blk) AS blk FROM r WHERE after)
	SELECT split.blk,
		   (SELECT count(*) FROM r WHERE after AND r.blk < split.blk),
		   (SELECT count(*) FROM r WHERE NOT after AND r.blk >= split.blk)
	FROM split});
note "(a) last cursor seen before the crash: $seen_before; "
  . "first read after the restart: $read_block (written before the crash: $read_precrash); "
  . "where the crash left it, from the data: $crash_block; smallest seen after: $min_block";
cmp_ok($crash_block, '>=', $seen_before,
	'(a) the crash left the cursor at or after the last committed batch seen');
is($late_before, '0',
	'(a) every row from that block on was backfilled after the restart');
is($early_after, '0',
	'(a) no row before that block was backfilled again after the restart');
is($read_block, $crash_block,
	'(a) the cursor read after the restart is the one the data shows')
  if $read_precrash eq 't';
cmp_ok($min_block, '>=', $crash_block,
	'(a) the cursor never went back after the restart');

my $remaining = $node->safe_psql('postgres',
	"SELECT count(*) FROM chk.items WHERE blk >= $crash_block");
my $written_in_range = $node->safe_psql('postgres',
	"SELECT count(*) FROM chk.items WHERE blk >= $crash_block AND id IN ($not_app)");
my $updates_after = $node->safe_psql('postgres',
	q{SELECT n_tup_upd FROM pg_stat_user_tables WHERE relid = 'items'::regclass});
my $backfilled_after = $updates_after - 2 * scalar(@new_after);
note "(a) $remaining rows were left at the crash ($written_in_range of them written by the test); "
  . "the worker updated $backfilled_after rows after the restart";
cmp_ok($backfilled_after, '<=', $remaining + $batch_size,
	'(a) rows touched after the restart <= rows remaining at the crash + one batch');
cmp_ok($backfilled_after, '>=', $remaining - $written_in_range,
	'(a) and the statistics saw the resumed backfill (the measure is not vacuous)');
rows_done_ok('(a)', 'items', 'm_a',
	$n_a - scalar(@new_before) - 1 - scalar(@new_after));

is($node->safe_psql('postgres', 'SELECT phase FROM mig.status()'),
	'ready to complete', '(a) status: ready to complete');
$node->safe_psql('postgres', 'SELECT mig.complete()');
values_ok('(a)', 'items', $n_a);

#
# (b) Without the library preloaded there is no launcher: after a crash the
#     job waits for the next mig.* call.
#
$node->adjust_conf('postgresql.conf', 'shared_preload_libraries', "''");
$node->restart;
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'migrate_ext%'}),
	'0',
	'(b) no launcher without the preloaded library');

my $n_b = 100_000;
make_table('items_b', $n_b);
$node->safe_psql('postgres', "SELECT mig.start('m_b', '" . alter_val('items_b') . "')");
my $end_b = job('m_b', 'end_block');
ok(poll_job('m_b', 'next_block', sub { $_[0] * 10 >= $end_b * 3 }),
	'(b) the backfill is 30% through');
my $seen_b = job('m_b', 'next_block');
$node->stop('immediate');
$node->start;

my ($crash_b, $state_b) = split /\|/, job('m_b', 'next_block, state');
cmp_ok($crash_b, '>=', $seen_b, "(b) the committed cursor after the restart: block $crash_b");
cmp_ok($crash_b, '<', $end_b, '(b) the job is unfinished');
is($state_b, 'running', '(b) the job is still marked running');

# Nothing resumes it by itself.  A bounded check, 3 s (with the launcher the
# worker ran well within that in (a)): no worker, and the cursor stays put.
my $idle_ok = 1;
my $checks = 0;
my $t_idle = time();
while (time() - $t_idle < 3)
{
	my ($block, $workers) = split /\|/,
	  $node->safe_psql(
		'postgres', q{
		SELECT (SELECT next_block FROM mig.job_queue WHERE migration = 'm_b'),
			   (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'migrate_ext worker')});
	$checks++;
	$idle_ok = 0 if $block != $crash_b || $workers != 0;
	usleep(100_000);
}
ok($idle_ok, "(b) without the launcher the job does not progress by itself (3 s, $checks checks)");

my ($phase_b, $jobs_b) = split /\|/,
  $node->safe_psql('postgres', 'SELECT phase, jobs FROM mig.status()');
is($phase_b, 'running jobs', '(b) status: running jobs');
note "(b) status jobs: $jobs_b";
ok( $node->poll_query_until(
		'postgres', qq{
		SELECT next_block > $crash_b OR EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE backend_type = 'migrate_ext worker')
		FROM mig.job_queue WHERE migration = 'm_b'}),
	'(b) mig.status() restarted the worker');
$node->safe_psql('postgres', q{CALL mig.wait('public', '120 s')});
is(job('m_b', 'state'), 'done', '(b) mig.wait saw the backfill to the end');
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'migrate_ext worker'}),
	'(b) the worker exited');

my $remaining_b = $node->safe_psql('postgres',
	"SELECT count(*) FROM chk.items_b WHERE blk >= $crash_b");
my $updates_b = $node->safe_psql('postgres',
	q{SELECT n_tup_upd FROM pg_stat_user_tables WHERE relid = 'items_b'::regclass});
note "(b) $remaining_b rows were left at the crash; the worker updated $updates_b after the restart";
cmp_ok($updates_b, '<=', $remaining_b + $batch_size,
	'(b) rows touched after the restart <= rows remaining at the crash + one batch');
cmp_ok($updates_b, '>=', $remaining_b,
	'(b) and the statistics saw the resumed backfill');
rows_done_ok('(b)', 'items_b', 'm_b', $n_b);
$node->safe_psql('postgres', 'SELECT mig.complete()');
values_ok('(b)', 'items_b', $n_b);

#
# (c) pg_terminate_backend of the worker in the middle of a backfill: the
#     postmaster restarts it (bgw_restart_time) and it finishes the job.
#
$node->adjust_conf('postgresql.conf', 'shared_preload_libraries', "'migrate_ext'");
$node->restart;

my $n_c = 100_000;
make_table('items_c', $n_c);
$node->safe_psql('postgres', "SELECT mig.start('m_c', '" . alter_val('items_c') . "')");
my $end_c = job('m_c', 'end_block');
ok(poll_job('m_c', 'next_block', sub { $_[0] * 10 >= $end_c * 3 }),
	'(c) the backfill is 30% through');
my $old_pid = workers();
like($old_pid, qr/^\d+$/, "(c) one worker runs the job (process $old_pid)");
is($node->safe_psql('postgres', "SELECT pg_terminate_backend($old_pid)"),
	't', '(c) worker terminated');
my $t_kill = time();
my $seen_c = job('m_c', 'next_block');

# no mig.* call until a new worker shows
my $new_pid;
my $t_new;
ok( poll_job(
		'm_c', 'state',
		sub { defined $new_pid || $_[0] eq 'done' },
		sub {
			my $w = workers();
			if ($w ne '' && $w ne $old_pid)
			{
				$new_pid = $w;
				$t_new = time();
			}
		}),
	'(c) a new worker showed');
isnt($new_pid // '', '', '(c) the job was taken up by a new worker process');
note sprintf('(c) new worker %s %.2f s after the termination',
	$new_pid // '?', ($t_new // time()) - $t_kill);
my $min_c = $seen_c;
ok(poll_job('m_c', 'state, next_block', sub { $_[0] eq 'done' },
		sub { $min_c = $_[1] if $_[1] < $min_c }),
	'(c) the restarted worker finished the backfill');
cmp_ok($min_c, '>=', $seen_c, '(c) the cursor never went back after the termination');
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'migrate_ext worker'}),
	'(c) the worker exited');
rows_done_ok('(c)', 'items_c', 'm_c', $n_c);
my $updates_c = $node->safe_psql('postgres',
	q{SELECT n_tup_upd FROM pg_stat_user_tables WHERE relid = 'items_c'::regclass});
cmp_ok($updates_c, '<=', $n_c + $batch_size,
	"(c) rows written in all ($updates_c, the interrupted batch included) <= rows + one batch");
$node->safe_psql('postgres', 'SELECT mig.complete()');
values_ok('(c)', 'items_c', $n_c);

#
# (d) A job that fails: the up expression raises for one row.
#
my $n_d = 20_000;
my $bad = 10_777;
make_table('items_d', $n_d);
$node->safe_psql('postgres',
	"SELECT mig.start('m_d', '"
	  . alter_val('items_d', "CASE WHEN id = $bad THEN val / (id - $bad) ELSE val * 2 END")
	  . "')");
my $bad_blk = $node->safe_psql('postgres', "SELECT blk FROM chk.items_d WHERE id = $bad");
ok(poll_job('m_d', 'state', sub { $_[0] eq 'failed' }), '(d) the job failed');
my ($err_d, $attempts_d, $block_d, $rows_d) = split /\|/,
  job('m_d', 'last_error, attempts, next_block, rows_done');
like($err_d, qr/division by zero/, "(d) last_error names the error: $err_d");
is($attempts_d, '3', '(d) it was tried three times');
cmp_ok($block_d, '<=', $bad_blk, '(d) the cursor stopped before the failing row');
cmp_ok($block_d, '>', 0, '(d) the batches before it were kept');
is( $node->safe_psql(
		'postgres',
		q{SELECT state || '|' || (last_error ~ 'division by zero')::text FROM mig.jobs WHERE migration = 'm_d'}),
	'failed|true',
	'(d) mig.jobs shows the job failed, with the error');

my ($phase_d, $jobs_d) = split /\|/,
  $node->safe_psql('postgres', 'SELECT phase, jobs FROM mig.status()');
is($phase_d, 'jobs failed', '(d) status: jobs failed');
like($jobs_d, qr/failed.*division by zero/, "(d) status jobs say why: $jobs_d");

my ($ret, $stdout, $stderr) = $node->psql('postgres', 'SELECT mig.complete()');
isnt($ret, 0, '(d) complete refuses');
like($stderr, qr/cannot complete migration "m_d"/, '(d) complete: names the migration');
like($stderr, qr/DETAIL:.*failed.*division by zero/s, '(d) complete: says which job failed and why');
note "(d) complete: $stderr";

($ret, $stdout, $stderr) = $node->psql('postgres', q{CALL mig.wait('public', '30 s')});
isnt($ret, 0, '(d) wait errors');
like($stderr, qr/a background job of migration "m_d" failed/, '(d) wait: the job failed');
like($stderr, qr/division by zero/, '(d) wait: and why');
like($stderr, qr/HINT:.*mig\.resume/s, '(d) wait: hint names mig.resume');
is(job('m_d', 'state || next_block'), "failed$block_d", '(d) wait did not retry the job');

# fix the data through the old version, retry
$node->safe_psql('postgres',
	"DELETE FROM items_d WHERE id = $bad; DELETE FROM chk.items_d WHERE id = $bad;");
like($node->safe_psql('postgres', q{SELECT mig.resume('public')}),
	qr/^resumed 1 jobs/, '(d) mig.resume retries the failed job');
$node->safe_psql('postgres', q{CALL mig.wait('public', '60 s')});
is(job('m_d', 'state'), 'done', '(d) the retried job finished');
rows_done_ok('(d)', 'items_d', 'm_d', $n_d - 1);
$node->safe_psql('postgres', 'SELECT mig.complete()');
values_ok('(d)', 'items_d', $n_d - 1);

#
# (e) A crash in the middle of a concurrent index build: the build is held in
#     its wait for older snapshots (an open REPEATABLE READ transaction),
#     with its new copy of the index (<name>_ccnew) already in the catalogs.
#     After the restart the launcher drops that leftover and builds the index
#     again; nothing invalid is left behind.
#
make_table('items_e', 20_000);
my $snapshot_holder = $node->background_psql('postgres');
$snapshot_holder->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
$snapshot_holder->query_safe('SELECT 1');
$node->safe_psql('postgres',
	q{SELECT mig.start('m_e', '{"operations": [{"create_index":
		{"name": "idx_e", "table": "items_e", "columns": [{"column": "val"}]}}]}')});
ok( $node->poll_query_until(
		'postgres', q{
		SELECT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p
			JOIN pg_stat_activity a USING (pid)
			WHERE a.backend_type = 'migrate_ext worker' AND p.relid = 'items_e'::regclass
			  AND p.phase LIKE 'waiting for%')
		   AND EXISTS (SELECT 1 FROM pg_class WHERE relname LIKE 'idx_e\_ccnew%')}),
	'(e) the index build waits for an older snapshot, its new copy in the catalogs');
is( $node->safe_psql(
		'postgres', q{
		SELECT string_agg(c.relname || ':' || i.indisvalid::text, ',' ORDER BY c.relname)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = 'items_e'::regclass AND c.relname LIKE 'idx\_e%'}),
	'idx_e:false,idx_e_ccnew:false',
	'(e) before the crash: the declared index and the copy being built, both invalid');
my $log_offset = -s $node->logfile;
$node->stop('immediate');
$snapshot_holder->quit;
$node->start;
ok( $node->poll_query_until(
		'postgres',
		q{SELECT state = 'done' FROM mig.job_queue WHERE migration = 'm_e'}),
	'(e) the launcher resumed the index build and it finished, without any mig.* call');
is( $node->safe_psql(
		'postgres', q{
		SELECT string_agg(c.relname || ':' || i.indisvalid::text || ':' || i.indisready::text,
						  ',' ORDER BY c.relname)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = 'items_e'::regclass AND c.relname LIKE 'idx\_e%'}),
	'idx_e:true:true',
	'(e) the index is valid and ready, the leftover is gone');
like(slurp_file($node->logfile, $log_offset),
	qr/dropping index public\.idx_e_ccnew left by an interrupted build of index "idx_e"/,
	'(e) the worker dropped the leftover copy');
$node->safe_psql('postgres', 'SELECT mig.complete()');
is( $node->safe_psql(
		'postgres', q{
		SELECT count(*) FILTER (WHERE NOT i.indisvalid) || '|' || count(*)
		FROM pg_index i WHERE i.indrelid = 'items_e'::regclass}),
	'0|2',
	'(e) after complete: the primary key and idx_e, both valid');

$node->stop;

done_testing();
