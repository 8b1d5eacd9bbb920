-- After complete, a table carries no internal name: no column, index or
-- constraint named _mig_*.  From PostgreSQL 18 on NOT NULL is a named
-- constraint (pg_constraint, contype 'n'), named after the column when NOT
-- NULL is set; complete sets it on a shadow column before the column takes
-- its final name, so each must then be renamed to the name PostgreSQL gives
-- a NOT NULL on the column as finally named (before: a pg_dump of a
-- migrated table showed CONSTRAINT items__mig_new_qty_not_null).
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(8);

CREATE SCHEMA app31;
CREATE TABLE app31.items (id integer, code text, qty integer, name text NOT NULL,
	note text);
INSERT INTO app31.items SELECT g, 'c' || g, CASE WHEN g % 3 <> 0 THEN g END, 'n' || g, NULL
	FROM generate_series(1, 200) g;

SELECT mig.start('01_shapes', '{"operations": [
	{"alter_column": {"table": "items", "column": "qty", "nullable": false,
		"up": "coalesce(qty, 0)", "down": "qty"}},
	{"alter_column": {"table": "items", "column": "name", "type": "varchar(40)",
		"up": "name", "down": "name"}},
	{"create_constraint": {"table": "items", "name": "items_pk", "type": "primary_key",
		"columns": ["id"], "up": {"id": "id"}, "down": {"id": "id"}}},
	{"add_column": {"table": "items", "column": {"name": "kind", "type": "text",
		"nullable": false}, "up": "''plain''"}}]}', 'app31');
CALL mig.wait('app31');
SELECT mig.complete('app31');

SELECT is((SELECT count(*)::int FROM pg_attribute
	WHERE attrelid = 'app31.items'::regclass AND attnum > 0 AND NOT attisdropped
	  AND attname LIKE '\_mig%'), 0, 'no internal column is left');
SELECT is((SELECT count(*)::int FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
	WHERE i.indrelid = 'app31.items'::regclass AND c.relname LIKE '%\_mig%'), 0,
	'no index has an internal name');
SELECT is((SELECT string_agg(conname, ', ') FROM pg_constraint
	WHERE conrelid = 'app31.items'::regclass AND conname LIKE '%\_mig%'), NULL,
	'no constraint has an internal name');
SELECT results_eq($$SELECT attname::text COLLATE "default", attnotnull FROM pg_attribute
	WHERE attrelid = 'app31.items'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attname$$,
	$$VALUES ('code', false), ('id', true), ('kind', true), ('name', true), ('note', false), ('qty', true)$$,
	'each column is NOT NULL as the migration said');
SELECT is((SELECT count(*)::int FROM app31.items WHERE qty IS NULL OR kind IS NULL), 0,
	'and no row breaks it');

-- PostgreSQL 18: one NOT NULL constraint per NOT NULL column, named as
-- PostgreSQL names it; before 18 there are no such rows at all.
SELECT results_eq($$SELECT conname::text COLLATE "default" FROM pg_constraint
	WHERE conrelid = 'app31.items'::regclass AND contype = 'n' ORDER BY 1$$,
	$$SELECT 'items_' || a || '_not_null' FROM unnest(ARRAY['id', 'kind', 'name', 'qty']) a
	  WHERE current_setting('server_version_num')::int >= 180000 ORDER BY 1$$,
	'NOT NULL constraints (PostgreSQL 18) are named after the final column names');

-- and again on the next migration, whose shadow columns are made from
-- these ones
SELECT mig.start('02_again', '{"operations": [
	{"alter_column": {"table": "items", "column": "qty", "type": "bigint",
		"up": "qty", "down": "qty::integer"}}]}', 'app31');
CALL mig.wait('app31');
SELECT mig.complete('app31');
SELECT results_eq($$SELECT conname::text COLLATE "default" FROM pg_constraint
	WHERE conrelid = 'app31.items'::regclass AND contype = 'n' ORDER BY 1$$,
	$$SELECT 'items_' || a || '_not_null' FROM unnest(ARRAY['id', 'kind', 'name', 'qty']) a
	  WHERE current_setting('server_version_num')::int >= 180000 ORDER BY 1$$,
	'a NOT NULL carried to a new type keeps the name PostgreSQL gives it');
SELECT is((SELECT string_agg(conname, ', ') FROM pg_constraint
	WHERE conrelid = 'app31.items'::regclass AND conname LIKE '%\_mig%'), NULL,
	'still no constraint with an internal name');

SELECT * FROM finish();
ROLLBACK;
