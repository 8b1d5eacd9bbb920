-- The dual-write trigger of an active migration stays in place and ENABLE
-- ALWAYS (found by a hostile review: ALTER TABLE ... DISABLE TRIGGER USER,
-- a common step of bulk loads that any table owner may run, let writes skip
-- it, and complete then lost their values; ENABLE TRIGGER USER made it an
-- ordinary trigger; DROP TRIGGER left complete to drop nothing).  Each is
-- refused with 55000 naming the table and the migration, by the table's
-- owner and by a superuser; the owner's own triggers can still be disabled
-- by name; complete and rollback remove the trigger as before.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(13);

CREATE ROLE guard_owner LOGIN;
CREATE SCHEMA app AUTHORIZATION guard_owner;
SET ROLE guard_owner;
CREATE TABLE app.ch (id integer PRIMARY KEY, pa integer);
INSERT INTO app.ch SELECT g, g FROM generate_series(1, 10) g;
CREATE FUNCTION app.noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER audit BEFORE INSERT ON app.ch FOR EACH ROW EXECUTE FUNCTION app.noop();
SELECT mig.start('02_x', '{"operations": [{"alter_column": {"table": "ch", "column": "pa",
	"type": "bigint", "up": "pa * 10", "down": "pa / 10"}}]}', 'app');
CALL mig.wait('app');

SELECT throws_ok($$ALTER TABLE app.ch DISABLE TRIGGER USER$$, '55000',
	'cannot disable the dual-write trigger of table app.ch while migration "02_x" is active',
	'DISABLE TRIGGER USER is refused');
SELECT throws_ok($$ALTER TABLE app.ch DISABLE TRIGGER ALL$$, '55000', NULL, 'DISABLE TRIGGER ALL is refused');
SELECT throws_ok($$ALTER TABLE app.ch DISABLE TRIGGER "~mig_dual_write"$$, '55000', NULL,
	'DISABLE TRIGGER by its name is refused');
SELECT throws_ok($$ALTER TABLE app.ch ENABLE TRIGGER USER$$, '55000', NULL,
	'ENABLE TRIGGER USER (which would make it an ordinary trigger) is refused');
SELECT throws_ok($$DROP TRIGGER "~mig_dual_write" ON app.ch$$, '55000',
	'cannot drop the dual-write trigger of table app.ch while migration "02_x" is active',
	'DROP TRIGGER is refused');
SELECT is((SELECT tgenabled FROM pg_trigger WHERE tgrelid = 'app.ch'::regclass AND tgname = '~mig_dual_write'),
	'A', 'the trigger is still there, ENABLE ALWAYS');
SELECT lives_ok($$ALTER TABLE app.ch DISABLE TRIGGER audit$$, 'the owner''s own trigger can be disabled by name');
SELECT lives_ok($$ALTER TABLE app.ch ENABLE TRIGGER audit$$, 'and enabled again');
SELECT lives_ok($$ALTER TABLE app.ch ENABLE ALWAYS TRIGGER "~mig_dual_write"$$,
	'ENABLE ALWAYS of the dual-write trigger changes nothing, and is allowed');
RESET ROLE;
SELECT throws_ok($$ALTER TABLE app.ch DISABLE TRIGGER USER$$, '55000', NULL, 'a superuser is refused too');

-- the writes a disabled trigger would have missed are kept
SET ROLE guard_owner;
INSERT INTO app.ch VALUES (11, 8);
SELECT is(mig.complete('app'), 'app_02_x', 'complete removes the trigger');
SELECT is((SELECT pa FROM app.ch WHERE id = 11), 80::bigint, 'and the row written meanwhile has up() of its value');
SELECT lives_ok($$ALTER TABLE app.ch DISABLE TRIGGER USER$$, 'with no migration active, DISABLE TRIGGER USER works');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
