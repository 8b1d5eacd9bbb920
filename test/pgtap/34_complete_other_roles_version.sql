-- A role that may migrate a schema (it owns the table and may create in
-- the schema) completes its migration although the previous version
-- schema was made by another role's migration: complete drops version
-- schemas as mig.start made them, for whoever may migrate the base schema,
-- not with the caller's own privileges (before: "must be owner of schema",
-- a raw 42501 from the internal DROP).  A user's object in that schema
-- still stops it (2BP01), and nothing of another role's is dropped.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(5);

CREATE ROLE mig34_owner LOGIN;
CREATE SCHEMA app34;
GRANT USAGE, CREATE ON SCHEMA app34 TO mig34_owner;

-- the superuser's migration makes the first version schema
SELECT mig.start('01_init', '{"operations": [{"create_table": {"name": "items", "columns": [
	{"name": "id", "type": "integer", "pk": true},
	{"name": "name", "type": "text"}]}}]}', 'app34');
SELECT mig.complete('app34');
INSERT INTO app34.items VALUES (1, 'one');
ALTER TABLE app34.items OWNER TO mig34_owner;
SELECT is((SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'app34_01_init'),
	current_user::text, 'the first version schema belongs to the superuser');

SET LOCAL ROLE mig34_owner;
SELECT mig.start('02_shout', '{"operations": [{"add_column": {"table": "items",
	"up": "upper(name)", "column": {"name": "shout", "type": "text", "nullable": true}}}]}', 'app34');
SELECT lives_ok($$SELECT mig.complete('app34')$$,
	'the table''s owner completes its migration, dropping the other role''s version schema');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM pg_namespace WHERE nspname = 'app34_01_init'), 0,
	'the previous version schema is gone');
SELECT is((SELECT shout FROM app34_02_shout.items WHERE id = 1), 'ONE', 'and the migration is complete');

-- a user's object in the version schema still stops complete
CREATE FUNCTION app34_02_shout.mine() RETURNS int LANGUAGE sql AS 'SELECT 1';
SET LOCAL ROLE mig34_owner;
SELECT mig.start('03_more', '{"operations": [{"add_column": {"table": "items",
	"column": {"name": "note", "type": "text", "nullable": true}}}]}', 'app34');
SELECT throws_ok($$SELECT mig.complete('app34')$$, '2BP01', NULL,
	'a function of another role in the previous version schema still refuses complete');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
