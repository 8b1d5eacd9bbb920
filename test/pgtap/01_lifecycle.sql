-- Lifecycle of migrations: start / complete / rollback, version schemas,
-- mig.status, mig.latest_version, mig.previous_version, history, grants and
-- row level security carried to the version schemas, and the errors of
-- calls made in the wrong state.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(107);

CREATE SCHEMA app;
CREATE ROLE mig_t01_reader;
CREATE ROLE mig_t01_colreader;
CREATE ROLE mig_t01_nobody;
GRANT USAGE ON SCHEMA app TO mig_t01_reader, mig_t01_colreader;

-- column names of a relation, in attribute order
CREATE FUNCTION pg_temp.cols(rel regclass) RETURNS name[] LANGUAGE sql STABLE AS $$
	SELECT array_agg(attname ORDER BY attnum) FROM pg_attribute
	WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped
$$;
-- default expression of a column of a table or view
CREATE FUNCTION pg_temp.col_default(rel regclass, col name) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a
	JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	WHERE a.attrelid = rel AND a.attname = col
$$;
\ir lib/as_role.psql

------------------------------------------------------------------------------
-- Before any migration
------------------------------------------------------------------------------
SELECT has_schema('mig', 'CREATE EXTENSION creates schema mig');
SELECT results_eq(
	$$SELECT schema::text COLLATE "default", version, status, migration FROM mig.status('app')$$,
	$$VALUES ('app', NULL::text, 'No migrations', NULL::text)$$,
	'status is "No migrations" before the first migration');
SELECT is(mig.latest_version('app'), NULL::text, 'no latest version before the first migration');
SELECT is(mig.previous_version('app'), NULL::text, 'no previous version before the first migration');

------------------------------------------------------------------------------
-- 01_init: first migration
------------------------------------------------------------------------------
SELECT is(mig.start('01_init', $j${"operations": [{"create_table": {"name": "users",
	"columns": [{"name": "id", "type": "integer", "pk": true},
	            {"name": "name", "type": "text", "default": "'anon'"},
	            {"name": "email", "type": "text", "nullable": true}]}}]}$j$, 'app'),
	'app_01_init', 'start returns the new version schema <schema>_<name>');
SELECT has_schema('app_01_init', 'the version schema exists after start');
SELECT has_view('app_01_init', 'users', 'the version schema has a view per table');
SELECT has_table('app', 'users', 'the table is created in the base schema');
SELECT results_eq(
	$$SELECT schema::text COLLATE "default", version, status, migration FROM mig.status('app')$$,
	$$VALUES ('app', '01_init', 'In progress', '01_init')$$,
	'status is "In progress" after start');
SELECT is(mig.latest_version('app'), 'app_01_init', 'latest version is the new version schema');
SELECT is(mig.previous_version('app'), NULL::text,
	'no previous version during the first migration (the old version is the base schema)');
SELECT ok((SELECT reloptions FROM pg_class WHERE oid = 'app_01_init.users'::regclass)
	@> ARRAY['security_invoker=true'], 'version views are security_invoker');
SELECT is(pg_temp.cols('app_01_init.users'), ARRAY['id', 'name', 'email']::name[],
	'view columns are in the table''s attribute order');
SELECT is(pg_temp.col_default('app_01_init.users', 'name'), '''anon''::text',
	'the default of a column of a table created by the migration is carried to its view');
SELECT lives_ok($$INSERT INTO app_01_init.users (id) VALUES (1)$$,
	'insert through the new version view');
SELECT results_eq($$SELECT id, name, email FROM app.users$$,
	$$VALUES (1, 'anon', NULL::text)$$,
	'the row written through the view is in the table, with the defaults');

SELECT is(mig.complete('app'), 'app_01_init', 'complete returns the version schema');
SELECT results_eq(
	$$SELECT schema::text COLLATE "default", version, status, migration FROM mig.status('app')$$,
	$$VALUES ('app', '01_init', 'Complete', '01_init')$$,
	'status is "Complete" after complete');
SELECT has_schema('app_01_init', 'the version schema of the completed migration stays');
SELECT is(mig.latest_version('app'), 'app_01_init', 'latest version after the first complete');
SELECT is(mig.previous_version('app'), NULL::text, 'no previous version after the first complete');
SELECT is(pg_temp.col_default('app_01_init.users', 'name'), '''anon''::text',
	'the view keeps the default after complete');

