-- mig.complete and mig.rollback drop a version schema; nothing of the
-- user's goes with it silently.  A view or a function in another schema over
-- a version's view or its row type, a trigger on a version's view, or the
-- user's own function, table or view inside the version schema makes the
-- call fail with 2BP01, naming them, with nothing changed; once they are
-- gone the call works.  A version schema with nothing extra drops as before.
-- (A view of the user's inside the new version schema of an active
-- migration is refused when it is made.)
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(56);

CREATE SCHEMA app;
CREATE SCHEMA rpt;

-- the error of a statement: 'SQLSTATE: message | detail | hint'
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text;
	msg text;
	det text;
	hnt text;
BEGIN
	EXECUTE q;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	RETURN st || ': ' || msg || ' | ' || det || ' | ' || hnt;
END
$$;
-- what a migration's call must leave as it was when it is refused
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
	SELECT concat_ws(' / ',
		(SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace
		 WHERE nspname LIKE 'app\_%'),
		(SELECT string_agg(n.nspname || '.' || c.relname || '.' || a.attname, ','
		                   ORDER BY n.nspname, c.relname, a.attnum)
		 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
		 JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname LIKE 'app%' AND c.relname = 'items'
		   AND a.attnum > 0 AND NOT a.attisdropped),
		(SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger
		 WHERE tgrelid = to_regclass('app.items')),
		(SELECT status FROM mig.status('app')))
$$;

SELECT is(mig.start('01_init', $j${"operations": [{"create_table": {"name": "items",
	"columns": [{"name": "id", "type": "integer", "pk": true},
	            {"name": "v", "type": "integer", "nullable": true}]}}]}$j$, 'app'),
	'app_01_init', 'first migration starts');
SELECT is(mig.complete('app'), 'app_01_init', 'first migration completes');
INSERT INTO app.items SELECT g, g FROM generate_series(1, 10) g;
SELECT is(mig.start('02_rename', $j${"operations": [
	{"rename_column": {"table": "items", "from": "v", "to": "w"}}]}$j$, 'app'),
	'app_02_rename', 'second migration starts (previous version app_01_init)');
CREATE TEMP TABLE before AS SELECT pg_temp.state() AS s;

------------------------------------------------------------------------------
-- mig.rollback: user objects over the new version (app_02_rename)
------------------------------------------------------------------------------
CREATE VIEW rpt.rep_new AS SELECT id, w FROM app_02_rename.items;
SELECT is(pg_temp.err($$SELECT mig.rollback('app')$$),
	'2BP01: cannot drop version schema "app_02_rename" of migration "02_rename" because other objects depend on it'
	' | Objects that depend on it: view rpt.rep_new.'
	' | Drop these objects, or recreate them over another version schema or the base schema "app", then run mig.rollback() again.',
	'rollback refuses while a view in another schema reads the new version''s view');
SELECT is(pg_temp.state(), (SELECT s FROM before), '... and changes nothing');
SELECT has_view('rpt', 'rep_new', '... the user''s view is still there');
SELECT results_eq('SELECT count(*) FROM rpt.rep_new', 'VALUES (10::bigint)', '... and works');
DROP VIEW rpt.rep_new;

CREATE FUNCTION rpt.f_new() RETURNS SETOF app_02_rename.items LANGUAGE sql
	AS 'SELECT * FROM app_02_rename.items';
SELECT throws_ok($$SELECT mig.rollback('app')$$, '2BP01',
	'cannot drop version schema "app_02_rename" of migration "02_rename" because other objects depend on it',
	'rollback refuses while a function returns the new version''s row type');
SELECT alike(pg_temp.err($$SELECT mig.rollback('app')$$), '%depend on it: function rpt.f_new()%',
	'... naming the function');
SELECT is(pg_temp.state(), (SELECT s FROM before), '... and changes nothing');
SELECT has_function('rpt', 'f_new', '... the function is still there');
DROP FUNCTION rpt.f_new();

CREATE FUNCTION app_02_rename.helper() RETURNS integer LANGUAGE sql AS 'SELECT 1';
SELECT throws_ok($$SELECT mig.rollback('app')$$, '2BP01', NULL,
	'rollback refuses while the user has a function inside the new version schema');
SELECT alike(pg_temp.err($$SELECT mig.rollback('app')$$), '%depend on it: function app_02_rename.helper()%',
	'... naming it');
SELECT is(pg_temp.state(), (SELECT s FROM before), '... and changes nothing');
DROP FUNCTION app_02_rename.helper();

