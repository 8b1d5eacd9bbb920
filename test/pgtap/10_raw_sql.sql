-- Raw sql: "up" at start (its tables get views in the new version), "down"
-- on rollback, "onComplete" runs "up" at complete; later migrations build on
-- what raw SQL created.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(58);

CREATE SCHEMA app;
CREATE ROLE mig_t10_reader;
GRANT USAGE ON SCHEMA app TO mig_t10_reader;
CREATE FUNCTION pg_temp.cols(rel regclass) RETURNS name[] LANGUAGE sql STABLE AS $$
	SELECT array_agg(attname ORDER BY attnum) FROM pg_attribute
	WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped
$$;
CREATE FUNCTION pg_temp.col_default(rel regclass, col name) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a
	JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	WHERE a.attrelid = rel AND a.attname = col
$$;

------------------------------------------------------------------------------
-- 01: up creates a table (unqualified: it lands in the migrated schema)
------------------------------------------------------------------------------
CREATE TEMP TABLE doc1 AS SELECT $j${"operations": [{"sql": {
	"up": "CREATE TABLE notes (id integer PRIMARY KEY, body text DEFAULT 'empty'); GRANT SELECT ON notes TO mig_t10_reader",
	"down": "DROP TABLE notes"}}]}$j$::jsonb AS d;

SELECT is(mig.start('01_notes', (SELECT d FROM doc1), 'app'), 'app_01_notes', 'raw sql migration starts');
SELECT has_table('app', 'notes', 'up ran at start, in the migrated schema');
SELECT has_view('app_01_notes', 'notes', 'the table created by raw SQL has a view in the new version');
SELECT is(pg_temp.cols('app_01_notes.notes'), ARRAY['id', 'body']::name[], 'the view has the table''s columns');
SELECT is(pg_temp.col_default('app_01_notes.notes', 'body'), '''empty''::text',
	'the default of the table created by raw SQL is carried to its view');
SELECT ok(has_table_privilege('mig_t10_reader', 'app_01_notes.notes', 'SELECT'),
	'the grant made by raw SQL is carried to the view');
SELECT lives_ok($$INSERT INTO app_01_notes.notes (id) VALUES (1)$$, 'insert through the view');
SELECT results_eq($$SELECT id, body FROM app_01_notes.notes$$, $$VALUES (1, 'empty')$$,
	'read through the view');

SELECT is(mig.rollback('app'), 'app', 'rollback');
SELECT hasnt_table('app', 'notes', 'rollback ran down');
SELECT hasnt_schema('app_01_notes', 'rollback dropped the version schema');
SELECT is((SELECT status FROM mig.status('app')), 'No migrations', 'status after rollback');

SELECT is(mig.start('01_notes', (SELECT d FROM doc1), 'app'), 'app_01_notes', 'start again');
SELECT is(mig.complete('app'), 'app_01_notes', 'complete');
SELECT has_table('app', 'notes', 'the table stays after complete');
SELECT lives_ok($$INSERT INTO app_01_notes.notes VALUES (1, 'one'), (2, 'two')$$,
	'the view is writable after complete');

------------------------------------------------------------------------------
-- 02: a later migration builds on the table created by raw SQL
------------------------------------------------------------------------------
SELECT is(mig.start('02_author', $j${"operations": [{"add_column": {"table": "notes",
	"column": {"name": "author", "type": "text", "nullable": true}}}]}$j$, 'app'),
	'app_02_author', 'add_column on the table created by raw SQL starts');
SELECT lives_ok($$INSERT INTO app_01_notes.notes VALUES (3, 'three')$$, 'insert through the old version');
SELECT lives_ok($$INSERT INTO app_02_author.notes VALUES (4, 'four', 'me')$$, 'insert through the new version');
SELECT results_eq($$SELECT id, body, author FROM app_02_author.notes ORDER BY id$$,
	$$VALUES (1, 'one', NULL), (2, 'two', NULL), (3, 'three', NULL), (4, 'four', 'me')$$,
	'the new version reads every row');
SELECT is(mig.complete('app'), 'app_02_author', 'complete');
SELECT has_column('app', 'notes', 'author', 'the added column has its final name');

------------------------------------------------------------------------------
-- 03: raw SQL that alters an existing table
------------------------------------------------------------------------------
CREATE TEMP TABLE before AS SELECT mig.read_schema('app') AS s;
SELECT is(mig.start('03_tags', $j${"operations": [{"sql": {
	"up": "ALTER TABLE notes ADD COLUMN tags text[]",
	"down": "ALTER TABLE notes DROP COLUMN tags"}}]}$j$, 'app'),
	'app_03_tags', 'raw SQL altering a table starts');
SELECT is(pg_temp.cols('app_03_tags.notes'), ARRAY['id', 'body', 'author', 'tags']::name[],
	'the new version has the column added by raw SQL');
SELECT is(pg_temp.cols('app_02_author.notes'), ARRAY['id', 'body', 'author']::name[],
	'the old version does not');
SELECT lives_ok($$INSERT INTO app_02_author.notes VALUES (5, 'five', 'x')$$, 'insert through the old version');
SELECT lives_ok($$INSERT INTO app_03_tags.notes VALUES (6, 'six', 'y', '{a,b}')$$, 'insert through the new version');
SELECT is(mig.rollback('app'), 'app_02_author', 'rollback');
SELECT is(mig.read_schema('app'), (SELECT s FROM before), 'down restored the base schema exactly');
SELECT results_eq($$SELECT id FROM app_02_author.notes ORDER BY id$$,
	$$VALUES (1), (2), (3), (4), (5), (6)$$, 'no row written during the migration is lost');

------------------------------------------------------------------------------
-- 04: onComplete, together with another operation
------------------------------------------------------------------------------
CREATE TEMP TABLE doc4 AS SELECT $j${"operations": [
	{"create_table": {"name": "events", "columns": [{"name": "id", "type": "integer", "pk": true}]}},
	{"sql": {"up": "CREATE TABLE audit (id integer PRIMARY KEY, what text DEFAULT 'x')", "onComplete": true}}]}$j$::jsonb AS d;

SELECT is(mig.start('04_audit', (SELECT d FROM doc4), 'app'), 'app_04_audit',
	'a migration with onComplete SQL and another operation starts');
SELECT hasnt_table('app', 'audit', 'onComplete SQL does not run at start');
SELECT has_view('app_04_audit', 'events', 'the other operation took effect');
SELECT is(mig.rollback('app'), 'app_02_author', 'rollback');
SELECT hasnt_table('app', 'audit', 'onComplete SQL did not run on rollback');
SELECT hasnt_table('app', 'events', 'rollback undid the other operation');

SELECT is(mig.start('04_audit', (SELECT d FROM doc4), 'app'), 'app_04_audit', 'start again');
SELECT lives_ok($$INSERT INTO app_04_audit.events VALUES (1)$$, 'write through the new version');
SELECT is(mig.complete('app'), 'app_04_audit', 'complete');
SELECT has_table('app', 'audit', 'onComplete SQL ran at complete');
SELECT has_view('app_04_audit', 'audit', 'the table created at complete has a view in the new version');
SELECT is(pg_temp.col_default('app_04_audit.audit', 'what'), '''x''::text',
	'the default of the table created at complete is carried to its view');
