-- A table whose replica identity is an index on a column the migration
-- replaces (alter_column carries the index to the new column): after
-- complete the identity is the carried index.  Before 0.3.0 the table was
-- left with REPLICA IDENTITY USING INDEX and no identity index, and, when
-- published, refused every UPDATE and DELETE.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(5);

CREATE SCHEMA app;
CREATE TABLE app.codes (code text NOT NULL, v integer);
CREATE UNIQUE INDEX codes_code ON app.codes (code);
ALTER TABLE app.codes REPLICA IDENTITY USING INDEX codes_code;
INSERT INTO app.codes SELECT 'c' || g, g FROM generate_series(1, 100) g;
CREATE PUBLICATION codes_pub FOR TABLE app.codes, mig.replication_events;

SELECT is(mig.start('01_wide', '{"operations": [
	{"alter_column": {"table": "codes", "column": "code", "type": "varchar(50)",
					  "up": "code", "down": "code"}}]}', 'app'),
	'app_01_wide', 'a migration of the identity column starts');
CALL mig.backfill('app');
SELECT is(mig.complete('app'), 'app_01_wide', 'it completes');

SELECT is((SELECT relreplident::text FROM pg_class WHERE oid = 'app.codes'::regclass),
		  'i', 'the replica identity is still an index');
SELECT is((SELECT ic.relname::text FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
			WHERE i.indrelid = 'app.codes'::regclass AND i.indisreplident),
		  'codes_code', 'the carried index, under its name, is the identity');
SELECT lives_ok($$UPDATE app.codes SET v = -1 WHERE code = 'c1'$$,
				'the published table takes updates');

SELECT * FROM finish();
ROLLBACK;