CREATE TABLE app_02_rename.notes (id integer);
SELECT throws_ok($$SELECT mig.rollback('app')$$, '2BP01', NULL,
	'rollback refuses while the user has a table inside the new version schema');
SELECT alike(pg_temp.err($$SELECT mig.rollback('app')$$), '%depend on it: table app_02_rename.notes.%',
	'... naming it');
SELECT is(pg_temp.state(), (SELECT s FROM before), '... and changes nothing');
DROP TABLE app_02_rename.notes;

-- a view the user makes inside the new version schema, even one that looks
-- like the extension's but is not security_invoker, or one with the very
-- shape of the extension's: refused while the migration is active (a write
-- through a view there is routed as the new version, pgTAP 37), so there is
-- none for rollback to drop or refuse over
SELECT alike(pg_temp.err($$CREATE VIEW app_02_rename.items_copy AS SELECT id, v AS w FROM app.items$$),
	'55000: cannot make view app_02_rename.items_copy in the version schema of migration "02_rename" while it is active%',
	'a view of the user''s inside the new version schema is refused');
SELECT is(pg_temp.state(), (SELECT s FROM before), '... and changes nothing');
SELECT alike(pg_temp.err($$CREATE VIEW app_02_rename.items_twin WITH (security_invoker = true)
	AS SELECT id, v AS w FROM app.items$$),
	'55000: cannot make view app_02_rename.items_twin in the version schema%',
	'so is a look-alike of the extension''s view');
SELECT is(pg_temp.state(), (SELECT s FROM before), '... and changes nothing');

CREATE FUNCTION rpt.no_write() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
CREATE TRIGGER no_write INSTEAD OF INSERT ON app_02_rename.items
	FOR EACH ROW EXECUTE FUNCTION rpt.no_write();
SELECT alike(pg_temp.err($$SELECT mig.rollback('app')$$),
	'2BP01: %depend on it: trigger no_write on view app_02_rename.items.%',
	'rollback refuses while the user has a trigger on the new version''s view');
SELECT is(pg_temp.state(), (SELECT s FROM before), '... and changes nothing');
DROP TRIGGER no_write ON app_02_rename.items;

------------------------------------------------------------------------------
-- mig.complete: user objects over the previous version (app_01_init)
------------------------------------------------------------------------------
CREATE VIEW rpt.report_old AS SELECT * FROM app_01_init.items;
SELECT is(pg_temp.err($$SELECT mig.complete('app')$$),
	'2BP01: cannot drop version schema "app_01_init" of migration "02_rename" because other objects depend on it'
	' | Objects that depend on it: view rpt.report_old.'
	' | Drop these objects, or recreate them over another version schema or the base schema "app", then run mig.complete() again.',
	'complete refuses while a view in another schema reads the previous version''s view');
SELECT is(pg_temp.state(), (SELECT s FROM before), '... and changes nothing');
SELECT results_eq('SELECT count(*) FROM rpt.report_old', 'VALUES (10::bigint)', '... the view still works');

CREATE FUNCTION rpt.f_report() RETURNS SETOF app_01_init.items LANGUAGE sql
	AS 'SELECT * FROM app_01_init.items';
SELECT is(pg_temp.err($$SELECT mig.complete('app')$$),
	'2BP01: cannot drop version schema "app_01_init" of migration "02_rename" because other objects depend on it'
	' | Objects that depend on it: function rpt.f_report(), view rpt.report_old.'
	' | Drop these objects, or recreate them over another version schema or the base schema "app", then run mig.complete() again.',
	'complete refuses while a function returns the previous version''s row type, naming both');
SELECT is(pg_temp.state(), (SELECT s FROM before), '... and changes nothing');
DROP VIEW rpt.report_old;
SELECT throws_ok($$SELECT mig.complete('app')$$, '2BP01', NULL,
	'complete still refuses with the function alone');
DROP FUNCTION rpt.f_report();

CREATE FUNCTION app_01_init.helper() RETURNS integer LANGUAGE sql AS 'SELECT 1';
SELECT alike(pg_temp.err($$SELECT mig.complete('app')$$),
	'2BP01: %depend on it: function app_01_init.helper().%',
	'complete refuses while the user has a function inside the previous version schema');
SELECT is(pg_temp.state(), (SELECT s FROM before), '... and changes nothing');
DROP FUNCTION app_01_init.helper();

CREATE TABLE app_01_init.notes (id integer);
SELECT alike(pg_temp.err($$SELECT mig.complete('app')$$),
	'2BP01: %depend on it: table app_01_init.notes.%',
	'complete refuses while the user has a table inside the previous version schema');
