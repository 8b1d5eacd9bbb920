-- The new version shows and writes a row only once the backfill has given
-- it its new columns (issue 14, item 5; src/version_ready.c): the new
-- version's view of a table with an unfinished backfill has a guard that
-- refuses, with 55000 and the backfill's progress, a row the backfill has
-- not reached; the dual-write trigger refuses a new-version update of such
-- a row that does not go through the view (on a table with down rules it
-- refuses every new-version write to the table itself, with 0A000).  Rows written since start, and
-- tables with nothing to backfill, are not affected; the old version never
-- is; complete removes the guard and rollback drops it with the version.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(41);

-- sqlstate, message, detail and hint of a statement's error
CREATE FUNCTION pg_temp.err(q text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
	st text;
	msg text;
	det text;
	hnt text;
BEGIN
	EXECUTE q;
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	RETURN ARRAY[st, msg, det, hnt];
END
$$;
-- a view's definition
CREATE FUNCTION pg_temp.def(v text) RETURNS text LANGUAGE sql AS $$
	SELECT pg_get_viewdef(v::regclass)
$$;
-- the planner's row estimate of a query
CREATE FUNCTION pg_temp.estimate(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	plan json;
BEGIN
	EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO plan;
	RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8;
END
$$;

CREATE SCHEMA app;
SELECT mig.start('01_init', '{"operations": [
	{"create_table": {"name": "acct", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "bal", "type": "integer", "nullable": true}]}},
	{"create_table": {"name": "notes", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "body", "type": "text"}]}},
	{"create_table": {"name": "empty", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "n", "type": "integer"}]}}]}', 'app');
SELECT mig.complete('app');
INSERT INTO app.acct SELECT g, g * 100 FROM generate_series(1, 1000) g;
INSERT INTO app.notes VALUES (1, 'one'), (2, 'two');
ANALYZE app.acct;

------------------------------------------------------------------------------
-- which views are guarded
------------------------------------------------------------------------------
SET LOCAL migrate_ext.start_jobs = off;
SELECT is(mig.start('02_x', '{"operations": [
	{"alter_column": {"table": "acct", "column": "bal", "type": "bigint",
		"up": "bal::bigint", "down": "bal::int"}},
	{"create_index": {"name": "notes_body_idx", "table": "notes", "columns": [{"column": "body"}]}},
	{"rename_column": {"table": "notes", "from": "body", "to": "text"}},
	{"alter_column": {"table": "empty", "column": "n", "type": "bigint",
		"up": "n::bigint", "down": "n::int"}},
	{"create_table": {"name": "fresh", "columns": [
		{"name": "id", "type": "integer", "pk": true}]}}]}', 'app'),
	'app_02_x', 'a migration with a backfill, a rename, an index and a new table starts');
SELECT ok(pg_temp.def('app_02_x.acct') LIKE '%mig.version_ready(%',
	'the new version of a table with rows to backfill is guarded');
SELECT ok(pg_temp.def('app_02_x.notes') NOT LIKE '%version_ready%',
	'a renamed column and an index build need no backfill: not guarded');
SELECT ok(pg_temp.def('app_02_x.empty') NOT LIKE '%version_ready%',
	'a table with no row to backfill is not guarded');
SELECT ok(pg_temp.def('app_02_x.fresh') NOT LIKE '%version_ready%',
	'a new table is not guarded');
SELECT is((SELECT count(*)::int FROM pg_views WHERE schemaname = 'app_01_init'
		AND definition LIKE '%version_ready%'), 0, 'the old version is not guarded');
SELECT is((SELECT is_updatable || is_insertable_into FROM information_schema.views
		WHERE table_schema = 'app_02_x' AND table_name = 'acct'), 'YESYES',
	'the guarded view stays auto-updatable');
SELECT is(pg_temp.estimate('SELECT * FROM app_02_x.acct'), pg_temp.estimate('SELECT * FROM app.acct'),
	'the guard does not change the planner''s row estimate (it keeps every row)');