------------------------------------------------------------------------------
-- Grants, schema USAGE and row level security carried to a new version
------------------------------------------------------------------------------
GRANT SELECT, INSERT ON app.users TO mig_t01_reader;
GRANT SELECT (id, name) ON app.users TO mig_t01_colreader;
INSERT INTO app.users (id, name) VALUES (2, 'bob'), (200, 'hidden');
ALTER TABLE app.users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_visible ON app.users FOR SELECT USING (id < 100);
CREATE POLICY users_insert ON app.users FOR INSERT WITH CHECK (id < 100);
GRANT UPDATE ON app.users TO mig_t01_colreader WITH GRANT OPTION;
-- a table created by hand between migrations, granted to PUBLIC, with a
-- dropped column
CREATE TABLE app.settings (key text PRIMARY KEY, gone int, value text DEFAULT 'on');
ALTER TABLE app.settings DROP COLUMN gone;
GRANT SELECT ON app.settings TO PUBLIC;
INSERT INTO app.settings (key) VALUES ('k');

SELECT is(mig.start('02_add_phone', $j${"operations": [{"add_column": {"table": "users",
	"column": {"name": "phone", "type": "text", "nullable": true}}}]}$j$, 'app'),
	'app_02_add_phone', 'second migration starts');
SELECT results_eq(
	$$SELECT schema::text COLLATE "default", version, status, migration FROM mig.status('app')$$,
	$$VALUES ('app', '02_add_phone', 'In progress', '02_add_phone')$$,
	'status of the second migration after start');
SELECT is(mig.latest_version('app'), 'app_02_add_phone', 'latest version during the second migration');
SELECT is(mig.previous_version('app'), 'app_01_init', 'previous version during the second migration');
SELECT has_schema('app_01_init', 'old version schema still exists during the migration');
SELECT ok((SELECT reloptions FROM pg_class WHERE oid = 'app_02_add_phone.users'::regclass)
	@> ARRAY['security_invoker=true'], 'the new version''s view is security_invoker');
SELECT is(pg_temp.cols('app_02_add_phone.users'), ARRAY['id', 'name', 'email', 'phone']::name[],
	'new version view columns in attribute order, added column last');
SELECT is(pg_temp.col_default('app_02_add_phone.users', 'name'), '''anon''::text',
	'an existing column''s default is carried to the new version view');

-- The views are security_invoker and grant nothing of their own: what a
-- role may do through a view is what it may do to the table.
SELECT is(pg_temp.as_role('mig_t01_reader', 'INSERT INTO app_02_add_phone.users (id, name) VALUES (5, ''ins'') RETURNING id::text'),
	'5', 'table INSERT grant works through the view');
DELETE FROM app.users WHERE id = 5;
SELECT is(pg_temp.as_role('mig_t01_reader', 'DELETE FROM app_02_add_phone.users RETURNING id::text'),
	'ERROR 42501', 'a privilege not granted on the table is not granted through the view');
SELECT is(pg_temp.as_role('mig_t01_colreader', 'SELECT string_agg(name, '','' ORDER BY id) FROM app.users'),
	'anon,bob', 'a column grant opens its columns of the table');
SELECT is(pg_temp.as_role('mig_t01_colreader', 'SELECT count(email)::text FROM app_02_add_phone.users'),
	'ERROR 42501', 'column grant not widened to other columns through the view');
SELECT is(pg_temp.as_role('mig_t01_colreader', 'UPDATE app_02_add_phone.users SET name = ''x'' WHERE false RETURNING 1::text'),
	NULL, 'an UPDATE grant works through the view');
SELECT is(pg_temp.as_role('mig_t01_reader', 'SELECT key FROM app_02_add_phone.settings'),
	'k', 'a grant to PUBLIC works through the view');
SELECT is(pg_temp.cols('app_02_add_phone.settings'), ARRAY['key', 'value']::name[],
	'a table created by hand between migrations gets a view, without its dropped column');
SELECT is(pg_temp.col_default('app_02_add_phone.settings', 'value'), '''on''::text',
	'the default of a column after a dropped column is carried to the right view column');
SELECT results_eq($$SELECT key, value FROM app_02_add_phone.settings$$, $$VALUES ('k', 'on')$$,
	'the hand-made table reads through the new version');
SELECT ok(has_schema_privilege('mig_t01_reader', 'app_02_add_phone', 'USAGE'),
	'role with USAGE on the base schema has USAGE on the version schema');
