
# Copyright (c) migrate_ext contributors
#
# DROP EXTENSION migrate_ext CASCADE rolls the migration in progress back,
# which drops its version schema.  The user asked for CASCADE, and
# PostgreSQL's own cascade would take views over the version's views (they
# use the extension's readiness guard), so the user's objects over the
# version schema do go, but each is named in a NOTICE first: nothing is
# dropped without a word.  Without CASCADE nothing is dropped at all.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('drop_extension_dependents');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'migrate_ext'
autovacuum = off
});
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION migrate_ext;
	CREATE SCHEMA app;
	CREATE SCHEMA rpt;
	CREATE TABLE app.items (id integer PRIMARY KEY, v integer);
	INSERT INTO app.items SELECT g, g FROM generate_series(1, 10) g;
	SELECT mig.start('02_rename', '{"operations": [
		{"rename_column": {"table": "items", "from": "v", "to": "w"}}]}', 'app');
	CREATE VIEW rpt.rep_new AS SELECT id, w FROM app_02_rename.items;
	CREATE FUNCTION rpt.f_new() RETURNS SETOF app_02_rename.items LANGUAGE sql
		AS 'SELECT * FROM app_02_rename.items';
});

my ($ret, $out, $err) =
  $node->psql('postgres', 'DROP EXTENSION migrate_ext');
isnt($ret, 0, 'DROP EXTENSION without CASCADE fails while a migration is in progress');
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_class WHERE relnamespace = 'rpt'::regnamespace}),
	'1',
	'... and the user\'s view is still there');

($ret, $out, $err) = $node->psql('postgres',
	'SET client_min_messages = notice; DROP EXTENSION migrate_ext CASCADE');
is($ret, 0, 'DROP EXTENSION ... CASCADE works');
like(
	$err,
	qr/NOTICE:  dropping version schema "app_02_rename" of migration "02_rename" also drops objects that depend on it\nDETAIL:  Objects that depend on it: function rpt.f_new\(\), view rpt.rep_new\./,
	'... naming in a NOTICE the user\'s objects that go with the version schema');
is( $node->safe_psql(
		'postgres', q{
	SELECT concat_ws(' / ',
		(SELECT count(*) FROM pg_namespace WHERE nspname = 'app_02_rename'),
		(SELECT count(*) FROM pg_class WHERE relnamespace = 'rpt'::regnamespace),
		(SELECT count(*) FROM pg_proc WHERE pronamespace = 'rpt'::regnamespace),
		(SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
		 WHERE attrelid = 'app.items'::regclass AND attnum > 0 AND NOT attisdropped))}),
	'0 / 0 / 0 / id,v',
	'... the migration is rolled back and the dependents are gone');

$node->stop;
done_testing();
