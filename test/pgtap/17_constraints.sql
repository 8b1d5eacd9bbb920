-- create_constraint, drop_constraint, drop_multicolumn_constraint (pgroll
-- examples 23, 24, 27, 44, 45, 47, 48, 55): the constrained columns are
-- duplicated, the new version's copies carry the new constraint or lack the
-- dropped one, up and down translate; rollback leaves nothing, complete
-- leaves the constraint (or its absence) on the final columns.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(37);

CREATE SCHEMA app;
SELECT mig.start('01_init', '{"operations": [
	{"create_table": {"name": "sellers", "columns": [
		{"name": "name", "type": "varchar(255)", "pk": true},
		{"name": "zip", "type": "integer", "pk": true}]}},
	{"create_table": {"name": "tickets", "columns": [
		{"name": "ticket_id", "type": "serial", "pk": true},
		{"name": "sellers_name", "type": "varchar(255)", "nullable": true},
		{"name": "sellers_zip", "type": "integer", "nullable": true},
		{"name": "note", "type": "text", "nullable": true,
		 "check": {"name": "note_length", "constraint": "length(note) > 3"}}]}}]}', 'app');
SELECT mig.complete('app');
INSERT INTO app.sellers VALUES ('alice', 1), ('bob', 2);
INSERT INTO app.tickets (sellers_name, sellers_zip, note)
	SELECT CASE WHEN g % 2 = 0 THEN 'alice' ELSE 'bob' END, g % 2 + 1, 'note ' || g
	FROM generate_series(1, 100) g;
INSERT INTO app.tickets (sellers_name, sellers_zip) VALUES ('carol', -1);
CREATE TEMP TABLE before AS SELECT mig.read_schema('app') AS s;

------------------------------------------------------------------------------
-- create_constraint check over two columns (example 45)
------------------------------------------------------------------------------
SELECT is(mig.start('02_check', '{"operations": [{"create_constraint": {"type": "check",
	"table": "tickets", "name": "check_zip_name", "columns": ["sellers_name", "sellers_zip"],
	"check": "sellers_name = ''alice'' OR sellers_zip > 0",
	"up": {"sellers_name": "sellers_name",
	       "sellers_zip": "SELECT CASE WHEN sellers_name != ''alice'' AND sellers_zip <= 0 THEN 123 ELSE sellers_zip END"},
	"down": {"sellers_name": "sellers_name", "sellers_zip": "sellers_zip"}}}]}', 'app'),
	'app_02_check', 'create_constraint (check) starts');
CALL mig.wait('app');
SELECT is((SELECT sellers_zip FROM app_02_check.tickets WHERE sellers_name = 'carol'), 123,
	'up fixed the row that breaks the check, in the new version');
SELECT is((SELECT sellers_zip FROM app_01_init.tickets WHERE sellers_name = 'carol'), -1,
	'the old version still sees the old value');
SET LOCAL search_path = app_01_init, public;
SELECT lives_ok($$INSERT INTO tickets (sellers_name, sellers_zip) VALUES ('dave', -5)$$,
	'the old version may write a row the check rejects');
SET LOCAL search_path = app_02_check, public;
SELECT throws_ok($$INSERT INTO tickets (sellers_name, sellers_zip) VALUES ('erin', -5)$$, '23514', NULL,
	'the new version may not');
SELECT lives_ok($$INSERT INTO tickets (sellers_name, sellers_zip) VALUES ('alice', -5)$$,
	'but may write what the check allows');
RESET search_path;
SELECT is((SELECT sellers_zip FROM app_02_check.tickets WHERE sellers_name = 'dave'), 123,
	'the old version''s row reads up''s result in the new version');
SELECT is((SELECT sellers_zip FROM app_01_init.tickets WHERE sellers_name = 'alice' AND sellers_zip = -5), -5,
	'the new version''s row reads down''s result in the old version');
SELECT mig.rollback('app');
SELECT is(mig.read_schema('app'), (SELECT s FROM before), 'rollback leaves the schema exactly as before');
SELECT is((SELECT count(*)::int FROM app.tickets), 103, 'and loses no row');
DELETE FROM app.tickets WHERE sellers_name IN ('dave', 'alice') AND sellers_zip = -5;

SELECT mig.start('02_check', '{"operations": [{"create_constraint": {"type": "check",
	"table": "tickets", "name": "check_zip_name", "columns": ["sellers_name", "sellers_zip"],
	"check": "sellers_name = ''alice'' OR sellers_zip > 0",
	"up": {"sellers_name": "sellers_name",
	       "sellers_zip": "SELECT CASE WHEN sellers_name != ''alice'' AND sellers_zip <= 0 THEN 123 ELSE sellers_zip END"},
	"down": {"sellers_name": "sellers_name", "sellers_zip": "sellers_zip"}}}]}', 'app');
