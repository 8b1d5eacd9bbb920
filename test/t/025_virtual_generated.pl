# Copyright (c) migrate_ext contributors
#
# Virtual generated columns (PostgreSQL 18, where GENERATED ALWAYS AS (...)
# without STORED makes one).  A virtual column has no value in the row the
# dual-write trigger sees: an up or down expression that reads one would be
# computed from NULL by every write.  What a user relies on:
#
#  (a) an up expression that reads a virtual generated column is refused at
#      start with 0A000, saying why, and nothing changes;
#  (b) a migration of such a table whose expressions do not read it works:
#      backfill, writes through both versions, complete; the virtual column
#      is computed as before in every version.
#
# Before PostgreSQL 18 there are no virtual generated columns: skipped
# (pgTAP 29 covers stored ones everywhere).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('virtual_generated');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'migrate_ext'");
$node->start;

if ($node->safe_psql('postgres', 'SHOW server_version_num') < 180000)
{
	plan skip_all => 'virtual generated columns exist from PostgreSQL 18 on';
}

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION migrate_ext;
	CREATE TABLE items (id integer PRIMARY KEY, v integer,
		g integer GENERATED ALWAYS AS (v * 2));
	INSERT INTO items (id, v) SELECT g, g FROM generate_series(1, 5000) g;
});
is($node->safe_psql('postgres',
		q{SELECT attgenerated FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'g'}),
	'v', 'g is a virtual generated column');

# (a)
my ($ret, $out, $err) = $node->psql('postgres',
	q{SELECT mig.start('01_w', '{"operations": [{"add_column": {"table": "items",
		"column": {"name": "w", "type": "integer", "nullable": true}, "up": "g + 1"}}]}')},
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($ret, 0, 'an up expression reading a virtual generated column is refused');
like($err, qr/0A000/, 'with 0A000');
like($err, qr/reads generated column "g" of table "items"/, 'naming the column');
like($err, qr/virtual generated column/, 'and saying why');
is($node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM mig.migrations)
		+ (SELECT count(*) FROM pg_attribute WHERE attrelid = 'items'::regclass
		   AND attnum > 0 AND NOT attisdropped AND attname NOT IN ('id', 'v', 'g'))
		+ (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'items'::regclass)}),
	'0', 'and nothing changed');

# (b)
$node->safe_psql('postgres', q{
	SELECT mig.start('01_w', '{"operations": [{"add_column": {"table": "items",
		"column": {"name": "w", "type": "integer", "nullable": true}, "up": "v * 2 + 1"}}]}');
	CALL mig.wait();
});
# through the new version: w is written as given (row 1 keeps the w the
# backfill gave it, up(1) = 3); through the base table: w = up(new row)
$node->safe_psql('postgres', q{
	SET search_path = public_01_w;
	INSERT INTO items (id, v, w) VALUES (6001, 10, 99);
	UPDATE items SET v = 7 WHERE id = 1;
});
$node->safe_psql('postgres', q{INSERT INTO items (id, v) VALUES (6002, 20)});
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM public_01_w.items
	WHERE g IS DISTINCT FROM v * 2
	   OR w IS DISTINCT FROM CASE WHEN id = 6001 THEN 99 WHEN id = 1 THEN 3 ELSE v * 2 + 1 END}),
	'0', 'the new version has w = up(old) and g computed in every row');
is($node->safe_psql('postgres', q{SELECT mig.complete()}), 'public_01_w', 'complete');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM items WHERE g IS DISTINCT FROM v * 2 OR w IS NULL}),
	'0', 'after complete g is still computed and w is filled');
is($node->safe_psql('postgres',
		q{SELECT attgenerated FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'g'}),
	'v', 'and g is still virtual');

done_testing();
