-- The backfill's two ways of writing a batch (src/backfill.c): straight to
-- the heap for an ordinary table, through an UPDATE statement for a table
-- the direct writer leaves alone (a deferrable unique constraint, a stored
-- generated column).  Either way: every row that predates the migration
-- gets up(old), no row written through a version since is touched, index
-- entries follow the rows, user triggers do not fire, and the constraints
-- the migration adds hold for what the backfill writes.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(21);

CREATE SCHEMA app;
SELECT mig.start('01_init', '{"operations": [
	{"create_table": {"name": "items", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "name", "type": "text"},
		{"name": "qty", "type": "integer", "nullable": true}]}},
	{"create_table": {"name": "codes", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "code", "type": "text"},
		{"name": "label", "type": "text"}]}},
	{"create_table": {"name": "boxes", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "w", "type": "integer"},
		{"name": "h", "type": "integer"},
		{"name": "label", "type": "text"},
		{"name": "area", "type": "integer", "generated": {"expression": "w * h"}}]}}]}', 'app');
SELECT mig.complete('app');
ALTER TABLE app.codes ADD CONSTRAINT codes_code_key UNIQUE (code) DEFERRABLE INITIALLY IMMEDIATE;
CREATE INDEX items_name_idx ON app.items (name);

-- a log of user triggers, an ordinary one and one that fires even as a replica
CREATE TABLE app.trigger_log (tbl text, id integer);
CREATE FUNCTION app.log_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO app.trigger_log VALUES (TG_TABLE_NAME, NEW.id);
	RETURN NEW;
END $$;
CREATE TRIGGER items_log BEFORE UPDATE ON app.items FOR EACH ROW EXECUTE FUNCTION app.log_write();
CREATE TRIGGER items_log_always BEFORE UPDATE ON app.items FOR EACH ROW EXECUTE FUNCTION app.log_write();
ALTER TABLE app.items ENABLE ALWAYS TRIGGER items_log_always;
CREATE TRIGGER codes_log BEFORE UPDATE ON app.codes FOR EACH ROW EXECUTE FUNCTION app.log_write();
CREATE TRIGGER boxes_log BEFORE UPDATE ON app.boxes FOR EACH ROW EXECUTE FUNCTION app.log_write();

INSERT INTO app.items SELECT g, 'item ' || g, g % 7 FROM generate_series(1, 2000) g;
INSERT INTO app.codes SELECT g, 'c' || g, 'l' || g FROM generate_series(1, 500) g;
INSERT INTO app.boxes SELECT g, g, 2, 'b' || g FROM generate_series(1, 500) g;

------------------------------------------------------------------------------
-- an ordinary table: written directly
------------------------------------------------------------------------------
SELECT is(mig.start('02_upper', '{"operations": [{"alter_column": {"table": "items",
	"column": "name", "type": "varchar(100)", "up": "upper(name)", "down": "lower(name)"}}]}', 'app'),
	'app_02_upper', 'a migration with a backfill of an ordinary table starts');

-- writes after start: through the new version a value that up(down(v))
-- would change, through the old version a new value, a delete and an insert
-- (the new version may write row 10 once it was written after start: the
-- backfill has not reached it, so it was refused before)
SET LOCAL search_path = app_02_upper, public;
SELECT throws_ok($$UPDATE items SET name = 'MiXeD' WHERE id = 10$$, '55000', NULL,
	'the new version refuses to write a row the backfill has not reached');
SET LOCAL search_path = app_01_init;
UPDATE items SET name = 'ten' WHERE id = 10;
SET LOCAL search_path = app_02_upper;
UPDATE items SET name = 'MiXeD' WHERE id = 10;
SET LOCAL search_path = app_01_init;
UPDATE items SET name = 'renamed' WHERE id = 20;
DELETE FROM items WHERE id = 30;
INSERT INTO items VALUES (3000, 'late', 1);
RESET search_path;
DELETE FROM app.trigger_log;

CALL mig.backfill('app', 300);
SELECT is((SELECT count(*)::int FROM app_02_upper.items WHERE name IS DISTINCT FROM upper(
		(SELECT o.name FROM app_01_init.items o WHERE o.id = items.id)) AND id <> 10), 0,
	'every row of the new version has up(old)');
SELECT is((SELECT name FROM app_02_upper.items WHERE id = 10), 'MiXeD',
	'the value written through the new version is not overwritten by the backfill');
