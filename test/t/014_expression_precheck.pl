
# Copyright (c) migrate_ext contributors
#
# Up and down expressions, the checks and defaults of the operations, and the
# types they name are checked before start takes any strong lock (issue 14,
# item 9).  An application transaction holds ROW EXCLUSIVE on the
# table (it has updated a row and not committed), which conflicts with the
# ACCESS EXCLUSIVE lock start's ALTER TABLE needs:
#
#  (a) a start whose up or down expression is wrong fails at once with the
#      expression's error (not 55P03 after its lock retries), and never
#      queued an ACCESS EXCLUSIVE request: with log_lock_waits and a 10 ms
#      deadlock_timeout, every lock wait longer than 10 ms is logged, and
#      the log shows none for its process;
#  (b) the check knows what earlier operations of the same migration do
#      (renames, added and dropped columns, new types, and that a subquery
#      may read a table they create): a correct migration
#      passes it and then waits for the lock like any other (55P03 after
#      its retries, its ACCESS EXCLUSIVE wait logged: the control that shows
#      the lock really conflicts), and starts once the application commits.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('expression_precheck');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'migrate_ext'
autovacuum = off
log_lock_waits = on
deadlock_timeout = '10ms'
});
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION migrate_ext;
	CREATE SCHEMA app;
	-- name is NOT NULL, so that "nullable": true below changes something
	-- (a nullable that changes nothing is refused, as pgroll refuses it)
	CREATE TABLE app.items (id integer PRIMARY KEY, price integer, name text NOT NULL);
	INSERT INTO app.items SELECT g, g * 10, 'item ' || g FROM generate_series(1, 100) g;
});

# the application: a write transaction left open
my $app = $node->background_psql('postgres');
$app->query_safe('BEGIN');
$app->query_safe(q{UPDATE app.items SET name = 'changed' WHERE id = 1});
is( $app->query_safe(
		q{SELECT mode FROM pg_locks WHERE relation = 'app.items'::regclass
		   AND pid = pg_backend_pid() AND granted}),
	'RowExclusiveLock',
	'the application holds ROW EXCLUSIVE on the table');

# Run mig.start with a long lock budget (4 attempts of 300 ms, plus
# backoff); returns (stderr, pid of the session, log since before).
sub start_under_lock
{
	my ($doc) = @_;
	my $offset = -s $node->logfile;
	my ($ret, $stdout, $stderr) = $node->psql(
		'postgres', qq{
		\\set VERBOSITY verbose
		SET migrate_ext.lock_timeout = 300;
		SET migrate_ext.lock_retries = 3;
		SET migrate_ext.retry_delay = 100;
		SELECT pg_backend_pid();
		SELECT mig.start('02_change', '$doc', 'app');
	});
	my ($pid) = $stdout =~ /^(\d+)/;
	return ($ret, $stderr, $pid, slurp_file($node->logfile, $offset));
}

sub refused_at_once
{
	my ($what, $doc, $error) = @_;
	my ($ret, $stderr, $pid, $log) = start_under_lock($doc);
	isnt($ret, 0, "$what: start fails");
	like($stderr, $error, "$what: with the expression's error");
	unlike($stderr, qr/55P03/, "$what: not a lock timeout");
	unlike($log, qr/process $pid still waiting for AccessExclusiveLock/,
		"$what: it never waited for ACCESS EXCLUSIVE");
	unlike($log, qr/process $pid still waiting for/,
		"$what: it never waited for any lock");
}

refused_at_once(
	'(a) alter_column, up naming a missing column',
	'{"operations": [{"alter_column": {"table": "items", "column": "price",
		"type": "bigint", "up": "prize * 2", "down": "price::integer"}}]}',
	qr/ERROR:  42703: invalid up expression "prize \* 2" in operations\[0\] \(alter_column\) of migration "02_change": column "prize" does not exist/
);
refused_at_once(
	'(a) alter_column, down of a type that does not fit',
	'{"operations": [{"alter_column": {"table": "items", "column": "price",
		"type": "bigint", "up": "price", "down": "now()"}}]}',
	qr/ERROR:  42804: invalid down expression "now\(\)" in operations\[0\] \(alter_column\) of migration "02_change": expression "now\(\)" is of type timestamp with time zone but column "price" is of type integer/
);
refused_at_once(
	'(a) add_column, up with a syntax error',
	'{"operations": [{"add_column": {"table": "items", "up": "upper(name",
		"column": {"name": "shout", "type": "text", "nullable": true}}}]}',
	qr/ERROR:  42601: invalid up expression "upper\(name" in operations\[0\] \(add_column\)/
);
refused_at_once(
	'(a) alter_column, up with a subquery reading a missing table',
	'{"operations": [{"alter_column": {"table": "items", "column": "name",
		"up": "(SELECT max(n.name) FROM app.nothing n)", "down": "name", "nullable": true}}]}',
	qr/ERROR:  42P01: invalid up expression .* relation "app.nothing" does not exist/
);
refused_at_once(
	'(a) drop_column, down naming the dropped column',
	'{"operations": [{"drop_column": {"table": "items", "column": "name",
		"down": "upper(name)"}}]}',
	qr/ERROR:  42703: invalid down expression "upper\(name\)" in operations\[0\] \(drop_column\)/
);
refused_at_once(
	'(a) a later operation whose up names a column an earlier one renamed',
	'{"operations": [
		{"rename_column": {"table": "items", "from": "name", "to": "title"}},
		{"add_column": {"table": "items", "up": "upper(name)",
		 "column": {"name": "shout", "type": "text", "nullable": true}}}]}',
	qr/ERROR:  42703: invalid up expression "upper\(name\)" in operations\[1\] \(add_column\)/
);
refused_at_once(
	'(a) create_constraint, up map of a type that does not fit',
	'{"operations": [{"create_constraint": {"table": "items", "name": "items_price_check",
		"type": "check", "columns": ["price"], "check": "price > 0",
		"up": {"price": "name"}, "down": {"price": "price"}}}]}',
	qr/ERROR:  42804: invalid up expression "name" in operations\[0\] \(create_constraint\)/
);

