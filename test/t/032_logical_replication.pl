# Copyright (c) migrate_ext contributors
#
# Migrations of published tables, with real logical replication subscribers
# (issue 17, item 4).  Logical replication carries rows, not DDL: without
# help a subscriber stops at the first backfilled row ("missing replicated
# column"), and after complete it takes the new values of an altered column
# into its old one.  What a user relies on:
#  - a migration of a table published without mig.replication_events is
#    refused at start (0A000, with the ALTER PUBLICATION to run), changing
#    nothing;
#  - with the events published and migrate_ext on the subscriber, the
#    subscriber's tables follow start, complete and rollback at the right
#    point of the stream: every row written on the publisher before, during
#    (through either version) and after the migration arrives with the same
#    values, the subscription never stops, and the subscriber's columns are
#    the publisher's (names and types), including fast defaults;
#  - a subscriber added later (its tables copied by the initial sync) does
#    not replay the events of the past;
#  - FOR ALL TABLES: the extension's own state is not copied into the
#    subscriber's, a table a migration creates is created on the subscriber
#    (REFRESH PUBLICATION then copies its rows), and an event changes only
#    the tables a subscription receives.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pub = PostgreSQL::Test::Cluster->new('publisher');
$pub->init(allows_streaming => 'logical');
$pub->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'migrate_ext'
migrate_ext.backfill_batch_size = 500
migrate_ext.backfill_delay = 20
});
$pub->start;

my $sub = PostgreSQL::Test::Cluster->new('subscriber');
$sub->init;
$sub->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'migrate_ext'
wal_retrieve_retry_interval = '200ms'
max_worker_processes = 24
max_logical_replication_workers = 12
});
$sub->start;

my $connstr = $pub->connstr . ' dbname=postgres';
my $rows = 20000;
my $table_sql = q{
	CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL,
						price text NOT NULL, note text);
};
$pub->safe_psql('postgres', "CREATE EXTENSION migrate_ext; $table_sql");
$pub->safe_psql(
	'postgres', qq{
	INSERT INTO items SELECT g, 'item ' || g, (g % 100)::text, 'n' || g
	  FROM generate_series(1, $rows) g;
	-- a column added by hand: the existing rows read its default
	ALTER TABLE items ADD COLUMN stock integer NOT NULL DEFAULT 3;
	CREATE PUBLICATION app_pub FOR TABLE items;
});
$sub->safe_psql('postgres', "CREATE EXTENSION migrate_ext; $table_sql");
$sub->safe_psql('postgres',
	'ALTER TABLE items ADD COLUMN stock integer NOT NULL DEFAULT 3');
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION app_sub CONNECTION '$connstr' PUBLICATION app_pub");

