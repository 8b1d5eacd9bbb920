# Copyright (c) migrate_ext contributors
#
# ALTER EXTENSION migrate_ext UPDATE (issue 17, items 1 and 2).  What a user
# relies on:
#  - every earlier release's version can be installed and updated to the
#    current one (sql/migrate_ext--A--B.sql), and the result has exactly the
#    objects a fresh CREATE EXTENSION makes (compared object by object:
#    functions' definitions, tables' columns, constraints, indexes and
#    triggers, views, types, event triggers, privileges, config tables);
#  - an update in the middle of a migration, while its backfill runs, works:
#    the backfill finishes, every row right, and complete succeeds;
#  - pg_dump of a database with the extension prints no warning (it printed
#    "circular foreign-key constraints" on mig.migrations before 0.2.0).

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('update');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'migrate_ext'
migrate_ext.backfill_batch_size = 500
migrate_ext.backfill_delay = 20
});
$node->start;

my $default = $node->safe_psql('postgres',
	q{SELECT default_version FROM pg_available_extensions WHERE name = 'migrate_ext'});
my @versions = split /\n/, $node->safe_psql('postgres',
	q{SELECT version FROM pg_available_extension_versions
	  WHERE name = 'migrate_ext' ORDER BY string_to_array(version, '.')::int[]});
cmp_ok(scalar(@versions), '>=', 2, 'more than one version is installable');
is($versions[-1], $default, 'the default version is the newest');

# What a database has of the extension, one line per member object.
my $catalog = q{
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'migrate_ext'),
members AS (
	SELECT classid, objid, objsubid FROM pg_depend, ext
	WHERE refclassid = 'pg_extension'::regclass AND refobjid = ext.oid AND deptype = 'e'
)
SELECT line FROM (
	SELECT pg_describe_object(m.classid, m.objid, m.objsubid) || ': ' ||
		coalesce(CASE m.classid
			WHEN 'pg_proc'::regclass THEN
				(SELECT CASE WHEN p.prokind IN ('f', 'p', 'w')
					THEN pg_get_functiondef(p.oid) ELSE p.prokind::text END
					|| ' acl=' || coalesce(p.proacl::text, '') || ' owner-is-super=' ||
					(SELECT rolsuper::text FROM pg_roles WHERE oid = p.proowner)
				 FROM pg_proc p WHERE p.oid = m.objid)
			WHEN 'pg_class'::regclass THEN
				(SELECT c.relkind::text || ' acl=' || coalesce(c.relacl::text, '') ||
					' cols=' || coalesce((SELECT string_agg(a.attname || ' ' ||
						format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull ||
						' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), ''), ', ' ORDER BY a.attnum)
						FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
						WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') ||
					' cons=' || coalesce((SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), ', ' ORDER BY conname)
						FROM pg_constraint WHERE conrelid = c.oid AND contype <> 'n'), '') ||
					' idx=' || coalesce((SELECT string_agg(pg_get_indexdef(indexrelid), ', ' ORDER BY 1)
						FROM pg_index WHERE indrelid = c.oid), '') ||
					' trg=' || coalesce((SELECT string_agg(pg_get_triggerdef(t.oid), ', ' ORDER BY 1)
						FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal), '') ||
					' view=' || coalesce(CASE WHEN c.relkind = 'v' THEN pg_get_viewdef(c.oid) END, '')
				 FROM pg_class c WHERE c.oid = m.objid)
			WHEN 'pg_event_trigger'::regclass THEN
				(SELECT e.evtevent::text || ' ' || coalesce(e.evttags::text, '') || ' ' ||
					e.evtfoid::regprocedure::text || ' ' || e.evtenabled::text
				 FROM pg_event_trigger e WHERE e.oid = m.objid)
			WHEN 'pg_type'::regclass THEN
				(SELECT t.typtype::text || ' ' || coalesce((SELECT string_agg(a.attname || ' ' ||
					format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
					FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0), '')
				 FROM pg_type t WHERE t.oid = m.objid)
		END, '') AS line
	FROM members m
	UNION ALL
	SELECT 'config: ' || coalesce((SELECT string_agg(c::regclass::text, ', ' ORDER BY c::regclass::text)
		FROM pg_extension e, unnest(e.extconfig) c WHERE e.extname = 'migrate_ext'), '')
	UNION ALL
	SELECT 'schema acl: ' || coalesce(nspacl::text, '') FROM pg_namespace WHERE nspname = 'mig'
) s ORDER BY line};

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION migrate_ext');
my $fresh = $node->safe_psql('fresh', $catalog);
like($fresh, qr/function mig\.start/, 'the catalog listing sees the extension\'s functions');

# every earlier version, updated to the default, has the same catalog
foreach my $v (@versions[ 0 .. $#versions - 1 ])
{
	my $db = "from_$v";
	$db =~ s/\./_/g;
	$node->safe_psql('postgres', qq{CREATE DATABASE $db});
	$node->safe_psql($db, qq{CREATE EXTENSION migrate_ext VERSION '$v'});
	$node->safe_psql($db, q{ALTER EXTENSION migrate_ext UPDATE});
	is($node->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'migrate_ext'}),
		$default, "$v updates to $default");
	my $updated = $node->safe_psql($db, $catalog);
	is($updated, $fresh, "$v updated to $default has the same objects as a fresh install");
	if ($updated ne $fresh)
	{
		my %f = map { $_ => 1 } split /\n/, $fresh;
		my %u = map { $_ => 1 } split /\n/, $updated;
		diag "only in fresh: $_" foreach grep { !$u{$_} } sort keys %f;
		diag "only in updated: $_" foreach grep { !$f{$_} } sort keys %u;
	}
}

# an update in the middle of a migration, the backfill running
my $first = $versions[0];
$node->safe_psql('postgres', qq{CREATE EXTENSION migrate_ext VERSION '$first'});
$node->safe_psql(
	'postgres', q{
	CREATE TABLE items (id integer PRIMARY KEY, val integer);
	INSERT INTO items SELECT g, g FROM generate_series(1, 30000) g;
	ANALYZE items;
	SELECT mig.start('02_big', '{"operations": [{"alter_column": {"table": "items", "column": "val", "type": "bigint", "up": "val * 2", "down": "val / 2"}}, {"add_column": {"table": "items", "up": "id + 1", "column": {"name": "nxt", "type": "integer", "nullable": false}}}]}');
});
ok( $node->poll_query_until(
		'postgres', q{SELECT next_block > 10 FROM mig.job_queue WHERE kind = 'backfill'}),
	"the backfill is part-way under $first");
$node->safe_psql('postgres', q{ALTER EXTENSION migrate_ext UPDATE});
is($node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'migrate_ext'}),
	$default, "updated to $default mid-migration");
