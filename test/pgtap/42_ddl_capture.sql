-- DDL run outside migrations (issue 19, item 3): a top-level DDL statement
-- in a schema with a history is recorded there as an inferred migration,
-- as pgroll records it, for a table owner who is no superuser and has no
-- privilege on mig.migrations.  Temporary objects, the extension's own
-- DDL (start, complete, rollback, a "sql" operation, COPY into a version
-- view), schemas without history, schema mig, version schemas, DO blocks
-- and sessions with migrate_ext.infer_migrations off are not recorded,
-- nor anything while a migration is in progress.  A migration started
-- afterwards sees the schema as it now is.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(35);

CREATE ROLE mig_t42_owner;
CREATE SCHEMA app AUTHORIZATION mig_t42_owner;
CREATE SCHEMA other AUTHORIZATION mig_t42_owner;

CREATE FUNCTION pg_temp.inferred() RETURNS integer LANGUAGE sql AS
	$$SELECT count(*)::integer FROM mig.migrations WHERE migration_type = 'inferred'$$;

SELECT has_column('mig', 'migrations', 'migration_type', 'mig.migrations has migration_type');
SELECT col_default_is('mig', 'migrations', 'migration_type', 'pgroll', 'which is pgroll by default');

-- a schema without history is not migrate_ext's
SET ROLE mig_t42_owner;
CREATE TABLE app.before (id integer);
RESET ROLE;
SELECT is((SELECT count(*)::integer FROM mig.migrations), 0,
	'DDL in a schema without a history is not recorded');

-- the owner's first migration; the extension's own DDL is not recorded
SET ROLE mig_t42_owner;
SELECT mig.start('01_init', '{"operations": [{"create_table": {"name": "first",
	"columns": [{"name": "id", "type": "integer", "pk": true}]}}]}', 'app');
SELECT mig.complete('app');
RESET ROLE;
SELECT is(pg_temp.inferred(), 0, 'start and complete record nothing inferred');
SELECT is((SELECT migration_type FROM mig.migrations WHERE name = '01_init'), 'pgroll',
	'a migration of mig.start is of type pgroll');

-- DDL by hand, as the owner (no privilege on mig.migrations)
SELECT ok(NOT has_table_privilege('mig_t42_owner', 'mig.migrations', 'INSERT'),
	'the owner may not write mig.migrations');

-- a role that may not migrate the schema writes nothing into its history,
-- even with a statement PostgreSQL lets it run (IF EXISTS finding nothing)
CREATE ROLE mig_t42_nobody;
GRANT USAGE ON SCHEMA app TO mig_t42_nobody;
SET ROLE mig_t42_nobody;
DROP TRIGGER IF EXISTS nope ON app.first;
DROP POLICY IF EXISTS nope ON app.first;
RESET ROLE;
SELECT is(pg_temp.inferred(), 0,
	'a role without CREATE on the schema records nothing, even with DROP ... IF EXISTS');
SET ROLE mig_t42_owner;
CREATE TABLE app.items (id integer PRIMARY KEY, name text);
ALTER TABLE app.items ADD COLUMN note text;
CREATE INDEX items_name_idx ON app.items (name);
DROP INDEX app.items_name_idx;
-- one query string, two statements: one record each, with its own text
ALTER TABLE app.items ADD COLUMN a integer \; ALTER TABLE app.items DROP COLUMN a;
-- unqualified names are resolved as the statement resolved them
SET search_path = app;
CREATE TABLE unq (x integer);
RESET search_path;
CREATE FUNCTION app.f() RETURNS integer LANGUAGE sql AS 'SELECT 1';
-- not recorded: temporary objects, IF NOT EXISTS that changes nothing,
-- a schema without history, the setting off, DDL inside a DO block
CREATE TEMPORARY TABLE scratch (x integer);
ALTER TABLE scratch ADD COLUMN y integer;
CREATE INDEX ON scratch (x);
DROP TABLE scratch;
CREATE TABLE IF NOT EXISTS app.items (id integer);
CREATE TABLE other.t (x integer);
SET migrate_ext.infer_migrations = off;
CREATE TABLE app.hidden (x integer);
RESET migrate_ext.infer_migrations;
DO $$BEGIN EXECUTE 'CREATE TABLE app.from_do (x integer)'; END$$;
RESET ROLE;

SELECT is(pg_temp.inferred(), 8, 'eight statements were recorded');
SELECT results_eq(
	$$SELECT m.migration -> 'operations' -> 0 -> 'sql' ->> 'up' FROM mig.history('app') h
	  JOIN mig.migrations m ON m.schema = 'app' AND m.name = h.name
	  WHERE h.migration_type = 'inferred' ORDER BY h.depth DESC$$,
	ARRAY['CREATE TABLE app.items (id integer PRIMARY KEY, name text)',
		  'ALTER TABLE app.items ADD COLUMN note text',
		  'CREATE INDEX items_name_idx ON app.items (name)',
		  'DROP INDEX app.items_name_idx',
		  'ALTER TABLE app.items ADD COLUMN a integer',
		  'ALTER TABLE app.items DROP COLUMN a',
		  'CREATE TABLE unq (x integer)',
		  $f$CREATE FUNCTION app.f() RETURNS integer LANGUAGE sql AS 'SELECT 1'$f$],
	'each statement is recorded with its own text, in order');
