-- add_column without "up": a nullable column, a NOT NULL column with a
-- default, a column with a check and one with a foreign key.  The column is
-- physically "_mig_new_<name>" until complete; constraints are validated at
-- complete.  Then columns whose default is volatile (pgroll example 53) or
-- of a serial type: added without rewriting the table, existing rows filled
-- by the backfill.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(93);

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

------------------------------------------------------------------------------
-- a volatile default (pgroll example 53): the column is added without its
-- default, so the table is not rewritten; existing rows get a value of the
-- default from the backfill.  Writes that the backfill must see are plain
-- statements: lives_ok would make them in a subtransaction.
------------------------------------------------------------------------------
SELECT lives_ok($$SELECT mig.start('03_library', $j${"operations": [
	{"create_table": {"name": "library", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "title", "type": "text"}]}}]}$j$, 'app');
	SELECT mig.complete('app')$$, 'setup: create library');
INSERT INTO app_03_library.library SELECT g, 'book ' || g FROM generate_series(1, 50) g;
CREATE TEMP TABLE before_value AS SELECT mig.read_schema('app') AS s;
CREATE TEMP TABLE filenode AS SELECT pg_relation_filenode('app.library') AS f;

CREATE TEMP TABLE doc53 AS SELECT $j${"operations": [
	{"add_column": {"table": "library", "up": "(random() * 1000)::int",
		"column": {"name": "value", "type": "int", "default": "(random() * 1000)::int"}}}
]}$j$::jsonb AS d;

SELECT is(mig.start('04_value', (SELECT d FROM doc53), 'app'), 'app_04_value',
	'a NOT NULL column with a volatile default starts');
SELECT is(pg_relation_filenode('app.library'), (SELECT f FROM filenode),
	'adding the column did not rewrite the table');
SELECT ok(pg_temp.col_default('app.library', '_mig_new_value') LIKE '%random()%',
	'the volatile default is set on the added column');
SELECT is(mig.rollback('app'), 'app_03_library', 'rollback');
SELECT is(mig.read_schema('app'), (SELECT s FROM before_value), 'the base schema is exactly as before');
SELECT is(pg_temp.cols('app.library'), ARRAY['id', 'title']::name[], 'rollback drops the added column');

SELECT is(mig.start('04_value', (SELECT d FROM doc53), 'app'), 'app_04_value', 'start again');
SELECT ok(pg_temp.col_default('app_04_value.library', 'value') LIKE '%random()%',
	'the new version''s view has the volatile default');
SET LOCAL search_path = app_03_library, public;
INSERT INTO library (id, title) VALUES (51, 'old');
SELECT ok((SELECT value BETWEEN 0 AND 1000 FROM app_04_value.library WHERE id = 51),
	'a row inserted through the old version gets a value from up');
CREATE TEMP TABLE old_value AS SELECT value AS v FROM app_04_value.library WHERE id = 51;
UPDATE library SET title = 'old, updated' WHERE id = 51;
SELECT is((SELECT value FROM app_04_value.library WHERE id = 51), (SELECT v FROM old_value),
	'an update through the old version keeps the row''s value of the default');
SET LOCAL search_path = app_04_value, public;
INSERT INTO library (id, title) VALUES (52, 'new');
INSERT INTO library (id, title, value) VALUES (53, 'explicit', 7);
SELECT ok((SELECT value BETWEEN 0 AND 1000 FROM library WHERE id = 52),
	'a row inserted through the new version gets a value from the default');
SELECT is((SELECT value FROM library WHERE id = 53), 7,
	'a value written through the new version is kept');
SELECT throws_ok($$INSERT INTO library (id, title, value) VALUES (54, 'x', NULL)$$, '23514',
	NULL, 'NULL in the NOT NULL column is rejected through the new version');
RESET search_path;
SELECT is((SELECT count(*)::int FROM app.library WHERE _mig_new_value IS NULL), 50,
	'existing rows have no value before the backfill');
SELECT throws_ok($$SELECT count(*) FROM app_04_value.library$$, '55000', NULL,
	'so the new version refuses to show them until the backfill has written them');
CALL mig.backfill('app');
SELECT is((SELECT count(*)::int FROM app_04_value.library WHERE value BETWEEN 0 AND 1000), 53,
	'after the backfill every row has a value of the default');
SELECT ok((SELECT count(DISTINCT value) > 1 FROM app_04_value.library WHERE id <= 50),
	'the default was computed for each existing row, not once for all');
SELECT is((SELECT value FROM app_04_value.library WHERE id = 53), 7,
	'the backfill left the value written through the new version');
SELECT is(mig.complete('app'), 'app_04_value', 'complete');
SELECT col_not_null('app', 'library', 'value', 'the NOT NULL column is NOT NULL after complete');
SELECT ok(pg_temp.col_default('app.library', 'value') LIKE '%random()%',
	'the volatile default is on the final column');
