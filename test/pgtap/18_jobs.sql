-- Background jobs as seen from the transaction that starts a migration:
-- what start queues (index builds, backfills, validations) and how mig.jobs
-- and mig.status show it; pause and resume; complete and CALL mig.wait in
-- the starting transaction run the jobs inline (no worker can see them
-- before the commit); a role that cannot log in cannot start a migration
-- that needs jobs (the worker could not connect as it).  The worker itself
-- is tested by the TAP tests (test/t/).
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(24);

CREATE SCHEMA app;
SELECT mig.start('01_init', '{"operations": [{"create_table": {"name": "items", "columns": [
	{"name": "id", "type": "integer", "pk": true},
	{"name": "name", "type": "text"},
	{"name": "price", "type": "integer", "nullable": true}]}}]}', 'app');
SELECT mig.complete('app');
INSERT INTO app.items SELECT g, 'item ' || g, g FROM generate_series(1, 1000) g;

------------------------------------------------------------------------------
-- what start queues
------------------------------------------------------------------------------
SELECT is(mig.start('02_jobs', '{"operations": [
	{"create_index": {"name": "items_price_idx", "table": "items", "columns": [{"column": "price", "sort": "DESC"}]}},
	{"alter_column": {"table": "items", "column": "name", "unique": {"name": "items_name_key"},
	 "up": "name", "down": "name"}},
	{"create_constraint": {"type": "check", "table": "items", "name": "price_positive",
	 "columns": ["price"], "check": "price > 0",
	 "up": {"price": "greatest(price, 1)"}, "down": {"price": "price"}}}]}', 'app'),
	'app_02_jobs', 'a migration with an index, a unique column and a check starts');
SELECT results_eq(
	$$SELECT kind, state, coalesce(object, '') FROM mig.jobs WHERE schema = 'app' ORDER BY seq$$,
	$$VALUES ('index', 'pending', 'items_price_idx'),
			 ('validate', 'pending', '_mig_notnull_name'), ('index', 'pending', 'items_name_key'),
			 ('index', 'pending', '_mig_dup_items_price_idx'),
			 ('validate', 'pending', 'price_positive'), ('backfill', 'pending', '')$$,
	'start queues a build per index (price''s index is carried to its new column too), '
	'validations of name''s NOT NULL and of the check, and one backfill for the table');
SELECT is((SELECT indisvalid OR indisready FROM pg_index WHERE indexrelid = 'app.items_price_idx'::regclass),
	false, 'a queued index is declared, neither ready nor valid');
SELECT is((SELECT rows_total FROM mig.jobs WHERE schema = 'app' AND kind = 'backfill'), NULL::bigint,
	'the backfill estimate is unknown before the table was ever analyzed');
SELECT results_eq($$SELECT status, phase FROM mig.status('app')$$,
	$$VALUES ('In progress', 'running jobs')$$, 'status: jobs are running');
SELECT matches((SELECT jobs FROM mig.status('app')), '^0 of 6 jobs done; index items_price_idx on app.items: pending',
	'status summarizes the jobs');

------------------------------------------------------------------------------
-- pause and resume
------------------------------------------------------------------------------
SELECT is(mig.pause('app'), 'paused 6 jobs of migration "02_jobs"', 'pause');
SELECT is((SELECT phase FROM mig.status('app')), 'jobs paused', 'status: paused');
SELECT is((SELECT count(*)::int FROM mig.jobs WHERE schema = 'app' AND state = 'paused'), 6,
	'mig.jobs shows them paused');
SELECT throws_like($$SELECT mig.complete('app')$$, '%background jobs are not finished%',
	'complete does not run paused jobs, and refuses');
SELECT throws_like($$CALL mig.wait('app')$$, '%are paused%', 'nor does mig.wait: it says they are paused');
SELECT is(mig.resume('app'), 'resumed 6 jobs of migration "02_jobs"', 'resume');

------------------------------------------------------------------------------
-- in the starting transaction, mig.wait runs them
------------------------------------------------------------------------------
CALL mig.wait('app');
SELECT is((SELECT count(*)::int FROM mig.jobs WHERE schema = 'app' AND state = 'done'), 6,
	'CALL mig.wait in the starting transaction runs every job');
SELECT is((SELECT indisvalid FROM pg_index WHERE indexrelid = 'app.items_price_idx'::regclass),
	true, 'the index is built');
SELECT is((SELECT convalidated FROM pg_constraint WHERE conname = 'price_positive'), true,
	'the check is validated');
SELECT is((SELECT rows_done FROM mig.jobs WHERE schema = 'app' AND kind = 'backfill'), 1000::bigint,
	'the backfill wrote every row');
SELECT results_eq($$SELECT phase, jobs FROM mig.status('app')$$,
	$$VALUES ('ready to complete', '6 of 6 jobs done')$$, 'status: ready to complete');
SET LOCAL search_path = app_02_jobs, public;
SELECT throws_ok($$INSERT INTO items (id, name) VALUES (5000, 'item 1')$$, '23505', NULL,
	'the new version has its unique index');
RESET search_path;
SELECT is(mig.complete('app'), 'app_02_jobs', 'complete');
SELECT is((SELECT count(*)::int FROM mig.job_queue WHERE schema = 'app'), 0, 'complete forgets the jobs');
SELECT is(pg_get_indexdef('app.items_price_idx'::regclass),
	'CREATE INDEX items_price_idx ON app.items USING btree (price DESC)', 'the index stays');

------------------------------------------------------------------------------
-- complete in the starting transaction runs the jobs too, and says so
------------------------------------------------------------------------------
SELECT mig.start('03_more', '{"operations": [
	{"create_index": {"name": "items_name_idx", "table": "items", "columns": [{"column": "name"}]}}]}', 'app');
SELECT is(mig.complete('app'), 'app_03_more', 'complete runs the pending index build');
SELECT is((SELECT indisvalid FROM pg_index WHERE indexrelid = 'app.items_name_idx'::regclass),
	true, 'and the index is built');

------------------------------------------------------------------------------
-- a role without LOGIN cannot start a migration that needs jobs
------------------------------------------------------------------------------
CREATE ROLE mig_t18_nologin NOLOGIN;
GRANT CREATE, USAGE ON SCHEMA app TO mig_t18_nologin;
ALTER TABLE app.items OWNER TO mig_t18_nologin;
SET LOCAL ROLE mig_t18_nologin;
-- (before PostgreSQL 17 a background worker cannot connect as such a
-- role; from 17 on it can, BGWORKER_BYPASS_ROLELOGINCHECK, and start works)
SELECT CASE WHEN current_setting('server_version_num')::int < 170000
	THEN throws_ok($$SELECT mig.start('04_nologin', '{"operations": [
	{"create_index": {"name": "items_id_name_idx", "table": "items", "columns": [{"column": "id"}, {"column": "name"}]}}]}', 'app')$$,
	'55000', 'migration "04_nologin" needs background jobs, which role "mig_t18_nologin" cannot run',
	'a role without LOGIN cannot start a migration with jobs')
	ELSE lives_ok($$SELECT mig.start('04_nologin', '{"operations": [
	{"create_index": {"name": "items_id_name_idx", "table": "items", "columns": [{"column": "id"}, {"column": "name"}]}}]}', 'app')$$,
	'a role without LOGIN starts a migration with jobs (its worker may connect)') END;
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