SELECT is(pg_temp.state(), (SELECT s FROM before), '... and changes nothing');
DROP TABLE app_01_init.notes;

-- many dependents: ten are named, then how many more
DO $$BEGIN FOR g IN 1..13 LOOP
	EXECUTE format('CREATE VIEW rpt.r%s AS SELECT id FROM app_01_init.items', lpad(g::text, 2, '0'));
END LOOP; END$$;
SELECT alike(pg_temp.err($$SELECT mig.complete('app')$$),
	'%depend on it: view rpt.r01, view rpt.r02, %, view rpt.r10 and 3 more. |%',
	'with many dependents ten are named, then how many more');
SELECT is(pg_temp.state(), (SELECT s FROM before), '... and changes nothing');
DO $$BEGIN FOR g IN 1..13 LOOP
	EXECUTE format('DROP VIEW rpt.r%s', lpad(g::text, 2, '0'));
END LOOP; END$$;

-- the user's objects in the base schema and elsewhere that do not use the
-- version schemas are no obstacle
CREATE VIEW rpt.base_report AS SELECT id FROM app.items;
SELECT is(mig.complete('app'), 'app_02_rename', 'once the dependents are gone complete works');
SELECT hasnt_schema('app_01_init', '... and drops the previous version schema');
SELECT has_view('app_02_rename', 'items', '... keeping the new version''s view');
SELECT has_view('rpt', 'base_report', '... and the user''s view over the base table');
SELECT is(pg_temp.state(),
	'app_02_rename / app.items.id,app.items.w,app_02_rename.items.id,app_02_rename.items.w / Complete',
	'... and the base table is renamed as the migration says');

------------------------------------------------------------------------------
-- mig.rollback works once the dependents are gone; nothing extra: as before
------------------------------------------------------------------------------
SELECT is(mig.start('03_add', $j${"operations": [{"add_column": {"table": "items",
	"column": {"name": "note", "type": "text", "nullable": true}}}]}$j$, 'app'),
	'app_03_add', 'a third migration starts');
CREATE VIEW rpt.rep3 AS SELECT note FROM app_03_add.items;
SELECT throws_ok($$SELECT mig.rollback('app')$$, '2BP01', NULL,
	'rollback refuses while a view reads the new version');
SELECT is((SELECT status FROM mig.status('app')), 'In progress', '... leaving the migration in progress');
SELECT has_view('app_03_add', 'items', '... and its version schema');
DROP VIEW rpt.rep3;
SELECT is(mig.rollback('app'), 'app_02_rename', 'once the view is gone rollback works');
SELECT hasnt_schema('app_03_add', '... and drops the new version schema');
SELECT has_schema('app_02_rename', '... keeping the previous one');

SELECT is(mig.start('04_add', $j${"operations": [{"add_column": {"table": "items",
	"column": {"name": "note", "type": "text", "nullable": true}}}]}$j$, 'app'),
	'app_04_add', 'a fourth migration starts');
SELECT is(mig.complete('app'), 'app_04_add',
	'complete with nothing extra in the previous version schema works');
SELECT hasnt_schema('app_02_rename', '... dropping it');

------------------------------------------------------------------------------
-- complete after raw SQL rebuilds the new version's views: a view over them
-- is not dropped either
------------------------------------------------------------------------------
SELECT is(mig.start('05_sql', $j${"operations": [
	{"sql": {"up": "CREATE TABLE audit (id integer PRIMARY KEY)", "onComplete": true}}]}$j$, 'app'),
	'app_05_sql', 'a migration with raw SQL at complete starts');
CREATE VIEW rpt.rep5 AS SELECT id FROM app_05_sql.items;
SELECT alike(pg_temp.err($$SELECT mig.complete('app')$$),
	'2BP01: cannot drop version schema "app_05_sql" of migration "05_sql" because %depend on it: view rpt.rep5.%',
	'complete refuses to rebuild the new version under a view that reads it');
SELECT is((SELECT status FROM mig.status('app')), 'In progress', '... and changes nothing');
SELECT hasnt_table('app', 'audit', '... not even the raw SQL');
DROP VIEW rpt.rep5;
SELECT is(mig.complete('app'), 'app_05_sql', 'once the view is gone complete works');
SELECT has_view('app_05_sql', 'audit', '... and the new version shows the raw SQL''s table');

SELECT * FROM finish();
ROLLBACK;
