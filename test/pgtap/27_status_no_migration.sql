-- mig.status on a schema with no active migration (issue 14, item 12):
-- pgroll's status for a schema it never migrated is "No migrations" with no
-- phase; a schema whose migrations are all complete is "Complete", again
-- with no phase.  Neither may claim a migration is "ready to complete".
-- And in a read-only transaction the functions that write refuse at once
-- with 25006 and no internal SQL (a hot standby: test/t/015_standby.pl).
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(9);

SELECT results_eq(
	$$SELECT schema = 'nosuch', version, status, migration, phase, jobs FROM mig.status('nosuch')$$,
	$$VALUES (true, NULL::text, 'No migrations', NULL::text, NULL::text, NULL::text)$$,
	'a schema that does not exist: No migrations, no phase, no jobs');

CREATE SCHEMA plain;
SELECT results_eq(
	$$SELECT status, phase FROM mig.status('plain')$$,
	$$VALUES ('No migrations', NULL::text)$$,
	'a schema that exists but was never migrated: No migrations, no phase');

CREATE SCHEMA app;
SELECT mig.start('01_init', '{"operations": [{"create_table": {"name": "items", "columns": [
	{"name": "id", "type": "integer", "pk": true},
	{"name": "price", "type": "integer", "nullable": true}]}}]}', 'app');
SELECT results_eq(
	$$SELECT status, migration, phase FROM mig.status('app')$$,
	$$VALUES ('In progress', '01_init', 'ready to complete')$$,
	'an active migration with no jobs left is ready to complete');
SELECT mig.complete('app');
SELECT results_eq(
	$$SELECT version, status, migration, phase, jobs FROM mig.status('app')$$,
	$$VALUES ('01_init', 'Complete', '01_init', NULL::text, NULL::text)$$,
	'a schema whose only migration is complete: Complete, no phase');

SELECT mig.start('02_more', '{"operations": [{"add_column": {"table": "items",
	"column": {"name": "note", "type": "text", "nullable": true}}}]}', 'app');
SELECT mig.complete('app');
SELECT results_eq(
	$$SELECT status, migration, phase FROM mig.status('app')$$,
	$$VALUES ('Complete', '02_more', NULL::text)$$,
	'a schema whose migrations are all complete: Complete, no phase');

SELECT is((SELECT count(*)::int FROM mig.jobs WHERE schema IN ('nosuch', 'plain', 'app')), 0,
	'no jobs are shown for any of them');

SELECT mig.start('03_ro', '{"operations": [{"add_column": {"table": "items", "up": "1",
	"column": {"name": "ro", "type": "integer", "nullable": true}}}]}', 'app');
-- last in the file: pgTAP's results live in a temporary table, which a
-- read-only transaction may still write (a rollback to a savepoint would
-- discard them)
SET LOCAL transaction_read_only = on;
SELECT throws_ok($$SELECT mig.pause('app')$$, '25006',
	'cannot run mig.pause on schema "app" in a read-only transaction',
	'in a read-only transaction mig.pause refuses with 25006, naming the function and schema');
SELECT throws_ok($$SELECT mig.complete('app')$$, '25006',
	'cannot run mig.complete on schema "app" in a read-only transaction',
	'and so does mig.complete');
SELECT is((SELECT phase FROM mig.status('app')), 'running jobs',
	'mig.status still works in a read-only transaction');

SELECT * FROM finish();
ROLLBACK;
