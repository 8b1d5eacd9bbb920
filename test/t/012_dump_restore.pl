
# Copyright (c) migrate_ext contributors
#
# A dump taken in the middle of a migration, restored with real pg_dump and
# pg_restore (issue 14, item 3).  The state tables are dumped with the
# database, and name objects by OID and attribute number; a restore gives
# every object a new OID and renumbers the attributes that follow a dropped
# column.  The source database has two migrations in progress:
#
#   public.acct   "02_mid": add_column with up (a NOT VALID check) and a
#                 unique alter_column (an index): jobs paused, so its
#                 backfill is unfinished when the dump is taken;
#   shop.items    "02_price": a type change and an added column whose jobs
#                 are all done when the dump is taken.
#
# Custom format into a fresh cluster, where unrelated tables were created
# first so that one of them has the OID the state recorded for acct (and
# another the one of shop.items) and more columns than the migration's
# attribute numbers: the backfill fails with an error that says the
# migration was restored mid-backfill and what to do, complete refuses,
# rollback brings acct back exactly as it was before start (no shadow
# column, check, index or trigger; same rows) and leaves the unrelated
# tables and their data alone; the migration can be started again and
# completed.  shop's migration completes, with every row right.
#
# Plain format, through psql, into another database of the source cluster
# (same system identifier, another database OID): the same.  And the
# custom format again into the source database itself, emptied first (its
# own system identifier and database OID, new OIDs for every table).
#
# Nothing writes to a migrated table between the restore and its rollback
# or complete: the restored dual-write trigger has no rules it may use
# there, and raises an error.  The new version of acct refuses every row
# (55000) until then, saying it was restored: the restored rows carry new
# xmins, so its guard cannot tell the rows the backfill has not written
# (NULL in the new column) by their xmins.  The backfill job fails at once,
# not after retries.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $src = PostgreSQL::Test::Cluster->new('dump_src');
$src->init;
$src->append_conf('postgresql.conf', "shared_preload_libraries = 'migrate_ext'");
$src->start;
$src->safe_psql('postgres', 'CREATE DATABASE app');

my $mid_doc = q[{"operations": [
	{"add_column": {"table": "acct", "column": {"name": "note", "type": "text"}, "up": "'n' || id"}},
	{"alter_column": {"table": "acct", "column": "owner", "unique": {"name": "acct_owner_key"},
	 "up": "owner", "down": "owner"}}]}];
my $price_doc = q[{"operations": [
	{"alter_column": {"table": "items", "column": "price", "type": "bigint",
	 "up": "price::bigint * 100", "down": "(price / 100)::integer"}},
	{"add_column": {"table": "items", "column": {"name": "label", "type": "text"}, "up": "'L' || id"}}]}];

# acct and shop.items have a dropped column, so their attribute numbers
# after a restore are not the recorded ones; the filler tables between
# them keep their OIDs apart.
$src->safe_psql(
	'app', qq{
	CREATE EXTENSION migrate_ext;
	CREATE TABLE acct (id integer PRIMARY KEY, junk integer, bal integer NOT NULL, owner text NOT NULL);
	ALTER TABLE acct DROP COLUMN junk;
	INSERT INTO acct SELECT g, g * 10, 'owner ' || g FROM generate_series(1, 3000) g;
	CREATE TABLE src_filler1 (a integer);
	CREATE TABLE src_filler2 (a integer);
	CREATE SCHEMA shop;
	CREATE TABLE shop.items (id integer PRIMARY KEY, gone integer, price integer NOT NULL);
	ALTER TABLE shop.items DROP COLUMN gone;
	INSERT INTO shop.items SELECT g, g % 97 FROM generate_series(1, 2000) g;
});

# acct as it is before its migration: its shape (read_schema without the
# OID) and its rows
my $acct_shape_sql =
  q{SELECT (mig.read_schema('public')->'tables'->'acct') - 'oid'};
my $acct_rows_sql =
  q{SELECT count(*) || ':' || md5(string_agg(id || ',' || bal || ',' || owner, ';' ORDER BY id)) FROM acct};
my $acct_shape = $src->safe_psql('app', $acct_shape_sql);
my $acct_rows = $src->safe_psql('app', $acct_rows_sql);

