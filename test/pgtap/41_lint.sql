-- mig.lint (issue 19, item 2): each rule fires on its unsafe statement and
-- is quiet on the safe form (or on a table the same SQL created); the lint
-- of "sql" operations at mig.start: warnings by default, a refusal with
-- migrate_ext.lint = error, nothing for the rules of migrate_ext.lint_allow.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(56);

CREATE SCHEMA app;
SET search_path = app, public;
CREATE TABLE app.items (id integer PRIMARY KEY, name text, price varchar(10), n numeric(10, 2));
INSERT INTO app.items VALUES (1, 'apple', '10', 1), (2, 'pear', '20', 2);
CREATE INDEX items_name ON app.items (name);

CREATE FUNCTION pg_temp.rules(sql text) RETURNS text[]
LANGUAGE sql AS $$SELECT coalesce(array_agg(rule), '{}') FROM mig.lint(sql)$$;

SELECT is((SELECT count(*)::int FROM mig.lint_rules()), 15, 'fifteen rules');

-- each rule: unsafe, then safe
SELECT is(pg_temp.rules('CREATE INDEX i ON items (name)'),
	'{require-concurrent-index-creation}', 'CREATE INDEX without CONCURRENTLY');
SELECT is(pg_temp.rules('CREATE INDEX CONCURRENTLY i ON items (name)'), '{}', 'CREATE INDEX CONCURRENTLY is safe');
SELECT is(pg_temp.rules('CREATE TABLE t (a int); CREATE INDEX ON t (a)'), '{}',
	'CREATE INDEX on a table the same SQL created is safe');

SELECT is(pg_temp.rules('DROP INDEX items_name'),
	'{require-concurrent-index-deletion}', 'DROP INDEX without CONCURRENTLY');
SELECT is(pg_temp.rules('DROP INDEX CONCURRENTLY items_name'), '{}', 'DROP INDEX CONCURRENTLY is safe');

SELECT is(pg_temp.rules('ALTER TABLE items ADD COLUMN c text NOT NULL'),
	'{adding-required-field}', 'a NOT NULL column without a default');
SELECT is(pg_temp.rules($$ALTER TABLE items ADD COLUMN c text NOT NULL DEFAULT 'x'$$), '{}',
	'with a constant default it is safe');

SELECT is(pg_temp.rules('ALTER TABLE items ADD COLUMN c uuid DEFAULT gen_random_uuid()'),
	'{adding-field-with-default}', 'a volatile default rewrites');
SELECT is(pg_temp.rules('ALTER TABLE items ADD COLUMN s bigserial'),
	'{adding-field-with-default}', 'so does a serial column');
SELECT is(pg_temp.rules('ALTER TABLE items ADD COLUMN c timestamptz DEFAULT now()'), '{}',
	'a stable default is safe');

SELECT is(pg_temp.rules('ALTER TABLE items ALTER COLUMN name TYPE integer USING length(name)'),
	'{changing-column-type}', 'a type change that rewrites');
SELECT is(pg_temp.rules('ALTER TABLE items ALTER COLUMN price TYPE varchar(5)'),
	'{changing-column-type}', 'a shorter varchar is checked under the lock');