SELECT ok(NOT has_schema_privilege('mig_t01_nobody', 'app_02_add_phone', 'USAGE'),
	'role without USAGE on the base schema has none on the version schema');

SELECT is(pg_temp.as_role('mig_t01_reader', 'SELECT string_agg(id::text, '','' ORDER BY id) FROM app_02_add_phone.users'),
	'1,2', 'granted role reads the new version, row level security applies through the view');
SELECT is(pg_temp.as_role('mig_t01_reader', 'INSERT INTO app_02_add_phone.users (id, name, phone) VALUES (300, ''x'', ''1'') RETURNING id::text'),
	'ERROR 42501', 'row level security WITH CHECK applies to writes through the view');
SELECT is(pg_temp.as_role('mig_t01_nobody', 'SELECT count(*)::text FROM app_02_add_phone.users'),
	'ERROR 42501', 'role without grants cannot read the new version');

SELECT lives_ok($$INSERT INTO app_01_init.users (id, name) VALUES (3, 'old')$$,
	'write through the old version during the migration');
SELECT lives_ok($$INSERT INTO app_02_add_phone.users (id, name, phone) VALUES (4, 'new', '555')$$,
	'write through the new version during the migration');
SELECT results_eq($$SELECT id, name FROM app_01_init.users ORDER BY id$$,
	$$VALUES (1, 'anon'), (2, 'bob'), (3, 'old'), (4, 'new'), (200, 'hidden')$$,
	'old version reads rows written through both versions');
SELECT results_eq($$SELECT id, name, phone FROM app_02_add_phone.users ORDER BY id$$,
	$$VALUES (1, 'anon', NULL), (2, 'bob', NULL), (3, 'old', NULL), (4, 'new', '555'), (200, 'hidden', NULL)$$,
	'new version reads rows written through both versions');

SELECT is(mig.complete('app'), 'app_02_add_phone', 'second migration completes');
SELECT hasnt_schema('app_01_init', 'complete drops the previous version schema');
SELECT has_schema('app_02_add_phone', 'the new version schema stays');
SELECT is(mig.latest_version('app'), 'app_02_add_phone', 'latest version after the second complete');
SELECT is(mig.previous_version('app'), NULL::text, 'no previous version once the old schema is dropped');
SELECT results_eq(
	$$SELECT schema::text COLLATE "default", version, status, migration FROM mig.status('app')$$,
	$$VALUES ('app', '02_add_phone', 'Complete', '02_add_phone')$$,
	'status after the second complete');
SELECT ok(has_table_privilege('mig_t01_reader', 'app_02_add_phone.users', 'SELECT'),
	'grants on the view survive complete');
SELECT is(pg_temp.as_role('mig_t01_reader', 'SELECT string_agg(phone, '','' ORDER BY id) FROM app_02_add_phone.users'),
	'555', 'granted role reads the completed version');

------------------------------------------------------------------------------
-- 03_nick with "version_schema": rollback, then start again and complete
------------------------------------------------------------------------------
SELECT is(mig.start('03_nick', $j${"version_schema": "v3", "operations": [{"add_column": {"table": "users",
	"column": {"name": "nickname", "type": "text", "nullable": true}}}]}$j$, 'app'),
	'app_v3', 'version_schema overrides the version schema name');
SELECT results_eq(
	$$SELECT schema::text COLLATE "default", version, status, migration FROM mig.status('app')$$,
	$$VALUES ('app', 'v3', 'In progress', '03_nick')$$,
	'status reports the version_schema as the version');
SELECT is(mig.latest_version('app'), 'app_v3', 'latest version with a custom version_schema');
SELECT is(mig.previous_version('app'), 'app_02_add_phone', 'previous version with a custom version_schema');
SELECT lives_ok($$INSERT INTO app_v3.users (id, name, nickname) VALUES (5, 'five', 'v')$$,
	'write through the new version before rollback');
SELECT lives_ok($$INSERT INTO app_02_add_phone.users (id, name) VALUES (6, 'six')$$,
	'write through the old version before rollback');

SELECT is(mig.rollback('app'), 'app_02_add_phone', 'rollback returns the version schema now current');
SELECT hasnt_schema('app_v3', 'rollback drops the new version schema');
SELECT has_schema('app_02_add_phone', 'rollback keeps the old version schema');
SELECT results_eq(
	$$SELECT schema::text COLLATE "default", version, status, migration FROM mig.status('app')$$,
	$$VALUES ('app', '02_add_phone', 'Complete', '02_add_phone')$$,
	'status after rollback is the previous migration''s');
