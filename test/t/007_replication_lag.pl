# Copyright (c) migrate_ext contributors
#
# migrate_ext.max_replication_lag: the backfill waits before its next batch
# while a streaming standby replays more than that behind, and goes on once
# the setting allows the lag (the worker reloads its configuration between
# batches).  The standby lags on purpose: recovery_min_apply_delay.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'migrate_ext'
migrate_ext.backfill_batch_size = 500
migrate_ext.max_replication_lag = 300
});
$primary->start;
$primary->backup('b');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->append_conf('postgresql.conf', "recovery_min_apply_delay = '1500ms'");
$standby->start;

$primary->safe_psql(
	'postgres', q{
	CREATE EXTENSION migrate_ext;
	CREATE TABLE items (id integer PRIMARY KEY, val integer);
	INSERT INTO items SELECT g, g FROM generate_series(1, 20000) g;
	ANALYZE items;
});

# a steady stream of commits keeps the standby 1.5 s behind (an idle
# standby that has caught up reports no lag)
$primary->safe_psql('postgres', 'CREATE TABLE heartbeat (at timestamptz)');
my $heartbeat = $primary->background_psql('postgres');
$heartbeat->query_until(
	qr/beating/, q{
	\echo beating
	DO $$BEGIN FOR i IN 1..3000 LOOP
		INSERT INTO heartbeat VALUES (now()); COMMIT; PERFORM pg_sleep(0.05);
	END LOOP; END$$;
});

ok( $primary->poll_query_until(
		'postgres', q{
		SELECT coalesce(max(replay_lag), '0') > interval '500 ms' FROM pg_stat_replication}),
	'the standby replays more than 500 ms behind');

$primary->safe_psql('postgres',
	q{SELECT mig.start('02_big', '{"operations": [{"alter_column": {"table": "items", "column": "val", "type": "bigint", "up": "val * 2", "down": "val / 2"}}]}')}
);

ok( $primary->poll_query_until(
		'postgres', q{
		SELECT count(*) > 0 FROM pg_stat_activity
		WHERE backend_type = 'migrate_ext worker'
		  AND query LIKE '%waits: standby replay lag%above migrate_ext.max_replication_lag%'}),
	'the backfill waits while the standby lags more than max_replication_lag');
my $done = $primary->safe_psql('postgres',
	q{SELECT next_block < end_block FROM mig.job_queue WHERE kind = 'backfill'});
is($done, 't', 'and has not finished meanwhile');

# allow the lag: the waiting worker picks the new setting up and goes on
$primary->safe_psql('postgres',
	q{ALTER SYSTEM SET migrate_ext.max_replication_lag = 0; SELECT pg_reload_conf()});
$primary->safe_psql('postgres', q{CALL mig.wait('public', '2 min')});
is( $primary->safe_psql(
		'postgres', q{SELECT state || '|' || rows_done FROM mig.jobs WHERE kind = 'backfill'}),
	'done|20000', 'once the setting allows the lag, the backfill finishes');
$primary->safe_psql('postgres', q{SELECT mig.complete()});
is($primary->safe_psql('postgres', q{SELECT count(*) FROM items WHERE val <> id * 2}),
	'0', 'every row has its new value');

$primary->safe_psql('postgres',
	q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'DO $$BEGIN FOR i IN 1..3000%'});
eval { $heartbeat->quit; };	# psql ends with the cancelled statement
$standby->stop;
$primary->stop;
done_testing();