sub wait_sync
{
	my ($node, $db) = @_;
	$node->poll_query_until($db,
		q{SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')})
	  or die "the subscription's initial sync did not finish";
}

# every row as text, in the order of the columns, and the columns
sub table_text
{
	my ($node, $db, $table) = @_;
	return $node->safe_psql($db,
		"SELECT string_agg(t::text, E'\\n' ORDER BY id) FROM $table t");
}

sub columns
{
	my ($node, $db, $table) = @_;
	return $node->safe_psql(
		$db, qq{
		SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
		  FROM pg_attribute WHERE attrelid = '$table'::regclass AND attnum > 0 AND NOT attisdropped});
}

# (pg_stat_subscription_stats shows the subscriptions of every database)
sub apply_errors
{
	my ($node, $db) = @_;
	return $node->safe_psql($db,
		q{SELECT coalesce(sum(apply_error_count), 0) FROM pg_stat_subscription_stats s
		  JOIN pg_subscription p ON p.oid = s.subid WHERE p.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())});
}

wait_sync($sub, 'postgres');
is(table_text($sub, 'postgres', 'items'), table_text($pub, 'postgres', 'items'),
	'the subscriber has the table');

# ---------------------------------------------------------------------------
# refused while the publication lacks the events
# ---------------------------------------------------------------------------
my $m1 = q{{"operations": [
	{"alter_column": {"table": "items", "column": "price", "type": "numeric(10,2)",
					  "up": "price::numeric", "down": "price::text"}},
	{"add_column": {"table": "items", "column":
		{"name": "qty", "type": "integer", "default": "7", "nullable": false}}},
	{"rename_column": {"table": "items", "from": "note", "to": "remark"}}]}};
my $before = columns($pub, 'postgres', 'items');
my ($rc, $out, $err) = $pub->psql('postgres',
	"SELECT mig.start('01_price', '$m1')",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($rc, 0, 'a migration of a table published without the events is refused');
like($err, qr/0A000: cannot start migration "01_price": table "public.items" is published by publication "app_pub", which does not publish mig.replication_events/,
	'the refusal says which table and publication (0A000)');
like($err, qr/HINT:  Run ALTER PUBLICATION app_pub ADD TABLE mig.replication_events/,
	'its hint gives the command to run');
is(columns($pub, 'postgres', 'items'), $before, 'the refused start changed no column');
is($pub->safe_psql('postgres',
	'SELECT (SELECT count(*) FROM mig.migrations) + (SELECT count(*) FROM mig.replication_events)'),
	'0', 'and recorded nothing');

$pub->safe_psql('postgres',
	'ALTER PUBLICATION app_pub ADD TABLE mig.replication_events');
$sub->safe_psql('postgres', 'ALTER SUBSCRIPTION app_sub REFRESH PUBLICATION');
wait_sync($sub, 'postgres');

# ---------------------------------------------------------------------------
# start, writes through both versions during the backfill, complete, writes
# ---------------------------------------------------------------------------
$pub->safe_psql('postgres', "SELECT mig.start('01_price', '$m1')");
ok( $pub->poll_query_until(
		'postgres', q{
		SELECT next_block > 10 FROM mig.job_queue WHERE kind = 'backfill'}),
	'the backfill is part-way');
$pub->safe_psql(
	'postgres', q{
	-- the old version
	UPDATE items SET price = '12.5', note = 'old write' WHERE id % 1000 = 0;
	INSERT INTO items (id, name, price, note) VALUES (100001, 'old', '1.25', 'o');
	DELETE FROM items WHERE id = 5;
	-- the new version
	SET search_path = public_01_price;
	INSERT INTO items (id, name, price, remark, qty) VALUES (100002, 'new', 3.5, 'r', 11);
	UPDATE items SET qty = 12, remark = 'new write' WHERE id = 100001;
});
$pub->safe_psql('postgres', 'CALL mig.wait()');
$pub->safe_psql('postgres', q{SELECT mig.complete()});
$pub->safe_psql(
	'postgres', q{
	UPDATE items SET price = price + 1, qty = qty + 1 WHERE id % 997 = 0;
	INSERT INTO items (id, name, price, remark, qty) VALUES (100003, 'after', 9.99, 'a', 1);
});
$pub->wait_for_catchup('app_sub');

is(columns($sub, 'postgres', 'items'), columns($pub, 'postgres', 'items'),
	"after complete the subscriber's columns are the publisher's");
my $cols = columns($sub, 'postgres', 'items');
ok($cols =~ /price numeric\(10,2\)/ && $cols =~ /remark text/ && $cols =~ /qty integer/
	  && $cols !~ /note|_mig_/,
	'the altered, renamed and added columns, no shadow column left');
is(table_text($sub, 'postgres', 'items'), table_text($pub, 'postgres', 'items'),
	'every row on the subscriber is the publisher\'s, before, during and after the migration');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM items WHERE stock = 3 AND qty = 7 AND id < 100'),
	'98', 'the rows before the migration have the fast default values (stock 3, qty 7)');
is(apply_errors($sub, 'postgres'), '0', 'the subscription never stopped');
is($sub->safe_psql('postgres',
	'SELECT string_agg(phase, \',\' ORDER BY id) FROM mig.replication_events WHERE applied_at IS NOT NULL'),
	'start,complete', 'the subscriber applied the start and complete events');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM mig.migrations'),
	'0', "the publisher's migration is not in the subscriber's history");

