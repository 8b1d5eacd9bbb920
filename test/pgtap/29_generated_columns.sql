-- Stored generated columns and up/down expressions.  PostgreSQL computes a
-- stored generated column after the BEFORE row triggers, so the dual-write
-- trigger would see it NULL on INSERT and stale on UPDATE: an up or down
-- expression that reads one is refused at start with 0A000 and nothing
-- changes, as is an operation that would compute a generated column.  A
-- migration of such a table whose expressions do not read the generated
-- column works, its backfill going through the UPDATE statement.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(19);

CREATE SCHEMA app;
CREATE TABLE app.gc (id integer PRIMARY KEY, v integer,
	g integer GENERATED ALWAYS AS (v * 2) STORED, d integer DEFAULT 42);
INSERT INTO app.gc (id, v) SELECT g, g FROM generate_series(1, 1000) g;
CREATE TEMP TABLE before AS SELECT mig.read_schema('app') AS s;

-- what start must leave as it was
CREATE FUNCTION pg_temp.unchanged() RETURNS boolean LANGUAGE sql AS $$
	SELECT mig.read_schema('app') = (SELECT s FROM before)
		AND NOT EXISTS (SELECT 1 FROM mig.migrations WHERE schema = 'app')
		AND NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname LIKE 'app\_%')
		AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'app.gc'::regclass)
		AND NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'app.gc'::regclass
						AND attnum > 0 AND NOT attisdropped
						AND attname NOT IN ('id', 'v', 'g', 'd'))
$$;

------------------------------------------------------------------------------
-- up reads the generated column
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT mig.start('01_w', '{"operations": [{"add_column": {"table": "gc",
	"column": {"name": "w", "type": "integer", "nullable": true}, "up": "g + d"}}]}', 'app')$$,
	'0A000',
	'up expression "g + d" in operations[0] (add_column) of migration "01_w" reads generated column "g" of table "gc"',
	'an up expression reading a stored generated column is refused');
SELECT ok(pg_temp.unchanged(), 'and nothing changed');

-- in a subquery over the row, too
SELECT throws_ok($$SELECT mig.start('01_w', '{"operations": [{"add_column": {"table": "gc",
	"column": {"name": "w", "type": "integer", "nullable": true},
	"up": "(SELECT g + 1)"}}]}', 'app')$$,
	'0A000', NULL,
	'an up expression reading it in a subquery is refused');
SELECT ok(pg_temp.unchanged(), 'and nothing changed');

-- refused whatever strict_expressions says: these would be wrong values
SET LOCAL migrate_ext.strict_expressions = off;
SELECT throws_ok($$SELECT mig.start('01_w', '{"operations": [{"add_column": {"table": "gc",
	"column": {"name": "w", "type": "integer", "nullable": true}, "up": "g"}}]}', 'app')$$,
	'0A000', NULL,
	'also with migrate_ext.strict_expressions off');
SELECT ok(pg_temp.unchanged(), 'and nothing changed');
RESET migrate_ext.strict_expressions;

------------------------------------------------------------------------------
-- down reads the generated column
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT mig.start('02_d', '{"operations": [{"alter_column": {"table": "gc",
	"column": "d", "type": "bigint", "up": "d", "down": "g"}}]}', 'app')$$,
	'0A000',
	'down expression "g" in operations[0] (alter_column) of migration "02_d" reads generated column "g" of table "gc"',
	'a down expression reading a stored generated column is refused');
SELECT ok(pg_temp.unchanged(), 'and nothing changed');

------------------------------------------------------------------------------
-- an operation that would compute the generated column itself
------------------------------------------------------------------------------
-- drop_column's down computes the dropped column for the old version: here
-- PostgreSQL would overwrite it with the generation expression's value
SELECT throws_ok($$SELECT mig.start('03_g', '{"operations": [{"drop_column": {"table": "gc",
	"column": "g", "down": "v * 3"}}]}', 'app')$$,
	'0A000',
	'down expression "v * 3" in operations[0] (drop_column) of migration "03_g" would compute generated column "g" of table "gc"',
	'a down expression that would compute a generated column is refused');
SELECT ok(pg_temp.unchanged(), 'and nothing changed');
-- (alter_column of a generated column is refused already: it cannot be copied)
SELECT throws_ok($$SELECT mig.start('03_g', '{"operations": [{"alter_column": {"table": "gc",
	"column": "g", "type": "bigint", "up": "v * 2", "down": "v * 2"}}]}', 'app')$$,
	'0A000', NULL,
	'an alter_column of a generated column is refused');
SELECT ok(pg_temp.unchanged(), 'and nothing changed');

------------------------------------------------------------------------------
-- expressions that do not read it: the migration works
------------------------------------------------------------------------------
SELECT is(mig.start('04_w', '{"operations": [{"add_column": {"table": "gc",
	"column": {"name": "w", "type": "integer", "nullable": true}, "up": "v * 2 + d"}}]}', 'app'),
	'app_04_w', 'a migration whose up does not read the generated column starts');
-- written after start, through the old version
SET LOCAL search_path = app;
INSERT INTO gc (id, v) VALUES (5000, 1);
UPDATE gc SET v = 10 WHERE id = 2;
RESET search_path;
CALL mig.backfill('app', 100);
SELECT is((SELECT count(*)::int FROM app_04_w.gc WHERE w IS DISTINCT FROM g + d), 0,
	'the backfill (through the UPDATE statement) gives every row up(old)');
SELECT is((SELECT w FROM app_04_w.gc WHERE id = 5000), 44,
	'a row inserted through the old version has up of it');
SELECT is((SELECT w FROM app_04_w.gc WHERE id = 2), 62,
	'a row updated through the old version has up of its new values');
SELECT is((SELECT g FROM app_04_w.gc WHERE id = 2), 20,
	'the generated column is computed as usual');
SELECT is(mig.complete('app'), 'app_04_w', 'complete succeeds');
SELECT is((SELECT count(*)::int FROM app.gc WHERE w IS DISTINCT FROM g + d), 0,
	'every row keeps its value');

SELECT * FROM finish();
ROLLBACK;
