-- Columns added with a default after rows were written (PostgreSQL's fast
-- default: the rows do not store the value, the catalog's attmissingval
-- holds it).  Every row the dual-write trigger or the backfill writes is
-- rebuilt from the old row: such a column must keep its value, as a plain
-- UPDATE keeps it.  Before 0.3.0 the trigger's copy of the table's row
-- type lacked the missing values and wrote NULL in their place, for every
-- row of a table that had ever had a column added with a default.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(8);

CREATE SCHEMA app;
CREATE TABLE app.items (id integer PRIMARY KEY, name text NOT NULL);
INSERT INTO app.items SELECT g, 'item ' || g FROM generate_series(1, 1000) g;
-- by hand, the usual way: no rewrite, the existing rows read 5
ALTER TABLE app.items ADD COLUMN qty integer NOT NULL DEFAULT 5;
ALTER TABLE app.items ADD COLUMN note text DEFAULT 'none';

SELECT is((SELECT count(*) FROM pg_attribute
			WHERE attrelid = 'app.items'::regclass AND atthasmissing), 2::bigint,
		  'the columns added by hand have fast defaults');

SELECT is(mig.start('01_upper', '{"operations": [
	{"alter_column": {"table": "items", "column": "name", "type": "varchar(100)",
					  "up": "upper(name)", "down": "lower(name)"}},
	{"add_column": {"table": "items", "column":
		{"name": "price", "type": "integer", "default": "7", "nullable": false}}}]}', 'app'),
	'app_01_upper', 'a migration with a backfill of the table starts');

-- the dual-write trigger writes an old row, through the old version
SET LOCAL search_path = app;
UPDATE items SET name = 'first' WHERE id = 1;
RESET search_path;
SELECT is((SELECT (qty, note) FROM app.items WHERE id = 1), (5, 'none'::text),
		  'a row written through the old version keeps its fast-default values');


CALL mig.backfill('app');
SELECT is((SELECT count(*) FROM app.items WHERE qty = 5 AND note = 'none'), 1000::bigint,
		  'after the backfill every row keeps the values of the columns added by hand');
SELECT is((SELECT count(*) FROM app.items WHERE _mig_new_price = 7), 1000::bigint,
		  'every row has the default of the column the migration added');
SELECT is((SELECT count(*) FROM app.items WHERE _mig_new_name = upper(name)), 1000::bigint,
		  'and the backfilled value of the altered column');

SELECT is(mig.complete('app'), 'app_01_upper', 'the migration completes');
SELECT is((SELECT count(*) FROM app.items WHERE qty = 5 AND note = 'none' AND price = 7),
		  1000::bigint, 'after complete every row has its default values');

SELECT * FROM finish();
ROLLBACK;