SELECT is(pg_temp.rules('ALTER TABLE items ALTER COLUMN price TYPE varchar(20), ALTER COLUMN name TYPE varchar,
	ALTER COLUMN n TYPE numeric'), '{}',
	'a longer varchar, text to varchar, numeric without a modifier: no rewrite');

SELECT is(pg_temp.rules('ALTER TABLE items ADD CONSTRAINT c CHECK (id > 0)'),
	'{constraint-missing-not-valid}', 'a CHECK added valid');
SELECT is(pg_temp.rules('ALTER TABLE items ADD CONSTRAINT f FOREIGN KEY (id) REFERENCES items (id)'),
	'{constraint-missing-not-valid}', 'a FOREIGN KEY added valid');
SELECT is(pg_temp.rules('ALTER TABLE items ADD CONSTRAINT c CHECK (id > 0) NOT VALID'), '{}',
	'NOT VALID is safe');

SELECT is(pg_temp.rules('ALTER TABLE items ADD CONSTRAINT u UNIQUE (name)'),
	'{disallowed-unique-constraint}', 'a UNIQUE constraint building its index');
SELECT is(pg_temp.rules('ALTER TABLE items ADD CONSTRAINT u UNIQUE USING INDEX items_name'), '{}',
	'UNIQUE USING INDEX is safe');

SELECT is(pg_temp.rules('ALTER TABLE items ALTER COLUMN name SET NOT NULL'),
	'{setting-not-nullable-field}', 'SET NOT NULL');
SELECT is(pg_temp.rules('CREATE TABLE t (a int); ALTER TABLE t ALTER COLUMN a SET NOT NULL'), '{}',
	'SET NOT NULL on a new table is safe');

SELECT is(pg_temp.rules('ALTER TABLE items ALTER COLUMN id DROP NOT NULL'),
	'{ban-drop-not-null}', 'DROP NOT NULL');
SELECT is(pg_temp.rules('CREATE TABLE t (a int NOT NULL); ALTER TABLE t ALTER COLUMN a DROP NOT NULL'), '{}',
	'DROP NOT NULL on a new table is safe');

SELECT is(pg_temp.rules('ALTER TABLE items RENAME TO products'), '{renaming-table}', 'renaming a table');
SELECT is(pg_temp.rules('CREATE TABLE t (a int); ALTER TABLE t RENAME TO u; CREATE INDEX ON u (a)'), '{}',
	'renaming a new table is safe, and it stays new');

SELECT is(pg_temp.rules('ALTER TABLE items RENAME COLUMN name TO title'), '{renaming-column}', 'renaming a column');
SELECT is(pg_temp.rules('CREATE TABLE t (a int); ALTER TABLE t RENAME COLUMN a TO b'), '{}',
	'renaming a column of a new table is safe');

SELECT is(pg_temp.rules('ALTER TABLE items DROP COLUMN name'), '{ban-drop-column}', 'dropping a column');
SELECT is(pg_temp.rules('CREATE TABLE t (a int, b int); ALTER TABLE t DROP COLUMN b'), '{}',
	'dropping a column of a new table is safe');
SELECT is(pg_temp.rules('ALTER TABLE items ADD COLUMN c text; ALTER TABLE items DROP COLUMN c'), '{}',
	'dropping a column the same SQL added is safe');

SELECT is(pg_temp.rules('DROP TABLE items'), '{ban-drop-table}', 'dropping a table');
SELECT is(pg_temp.rules('CREATE TABLE t (a int); DROP TABLE t'), '{}', 'dropping a new table is safe');

SELECT is(pg_temp.rules('VACUUM FULL items; CLUSTER items USING items_pkey; ALTER TABLE items SET UNLOGGED'),
	'{table-rewrite,table-rewrite,table-rewrite}', 'VACUUM FULL, CLUSTER, SET UNLOGGED rewrite');
SELECT is(pg_temp.rules('VACUUM items'), '{}', 'plain VACUUM is safe');

SELECT is(pg_temp.rules('LOCK TABLE items; UPDATE items SET name = upper(name)'),
	'{lock-held-across-scan}', 'an UPDATE after LOCK TABLE');
SELECT is(pg_temp.rules('ALTER TABLE items ADD COLUMN c text; UPDATE items SET c = name'),
	'{lock-held-across-scan}', 'an UPDATE after an ALTER TABLE in the same transaction');
SELECT is(pg_temp.rules('UPDATE items SET name = upper(name); ALTER TABLE items ADD COLUMN c text;
	INSERT INTO items (id) VALUES (3)'), '{}',
	'an UPDATE before the lock, an INSERT of values after it: safe');

-- a finding's row
SELECT results_eq($$SELECT * FROM mig.lint('  SELECT 1;
	CREATE INDEX i ON items (name)  ;')$$,
	$$VALUES ('require-concurrent-index-creation'::text, 'CREATE INDEX i ON items (name)'::text,
		'CREATE INDEX without CONCURRENTLY blocks writes to the table until the index is built'::text,
		'Use a create_index operation: it builds the index concurrently, in the background.'::text)$$,
	'a finding: rule, the statement''s exact text, why, and the safe operation');

-- the allow list
SET LOCAL migrate_ext.lint_allow = 'ban-drop-table, renaming-table';
SELECT is(pg_temp.rules('DROP TABLE items; ALTER TABLE items RENAME TO x; ALTER TABLE x DROP COLUMN name'),
	'{ban-drop-column}', 'the rules of migrate_ext.lint_allow are not reported');
RESET migrate_ext.lint_allow;
SELECT throws_ok($$SET LOCAL migrate_ext.lint_allow = 'ban-drop-table, no-such-rule'$$, '22023', NULL,
	'an unknown rule in migrate_ext.lint_allow is refused');
SELECT throws_ok($$SET LOCAL migrate_ext.lint = 'loud'$$, '22023', NULL,
	'migrate_ext.lint is off, warning or error');

-- names in a sql operation resolve in the migrated schema, as when it runs
SET LOCAL migrate_ext.lint = error;
SET LOCAL search_path = public;
SELECT lives_ok($$SELECT mig.start('01_widen', '{"operations": [{"sql": {"up": "ALTER TABLE items ALTER COLUMN price TYPE varchar(20)"}}]}', 'app')$$,
	'a type change that does not rewrite the migrated schema''s table is not reported');
SELECT lives_ok($$SELECT mig.rollback('app')$$, 'rolled back');
RESET migrate_ext.lint;
SET LOCAL search_path = app, public;

-- at start: a warning by default
SELECT lives_ok($$SELECT mig.start('01_sql', '{"operations": [{"sql": {"up": "CREATE INDEX items_price ON items (price)", "down": "DROP INDEX items_price"}}]}', 'app')$$,
	'by default an unsafe sql operation starts, with a warning');
SELECT lives_ok($$SELECT mig.rollback('app')$$, 'rolled back');

-- error: refused before anything changes
SET LOCAL migrate_ext.lint = error;
SELECT throws_ok($$SELECT mig.start('01_sql', '{"operations": [{"sql": {"up": "CREATE INDEX items_price ON items (price)", "down": "DROP INDEX items_price"}}]}', 'app')$$,
	'42000',
	'operations[0].up of migration "01_sql" breaks lint rule "require-concurrent-index-creation": CREATE INDEX without CONCURRENTLY blocks writes to the table until the index is built',
	'with migrate_ext.lint = error it is refused, naming the operation and the rule');
SELECT is((SELECT count(*)::int FROM mig.migrations WHERE schema = 'app'), 0, 'and nothing was recorded');
SELECT throws_ok($$SELECT mig.start('01_sql', '{"operations": [{"sql": {"up": "ALTER TABLE items ADD COLUMN z text",
	"down": "ALTER TABLE items DROP COLUMN name"}}]}', 'app')$$,
	'42000', NULL, '"down" is linted too');
