-- Dual write and backfill: add_column with up, drop_column with down.
-- Rows written through the old version get up's result in the new version,
-- rows written through the new version get down's result in the old one;
-- the backfill fills rows that existed before the migration and never
-- touches a row written through either version afterwards.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(41);

CREATE SCHEMA app;
SELECT mig.start('01_init', '{"operations": [{"create_table": {"name": "users", "columns": [
	{"name": "id", "type": "serial", "pk": true},
	{"name": "name", "type": "text"},
	{"name": "upper", "type": "text", "nullable": true},
	{"name": "legacy", "type": "text", "nullable": true}]}}]}', 'app');
SELECT mig.complete('app');
INSERT INTO app_01_init.users (name, upper) SELECT 'user' || g, 'u' || g FROM generate_series(1, 500) g;

-- counts the writes a user trigger sees
CREATE TABLE app.trigger_log (n int);
CREATE FUNCTION app.log_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO app.trigger_log VALUES (1);
	RETURN NEW;
END $$;
CREATE TRIGGER log_write BEFORE UPDATE ON app.users FOR EACH ROW EXECUTE FUNCTION app.log_write();

------------------------------------------------------------------------------
-- expressions are checked at start
------------------------------------------------------------------------------
SELECT throws_like($$SELECT mig.start('02_bad', '{"operations": [{"add_column": {"table": "users", "up": "lower(nme)", "column": {"name": "shout", "type": "text", "nullable": true}}}]}', 'app')$$,
	'%invalid up expression "lower(nme)" in operations[0] (add_column) of migration "02_bad"%nme%',
	'an up expression naming a missing column fails start, naming operation and expression');
SELECT throws_ok($$SELECT mig.start('02_bad', '{"operations": [{"add_column": {"table": "users", "up": "lower(nme)", "column": {"name": "shout", "type": "text", "nullable": true}}}]}', 'app')$$,
	'42703', NULL, 'with the SQLSTATE of the underlying error');
SELECT throws_ok($$SELECT mig.start('02_bad', '{"operations": [{"add_column": {"table": "users", "up": "name +", "column": {"name": "shout", "type": "text", "nullable": true}}}]}', 'app')$$,
	'42601', NULL, 'a syntax error fails start');
SELECT throws_ok($$SELECT mig.start('02_bad', '{"operations": [{"add_column": {"table": "users", "up": "now()", "column": {"name": "shout", "type": "integer", "nullable": true}}}]}', 'app')$$,
	'42804', NULL, 'an expression of a type that does not fit fails start');
SELECT hasnt_column('app', 'users', '_mig_new_shout', 'a refused start left no column');
SELECT is((SELECT status FROM mig.status('app')), 'Complete', 'a refused start left the status as it was');

SET LOCAL migrate_ext.strict_expressions = off;
SELECT lives_ok($$SELECT mig.start('02_lenient', '{"operations": [{"drop_column": {"table": "users", "column": "legacy", "down": "nme"}}]}', 'app')$$,
	'with strict_expressions off the same kind of mistake only warns');
SELECT mig.rollback('app');
RESET migrate_ext.strict_expressions;

------------------------------------------------------------------------------
-- start: up and down in both directions
------------------------------------------------------------------------------
-- jobs queued paused: the backfill is run by hand below, and complete
-- (in this transaction) does not run them by itself
SET LOCAL migrate_ext.start_jobs = off;
SELECT is(mig.start('02_shout', '{"operations": [
	{"add_column": {"table": "users", "up": "upper(upper) || ''!''", "column": {"name": "shout", "type": "text"}}},
	{"drop_column": {"table": "users", "column": "legacy", "down": "''from '' || name"}}]}', 'app'),
	'app_02_shout', 'a migration with up and down starts');
SELECT has_trigger('app', 'users', '~mig_dual_write', 'the table has its dual-write trigger');

SET LOCAL search_path = app_01_init, public;
INSERT INTO users (name, upper) VALUES ('old1', 'abc');
SELECT is((SELECT _mig_new_shout FROM app.users WHERE name = 'old1'), 'ABC!',
	'a row written through the old version gets up''s result (a column named "upper" and the function upper)');
UPDATE users SET upper = 'xyz' WHERE name = 'old1';
SELECT is((SELECT _mig_new_shout FROM app.users WHERE name = 'old1'), 'XYZ!',
	'an update through the old version recomputes it');

SET LOCAL search_path = app_02_shout, public;
INSERT INTO users (name, upper, shout) VALUES ('new1', 'abc', 'mine');
SELECT is((SELECT shout FROM users WHERE name = 'new1'), 'mine',
	'a row written through the new version keeps its value');
SELECT is((SELECT legacy FROM app.users WHERE name = 'new1'), 'from new1',
	'and gets down''s result in the dropped column');
SELECT throws_ok($$INSERT INTO users (name) VALUES ('new2')$$, '23514', NULL,
	'the new NOT NULL column rejects a missing value through the new version');

