-- A write to a migrated table itself (not through a version's view) routed
-- as the new version (migrate_ext.version, or search_path) on a table whose
-- migration has down rules is refused (0A000) before any row is written:
-- the table has the old version's columns, and the trigger would replace
-- the value written to such a column with down(internal column), losing it
-- (DBA finding 1).  Without down rules nothing is lost: such writes work.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(29);

CREATE SCHEMA gw;
CREATE TABLE gw.gc (id int PRIMARY KEY, v int, d int DEFAULT 42);
INSERT INTO gw.gc VALUES (1, 1, 1);
CREATE TABLE gw.ac (id int PRIMARY KEY, v int);
INSERT INTO gw.ac VALUES (10, 5);

SET LOCAL migrate_ext.start_jobs = off;
SELECT is(mig.start('g1', '{"operations": [
	{"alter_column": {"table": "gc", "column": "d", "type": "bigint", "up": "d*10", "down": "d/10"}},
	{"add_column": {"table": "ac", "up": "v*2", "column": {"name": "w", "type": "int", "nullable": true}}}]}', 'gw'),
	'gw_g1', 'the migration starts');

CREATE FUNCTION pg_temp.row_of(i int) RETURNS text LANGUAGE sql AS $$
	SELECT format('d=%s new_d=%s', d, _mig_new_d) FROM gw.gc WHERE id = i
$$;

------------------------------------------------------------------------------
-- the finding: the new version writing the table itself
------------------------------------------------------------------------------
SET LOCAL migrate_ext.version = 'gw_g1';
SELECT throws_ok($$INSERT INTO gw.gc (id, v, d) VALUES (6001, 1, 7)$$, '0A000',
	'cannot write table "gw.gc" itself as version "gw_g1"',
	'an INSERT into the table as the new version (migrate_ext.version) is refused');
SELECT is(pg_temp.row_of(6001), NULL, 'and writes nothing (the 7 is not silently replaced)');