SELECT has_view('app_04_audit', 'events', 'the refreshed version keeps the other views');
SELECT hasnt_schema('app_02_author', 'the previous version schema is gone');
SELECT lives_ok($$INSERT INTO app_04_audit.audit (id) VALUES (1)$$, 'the new view is writable');
SELECT results_eq($$SELECT id, what FROM app_04_audit.audit$$, $$VALUES (1, 'x')$$, 'and readable');
SELECT results_eq($$SELECT id FROM app_04_audit.events$$, $$VALUES (1)$$,
	'rows written before complete are read through the refreshed version');

------------------------------------------------------------------------------
-- failures
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT mig.start('05_bad', '{"operations": [{"sql": {"up": "ALTER TABLE nope ADD COLUMN x int"}}]}', 'app')$$,
	'42P01', NULL, 'failing raw SQL fails the start with its own error');
SELECT hasnt_schema('app_05_bad', 'no version schema for the failed migration');
SELECT throws_ok($$SELECT mig.start('05_bad', '{"operations": [{"sql": {"up": "SELECT 1"}}, {"drop_table": {"name": "events"}}]}', 'app')$$,
	'22023', NULL, 'raw SQL without onComplete must be the only operation');
SELECT throws_ok($$SELECT mig.start('05_bad', '{"operations": [{"sql": {"up": "SELECT 1", "down": "SELECT 2", "onComplete": true}}]}', 'app')$$,
	'22023', NULL, 'onComplete with down is invalid');
SELECT has_table('app', 'events', 'failed migrations changed nothing');

SELECT is(mig.start('05_late_failure', $j${"operations": [{"sql": {"up": "ALTER TABLE nope ADD COLUMN x int", "onComplete": true}}]}$j$, 'app'),
	'app_05_late_failure', 'a migration whose onComplete SQL will fail starts');
SELECT throws_ok($$SELECT mig.complete('app')$$, '42P01', NULL, 'complete fails with the SQL''s error');
SELECT is((SELECT status FROM mig.status('app')), 'In progress', 'the migration is still in progress after the failed complete');
SELECT has_schema('app_04_audit', 'the failed complete did not drop the previous version schema');
SELECT is(mig.rollback('app'), 'app_04_audit', 'the migration can be rolled back after the failed complete');
SELECT is((SELECT migration FROM mig.status('app')), '04_audit', 'status after the rollback');

SELECT * FROM finish();
ROLLBACK;
