-- add_column without "up": a nullable column, a NOT NULL column with a
-- default, a column with a check and one with a foreign key.  The column is
-- physically "_mig_new_<name>" until complete; constraints are validated at
-- complete.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(50);

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
CREATE FUNCTION pg_temp.col_comment(rel regclass, col name) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT col_description(rel, (SELECT attnum FROM pg_attribute WHERE attrelid = rel AND attname = col))
$$;

SELECT lives_ok($$SELECT mig.start('01_init', $j${"operations": [
	{"create_table": {"name": "teams", "columns": [
		{"name": "id", "type": "integer", "pk": true}]}},
	{"create_table": {"name": "users", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "name", "type": "text"}]}}]}$j$, 'app');
	SELECT mig.complete('app')$$, 'setup: create teams and users');
INSERT INTO app_01_init.teams VALUES (1), (2);
INSERT INTO app_01_init.users VALUES (1, 'a'), (2, 'b');
CREATE TEMP TABLE before AS SELECT mig.read_schema('app') AS s;

CREATE TEMP TABLE doc AS SELECT $j${"operations": [
	{"add_column": {"table": "users", "column": {"name": "nickname", "type": "text", "nullable": true}}},
	{"add_column": {"table": "users", "column": {"name": "age", "type": "integer", "default": "0",
		"comment": "Age in years"}}},
	{"add_column": {"table": "users", "column": {"name": "score", "type": "integer", "nullable": true,
		"check": {"name": "users_score_check", "constraint": "score >= 0"}}}},
	{"add_column": {"table": "users", "column": {"name": "team_id", "type": "integer", "nullable": true,
		"references": {"name": "users_team_fk", "table": "teams", "column": "id", "on_delete": "CASCADE"}}}}
]}$j$::jsonb AS d;

------------------------------------------------------------------------------
-- start
------------------------------------------------------------------------------
SELECT is(mig.start('02_add', (SELECT d FROM doc), 'app'), 'app_02_add', 'add_column migration starts');
SELECT is(pg_temp.cols('app_02_add.users'), ARRAY['id', 'name', 'nickname', 'age', 'score', 'team_id']::name[],
	'the new version has the added columns, in order');
SELECT is(pg_temp.cols('app_01_init.users'), ARRAY['id', 'name']::name[],
	'the old version does not have the added columns');
SELECT hasnt_column('app', 'users', 'age', 'the column does not have its final name before complete');
SELECT has_column('app', 'users', '_mig_new_age', 'the column is physically _mig_new_<name> until complete');
SELECT col_type_is('app_02_add', 'users', 'age', 'integer', 'the added column has its type in the new version');
SELECT is(pg_temp.col_default('app_02_add.users', 'age'), '0',
	'the added column''s default is carried to the new version view');

SELECT lives_ok($$INSERT INTO app_01_init.users (id, name) VALUES (3, 'old')$$,
	'insert through the old version');
SELECT lives_ok($$INSERT INTO app_02_add.users (id, name, nickname, age, score, team_id) VALUES (4, 'new', 'nn', 21, 5, 1)$$,
	'insert through the new version with the new columns');
SELECT lives_ok($$INSERT INTO app_02_add.users (id, name) VALUES (5, 'defaults')$$,
	'insert through the new version without the new columns');
SELECT lives_ok($$INSERT INTO app_02_add.users (id, name, age) VALUES (6, 'explicit default', DEFAULT)$$,
	'insert through the new version with DEFAULT');
SELECT results_eq($$SELECT id, name FROM app_01_init.users ORDER BY id$$,
	$$VALUES (1, 'a'), (2, 'b'), (3, 'old'), (4, 'new'), (5, 'defaults'), (6, 'explicit default')$$,
	'the old version reads rows written through both versions');
SELECT results_eq($$SELECT id, nickname, age, score, team_id FROM app_02_add.users ORDER BY id$$,
	$$VALUES (1, NULL, 0, NULL::int, NULL::int), (2, NULL, 0, NULL, NULL), (3, NULL, 0, NULL, NULL),
	         (4, 'nn', 21, 5, 1), (5, NULL, 0, NULL, NULL), (6, NULL, 0, NULL, NULL)$$,
	'the new version reads existing and new rows; the default fills existing rows and old-version writes');
SELECT throws_ok($$INSERT INTO app_02_add.users (id, name, age) VALUES (7, 'x', NULL)$$, '23502',
	NULL, 'NULL in the NOT NULL added column is rejected through the new version');
SELECT throws_ok($$INSERT INTO app_02_add.users (id, name, score) VALUES (7, 'x', -1)$$, '23514',
	NULL, 'the added column''s check is enforced for new rows');
SELECT throws_ok($$INSERT INTO app_02_add.users (id, name, team_id) VALUES (7, 'x', 99)$$, '23503',
	NULL, 'the added column''s foreign key is enforced for new rows');
SELECT lives_ok($$UPDATE app_02_add.users SET score = 10 WHERE id = 1$$,
	'update the new column through the new version');
SELECT lives_ok($$UPDATE app_01_init.users SET name = 'A' WHERE id = 1$$,
	'update through the old version');
SELECT results_eq($$SELECT name, score FROM app_02_add.users WHERE id = 1$$,
	$$VALUES ('A', 10)$$, 'both updates are visible in the new version');