# ---------------------------------------------------------------------------
# rollback
# ---------------------------------------------------------------------------
$pub->safe_psql('postgres',
	q{SELECT mig.start('02_undone', '{"operations": [
	{"alter_column": {"table": "items", "column": "name", "type": "varchar(50)",
					  "up": "upper(name)", "down": "lower(name)"}},
	{"add_column": {"table": "items", "column": {"name": "tag", "type": "text", "default": "''t''"}}}]}')});
$pub->safe_psql('postgres', q{UPDATE items SET name = 'during rollback' WHERE id = 42});
$pub->safe_psql('postgres', 'CALL mig.wait()');
$pub->wait_for_catchup('app_sub');
like(columns($sub, 'postgres', 'items'), qr/_mig_new_name character varying\(50\)/,
	'during the migration the subscriber has the shadow columns');
$pub->safe_psql('postgres', q{SELECT mig.rollback()});
$pub->safe_psql('postgres', q{UPDATE items SET name = 'after rollback' WHERE id = 43});
$pub->wait_for_catchup('app_sub');
is(columns($sub, 'postgres', 'items'), columns($pub, 'postgres', 'items'),
	"after rollback the subscriber's columns are the publisher's");
is(table_text($sub, 'postgres', 'items'), table_text($pub, 'postgres', 'items'),
	'and its rows');
is(apply_errors($sub, 'postgres'), '0', 'the subscription never stopped');

# ---------------------------------------------------------------------------
# a subscriber added later, FOR ALL TABLES
# ---------------------------------------------------------------------------
$sub->safe_psql('postgres', 'CREATE DATABASE later');
$sub->safe_psql('later', 'CREATE EXTENSION migrate_ext');
# its tables as the publisher has them now, as pg_dump --schema-only gives them
my $schema = $pub->safe_psql('postgres',
	q{SELECT 'CREATE TABLE items (' || string_agg(quote_ident(attname) || ' ' ||
		format_type(atttypid, atttypmod), ', ' ORDER BY attnum) || ', PRIMARY KEY (id))'
	  FROM pg_attribute WHERE attrelid = 'items'::regclass AND attnum > 0 AND NOT attisdropped});
$sub->safe_psql('later', $schema);
$pub->safe_psql('postgres', 'CREATE PUBLICATION all_pub FOR ALL TABLES');
$sub->safe_psql('later',
	"CREATE SUBSCRIPTION all_sub CONNECTION '$connstr' PUBLICATION all_pub");
wait_sync($sub, 'later');
is(table_text($sub, 'later', 'items'), table_text($pub, 'postgres', 'items'),
	'the later subscriber has the rows');
is(columns($sub, 'later', 'items'), columns($pub, 'postgres', 'items'),
	'the past events, copied by the initial sync, changed none of its columns');
is($sub->safe_psql('later',
	'SELECT count(*) || \' \' || count(applied_at) FROM mig.replication_events'),
	'4 0', 'they are there, not applied');
is($sub->safe_psql('later',
	'SELECT (SELECT count(*) FROM mig.migrations) + (SELECT count(*) FROM mig.steps)
	      + (SELECT count(*) FROM mig.job_queue) + (SELECT count(*) FROM mig.dual_writes)'),
	'0', "the publisher's migration state is not copied into the subscriber's");

$pub->safe_psql('postgres',
	q{SELECT mig.start('03_orders', '{"operations": [
	{"create_table": {"name": "orders", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "item_id", "type": "integer"},
		{"name": "amount", "type": "numeric(12,2)"}]}},
	{"alter_column": {"table": "items", "column": "stock", "type": "bigint",
					  "up": "stock * 10", "down": "(stock / 10)::integer"}}]}')});
$pub->safe_psql('postgres', 'CALL mig.wait()');
$pub->safe_psql('postgres', q{SELECT mig.complete()});
$pub->safe_psql('postgres',
	q{INSERT INTO orders SELECT g, g, g * 1.5 FROM generate_series(1, 100) g});
$pub->wait_for_catchup('all_sub');
$pub->wait_for_catchup('app_sub');
is(columns($sub, 'later', 'orders'), columns($pub, 'postgres', 'orders'),
	'the table the migration created is created on the subscriber that receives it');
is($sub->safe_psql('postgres', q{SELECT to_regclass('orders') IS NULL}),
	't', 'not on the one whose publication does not carry it');
$sub->safe_psql('later', 'ALTER SUBSCRIPTION all_sub REFRESH PUBLICATION');
wait_sync($sub, 'later');
$pub->wait_for_catchup('all_sub');
is(table_text($sub, 'later', 'orders'), table_text($pub, 'postgres', 'orders'),
	'after REFRESH PUBLICATION its rows arrive');
# a primary key column altered: the subscriber's key goes with the old
# column and comes back on the new one
$pub->safe_psql('postgres',
	q{SELECT mig.start('04_order_ids', '{"operations": [
	{"alter_column": {"table": "orders", "column": "id", "type": "bigint",
					  "up": "id::bigint", "down": "id::integer"}}]}')});
$pub->safe_psql('postgres', 'CALL mig.wait()');
$pub->safe_psql('postgres', q{SELECT mig.complete()});
$pub->safe_psql('postgres', q{UPDATE orders SET amount = amount * 2 WHERE id % 10 = 0});
$pub->wait_for_catchup('all_sub');
is(columns($sub, 'later', 'orders'), columns($pub, 'postgres', 'orders'),
	"a primary key column altered: the subscriber's columns are the publisher's");
is($sub->safe_psql('later',
	q{SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'p'}),
	'PRIMARY KEY (id)', 'its primary key is on the new column');
is(table_text($sub, 'later', 'orders'), table_text($pub, 'postgres', 'orders'),
	'and updates by key after complete reach it');

# a subscriber without the extension cannot subscribe to the events; with
# it, it follows
$sub->safe_psql('postgres', 'CREATE DATABASE bare');
$sub->safe_psql('bare', $schema =~ s/stock integer/stock bigint/r);
$pub->safe_psql('postgres', 'CREATE PUBLICATION bare_pub FOR TABLE items, mig.replication_events');
($rc, $out, $err) = $sub->psql('bare',
	"CREATE SUBSCRIPTION bare_sub CONNECTION '$connstr' PUBLICATION bare_pub WITH (copy_data = false)");
like($err, qr/schema "mig" does not exist/,
	'a subscriber without the extension cannot subscribe to the events');
$sub->safe_psql('bare', 'CREATE EXTENSION migrate_ext');
$sub->safe_psql('bare',
	"CREATE SUBSCRIPTION bare_sub CONNECTION '$connstr' PUBLICATION bare_pub WITH (copy_data = false)");
$pub->wait_for_catchup('bare_sub');
$pub->safe_psql('postgres',
	q{SELECT mig.start('05_color', '{"operations": [
	{"add_column": {"table": "items", "column": {"name": "color", "type": "text", "default": "''red''"}}}]}')});
$pub->safe_psql('postgres', q{INSERT INTO items (id, name, price, remark, qty) VALUES (100004, 'bare', 1, 'b', 1)});
$pub->safe_psql('postgres', 'SELECT mig.complete()');
$pub->wait_for_catchup('bare_sub');
# (its table was made from an older layout: the same columns in another order)
is(join(', ', sort split /, /, columns($sub, 'bare', 'items')),
	join(', ', sort split /, /, columns($pub, 'postgres', 'items')),
	'with the extension it follows the migration');
is($sub->safe_psql('bare', q{SELECT color FROM items WHERE id = 100004}),
	'red', 'and receives the rows written under the new layout');
is(apply_errors($sub, 'bare'), '0', 'without stopping');

# a subscriber's own view on a column a migration drops: the subscription
# stops at the event, loses nothing, and goes on once the view is gone
$sub->safe_psql('bare', 'CREATE VIEW remarks AS SELECT id, remark FROM items');
$pub->safe_psql('postgres',
	q{SELECT mig.start('06_no_remark', '{"operations": [
	{"drop_column": {"table": "items", "column": "remark"}}]}')});
$pub->safe_psql('postgres', 'SELECT mig.complete()');
$pub->safe_psql('postgres', q{UPDATE items SET color = 'blue' WHERE id = 100004});
ok( $sub->poll_query_until('bare',
		q{SELECT apply_error_count > 0 FROM pg_stat_subscription_stats WHERE subname = 'bare_sub'}),
	"a subscriber's view on a dropped column stops the subscription at the event");
is($sub->safe_psql('bare', q{SELECT color FROM items WHERE id = 100004}),
	'red', 'nothing after the event is applied');
$sub->safe_psql('bare', 'DROP VIEW remarks');
$pub->wait_for_catchup('bare_sub');
is($sub->safe_psql('bare', q{SELECT color FROM items WHERE id = 100004}),
	'blue', 'once the view is gone the subscription goes on');
unlike(columns($sub, 'bare', 'items'), qr/remark/, 'and the column is dropped');

# a publication that does not publish updates would never carry the
# backfill: refused
$pub->safe_psql('postgres',
	q{CREATE PUBLICATION ins_pub FOR TABLE items, mig.replication_events WITH (publish = 'insert')});
($rc, $out, $err) = $pub->psql('postgres',
	q{SELECT mig.start('07_ins', '{"operations": [{"alter_column": {"table": "items", "column": "qty", "type": "bigint", "up": "qty", "down": "qty::integer"}}]}')});
like($err, qr/publication "ins_pub" publishes table "public.items" without its inserts or updates/,
	'a migration of a table published without its updates is refused');
$pub->safe_psql('postgres', 'DROP PUBLICATION ins_pub');

# a subscriber cannot migrate a table it receives
($rc, $out, $err) = $sub->psql('postgres',
	q{SELECT mig.start('local', '{"operations": [{"add_column": {"table": "items", "up": "1", "column": {"name": "x", "type": "integer"}}}]}')});
like($err, qr/cannot start migration "local": table "public.items" is received through subscription "app_sub"/,
	'a subscriber cannot start a migration of a table it receives');

# a second subscription of the same subscriber to another publication that
# carries the events: the events arrive twice, each changes its own tables
for my $db ('postgres', 'later')
{
	$sub->safe_psql($db, 'CREATE TABLE notes (id integer PRIMARY KEY, body text)');
}
$pub->safe_psql('postgres', q{
	CREATE TABLE notes (id integer PRIMARY KEY, body text);
	INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 500) g;
	CREATE PUBLICATION notes_pub FOR TABLE notes, mig.replication_events;
});
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION notes_sub CONNECTION '$connstr' PUBLICATION notes_pub");
wait_sync($sub, 'postgres');

# a domain with a CHECK: its default is written into every row by a rewrite
# (PostgreSQL cannot store it once), and the subscribers get it too
for my $db ('postgres', 'later', 'bare')
{
	$sub->safe_psql($db, 'CREATE DOMAIN posint AS integer CHECK (VALUE > 0)');
}
$pub->safe_psql('postgres', 'CREATE DOMAIN posint AS integer CHECK (VALUE > 0)');
$pub->safe_psql('postgres',
	q{SELECT mig.start('08_both', '{"operations": [
	{"add_column": {"table": "items", "column": {"name": "rank", "type": "posint", "default": "5"}}},
	{"alter_column": {"table": "notes", "column": "body", "type": "varchar(200)",
					  "up": "upper(body)", "down": "lower(body)"}}]}')});
$pub->safe_psql('postgres', 'CALL mig.wait()');
$pub->safe_psql('postgres', 'SELECT mig.complete()');
$pub->safe_psql('postgres', q{UPDATE notes SET body = 'after' WHERE id = 1});
$pub->wait_for_catchup('app_sub');
$pub->wait_for_catchup('notes_sub');
$pub->wait_for_catchup('all_sub');
$pub->wait_for_catchup('bare_sub');
is(columns($sub, 'postgres', 'notes'), columns($pub, 'postgres', 'notes'),
	'the second subscription changed its table');
is(table_text($sub, 'postgres', 'notes'), table_text($pub, 'postgres', 'notes'),
	'with every row');
is(apply_errors($sub, 'postgres'), '0', 'neither subscription stopped on the event they both received');
is($sub->safe_psql('postgres', q{SELECT count(*) FROM items WHERE rank = 5}),
	$pub->safe_psql('postgres', q{SELECT count(*) FROM items WHERE rank = 5}),
	'the rows before the migration have the domain default on the subscriber');
is($sub->safe_psql('bare', q{SELECT count(*) FROM items WHERE rank IS NULL}),
	'0', 'on every subscriber');

for my $db ('postgres', 'later')
{
	is(columns($sub, $db, 'items'), columns($pub, 'postgres', 'items'),
		"$db: the altered table's columns are the publisher's");
	is(table_text($sub, $db, 'items'), table_text($pub, 'postgres', 'items'),
		"$db: and its rows");
	is(apply_errors($sub, $db), '0', "$db: the subscription never stopped");
}

done_testing();