$src->safe_psql(
	'app', qq{
	SET migrate_ext.start_jobs = off;
	SELECT mig.start('02_mid', \$d\$$mid_doc\$d\$);
});
$src->safe_psql('app', qq{SELECT mig.start('02_price', \$d\$$price_doc\$d\$, 'shop')});
$src->safe_psql('app', q{CALL mig.wait('shop')});
is( $src->safe_psql(
		'app',
		q{SELECT string_agg(schema || ' ' || kind || ' ' || state, ', ' ORDER BY schema, seq) FROM mig.jobs}),
	'public validate paused, public validate paused, public index paused, public backfill paused, '
	  . 'shop validate done, shop validate done, shop backfill done',
	'at the dump: acct\'s jobs have not run, shop\'s are done');

my ($acct_relid, $items_relid) = split /\|/, $src->safe_psql(
	'app', q{
	SELECT (SELECT relid FROM mig.dual_writes WHERE schema = 'public'),
		   (SELECT relid FROM mig.dual_writes WHERE schema = 'shop')});

my $dir = PostgreSQL::Test::Utils::tempdir;
$src->command_ok([ 'pg_dump', '-Fc', '-f', "$dir/app.dump", '-d', $src->connstr('app') ],
	'pg_dump, custom format');
$src->command_ok([ 'pg_dump', '-Fp', '-f', "$dir/app.sql", '-d', $src->connstr('app') ],
	'pg_dump, plain format');