------------------------------------------------------------------------------
-- rollback
------------------------------------------------------------------------------
SELECT is(mig.rollback('app'), 'app_01_init', 'rollback');
SELECT hasnt_schema('app_02_add', 'the new version schema is gone');
SELECT is(pg_temp.cols('app.users'), ARRAY['id', 'name']::name[],
	'rollback drops the added columns');
SELECT is((SELECT count(*)::int FROM pg_constraint WHERE conname IN ('users_score_check', 'users_team_fk')), 0,
	'rollback drops the added columns'' constraints');
SELECT is(mig.read_schema('app'), (SELECT s FROM before), 'the base schema is exactly as before');
SELECT results_eq($$SELECT id, name FROM app_01_init.users ORDER BY id$$,
	$$VALUES (1, 'A'), (2, 'b'), (3, 'old'), (4, 'new'), (5, 'defaults'), (6, 'explicit default')$$,
	'rows written through either version during the migration are kept');

------------------------------------------------------------------------------
-- start again and complete
------------------------------------------------------------------------------
SELECT is(mig.start('02_add', (SELECT d FROM doc), 'app'), 'app_02_add', 'start again');
SELECT lives_ok($$INSERT INTO app_01_init.users (id, name) VALUES (7, 'seven')$$,
	'insert through the old version');
SELECT lives_ok($$INSERT INTO app_02_add.users (id, name, nickname, score, team_id) VALUES (8, 'eight', 'e', 3, 2)$$,
	'insert through the new version');
SELECT is(mig.complete('app'), 'app_02_add', 'complete');
SELECT hasnt_schema('app_01_init', 'the previous version schema is gone');
SELECT is(pg_temp.cols('app.users'), ARRAY['id', 'name', 'nickname', 'age', 'score', 'team_id']::name[],
	'the columns have their final names after complete');
SELECT col_is_null('app', 'users', 'nickname', 'nullable column is nullable');
SELECT col_not_null('app', 'users', 'age', 'NOT NULL column is NOT NULL');
SELECT is(pg_temp.col_default('app.users', 'age'), '0', 'the default is on the final column');
SELECT is(pg_temp.col_comment('app.users', 'age'), 'Age in years', 'the comment is on the final column');
SELECT is((SELECT convalidated FROM pg_constraint WHERE conrelid = 'app.users'::regclass AND conname = 'users_score_check'),
	true, 'the check constraint is validated at complete');
SELECT is((SELECT convalidated FROM pg_constraint WHERE conrelid = 'app.users'::regclass AND conname = 'users_team_fk'),
	true, 'the foreign key is validated at complete');
SELECT ok((SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'users_score_check') LIKE '%(score >= 0)%',
	'the check constraint refers to the column by its final name');
SELECT lives_ok($$INSERT INTO app_02_add.users (id, name, age, score, team_id) VALUES (9, 'nine', 40, 1, 1)$$,
	'the new version is writable after complete');
SELECT results_eq($$SELECT id, nickname, age, score, team_id FROM app_02_add.users WHERE id >= 7 ORDER BY id$$,
	$$VALUES (7, NULL, 0, NULL::int, NULL::int), (8, 'e', 0, 3, 2), (9, NULL, 40, 1, 1)$$,
	'the new version reads every row after complete');
SELECT throws_ok($$INSERT INTO app_02_add.users (id, name, score) VALUES (10, 'x', -1)$$, '23514',
	NULL, 'check enforced after complete');
SELECT lives_ok($$DELETE FROM app_02_add.teams WHERE id = 2$$, 'delete a referenced team');
SELECT is((SELECT count(*)::int FROM app_02_add.users WHERE id = 8), 0,
	'ON DELETE CASCADE of the added foreign key');

------------------------------------------------------------------------------
-- validation
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT mig.start('03_bad', '{"operations": [{"add_column": {"table": "users", "column": {"name": "age", "type": "int", "nullable": true}}}]}', 'app')$$,
	'42701', NULL, 'adding an existing column fails');
SELECT throws_ok($$SELECT mig.start('03_bad', '{"operations": [{"add_column": {"table": "nope", "column": {"name": "x", "type": "int", "nullable": true}}}]}', 'app')$$,
	'42P01', NULL, 'adding a column to a missing table fails');
SELECT throws_ok($$SELECT mig.start('03_bad', '{"operations": [{"add_column": {"table": "users", "column": {"name": "x", "type": "int", "nullable": true}}}, {"add_column": {"table": "users", "column": {"name": "x", "type": "int", "nullable": true}}}]}', 'app')$$,
	'42701', NULL, 'adding the same column twice in one migration fails');
SELECT throws_ok($$SELECT mig.start('03_bad', '{"operations": [{"add_column": {"table": "users", "column": {"name": "x", "type": "int"}}}]}', 'app')$$,
	'22023', NULL, 'a NOT NULL column without default needs "up"');
SELECT hasnt_column('app', 'users', '_mig_new_x', 'failed migrations leave no column');
SELECT is((SELECT migration FROM mig.status('app')), '02_add', 'failed migrations leave the status unchanged');

SELECT * FROM finish();
ROLLBACK;