-- the detail and hint say why and what to do
CREATE FUNCTION pg_temp.error_text(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	d text;
	h text;
BEGIN
	EXECUTE stmt;
	RETURN 'no error';
EXCEPTION WHEN feature_not_supported THEN
	GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
	RETURN d || ' | ' || h;
END
$$;
SELECT matches(pg_temp.error_text($$INSERT INTO gw.gc (id, v, d) VALUES (6001, 1, 7)$$),
	'old version "gw".*internal columns.*down expression.*gw_g1\.gc.*RESET migrate_ext\.version.*starts with "gw"\.$',
	'the detail explains the internal columns, the hint names the view and the old version');

SELECT throws_ok($$COPY gw.gc (id, v, d) FROM PROGRAM 'printf "6002\t1\t7\n6003\t1\t8\n"'$$, '0A000',
	'cannot write table "gw.gc" itself as version "gw_g1"',
	'a COPY into the table as the new version is refused');
SELECT is((SELECT count(*)::int FROM gw.gc WHERE id IN (6002, 6003)), 0, 'and writes no row');
SELECT throws_ok($$UPDATE gw.gc SET d = 9 WHERE id = 1$$, '0A000', NULL::text,
	'an UPDATE of the table as the new version is refused');
SELECT is(pg_temp.row_of(1), 'd=1 new_d=', 'and changes nothing');
SELECT throws_ok($$INSERT INTO gw.gc (id, v, d) VALUES (1, 1, 7) ON CONFLICT (id) DO UPDATE SET d = excluded.d$$,
	'0A000', NULL::text, 'an INSERT ... ON CONFLICT DO UPDATE as the new version is refused');
SELECT throws_ok($$INSERT INTO gw.gc (id, v, d) VALUES (6004, 1, 7) ON CONFLICT DO NOTHING$$,
	'0A000', NULL::text, 'an INSERT ... ON CONFLICT DO NOTHING as the new version is refused');
SELECT is((SELECT count(*)::int FROM gw.gc), 1, 'none of them wrote a row');
RESET migrate_ext.version;

-- routed by search_path (pgTAP lives in public: the statement runs with the
-- search_path under test, the assertion without it)
CREATE FUNCTION pg_temp.error_under(path text, stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	saved text := current_setting('search_path');
BEGIN
	PERFORM set_config('search_path', path, true);
	EXECUTE stmt;
	PERFORM set_config('search_path', saved, true);
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	-- the block's subtransaction is rolled back, search_path with it
	RETURN SQLSTATE || ' ' || SQLERRM;
END
$$;
SELECT is(pg_temp.error_under('gw_g1', $$INSERT INTO gw.gc (id, v, d) VALUES (6001, 1, 7)$$),
	'0A000 cannot write table "gw.gc" itself as version "gw_g1"',
	'the same with search_path gw_g1 and the table named explicitly');
SELECT is(pg_temp.error_under('"$user", gw_g1', $$INSERT INTO gw.gc (id, v, d) VALUES (6001, 1, 7)$$),
	'0A000 cannot write table "gw.gc" itself as version "gw_g1"',
	'search_path "$user", gw_g1');
SELECT is(pg_temp.error_under('pg_temp, gw_g1', $$INSERT INTO gw.gc (id, v, d) VALUES (6001, 1, 7)$$),
	'0A000 cannot write table "gw.gc" itself as version "gw_g1"',
	'search_path pg_temp, gw_g1');
SELECT is(current_setting('search_path'), '"$user", public', 'the helper left search_path as it was');
SET LOCAL search_path = gw_g1, public;
SELECT throws_ok($$COPY gw.gc (id, v, d) FROM PROGRAM 'printf "6002\t1\t7\n"'$$, '0A000', NULL::text,
	'COPY with the new version first on search_path');
-- a user's own view of the table is the table itself
CREATE VIEW public.gc_mine AS SELECT * FROM gw.gc;
SELECT throws_ok($$INSERT INTO public.gc_mine (id, v, d) VALUES (6001, 1, 7)$$, '0A000', NULL::text,
	'a write through a view that is no version''s is the table itself');
SELECT is((SELECT count(*)::int FROM gw.gc), 1, 'nothing was written');

------------------------------------------------------------------------------
-- what still works
------------------------------------------------------------------------------
-- through the new version's view (also with the new version on search_path)
SELECT lives_ok($$INSERT INTO gc (id, v, d) VALUES (6001, 1, 70)$$,
	'a write through the new version''s view works');
SELECT is(pg_temp.row_of(6001), 'd=7 new_d=70', 'and keeps the value, the old version gets down''s');
SET LOCAL search_path = public;
SELECT lives_ok($$UPDATE gw_g1.gc SET d = 90 WHERE id = 6001$$,
	'an UPDATE through the new version''s view, schema-qualified, works');
SELECT is(pg_temp.row_of(6001), 'd=9 new_d=90', 'and keeps the value');

-- the table itself as the old version
SELECT lives_ok($$INSERT INTO gw.gc (id, v, d) VALUES (6002, 1, 5)$$,
	'a write to the table itself as the old version works');
SELECT is(pg_temp.row_of(6002), 'd=5 new_d=50', 'and the new version gets up''s');
SET LOCAL migrate_ext.version = 'gw';
SELECT lives_ok($$COPY gw.gc (id, v, d) FROM PROGRAM 'printf "6003\t1\t6\n"'$$,
	'COPY into the table with migrate_ext.version naming the base schema works');
SELECT is(pg_temp.row_of(6003), 'd=6 new_d=60', 'as the old version');
RESET migrate_ext.version;

-- a table with no down rules loses nothing: the new version writes it as today
SET LOCAL migrate_ext.version = 'gw_g1';
SELECT lives_ok($$INSERT INTO gw.ac (id, v, _mig_new_w) VALUES (1, 3, 100)$$,
	'a new-version write to a table whose migration has no down rules works');
SELECT is((SELECT format('v=%s w=%s', v, _mig_new_w) FROM gw.ac WHERE id = 1), 'v=3 w=100',
	'and keeps every value written');
SELECT throws_ok($$UPDATE gw.ac SET _mig_new_w = 1 WHERE id = 10$$, '55000',
	'version "gw_g1" of table "ac" is not ready',
	'but an UPDATE of a row the backfill has not reached is refused by the trigger');
RESET migrate_ext.version;
RESET search_path;

SELECT * FROM finish();
ROLLBACK;