SELECT is((SELECT name FROM app_02_upper.items WHERE id = 20), 'RENAMED',
	'a row written through the old version after start has up of its new value');
SELECT is((SELECT count(*)::int FROM app_02_upper.items), 2000, 'no row lost, none resurrected');
SELECT is((SELECT rows_done::int FROM mig.job_queue WHERE schema = 'app' AND kind = 'backfill'), 1997,
	'the backfill wrote exactly the rows that predate the migration and were not written since');
SELECT is((SELECT count(*)::int FROM app.trigger_log), 0,
	'no user trigger fires for backfill writes, not even one enabled ALWAYS');

SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*)::int FROM app.items WHERE name >= ''), 2000,
	'an index scan of the old column finds every row version the backfill wrote');
RESET enable_seqscan;
RESET enable_bitmapscan;

SELECT is(mig.complete('app'), 'app_02_upper', 'complete succeeds');
SELECT is((SELECT name FROM app.items WHERE id = 7), 'ITEM 7', 'the final column holds the backfilled values');

------------------------------------------------------------------------------
-- constraints the migration adds hold for what the backfill writes
------------------------------------------------------------------------------
SELECT mig.start('03_qty', '{"operations": [{"alter_column": {"table": "items",
	"column": "qty", "check": {"name": "qty_positive", "constraint": "qty > 0"},
	"up": "qty", "down": "qty"}}]}', 'app');
SAVEPOINT s;
SELECT throws_like($$CALL mig.backfill('app')$$,
	'%violates check constraint "qty_positive"%',
	'a backfilled row that breaks the new check constraint fails the backfill');
ROLLBACK TO SAVEPOINT s;
SELECT mig.rollback('app');

SELECT mig.start('04_qty', '{"operations": [{"alter_column": {"table": "items",
	"column": "qty", "unique": {"name": "items_qty_key"}, "up": "qty", "down": "qty"}}]}', 'app');
CALL mig.backfill('app');
SAVEPOINT s;
SELECT throws_ok($$SELECT mig.complete('app')$$, '23505', NULL,
	'backfilled duplicates keep the new unique index from being built: complete fails');
ROLLBACK TO SAVEPOINT s;
SELECT mig.rollback('app');
SELECT is((SELECT count(*)::int FROM app.items WHERE qty IS NOT NULL), 2000, 'after rollback no row is lost');

------------------------------------------------------------------------------
-- tables the direct writer leaves to the UPDATE statement
------------------------------------------------------------------------------
SELECT mig.start('05_others', '{"operations": [
	{"alter_column": {"table": "codes", "column": "label", "type": "varchar(50)", "up": "upper(label)", "down": "lower(label)"}},
	{"alter_column": {"table": "boxes", "column": "label", "type": "varchar(50)", "up": "upper(label)", "down": "lower(label)"}}]}', 'app');
-- (row 5 written after start first: the new version refuses a row the
-- backfill has not reached)
UPDATE app.codes SET label = 'five' WHERE id = 5;
SET LOCAL search_path = app_05_others;
UPDATE codes SET label = 'NeW' WHERE id = 5;
RESET search_path;
DELETE FROM app.trigger_log;
CALL mig.backfill('app', 100);
SELECT is((SELECT count(*)::int FROM app_05_others.codes WHERE label <> upper('l' || id) AND id <> 5), 0,
	'a table with a deferrable unique constraint: every row has up(old)');
SELECT is((SELECT label FROM app_05_others.codes WHERE id = 5), 'NeW',
	'and the value written through the new version is not overwritten');
SELECT is((SELECT count(*)::int FROM app_05_others.boxes WHERE label <> upper('b' || id)), 0,
	'a table with a stored generated column: every row has up(old)');
SELECT is((SELECT count(*)::int FROM app_05_others.boxes WHERE area <> id * 2), 0,
	'and its generated column is unchanged');
SELECT is((SELECT count(*)::int FROM app.trigger_log), 0, 'no ordinary user trigger fires for their backfill');
SELECT is(mig.complete('app'), 'app_05_others', 'complete succeeds');
SELECT is((SELECT count(*)::int FROM app.codes WHERE label = upper('l' || id)), 499,
	'the final column holds the backfilled values');

SELECT * FROM finish();
ROLLBACK;
