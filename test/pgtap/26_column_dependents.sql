-- alter_column copies a column into a new one and drops the old one at
-- complete.  Objects that depend on the old column and cannot be moved onto
-- the new one (a generated column, a view, a policy, a trigger's WHEN clause
-- or column list, a statistics object) would make complete fail, or vanish
-- with the column: start refuses them with 0A000 and a hint, and changes
-- nothing.  What is carried over (the table's own constraints and indexes,
-- expression indexes included) and the old version's views do not stop it.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(38);

CREATE SCHEMA app;
CREATE TABLE app.t (id integer PRIMARY KEY, n integer CHECK (n > 0), m integer);
CREATE INDEX t_n_plus_idx ON app.t ((n + 1));
INSERT INTO app.t VALUES (1, 5, 1), (2, 7, 2);

-- a catalog snapshot of the base schema: columns, constraints, indexes,
-- triggers, policies, statistics, schemas
CREATE FUNCTION pg_temp.snapshot() RETURNS text LANGUAGE sql AS $$
	SELECT concat_ws(E'\n',
		(SELECT string_agg(format('%s.%s %s %s', c.relname, a.attname,
				format_type(a.atttypid, a.atttypmod), a.attgenerated), ', '
				ORDER BY c.relname, a.attnum)
		   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
		  WHERE c.relnamespace = 'app'::regnamespace AND a.attnum > 0
		    AND NOT a.attisdropped),
		(SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), ', ' ORDER BY conname)
		   FROM pg_constraint WHERE connamespace = 'app'::regnamespace),
		(SELECT string_agg(indexdef, ', ' ORDER BY indexname)
		   FROM pg_indexes WHERE schemaname = 'app'),
		(SELECT string_agg(pg_get_triggerdef(t.oid), ', ' ORDER BY tgname)
		   FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
		  WHERE c.relnamespace = 'app'::regnamespace AND NOT t.tgisinternal),
		(SELECT string_agg(policyname || ' ' || qual, ', ' ORDER BY policyname)
		   FROM pg_policies WHERE schemaname = 'app'),
		(SELECT string_agg(stxname, ', ' ORDER BY stxname)
		   FROM pg_statistic_ext WHERE stxnamespace = 'app'::regnamespace),
		(SELECT string_agg(nspname, ', ' ORDER BY nspname)
		   FROM pg_namespace WHERE nspname LIKE 'app%'))
$$;

CREATE FUNCTION pg_temp.start_n() RETURNS text LANGUAGE sql AS $$
	SELECT mig.start('02_n', '{"operations": [{"alter_column": {"table": "t",
		"column": "n", "type": "bigint", "up": "n", "down": "n::integer"}}]}', 'app')
$$;

-- refused: start fails with 0A000 and a message naming the object, and the
-- schema is exactly as before
CREATE FUNCTION pg_temp.refused(setup text, cleanup text, message text, description text)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	before text;
BEGIN
	EXECUTE setup;
	before := pg_temp.snapshot();
	RETURN NEXT throws_ok('SELECT pg_temp.start_n()', '0A000', message,
		'alter_column is refused at start when ' || description);
	RETURN NEXT is(pg_temp.snapshot(), before,
		'... and nothing changed (' || description || ')');
	RETURN NEXT is((SELECT count(*)::int FROM mig.migrations WHERE schema = 'app'), 0,
		'... and no migration is recorded (' || description || ')');
	EXECUTE cleanup;
END
$$;

SELECT pg_temp.refused(
	'ALTER TABLE app.t ADD COLUMN g integer GENERATED ALWAYS AS (n * 2) STORED',
	'ALTER TABLE app.t DROP COLUMN g',
	'cannot change column "n" of table "t": generated column "g" depends on it',
	'a generated column depends on the column');
SELECT pg_temp.refused(
	'CREATE VIEW app.v AS SELECT id, n FROM app.t',
	'DROP VIEW app.v',
	'cannot change column "n" of table "t": view v depends on it',
	'a view of the user reads the column');
SELECT pg_temp.refused(
	'CREATE POLICY p ON app.t USING (n > 0)',
	'DROP POLICY p ON app.t',
	'cannot change column "n" of table "t": policy p on table t depends on it',
	'a policy expression reads the column');
SELECT pg_temp.refused(
	'CREATE STATISTICS app.s ON n, m FROM app.t',
	'DROP STATISTICS app.s',
	'cannot change column "n" of table "t": statistics object s depends on it',
	'a statistics object covers the column');
SELECT pg_temp.refused(
	$s$CREATE FUNCTION app.f() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
	   CREATE TRIGGER tr BEFORE UPDATE ON app.t FOR EACH ROW WHEN (NEW.n > 0)
	   EXECUTE FUNCTION app.f()$s$,
	'DROP TRIGGER tr ON app.t',
	'cannot change column "n" of table "t": trigger tr on table t depends on it',
	'a trigger''s WHEN clause reads the column');