SELECT is((SELECT count(*)::int FROM pg_constraint WHERE conrelid = 'app.library'::regclass AND contype = 'c'), 0,
	'no check is left behind');
INSERT INTO app_04_value.library (id, title) VALUES (54, 'after');
SELECT ok((SELECT value BETWEEN 0 AND 1000 FROM app_04_value.library WHERE id = 54),
	'the default gives rows inserted after complete a value');

------------------------------------------------------------------------------
-- serial types: the sequence PostgreSQL would create, owned by the column;
-- and a volatile default without "up"
------------------------------------------------------------------------------
CREATE SEQUENCE app.library_shelf_seq;
CREATE TEMP TABLE before_serial AS SELECT mig.read_schema('app') AS s;
UPDATE filenode SET f = pg_relation_filenode('app.library');
CREATE TEMP TABLE doc_serial AS SELECT $j${"operations": [
	{"add_column": {"table": "library", "column": {"name": "copy_no", "type": "serial"}}},
	{"add_column": {"table": "library", "column": {"name": "shelf", "type": "bigserial"}}},
	{"add_column": {"table": "library", "column": {"name": "luck", "type": "float8", "nullable": true,
		"default": "random()"}}}
]}$j$::jsonb AS d;

SELECT is(mig.start('05_serial', (SELECT d FROM doc_serial), 'app'), 'app_05_serial',
	'serial columns and a volatile default without "up" start');
SELECT is(pg_relation_filenode('app.library'), (SELECT f FROM filenode),
	'adding the columns did not rewrite the table');
SELECT is(pg_get_serial_sequence('app.library', '_mig_new_copy_no'), 'app.library_copy_no_seq',
	'the serial column owns the sequence PostgreSQL would have created');
SELECT is(pg_get_serial_sequence('app.library', '_mig_new_shelf'), 'app.library_shelf_seq1',
	'a sequence name in use is not taken');
SELECT col_type_is('app_05_serial', 'library', 'copy_no', 'integer', 'serial is integer');
SELECT col_type_is('app_05_serial', 'library', 'shelf', 'bigint', 'bigserial is bigint');
SELECT is(mig.rollback('app'), 'app_04_value', 'rollback');
SELECT hasnt_sequence('app', 'library_copy_no_seq', 'rollback drops the sequence');
SELECT has_sequence('app', 'library_shelf_seq', 'rollback keeps the sequence that was there before');
SELECT is(mig.read_schema('app'), (SELECT s FROM before_serial), 'the base schema is exactly as before');

SELECT is(mig.start('05_serial', (SELECT d FROM doc_serial), 'app'), 'app_05_serial', 'start again');
SET LOCAL search_path = app_04_value, public;
INSERT INTO library (id, title) VALUES (60, 'old');
SET LOCAL search_path = app_05_serial, public;
INSERT INTO library (id, title) VALUES (61, 'new');
RESET search_path;
CALL mig.backfill('app');
SELECT results_eq($$SELECT count(*)::int, count(copy_no)::int, count(DISTINCT copy_no)::int,
		count(DISTINCT shelf)::int, count(luck)::int FROM app_05_serial.library$$,
	$$VALUES (56, 56, 56, 56, 56)$$,
	'after the backfill existing and new rows have distinct serial numbers and a value of the default');
SELECT is(mig.complete('app'), 'app_05_serial', 'complete');
SELECT col_not_null('app', 'library', 'copy_no', 'the serial column is NOT NULL after complete');
SELECT col_is_null('app', 'library', 'luck', 'the nullable column is nullable after complete');
SELECT is(pg_get_serial_sequence('app.library', 'copy_no'), 'app.library_copy_no_seq',
	'the sequence is owned by the column under its final name');
INSERT INTO app_05_serial.library (id, title) VALUES (62, 'after');
SELECT is((SELECT copy_no FROM app_05_serial.library WHERE id = 62),
	(SELECT max(copy_no) FROM app_05_serial.library WHERE id <> 62) + 1,
	'the sequence numbers rows inserted after complete');

SELECT throws_ok($$SELECT mig.start('06_bad', '{"operations": [{"add_column": {"table": "library", "column": {"name": "x", "type": "serial", "default": "1"}}}]}', 'app')$$,
	'42601', NULL, 'a serial column with a default is refused');
SELECT throws_ok($$SELECT mig.start('06_bad', '{"operations": [{"add_column": {"table": "library", "column": {"name": "x", "type": "serial", "nullable": true}}}]}', 'app')$$,
	'42601', NULL, 'a nullable serial column is refused');

SELECT * FROM finish();
ROLLBACK;
