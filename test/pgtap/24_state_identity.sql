-- The state of a migration identifies its objects by name as well as by OID
-- (issue 14, item 3).  Start records the names of the objects its steps,
-- jobs and dual-write rules name by OID and attribute number, and the
-- database it ran in (mig.origin()).  A state whose OIDs and attribute
-- numbers are other objects' (what a restore from a dump leaves; written
-- here into the state tables by hand, every OID pointing at an unrelated
-- table, its constraint and its index) is resolved by the names: rollback
-- and complete act on the migrated table, never on the unrelated one; a
-- backfill whose snapshot is another database's, or whose table has a new
-- OID, is refused, and so is complete while it is unfinished.  A table
-- renamed by hand while its migration is in progress is refused until it is
-- renamed back.  test/t/012_dump_restore.pl restores real dumps.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(46);

CREATE SCHEMA app;
CREATE TABLE app.items (id integer PRIMARY KEY, gone integer, name text NOT NULL,
	price integer NOT NULL, legacy text);
ALTER TABLE app.items DROP COLUMN gone;
INSERT INTO app.items SELECT g, 'item ' || g, g, 'l' || g FROM generate_series(1, 100) g;
-- the unrelated table the forged state points at: more columns than items
CREATE TABLE app.other (c1 integer CONSTRAINT other_c1_check CHECK (c1 > 0), c2 integer,
	c3 integer, c4 integer, c5 integer, c6 integer, c7 integer, c8 integer, c9 integer,
	c10 integer, c11 integer, c12 integer);
CREATE INDEX other_c2_idx ON app.other (c2);
INSERT INTO app.other SELECT g, g, g, g, g, g, g, g, g, g, g, g FROM generate_series(1, 10) g;

CREATE FUNCTION pg_temp.shape(t text) RETURNS jsonb LANGUAGE sql AS $$
	SELECT (mig.read_schema('app')->'tables'->t) - 'oid'
