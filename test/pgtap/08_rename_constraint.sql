-- rename_constraint: renamed at complete; enforced throughout.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(28);

CREATE SCHEMA app;
-- the constraint names of a table (but NOT NULL, a constraint from
-- PostgreSQL 18 on, that rename_constraint does not concern)
CREATE FUNCTION pg_temp.cons(rel regclass) RETURNS text[] LANGUAGE sql STABLE AS $$
	SELECT array_agg(conname::text ORDER BY conname) FROM pg_constraint
	WHERE conrelid = rel AND contype <> 'n'
$$;

SELECT lives_ok($$SELECT mig.start('01_init', $j${"operations": [
	{"create_table": {"name": "teams", "columns": [
		{"name": "id", "type": "integer", "pk": true}]}},
	{"create_table": {"name": "users", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "email", "type": "text"},
		{"name": "age", "type": "integer", "nullable": true,
		 "check": {"name": "age_check", "constraint": "age >= 0"}},
		{"name": "team_id", "type": "integer", "nullable": true,
		 "references": {"name": "users_team_fk", "table": "teams", "column": "id"}}],
	 "constraints": [{"name": "users_email_key", "type": "unique", "columns": ["email"]}]}}]}$j$, 'app');
	SELECT mig.complete('app')$$, 'setup: create teams and users');
INSERT INTO app_01_init.teams VALUES (1);
INSERT INTO app_01_init.users VALUES (1, 'a@x', 30, 1);
CREATE TEMP TABLE before AS SELECT mig.read_schema('app') AS s;

CREATE TEMP TABLE doc AS SELECT $j${"operations": [
	{"rename_constraint": {"table": "users", "from": "age_check", "to": "age_must_be_positive"}},
	{"rename_constraint": {"table": "users", "from": "users_email_key", "to": "users_email_unique"}},
	{"rename_constraint": {"table": "users", "from": "users_team_fk", "to": "users_team_id_fkey"}}]}$j$::jsonb AS d;

------------------------------------------------------------------------------
-- start
------------------------------------------------------------------------------
SELECT is(mig.start('02_rename', (SELECT d FROM doc), 'app'), 'app_02_rename', 'rename_constraint starts');
SELECT is(pg_temp.cons('app.users'), ARRAY['age_check', 'users_email_key', 'users_pkey', 'users_team_fk'],
	'constraints keep their names until complete');
SELECT lives_ok($$INSERT INTO app_01_init.users VALUES (2, 'b@x', 1, 1)$$, 'insert through the old version');
SELECT lives_ok($$INSERT INTO app_02_rename.users VALUES (3, 'c@x', 2, NULL)$$, 'insert through the new version');
SELECT throws_ok($$INSERT INTO app_02_rename.users VALUES (4, 'd@x', -1, NULL)$$, '23514', NULL,
	'the check is enforced through the new version');
SELECT throws_ok($$INSERT INTO app_01_init.users VALUES (4, 'a@x', 1, NULL)$$, '23505', NULL,
	'the unique constraint is enforced through the old version');
SELECT throws_ok($$INSERT INTO app_02_rename.users VALUES (4, 'd@x', 1, 9)$$, '23503', NULL,
	'the foreign key is enforced through the new version');
SELECT results_eq($$SELECT id, email FROM app_02_rename.users ORDER BY id$$,
	$$VALUES (1, 'a@x'), (2, 'b@x'), (3, 'c@x')$$, 'the new version reads every row');

------------------------------------------------------------------------------
-- rollback
------------------------------------------------------------------------------
SELECT is(mig.rollback('app'), 'app_01_init', 'rollback');
SELECT is(pg_temp.cons('app.users'), ARRAY['age_check', 'users_email_key', 'users_pkey', 'users_team_fk'],
	'constraint names unchanged after rollback');
SELECT is(mig.read_schema('app'), (SELECT s FROM before), 'the base schema is exactly as before');
SELECT results_eq($$SELECT id FROM app_01_init.users ORDER BY id$$, $$VALUES (1), (2), (3)$$,
	'no row written during the migration is lost');

------------------------------------------------------------------------------
-- start again and complete
------------------------------------------------------------------------------
SELECT is(mig.start('02_rename', (SELECT d FROM doc), 'app'), 'app_02_rename', 'start again');
SELECT is(mig.complete('app'), 'app_02_rename', 'complete');
SELECT is(pg_temp.cons('app.users'), ARRAY['age_must_be_positive', 'users_email_unique', 'users_pkey', 'users_team_id_fkey'],
	'constraints are renamed at complete');
SELECT has_index('app', 'users', 'users_email_unique', 'the unique constraint''s index is renamed with it');
SELECT hasnt_index('app', 'users', 'users_email_key', 'the old index name is gone');
SELECT hasnt_schema('app_01_init', 'the previous version schema is gone');
SELECT throws_ok($$INSERT INTO app_02_rename.users VALUES (5, 'e@x', -1, NULL)$$, '23514',
	'new row for relation "users" violates check constraint "age_must_be_positive"',
	'the renamed check is enforced and reported under its new name');
SELECT throws_ok($$INSERT INTO app_02_rename.users VALUES (5, 'a@x', 1, NULL)$$, '23505', NULL,
	'the renamed unique constraint is enforced');
SELECT throws_ok($$INSERT INTO app_02_rename.users VALUES (5, 'e@x', 1, 9)$$, '23503', NULL,
	'the renamed foreign key is enforced');
SELECT lives_ok($$INSERT INTO app_02_rename.users VALUES (5, 'e@x', 1, 1)$$,
	'the new version is writable after complete');

------------------------------------------------------------------------------
-- validation
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT mig.start('03_bad', '{"operations": [{"rename_constraint": {"table": "users", "from": "nope", "to": "x"}}]}', 'app')$$,
	'42704', NULL, 'renaming a missing constraint fails');
SELECT throws_ok($$SELECT mig.start('03_bad', '{"operations": [{"rename_constraint": {"table": "users", "from": "age_must_be_positive", "to": "users_pkey"}}]}', 'app')$$,
	'42710', NULL, 'renaming to an existing constraint name fails');
SELECT throws_ok($$SELECT mig.start('03_bad', '{"operations": [{"rename_constraint": {"table": "users", "from": "users_email_unique", "to": "teams_pkey"}}]}', 'app')$$,
	'42P07', NULL, 'renaming to the name of an existing relation fails');
SELECT throws_ok($$SELECT mig.start('03_bad', '{"operations": [{"rename_constraint": {"table": "nope", "from": "a", "to": "b"}}]}', 'app')$$,
	'42P01', NULL, 'renaming a constraint of a missing table fails');
SELECT is((SELECT migration FROM mig.status('app')), '02_rename', 'failed migrations leave the status unchanged');

SELECT * FROM finish();
ROLLBACK;