CALL mig.wait('app');
SELECT mig.complete('app');
SELECT is((SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'check_zip_name'),
	'CHECK ((((sellers_name)::text = ''alice''::text) OR (sellers_zip > 0)))',
	'after complete the check is on the final columns, validated');
SELECT is((SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'note_length'),
	'CHECK ((length(note) > 3))', 'a constraint on another column is untouched');
SELECT is((SELECT sellers_zip FROM app.tickets WHERE sellers_name = 'carol'), 123, 'the data are the new version''s');

------------------------------------------------------------------------------
-- create_constraint unique and foreign_key (examples 44, 47)
------------------------------------------------------------------------------
DELETE FROM app.tickets WHERE sellers_name = 'carol';
SELECT is(mig.start('03_unique_fk', '{"operations": [
	{"create_constraint": {"type": "unique", "table": "tickets", "name": "unique_zip_name",
	 "columns": ["sellers_name", "note"],
	 "up": {"sellers_name": "sellers_name", "note": "note"},
	 "down": {"sellers_name": "sellers_name", "note": "note"}}},
	{"create_constraint": {"type": "foreign_key", "table": "tickets", "name": "fk_sellers",
	 "columns": ["sellers_name", "sellers_zip"],
	 "references": {"table": "sellers", "columns": ["name", "zip"]},
	 "up": {"sellers_name": "sellers_name", "sellers_zip": "sellers_zip"},
	 "down": {"sellers_name": "sellers_name", "sellers_zip": "sellers_zip"}}}]}', 'app'),
	'app_03_unique_fk', 'create_constraint (unique, then foreign_key over an overlapping column) starts');
CALL mig.wait('app');
SET LOCAL search_path = app_03_unique_fk, public;
SELECT throws_ok($$INSERT INTO tickets (sellers_name, sellers_zip, note) VALUES ('bob', 2, 'note 1')$$, '23505', NULL,
	'the new version enforces the unique constraint');
SELECT throws_ok($$INSERT INTO tickets (sellers_name, sellers_zip, note) VALUES ('zed', 9, 'fresh')$$, '23503', NULL,
	'and the foreign key');
SET LOCAL search_path = app_02_check, public;
SELECT lives_ok($$INSERT INTO tickets (sellers_name, sellers_zip, note) VALUES ('alice', 1, 'twice'), ('alice', 1, 'twice 2')$$,
	'the old version writes as before');
RESET search_path;
SELECT is((SELECT count(*)::int FROM app_03_unique_fk.tickets WHERE note LIKE 'twice%'), 2, 'and the new version sees its rows');
SELECT mig.complete('app');
SELECT is((SELECT contype::text FROM pg_constraint WHERE conname = 'unique_zip_name'), 'u',
	'after complete the unique constraint exists');
SELECT col_is_unique('app', 'tickets', ARRAY['sellers_name', 'note'], 'over the final columns');
SELECT is((SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'fk_sellers'),
	'FOREIGN KEY (sellers_name, sellers_zip) REFERENCES app.sellers(name, zip)', 'and the foreign key, validated');
SELECT is((SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'check_zip_name'),
	'CHECK ((((sellers_name)::text = ''alice''::text) OR (sellers_zip > 0)))',
	'the check the previous migration made was carried over to the new copies');

------------------------------------------------------------------------------
-- drop_constraint (examples 23, 24, 27) and drop_multicolumn_constraint (48)
------------------------------------------------------------------------------
CREATE TEMP TABLE before4 AS SELECT mig.read_schema('app') AS s;
SELECT is(mig.start('04_drop', '{"operations": [
	{"drop_constraint": {"table": "tickets", "name": "note_length", "up": "note",
	 "down": "SELECT CASE WHEN length(note) <= 3 THEN LPAD(note, 4, ''-'') ELSE note END"}},
	{"drop_multicolumn_constraint": {"table": "tickets", "name": "check_zip_name",
	 "down": {"sellers_name": "sellers_name",
	          "sellers_zip": "SELECT CASE WHEN sellers_zip <= 0 AND sellers_name != ''alice'' THEN 1 ELSE sellers_zip END"}}}]}', 'app'),
	'app_04_drop', 'drop_constraint and drop_multicolumn_constraint start');
SET LOCAL search_path = app_04_drop, public;
SELECT lives_ok($$INSERT INTO tickets (sellers_name, sellers_zip, note) VALUES ('bob', 2, 'ab')$$,
	'the new version may write what the dropped check rejected');