SELECT is((SELECT count(*)::integer FROM mig.migrations
		   WHERE migration_type = 'inferred'
			 AND name ~ '^01_init_[0-9]{20}$'), 8,
	'named <latest migration>_<timestamp>');
SELECT is((SELECT count(*)::integer FROM mig.migrations m
		   WHERE m.migration_type = 'inferred'
			 AND m.migration = jsonb_build_object('operations', jsonb_build_array(
				jsonb_build_object('sql', jsonb_build_object('up',
					m.migration -> 'operations' -> 0 -> 'sql' ->> 'up'))))
			 AND m.status = 'complete'
			 AND m.started_by = 'mig_t42_owner'::regrole), 8,
	'a sql operation, complete, by the role that ran it');
SELECT is((SELECT parent FROM mig.migrations
		   WHERE migration = '{"operations": [{"sql": {"up": "CREATE TABLE app.items (id integer PRIMARY KEY, name text)"}}]}'),
	'01_init', 'the first one''s parent is the latest migration');
SELECT is((SELECT count(*)::integer FROM mig.history('app') h
		   JOIN mig.migrations m ON m.schema = 'app' AND m.name = h.name
		   JOIN mig.history('app') p ON p.depth = h.depth + 1
		   WHERE m.parent = p.name), 8, 'the history is one chain');
SELECT is((SELECT resulting_schema -> 'tables' -> 'items' -> 'columns' -> 2 ->> 'name'
		   FROM mig.migrations WHERE migration ->> 'operations' LIKE '%ADD COLUMN note%'),
	'note', 'resulting_schema is the schema after the statement');
SELECT ok((SELECT NOT (resulting_schema -> 'tables' -> 'items' -> 'indexes' ? 'items_name_idx')
		   FROM mig.migrations WHERE migration ->> 'operations' LIKE '%DROP INDEX%'),
	'after a DROP too');
SELECT results_eq(
	$$SELECT depth, status, version_schema, migration_type FROM mig.history('app')
	  WHERE depth IN (0, 8) ORDER BY depth$$,
	$$VALUES (0, 'complete', NULL::text, 'inferred'), (8, 'complete', 'app_01_init', 'pgroll')$$,
	'mig.history shows them, without a version schema');
SELECT is(mig.latest_version('app'), 'app_01_init', 'the latest version skips them');
SELECT results_eq($$SELECT version, status, migration FROM mig.status('app')$$,
	$$VALUES ('01_init', 'Complete', '01_init')$$,
	'so does mig.status');
SELECT is((SELECT count(*)::integer FROM mig.migrations WHERE schema = 'other'), 0,
	'nothing in a schema without a history');
SELECT has_table('app', 'hidden', 'the statements not recorded ran');

-- schema mig and version schemas are not recorded
CREATE TABLE mig.junk (x integer);
DROP TABLE mig.junk;
CREATE VIEW app_01_init.v AS SELECT 1 AS one;
DROP VIEW app_01_init.v;
SELECT is(pg_temp.inferred(), 8, 'nor DDL in schema mig or in a version schema');

-- a migration started now sees the column added by hand
SELECT is(mig.start('02_rename', '{"operations": [{"rename_column": {"table": "items",
	"from": "note", "to": "remark"}}]}', 'app'), 'app_02_rename',
	'a migration of the column added by hand starts');
SELECT has_column('app_02_rename', 'items', 'remark', 'its version has the column, renamed');
SELECT has_column('app_02_rename', 'unq', 'x', 'and the table created by hand');
SELECT is((SELECT parent FROM mig.migrations WHERE name = '02_rename'),
	(SELECT name FROM mig.history('app') WHERE depth = 1),
	'its parent is the latest inferred migration');
SELECT is(mig.previous_version('app'), 'app_01_init',
	'its previous version is the latest version schema');

-- nothing is recorded while a migration is in progress
CREATE TABLE app.during (x integer);
SELECT is(pg_temp.inferred(), 8, 'DDL during a migration is not recorded');
SELECT is((SELECT name FROM mig.history('app') WHERE depth = 0), '02_rename',
	'the migration in progress is still the latest');

SELECT is(mig.complete('app'), 'app_02_rename', 'it completes');
SELECT hasnt_schema('app_01_init', 'complete dropped the previous version schema');
SELECT is(pg_temp.inferred(), 8, 'start and complete recorded nothing');

-- COPY into a version view (its staging table), a sql operation, rollback
COPY app_02_rename.items (id, name) FROM PROGRAM 'echo 1,one' WITH (FORMAT csv);
SELECT mig.start('03_sql', '{"operations": [{"sql": {"up": "CREATE TABLE app.raw (x integer)",
	"down": "DROP TABLE app.raw"}}]}', 'app');
SELECT mig.rollback('app');
SELECT is(pg_temp.inferred(), 8, 'nor COPY into a version view, a sql operation or rollback');

-- the next one is named after the latest migration of its own
ALTER TABLE app.items ADD COLUMN late integer;
SELECT ok((SELECT name FROM mig.history('app') WHERE depth = 0) ~ '^02_rename_[0-9]{20}$',
	'the next one is named after 02_rename');
SELECT is((SELECT parent FROM mig.migrations m
		   WHERE m.name = (SELECT name FROM mig.history('app') WHERE depth = 0)),
	'02_rename', 'and is its child');
SELECT is(pg_temp.inferred(), 9, 'nine in all');

SELECT * FROM finish();
ROLLBACK;