$node->safe_psql('postgres', q{UPDATE items SET val = -1 WHERE id = 1});
$node->safe_psql('postgres', q{CALL mig.wait()});
is( $node->safe_psql(
		'postgres', q{SELECT string_agg(kind || ':' || state, ',' ORDER BY kind) FROM mig.job_queue}),
	$node->safe_psql(
		'postgres', q{SELECT string_agg(kind || ':done', ',' ORDER BY kind) FROM mig.job_queue}),
	'every job finished after the update');
is( $node->safe_psql(
		'postgres', q{SELECT count(*) FROM items i JOIN public_02_big.items n USING (id)
		WHERE n.val IS DISTINCT FROM i.val * 2 OR n.nxt IS DISTINCT FROM i.id + 1}),
	'0', 'every row has up(old)');
$node->safe_psql('postgres', q{SELECT mig.complete()});
is($node->safe_psql('postgres', q{SELECT count(*) FROM items WHERE val <> id * 2 AND id <> 1}),
	'0', 'complete after the update: the table has the new values');
is( $node->safe_psql(
		'postgres', q{SELECT string_agg(name || ':' || status, ',' ORDER BY created_at) FROM mig.migrations}),
	'02_big:complete', 'the history has the migration, complete');

# pg_dump prints no warning (the history's foreign key to itself made it
# warn of circular foreign keys)
my ($out, $err) = ('', '');
IPC::Run::run([ $node->installed_command('pg_dump'), '-d', $node->connstr('postgres'), '-f', '/dev/null' ],
	'2>', \$err);
is($?, 0, 'pg_dump succeeds');
is($err, '', 'pg_dump prints no warning');

done_testing();