refused_at_once(
	'(a) add_column, a default of a type that does not fit',
	'{"operations": [{"add_column": {"table": "items",
		"column": {"name": "added", "type": "integer", "nullable": true, "default": "now()"}}}]}',
	qr/ERROR:  42804: column "added" is of type integer but default expression is of type timestamp with time zone/
);
refused_at_once(
	'(a) alter_column, a check naming a missing column',
	'{"operations": [{"alter_column": {"table": "items", "column": "price",
		"check": {"name": "items_price_positive", "constraint": "prize > 0"},
		"up": "price", "down": "price"}}]}',
	qr/ERROR:  42703: column "prize" does not exist.*CONTEXT:  operations\[0\] \(alter_column\) of migration "02_change"/s
);
refused_at_once(
	'(a) create_constraint, a check comparing a column of a new type',
	'{"operations": [
		{"alter_column": {"table": "items", "column": "price", "type": "text",
		 "up": "price::text", "down": "price::integer"}},
		{"create_constraint": {"table": "items", "name": "items_price_check",
		 "type": "check", "columns": ["price"], "check": "price > 0",
		 "up": {"price": "price"}, "down": {"price": "price"}}}]}',
	qr/ERROR:  42883: operator does not exist: text > integer/
);

refused_at_once(
	'(a) add_column of a type that does not exist',
	'{"operations": [{"add_column": {"table": "items",
		"column": {"name": "added", "type": "no_such_type", "nullable": true}}}]}',
	qr/ERROR:  42704: type "no_such_type" does not exist.*CONTEXT:  operations\[0\] \(add_column\)/s
);
refused_at_once(
	'(a) alter_column to a type that does not exist',
	'{"operations": [{"alter_column": {"table": "items", "column": "price",
		"type": "no_such_type", "up": "price", "down": "price"}}]}',
	qr/ERROR:  42704: type "no_such_type" does not exist.*CONTEXT:  operations\[0\] \(alter_column\)/s
);

# (b) a correct migration whose expressions use what earlier operations made
my $good = '{"operations": [
	{"rename_column": {"table": "items", "from": "name", "to": "title"}},
	{"alter_column": {"table": "items", "column": "price", "type": "bigint",
	 "up": "price * 1", "down": "(price / 1)::integer"}},
	{"add_column": {"table": "items", "up": "upper(title) || price::text",
	 "column": {"name": "shout", "type": "text", "nullable": true, "default": "current_user",
	            "check": {"name": "items_shout_check", "constraint": "length(shout) < 100 + price"}}}},
	{"drop_column": {"table": "items", "column": "shout", "down": "lower(title) || (price + 1)"}},
	{"add_column": {"table": "items", "up": "(SELECT count(*) FROM app.items i WHERE i.price < items.price)",
	 "column": {"name": "rank", "type": "bigint", "nullable": true}}},
	{"add_column": {"table": "items", "column": {"name": "seq", "type": "bigserial"}}},
	{"create_table": {"name": "tags", "columns": [{"name": "id", "type": "integer", "pk": true}]}},
	{"alter_column": {"table": "items", "column": "title", "nullable": true,
	 "up": "(SELECT coalesce(max(t.id)::text, title) FROM app.tags t)",
	 "down": "title"}}]}';
my ($ret, $stderr, $pid, $log) = start_under_lock($good);
like($stderr, qr/ERROR:  55P03: could not lock table "items"/,
	'(b) a correct migration passes the check and waits for the lock');
like($log, qr/process $pid still waiting for AccessExclusiveLock/,
	'(b) ... its ACCESS EXCLUSIVE wait is logged (the lock really conflicts)');

$app->query_safe('COMMIT');
is($node->safe_psql('postgres', "SELECT mig.start('02_change', '$good', 'app')"),
	'app_02_change', '(b) ... and it starts once the application has committed');
$node->safe_psql('postgres', "CALL mig.wait('app')");
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM app_02_change.items
		   WHERE rank IS NULL OR price <> id * 10}),
	'0', '(b) ... and its expressions work');
$node->safe_psql('postgres', "SELECT mig.rollback('app')");

$app->quit;
$node->stop;
done_testing();