SELECT lives_ok($$SELECT mig.start('01_sql', '{"operations": [{"sql": {"up": "CREATE TABLE t2 (a int); CREATE INDEX ON t2 (a)",
	"down": "DROP TABLE t2"}}]}', 'app')$$,
	'what the sql operation creates, and its "down" drops, is not reported');
SELECT lives_ok($$SELECT mig.rollback('app')$$, 'rolled back');
SELECT lives_ok($$SELECT mig.start('01_mixed', '{"operations": [
	{"create_table": {"name": "t3", "columns": [{"name": "a", "type": "integer", "nullable": true}]}},
	{"sql": {"up": "CREATE INDEX t3_a ON t3 (a)", "onComplete": true}}]}', 'app')$$,
	'nor is a table another operation of the migration creates');
SELECT lives_ok($$SELECT mig.rollback('app')$$, 'rolled back');

-- the allow list and off
SET LOCAL migrate_ext.lint_allow = 'require-concurrent-index-creation';
SELECT lives_ok($$SELECT mig.start('01_sql', '{"operations": [{"sql": {"up": "CREATE INDEX items_price ON items (price)", "down": "DROP INDEX items_price"}}]}', 'app')$$,
	'an allowed rule does not refuse');
SELECT lives_ok($$SELECT mig.rollback('app')$$, 'rolled back');
RESET migrate_ext.lint_allow;
SET LOCAL migrate_ext.lint = off;
SELECT lives_ok($$SELECT mig.start('01_sql', '{"operations": [{"sql": {"up": "CREATE INDEX items_price ON items (price)", "down": "DROP INDEX items_price"}}]}', 'app')$$,
	'with migrate_ext.lint = off nothing is linted');
SELECT lives_ok($$SELECT mig.complete('app')$$, 'and it completes');

SELECT * FROM finish();
ROLLBACK;