# After the restore: the state must not act on the tables that have the
# recorded OIDs, and acct's migration cannot be finished.
sub check_restored
{
	my ($node, $db, $label, $after_rollback) = @_;
	my ($ret, $out, $err);

	is($node->safe_psql($db, q{SELECT phase FROM mig.status('public')}),
		'jobs paused', "$label: acct's migration is restored with its jobs paused");

	# the new version of acct: every row refused, none shown without note
	my $new_version_refused = sub {
		my ($when) = @_;
		my ($r, $o, $e) = $node->psql($db,
			"\\set VERBOSITY verbose\nSELECT count(*) FILTER (WHERE note IS NULL) FROM public_02_mid.acct");
		like($e,
			qr/55000: version "public_02_mid" of table "acct" is not ready.*DETAIL:  The table was restored from a dump taken while the backfill of migration "02_mid" was unfinished.*HINT:  Roll the migration back with mig\.rollback\('public'\) and start it again\./s,
			"$label, $when: reading acct through the new version is refused (55000), saying it was restored");
		is($o, '', "$label, $when: no row is shown with a NULL new column");
		($r, $o, $e) = $node->psql($db,
			"\\set VERBOSITY verbose\nSELECT note FROM public_02_mid.acct WHERE id = 1");
		like($e, qr/55000: version "public_02_mid" of table "acct" is not ready/,
			"$label, $when: so is reading one row");
	};
	$new_version_refused->('after the restore');

	# the backfill fails, saying why and what to do
	($ret, $out, $err) = $node->psql($db, q{CALL mig.backfill('public')});
	like($err,
		qr/backfill of public\.acct cannot be finished: migration "02_mid" was restored from a dump taken while the backfill was unfinished.*mig\.rollback\('public'\) and start it again/s,
		"$label: the backfill refuses the snapshot of another database");
	$node->safe_psql($db, q{SELECT mig.resume('public')});
	$node->poll_query_until($db,
		q{SELECT state = 'failed' OR attempts > 0 FROM mig.job_queue WHERE schema = 'public' AND kind = 'backfill'})
	  or die "the restored backfill job did not fail";
	is( $node->safe_psql(
			$db,
			q{SELECT state || ' ' || attempts FROM mig.job_queue WHERE schema = 'public' AND kind = 'backfill'}
		),
		'failed 1',
		"$label: the background job fails at its first attempt, not after retries");
	is($node->safe_psql($db, q{SELECT phase FROM mig.status('public')}),
		'jobs failed', "$label: mig.status says the jobs failed");
	$new_version_refused->('after the job failed');
	like(
		$node->safe_psql($db,
			q{SELECT last_error FROM mig.jobs WHERE schema = 'public' AND kind = 'backfill'}),
		qr/^backfill of public\.acct cannot be finished: migration "02_mid" was restored from a dump taken while the backfill was unfinished \(.*roll the migration back with mig\.rollback\('public'\) and start it again\.\)$/,
		"$label: the background job fails with that reason in last_error");
	is($node->safe_psql($db,
			q{SELECT "table" FROM mig.jobs WHERE schema = 'public' AND kind = 'backfill'}),
		'public.acct', "$label: mig.jobs names the table the job was for");

	($ret, $out, $err) = $node->psql($db, q{SELECT mig.complete('public')});
	like($err,
		qr/cannot complete migration "02_mid": it was restored from a dump taken while its backfill of public\.acct was unfinished/,
		"$label: complete refuses");
	is($node->safe_psql($db, q{SELECT count(*) FROM acct WHERE _mig_new_note IS NOT NULL}),
		'0', "$label: nothing was backfilled from the foreign snapshot");

	# rollback, by names
	is($node->safe_psql($db, q{SELECT mig.rollback('public')}),
		'public', "$label: rollback succeeds");
	is($node->safe_psql($db, $acct_shape_sql), $acct_shape,
		"$label: acct has exactly its columns, constraints and indexes of before the migration");
	is( $node->safe_psql(
			$db, q{
		SELECT count(*) FROM pg_catalog.pg_attribute
		WHERE attrelid = 'acct'::regclass AND attname LIKE '%mig%'
		UNION ALL SELECT count(*) FROM pg_catalog.pg_constraint WHERE conrelid = 'acct'::regclass AND contype = 'c'
		UNION ALL SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgrelid = 'acct'::regclass
		UNION ALL SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = 'public_02_mid'
		UNION ALL SELECT count(*) FROM mig.job_queue WHERE schema = 'public'
		UNION ALL SELECT count(*) FROM mig.steps WHERE schema = 'public'
		UNION ALL SELECT count(*) FROM mig.dual_writes WHERE schema = 'public'}),
		"0\n0\n0\n0\n0\n0\n0",
		"$label: no shadow column, check, trigger, version schema or state is left");
	is($node->safe_psql($db, $acct_rows_sql), $acct_rows,
		"$label: acct has the same rows and values");
	$after_rollback->() if $after_rollback;

	# and can be migrated again
	$node->safe_psql($db, q{INSERT INTO acct VALUES (3001, 30010, 'owner 3001')});
	$node->safe_psql($db, qq{SELECT mig.start('02_mid', \$d\$$mid_doc\$d\$)});
	$node->safe_psql($db, q{CALL mig.wait('public')});
	$node->safe_psql($db, q{SELECT mig.complete('public')});
	is( $node->safe_psql(
			$db, q{SELECT count(*) FILTER (WHERE note = 'n' || id) || '/' || count(*) FROM acct}),
		'3001/3001', "$label: the migration started again completes with every row right");

	# shop's backfill was done at the dump: complete works
	is($node->safe_psql($db, q{SELECT mig.complete('shop')}),
		'shop_02_price', "$label: a migration restored after its backfill completes");
	is( $node->safe_psql(
			$db, q{
		SELECT count(*) FILTER (WHERE price = (id % 97)::bigint * 100 AND label = 'L' || id)
			|| '/' || count(*) FROM shop.items}),
		'2000/2000', "$label: every row of shop.items has its new values");
	is( $node->safe_psql(
			$db, q{
		SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
		FROM pg_catalog.pg_attribute
		WHERE attrelid = 'shop.items'::regclass AND attnum > 0 AND NOT attisdropped}),
		'id integer, price bigint, label text',
		"$label: shop.items has the new version's columns");
	is($node->safe_psql($db, q{SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgrelid = 'shop.items'::regclass}),
		'0', "$label: shop.items has no dual-write trigger left");
	$node->safe_psql($db, q{INSERT INTO shop.items VALUES (2001, 5, 'L2001')});
}

#
# Custom format into a fresh cluster, whose first tables take the recorded OIDs.
#
my $dst = PostgreSQL::Test::Cluster->new('dump_dst');
$dst->init;
$dst->append_conf('postgresql.conf', "shared_preload_libraries = 'migrate_ext'");
$dst->start;
$dst->safe_psql('postgres', 'CREATE DATABASE app');