SELECT is(mig.latest_version('app'), 'app_02_add_phone', 'latest version after rollback');
SELECT is(mig.previous_version('app'), NULL::text, 'previous version after rollback');
SELECT is(pg_temp.cols('app.users'), ARRAY['id', 'name', 'email', 'phone']::name[],
	'rollback leaves the table''s columns as they were');
SELECT results_eq($$SELECT id, name FROM app_02_add_phone.users WHERE id IN (5, 6) ORDER BY id$$,
	$$VALUES (5, 'five'), (6, 'six')$$,
	'rows written through either version during the rolled back migration are kept');

SELECT is(mig.start('03_nick', $j${"version_schema": "v3", "operations": [{"add_column": {"table": "users",
	"column": {"name": "nickname", "type": "text", "nullable": true}}}]}$j$, 'app'),
	'app_v3', 'a rolled back migration can be started again under the same name');
SELECT is(mig.complete('app'), 'app_v3', 'complete with a custom version_schema');
SELECT hasnt_schema('app_02_add_phone', 'the previous version schema is dropped');
-- the five statements run by hand after 01_init (RLS, two policies, the
-- settings table and its dropped column; GRANT is not recorded) are in the
-- chain as inferred migrations, named after 01_init
SELECT results_eq(
	$$SELECT regexp_replace(h.name, '_[0-9]{20}$', '_<ts>'),
			 regexp_replace(m.parent, '_[0-9]{20}$', '_<ts>'), h.status, h.migration_type
	  FROM mig.history('app') h JOIN mig.migrations m ON m.schema = 'app' AND m.name = h.name
	  ORDER BY h.depth DESC$$,
	$$VALUES ('01_init', NULL, 'complete', 'pgroll'),
			 ('01_init_<ts>', '01_init', 'complete', 'inferred'),
			 ('01_init_<ts>', '01_init_<ts>', 'complete', 'inferred'),
			 ('01_init_<ts>', '01_init_<ts>', 'complete', 'inferred'),
			 ('01_init_<ts>', '01_init_<ts>', 'complete', 'inferred'),
			 ('01_init_<ts>', '01_init_<ts>', 'complete', 'inferred'),
			 ('02_add_phone', '01_init_<ts>', 'complete', 'pgroll'),
			 ('03_nick', '02_add_phone', 'complete', 'pgroll')$$,
	'history is a linear chain of completed migrations');
SELECT is((SELECT count(*)::int FROM mig.migrations WHERE schema = 'app'), 8,
	'with nothing beside it: the rolled back attempt is gone');

------------------------------------------------------------------------------
-- Calls in the wrong state
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT mig.complete('app')$$, '55000',
	NULL, 'complete without a migration in progress fails');
SELECT throws_ok($$SELECT mig.rollback('app')$$, '55000',
	NULL, 'rollback without a migration in progress fails');
SELECT throws_ok($$SELECT mig.start('03_nick', '{"operations": [{"add_column": {"table": "users", "column": {"name": "x", "type": "text", "nullable": true}}}]}', 'app')$$,
	'42710', NULL, 'a migration name cannot be used twice');
SELECT throws_ok($$SELECT mig.start('01_x', '{"operations": [{"create_table": {"name": "t", "columns": [{"name": "id", "type": "int"}]}}]}', 'no_such_schema')$$,
	'3F000', NULL, 'start in a schema that does not exist fails');
CREATE SCHEMA app_taken;
SELECT throws_ok($$SELECT mig.start('04_taken', '{"version_schema": "taken", "operations": [{"create_table": {"name": "t", "columns": [{"name": "id", "type": "int"}]}}]}', 'app')$$,
	'42P06', NULL, 'start fails when the version schema name is taken');
SELECT hasnt_table('app', 't', 'failed start left no table');

SELECT is(mig.start('04_items', $j${"operations": [{"create_table": {"name": "items",
	"columns": [{"name": "id", "type": "integer", "pk": true}]}}]}$j$, 'app'),
	'app_04_items', 'fourth migration starts');
SELECT throws_ok($$SELECT mig.start('05_other', '{"operations": [{"create_table": {"name": "other", "columns": [{"name": "id", "type": "int"}]}}]}', 'app')$$,
	'55000', NULL, 'a second migration cannot start while one is in progress');
