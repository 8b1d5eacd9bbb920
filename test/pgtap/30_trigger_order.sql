-- The dual-write trigger fires after the table's own BEFORE row triggers
-- (PostgreSQL fires them in the byte order of their names, and it is named
-- "~mig_dual_write"), so it computes the other version's columns from the
-- row as they leave it and both versions agree.  A BEFORE INSERT or UPDATE
-- row trigger whose name sorts after it is refused at start (0A000) and
-- while the migration is active (55000), created or renamed.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(27);

CREATE SCHEMA app;
CREATE TABLE app.ut (id int PRIMARY KEY, name text, updated int DEFAULT 0);
INSERT INTO app.ut (id, name) VALUES (1, 'one'), (2, 'two');
CREATE FUNCTION app.trim_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.name := trim(NEW.name);
	RETURN NEW;
END $$;
CREATE FUNCTION app.noop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RETURN NEW;
END $$;
-- the DBA's repro: a lower-case name, which sorted after "_mig_dual_write"
CREATE TRIGGER trim_name BEFORE INSERT OR UPDATE ON app.ut
	FOR EACH ROW EXECUTE FUNCTION app.trim_name();

SELECT cmp_ok('~mig_dual_write'::text COLLATE "C", '>', 'zzz', 'the trigger name sorts after lower-case names');
SELECT cmp_ok('~mig_dual_write'::text COLLATE "C", '>', '_mig_dual_write', 'and after names starting with an underscore');
SELECT is(quote_ident('~mig_dual_write'), '"~mig_dual_write"', 'and is quoted in SQL');

------------------------------------------------------------------------------
-- start refuses a BEFORE INSERT/UPDATE row trigger that would fire after ours
------------------------------------------------------------------------------
CREATE TEMP TABLE doc AS SELECT '{"operations": [{"alter_column": {"table": "ut",
	"column": "name", "type": "text", "up": "upper(name)", "down": "lower(name)"}}]}'::jsonb AS d;

CREATE TRIGGER "~~late" BEFORE UPDATE ON app.ut FOR EACH ROW EXECUTE FUNCTION app.noop();
SELECT throws_ok($$SELECT mig.start('m8', (SELECT d FROM doc), 'app')$$, '0A000',
	'migration "m8" cannot keep table app.ut in step: its trigger "~~late" would fire after the dual-write trigger',
	'start refuses a BEFORE UPDATE row trigger whose name sorts after the dual-write trigger');
SELECT hasnt_column('app', 'ut', '_mig_new_name', 'the refused start left no column');
SELECT hasnt_trigger('app', 'ut', '~mig_dual_write', 'and no trigger');
SELECT is((SELECT count(*)::int FROM mig.migrations WHERE schema = 'app'), 0, 'and no migration');
ALTER TABLE app.ut DISABLE TRIGGER "~~late";
SELECT throws_ok($$SELECT mig.start('m8', (SELECT d FROM doc), 'app')$$, '0A000', NULL,
	'a disabled one too (it can be enabled at any time)');
DROP TRIGGER "~~late" ON app.ut;

CREATE TRIGGER U&"\00E4_trim" BEFORE INSERT ON app.ut FOR EACH ROW EXECUTE FUNCTION app.noop();
SELECT throws_ok($$SELECT mig.start('m8', (SELECT d FROM doc), 'app')$$, '0A000', NULL,
	'a BEFORE INSERT row trigger with a non-ASCII name is refused');
DROP TRIGGER U&"\00E4_trim" ON app.ut;

-- what cannot change the row after ours is accepted
CREATE TRIGGER "~~audit" AFTER INSERT OR UPDATE ON app.ut FOR EACH ROW EXECUTE FUNCTION app.noop();
CREATE TRIGGER "~~del" BEFORE DELETE ON app.ut FOR EACH ROW EXECUTE FUNCTION app.noop();
CREATE TRIGGER "~~stmt" BEFORE UPDATE ON app.ut FOR EACH STATEMENT EXECUTE FUNCTION app.noop();

SELECT is(mig.start('m8', (SELECT d FROM doc), 'app'), 'app_m8',
	'start accepts AFTER, BEFORE DELETE and statement triggers named after ours, and lower-case BEFORE ones');
