-- set_replica_identity: applied at start, reverted by rollback (unlike
-- pgroll), kept by complete.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(40);

CREATE SCHEMA app;
CREATE FUNCTION pg_temp.replident(rel regclass) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT relreplident::text FROM pg_class WHERE oid = rel
$$;
-- the replica identity index of a table, if any
CREATE FUNCTION pg_temp.replindex(rel regclass) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = rel AND indisreplident
$$;

SELECT lives_ok($$SELECT mig.start('01_init', $j${"operations": [
	{"create_table": {"name": "users", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "email", "type": "text"}],
	 "constraints": [{"name": "users_email_key", "type": "unique", "columns": ["email"]}]}}]}$j$, 'app');
	SELECT mig.complete('app')$$, 'setup: create users');
INSERT INTO app_01_init.users VALUES (1, 'a@x');
SELECT is(pg_temp.replident('app.users'), 'd', 'replica identity starts as DEFAULT');

------------------------------------------------------------------------------
-- FULL: start, rollback, start, complete
------------------------------------------------------------------------------
CREATE TEMP TABLE doc_full AS SELECT $j${"operations": [
	{"set_replica_identity": {"table": "users", "identity": {"type": "full"}}}]}$j$::jsonb AS d;

SELECT is(mig.start('02_full', (SELECT d FROM doc_full), 'app'), 'app_02_full', 'set_replica_identity FULL starts');
SELECT is(pg_temp.replident('app.users'), 'f', 'replica identity is FULL right after start');
SELECT lives_ok($$INSERT INTO app_01_init.users VALUES (2, 'b@x')$$, 'insert through the old version');
SELECT lives_ok($$INSERT INTO app_02_full.users VALUES (3, 'c@x')$$, 'insert through the new version');
SELECT lives_ok($$UPDATE app_02_full.users SET email = 'A@X' WHERE id = 1$$, 'update through the new version');
SELECT results_eq($$SELECT id, email FROM app_01_init.users ORDER BY id$$,
	$$VALUES (1, 'A@X'), (2, 'b@x'), (3, 'c@x')$$, 'the old version reads every write');
SELECT results_eq($$SELECT id, email FROM app_02_full.users ORDER BY id$$,
	$$VALUES (1, 'A@X'), (2, 'b@x'), (3, 'c@x')$$, 'the new version reads every write');
SELECT is(mig.rollback('app'), 'app_01_init', 'rollback');
SELECT is(pg_temp.replident('app.users'), 'd', 'rollback restores replica identity DEFAULT');
SELECT hasnt_schema('app_02_full', 'the new version schema is gone');
SELECT results_eq($$SELECT id FROM app_01_init.users ORDER BY id$$, $$VALUES (1), (2), (3)$$,
	'no row is lost by the rollback');
SELECT is(mig.start('02_full', (SELECT d FROM doc_full), 'app'), 'app_02_full', 'start again');
SELECT is(mig.complete('app'), 'app_02_full', 'complete');
SELECT is(pg_temp.replident('app.users'), 'f', 'replica identity is FULL after complete');
SELECT hasnt_schema('app_01_init', 'the previous version schema is gone');
SELECT lives_ok($$INSERT INTO app_02_full.users VALUES (4, 'd@x')$$, 'the new version is writable after complete');

------------------------------------------------------------------------------
-- USING INDEX; rollback restores FULL
------------------------------------------------------------------------------
CREATE TEMP TABLE doc_index AS SELECT $j${"operations": [
	{"set_replica_identity": {"table": "users", "identity": {"type": "index", "index": "users_email_key"}}}]}$j$::jsonb AS d;

SELECT is(mig.start('03_index', (SELECT d FROM doc_index), 'app'), 'app_03_index', 'set_replica_identity INDEX starts');
SELECT is(pg_temp.replident('app.users'), 'i', 'replica identity is USING INDEX right after start');
SELECT is(pg_temp.replindex('app.users'), 'app.users_email_key', 'the given index is the replica identity');
SELECT is(mig.rollback('app'), 'app_02_full', 'rollback');
SELECT is(pg_temp.replident('app.users'), 'f', 'rollback restores replica identity FULL');
SELECT is(pg_temp.replindex('app.users'), NULL, 'no index is the replica identity after rollback');
SELECT is(mig.start('03_index', (SELECT d FROM doc_index), 'app'), 'app_03_index', 'start again');
SELECT is(mig.complete('app'), 'app_03_index', 'complete');
SELECT is(pg_temp.replindex('app.users'), 'app.users_email_key', 'the index is the replica identity after complete');

------------------------------------------------------------------------------
-- NOTHING and DEFAULT; rollback restores the replica identity index
------------------------------------------------------------------------------
SELECT is(mig.start('04_nothing', $j${"operations": [
	{"set_replica_identity": {"table": "users", "identity": {"type": "NOTHING"}}}]}$j$, 'app'),
	'app_04_nothing', 'set_replica_identity NOTHING starts (type is case-insensitive)');
SELECT is(pg_temp.replident('app.users'), 'n', 'replica identity is NOTHING right after start');
SELECT is(mig.rollback('app'), 'app_03_index', 'rollback');
SELECT is(pg_temp.replident('app.users'), 'i', 'rollback restores replica identity USING INDEX');
SELECT is(pg_temp.replindex('app.users'), 'app.users_email_key', 'rollback restores the same replica identity index');

SELECT is(mig.start('04_default', $j${"operations": [
	{"set_replica_identity": {"table": "users", "identity": {"type": "default"}}}]}$j$, 'app'),
	'app_04_default', 'set_replica_identity DEFAULT starts');
SELECT is(pg_temp.replident('app.users'), 'd', 'replica identity is DEFAULT right after start');
SELECT is(mig.complete('app'), 'app_04_default', 'complete');
SELECT is(pg_temp.replident('app.users'), 'd', 'replica identity is DEFAULT after complete');

------------------------------------------------------------------------------
-- validation
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT mig.start('05_bad', '{"operations": [{"set_replica_identity": {"table": "users", "identity": {"type": "index", "index": "nope"}}}]}', 'app')$$,
	'42704', NULL, 'an unknown index fails');
SELECT throws_ok($$SELECT mig.start('05_bad', '{"operations": [{"set_replica_identity": {"table": "users", "identity": {"type": "sideways"}}}]}', 'app')$$,
	'22023', NULL, 'an unknown replica identity type fails');
SELECT throws_ok($$SELECT mig.start('05_bad', '{"operations": [{"set_replica_identity": {"table": "nope", "identity": {"type": "full"}}}]}', 'app')$$,
	'42P01', NULL, 'a missing table fails');
SELECT is(pg_temp.replident('app.users'), 'd', 'failed migrations leave the replica identity unchanged');

SELECT * FROM finish();
ROLLBACK;
