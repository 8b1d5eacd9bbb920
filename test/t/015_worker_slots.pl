# Copyright (c) migrate_ext contributors
#
# No free background worker slot (issue 14, item 10).
#
#  (a) With the library preloaded: every slot of max_worker_processes is
#      taken (the launcher and two workers of other schemas' migrations,
#      whose concurrent index builds wait for an open REPEATABLE READ
#      transaction's snapshot).  A migration started meanwhile cannot get a
#      worker: mig.jobs and mig.status say "waiting for a worker slot".
#      Once a slot frees, the launcher starts its worker by itself - no
#      mig.* call is made from then on; the test only reads mig.job_queue -
#      and the note clears.
#  (b) Without the library preloaded there is no launcher: status says the
#      same while the slots are taken, the job waits for the next mig.*
#      call once a slot is free, and that call starts it.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('slots');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'migrate_ext'
# the launcher + two workers; nothing else takes a slot
max_worker_processes = 3
max_logical_replication_workers = 0
max_parallel_workers = 0
max_parallel_workers_per_gather = 0
autovacuum = off
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION migrate_ext');

ok( $node->poll_query_until(
		'postgres', q{
		SELECT count(*) FILTER (WHERE backend_type = 'migrate_ext launcher') = 1
		   AND count(*) FILTER (WHERE backend_type = 'migrate_ext scanner') = 0
		FROM pg_stat_activity}),
	'the launcher runs and its scanner has exited');

# Two other schemas whose index builds hold a worker each until the
# snapshot holder commits.
sub block_slots
{
	my ($holder, @schemas) = @_;
	$holder->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
	$holder->query_safe('SELECT 1');
	foreach my $s (@schemas)
	{
		$node->safe_psql(
			'postgres', qq{
			CREATE SCHEMA $s;
			CREATE TABLE $s.t (id integer PRIMARY KEY, v integer);
			INSERT INTO $s.t SELECT g, g FROM generate_series(1, 1000) g;
			SELECT mig.start('m', '{"operations": [{"create_index":
				{"name": "t_v_idx", "table": "t", "columns": [{"column": "v"}]}}]}', '$s');
		});
	}
	my $list = join(',', map { "'$_'" } @schemas);
	return $node->poll_query_until(
		'postgres', qq{
		SELECT count(*) = @{[scalar @schemas]} FROM pg_stat_progress_create_index p
		JOIN pg_stat_activity a USING (pid)
		WHERE a.backend_type = 'migrate_ext worker' AND p.phase LIKE 'waiting for%'
		  AND p.relid IN (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
						  WHERE n.nspname IN ($list) AND c.relname = 't')});
}

sub start_backfill
{
	my ($schema) = @_;
	$node->safe_psql(
		'postgres', qq{
		CREATE SCHEMA $schema;
		CREATE TABLE $schema.items (id integer PRIMARY KEY, val integer);
		INSERT INTO $schema.items SELECT g, g FROM generate_series(1, 5000) g;
		ANALYZE $schema.items;
	});
	my ($ret, $stdout, $stderr) = $node->psql('postgres',
		qq{SELECT mig.start('m', '{"operations": [{"alter_column": {"table": "items", "column": "val", "type": "bigint", "up": "val * 2", "down": "val / 2"}}]}', '$schema')}
	);
	is($ret, 0, "($schema) the migration starts");
	return $stderr;
}

sub queue_state
{
	my ($schema) = @_;
	return $node->safe_psql('postgres',
		"SELECT state || '|' || coalesce(worker_pid::text, '') FROM mig.job_queue WHERE schema = '$schema' AND kind = 'backfill'"
	);
}

#
# (a) with the launcher
#
my $holder = $node->background_psql('postgres');
ok(block_slots($holder, 'b1', 'b2'), '(a) two workers hold the two free slots, waiting');

my $stderr = start_backfill('app');
like($stderr, qr/WARNING:  could not start a background worker for the jobs of schema "app"/,
	'(a) start warns that no worker could be started');
like($stderr, qr/the jobs start as soon as one is free/, '(a) and says they start once a slot is free');

is($node->safe_psql('postgres', q{SELECT state FROM mig.jobs WHERE schema = 'app'}),
	'waiting for a worker slot', '(a) mig.jobs: waiting for a worker slot');
is($node->safe_psql('postgres', q{SELECT status || '|' || phase FROM mig.status('app')}),
	'In progress|waiting for a worker slot', '(a) mig.status: waiting for a worker slot');
like($node->safe_psql('postgres', q{SELECT jobs FROM mig.status('app')}),
	qr/backfill app\.items: waiting for a worker slot/, '(a) the job summary says so');

# still no slot: the launcher's retries fail, the job stays pending
usleep(1_500_000);
is(queue_state('app'), 'pending|', '(a) while every slot is taken the job stays pending');

# free the slots; from here on, no mig.* call
my $log_offset = -s $node->logfile;
$holder->query_safe('COMMIT');
my $t_free = time();
ok( $node->poll_query_until(
		'postgres', q{SELECT state = 'done' FROM mig.job_queue WHERE schema = 'app' AND kind = 'backfill'}),
	'(a) once a slot is free, the job runs to the end without any mig.* call');
note sprintf('(a) done %.1f s after the slots were freed', time() - $t_free);
like(slurp_file($node->logfile, $log_offset),
	qr/migrate_ext launcher started a background worker for the jobs of schema "app"/,
	'(a) the launcher started it');
is($node->safe_psql('postgres', q{SELECT mig.waiting_for_worker_slot('app')}),
	'f', '(a) the note is cleared');
is($node->safe_psql('postgres', q{SELECT state || '|' || rows_done FROM mig.jobs WHERE schema = 'app'}),
	'done|5000', '(a) mig.jobs: done');
is($node->safe_psql('postgres', q{SELECT phase FROM mig.status('app')}),
	'ready to complete', '(a) mig.status: ready to complete');
foreach my $s ('b1', 'b2', 'app')
{
	$node->safe_psql('postgres', "CALL mig.wait('$s', '1 min'); SELECT mig.complete('$s')");
}

#
# (b) without the launcher: the next mig.* call retries, as before
#
$node->adjust_conf('postgresql.conf', 'shared_preload_libraries', "''");
$node->adjust_conf('postgresql.conf', 'max_worker_processes', '2');
$node->restart;
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'migrate_ext%'}),
	'0', '(b) no launcher');
$holder = $node->background_psql('postgres');
ok(block_slots($holder, 'c1', 'c2'), '(b) two workers hold both slots, waiting');
$stderr = start_backfill('app2');
like($stderr, qr/could not start a background worker for the jobs of schema "app2".*the next mig\.\* call on the schema tries again/s,
	'(b) start warns, and says the next mig.* call tries again');
is($node->safe_psql('postgres', q{SELECT phase FROM mig.status('app2')}),
	'waiting for a worker slot', '(b) mig.status (which tried again): waiting for a worker slot');

$holder->query_safe('COMMIT');
$holder->quit;
ok( $node->poll_query_until(
		'postgres',
		q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'migrate_ext worker'}),
	'(b) the other workers have exited: the slots are free');
usleep(1_500_000);
is(queue_state('app2'), 'pending|', '(b) without the launcher the job waits for the next mig.* call');
isnt($node->safe_psql('postgres', q{SELECT phase FROM mig.status('app2')}),
	'waiting for a worker slot', '(b) mig.status starts its worker');
ok( $node->poll_query_until(
		'postgres', q{SELECT state = 'done' FROM mig.job_queue WHERE schema = 'app2' AND kind = 'backfill'}),
	'(b) and the job runs to the end');

$node->stop;
done_testing();
