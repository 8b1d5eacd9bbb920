# Copyright (c) migrate_ext contributors
#
# When constraints added by a migration are validated (issue 17, item 9).
# A foreign key and a CHECK added to existing columns are NOT VALID from
# start (every write, through either version, is checked against them) and
# validated by a background job once the table's backfill is done.  What a
# user relies on:
#  - a validation never runs before its migration's backfills are done,
#    even when a backfill failed: the backfill writes rows without firing
#    foreign key triggers, so a foreign key validated before it ended would
#    be marked valid over rows nobody checked (this happened: a failed
#    backfill let the validations run, and after resume and complete the
#    table had a valid foreign key and a row referencing nothing);
#  - a row that violates the new foreign key makes its validation fail,
#    naming the constraint, and complete refuse; fixed, resume, complete;
#  - after complete, no row breaks a constraint marked valid.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('validate');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'migrate_ext'
migrate_ext.backfill_batch_size = 100
migrate_ext.retry_delay = 10
});
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION migrate_ext;
	CREATE TABLE owners (id integer PRIMARY KEY);
	INSERT INTO owners VALUES (1), (2);
	CREATE TABLE items (id integer PRIMARY KEY, price integer, owner integer);
	INSERT INTO items SELECT g, g, 1 FROM generate_series(1, 1000) g;
	UPDATE items SET price = 0 WHERE id = 5;    -- breaks the check: the backfill fails
	UPDATE items SET owner = 9 WHERE id = 700;  -- breaks the foreign key
});
$node->safe_psql('postgres',
	q{SELECT mig.start('02_c', '{"operations": [
	{"create_constraint": {"type": "check", "table": "items", "name": "price_positive",
	 "columns": ["price"], "check": "price > 0", "up": {"price": "price"}, "down": {"price": "price"}}},
	{"create_constraint": {"type": "foreign_key", "table": "items", "name": "items_owner_fk",
	 "columns": ["owner"], "references": {"table": "owners", "columns": ["id"]},
	 "up": {"owner": "owner"}, "down": {"owner": "owner"}}}]}')});

my $constraints = q{SELECT string_agg(conname || ':' || convalidated, ',' ORDER BY conname)
	FROM pg_constraint WHERE conrelid = 'items'::regclass AND contype IN ('c', 'f')};
is($node->safe_psql('postgres', $constraints),
	'items_owner_fk:false,price_positive:false', 'start adds both constraints NOT VALID');

# writes are checked from start, through either version
my ($ret, $out, $err) = $node->psql('postgres',
	q{INSERT INTO items (id, price, owner) VALUES (2001, 5, 9)});
like($err, qr/violates foreign key constraint "items_owner_fk"/,
	'an old-version write whose up() breaks the new foreign key is refused from start');
($ret, $out, $err) = $node->psql('postgres',
	q{INSERT INTO public_02_c.items (id, price, owner) VALUES (2002, -1, 1)});
like($err, qr/violates check constraint "price_positive"/,
	'a new-version write that breaks the check is refused from start');

my ($rc, $stdout, $stderr) = $node->psql('postgres', 'CALL mig.wait()');
like($stderr, qr/a background job of migration "02_c" failed/, 'the backfill fails on the row that breaks the check');
is( $node->safe_psql(
		'postgres', q{SELECT string_agg(kind || ':' || coalesce(object, '') || ':' || state, ',' ORDER BY seq) FROM mig.jobs}),
	'validate:price_positive:pending,validate:items_owner_fk:pending,backfill::failed',
	'the validations wait while the backfill has failed');
is($node->safe_psql('postgres', $constraints),
	'items_owner_fk:false,price_positive:false', 'so neither constraint is valid yet');

# fix the check's row; the foreign key's row is still there
$node->safe_psql('postgres', q{UPDATE items SET price = 1 WHERE id = 5});
$node->safe_psql('postgres', q{SELECT mig.resume()});
($rc, $stdout, $stderr) = $node->psql('postgres', 'CALL mig.wait()');
like($stderr, qr/items_owner_fk/, 'the foreign key\'s validation fails, naming it');
is( $node->safe_psql(
		'postgres', q{SELECT string_agg(kind || ':' || coalesce(object, '') || ':' || state, ',' ORDER BY seq) FROM mig.jobs}),
	'validate:price_positive:done,validate:items_owner_fk:failed,backfill::done',
	'the backfill is done, the check validated, the foreign key not');
($rc, $stdout, $stderr) = $node->psql('postgres', 'SELECT mig.complete()');
like($stderr, qr/cannot complete migration "02_c"/, 'complete refuses');

# fix the row, resume, complete
$node->safe_psql('postgres', q{UPDATE items SET owner = 2 WHERE id = 700});
$node->safe_psql('postgres', q{SELECT mig.resume()});
$node->safe_psql('postgres', q{CALL mig.wait()});
$node->safe_psql('postgres', q{SELECT mig.complete()});
is($node->safe_psql('postgres', $constraints),
	'items_owner_fk:true,price_positive:true', 'after complete both constraints are valid');
is( $node->safe_psql(
		'postgres', q{SELECT count(*) FROM items i LEFT JOIN owners o ON o.id = i.owner
		WHERE o.id IS NULL AND i.owner IS NOT NULL}),
	'0', 'no row references a missing owner');
is($node->safe_psql('postgres', q{SELECT count(*) FROM items WHERE NOT price > 0}),
	'0', 'no row breaks the check');

done_testing();
