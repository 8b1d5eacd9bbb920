-- Design invariant 6: a role can migrate only what it could alter by hand.
-- A schema owner who is not a superuser migrates its own schema; another
-- role can neither start, complete nor roll back a migration of it.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(13);

CREATE ROLE mig_t14_owner;
CREATE ROLE mig_t14_other;
CREATE SCHEMA owned AUTHORIZATION mig_t14_owner;

\ir lib/as_role.psql

SELECT is(pg_temp.as_role('mig_t14_owner', $q$SELECT mig.start('01_init', '{"operations": [{"create_table": {"name": "t", "columns": [{"name": "id", "type": "integer", "pk": true}]}}]}', 'owned')$q$),
	'owned_01_init', 'the owner of a schema, not a superuser, starts a migration of it');
SELECT is(pg_temp.as_role('mig_t14_owner', $q$SELECT mig.complete('owned')$q$),
	'owned_01_init', 'the owner completes it');
SELECT has_table('owned', 't', 'the owner''s migration created the table');
SELECT is(pg_temp.as_role('mig_t14_owner', $q$INSERT INTO owned_01_init.t VALUES (1) RETURNING id::text$q$),
	'1', 'the owner writes through the version schema');
SELECT is(pg_temp.as_role('mig_t14_owner', $q$SELECT status FROM mig.status('owned')$q$),
	'Complete', 'the owner reads the status of its schema');

SELECT is(pg_temp.as_role('mig_t14_other', $q$SELECT mig.start('02_other', '{"operations": [{"add_column": {"table": "t", "column": {"name": "x", "type": "integer", "nullable": true}}}]}', 'owned')$q$),
	'ERROR 42501', 'a role that could not alter the table by hand cannot migrate it');
SELECT hasnt_column('owned', 't', '_mig_new_x', 'the refused migration left no column');
SELECT hasnt_schema('owned_02_other', 'the refused migration left no version schema');

SELECT is(pg_temp.as_role('mig_t14_owner', $q$SELECT mig.start('02_add', '{"operations": [{"add_column": {"table": "t", "column": {"name": "x", "type": "integer", "nullable": true}}}]}', 'owned')$q$),
	'owned_02_add', 'the owner starts a second migration');
SELECT is(pg_temp.as_role('mig_t14_other', $q$SELECT mig.complete('owned')$q$),
	'ERROR 42501', 'another role cannot complete the owner''s migration');
SELECT is(pg_temp.as_role('mig_t14_other', $q$SELECT mig.rollback('owned')$q$),
	'ERROR 42501', 'another role cannot roll back the owner''s migration');
SELECT is((SELECT status FROM mig.status('owned')), 'In progress', 'the migration is still in progress');
SELECT is(pg_temp.as_role('mig_t14_owner', $q$SELECT mig.rollback('owned')$q$),
	'owned_01_init', 'the owner rolls back its migration');

SELECT * FROM finish();
ROLLBACK;