SELECT pg_temp.refused(
	'CREATE TRIGGER tr BEFORE UPDATE OF n ON app.t FOR EACH ROW EXECUTE FUNCTION app.f()',
	'DROP TRIGGER tr ON app.t',
	'cannot change column "n" of table "t": trigger tr on table t depends on it',
	'a trigger fires on updates of the column');
SELECT pg_temp.refused(
	'CREATE TABLE app.child (n integer REFERENCES app.t (id)); ALTER TABLE app.t ADD UNIQUE (n);
	 ALTER TABLE app.child ADD FOREIGN KEY (n) REFERENCES app.t (n)',
	'DROP TABLE app.child',
	NULL,
	'a foreign key of another table references the column');

-- drop_column: complete drops the column, which its dependents would stop
-- (a statistics object goes with it, as asked)
CREATE FUNCTION pg_temp.start_drop_m() RETURNS text LANGUAGE sql AS $$
	SELECT mig.start('02_m', '{"operations": [{"drop_column": {"table": "t",
		"column": "m", "down": "0"}}]}', 'app')
$$;
CREATE FUNCTION pg_temp.drop_refused(setup text, cleanup text, message text, description text)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	before text;
BEGIN
	EXECUTE setup;
	before := pg_temp.snapshot();
	RETURN NEXT throws_ok('SELECT pg_temp.start_drop_m()', '0A000', message,
		'drop_column is refused at start when ' || description);
	RETURN NEXT is(pg_temp.snapshot(), before,
		'... and nothing changed (' || description || ')');
	EXECUTE cleanup;
END
$$;
SELECT pg_temp.drop_refused(
	'ALTER TABLE app.t ADD COLUMN g integer GENERATED ALWAYS AS (m * 2) STORED',
	'ALTER TABLE app.t DROP COLUMN g',
	'cannot drop column "m" of table "t": generated column "g" depends on it',
	'a generated column depends on the column');
SELECT pg_temp.drop_refused(
	'CREATE VIEW app.v AS SELECT id, m FROM app.t',
	'DROP VIEW app.v',
	'cannot drop column "m" of table "t": view v depends on it',
	'a view of the user reads the column');
SELECT pg_temp.drop_refused(
	'CREATE POLICY p ON app.t USING (m > 0)',
	'DROP POLICY p ON app.t',
	'cannot drop column "m" of table "t": policy p on table t depends on it',
	'a policy expression reads the column');
SELECT pg_temp.drop_refused(
	'CREATE TRIGGER tr BEFORE UPDATE OF m ON app.t FOR EACH ROW EXECUTE FUNCTION app.f()',
	'DROP TRIGGER tr ON app.t',
	'cannot drop column "m" of table "t": trigger tr on table t depends on it',
	'a trigger fires on updates of the column');
SELECT pg_temp.drop_refused(
	'CREATE TABLE app.child2 (m integer); ALTER TABLE app.t ADD CONSTRAINT t_m_key UNIQUE (m);
	 ALTER TABLE app.child2 ADD CONSTRAINT child2_m_fkey FOREIGN KEY (m) REFERENCES app.t (m)',
	'DROP TABLE app.child2; ALTER TABLE app.t DROP CONSTRAINT t_m_key',
	'cannot drop column "m" of table "t": constraint child2_m_fkey on table child2 depends on it',
	'a foreign key of another table references the column');
CREATE STATISTICS app.s2 ON n, m FROM app.t;
SELECT lives_ok('SELECT pg_temp.start_drop_m()',
	'drop_column of a column a statistics object covers starts');
SELECT lives_ok($$SELECT mig.complete('app')$$, '... and completes, dropping the statistics with it');
SELECT hasnt_column('app', 't', 'm', '... the column is gone');

-- what is carried over, and the old version's views, do not stop it
SELECT lives_ok($$SELECT mig.start('03_n', '{"operations": [{"alter_column": {"table": "t",
		"column": "n", "type": "bigint", "up": "n", "down": "n::integer"}}]}', 'app')$$,
	'alter_column of a column with a check, a unique constraint and an expression index starts');
SELECT lives_ok($$SELECT mig.complete('app')$$, '... and completes');
SELECT is((SELECT format_type(atttypid, atttypmod) FROM pg_attribute
	WHERE attrelid = 'app.t'::regclass AND attname = 'n'), 'bigint',
	'... the column has its new type');
SELECT lives_ok($$SELECT mig.start('04_n', '{"operations": [{"alter_column": {"table": "t",
	"column": "n", "type": "integer", "up": "n::integer", "down": "n"}}]}', 'app');
	SELECT mig.complete('app')$$,
	'the old version''s view of the column does not stop a later alter_column');

SELECT * FROM finish();
ROLLBACK;