$$;
CREATE FUNCTION pg_temp.rows(t text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r text;
BEGIN
	EXECUTE format('SELECT count(*) || '':'' || md5(string_agg(x::text, '';'' ORDER BY x::text)) FROM app.%I x', t)
	INTO r;
	RETURN r;
END
$$;
-- What a restore into another database leaves: OIDs of other objects,
-- attribute numbers shifted, the origin another database's.
CREATE FUNCTION pg_temp.forge(migration text, origin text, relid oid) RETURNS void LANGUAGE sql AS $$
	UPDATE mig.migrations SET origin = $2 WHERE schema = 'app' AND name = $1;
	UPDATE mig.steps SET step = step || jsonb_build_object('relid', $3)
	WHERE schema = 'app' AND migration = $1 AND step ? 'relid';
	UPDATE mig.steps SET step = step || jsonb_build_object('attnum', (step->>'attnum')::int + 3)
	WHERE schema = 'app' AND migration = $1 AND step ? 'attnum';
	UPDATE mig.steps SET step = step || jsonb_build_object('objid',
		CASE WHEN step->>'kind' LIKE '%constraint' THEN (SELECT oid FROM pg_constraint WHERE conname = 'other_c1_check')
			 ELSE 'app.other_c2_idx'::regclass::oid END)
	WHERE schema = 'app' AND migration = $1 AND step ? 'objid';
	UPDATE mig.dual_writes SET relid = $3 WHERE schema = 'app' AND migration = $1;
	UPDATE mig.job_queue SET relid = $3,
		objid = CASE kind WHEN 'validate' THEN (SELECT oid FROM pg_constraint WHERE conname = 'other_c1_check')
				ELSE 'app.other_c2_idx'::regclass::oid END
	WHERE schema = 'app' AND migration = $1;
$$;

CREATE TEMP TABLE before AS
SELECT pg_temp.shape('items') AS items_shape, pg_temp.rows('items') AS items_rows,
	   pg_temp.shape('other') AS other_shape, pg_temp.rows('other') AS other_rows;

CREATE TEMP TABLE doc AS SELECT $j${"operations": [
	{"add_column": {"table": "items", "column": {"name": "note", "type": "text"}, "up": "'n' || id"}},
	{"alter_column": {"table": "items", "column": "price", "type": "bigint",
	 "up": "price::bigint * 10", "down": "(price / 10)::integer"}},
	{"alter_column": {"table": "items", "column": "name", "unique": {"name": "items_name_key"},
	 "up": "name", "down": "name"}},
	{"create_index": {"name": "items_note_idx", "table": "items", "columns": [{"column": "note"}]}},
	{"drop_column": {"table": "items", "column": "legacy"}},
	{"rename_constraint": {"table": "items", "from": "items_pkey", "to": "items_pk"}}
]}$j$::jsonb AS d;

------------------------------------------------------------------------------
-- what start records
------------------------------------------------------------------------------
SELECT is(mig.start('02_many', (SELECT d FROM doc), 'app'), 'app_02_many', 'the migration starts');
SELECT matches(mig.origin(), '^[0-9]+/' || (SELECT oid FROM pg_database WHERE datname = current_database()) || '$',
	'mig.origin() is the system identifier and the database OID');
SELECT is((SELECT origin FROM mig.migrations WHERE schema = 'app' AND name = '02_many'), mig.origin(),
	'start records the origin of the migration');
SELECT cmp_ok((SELECT count(*) FROM mig.steps WHERE schema = 'app' AND step ? 'objid'), '>=', 4::bigint,
	'the migration has steps on constraints and indexes');
SELECT is((SELECT count(*) FROM mig.steps WHERE schema = 'app'
		   AND ((step ? 'relid' AND NOT step ? 'table') OR (step ? 'attnum' AND NOT step ? 'column')
				OR (step ? 'objid' AND NOT step ? 'object'))), 0::bigint,
	'every OID and attribute number of a step has its name recorded');
SELECT is((SELECT count(*) FROM mig.steps s WHERE schema = 'app' AND step ? 'relid'
		   AND (step->>'table' IS DISTINCT FROM format('%I.%I', 'app', (SELECT relname FROM pg_class WHERE oid = (step->>'relid')::oid))
				OR (step ? 'attnum' AND step->>'column' IS DISTINCT FROM
					(SELECT attname::text FROM pg_attribute WHERE attrelid = (step->>'relid')::oid AND attnum = (step->>'attnum')::int)))),
	0::bigint, 'the names are those the objects have');
SELECT is((SELECT count(*) FROM mig.job_queue WHERE schema = 'app'
		   AND (relname IS DISTINCT FROM 'app.items' OR (objid IS NOT NULL AND objname IS NULL))), 0::bigint,
	'every job has the names of its table and object recorded');
SELECT is((SELECT relname FROM mig.dual_writes WHERE schema = 'app'), 'app.items',
	'the dual-write rules have the name of their table recorded');

------------------------------------------------------------------------------
-- restored before the backfill was done: refused; rollback by names
------------------------------------------------------------------------------
SELECT pg_temp.forge('02_many', '1/1', 'app.other'::regclass);
SELECT is((SELECT string_agg(DISTINCT "table", ', ') FROM mig.jobs WHERE schema = 'app'), 'app.items',
	'mig.jobs shows the recorded table, not the one with the recorded OID');
SELECT throws_like($$CALL mig.backfill('app')$$,
	'backfill of app.items cannot be finished: migration "02_many" was restored from a dump taken while the backfill was unfinished',
	'a backfill whose snapshot is another database''s is refused');
SELECT throws_like($$SELECT mig.complete('app')$$,
	'cannot complete migration "02_many": it was restored from a dump taken while its backfill of app.items was unfinished',
	'complete refuses while that backfill is not done');
SELECT is(mig.rollback('app'), 'app', 'rollback succeeds');
SELECT is(pg_temp.shape('items'), (SELECT items_shape FROM before),
	'the migrated table has its columns, constraints and indexes of before start');
SELECT is(pg_temp.rows('items'), (SELECT items_rows FROM before), 'and its rows');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'app.items'::regclass), 0::bigint,
	'and no trigger');
SELECT is(pg_temp.shape('other'), (SELECT other_shape FROM before),
	'the table with the recorded OID keeps its columns, constraint and index');
SELECT is(pg_temp.rows('other'), (SELECT other_rows FROM before), 'and its rows');
SELECT hasnt_schema('app_02_many', 'the version schema is dropped');

------------------------------------------------------------------------------
-- restored after the backfill was done: complete works by names
------------------------------------------------------------------------------
SELECT is(mig.start('03_many', (SELECT d FROM doc), 'app'), 'app_03_many', 'the migration starts again');
CALL mig.backfill('app');
SELECT is((SELECT state FROM mig.job_queue WHERE schema = 'app' AND kind = 'backfill'), 'done',
	'its backfill is done');
SELECT pg_temp.forge('03_many', '1/1', 'app.other'::regclass);
SELECT is(mig.complete('app'), 'app_03_many', 'complete succeeds, its other jobs run by names');
SELECT is((SELECT array_agg(attname::text ORDER BY attname) FROM pg_attribute
		   WHERE attrelid = 'app.items'::regclass AND attnum > 0 AND NOT attisdropped),
	ARRAY['id', 'name', 'note', 'price'], 'the table has the new version''s columns, and no other');
SELECT is((SELECT count(*) FILTER (WHERE note = 'n' || id AND price = id * 10) FROM app.items), 100::bigint,
	'every row has its new values');
SELECT is((SELECT format_type(atttypid, atttypmod) FROM pg_attribute
		   WHERE attrelid = 'app.items'::regclass AND attname = 'price'), 'bigint', 'price is bigint');
