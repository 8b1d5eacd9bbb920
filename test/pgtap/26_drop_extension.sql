-- DROP EXTENSION migrate_ext while a migration is in progress: without
-- CASCADE the drop (or DROP SCHEMA mig, or DROP OWNED BY the extension's
-- owner) fails naming the migration; with CASCADE it rolls the migration
-- back first and leaves the base schema exactly as before start.  (The
-- same with a running worker: test/t/014_drop_extension.pl.)
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(13);

CREATE SCHEMA app;
CREATE TABLE app.items (id integer PRIMARY KEY, price integer CHECK (price > 0), name text);
INSERT INTO app.items SELECT g, g, 'item ' || g FROM generate_series(1, 50) g;
CREATE TABLE app.old_stuff (id integer);
CREATE TEMP TABLE before AS
	SELECT (SELECT string_agg(t::text, ',' ORDER BY id) FROM app.items t) AS data;

SET LOCAL migrate_ext.start_jobs = off;
SELECT is(mig.start('02_change', '{"operations": [
	{"alter_column": {"table": "items", "column": "price", "type": "bigint",
	 "up": "price", "down": "price::integer"}},
	{"add_column": {"table": "items", "column": {"name": "cents", "type": "bigint"},
	 "up": "price * 100"}},
	{"create_index": {"name": "items_name_idx", "table": "items", "columns": [{"column": "name"}]}},
	{"drop_table": {"name": "old_stuff"}}]}', 'app'),
	'app_02_change', 'a migration starts');

SELECT is((SELECT evtenabled::text FROM pg_event_trigger WHERE evtname = 'migrate_ext_drop_guard'),
	'A', 'the drop guard is an event trigger that fires always');
SELECT throws_ok('SELECT mig.drop_guard()', '39P01', NULL,
	'the drop guard cannot be called but as an event trigger');

SELECT throws_ok('DROP EXTENSION migrate_ext', '2BP01',
	'cannot drop extension migrate_ext while migrations are in progress',
	'DROP EXTENSION without CASCADE fails while a migration is in progress');
SELECT throws_like('DROP EXTENSION migrate_ext', '%migrations are in progress%',
	'... saying why');
SELECT throws_ok('DROP SCHEMA mig', '2BP01',
	'cannot drop extension migrate_ext while migrations are in progress',
	'so does DROP SCHEMA mig');
SELECT throws_ok('DROP OWNED BY CURRENT_USER', '2BP01',
	'cannot drop extension migrate_ext while migrations are in progress',
	'and DROP OWNED BY the extension''s owner');
SELECT lives_ok('DROP SCHEMA IF EXISTS not_mig', 'other drops are not affected');

SELECT lives_ok('DROP EXTENSION migrate_ext CASCADE',
	'DROP EXTENSION CASCADE rolls the migration back and drops the extension');
SELECT hasnt_schema('app_02_change', 'the version schema is gone');
SELECT is(
	(SELECT string_agg(format('%s.%s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod)), ', '
			ORDER BY c.relname, a.attnum)
	   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
	  WHERE c.relnamespace = 'app'::regnamespace AND c.relkind = 'r'
	    AND a.attnum > 0 AND NOT a.attisdropped),
	'items.id integer, items.price integer, items.name text, old_stuff.id integer',
	'the tables have exactly their old columns (and the dropped table is back)');
SELECT is(
	(SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), ', ' ORDER BY conname)
	   FROM pg_constraint WHERE connamespace = 'app'::regnamespace
	   AND contype <> 'n') || ' / ' ||	-- NOT NULL: a constraint from 18 on
	(SELECT string_agg(indexname, ', ' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'app') || ' / ' ||
	(SELECT count(*) FROM pg_trigger WHERE tgrelid = 'app.items'::regclass),
	'items_pkey PRIMARY KEY (id), items_price_check CHECK ((price > 0)) / items_pkey / 0',
	'its constraints and indexes are the old ones, and no trigger is left');
SELECT is((SELECT string_agg(t::text, ',' ORDER BY id) FROM app.items t),
	(SELECT data FROM before), 'the data is unchanged');

SELECT * FROM finish();
ROLLBACK;
