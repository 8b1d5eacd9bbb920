-- drop_table: soft drop at start (the old version keeps reading and
-- writing), restored by rollback, dropped at complete.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(33);

CREATE SCHEMA app;

SELECT lives_ok($$SELECT mig.start('01_init', $j${"operations": [
	{"create_table": {"name": "items", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "name", "type": "text"}]}},
	{"create_table": {"name": "keep", "columns": [
		{"name": "id", "type": "integer", "pk": true}]}}]}$j$, 'app');
	SELECT mig.complete('app')$$, 'setup: create items and keep');
INSERT INTO app_01_init.items VALUES (1, 'a'), (2, 'b');
INSERT INTO app_01_init.keep VALUES (1);
CREATE TEMP TABLE before AS SELECT mig.read_schema('app') AS s;

CREATE TEMP TABLE doc AS SELECT $j${"operations": [{"drop_table": {"name": "items"}}]}$j$::jsonb AS d;

------------------------------------------------------------------------------
-- start
------------------------------------------------------------------------------
SELECT is(mig.start('02_drop', (SELECT d FROM doc), 'app'), 'app_02_drop', 'drop_table starts');
SELECT hasnt_view('app_02_drop', 'items', 'the dropped table has no view in the new version');
SELECT has_view('app_02_drop', 'keep', 'other tables keep their view');
SELECT has_view('app_01_init', 'items', 'the old version still has the table');
SELECT hasnt_table('app', 'items', 'the table is moved out of the way at start');
SELECT has_table('app', '_mig_del_items', 'the table is kept under its soft-deleted name');
SELECT lives_ok($$INSERT INTO app_01_init.items VALUES (3, 'old')$$,
	'the old version can still write the dropped table');
SELECT lives_ok($$UPDATE app_01_init.items SET name = 'A' WHERE id = 1$$,
	'the old version can still update the dropped table');
SELECT results_eq($$SELECT id, name FROM app_01_init.items ORDER BY id$$,
	$$VALUES (1, 'A'), (2, 'b'), (3, 'old')$$,
	'the old version still reads the dropped table');
SELECT lives_ok($$INSERT INTO app_02_drop.keep VALUES (2)$$, 'the new version writes the other table');
SELECT results_eq($$SELECT id FROM app_01_init.keep ORDER BY id$$, $$VALUES (1), (2)$$,
	'the old version sees the other table''s writes');
SELECT throws_ok($$SELECT mig.start('02_x', '{"operations": [{"create_table": {"name": "x", "columns": [{"name": "id", "type": "int"}]}}]}', 'app')$$,
	'55000', NULL, 'no other migration can start meanwhile');

------------------------------------------------------------------------------
-- rollback
------------------------------------------------------------------------------
SELECT is(mig.rollback('app'), 'app_01_init', 'rollback');
SELECT has_table('app', 'items', 'rollback restores the table''s name');
SELECT hasnt_table('app', '_mig_del_items', 'no soft-deleted table after rollback');
SELECT hasnt_schema('app_02_drop', 'the new version schema is gone');
SELECT is(mig.read_schema('app'), (SELECT s FROM before), 'the base schema is exactly as before');
SELECT results_eq($$SELECT id, name FROM app.items ORDER BY id$$,
	$$VALUES (1, 'A'), (2, 'b'), (3, 'old')$$,
	'rows written through the old version during the migration are kept');
SELECT lives_ok($$INSERT INTO app_01_init.items VALUES (4, 'after')$$,
	'the old version writes the table after rollback');

------------------------------------------------------------------------------
-- start again and complete
------------------------------------------------------------------------------
SELECT is(mig.start('02_drop', (SELECT d FROM doc), 'app'), 'app_02_drop', 'start again');
SELECT is(mig.complete('app'), 'app_02_drop', 'complete');
SELECT hasnt_table('app', 'items', 'the table is gone after complete');
SELECT hasnt_table('app', '_mig_del_items', 'the soft-deleted table is dropped at complete');
SELECT hasnt_schema('app_01_init', 'the previous version schema is gone');
SELECT results_eq($$SELECT id FROM app_02_drop.keep ORDER BY id$$, $$VALUES (1), (2)$$,
	'the new version reads the remaining table after complete');
SELECT lives_ok($$INSERT INTO app_02_drop.keep VALUES (3)$$, 'and writes it');

------------------------------------------------------------------------------
-- the name is free for a later migration; validation
------------------------------------------------------------------------------
SELECT lives_ok($$SELECT mig.start('03_items', '{"operations": [{"create_table": {"name": "items", "columns": [{"name": "id", "type": "int", "pk": true}, {"name": "note", "type": "text", "nullable": true}]}}]}', 'app');
	SELECT mig.complete('app')$$, 'a later migration creates a table with the dropped name');
SELECT has_column('app_03_items', 'items', 'note', 'the new table is in the new version');
SELECT throws_ok($$SELECT mig.start('04_bad', '{"operations": [{"drop_table": {"name": "nope"}}]}', 'app')$$,
	'42P01', NULL, 'dropping a missing table fails');
SELECT throws_ok($$SELECT mig.start('04_bad', '{"operations": [{"drop_table": {"name": "keep"}}, {"drop_table": {"name": "keep"}}]}', 'app')$$,
	'42P01', NULL, 'dropping a table twice in one migration fails');
SELECT has_table('app', 'keep', 'the failed migration left the table in place');
SELECT is((SELECT migration FROM mig.status('app')), '03_items', 'status unchanged by the failed migrations');

SELECT * FROM finish();
ROLLBACK;
