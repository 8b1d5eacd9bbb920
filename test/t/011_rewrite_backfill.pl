# Copyright (c) migrate_ext contributors
#
# A table rewrite in the middle of a backfill (issue 14, item 2).  The
# backfill walks the table's blocks; a rewrite moves the rows, so the
# cursor means nothing afterwards:
#
#  (a) VACUUM FULL while the backfill is paused part-way: the backfill
#      notices the new storage and starts its pass again from block 0; rows
#      written through the new version before and after the rewrite keep
#      their values (VACUUM FULL freezes them: the backfill must still see
#      who wrote them), every other row gets up(old); rows_done counts each
#      row once;
#  (b) the same with CLUSTER on an index in reverse order, so rows the
#      backfill had not reached move in front of the cursor;
#  (c) a rewriting ALTER TABLE is refused while a backfill is unfinished,
#      with a hint; other tables can still be rewritten;
#  (d) a rewrite that gives every row a new xid and cannot be prevented
#      (pg_repack's copy; here an ALTER TABLE with the event trigger
#      disabled) is detected: the job fails with a clear last_error and
#      complete refuses;
#  (e) VACUUM FREEZE (no rewrite) part-way: rows written through the new
#      version are frozen, and the backfill must still leave them alone;
#  (f) (a) on a table the backfill writes with an UPDATE statement.
#
# After a rewrite that moved the rows, and until the backfill has checked
# the new storage, the new version refuses every row of the table (55000,
# saying why): the xmins of a table rewritten by pg_repack say nothing about
# which rows the backfill has written, and the guard cannot tell that from
# a VACUUM FULL.  After (d) it goes on refusing every row, with the reason,
# rather than serve rows that were never backfilled (NULL in the new
# column); the job fails at once, not after retries.
#
# Each case: a table of 200,000 rows with every other one deleted, the
# migration started with migrate_ext.start_jobs = off (its jobs paused),
# then resumed with small batches and paused again part-way.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('rewrite_backfill');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'migrate_ext'
max_worker_processes = 16
autovacuum = off
migrate_ext.backfill_batch_size = 500
migrate_ext.backfill_delay = 50
migrate_ext.retry_delay = 10
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION migrate_ext; CREATE SCHEMA chk;');

# $table: 200,000 rows, every other one deleted; k = -id, indexed, so that
# CLUSTER on it reverses the order.  chk.$table: what val must be after
# complete (up = val * 2 unless a write through a version says otherwise).
sub make_table
{
	my ($table, $extra) = @_;
	$extra //= '';
	$node->safe_psql(
		'postgres', qq{
		CREATE TABLE $table (id integer PRIMARY KEY, val integer, k integer);
		INSERT INTO $table SELECT g, g, -g FROM generate_series(1, 200000) g;
		DELETE FROM $table WHERE id % 2 = 0;
		CREATE INDEX ${table}_k ON $table (k);
		$extra
		VACUUM ANALYZE $table;
		CREATE TABLE chk.$table AS SELECT id, 2 * val::bigint AS expect FROM $table;
	});
	return;
}

sub start_paused
{
	my ($table, $migration) = @_;
	return $node->safe_psql(
		'postgres', qq{
		SET migrate_ext.start_jobs = off;
		SELECT mig.start('$migration', '{"operations": [{"alter_column": {"table": "$table",
			"column": "val", "type": "bigint", "up": "val * 2", "down": "val / 2"}}]}');
	});
}

sub job
{
	my ($migration, $cols) = @_;
	return $node->safe_psql('postgres',
		"SELECT $cols FROM mig.job_queue WHERE migration = '$migration' AND kind = 'backfill'"
	);
}

sub poll
{
	my ($sql, $done) = @_;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	while (time() < $deadline)
	{
		my $v = $node->safe_psql('postgres', $sql);
		return $v if $done->($v);
		usleep(20_000);
	}
	return;
}

# Resume the paused jobs, let the backfill pass about 30% of its blocks,
# pause it again and stop its worker; returns the cursor.
sub run_part
{
	my ($what, $migration) = @_;
	my $end = job($migration, 'end_block');
	$node->safe_psql('postgres', 'SELECT mig.resume()');
	ok(poll(qq{SELECT next_block * 10 >= end_block * 3 FROM mig.job_queue
			   WHERE migration = '$migration' AND kind = 'backfill'},
			sub { $_[0] eq 't' }),
		"$what: the backfill is 30% through");
	# a running job finishes even when paused: end its worker (which
	# leaves the committed cursor); a restarted worker skips a paused job
	$node->safe_psql(
		'postgres', q{
		SELECT mig.pause();
		SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE backend_type = 'migrate_ext worker'});
	ok( defined poll(
			q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'migrate_ext worker'},
			sub { $_[0] eq '0' }),
		"$what: the worker stopped");
	my $next = job($migration, 'next_block');
	cmp_ok($next, '<', $end, "$what: paused at block $next of $end");
	return $next;
}