SELECT has_trigger('app', 'ut', '~mig_dual_write', 'the table has its dual-write trigger');
CALL mig.wait('app');
SELECT is((SELECT array_agg(tgname::text ORDER BY tgname COLLATE "C") FROM pg_trigger
	WHERE tgrelid = 'app.ut'::regclass AND tgtype & 3 = 3 AND tgtype & 20 <> 0),
	ARRAY['trim_name', '~mig_dual_write'], 'the BEFORE row triggers fire user''s first, ours last');

------------------------------------------------------------------------------
-- the DBA's repro: both versions see the row as trim_name leaves it
------------------------------------------------------------------------------
UPDATE app.ut SET name = '  upd  ' WHERE id = 1;
SELECT is((SELECT name FROM app.ut WHERE id = 1), 'upd', 'an update through the old version is trimmed');
SELECT is((SELECT name FROM app_m8.ut WHERE id = 1), 'UPD',
	'and the new version shows up() of the trimmed value');
INSERT INTO app.ut (id, name) VALUES (3, '  ins  ');
SELECT is((SELECT name FROM app_m8.ut WHERE id = 3), 'INS', 'an insert through the old version likewise');

UPDATE app_m8.ut SET name = '  NEW  ' WHERE id = 2;
SELECT is((SELECT name FROM app.ut WHERE id = 2), lower((SELECT name FROM app_m8.ut WHERE id = 2)),
	'after an update through the new version the old version shows down() of the new value');
SELECT is((SELECT count(*)::int FROM app.ut o JOIN app_m8.ut n USING (id)
	WHERE n.name IS DISTINCT FROM upper(o.name)), 0, 'the two versions agree on every row');

------------------------------------------------------------------------------
-- and while the migration is active, no trigger can be put after ours
------------------------------------------------------------------------------
SELECT throws_ok($$CREATE TRIGGER "~~late" BEFORE INSERT ON app.ut FOR EACH ROW EXECUTE FUNCTION app.noop()$$,
	'55000', 'trigger "~~late" on table app.ut would fire after the dual-write trigger of migration "m8"',
	'CREATE TRIGGER of a BEFORE row trigger named after ours is refused mid-migration');
SELECT throws_ok($$ALTER TRIGGER trim_name ON app.ut RENAME TO "~~trim"$$, '55000', NULL,
	'renaming a BEFORE row trigger to a name after ours is refused');
SELECT throws_ok($$CREATE OR REPLACE TRIGGER "~~audit" BEFORE UPDATE ON app.ut FOR EACH ROW EXECUTE FUNCTION app.noop()$$,
	'55000', NULL, 'turning an AFTER trigger named after ours into a BEFORE one is refused');
SELECT lives_ok($$CREATE TRIGGER zz_early BEFORE UPDATE ON app.ut FOR EACH ROW EXECUTE FUNCTION app.noop()$$,
	'a BEFORE row trigger named before ours is accepted');
SELECT lives_ok($$CREATE TRIGGER "~~after" AFTER UPDATE ON app.ut FOR EACH ROW EXECUTE FUNCTION app.noop()$$,
	'an AFTER trigger named after ours is accepted');
CREATE TABLE app.other (id int);
SELECT lives_ok($$CREATE TRIGGER "~~late" BEFORE INSERT ON app.other FOR EACH ROW EXECUTE FUNCTION app.noop()$$,
	'a table the migration does not write is not concerned');
SELECT is((SELECT count(*)::int FROM pg_trigger WHERE tgrelid = 'app.ut'::regclass
	AND tgname IN ('~~late', '~~trim')), 0, 'the refused triggers do not exist');

------------------------------------------------------------------------------
-- complete keeps the trimmed value, as up() computed it
------------------------------------------------------------------------------
SELECT is(mig.complete('app'), 'app_m8', 'complete');
SELECT results_eq($$SELECT name FROM app.ut ORDER BY id$$,
	$$VALUES ('UPD'::text), ('  NEW  '), ('INS')$$,
	'after complete the table keeps what the new version showed: trim, then up');
SELECT lives_ok($$CREATE TRIGGER "~~late" BEFORE INSERT ON app.ut FOR EACH ROW EXECUTE FUNCTION app.noop()$$,
	'after complete any trigger name is accepted again');

SELECT * FROM finish();
ROLLBACK;
