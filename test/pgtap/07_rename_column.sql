-- rename_column: the new name in the new version, the old name in the old
-- version; the physical column is renamed at complete.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(35);

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
	{"create_table": {"name": "users", "columns": [
		{"name": "id", "type": "serial", "pk": true},
		{"name": "name", "type": "text", "default": "'anon'",
		 "check": {"name": "name_length", "constraint": "length(name) <= 10"}},
		{"name": "email", "type": "text", "unique": true}]}}]}$j$, 'app');
	SELECT mig.complete('app')$$, 'setup: create users');
INSERT INTO app_01_init.users (name, email) VALUES ('a', 'a@x'), ('b', 'b@x');
CREATE TEMP TABLE before AS SELECT mig.read_schema('app') AS s;

CREATE TEMP TABLE doc AS SELECT $j${"operations": [
	{"rename_column": {"table": "users", "from": "name", "to": "full_name"}}]}$j$::jsonb AS d;

------------------------------------------------------------------------------
-- start
------------------------------------------------------------------------------
SELECT is(mig.start('02_rename', (SELECT d FROM doc), 'app'), 'app_02_rename', 'rename_column starts');
SELECT is(pg_temp.cols('app_02_rename.users'), ARRAY['id', 'full_name', 'email']::name[],
	'the new version has the new name, in the same position');
SELECT is(pg_temp.cols('app_01_init.users'), ARRAY['id', 'name', 'email']::name[],
	'the old version keeps the old name');
SELECT has_column('app', 'users', 'name', 'the physical column is not renamed before complete');
SELECT is(pg_temp.col_default('app_02_rename.users', 'full_name'), '''anon''::text',
	'the default is carried to the renamed view column');
SELECT lives_ok($$INSERT INTO app_01_init.users (name, email) VALUES ('old', 'o@x')$$,
	'insert through the old name');
SELECT lives_ok($$INSERT INTO app_02_rename.users (full_name, email) VALUES ('new', 'n@x')$$,
	'insert through the new name');
SELECT lives_ok($$INSERT INTO app_02_rename.users (email) VALUES ('d@x')$$,
	'insert through the new version with the default');
SELECT lives_ok($$UPDATE app_02_rename.users SET full_name = 'A' WHERE id = 1$$,
	'update through the new name');
SELECT results_eq($$SELECT id, name, email FROM app_01_init.users ORDER BY id$$,
	$$VALUES (1, 'A', 'a@x'), (2, 'b', 'b@x'), (3, 'old', 'o@x'), (4, 'new', 'n@x'), (5, 'anon', 'd@x')$$,
	'the old version reads every row under the old name');
SELECT results_eq($$SELECT id, full_name, email FROM app_02_rename.users ORDER BY id$$,
	$$VALUES (1, 'A', 'a@x'), (2, 'b', 'b@x'), (3, 'old', 'o@x'), (4, 'new', 'n@x'), (5, 'anon', 'd@x')$$,
	'the new version reads every row under the new name');
SELECT throws_ok($$INSERT INTO app_02_rename.users (full_name, email) VALUES ('much too long a name', 'l@x')$$,
	'23514', NULL, 'the column''s check is enforced through the new name');
SELECT throws_ok($$SELECT name FROM app_02_rename.users$$, '42703', NULL,
	'the old name does not exist in the new version');

------------------------------------------------------------------------------
-- rollback
------------------------------------------------------------------------------
SELECT is(mig.rollback('app'), 'app_01_init', 'rollback');
SELECT hasnt_schema('app_02_rename', 'the new version schema is gone');
SELECT has_column('app', 'users', 'name', 'the column keeps its old name');
SELECT hasnt_column('app', 'users', 'full_name', 'no column with the new name');
SELECT is(mig.read_schema('app'), (SELECT s FROM before), 'the base schema is exactly as before');
SELECT results_eq($$SELECT id, name FROM app_01_init.users ORDER BY id$$,
	$$VALUES (1, 'A'), (2, 'b'), (3, 'old'), (4, 'new'), (5, 'anon')$$,
	'no row written during the migration is lost');

------------------------------------------------------------------------------
-- start again and complete
------------------------------------------------------------------------------
SELECT is(mig.start('02_rename', (SELECT d FROM doc), 'app'), 'app_02_rename', 'start again');
SELECT is(mig.complete('app'), 'app_02_rename', 'complete');
SELECT has_column('app', 'users', 'full_name', 'the column is renamed at complete');
SELECT hasnt_column('app', 'users', 'name', 'the old name is gone');
SELECT hasnt_schema('app_01_init', 'the previous version schema is gone');
SELECT is(pg_temp.col_default('app.users', 'full_name'), '''anon''::text', 'the renamed column keeps its default');
SELECT col_not_null('app', 'users', 'full_name', 'the renamed column keeps NOT NULL');
SELECT ok((SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'name_length') LIKE '%length(full_name)%',
	'the check constraint follows the rename');
SELECT lives_ok($$INSERT INTO app_02_rename.users (full_name, email) VALUES ('six', 's@x')$$,
	'the new version is writable after complete; the serial key keeps working');
SELECT results_eq($$SELECT full_name FROM app_02_rename.users ORDER BY id$$,
	$$VALUES ('A'), ('b'), ('old'), ('new'), ('anon'), ('six')$$,
	'the new version reads every row after complete');
SELECT throws_ok($$INSERT INTO app_02_rename.users (full_name, email) VALUES ('dup', 'a@x')$$,
	'23505', NULL, 'the other column''s unique constraint is still enforced');

------------------------------------------------------------------------------
-- validation
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT mig.start('03_bad', '{"operations": [{"rename_column": {"table": "users", "from": "nope", "to": "x"}}]}', 'app')$$,
	'42703', NULL, 'renaming a missing column fails');
SELECT throws_ok($$SELECT mig.start('03_bad', '{"operations": [{"rename_column": {"table": "users", "from": "full_name", "to": "email"}}]}', 'app')$$,
	'42701', NULL, 'renaming to an existing column fails');
SELECT throws_ok($$SELECT mig.start('03_bad', '{"operations": [{"rename_column": {"table": "nope", "from": "a", "to": "b"}}]}', 'app')$$,
	'42P01', NULL, 'renaming a column of a missing table fails');
SELECT is((SELECT migration FROM mig.status('app')), '02_rename', 'failed migrations leave the status unchanged');

SELECT * FROM finish();
ROLLBACK;