# Writes through the new version: val = an odd value, for which
# up(down(v)) = v - 1 != v, so a backfill that took these rows for old ones
# would change them.
#
# The new version refuses a row the backfill has not reached yet (55000,
# not ready), so an application that must write such a row first touches
# it through the old version (SET val = val: the trigger writes up(val),
# and the row no longer predates the migration), in the same transaction,
# then writes it through the new version.  @unreached: the rows that need
# this; @reached: rows the backfill has already written, written through the
# new version directly.
sub write_new
{
	my ($table, $version, $reached, $unreached) = @_;
	my @ids = (@$reached, @$unreached);
	my $list = join(',', @ids);
	my $touch = '';
	$touch = "UPDATE $table SET val = val WHERE id IN (" . join(',', @$unreached) . ');'
	  if @$unreached;
	$node->safe_psql(
		'postgres', qq{
		BEGIN;
		$touch
		SET LOCAL search_path = $version;
		UPDATE $table SET val = 2 * id + 1000001 WHERE id IN ($list);
		COMMIT;
		UPDATE chk.$table SET expect = 2 * id + 1000001 WHERE id IN ($list);
	});
	return;
}

# A row the backfill has not reached yet: a write through the new version is
# refused with 55000 and changes nothing.
sub refused_new
{
	my ($what, $table, $version, $id, $detail) = @_;
	my $row = qq{SELECT xmin || '|' || val FROM $table WHERE id = $id};
	my $before = $node->safe_psql('postgres', $row);
	my ($ret, $out, $err) = $node->psql(
		'postgres', qq{\\set VERBOSITY verbose
		SET search_path = $version;
		UPDATE $table SET val = 2 * id + 1000001 WHERE id = $id;});
	like($err,
		qr/55000: version "$version" of table "$table" is not ready/,
		"$what: a new-version update of row $id is refused (55000)");
	like($err, $detail, "$what: the error says why") if $detail;
	is($node->safe_psql('postgres', $row), $before, "$what: the refused update changed nothing");
	return;
}

# through the old version: up computes the new value
sub write_old
{
	my ($table, @ids) = @_;
	my $list = join(',', @ids);
	$node->safe_psql(
		'postgres', qq{
		UPDATE $table SET val = 7 WHERE id IN ($list);
		UPDATE chk.$table SET expect = 14 WHERE id IN ($list);
	});
	return;
}