SELECT hasnt_table('app', 'other', 'the refused migration left no table');
SELECT is(mig.rollback('app'), 'app_v3', 'rollback of the fourth migration');
SELECT hasnt_table('app', 'items', 'rollback drops the created table');

------------------------------------------------------------------------------
-- A migration whose second operation fails leaves no trace of the first
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT mig.start('04_bad', '{"operations": [
	{"create_table": {"name": "orders", "columns": [{"name": "id", "type": "int", "pk": true}]}},
	{"rename_column": {"table": "orders", "from": "missing", "to": "other"}}]}', 'app')$$,
	'42703', NULL, 'a migration whose second operation fails is refused');
SELECT hasnt_table('app', 'orders', 'the first operation''s table does not exist');
SELECT hasnt_schema('app_04_bad', 'no version schema for the failed migration');
SELECT results_eq(
	$$SELECT schema::text COLLATE "default", version, status, migration FROM mig.status('app')$$,
	$$VALUES ('app', 'v3', 'Complete', '03_nick')$$,
	'status is unchanged by the failed migration');
SELECT is((SELECT count(*)::int FROM mig.migrations WHERE schema = 'app' AND name = '04_bad'), 0,
	'the failed migration is not in the history');

------------------------------------------------------------------------------
-- First migration on a schema with existing tables: the old version is the
-- base schema itself
------------------------------------------------------------------------------
CREATE SCHEMA legacy;
CREATE TABLE legacy.items (id integer PRIMARY KEY, label text NOT NULL);
INSERT INTO legacy.items VALUES (1, 'a');

SELECT is(mig.start('01_add_note', $j${"operations": [{"add_column": {"table": "items",
	"column": {"name": "note", "type": "text", "nullable": true}}}]}$j$, 'legacy'),
	'legacy_01_add_note', 'first migration on an existing table starts');
SELECT is(mig.previous_version('legacy'), NULL::text, 'the old version is the base schema');
SELECT lives_ok($$INSERT INTO legacy.items VALUES (2, 'b')$$,
	'the old application writes the base table positionally, unaware of the new column');
SELECT lives_ok($$INSERT INTO legacy_01_add_note.items (id, label, note) VALUES (3, 'c', 'n')$$,
	'write through the new version');
SELECT results_eq($$SELECT id, label, note FROM legacy_01_add_note.items ORDER BY id$$,
	$$VALUES (1, 'a', NULL), (2, 'b', NULL), (3, 'c', 'n')$$,
	'the new version reads every row');
SELECT is(mig.start('05_other_schema', $j${"operations": [{"create_table": {"name": "extra",
	"columns": [{"name": "id", "type": "integer", "pk": true}]}}]}$j$, 'app'),
	'app_05_other_schema', 'a migration of another schema can start meanwhile');
SELECT results_eq($$SELECT s::text COLLATE "default", (mig.status(s)).status FROM unnest(ARRAY['app', 'legacy']::name[]) s ORDER BY 1$$,
	$$VALUES ('app', 'In progress'), ('legacy', 'In progress')$$,
	'each schema has its own migration in progress');
SELECT is(mig.rollback('app'), 'app_v3', 'rolling back one schema''s migration');
SELECT is((SELECT status FROM mig.status('legacy')), 'In progress', 'leaves the other schema''s migration in progress');
SELECT is(mig.rollback('legacy'), 'legacy', 'rollback of the first migration returns the base schema');
SELECT is(pg_temp.cols('legacy.items'), ARRAY['id', 'label']::name[],
	'rollback leaves the base table as it was');
SELECT results_eq($$SELECT id, label FROM legacy.items ORDER BY id$$,
	$$VALUES (1, 'a'), (2, 'b'), (3, 'c')$$,
	'no row is lost by the rollback');

------------------------------------------------------------------------------
-- The default schema is public; PUBLIC's USAGE on it is carried
------------------------------------------------------------------------------
SELECT is(mig.start('01_pub', $j${"operations": [{"create_table": {"name": "things",
	"columns": [{"name": "id", "type": "integer", "pk": true}]}}]}$j$),
	'public_01_pub', 'start defaults to schema public');
SELECT ok(has_schema_privilege('mig_t01_nobody', 'public_01_pub', 'USAGE'),
	'PUBLIC''s USAGE on schema public is carried to its version schema');
SELECT is(mig.rollback(), 'public', 'rollback defaults to schema public');
SELECT hasnt_table('public', 'things', 'rollback in public drops the created table');

SELECT * FROM finish();
ROLLBACK;
