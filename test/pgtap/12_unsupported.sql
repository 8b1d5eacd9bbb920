-- Operations (and parts of operations) that need dual-write triggers or
-- background jobs are refused with SQLSTATE 0A000, and invalid documents
-- with 22023; either way nothing is left behind.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(23);

CREATE SCHEMA app;

SELECT lives_ok($$SELECT mig.start('01_init', $j${"operations": [
	{"create_table": {"name": "users", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "name", "type": "text",
		 "check": {"name": "users_name_check", "constraint": "length(name) > 0"}},
		{"name": "rating", "type": "text", "nullable": true}]}}]}$j$, 'app');
	SELECT mig.complete('app')$$, 'setup: create users');
CREATE INDEX users_name_idx ON app.users (name);
CREATE TABLE app.orders_ref (user_id integer REFERENCES app.users (id));
ALTER TABLE app.users ADD COLUMN serial_no integer GENERATED ALWAYS AS IDENTITY;
INSERT INTO app_01_init.users VALUES (1, 'a', '5');
CREATE TEMP TABLE before AS SELECT mig.read_schema('app') AS s;

-- start a one-operation migration; the operation is given as JSON text
CREATE FUNCTION pg_temp.start_op(op text) RETURNS text LANGUAGE sql AS $$
	SELECT mig.start('02_unsupported', ('{"operations": [' || op || ']}')::jsonb, 'app')
$$;

------------------------------------------------------------------------------
-- operations not supported yet
------------------------------------------------------------------------------
SELECT throws_like($$SELECT pg_temp.start_op('{"alter_column": {"table": "users", "column": "id", "type": "bigint", "up": "id", "down": "id"}}')$$,
	'%foreign key "orders_ref_user_id_fkey" of table app.orders_ref references%',
	'alter_column of a column another table references is refused, naming the foreign key');
SELECT throws_ok($$SELECT pg_temp.start_op('{"alter_column": {"table": "users", "column": "serial_no", "type": "bigint", "up": "serial_no", "down": "serial_no"}}')$$,
	'0A000', NULL, 'alter_column of an identity column is refused as not supported');
SELECT throws_ok($$SELECT pg_temp.start_op('{"add_column": {"table": "users", "column": {"name": "twice", "type": "integer", "nullable": true, "generated": {"expression": "id * 2"}}}}')$$,
	'0A000', NULL, 'add_column of a generated column is refused as not supported');
SELECT throws_ok($$SELECT mig.start('02_unsupported', '{"operations": [
	{"create_table": {"name": "orders", "columns": [{"name": "id", "type": "int", "pk": true}]}},
	{"add_column": {"table": "orders", "column": {"name": "twice", "type": "integer", "nullable": true, "generated": {"expression": "id * 2"}}}}]}', 'app')$$,
	'0A000', NULL, 'an unsupported operation after a supported one refuses the whole migration');

SELECT hasnt_table('app', 'orders', 'the supported operation before the refused one left nothing');
SELECT hasnt_schema('app_02_unsupported', 'no version schema was left by the refused migrations');
SELECT is(mig.read_schema('app'), (SELECT s FROM before), 'the base schema is exactly as before');
SELECT results_eq(
	$$SELECT version, status, migration FROM mig.status('app')$$,
	$$VALUES ('01_init', 'Complete', '01_init')$$,
	'status is unchanged by the refused migrations');
-- 01_init, and the three statements run by hand after it (inferred)
SELECT results_eq(
	$$SELECT migration_type, count(*)::int FROM mig.migrations WHERE schema = 'app'
	  GROUP BY 1 ORDER BY 1$$,
	$$VALUES ('inferred', 3), ('pgroll', 1)$$,
	'the refused migrations are not in the history');

------------------------------------------------------------------------------
-- invalid documents
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT pg_temp.start_op('{"frobnicate": {"table": "users"}}')$$,
	'22023', NULL, 'an unknown operation is invalid');
SELECT throws_ok($$SELECT pg_temp.start_op('{"drop_table": {"name": "users", "cascade": true}}')$$,
	'22023', NULL, 'an unknown key is invalid');
SELECT throws_ok($$SELECT pg_temp.start_op('{"drop_table": {"name": "users"}, "rename_table": {"from": "users", "to": "x"}}')$$,
	'22023', NULL, 'an operation object with two keys is invalid');
SELECT throws_ok($$SELECT pg_temp.start_op('{"rename_table": {"from": "users"}}')$$,
	'22023', NULL, 'a missing required key is invalid');
SELECT throws_ok($$SELECT pg_temp.start_op('{"add_column": {"table": "users", "column": {"name": "x", "type": "text", "nullable": "yes"}}}')$$,
	'22023', NULL, 'a value of the wrong type is invalid');
SELECT throws_ok($$SELECT pg_temp.start_op('{"create_table": {"name": "' || repeat('t', 64) || '", "columns": [{"name": "id", "type": "int"}]}}')$$,
	'42622', NULL, 'a table name longer than 63 bytes is refused as too long');
SELECT throws_ok($$SELECT pg_temp.start_op('{"create_table": {"name": "t", "columns": [{"name": "id", "type": "int", "pk": true}], "constraints": [{"name": "t_pk", "type": "primary_key", "columns": ["id"]}]}}')$$,
	'22023', NULL, 'a primary key defined twice is invalid');
SELECT throws_ok($$SELECT pg_temp.start_op('{"create_table": {"name": "t", "columns": [{"name": "id", "type": "int"}], "constraints": [{"name": "t_u", "type": "unique"}]}}')$$,
	'22023', NULL, 'a unique constraint without columns is invalid');
SELECT throws_ok($$SELECT mig.start('02_unsupported', '{"operations": {"drop_table": {"name": "users"}}}', 'app')$$,
	'22023', NULL, '"operations" must be an array');
SELECT throws_ok($$SELECT mig.start('02_unsupported', '{"name": "x", "operations": []}', 'app')$$,
	'22023', NULL, 'an unknown top-level key (pgroll no longer accepts "name") is invalid');
SELECT throws_ok($$SELECT mig.start('', '{"operations": [{"drop_table": {"name": "users"}}]}', 'app')$$,
	'22023', NULL, 'an empty migration name is invalid');
SELECT has_table('app', 'users', 'invalid documents changed nothing');
SELECT is((SELECT status FROM mig.status('app')), 'Complete', 'status unchanged by invalid documents');

SELECT * FROM finish();
ROLLBACK;