sub rewrite_case
{
	my ($what, $table, $migration, $rewrite, $in_place, $extra) = @_;

	make_table($table, $extra);
	my $version = start_paused($table, $migration);
	my $rows_total = job($migration, 'rows_total');

	# before any batch: new-version writes at both ends, an old-version one
	my @written = (1001, 3, 199_001);
	write_new($table, $version, [], [ 1001, 199_001 ]);
	write_old($table, 3);

	my $next = run_part($what, $migration);
	my $relfilenode = job($migration, 'relfilenode');

	# before the rewrite: rows the backfill has passed and rows it has not
	write_new($table, $version, [5001], [150_001]);
	write_old($table, 7001, 160_001);
	push @written, 5001, 150_001, 7001, 160_001;

	my ($ret, $out, $err) = $node->psql('postgres', $rewrite);
	is($ret, 0, "$what: \"$rewrite\" runs while the backfill is paused")
	  or diag($err);

	# after the rewrite, before the backfill resumes: a row it has not
	# reached is still refused through the new version (frozen by the
	# vacuum, and moved by a rewrite, it still predates the migration); a
	# row it has written (9001, frozen too) is written through the new
	# version directly
	refused_new($what, $table, $version, 190_001);
	if ($in_place)
	{
		write_new($table, $version, [9001], [170_001]);
	}
	else
	{
		# the storage changed: until the backfill has checked it, even a
		# row it has written is refused, and reads of the table too
		refused_new($what, $table, $version, 9001,
			qr/DETAIL:  The table was rewritten during the backfill of migration "$migration": until the backfill has checked its new storage.*\n.*HINT:  After VACUUM FULL or CLUSTER, wait for the backfill to start its pass again/
		);
		my ($r, $o, $e) = $node->psql('postgres',
			"\\set VERBOSITY verbose\nSELECT count(*) FROM $version.$table WHERE val IS NULL");
		like($e, qr/55000: version "$version" of table "$table" is not ready/,
			"$what: reading the table through the new version is refused until the backfill has checked the new storage");
	}
	write_old($table, 11_001, 180_001);
	push @written, 9001, 170_001, 11_001, 180_001;

	my $log_offset = -s $node->logfile;
	$node->safe_psql('postgres', 'SELECT mig.resume()');
	if (!$in_place)
	{
		# once the pass starts again on the new storage, new-version writes
		# work again, while the backfill runs
		ok(poll("SELECT relfilenode <> $relfilenode FROM mig.job_queue WHERE migration = '$migration' AND kind = 'backfill'",
				sub { $_[0] eq 't' }),
			"$what: the backfill records the new storage");
		write_new($table, $version, [9001], [170_001]);
	}
	$node->safe_psql('postgres', q{CALL mig.wait('public', '300 s')});
	is(job($migration, 'state'), 'done', "$what: the backfill finished");
	if ($in_place)
	{
		is(job($migration, 'relfilenode'), $relfilenode,
			"$what: the storage is the same");
		unlike(slurp_file($node->logfile, $log_offset),
			qr/the backfill starts again from its first block/,
			"$what: the pass goes on where it stopped");
	}
	else
	{
		isnt(job($migration, 'relfilenode'), $relfilenode,
			"$what: the job records the new storage");
		ok( $node->wait_for_log(
				qr/was rewritten while migration "$migration" was backfilling it: the backfill starts again from its first block/,
				$log_offset),
			"$what: the worker says it starts the pass again");
	}

	# every row: the value written through a version, else up(old)
	is( $node->safe_psql(
			'postgres', qq{
			SELECT count(*) || '|' || count(*) FILTER (WHERE t.val IS NULL)
				|| '|' || count(*) FILTER (WHERE t.val IS DISTINCT FROM c.expect)
			FROM $version.$table t FULL JOIN chk.$table c USING (id)}),
		'100000|0|0',
		"$what: through the new version no row is NULL, and every row has up(old) or the value written through a version"
	);

	# each predating row backfilled once, or written through the trigger
	my $rows_done = job($migration, 'rows_done');
	cmp_ok($rows_done, '<=', 100_000, "$what: rows_done ($rows_done) counts no row twice");
	cmp_ok($rows_done, '>=', 100_000 - @written,
		"$what: rows_done ($rows_done) counts every backfilled row");
	is( $node->safe_psql(
			'postgres',
			"SELECT rows_done || '|' || rows_total || '|' || state FROM mig.jobs WHERE migration = '$migration' AND kind = 'backfill'"
		),
		"$rows_done|$rows_total|done",
		"$what: mig.jobs shows the progress of the whole job");

	$node->safe_psql('postgres', 'SELECT mig.complete()');
	is( $node->safe_psql(
			'postgres', qq{
			SELECT count(*) FILTER (WHERE t.val IS DISTINCT FROM c.expect)
			FROM $table t FULL JOIN chk.$table c USING (id)}),
		'0',
		"$what: after complete every row has its value");
	return;
}

#
# (a) VACUUM FULL, (b) CLUSTER in reverse order
#
rewrite_case('(a) VACUUM FULL', 'items_a', 'm_a', 'VACUUM FULL items_a');
rewrite_case('(b) CLUSTER', 'items_b', 'm_b', 'CLUSTER items_b USING items_b_k');

#
# (e) VACUUM FREEZE, no rewrite: the rows written through the new version
#     in blocks the backfill has not reached are frozen, and must still not
#     be taken for rows that predate the migration
#
rewrite_case('(e) VACUUM FREEZE', 'items_e', 'm_e', 'VACUUM (FREEZE) items_e', 1);

#
# (f) VACUUM FULL on a table the backfill writes with its UPDATE statement
#     (a deferrable unique constraint keeps it off the direct heap path)
#
rewrite_case('(f) VACUUM FULL, UPDATE path', 'items_f', 'm_f', 'VACUUM FULL items_f', 0,
	'ALTER TABLE items_f ADD CONSTRAINT items_f_k_key UNIQUE (k) DEFERRABLE;');

