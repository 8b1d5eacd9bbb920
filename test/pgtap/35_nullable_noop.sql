-- alter_column's "nullable" must change something (issue 17, item 8): on a
-- column already nullable, "nullable": true is refused, and on one already
-- NOT NULL (a primary key's included), "nullable": false, as pgroll refuses
-- them (ColumnIsNullableError, ColumnIsNotNullableError), with 22023 naming
-- the column, before anything changes.  "nullable": true on a primary key
-- or identity column is refused at start too (42P16), as PostgreSQL refuses
-- DROP NOT NULL there (it was accepted, then did nothing or failed complete).  The real changes still work, on an
-- existing table and on one the same migration creates.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(11);

CREATE SCHEMA app;
CREATE TABLE app.items (id integer PRIMARY KEY, name text NOT NULL, note text);
CREATE TABLE app.seq (n integer GENERATED ALWAYS AS IDENTITY, v text);

SELECT throws_ok(
	$$SELECT mig.start('02_x', '{"operations": [{"alter_column": {"table": "items", "column": "note",
		"nullable": true, "up": "note", "down": "note"}}]}', 'app')$$,
	'22023', 'column "note" of table "items" is already nullable',
	'"nullable": true on a nullable column is refused');
SELECT throws_ok(
	$$SELECT mig.start('02_x', '{"operations": [{"alter_column": {"table": "items", "column": "name",
		"nullable": false, "up": "name", "down": "name"}}]}', 'app')$$,
	'22023', 'column "name" of table "items" is already NOT NULL',
	'"nullable": false on a NOT NULL column is refused');
SELECT throws_ok(
	$$SELECT mig.start('02_x', '{"operations": [{"alter_column": {"table": "items", "column": "id",
		"nullable": false, "up": "id", "down": "id"}}]}', 'app')$$,
	'22023', 'column "id" of table "items" is already NOT NULL',
	'"nullable": false on a primary key column is refused');
-- NOT NULL that PostgreSQL would not drop is refused at start, not at complete
SELECT throws_ok(
	$$SELECT mig.start('02_x', '{"operations": [{"alter_column": {"table": "items", "column": "id",
		"nullable": true, "down": "coalesce(id, 0)"}}]}', 'app')$$,
	'42P16', 'column "id" of table "items" is in a primary key',
	'"nullable": true on a primary key column is refused');
SELECT throws_ok(
	$$SELECT mig.start('02_x', '{"operations": [{"alter_column": {"table": "seq", "column": "n",
		"nullable": true, "down": "coalesce(n, 0)"}}]}', 'app')$$,
	'42P16', 'column "n" of table "seq" is an identity column',
	'"nullable": true on an identity column is refused');
SELECT is((SELECT count(*)::int FROM mig.migrations WHERE schema = 'app'), 0,
	'the refusals left no migration');
SELECT is((SELECT count(*)::int FROM pg_attribute WHERE attrelid = 'app.items'::regclass AND attnum > 0),
	3, 'nor any column');

-- a table created in the same migration is judged by its own definition
SELECT throws_ok(
	$$SELECT mig.start('02_x', '{"operations": [
		{"create_table": {"name": "t", "columns": [{"name": "a", "type": "integer", "nullable": true}]}},
		{"alter_column": {"table": "t", "column": "a", "nullable": true, "up": "a", "down": "a"}}]}', 'app')$$,
	'22023', 'column "a" of table "t" is already nullable',
	'also on a table the migration creates');

-- the real changes
SELECT is(mig.start('02_real', '{"operations": [
	{"alter_column": {"table": "items", "column": "note", "nullable": false,
	 "up": "coalesce(note, ''none'')", "down": "note"}},
	{"alter_column": {"table": "items", "column": "name", "nullable": true,
	 "up": "name", "down": "coalesce(name, ''?'')"}}]}', 'app'),
	'app_02_real', 'nullable changes that change something start');
SELECT lives_ok($$SELECT mig.complete('app')$$, 'and complete');
SELECT is(
	(SELECT string_agg(attname || ':' || attnotnull, ',' ORDER BY attname) FROM pg_attribute
	  WHERE attrelid = 'app.items'::regclass AND attnum > 0 AND NOT attisdropped),
	'id:true,name:false,note:true',
	'note is NOT NULL and name nullable');

SELECT * FROM finish();
ROLLBACK;
