-- rename_table: the new name in the new version, the old name in the old
-- version, both readable and writable; physical rename at complete.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(42);

CREATE SCHEMA app;
CREATE FUNCTION pg_temp.cols(rel regclass) RETURNS name[] LANGUAGE sql STABLE AS $$
	SELECT array_agg(attname ORDER BY attnum) FROM pg_attribute
	WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped
$$;
CREATE FUNCTION pg_temp.col_default(rel regclass, col name) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a
	JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	WHERE a.attrelid = rel AND a.attname = col
$$;

SELECT lives_ok($$SELECT mig.start('01_init', $j${"operations": [
	{"create_table": {"name": "items", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "name", "type": "text", "default": "'unnamed'"}]}},
	{"create_table": {"name": "orders", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "item_id", "type": "integer",
		 "references": {"name": "orders_item_fk", "table": "items", "column": "id"}}]}}]}$j$, 'app');
	SELECT mig.complete('app')$$, 'setup: create items and orders');
INSERT INTO app_01_init.items VALUES (1, 'a'), (2, 'b');
INSERT INTO app_01_init.orders VALUES (1, 1);
CREATE TEMP TABLE before AS SELECT mig.read_schema('app') AS s;

CREATE TEMP TABLE doc AS SELECT $j${"operations": [{"rename_table": {"from": "items", "to": "products"}}]}$j$::jsonb AS d;

------------------------------------------------------------------------------
-- start
------------------------------------------------------------------------------
SELECT is(mig.start('02_rename', (SELECT d FROM doc), 'app'), 'app_02_rename', 'rename_table starts');
SELECT has_view('app_02_rename', 'products', 'the new version has the new name');
SELECT hasnt_view('app_02_rename', 'items', 'the new version does not have the old name');
SELECT has_view('app_01_init', 'items', 'the old version keeps the old name');
SELECT hasnt_view('app_01_init', 'products', 'the old version does not have the new name');
SELECT has_table('app', 'items', 'the physical table keeps its name until complete');
SELECT hasnt_table('app', 'products', 'no physical table with the new name yet');
SELECT is(pg_temp.cols('app_02_rename.products'), ARRAY['id', 'name']::name[],
	'the renamed view has the table''s columns in order');
SELECT is(pg_temp.col_default('app_02_rename.products', 'name'), '''unnamed''::text',
	'defaults carried to the renamed view');
SELECT has_view('app_02_rename', 'orders', 'other tables keep their view');

SELECT lives_ok($$INSERT INTO app_01_init.items (id, name) VALUES (3, 'old')$$,
	'insert through the old name in the old version');
SELECT lives_ok($$INSERT INTO app_02_rename.products (id, name) VALUES (4, 'new')$$,
	'insert through the new name in the new version');
SELECT lives_ok($$INSERT INTO app_02_rename.products (id) VALUES (5)$$,
	'insert through the new version using the default');
SELECT lives_ok($$UPDATE app_02_rename.products SET name = 'A' WHERE id = 1$$,
	'update through the new version');
SELECT lives_ok($$DELETE FROM app_01_init.items WHERE id = 2$$,
	'delete through the old version');
SELECT results_eq($$SELECT id, name FROM app_01_init.items ORDER BY id$$,
	$$VALUES (1, 'A'), (3, 'old'), (4, 'new'), (5, 'unnamed')$$,
	'the old version sees every write');
SELECT results_eq($$SELECT id, name FROM app_02_rename.products ORDER BY id$$,
	$$VALUES (1, 'A'), (3, 'old'), (4, 'new'), (5, 'unnamed')$$,
	'the new version sees every write');
SELECT lives_ok($$INSERT INTO app_02_rename.orders VALUES (2, 4)$$,
	'foreign keys to the renamed table keep working');
SELECT throws_ok($$INSERT INTO app_02_rename.orders VALUES (3, 99)$$, '23503', NULL,
	'foreign keys to the renamed table are enforced');

------------------------------------------------------------------------------
-- rollback
------------------------------------------------------------------------------
SELECT is(mig.rollback('app'), 'app_01_init', 'rollback');
SELECT hasnt_schema('app_02_rename', 'the new version schema is gone');
SELECT has_table('app', 'items', 'the table has its old name');
SELECT hasnt_table('app', 'products', 'no table with the new name');
SELECT is(mig.read_schema('app'), (SELECT s FROM before),
	'the base schema is exactly as before (tables, columns, constraints, indexes)');
SELECT results_eq($$SELECT id, name FROM app_01_init.items ORDER BY id$$,
	$$VALUES (1, 'A'), (3, 'old'), (4, 'new'), (5, 'unnamed')$$,
	'no row written during the migration is lost');

------------------------------------------------------------------------------
-- start again and complete
------------------------------------------------------------------------------
SELECT is(mig.start('02_rename', (SELECT d FROM doc), 'app'), 'app_02_rename', 'start again');
SELECT lives_ok($$INSERT INTO app_01_init.items (id, name) VALUES (6, 'six')$$,
	'write through the old version before complete');
SELECT is(mig.complete('app'), 'app_02_rename', 'complete');
SELECT has_table('app', 'products', 'complete renames the table');
SELECT hasnt_table('app', 'items', 'the old name is gone');
SELECT hasnt_schema('app_01_init', 'the previous version schema is gone');
SELECT is((SELECT confrelid::regclass::text FROM pg_constraint WHERE conname = 'orders_item_fk'), 'app.products',
	'the foreign key references the renamed table');
SELECT lives_ok($$INSERT INTO app_02_rename.products (id, name) VALUES (7, 'seven')$$,
	'the new version is writable after complete');
SELECT results_eq($$SELECT id, name FROM app_02_rename.products ORDER BY id$$,
	$$VALUES (1, 'A'), (3, 'old'), (4, 'new'), (5, 'unnamed'), (6, 'six'), (7, 'seven')$$,
	'the new version reads every row after complete');
SELECT results_eq($$SELECT id, name FROM app.products ORDER BY id$$,
	$$SELECT id, name FROM app_02_rename.products ORDER BY id$$,
	'the renamed table holds the rows');
SELECT is((SELECT status FROM mig.status('app')), 'Complete', 'status after complete');

------------------------------------------------------------------------------
-- the old name is free after complete; validation
------------------------------------------------------------------------------
SELECT lives_ok($$SELECT mig.start('03_items', '{"operations": [{"create_table": {"name": "items", "columns": [{"name": "id", "type": "int", "pk": true}]}}]}', 'app');
	SELECT mig.complete('app')$$, 'a later migration can create a table with the old name');
SELECT has_table('app', 'items', 'the new table with the old name exists');
SELECT throws_ok($$SELECT mig.start('04_bad', '{"operations": [{"rename_table": {"from": "products", "to": "items"}}]}', 'app')$$,
	'42P07', NULL, 'renaming to an existing table fails');
SELECT throws_ok($$SELECT mig.start('04_bad', '{"operations": [{"rename_table": {"from": "nope", "to": "other"}}]}', 'app')$$,
	'42P01', NULL, 'renaming a missing table fails');
SELECT is((SELECT migration FROM mig.status('app')), '03_items', 'failed renames leave the status unchanged');

SELECT * FROM finish();
ROLLBACK;
