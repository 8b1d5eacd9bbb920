-- drop_column without "down": the column is hidden in the new version at
-- start and dropped at complete; the old version keeps it meanwhile.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(28);

CREATE SCHEMA app;
CREATE FUNCTION pg_temp.cols(rel regclass) RETURNS name[] LANGUAGE sql STABLE AS $$
	SELECT array_agg(attname ORDER BY attnum) FROM pg_attribute
	WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped
$$;

SELECT lives_ok($$SELECT mig.start('01_init', $j${"operations": [
	{"create_table": {"name": "users", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "name", "type": "text"},
		{"name": "email", "type": "text", "nullable": true},
		{"name": "status", "type": "text", "default": "'active'"},
		{"name": "created", "type": "date", "nullable": true}]}}]}$j$, 'app');
	SELECT mig.complete('app')$$, 'setup: create users');
INSERT INTO app_01_init.users (id, name, email) VALUES (1, 'a', 'a@x'), (2, 'b', 'b@x');
CREATE TEMP TABLE before AS SELECT mig.read_schema('app') AS s;

CREATE TEMP TABLE doc AS SELECT $j${"operations": [
	{"drop_column": {"table": "users", "column": "email"}},
	{"drop_column": {"table": "users", "column": "status"}}]}$j$::jsonb AS d;

------------------------------------------------------------------------------
-- start
------------------------------------------------------------------------------
SELECT is(mig.start('02_drop', (SELECT d FROM doc), 'app'), 'app_02_drop', 'drop_column starts');
SELECT is(pg_temp.cols('app_02_drop.users'), ARRAY['id', 'name', 'created']::name[],
	'the dropped columns are hidden in the new version');
SELECT is(pg_temp.cols('app_01_init.users'), ARRAY['id', 'name', 'email', 'status', 'created']::name[],
	'the old version keeps every column');
SELECT has_column('app', 'users', 'email', 'the column is still in the table during the migration');
SELECT lives_ok($$INSERT INTO app_01_init.users (id, name, email, status) VALUES (3, 'old', 'o@x', 'gone')$$,
	'insert through the old version, with the dropped columns');
SELECT lives_ok($$INSERT INTO app_02_drop.users (id, name, created) VALUES (4, 'new', '2024-01-02')$$,
	'insert through the new version, without the dropped columns');
SELECT lives_ok($$UPDATE app_01_init.users SET email = 'A@X' WHERE id = 1$$,
	'update a dropped column through the old version');
SELECT lives_ok($$UPDATE app_02_drop.users SET name = 'B' WHERE id = 2$$,
	'update through the new version');
SELECT results_eq($$SELECT id, name, email, status FROM app_01_init.users ORDER BY id$$,
	$$VALUES (1, 'a', 'A@X', 'active'), (2, 'B', 'b@x', 'active'), (3, 'old', 'o@x', 'gone'), (4, 'new', NULL, 'active')$$,
	'the old version reads every row; a new-version row gets the dropped column''s default or NULL');
SELECT results_eq($$SELECT id, name, created FROM app_02_drop.users ORDER BY id$$,
	$$VALUES (1, 'a', NULL::date), (2, 'B', NULL), (3, 'old', NULL), (4, 'new', '2024-01-02')$$,
	'the new version reads every row');
SELECT throws_ok($$SELECT email FROM app_02_drop.users$$, '42703', NULL,
	'the dropped column cannot be read through the new version');

------------------------------------------------------------------------------
-- rollback
------------------------------------------------------------------------------
SELECT is(mig.rollback('app'), 'app_01_init', 'rollback');
SELECT hasnt_schema('app_02_drop', 'the new version schema is gone');
SELECT is(mig.read_schema('app'), (SELECT s FROM before), 'the base schema is exactly as before');
SELECT results_eq($$SELECT id, name, email, status FROM app_01_init.users ORDER BY id$$,
	$$VALUES (1, 'a', 'A@X', 'active'), (2, 'B', 'b@x', 'active'), (3, 'old', 'o@x', 'gone'), (4, 'new', NULL, 'active')$$,
	'no row and no value of the dropped columns is lost');

------------------------------------------------------------------------------
-- start again and complete
------------------------------------------------------------------------------
SELECT is(mig.start('02_drop', (SELECT d FROM doc), 'app'), 'app_02_drop', 'start again');
SELECT is(mig.complete('app'), 'app_02_drop', 'complete');
SELECT hasnt_column('app', 'users', 'email', 'the column is dropped at complete');
SELECT hasnt_column('app', 'users', 'status', 'the second column is dropped at complete');
SELECT is(pg_temp.cols('app.users'), ARRAY['id', 'name', 'created']::name[], 'the table''s remaining columns');
SELECT hasnt_schema('app_01_init', 'the previous version schema is gone');
SELECT lives_ok($$INSERT INTO app_02_drop.users (id, name) VALUES (5, 'five')$$,
	'the new version is writable after complete');
SELECT results_eq($$SELECT id, name FROM app_02_drop.users ORDER BY id$$,
	$$VALUES (1, 'a'), (2, 'B'), (3, 'old'), (4, 'new'), (5, 'five')$$,
	'the new version reads every row after complete');

------------------------------------------------------------------------------
-- validation
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT mig.start('03_bad', '{"operations": [{"drop_column": {"table": "users", "column": "email"}}]}', 'app')$$,
	'42703', NULL, 'dropping a missing column fails');
SELECT throws_ok($$SELECT mig.start('03_bad', '{"operations": [{"drop_column": {"table": "nope", "column": "id"}}]}', 'app')$$,
	'42P01', NULL, 'dropping a column of a missing table fails');
SELECT throws_ok($$SELECT mig.start('03_bad', '{"operations": [{"drop_column": {"table": "users", "column": "name"}}, {"drop_column": {"table": "users", "column": "name"}}]}', 'app')$$,
	'42703', NULL, 'dropping a column twice in one migration fails');
SELECT has_column('app_02_drop', 'users', 'name', 'failed migrations leave the current version as it was');

SELECT * FROM finish();
ROLLBACK;