# Use up OIDs until the next is the one wanted, then create a table of
# eight columns there, with rows.
my $victim_rows_sql = q{SELECT count(*) || ':' || md5(string_agg(t::text, ';' ORDER BY t.c1)) FROM %s t};
sub victim
{
	my ($name, $oid) = @_;
	$dst->safe_psql(
		'app', qq{
		DO \$\$
		DECLARE
			o oid;
		BEGIN
			LOOP
				o := lo_create(0);
				PERFORM lo_unlink(o);
				EXIT WHEN o >= $oid - 1;
			END LOOP;
		END
		\$\$;
		CREATE TABLE $name (c1 integer, c2 integer, c3 integer, c4 integer,
			c5 integer, c6 integer, c7 integer, c8 integer);
		INSERT INTO $name SELECT g, g + 1, g + 2, g + 3, g + 4, g + 5, g + 6, g + 7
		FROM generate_series(1, 100) g;
	});
	return $dst->safe_psql('app', "SELECT '$name'::regclass::oid");
}
my $ledger_oid = victim('ledger', $acct_relid);
my $audit_oid = victim('audit', $items_relid);
my $ledger_rows = $dst->safe_psql('app', sprintf($victim_rows_sql, 'ledger'));
my $audit_rows = $dst->safe_psql('app', sprintf($victim_rows_sql, 'audit'));

$dst->command_ok([ 'pg_restore', '-d', $dst->connstr('app'), "$dir/app.dump" ],
	'pg_restore of the custom-format dump into a fresh cluster');
is($ledger_oid, $acct_relid,
	'an unrelated table has the OID the restored state records for acct');
is($audit_oid, $items_relid,
	'another has the OID it records for shop.items');
is($dst->safe_psql('app', q{SELECT relid FROM mig.dual_writes WHERE schema = 'public'}),
	$ledger_oid, 'the restored state still records that OID');
isnt($dst->safe_psql('app', q{SELECT 'acct'::regclass::oid}), $acct_relid,
	'acct has another OID after the restore');

my $victims_intact = sub {
	is($dst->safe_psql('app', sprintf($victim_rows_sql, 'ledger')), $ledger_rows,
		'the table with acct\'s old OID keeps all its columns and rows');
	is($dst->safe_psql('app', sprintf($victim_rows_sql, 'audit')), $audit_rows,
		'the table with shop.items\'s old OID keeps all its columns and rows');
};
check_restored($dst, 'app', 'custom format, fresh cluster', $victims_intact);
# and after shop's complete
$victims_intact->();

#
# Plain format through psql into another database of the same cluster.
#
$src->safe_psql('postgres', 'CREATE DATABASE app_copy');
$src->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $src->connstr('app_copy'), '-f', "$dir/app.sql" ],
	'the plain-format dump restores through psql into another database of the cluster');
check_restored($src, 'app_copy', 'plain format, same cluster');

# the source database's migrations are untouched and still go on
$src->safe_psql('app', q{SELECT mig.resume('public')});
$src->safe_psql('app', q{CALL mig.wait('public')});
is($src->safe_psql('app', q{SELECT mig.complete('public')}),
	'public_02_mid', 'in the source database, the paused migration still completes');
is($src->safe_psql('app', q{SELECT count(*) FILTER (WHERE note = 'n' || id) || '/' || count(*) FROM acct}),
	'3000/3000', 'with every row right');

#
# The same database, its schemas dropped and the dump restored into it: the
# state's origin is this database's, but every table has a new OID.
#
$src->safe_psql(
	'app', q{
	DROP EXTENSION migrate_ext CASCADE;
	DO $$
	DECLARE
		s name;
	BEGIN
		FOR s IN SELECT nspname FROM pg_catalog.pg_namespace
				 WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'
		LOOP
			EXECUTE format('DROP SCHEMA %I CASCADE', s);
		END LOOP;
	END
	$$;
	CREATE SCHEMA public;
});
$src->command_ok([ 'pg_restore', '-d', $src->connstr('app'), "$dir/app.dump" ],
	'pg_restore of the custom-format dump into the database it was taken from, emptied');
isnt($src->safe_psql('app', q{SELECT 'acct'::regclass::oid}), $acct_relid,
	'acct has another OID after the restore');
check_restored($src, 'app', 'same database');

foreach my $node ($src, $dst)
{
	unlike(slurp_file($node->logfile), qr/terminated by signal|was terminated by exception/,
		$node->name . ': no server process crashed');
}

$src->stop;
$dst->stop;
done_testing();
