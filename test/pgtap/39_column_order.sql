-- A version keeps its columns' order (issue 17, item 6): a column that
-- alter_column or a constraint operation duplicates keeps its place in the
-- new version (it moved to the end: SELECT * and positional INSERTs
-- changed), and the next version after complete keeps its parent's order,
-- though complete leaves the changed column at the end of the table.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(7);

CREATE SCHEMA app;
CREATE TABLE app.items (id integer PRIMARY KEY, path text, n integer);
INSERT INTO app.items VALUES (1, 'a', 10);

CREATE FUNCTION pg_temp.cols(rel regclass) RETURNS text LANGUAGE sql AS $$
	SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
	WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped$$;

SELECT mig.start('02_path', '{"operations": [{"alter_column": {"table": "items", "column": "path",
	"type": "varchar(100)", "up": "path", "down": "path"}}]}', 'app');
SELECT is(pg_temp.cols('app_02_path.items'), 'id,path,n',
	'alter_column: the changed column keeps its place in the new version');
SELECT lives_ok($$INSERT INTO app_02_path.items VALUES (2, 'b', 20)$$,
	'a positional INSERT through the new version puts each value in its column');
SELECT is((SELECT path || ':' || n FROM app_02_path.items WHERE id = 2), 'b:20', 'as it did before');
SELECT is(mig.complete('app'), 'app_02_path', 'complete');
SELECT is(pg_temp.cols('app.items'), 'id,n,path', 'the table has the changed column last');

SELECT mig.start('03_more', '{"operations": [
	{"add_column": {"table": "items", "column": {"name": "x", "type": "integer", "nullable": true}}},
	{"create_constraint": {"type": "check", "table": "items", "name": "n_positive",
	 "columns": ["n"], "check": "n > 0", "up": {"n": "greatest(n, 1)"}, "down": {"n": "n"}}}]}', 'app');
SELECT is(pg_temp.cols('app_03_more.items'), 'id,path,n,x',
	'the next version keeps its parent''s order, the checked column in its place, the new one last');
SELECT lives_ok($$SELECT mig.complete('app')$$, 'complete');

SELECT * FROM finish();
ROLLBACK;