------------------------------------------------------------------------------
-- before the backfill: refused, with a clear error, nothing changed
------------------------------------------------------------------------------
SELECT is(pg_temp.err('SELECT count(*) FROM app_02_x.acct'),
	ARRAY['55000', 'version "app_02_x" of table "acct" is not ready',
		  'A row the statement reads or writes has not been backfilled yet: the backfill of migration "02_x" has written 0 of about 1000 rows and is paused.',
		  'The new version shows a row once the backfill has written it: resume the backfill with mig.resume(''app''), then wait for it with CALL mig.wait(''app'').'],
	'reading rows the backfill has not reached fails with 55000, the progress and what to do');
SELECT is((pg_temp.err('SELECT bal FROM app_02_x.acct WHERE id = 1'))[1], '55000', 'reading one of them too');
SET LOCAL search_path = app_02_x, public;
SELECT is((pg_temp.err('UPDATE acct SET bal = bal + 10 WHERE id = 1'))[1], '55000',
	'an UPDATE through the new version fails');
SELECT is((pg_temp.err('INSERT INTO acct VALUES (2, 5) ON CONFLICT (id) DO UPDATE SET bal = acct.bal + excluded.bal'))[1],
	'55000', 'an INSERT ... ON CONFLICT DO UPDATE of an existing row through the new version fails');
SELECT is((pg_temp.err('DELETE FROM acct WHERE id = 3'))[1], '55000',
	'a DELETE through the new version fails');