-- routing: the forms of search_path and migrate_ext.version
SET LOCAL search_path = "app_02_shout", public;
INSERT INTO users (name, upper, shout) VALUES ('quoted', 'abc', 'q');
SELECT is((SELECT shout FROM users WHERE name = 'quoted'), 'q', 'a quoted search_path routes to the new version');
SET LOCAL search_path = app_02_shout, app, public;
INSERT INTO users (name, upper, shout) VALUES ('listed', 'abc', 'l');
SELECT is((SELECT shout FROM users WHERE name = 'listed'), 'l', 'search_path "app_02_shout, app, public" routes to the new version');
SET LOCAL search_path = public, app;
INSERT INTO users (name, upper) VALUES ('base', 'abc');
SELECT is((SELECT _mig_new_shout FROM app.users WHERE name = 'base'), 'ABC!', 'writers through the base schema are the old version');
SET LOCAL migrate_ext.version = 'app_02_shout';
-- the table itself as the new version: down would replace legacy (refused)
SELECT throws_ok($$INSERT INTO app.users (name, upper, legacy, _mig_new_shout) VALUES ('pinned', 'abc', 'mine', 'p')$$,
	'0A000', 'cannot write table "app.users" itself as version "app_02_shout"',
	'migrate_ext.version routes to the new version whatever the search_path (a write to the table itself, which down would overwrite, is refused)');
INSERT INTO app_02_shout.users (name, upper, shout) VALUES ('pinned', 'abc', 'p');
SET LOCAL migrate_ext.version = 'app_01_init';
SET LOCAL search_path = app_02_shout, public;
INSERT INTO app.users (name, upper) VALUES ('pinned_old', 'abc');
SELECT is((SELECT _mig_new_shout FROM app.users WHERE name = 'pinned_old'), 'ABC!',
	'migrate_ext.version pins the old version even with the new one on search_path');
RESET migrate_ext.version;
RESET search_path;

------------------------------------------------------------------------------
-- backfill
------------------------------------------------------------------------------
SELECT throws_like($$SELECT mig.complete('app')$$, '%background jobs are not finished%',
	'complete refuses while the backfill is unfinished');
SELECT throws_ok($$SELECT mig.complete('app')$$, '55000', NULL, 'with SQLSTATE 55000');
SELECT is((SELECT count(*)::int FROM app.users WHERE _mig_new_shout IS NULL), 500,
	'the 500 rows that predate the migration are not filled yet');

DELETE FROM app.trigger_log;
CALL mig.backfill('app', 100);
SELECT is((SELECT count(*)::int FROM app.users WHERE _mig_new_shout IS NULL), 0, 'after the backfill every row is filled');
SELECT is((SELECT _mig_new_shout FROM app.users WHERE name = 'user7'), 'U7!', 'with up''s result');
SELECT is((SELECT rows_done::int FROM mig.job_queue WHERE schema = 'app' AND kind = 'backfill'), 500,
	'the backfill wrote exactly the rows that predate the migration');
SELECT is((SELECT _mig_new_shout FROM app.users WHERE name = 'new1'), 'mine',
	'a value written through the new version is not overwritten (up(down(v)) would differ)');
SELECT is((SELECT _mig_new_shout FROM app.users WHERE name = 'pinned'), 'p',
	'nor is one written through the new version''s view named explicitly');
SELECT is((SELECT count(*)::int FROM app.trigger_log), 0, 'user triggers do not fire for backfill writes');
SELECT is((SELECT next_block = end_block FROM mig.job_queue WHERE schema = 'app' AND kind = 'backfill'), true, 'the cursor reached the end');

------------------------------------------------------------------------------
-- rollback and complete
------------------------------------------------------------------------------
SELECT mig.rollback('app');
SELECT hasnt_trigger('app', 'users', '~mig_dual_write', 'rollback removes the trigger');
SELECT hasnt_column('app', 'users', '_mig_new_shout', 'rollback removes the new column');
SELECT has_column('app', 'users', 'legacy', 'rollback keeps the dropped column');
SELECT is((SELECT count(*)::int FROM mig.dual_writes), 0, 'rollback forgets the rules');
SELECT is((SELECT count(*)::int FROM app.users), 507, 'no row is lost by the rollback (500 + 7 written during the migration)');

SELECT mig.start('02_shout', '{"operations": [
	{"add_column": {"table": "users", "up": "upper(upper) || ''!''", "column": {"name": "shout", "type": "text"}}},
	{"drop_column": {"table": "users", "column": "legacy", "down": "''from '' || name"}}]}', 'app');
CALL mig.backfill('app');
SELECT mig.resume('app');	-- the validation job, queued paused (start_jobs is off)
SELECT is(mig.complete('app'), 'app_02_shout', 'complete succeeds once the backfill has finished');
SELECT has_column('app', 'users', 'shout', 'the new column has its final name');
SELECT col_not_null('app', 'users', 'shout', 'and is NOT NULL');
SELECT hasnt_column('app', 'users', 'legacy', 'the dropped column is gone');
SELECT hasnt_trigger('app', 'users', '~mig_dual_write', 'the trigger is gone');
SELECT is((SELECT count(*)::int FROM pg_constraint WHERE conrelid = 'app.users'::regclass AND contype = 'c'), 0,
	'the temporary NOT NULL check is gone');
SELECT is((SELECT shout FROM app_02_shout.users WHERE name = 'user9'), 'U9!', 'the new version reads the backfilled values');

SELECT * FROM finish();
ROLLBACK;
