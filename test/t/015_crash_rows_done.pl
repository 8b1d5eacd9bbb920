# Copyright (c) migrate_ext contributors
#
# rows_done counts each predating row once (issue 14, item 12): a backfill
# that a crash (immediate shutdown) interrupts and the launcher resumes ends
# with rows_done equal to the number of rows it had to write, exactly, while
# the table was also written by the application and vacuumed with FREEZE
# during the backfill.
#
# Why FREEZE: a row version written through the trigger (by the application,
# or by a batch of the backfill that put a row's new version into a block
# the backfill had not reached yet, in space a vacuum freed) reads, once
# frozen, as if written by FrozenTransactionId, which predates every
# snapshot: the backfill took it for a predating row, wrote it once more and
# counted it again.  rows_done read more than the table's rows.
#
# The application's writes, all on rows the backfill has not reached when
# they happen: updates through the new version (not the backfill's to
# write: not counted), deletes through the old one (nothing left to write).
# The new version refuses a row the backfill has not reached (55000, not
# ready), so each updated row is first touched through the old version in
# the same transaction (SET val = val), as an application would: the same
# rows, so the same count.
# Expected: rows_done = rows - updated - deleted, and after complete every
# row has val = up(old val) or the value the application wrote.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $n = 60_000;

my $node = PostgreSQL::Test::Cluster->new('crash_rows_done');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'migrate_ext'
autovacuum = off
migrate_ext.backfill_batch_size = 300
migrate_ext.backfill_delay = 100
});
$node->start;

$node->safe_psql(
	'postgres', qq{
	CREATE EXTENSION migrate_ext;
	CREATE SCHEMA chk;
	CREATE TABLE items (id integer PRIMARY KEY, val integer);
	INSERT INTO items SELECT g, g FROM generate_series(1, $n) g;
	CREATE TABLE chk.items AS
		SELECT id, (ctid::text::point)[0]::bigint AS blk, 2 * val::bigint AS expect FROM items;
	ALTER TABLE chk.items ADD PRIMARY KEY (id);
	VACUUM ANALYZE items;
});

sub job
{
	return $node->safe_psql('postgres',
		"SELECT $_[0] FROM mig.job_queue WHERE migration = 'm' AND kind = 'backfill'");
}

$node->safe_psql('postgres',
	q{SELECT mig.start('m', '{"operations": [{"alter_column": {"table": "items", "column": "val", "type": "bigint", "up": "val * 2", "down": "val / 2"}}]}')}
);
my $end = job('end_block');
ok($node->poll_query_until('postgres',
		"SELECT next_block * 10 >= $end FROM mig.job_queue WHERE migration = 'm'"),
	'the backfill is 10% through');

# deletes in the last quarter of the blocks, updates through the new version
# in the last tenth
my $del_from = int($end * 0.75);
my $upd_from = int($end * 0.9);
my ($deleted, $updated) = split /\|/,
  $node->safe_psql(
	'postgres', qq{
	SELECT count(*) FILTER (WHERE blk BETWEEN $del_from AND $del_from + 4),
		   count(*) FILTER (WHERE blk >= $upd_from AND id % 7 = 0)
	FROM chk.items});

# the last row, which the backfill has not reached and no one else writes:
# through the new version an update of it is refused and changes nothing
my $last_row = qq{SELECT xmin || '|' || val FROM items WHERE id = $n};
my $last_before = $node->safe_psql('postgres', $last_row);
my ($ret, $out, $err) = $node->psql(
	'postgres', qq{\\set VERBOSITY verbose
	SET search_path = public_m;
	UPDATE items SET val = 1000000 + id WHERE id = $n;});
like($err, qr/55000: version "public_m" of table "items" is not ready/,
	'a new-version update of a row the backfill has not reached is refused (55000)');
is($node->safe_psql('postgres', $last_row), $last_before, 'the refused update changed nothing');

$node->safe_psql(
	'postgres', qq{
	BEGIN;
	UPDATE items SET val = val
	WHERE id IN (SELECT id FROM chk.items WHERE blk >= $upd_from AND id % 7 = 0);
	SET LOCAL search_path = public_m;
	UPDATE items SET val = 1000000 + id
	WHERE id IN (SELECT id FROM chk.items WHERE blk >= $upd_from AND id % 7 = 0);
	COMMIT;
	UPDATE chk.items SET expect = 1000000 + id WHERE blk >= $upd_from AND id % 7 = 0;
	DELETE FROM items WHERE id IN (SELECT id FROM chk.items WHERE blk BETWEEN $del_from AND $del_from + 4);
	DELETE FROM chk.items WHERE blk BETWEEN $del_from AND $del_from + 4;
	VACUUM (FREEZE) items;
});
note "deleted $deleted rows from block $del_from, updated $updated through the new version from block $upd_from";

# a few more batches, and freeze what they wrote too
my $at = job('next_block');
ok($node->poll_query_until('postgres',
		"SELECT next_block >= $at + 6 FROM mig.job_queue WHERE migration = 'm'"),
	'the backfill went on after the vacuum');
$node->safe_psql('postgres', 'VACUUM (FREEZE) items');
my $before = job('next_block');
cmp_ok($before, '<', $del_from, "the backfill has not reached the written rows (block $before)");

$node->stop('immediate');
$node->start;

ok($node->poll_query_until('postgres',
		q{SELECT state = 'done' FROM mig.job_queue WHERE migration = 'm' AND kind = 'backfill'}),
	'after the crash the launcher resumed the backfill and it finished');
is(job('rows_done'), $n - $deleted - $updated,
	'rows_done counts each predating row once: rows - deleted - updated through the new version');
is($node->safe_psql('postgres', q{SELECT rows_done FROM mig.jobs WHERE migration = 'm'}),
	$n - $deleted - $updated, 'mig.jobs shows the same count');

$node->safe_psql('postgres', 'SELECT mig.complete()');
is( $node->safe_psql(
		'postgres', q{
		SELECT count(*) || '|' || count(*) FILTER (WHERE t.val IS DISTINCT FROM c.expect)
		FROM items t FULL JOIN chk.items c USING (id)}),
	($n - $deleted) . '|0',
	'after complete every row has val = up(old val), or the value written through the new version');

$node->stop;
done_testing();
