# Copyright (c) migrate_ext contributors
#
# A standby promoted in the middle of a backfill (issue 17): the primary is
# lost part-way through; the promoted standby has the migration, its dual
# write and the backfill's progress as far as it replayed them.  What a user
# relies on:
#  - after promotion, the backfill goes on from where the standby's copy of
#    the job says and finishes, with no call but mig.wait;
#  - every row has up(old), including rows written on the old primary while
#    the backfill ran, and rows written on the new primary after promotion;
#  - complete succeeds on the new primary.

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
autovacuum = off
migrate_ext.backfill_batch_size = 500
migrate_ext.backfill_delay = 30
});
$primary->start;
$primary->backup('b');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;

my $rows = 50000;
$primary->safe_psql(
	'postgres', qq{
	CREATE EXTENSION migrate_ext;
	CREATE TABLE items (id integer PRIMARY KEY, val integer);
	INSERT INTO items SELECT g, g FROM generate_series(1, $rows) g;
	ANALYZE items;
});
$primary->safe_psql('postgres',
	q{SELECT mig.start('02_big', '{"operations": [{"alter_column": {"table": "items", "column": "val", "type": "bigint", "up": "val * 2", "down": "val / 2"}}]}')}
);
ok( $primary->poll_query_until(
		'postgres', q{
		SELECT next_block > 20 FROM mig.job_queue WHERE kind = 'backfill'}),
	'the backfill is part-way on the primary');

# writes on the old primary while the backfill runs, as the old version
$primary->safe_psql('postgres',
	q{UPDATE items SET val = val + 1 WHERE id % 1000 = 0});
$primary->wait_for_catchup($standby);
my $block_at_promotion = $standby->safe_psql('postgres',
	q{SELECT next_block FROM mig.job_queue WHERE kind = 'backfill'});
cmp_ok($block_at_promotion, '>', 0, 'the standby has replayed part of the backfill');

$primary->stop('immediate');
$standby->promote;
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 'f',
	'the standby is promoted');

# a write on the new primary, as the old version, before the backfill ends
$standby->safe_psql('postgres',
	q{UPDATE items SET val = 7 WHERE id = 1});

$standby->safe_psql('postgres', 'CALL mig.wait()');
is( $standby->safe_psql(
		'postgres', q{SELECT state FROM mig.job_queue WHERE kind = 'backfill'}),
	'done', 'the backfill finishes on the new primary');
is( $standby->safe_psql(
		'postgres', q{SELECT count(*) FROM items i
		JOIN public_02_big.items n USING (id) WHERE n.val IS DISTINCT FROM i.val * 2}),
	'0', 'every row has up(old) in the new version, none lost or stale');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM public_02_big.items'),
	$rows, 'the new version has every row');
is($standby->safe_psql('postgres', 'SELECT val FROM public_02_big.items WHERE id = 1000'),
	'2002', 'a row updated on the old primary mid-backfill has up() of its new value');

$standby->safe_psql('postgres', 'SELECT mig.complete()');
is( $standby->safe_psql(
		'postgres', q{SELECT count(*) FROM items WHERE val <> id * 2
		AND id % 1000 <> 0 AND id <> 1}),
	'0', 'after complete, the table has the new values');
is($standby->safe_psql('postgres', 'SELECT val FROM items WHERE id = 1'),
	'14', 'the write on the new primary was carried');

done_testing();