RESET search_path;
SELECT is((SELECT note FROM app_03_unique_fk.tickets WHERE sellers_name = 'bob' AND note LIKE '%ab'), '--ab',
	'the old version reads down''s result, which its check accepts');
SELECT is((SELECT note FROM app_04_drop.tickets WHERE sellers_name = 'bob' AND note LIKE '%ab'), 'ab',
	'the new version reads what it wrote');
SELECT mig.rollback('app');
SELECT is(mig.read_schema('app'), (SELECT s FROM before4), 'rollback leaves the schema exactly as before');
SELECT mig.start('04_drop', '{"operations": [
	{"drop_constraint": {"table": "tickets", "name": "note_length", "up": "note",
	 "down": "SELECT CASE WHEN length(note) <= 3 THEN LPAD(note, 4, ''-'') ELSE note END"}},
	{"drop_multicolumn_constraint": {"table": "tickets", "name": "check_zip_name",
	 "down": {"sellers_name": "sellers_name",
	          "sellers_zip": "SELECT CASE WHEN sellers_zip <= 0 AND sellers_name != ''alice'' THEN 1 ELSE sellers_zip END"}}}]}', 'app');
CALL mig.wait('app');
SELECT mig.complete('app');
SELECT is((SELECT count(*)::int FROM pg_constraint WHERE conname IN ('note_length', 'check_zip_name')), 0,
	'after complete the dropped constraints are gone');
SELECT is((SELECT count(*)::int FROM pg_constraint WHERE conname IN ('unique_zip_name', 'fk_sellers')), 2,
	'and the others on the same columns were carried over under their names');
SELECT is((SELECT count(*)::int FROM pg_constraint WHERE conrelid = 'app.tickets'::regclass AND conname LIKE '\_mig%'), 0,
	'no internal constraint is left');

SELECT mig.start('05_drop_unique', '{"operations": [{"drop_multicolumn_constraint": {"table": "tickets",
	"name": "unique_zip_name", "down": {"sellers_name": "sellers_name", "note": "note || ''?''"}}}]}', 'app');
SET LOCAL search_path = app_05_drop_unique, public;
SELECT lives_ok($$INSERT INTO tickets (sellers_name, sellers_zip, note) VALUES ('bob', 2, 'note 1')$$,
	'after drop_multicolumn_constraint (unique) the new version may write a duplicate');
RESET search_path;
SELECT throws_ok($$SELECT mig.start('x', '{"operations": [{"drop_constraint": {"table": "tickets", "name": "fk_sellers", "up": "sellers_zip", "down": "sellers_zip"}}]}', 'app')$$,
	'55000', NULL, 'while a migration is in progress another cannot start');
CALL mig.wait('app');
SELECT mig.complete('app');
SELECT is((SELECT count(*)::int FROM pg_constraint WHERE conname = 'unique_zip_name'), 0, 'after complete the unique constraint is gone');

------------------------------------------------------------------------------
-- primary keys: on an existing table, and on a table the migration creates
-- (example 55)
------------------------------------------------------------------------------
CREATE TABLE app.logs (id integer, msg text);
INSERT INTO app.logs VALUES (1, 'a'), (2, 'b');
SELECT mig.start('06_pk', '{"operations": [
	{"create_constraint": {"type": "primary_key", "table": "logs", "name": "logs_pkey", "columns": ["id"],
	 "up": {"id": "id"}, "down": {"id": "id"}}},
	{"create_table": {"name": "tasks", "columns": [{"name": "id", "type": "serial"},
		{"name": "title", "type": "varchar(255)"}]}},
	{"create_constraint": {"type": "primary_key", "table": "tasks", "name": "tasks_pkey", "columns": ["id"],
	 "up": {"id": "id"}, "down": {"id": "id"}}}]}', 'app');
CALL mig.wait('app');
SET LOCAL search_path = app_06_pk, public;
SELECT throws_ok($$INSERT INTO logs (id, msg) VALUES (NULL, 'c')$$, '23514', NULL, 'the new version''s key rejects NULL');
SELECT throws_ok($$INSERT INTO logs (id, msg) VALUES (1, 'c')$$, '23505', NULL, 'and, once the backfill has run, duplicates');
RESET search_path;
SELECT mig.complete('app');
SELECT col_is_pk('app', 'logs', 'id', 'after complete logs has its primary key');
SELECT col_is_pk('app', 'tasks', 'id', 'and the table created by the migration has its own');

SELECT * FROM finish();
ROLLBACK;