-- (acct has a down rule: a write to the table itself as the new version is
-- refused whatever the row, see 28_base_write_new_version.sql, which also
-- tests the trigger's readiness check on a table without down rules)
SELECT is((pg_temp.err('UPDATE app.acct SET _mig_new_bal = _mig_new_bal + 10 WHERE id = 4'))[1:2],
	ARRAY['0A000', 'cannot write table "app.acct" itself as version "app_02_x"'],
	'an UPDATE of the table itself routed to the new version is refused by the trigger');
SET LOCAL migrate_ext.version = 'app_02_x';
RESET search_path;
SELECT is((pg_temp.err('UPDATE app.acct SET _mig_new_bal = 7 WHERE id = 5'))[1], '0A000',
	'the same with migrate_ext.version');
RESET migrate_ext.version;
SELECT results_eq('SELECT id, bal, _mig_new_bal FROM app.acct WHERE id <= 5 ORDER BY id',
	$$VALUES (1, 100, NULL::bigint), (2, 200, NULL), (3, 300, NULL), (4, 400, NULL), (5, 500, NULL)$$,
	'the refused writes changed nothing');

-- rows written since start, and the tables without a guard, work
SET LOCAL search_path = app_02_x, public;
INSERT INTO acct VALUES (1001, 5);
SELECT is((SELECT bal FROM acct WHERE id = 1001), 5::bigint, 'a row inserted through the new version reads back');
UPDATE acct SET bal = bal + 1 WHERE id = 1001;
SELECT is((SELECT bal FROM app.acct WHERE id = 1001), 6, 'and updates, with down in the old column');
SELECT is((SELECT text FROM notes WHERE id = 1), 'one', 'the renamed column reads through the new version');
UPDATE notes SET text = 'uno' WHERE id = 1;
INSERT INTO fresh VALUES (1);
SELECT is((SELECT count(*)::int FROM fresh), 1, 'the new table is usable');
SET LOCAL search_path = app_01_init, public;
UPDATE acct SET bal = bal + 1 WHERE id = 2;
SELECT is((SELECT bal FROM app_02_x.acct WHERE id = 2), 201::bigint,
	'a row written through the old version since start reads through the new one, with up');
SELECT is((SELECT sum(bal)::int FROM acct), 50050001 + 6, 'the old version reads every row');
RESET search_path;
SELECT is((SELECT body FROM app_01_init.notes WHERE id = 1), 'uno', 'the old version sees the rename''s write');

------------------------------------------------------------------------------
-- once the backfill is done: every row, right, and writes are exact
------------------------------------------------------------------------------
CALL mig.backfill('app');
SELECT is((SELECT count(*)::int FROM app_02_x.acct a JOIN app.acct t USING (id) WHERE a.bal IS DISTINCT FROM t.bal), 0,
	'after the backfill the new version shows up(old) in every row');
SET LOCAL search_path = app_02_x, public;
UPDATE acct SET bal = bal + 10 WHERE id = 1;
INSERT INTO acct VALUES (3, 5) ON CONFLICT (id) DO UPDATE SET bal = acct.bal + excluded.bal;
RESET search_path;
SELECT results_eq('SELECT id, bal FROM app_01_init.acct WHERE id IN (1, 3) ORDER BY id',
	$$VALUES (1, 110), (3, 305)$$, 'updates through the new version are exact, in the old version too');
SELECT is(mig.version_ready('app', '02_x', 'app_02_x', 'acct', 'app.acct'::regclass, 'any token', '1'::xid, '0'::cid),
	true, 'mig.version_ready is true for any row once the backfill is done');
UPDATE mig.job_queue SET state = 'pending' WHERE migration = '02_x' AND kind = 'backfill';
SELECT is((pg_temp.err($$SELECT mig.version_ready('app', '02_x', 'app_02_x', 'acct', 'app.acct'::regclass, 'other token', '3'::xid, '0'::cid)$$))[1],
	'55000', 'while the backfill runs it refuses a row version older than the backfill''s snapshot');
SELECT is(mig.version_ready('app', '02_x', 'app_02_x', 'acct', 'app.acct'::regclass, 'other token',
		(SELECT xmin FROM app.acct WHERE id = 1), (SELECT cmin FROM app.acct WHERE id = 1)),
	true, 'a row version written since start is shown while it runs');
UPDATE mig.job_queue SET state = 'done' WHERE migration = '02_x' AND kind = 'backfill';

------------------------------------------------------------------------------
-- complete removes the guard; rollback drops it
------------------------------------------------------------------------------
SELECT mig.resume('app');	-- the index build and the validation, queued paused
SELECT is(mig.complete('app'), 'app_02_x', 'complete');
SELECT is((SELECT count(*)::int FROM pg_views WHERE schemaname = 'app_02_x'
		AND definition LIKE '%version_ready%'), 0, 'after complete no view is guarded');
SELECT is((SELECT count(*)::int FROM pg_depend d JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
		WHERE d.refobjid = 'mig.version_ready(name, text, name, name, regclass, text, xid, cid)'::regprocedure), 0,
	'no view depends on the guard');
SELECT is((SELECT is_updatable || is_insertable_into FROM information_schema.views
		WHERE table_schema = 'app_02_x' AND table_name = 'acct'), 'YESYES',
	'the view is still the auto-updatable view it was');
SELECT is((SELECT relacl FROM pg_class WHERE oid = 'app_02_x.acct'::regclass),
	(SELECT relacl FROM pg_class WHERE oid = 'app_02_x.notes'::regclass), 'and keeps its grants');
SELECT is((SELECT reloptions FROM pg_class WHERE oid = 'app_02_x.acct'::regclass),
	ARRAY['security_invoker=true'], 'and stays security_invoker');
SELECT is((SELECT bal FROM app_02_x.acct WHERE id = 1), 110::bigint, 'and reads the final column');

INSERT INTO app.acct VALUES (2000, 1);
SELECT is(mig.start('03_y', '{"operations": [{"alter_column": {"table": "acct", "column": "bal",
	"type": "numeric", "up": "bal::numeric", "down": "bal::bigint"}}]}', 'app'), 'app_03_y', 'another migration starts');
SELECT ok(pg_temp.def('app_03_y.acct') LIKE '%version_ready%', 'its new version is guarded');
SELECT ok(pg_temp.def('app_02_x.acct') NOT LIKE '%version_ready%', 'its old version is not');
SELECT is((SELECT sum(bal)::bigint FROM app_02_x.acct), (SELECT sum(bal)::bigint FROM app.acct),
	'the old version reads every row');
SELECT is(mig.rollback('app'), 'app_02_x', 'rollback');
SELECT hasnt_schema('app_03_y', 'rollback drops the guarded version');

SELECT * FROM finish();
ROLLBACK;
