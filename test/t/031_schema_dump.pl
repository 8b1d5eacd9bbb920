# Copyright (c) migrate_ext contributors
#
# A dump of the application's schema alone (pg_dump -n public), taken in the
# middle of a migration (issue 17, item 2).  It carries the migration's
# shadow columns, their NOT VALID checks and the dual-write trigger, but not
# the migration, which lives in the extension's own tables.  What a user
# relies on:
#  - restored into a database with the extension, the table refuses writes
#    (55000) with a hint that names mig.discard_restored('<table>'), rather
#    than taking writes that fill only one version's columns;
#  - restored into a database without it (only the trigger fails to
#    restore), writes the migration's NOT NULL checks cover fail rather than
#    leave the new columns empty; once the extension is installed, the same
#    function applies;
#  - mig.discard_restored takes the table back to the version the dump was
#    taken at: no internal column, constraint or trigger, every row and
#    value kept; the migration can then be started again and completed;
#  - it refuses (55000) while a migration of the schema is in progress.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('schemadump');
$node->init;
$node->append_conf('postgresql.conf', q{shared_preload_libraries = 'migrate_ext'});
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION migrate_ext;
	CREATE TABLE items (id integer PRIMARY KEY, price integer, name text);
	INSERT INTO items SELECT g, g, 'n' || g FROM generate_series(1, 500) g;
});
my $doc = q{{"operations": [
	{"alter_column": {"table": "items", "column": "price", "type": "bigint", "up": "price * 2", "down": "price / 2"}},
	{"alter_column": {"table": "items", "column": "name", "nullable": false, "up": "coalesce(name, ''?'')", "down": "name"}},
	{"add_column": {"table": "items", "up": "id + 1", "column": {"name": "nxt", "type": "integer", "nullable": true}}}]}};
$node->safe_psql('postgres', qq{SELECT mig.start('02_mid', '$doc')});
$node->safe_psql('postgres', q{CALL mig.wait()});

my $old_rows = q{SELECT md5(string_agg(id || ':' || price || ':' || name, ',' ORDER BY id)) FROM items};
my $expected = $node->safe_psql('postgres', $old_rows);

my $dumpfile = $node->basedir . '/public.sql';
IPC::Run::run([ $node->installed_command('pg_dump'), '-n', 'public', '-f', $dumpfile, '-d', $node->connstr('postgres') ])
  or die 'pg_dump failed';
my $dump = slurp_file($dumpfile);
like($dump, qr/_mig_new_price/, 'the schema dump carries the shadow columns');
unlike($dump, qr/CREATE SCHEMA public_02_mid/, 'and not the version schema');

# into a database with the extension
$node->safe_psql('postgres', 'CREATE DATABASE with_ext');
$node->safe_psql('with_ext', 'CREATE EXTENSION migrate_ext');
$node->psql('with_ext', 'DROP SCHEMA public CASCADE');
my ($ret, $out, $err) = $node->psql('with_ext', slurp_file($dumpfile));
my ($r2, $o2, $e2) = $node->psql('with_ext', q{INSERT INTO items (id, price, name) VALUES (1000, 5, 'x')},
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($e2, qr/55000/, 'with the extension, a write to the restored table is refused (55000)');
like($e2, qr/mig\.discard_restored\('public\.items'\)/, 'and the hint names mig.discard_restored for it');
my $said = $node->safe_psql('with_ext', q{SELECT mig.discard_restored('items')});
like($said, qr/^public\.items: removed trigger "~mig_dual_write", constraint _mig_notnull_name, column _mig_new_price, column _mig_new_name, column _mig_new_nxt$/,
	'discard_restored removes the trigger, the internal check and the shadow columns, and says so') or diag $said;
is( $node->safe_psql(
		'with_ext', q{SELECT count(*) FROM pg_attribute WHERE attrelid = 'items'::regclass
		AND attnum > 0 AND NOT attisdropped AND attname LIKE '\_mig\_%'}),
	'0', 'no internal column is left');
is( $node->safe_psql(
		'with_ext', q{SELECT count(*) FROM pg_constraint WHERE conrelid = 'items'::regclass AND conname LIKE '\_mig\_%'}),
	'0', 'no internal constraint is left');
is($node->safe_psql('with_ext', q{SELECT count(*) FROM pg_trigger WHERE tgrelid = 'items'::regclass AND NOT tgisinternal}),
	'0', 'no trigger is left');
is($node->safe_psql('with_ext', $old_rows), $expected, 'every row and value of the old version is kept');
($r2, $o2, $e2) = $node->psql('with_ext', q{INSERT INTO items (id, price, name) VALUES (1000, 5, 'x')});
is($r2, 0, 'the table takes writes again') or diag $e2;

# the migration starts again there and completes
($r2, $o2, $e2) = $node->psql('with_ext', qq{SELECT mig.start('02_mid', '$doc')});
is($r2, 0, 'the migration starts again on the restored table') or diag $e2;
$node->safe_psql('with_ext', q{CALL mig.wait()});
$node->safe_psql('with_ext', q{SELECT mig.complete()});
is($node->safe_psql('with_ext', q{SELECT count(*) FROM items WHERE price <> id * 2 AND id <> 1000 OR nxt <> id + 1}),
	'0', 'and completes, every row right');

# discard refuses while a migration of the schema is in progress
($r2, $o2, $e2) = $node->psql('postgres', q{SELECT mig.discard_restored('items')},
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($e2, qr/55000.*migration "02_mid" of schema "public" is in progress/,
	'discard_restored refuses on a table whose schema has a migration in progress');

# into a database without the extension
$node->safe_psql('postgres', 'CREATE DATABASE no_ext');
$node->psql('no_ext', 'DROP SCHEMA public CASCADE');
($ret, $out, $err) = $node->psql('no_ext', slurp_file($dumpfile));
like($err, qr/schema "mig" does not exist/, 'without the extension, only the trigger fails to restore');
($r2, $o2, $e2) = $node->psql('no_ext', q{INSERT INTO items (id, price, name) VALUES (1000, 5, 'x')});
like($e2, qr/violates check constraint "_mig_notnull_name"/,
	'a write the migration\'s NOT NULL covers fails there (no trigger fills the new column): nothing half-written');
$node->safe_psql('no_ext', 'CREATE EXTENSION migrate_ext');
$node->safe_psql('no_ext', q{SELECT mig.discard_restored('items')});
is( $node->safe_psql(
		'no_ext', q{SELECT count(*) FROM pg_attribute WHERE attrelid = 'items'::regclass
		AND attnum > 0 AND NOT attisdropped AND attname LIKE '\_mig\_%'}),
	'0', 'once the extension is installed, discard_restored removes the internal columns');
is($node->safe_psql('no_ext', q{SELECT count(*) FROM items}), '500', 'keeping every row');
($r2, $o2, $e2) = $node->psql('no_ext', q{INSERT INTO items (id, price, name) VALUES (1000, 5, 'x')});
is($r2, 0, 'and the table takes writes') or diag $e2;

done_testing();