SELECT ok(EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'app.items'::regclass AND conname = 'items_pk'),
	'the primary key was renamed');
SELECT ok(EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = 'app.items_name_key'::regclass AND indisvalid)
	  AND EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = 'app.items_note_idx'::regclass AND indisvalid),
	'the indexes were built');
SELECT is(pg_temp.shape('other'), (SELECT other_shape FROM before),
	'the table with the recorded OID keeps its columns, constraint and index');
SELECT is(pg_temp.rows('other'), (SELECT other_rows FROM before), 'and its rows');

------------------------------------------------------------------------------
-- the same database, its table restored under a new OID
------------------------------------------------------------------------------
CREATE TEMP TABLE before2 AS SELECT pg_temp.shape('items') AS s, pg_temp.rows('items') AS r;
SELECT is(mig.start('04_label', $j${"operations": [
	{"add_column": {"table": "items", "column": {"name": "label", "type": "text"}, "up": "'L' || id"}}]}$j$, 'app'),
	'app_04_label', 'another migration starts');
-- the OID the state records no longer exists; the origin is this database's
SELECT pg_temp.forge('04_label', mig.origin(), 4294967000);
SELECT throws_like($$CALL mig.backfill('app')$$,
	'backfill of app.items cannot be finished: migration "04_label" was restored from a dump taken while the backfill was unfinished',
	'a backfill whose table has a new OID is refused');
SELECT throws_like($$SELECT mig.complete('app')$$,
	'cannot complete migration "04_label": it was restored from a dump%',
	'complete refuses');
SELECT is(mig.rollback('app'), 'app_03_many', 'rollback succeeds');
SELECT is(pg_temp.shape('items'), (SELECT s FROM before2), 'the table is as before start');
SELECT is(pg_temp.rows('items'), (SELECT r FROM before2), 'with its rows');

------------------------------------------------------------------------------
-- a table renamed by hand while its migration is in progress
------------------------------------------------------------------------------
SELECT is(mig.start('05_label', $j${"operations": [
	{"add_column": {"table": "items", "column": {"name": "label", "type": "text", "nullable": true}}}]}$j$, 'app'),
	'app_05_label', 'another migration starts');
ALTER TABLE app.items RENAME TO items_renamed;
SELECT throws_ok($$SELECT mig.rollback('app')$$, '55000',
	'table app.items of migration "05_label" was renamed to app.items_renamed',
	'rollback refuses a table renamed behind the migration''s back');
ALTER TABLE app.items_renamed RENAME TO items;
SELECT lives_ok($$SELECT mig.rollback('app')$$, 'once it is renamed back, rollback succeeds');

------------------------------------------------------------------------------
-- a column of the migration dropped by hand
------------------------------------------------------------------------------
CREATE TEMP TABLE before3 AS SELECT pg_temp.shape('items') AS s, pg_temp.rows('items') AS r;
SELECT is(mig.start('06_label', $j${"operations": [
	{"add_column": {"table": "items", "column": {"name": "label", "type": "text", "nullable": true}}}]}$j$, 'app'),
	'app_06_label', 'another migration starts');
DROP VIEW app_06_label.items;
ALTER TABLE app.items DROP COLUMN _mig_new_label;
SELECT throws_ok($$SELECT mig.complete('app')$$, '42703',
	'column "_mig_new_label" of table app.items of migration "06_label" does not exist',
	'complete refuses, naming the column');
SELECT is(mig.rollback('app'), 'app_03_many', 'rollback succeeds: the column it would drop is gone');
SELECT is(pg_temp.shape('items'), (SELECT s FROM before3), 'the table is as before start');
SELECT is(pg_temp.rows('items'), (SELECT r FROM before3), 'with its rows');

------------------------------------------------------------------------------
-- another system identifier, the same OIDs and attribute numbers (what
-- pg_upgrade gives): the dual-write rules still apply, the backfill is
-- refused
------------------------------------------------------------------------------
SELECT is(mig.start('07_label', $j${"operations": [
	{"add_column": {"table": "items", "column": {"name": "label", "type": "text"}, "up": "'L' || id"}}]}$j$, 'app'),
	'app_07_label', 'another migration starts');
UPDATE mig.migrations SET origin = '1/1' WHERE schema = 'app' AND name = '07_label';
SET LOCAL search_path = app_03_many;
INSERT INTO items (id, name, price, note) VALUES (1000, 'item 1000', 5, 'n1000');
RESET search_path;
SELECT is((SELECT _mig_new_label FROM app.items WHERE id = 1000), 'L1000',
	'a write through the old version still gets its new column from up');
SELECT throws_like($$CALL mig.backfill('app')$$,
	'backfill of app.items cannot be finished: migration "07_label" was restored from a dump%',
	'the backfill is refused: its snapshot is another cluster''s');
SELECT is(mig.rollback('app'), 'app_03_many', 'rollback succeeds');

SELECT * FROM finish();
ROLLBACK;