#
# (c) a rewriting ALTER TABLE is refused while the backfill is unfinished
#
make_table('items_c');
my $version_c = start_paused('items_c', 'm_c');
run_part('(c)', 'm_c');
my $relfilenode_c = $node->safe_psql('postgres', q{SELECT pg_relation_filenode('items_c')});
foreach my $alter (
	'ALTER TABLE items_c ADD COLUMN z float8 DEFAULT random()',
	'ALTER TABLE items_c ADD COLUMN z2 bigint GENERATED ALWAYS AS (id * 2) STORED',
	'ALTER TABLE items_c SET UNLOGGED')
{
	my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$alter");
	isnt($ret, 0, "(c) refused: $alter");
	like($err, qr/55000: cannot rewrite table public.items_c while migration "m_c" is backfilling it/,
		'(c) the error names the table and the migration');
	like($err, qr/HINT:  Wait for the backfill with CALL mig.wait\('public'\)/,
		'(c) the hint says what to do');
}
is($node->safe_psql('postgres', q{SELECT pg_relation_filenode('items_c')}),
	$relfilenode_c, '(c) the table was not rewritten');
$node->safe_psql('postgres',
	'CREATE TABLE other (a int); INSERT INTO other VALUES (1); ALTER TABLE other ALTER COLUMN a TYPE bigint'
);
pass('(c) a table without a backfill can still be rewritten');

#
# (d) a rewrite that could not be prevented (every row written again with a
#     new xid, as pg_repack does) fails the job loudly; complete refuses
#
$node->safe_psql(
	'postgres', q{
	ALTER EVENT TRIGGER migrate_ext_refuse_table_rewrite DISABLE;
	ALTER TABLE items_c ADD COLUMN z float8 DEFAULT random();
	ALTER EVENT TRIGGER migrate_ext_refuse_table_rewrite ENABLE ALWAYS;
});
# every row has a new xmin now: the new version must not take the rows the
# backfill has not written for new ones (it would show NULL for them)
my $new_val_d =
  "\\set VERBOSITY verbose\nSELECT count(*) FILTER (WHERE val IS NULL) FROM $version_c.items_c";
my $rewritten_d =
  qr/DETAIL:  The table was rewritten during the backfill of migration "m_c": until the backfill has checked its new storage/;
my ($ret_r, $out_r, $err_r) = $node->psql('postgres', $new_val_d);
like($err_r, qr/55000: version "$version_c" of table "items_c" is not ready/,
	'(d) after the rewrite, reading through the new version is refused (55000)');
like($err_r, $rewritten_d, '(d) the error says the table was rewritten during the backfill');
is($out_r, '', '(d) no row is shown with a NULL new column');
refused_new('(d)', 'items_c', $version_c, 190_001, $rewritten_d);
refused_new('(d)', 'items_c', $version_c, 1, $rewritten_d);
($ret_r, $out_r, $err_r) = $node->psql(
	'postgres', qq{\\set VERBOSITY verbose
	SET search_path = $version_c, public;
	UPDATE public.items_c SET _mig_new_val = 5 WHERE id = 190001;});
# the table itself written as the new version: its migration has down
# rules, so the trigger refuses it before any readiness check (0A000)
like($err_r, qr/0A000: cannot write table "public\.items_c" itself as version "\Q$version_c\E"/,
	'(d) an update of the table itself routed to the new version is refused by the trigger');
is($node->safe_psql('postgres',
		q{SELECT _mig_new_val IS DISTINCT FROM 5 FROM public.items_c WHERE id = 190001}),
	't', '(d) and writes nothing');

$node->safe_psql('postgres', 'SELECT mig.resume()');
ok(poll("SELECT state FROM mig.job_queue WHERE migration = 'm_c' AND kind = 'backfill'",
		sub { $_[0] eq 'failed' }),
	'(d) the backfill fails');
is(job('m_c', 'attempts'), '1', '(d) at its first attempt: no retry can cure it');
is($node->safe_psql('postgres', q{SELECT phase FROM mig.status('public')}),
	'jobs failed', '(d) mig.status says the jobs failed');
($ret_r, $out_r, $err_r) = $node->psql('postgres', $new_val_d);
like($err_r,
	qr/55000: version "$version_c" of table "items_c" is not ready.*DETAIL:  The table was rewritten during the backfill of migration "m_c", which failed: table public.items_c was rewritten.*HINT:  Roll the migration back with mig.rollback\('public'\) and start it again\./s,
	'(d) after the job failed, reading through the new version is still refused, saying why and what to do');
is($out_r, '', '(d) still no row with a NULL new column');
like(job('m_c', 'last_error'),
	qr/table public.items_c was rewritten while migration "m_c" was backfilling it \(Its storage changed .* no row in it carries the transaction id it was written with/,
	'(d) last_error says the table was rewritten');
my ($ret_d, $out_d, $err_d) = $node->psql('postgres', 'SELECT mig.complete()');
isnt($ret_d, 0, '(d) complete refuses');
like($err_d, qr/its background jobs are not finished/, '(d) complete says why');
$node->safe_psql('postgres', 'SELECT mig.rollback()');
pass('(d) the migration can be rolled back');

done_testing();
