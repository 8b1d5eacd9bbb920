-- Names are data, never SQL (issue 5, point 3).  Identifiers with double
-- and single quotes, semicolons, spaces, non-ASCII letters, upper case,
-- reserved words and exactly 63 bytes work in every role: base schema,
-- table, column, constraint, index, rename target, migration name and
-- version name.  A version schema name that does not fit is refused, never
-- truncated.  Generated internal names (_mig_new_, _mig_dup_, _mig_notnull_,
-- _mig_uniq_, _mig_del_) never collide and never get truncated into each
-- other, and a "victim" table survives every injection attempt.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(165);

------------------------------------------------------------------------------
-- helpers
------------------------------------------------------------------------------
-- the columns of nsp.rel
CREATE FUNCTION pg_temp.cols(nsp text, rel text) RETURNS name[] LANGUAGE sql STABLE AS $$
	SELECT array_agg(attname ORDER BY attnum) FROM pg_attribute
	WHERE attrelid = format('%I.%I', nsp, rel)::regclass AND attnum > 0 AND NOT attisdropped
$$;
-- the tables of nsp
CREATE FUNCTION pg_temp.tables(nsp text) RETURNS name[] LANGUAGE sql STABLE AS $$
	SELECT coalesce(array_agg(c.relname ORDER BY c.relname), '{}') FROM pg_class c
	JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = nsp AND c.relkind IN ('r', 'p')
$$;
-- the names of the constraints of nsp.rel (but NOT NULL, a constraint from
-- PostgreSQL 18 on: checked through the columns, and by leftovers below)
CREATE FUNCTION pg_temp.cons(nsp text, rel text) RETURNS name[] LANGUAGE sql STABLE AS $$
	SELECT coalesce(array_agg(conname ORDER BY conname), '{}') FROM pg_constraint
	WHERE conrelid = format('%I.%I', nsp, rel)::regclass AND contype <> 'n'
$$;
-- the definition of constraint con of nsp.rel
CREATE FUNCTION pg_temp.condef(nsp text, rel text, con text) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT pg_get_constraintdef(oid) FROM pg_constraint
	WHERE conrelid = format('%I.%I', nsp, rel)::regclass AND conname = con
$$;
-- everything outside the system schemas (and mig's own tables): schemas,
-- relations with their columns, constraints, indexes and triggers
CREATE FUNCTION pg_temp.snap() RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
		'schemas', (SELECT jsonb_agg(nspname ORDER BY nspname) FROM pg_namespace
			WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'),
		'relations', (SELECT jsonb_agg(jsonb_build_array(n.nspname, c.relname, c.relkind, c.relreplident,
				obj_description(c.oid, 'pg_class'),
				(SELECT jsonb_agg(jsonb_build_array(a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
					pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum)) ORDER BY a.attnum)
				 FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
				 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
				CASE WHEN c.relkind = 'i' THEN pg_get_indexdef(c.oid) END,
				CASE WHEN c.relkind = 'v' THEN pg_get_viewdef(c.oid) END)
				ORDER BY n.nspname, c.relname)
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname NOT IN ('information_schema', 'mig')),
		'constraints', (SELECT jsonb_agg(jsonb_build_array(c.conrelid::regclass::text, c.conname,
				pg_get_constraintdef(c.oid), c.convalidated) ORDER BY c.conrelid::regclass::text, c.conname)
			FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
			WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname NOT IN ('information_schema', 'mig')),
		'triggers', (SELECT jsonb_agg(jsonb_build_array(t.tgrelid::regclass::text, t.tgname)
				ORDER BY t.tgrelid::regclass::text, t.tgname)
			FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE NOT t.tgisinternal AND n.nspname NOT LIKE 'pg\_%' AND n.nspname NOT IN ('information_schema', 'mig')))
$$;
-- run q with the search path set to one version schema (how an application
-- picks its version), so that the dual-write trigger sees which one writes
CREATE FUNCTION pg_temp.via(version text, q text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	saved text := current_setting('search_path');
BEGIN
	PERFORM set_config('search_path', quote_ident(version), true);
	EXECUTE q;
	PERFORM set_config('search_path', saved, true);
END
$$;
CREATE FUNCTION pg_temp.sorted(a name[]) RETURNS name[] LANGUAGE sql IMMUTABLE AS $$
	SELECT array_agg(x ORDER BY x) FROM unnest(a) x
$$;
-- internal columns, constraints and relations left in a schema
CREATE FUNCTION pg_temp.leftovers(nsp text) RETURNS bigint LANGUAGE sql STABLE AS $$
	SELECT (SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = nsp AND a.attnum > 0 AND NOT a.attisdropped AND a.attname LIKE '\_mig\_%'
			AND c.relkind IN ('r', 'p'))
		+ (SELECT count(*) FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace
			WHERE n.nspname = nsp AND (co.conname LIKE '\_mig\_%'
				-- PostgreSQL 18 names NOT NULL after the column: a shadow's
				OR (co.contype = 'n' AND co.conname LIKE '%\_mig\_new\_%')))
		+ (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = nsp AND c.relname LIKE '\_mig\_%')
		+ (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = nsp AND t.tgname LIKE '\_mig\_%')
$$;

-- the hostile names
CREATE TEMP TABLE n AS SELECT
	$$Ap"p'; Ü --$$::text AS s,                          -- base schema
	$$m'"; DROP TABLE victim; --$$::text AS m1,          -- migration name
	$$02 "second"; ok$$::text AS m2,                    -- migration name ...
	$$v'"; DROP SCHEMA public; --$$::text AS v2,         -- ... with a version_schema
	$$03 'drops'; "x"$$::text AS m3;
CREATE TEMP TABLE v AS SELECT s || '_' || m1 AS v1, s || '_' || v2 AS v2, s || '_' || m3 AS v3 FROM n;

CREATE TABLE public.victim (id integer);
INSERT INTO public.victim VALUES (1);
SELECT format('CREATE SCHEMA %I', s) FROM n \gexec
SELECT format('CREATE TABLE %I.victim (id integer)', s) FROM n \gexec

------------------------------------------------------------------------------
-- create_table: hostile table, column, constraint, schema and migration names
------------------------------------------------------------------------------
CREATE TEMP TABLE doc1 AS SELECT $j${"operations": [
	{"create_table": {"name": "a\"b", "columns": [
		{"name": "it's", "type": "integer", "pk": true},
		{"name": "x; DROP TABLE victim; --", "type": "text", "nullable": true,
		 "check": {"name": "c\"k'; --", "constraint": "length(\"x; DROP TABLE victim; --\") > 0"}},
		{"name": "Ünïcødé_名前", "type": "text", "nullable": true, "default": "'d''q'"},
		{"name": "select", "type": "integer", "nullable": true},
		{"name": "MixedCase", "type": "text", "nullable": true,
		 "check": {"name": "Mixed\"Check'", "constraint": "\"MixedCase\" <> ''"}},
		{"name": "with space", "type": "integer", "nullable": true}]}},
	{"create_table": {"name": "user", "columns": [
		{"name": "table", "type": "integer", "pk": true},
		{"name": "a\"b ref", "type": "integer", "nullable": true,
		 "references": {"name": "fk\"'; --", "table": "a\"b", "column": "it's"}}]}}]}$j$::jsonb AS d;

SELECT is(mig.start((SELECT m1 FROM n), (SELECT d FROM doc1), (SELECT s FROM n)), (SELECT v1 FROM v),
	'create_table with hostile names in a hostile schema, under a hostile migration name');
SELECT has_view((SELECT v1 FROM v)::name, 'a"b'::name, 'the version schema has the view of a"b');
SELECT is(pg_temp.cols((SELECT v1 FROM v), 'a"b'),
	ARRAY['it''s', 'x; DROP TABLE victim; --', 'Ünïcødé_名前', 'select', 'MixedCase', 'with space']::name[],
	'the view has every hostile column name');
SELECT is(pg_temp.cols((SELECT v1 FROM v), 'user'), ARRAY['table', 'a"b ref']::name[],
	'a table with a reserved name, a reserved column name and a quote');
SELECT is(mig.complete((SELECT s FROM n)), (SELECT v1 FROM v), 'complete');
SELECT is(pg_temp.tables((SELECT s FROM n)), ARRAY['a"b', 'user', 'victim']::name[], 'the tables have their names');
SELECT is(pg_temp.condef((SELECT s FROM n), 'a"b', 'c"k''; --'),
	'CHECK ((length("x; DROP TABLE victim; --") > 0))', 'the check has its hostile name');
SELECT is(pg_temp.condef((SELECT s FROM n), 'user', 'fk"''; --'),
	format('FOREIGN KEY ("a""b ref") REFERENCES %I."a""b"("it''s")', (SELECT s FROM n)),
	'the foreign key has its hostile name');
SELECT is((SELECT migration FROM mig.status((SELECT s FROM n))), (SELECT m1 FROM n), 'status names the migration');

SELECT format($$INSERT INTO %I."a""b" ("it's", "x; DROP TABLE victim; --", "select", "MixedCase", "with space")
	VALUES (1, 'one', 13, 'M1', 1), (2, NULL, 2, 'M2', 2)$$, s) FROM n \gexec
SELECT format($$INSERT INTO %I."user" VALUES (10, 1), (20, 2)$$, s) FROM n \gexec

------------------------------------------------------------------------------
-- every kind of change with hostile names, and a hostile version_schema
------------------------------------------------------------------------------
CREATE TEMP TABLE doc2 AS SELECT jsonb_build_object('version_schema', (SELECT v2 FROM n)) || $j${"operations": [
	{"rename_table": {"from": "a\"b", "to": "it's \"table\""}},
	{"rename_column": {"table": "it's \"table\"", "from": "it's", "to": "user"}},
	{"alter_column": {"table": "it's \"table\"", "column": "x; DROP TABLE victim; --",
	 "type": "varchar(100)", "nullable": false,
	 "up": "coalesce(\"x; DROP TABLE victim; --\", 'none''s')", "down": "\"x; DROP TABLE victim; --\""}},
	{"add_column": {"table": "it's \"table\"", "column": {"name": "tab\"le'; --", "type": "integer", "nullable": true,
	 "unique": true, "check": {"name": "chk\"2'; --", "constraint": "\"tab\"\"le'; --\" > 0"}}}},
	{"create_constraint": {"type": "check", "table": "it's \"table\"", "name": "cc\"'; --", "columns": ["select"],
	 "check": "\"select\" IS NULL OR \"select\" <> 13",
	 "up": {"select": "CASE WHEN \"select\" = 13 THEN 14 ELSE \"select\" END"}, "down": {"select": "\"select\""}}},
	{"create_index": {"name": "ix\"'; DROP TABLE victim; --", "table": "it's \"table\"",
	 "columns": [{"column": "MixedCase", "sort": "DESC"}, {"column": "with space"}], "predicate": "\"with space\" > 0"}},
	{"rename_constraint": {"table": "it's \"table\"", "from": "Mixed\"Check'", "to": "renamed\"'; --"}},
	{"alter_column": {"table": "user", "column": "a\"b ref", "type": "bigint",
	 "up": "\"a\"\"b ref\"", "down": "\"a\"\"b ref\""}},
	{"rename_column": {"table": "user", "from": "a\"b ref", "to": "Ref\"d; --"}}]}$j$::jsonb AS d;
CREATE TEMP TABLE before2 AS SELECT mig.read_schema((SELECT s FROM n)) AS s, pg_temp.snap() AS snap;

SELECT is(mig.start((SELECT m2 FROM n), (SELECT d FROM doc2), (SELECT s FROM n)), (SELECT v2 FROM v),
	'start: rename, alter, add, constrain, index with hostile names, under a hostile version_schema');
SELECT is(pg_temp.sorted(pg_temp.cols((SELECT v2 FROM v), 'it''s "table"')),
	pg_temp.sorted(ARRAY['user', 'x; DROP TABLE victim; --', 'Ünïcødé_名前', 'select', 'MixedCase', 'with space', 'tab"le''; --']),
	'the new version shows the new hostile names');
SELECT col_type_is((SELECT v2 FROM v)::name, 'it''s "table"'::name, 'x; DROP TABLE victim; --'::name,
	'character varying(100)', 'and the new type');
SELECT is(pg_temp.cols((SELECT v1 FROM v), 'a"b'),
	ARRAY['it''s', 'x; DROP TABLE victim; --', 'Ünïcødé_名前', 'select', 'MixedCase', 'with space']::name[],
	'the old version is unchanged');
SELECT is(pg_temp.cols((SELECT v2 FROM v), 'user'), ARRAY['table', 'Ref"d; --']::name[],
	'a retyped column renamed in the same migration: the new version shows its new hostile name');
SELECT lives_ok(format($$SELECT pg_temp.via(%L, %L)$$, (SELECT v1 FROM v),
	$q$INSERT INTO "a""b" ("it's", "x; DROP TABLE victim; --", "select", "with space") VALUES (3, 'three', 13, 3)$q$),
	'insert through the old version');
SELECT lives_ok(format($$SELECT pg_temp.via(%L, %L)$$, (SELECT v2 FROM v),
	$q$INSERT INTO "it's ""table""" ("user", "x; DROP TABLE victim; --", "select", "with space", "tab""le'; --") VALUES (4, 'four', 4, 4, 5)$q$),
	'insert through the new version');
SELECT lives_ok(format($$SELECT pg_temp.via(%L, %L)$$, (SELECT v2 FROM v),
	$q$INSERT INTO "user" ("table", "Ref""d; --") VALUES (30, 4)$q$),
	'insert through the new version of the retyped, renamed column');
SELECT throws_ok(format($$SELECT pg_temp.via(%L, %L)$$, (SELECT v2 FROM v),
	$q$INSERT INTO "it's ""table""" ("user", "x; DROP TABLE victim; --") VALUES (5, NULL)$q$),
	'23514', NULL, 'the new version enforces NOT NULL on the altered hostile column');
SELECT throws_ok(format($$SELECT pg_temp.via(%L, %L)$$, (SELECT v2 FROM v),
	$q$INSERT INTO "it's ""table""" ("user", "x; DROP TABLE victim; --", "tab""le'; --") VALUES (5, 'five', -1)$q$),
	'23514', NULL, 'and the added column''s check on a hostile name');
SELECT throws_ok(format($$SELECT pg_temp.via(%L, %L)$$, (SELECT v2 FROM v),
	$q$INSERT INTO "it's ""table""" ("user", "x; DROP TABLE victim; --", "select") VALUES (5, 'five', 13)$q$),
	'23514', NULL, 'and the new check on the reserved-word column');
SELECT throws_ok(format($$SELECT "user", "x; DROP TABLE victim; --"::text, "select" FROM %I."it's ""table""" ORDER BY 1$$, (SELECT v2 FROM v)),
	'55000', NULL, 'read through the new version: rows 1 and 2, written before start, wait for the backfill');
SELECT results_eq(format($$SELECT "user", "x; DROP TABLE victim; --"::text, "select" FROM %I."it's ""table""" WHERE "user" >= 3 ORDER BY 1$$, (SELECT v2 FROM v)),
	$$VALUES (3, 'three', 14), (4, 'four', 4)$$,
	'read through the new version: the old version''s row went through up');
SELECT results_eq(format($$SELECT "it's", "x; DROP TABLE victim; --", "select" FROM %I."a""b" ORDER BY 1$$, (SELECT v1 FROM v)),
	$$VALUES (1, 'one', 13), (2, NULL, 2), (3, 'three', 13), (4, 'four', 4)$$,
	'read through the old version: the new version''s row went through down');
SELECT results_eq(format($$SELECT "table", "a""b ref" FROM %I."user" ORDER BY 1$$, (SELECT v1 FROM v)),
	$$VALUES (10, 1), (20, 2), (30, 4)$$, 'the old version reads the renamed column under its old name');
SELECT has_table('public', 'victim', 'public.victim survives');
SELECT is(mig.rollback((SELECT s FROM n)), (SELECT v1 FROM v), 'rollback');
SELECT is(mig.read_schema((SELECT s FROM n)), (SELECT s FROM before2), 'rollback leaves read_schema exactly as before');
SELECT is(pg_temp.snap(), (SELECT snap FROM before2),
	'and every schema, relation, column, constraint, index and trigger exactly as before');
SELECT format($$DELETE FROM %I."user" WHERE "table" = 30$$, s) FROM n \gexec

SELECT is(mig.start((SELECT m2 FROM n), (SELECT d FROM doc2), (SELECT s FROM n)), (SELECT v2 FROM v), 'start again');
SELECT is(mig.complete((SELECT s FROM n)), (SELECT v2 FROM v), 'complete');
SELECT is(pg_temp.tables((SELECT s FROM n)), ARRAY['it''s "table"', 'user', 'victim']::name[],
	'the table has its new hostile name');
SELECT is(pg_temp.sorted(pg_temp.cols((SELECT s FROM n), 'it''s "table"')),
	pg_temp.sorted(ARRAY['user', 'x; DROP TABLE victim; --', 'Ünïcødé_名前', 'select', 'MixedCase', 'with space', 'tab"le''; --']),
	'every column has its final hostile name');
SELECT is(pg_temp.cols((SELECT s FROM n), 'user'), ARRAY['table', 'Ref"d; --']::name[],
	'the retyped, renamed column has its new name');
SELECT col_type_is((SELECT s FROM n)::name, 'it''s "table"'::name, 'x; DROP TABLE victim; --'::name,
	'character varying(100)', 'the altered column has its new type');
SELECT col_not_null((SELECT s FROM n)::name, 'it''s "table"'::name, 'x; DROP TABLE victim; --'::name,
	'and is NOT NULL');
SELECT is(pg_temp.cons((SELECT s FROM n), 'it''s "table"'),
	ARRAY['a"b_pkey', 'c"k''; --', 'cc"''; --', 'chk"2''; --', 'renamed"''; --', 'tab"le''; --']::name[],
	'the constraints have their final hostile names (add_column unique is named after the column)');
SELECT is(pg_temp.condef((SELECT s FROM n), 'it''s "table"', 'c"k''; --'),
	'CHECK ((length(("x; DROP TABLE victim; --")::text) > 0))',
	'the check carried over to the altered column has its hostile name');
SELECT is(pg_temp.condef((SELECT s FROM n), 'it''s "table"', 'renamed"''; --'),
	'CHECK (("MixedCase" <> ''''::text))', 'the renamed check has its new hostile name');
SELECT is(pg_temp.condef((SELECT s FROM n), 'it''s "table"', 'tab"le''; --'),
	'UNIQUE ("tab""le''; --")', 'the unique constraint of the added column');
SELECT is(pg_temp.condef((SELECT s FROM n), 'user', 'fk"''; --'),
	format('FOREIGN KEY ("Ref""d; --") REFERENCES %I."it''s ""table"""("user")', (SELECT s FROM n)),
	'the foreign key was carried over to the retyped, renamed column, under its hostile name');
SELECT is(pg_get_indexdef(format('%I.%I', (SELECT s FROM n), 'ix"''; DROP TABLE victim; --')::regclass),
	format('CREATE INDEX "ix""''; DROP TABLE victim; --" ON %I."it''s ""table""" USING btree ("MixedCase" DESC, "with space") WHERE ("with space" > 0)',
		(SELECT s FROM n)),
	'the index has its hostile name, columns and predicate');
SELECT is(pg_temp.leftovers((SELECT s FROM n)), 0::bigint, 'no internal object is left');
SELECT results_eq(format($$SELECT "user", "x; DROP TABLE victim; --"::text, "select" FROM %I."it's ""table""" ORDER BY 1$$, (SELECT s FROM n)),
	$$VALUES (1, 'one', 14), (2, 'none''s', 2), (3, 'three', 14), (4, 'four', 4)$$,
	'the data are the new version''s');
SELECT is(ARRAY(SELECT nspname::text FROM pg_namespace WHERE nspname LIKE (SELECT s FROM n) || '\_%' ORDER BY 1),
	ARRAY[(SELECT v2 FROM v)], 'only the new version schema is left');
SELECT is((SELECT count(*)::int FROM public.victim), 1, 'public.victim is intact');

------------------------------------------------------------------------------
-- drops and replica identity with hostile names
------------------------------------------------------------------------------
CREATE TEMP TABLE doc3 AS SELECT $j${"operations": [
	{"drop_index": {"name": "ix\"'; DROP TABLE victim; --"}},
	{"drop_constraint": {"table": "it's \"table\"", "name": "chk\"2'; --",
	 "up": "\"tab\"\"le'; --\"", "down": "greatest(\"tab\"\"le'; --\", 1)"}},
	{"drop_multicolumn_constraint": {"table": "it's \"table\"", "name": "cc\"'; --",
	 "up": {"select": "\"select\""}, "down": {"select": "CASE WHEN \"select\" = 13 THEN 12 ELSE \"select\" END"}}},
	{"set_replica_identity": {"table": "it's \"table\"", "identity": {"type": "full"}}},
	{"drop_column": {"table": "it's \"table\"", "column": "with space", "down": "7"}},
	{"drop_table": {"name": "user"}}]}$j$::jsonb AS d;
CREATE TEMP TABLE before3 AS SELECT mig.read_schema((SELECT s FROM n)) AS s, pg_temp.snap() AS snap;
SELECT is(mig.start((SELECT m3 FROM n), (SELECT d FROM doc3), (SELECT s FROM n)), (SELECT v3 FROM v),
	'start: drop an index, constraints, a column and a reserved-name table with hostile names');
SELECT hasnt_view((SELECT v3 FROM v)::name, 'user'::name, 'the new version has no view of the dropped table');
SELECT lives_ok(format($$SELECT pg_temp.via(%L, %L)$$, (SELECT v3 FROM v),
	$q$INSERT INTO "it's ""table""" ("user", "x; DROP TABLE victim; --", "select", "tab""le'; --") VALUES (6, 'six', 13, -6)$q$),
	'the new version writes what the dropped checks rejected');
SELECT results_eq(format($$SELECT "select", "tab""le'; --", "with space" FROM %I."it's ""table""" WHERE "user" = 6$$, (SELECT v2 FROM v)),
	$$VALUES (12, 1, 7)$$, 'the old version reads the down expressions'' results');
SELECT is(mig.rollback((SELECT s FROM n)), (SELECT v2 FROM v), 'rollback');
SELECT is(mig.read_schema((SELECT s FROM n)), (SELECT s FROM before3), 'rollback leaves read_schema exactly as before');
SELECT is(pg_temp.snap(), (SELECT snap FROM before3), 'and everything else');
SELECT format($$DELETE FROM %I."it's ""table""" WHERE "user" = 6$$, s) FROM n \gexec
SELECT is(mig.start((SELECT m3 FROM n), (SELECT d FROM doc3), (SELECT s FROM n)), (SELECT v3 FROM v), 'start again');
SELECT is(mig.complete((SELECT s FROM n)), (SELECT v3 FROM v), 'complete');
SELECT is(pg_temp.tables((SELECT s FROM n)), ARRAY['it''s "table"', 'victim']::name[], 'the reserved-name table is gone');
SELECT is(pg_temp.cons((SELECT s FROM n), 'it''s "table"'), ARRAY['a"b_pkey', 'c"k''; --', 'renamed"''; --', 'tab"le''; --']::name[],
	'the dropped constraints are gone, the others keep their names');
SELECT hasnt_index((SELECT s FROM n)::name, 'it''s "table"'::name, 'ix"''; DROP TABLE victim; --'::name, 'the index is gone');
SELECT is((SELECT relreplident::text FROM pg_class WHERE oid = format('%I.%I', (SELECT s FROM n), 'it''s "table"')::regclass),
	'f', 'replica identity full');
SELECT is(pg_temp.leftovers((SELECT s FROM n)), 0::bigint, 'no internal object is left');
SELECT is((SELECT array_agg(name ORDER BY depth DESC) FROM mig.history((SELECT s FROM n))),
	ARRAY[(SELECT m1 FROM n), (SELECT m2 FROM n), (SELECT m3 FROM n)], 'the history has the hostile migration names');
SELECT is((SELECT count(*)::int FROM public.victim), 1, 'public.victim is intact');

------------------------------------------------------------------------------
-- version schema names: exactly 63 bytes works, one byte more is refused,
-- never truncated, also when the name ends in a multibyte character
------------------------------------------------------------------------------
CREATE SCHEMA "Ä";
CREATE TEMP TABLE vn AS SELECT
	repeat('é', 30) AS fits,                          -- "Ä_" (3 bytes) + 60 = 63, ends in a multibyte letter
	repeat('é', 29) || 'zü' AS too_long,              -- 3 + 61 = 64, a cut at 63 would fall inside ü
	repeat('é', 30) || 'z' AS one_more,               -- 64
	repeat('"', 58) || $$';$$ AS quotes;              -- version_schema, 60 + 3 = 63 bytes
SELECT is(mig.start(
	(SELECT fits FROM vn), '{"operations": [{"create_table": {"name": "t", "columns": [{"name": "id", "type": "integer"}]}}]}', 'Ä'),
	'Ä_' || (SELECT fits FROM vn), 'a version schema name of exactly 63 bytes, ending in a multibyte letter');
SELECT has_schema(('Ä_' || (SELECT fits FROM vn))::name, 'it exists under its full name');
SELECT is(mig.rollback('Ä'), 'Ä', 'rollback');
SELECT throws_ok(format($$SELECT mig.start(%L, '{"operations": [{"create_table": {"name": "t", "columns": [{"name": "id", "type": "integer"}]}}]}', 'Ä')$$,
	(SELECT too_long FROM vn)), '42622', NULL, 'a version schema name that would be cut inside a multibyte letter is refused');
SELECT throws_ok(format($$SELECT mig.start(%L, '{"operations": [{"create_table": {"name": "t", "columns": [{"name": "id", "type": "integer"}]}}]}', 'Ä')$$,
	(SELECT one_more FROM vn)), '42622', NULL, 'a version schema name of 64 bytes is refused');
SELECT is(mig.start('q', jsonb_build_object('version_schema', (SELECT quotes FROM vn), 'operations',
	'[{"create_table": {"name": "t", "columns": [{"name": "id", "type": "integer"}]}}]'::jsonb), 'Ä'),
	'Ä_' || (SELECT quotes FROM vn), 'a version_schema of quotes and a semicolon, 63 bytes in all');
SELECT has_view(('Ä_' || (SELECT quotes FROM vn))::name, 't'::name, 'its view exists');
SELECT is(mig.rollback('Ä'), 'Ä', 'rollback');
SELECT throws_ok(format($$SELECT mig.start('q', %L, 'Ä')$$, jsonb_build_object('version_schema', (SELECT quotes FROM vn) || '"',
	'operations', '[{"create_table": {"name": "t", "columns": [{"name": "id", "type": "integer"}]}}]'::jsonb)),
	'42622', NULL, 'one quote more is refused');
SELECT is((SELECT count(*)::int FROM pg_namespace WHERE nspname LIKE 'Ä\_%'), 0, 'no version schema was left or truncated');

------------------------------------------------------------------------------
-- 63-byte names in alter_column and create_constraint: two ASCII columns
-- and two multibyte columns that share their first 62 bytes, each with
-- 63-byte constraint and index names sharing their first 62 bytes
------------------------------------------------------------------------------
CREATE SCHEMA long;
CREATE TEMP TABLE l AS SELECT
	repeat('c', 62) || '1' AS c1, repeat('c', 62) || '2' AS c2,
	repeat('é', 31) || '1' AS m1, repeat('é', 31) || '2' AS m2,       -- 63 bytes each
	repeat('k', 62) || '1' AS k1, repeat('k', 62) || '2' AS k2,       -- existing checks
	repeat('i', 62) || '1' AS i1, repeat('i', 62) || '2' AS i2,       -- existing indexes
	repeat('u', 62) || '1' AS u1, repeat('u', 62) || '2' AS u2,       -- new unique (alter_column)
	repeat('h', 62) || '1' AS h1, repeat('h', 62) || '2' AS h2,       -- new checks (alter_column)
	repeat('f', 62) || '1' AS f1, repeat('f', 62) || '2' AS f2,       -- new foreign keys (alter_column)
	repeat('q', 62) || '1' AS q1, repeat('q', 62) || '2' AS q2,       -- create_constraint unique, check
	repeat('q', 62) || '3' AS q3, repeat('q', 62) || '4' AS q4,       -- create_constraint foreign_key, primary_key
	repeat('ü', 31) || 'r' AS r,                                      -- 63-byte referenced table
	repeat('p', 63) AS p;                                             -- 63-byte table without a key
SELECT format('CREATE TABLE long.%1$I (id integer PRIMARY KEY)', r) FROM l \gexec
SELECT format('INSERT INTO long.%1$I VALUES (1), (2), (3), (4), (5)', r) FROM l \gexec
SELECT format('CREATE TABLE long.t (id integer PRIMARY KEY, %1$I integer, %2$I integer, %3$I text, %4$I text,
	CONSTRAINT %5$I CHECK (%1$I > 0), CONSTRAINT %6$I CHECK (%2$I > 0))', c1, c2, m1, m2, k1, k2) FROM l \gexec
SELECT format('CREATE INDEX %I ON long.t (%I)', i1, c1) FROM l \gexec
SELECT format('CREATE INDEX %I ON long.t (%I)', i2, c2) FROM l \gexec
SELECT format('INSERT INTO long.t VALUES (1, 1, 1, %L, %L), (2, 2, 2, %L, %L)', 'a', 'b', 'c', 'd') FROM l \gexec
SELECT format('CREATE TABLE long.%I (%I integer)', p, c1) FROM l \gexec
SELECT format('INSERT INTO long.%I VALUES (1), (2)', p) FROM l \gexec

-- (the tables of the next section exist before 02_long, so that its version has their views)
CREATE TEMP TABLE tt AS SELECT repeat('t', 62) || '1' AS t1, repeat('t', 62) || '2' AS t2,
	repeat('d', 62) || '1' AS d1, repeat('d', 62) || '2' AS d2, repeat('t', 62) || '3' AS t3,
	repeat('x', 62) || '1' AS x1, repeat('x', 62) || '2' AS x2;
SELECT format('CREATE TABLE long.%I (id integer PRIMARY KEY, v integer)', x) FROM tt, unnest(ARRAY[t1, t2, d1, d2]) x \gexec
SELECT format('CREATE INDEX %I ON long.%I (v)', x1, t1), format('CREATE INDEX %I ON long.%I (v)', x2, t2) FROM tt \gexec
SELECT format('INSERT INTO long.%I VALUES (1, 1)', x) FROM tt, unnest(ARRAY[t1, t2, d1, d2]) x \gexec
CREATE TEMP TABLE doc4 AS SELECT jsonb_build_object('operations', jsonb_build_array(
	jsonb_build_object('alter_column', jsonb_build_object('table', 't', 'column', c1, 'type', 'bigint', 'nullable', false,
		'unique', jsonb_build_object('name', u1), 'check', jsonb_build_object('name', h1, 'constraint', format('%I < 1000', c1)),
		'references', jsonb_build_object('name', f1, 'table', r, 'column', 'id'),
		'up', format('%I', c1), 'down', format('%I', c1))),
	jsonb_build_object('alter_column', jsonb_build_object('table', 't', 'column', c2, 'type', 'bigint', 'nullable', false,
		'unique', jsonb_build_object('name', u2), 'check', jsonb_build_object('name', h2, 'constraint', format('%I < 1000', c2)),
		'references', jsonb_build_object('name', f2, 'table', r, 'column', 'id'),
		'up', format('%I', c2), 'down', format('%I', c2))),
	jsonb_build_object('create_constraint', jsonb_build_object('type', 'unique', 'table', 't', 'name', q1,
		'columns', jsonb_build_array(m1, m2),
		'up', jsonb_build_object(m1, format('%I', m1), m2, format('%I', m2)),
		'down', jsonb_build_object(m1, format('%I', m1), m2, format('%I', m2)))),
	jsonb_build_object('create_constraint', jsonb_build_object('type', 'check', 'table', 't', 'name', q2,
		'columns', jsonb_build_array(m1), 'check', format('%I <> %L', m1, 'bad'),
		'up', jsonb_build_object(m1, format('CASE WHEN %1$I = %2$L THEN %3$L ELSE %1$I END', m1, 'bad', 'good')),
		'down', jsonb_build_object(m1, format('%I', m1)))),
	jsonb_build_object('create_constraint', jsonb_build_object('type', 'foreign_key', 'table', p, 'name', q3,
		'columns', jsonb_build_array(c1), 'references', jsonb_build_object('table', r, 'columns', jsonb_build_array('id')),
		'up', jsonb_build_object(c1, format('%I', c1)), 'down', jsonb_build_object(c1, format('%I', c1)))),
	jsonb_build_object('create_constraint', jsonb_build_object('type', 'primary_key', 'table', p, 'name', q4,
		'columns', jsonb_build_array(c1),
		'up', jsonb_build_object(c1, format('%I', c1)), 'down', jsonb_build_object(c1, format('%I', c1)))))) AS d
	FROM l;
CREATE TEMP TABLE before4 AS SELECT mig.read_schema('long') AS s, pg_temp.snap() AS snap;

SELECT is(mig.start('02_long', (SELECT d FROM doc4), 'long'), 'long_02_long',
	'alter_column and create_constraint on 63-byte columns with 63-byte constraint names start');
SELECT is((SELECT count(*)::int FROM pg_attribute WHERE attrelid = 'long.t'::regclass AND attnum > 0 AND NOT attisdropped
	AND attname LIKE '\_mig\_%'), 5, 'each of the four columns has its own shadow (the first multibyte one two: it is changed twice)');
SELECT ok((SELECT bool_and(octet_length(attname) <= 63 AND attname::text = convert_from(convert_to(attname::text, 'UTF8'), 'UTF8'))
	FROM pg_attribute WHERE attrelid = 'long.t'::regclass AND attnum > 0 AND NOT attisdropped),
	'internal column names fit in 63 bytes and are valid UTF-8 (no multibyte letter cut in half)');
SELECT is((SELECT count(*)::int FROM pg_constraint WHERE conrelid = 'long.t'::regclass AND conname LIKE '\_mig\_notnull%'), 2,
	'each NOT NULL column has its own internal check');
SELECT is((SELECT count(*)::int FROM pg_constraint WHERE conrelid = 'long.t'::regclass AND conname LIKE '\_mig\_dup\_%'), 2,
	'each carried-over check has its own internal name');
SELECT is((SELECT count(*)::int FROM pg_class WHERE relnamespace = 'long'::regnamespace AND relkind = 'i' AND relname LIKE '\_mig\_dup\_%'), 3,
	'each carried-over index has its own internal name (the two 63-byte ones, and the new unique one moved to the second shadow)');
SELECT is(pg_temp.sorted(pg_temp.cols('long_02_long', 't')),
	pg_temp.sorted((SELECT ARRAY['id', c1, c2, m1, m2] FROM l)), 'the new version shows the full 63-byte names');
SELECT col_type_is('long_02_long', 't', (SELECT c1 FROM l)::name, 'bigint', 'the first column has its new type');
SELECT col_type_is('long_02_long', 't', (SELECT c2 FROM l)::name, 'bigint', 'the second as well');
SELECT lives_ok(format($$SELECT pg_temp.via('long', %L)$$,
	(SELECT format('INSERT INTO t VALUES (3, 3, 3, %L, %L)', 'bad', 'e') FROM l)), 'insert through the old version');
SELECT lives_ok(format($$SELECT pg_temp.via('long_02_long', %L)$$,
	(SELECT format('INSERT INTO t (id, %I, %I, %I, %I) VALUES (4, 4, 4, %L, %L)', c1, c2, m1, m2, 'f', 'g') FROM l)),
	'insert through the new version');
SELECT throws_ok(format($$SELECT pg_temp.via('long_02_long', %L)$$,
	(SELECT format('INSERT INTO t (id, %I, %I, %I, %I) VALUES (5, 5, 1000, %L, %L)', c1, c2, m1, m2, 'h', 'i') FROM l)),
	'23514', NULL, 'the check with a 63-byte name on the second column holds in the new version');
SELECT throws_ok(format($$SELECT pg_temp.via('long_02_long', %L)$$,
	(SELECT format('INSERT INTO t (id, %I, %I, %I, %I) VALUES (5, 9, 5, %L, %L)', c1, c2, m1, m2, 'h', 'i') FROM l)),
	'23503', NULL, 'the foreign key with a 63-byte name on the first column holds in the new version');
SELECT results_eq((SELECT format('SELECT id, %I, %I, %I, %I FROM long_02_long.t WHERE id >= 3 ORDER BY id', c1, c2, m1, m2) FROM l),
	$$VALUES (3, 3::bigint, 3::bigint, 'good', 'e'), (4, 4, 4, 'f', 'g')$$, 'read back through the new version, each value in its column');
SELECT results_eq((SELECT format('SELECT id, %I, %I, %I, %I FROM long.t WHERE id >= 3 ORDER BY id', c1, c2, m1, m2) FROM l),
	$$VALUES (3, 3, 3, 'bad', 'e'), (4, 4, 4, 'f', 'g')$$, 'read back through the old version');
SELECT is(mig.rollback('long'), 'long', 'rollback');
SELECT is(mig.read_schema('long'), (SELECT s FROM before4), 'rollback leaves read_schema exactly as before');
SELECT is(pg_temp.snap(), (SELECT snap FROM before4), 'and everything else');
DELETE FROM long.t WHERE id >= 3;

SELECT is(mig.start('02_long', (SELECT d FROM doc4), 'long'), 'long_02_long', 'start again');
SELECT is(mig.complete('long'), 'long_02_long', 'complete');
SELECT is(pg_temp.sorted(pg_temp.cols('long', 't')), pg_temp.sorted((SELECT ARRAY['id', c1, c2, m1, m2] FROM l)),
	'each column has its full, distinct name');
SELECT is((SELECT array_agg(format_type(atttypid, atttypmod) || ' ' || attnotnull ORDER BY attname)
	FROM pg_attribute WHERE attrelid = 'long.t'::regclass AND attname IN (SELECT c1 FROM l UNION SELECT c2 FROM l)),
	ARRAY['bigint true', 'bigint true'], 'both altered columns are bigint NOT NULL');
SELECT is(pg_temp.cons('long', 't'), (SELECT ARRAY[f1, f2, h1, h2, k1, k2, q1, q2, 't_pkey', u1, u2]::name[] FROM l),
	'every constraint has its full 63-byte name');
SELECT is((SELECT array_agg(pg_temp.condef('long', 't', x) ORDER BY x) FROM l, unnest(ARRAY[f1, h1, k1, u1]) x),
	(SELECT ARRAY[format('FOREIGN KEY (%I) REFERENCES long.%I(id)', c1, r), format('CHECK ((%I < 1000))', c1),
		format('CHECK ((%I > 0))', c1), format('UNIQUE (%I)', c1)] FROM l),
	'the first column''s constraints are on it');
SELECT is((SELECT array_agg(pg_temp.condef('long', 't', x) ORDER BY x) FROM l, unnest(ARRAY[f2, h2, k2, u2]) x),
	(SELECT ARRAY[format('FOREIGN KEY (%I) REFERENCES long.%I(id)', c2, r), format('CHECK ((%I < 1000))', c2),
		format('CHECK ((%I > 0))', c2), format('UNIQUE (%I)', c2)] FROM l),
	'the second column''s constraints are on it, not the first''s');
SELECT is((SELECT array_agg(pg_temp.condef('long', 't', x) ORDER BY x) FROM l, unnest(ARRAY[q1, q2]) x),
	(SELECT ARRAY[format('UNIQUE (%I, %I)', m1, m2), format('CHECK ((%I <> %L::text))', m1, 'bad')] FROM l),
	'the constraints create_constraint made on the multibyte columns');
SELECT is((SELECT array_agg(pg_get_indexdef(format('long.%I', x)::regclass) ORDER BY x) FROM l, unnest(ARRAY[i1, i2]) x),
	(SELECT ARRAY[format('CREATE INDEX %I ON long.t USING btree (%I)', i1, c1), format('CREATE INDEX %I ON long.t USING btree (%I)', i2, c2)] FROM l),
	'the 63-byte indexes were carried over under their names, each to its column');
SELECT is((SELECT array_agg(pg_temp.condef('long', p, x) ORDER BY x) FROM l, unnest(ARRAY[q3, q4]) x),
	(SELECT ARRAY[format('FOREIGN KEY (%I) REFERENCES long.%I(id)', c1, r), format('PRIMARY KEY (%I)', c1)] FROM l),
	'the foreign key and primary key create_constraint made on a 63-byte table have their 63-byte names');
SELECT is(pg_temp.leftovers('long'), 0::bigint, 'no internal object is left');
SELECT results_eq((SELECT format('SELECT id, %I, %I, %I FROM long.t ORDER BY id', c1, c2, m1) FROM l),
	$$VALUES (1, 1::bigint, 1::bigint, 'a'), (2, 2, 2, 'c')$$, 'the data are intact');

------------------------------------------------------------------------------
-- two 63-byte tables sharing their first 62 bytes, both retyped (dual-write
-- triggers, carried-over indexes with 63-byte names), one renamed to a
-- 63-byte name, and two more dropped in the same migration
------------------------------------------------------------------------------
CREATE TEMP TABLE doc5 AS SELECT jsonb_build_object('operations', jsonb_build_array(
	jsonb_build_object('alter_column', jsonb_build_object('table', t1, 'column', 'v', 'type', 'bigint', 'up', 'v * 10', 'down', 'v / 10')),
	jsonb_build_object('alter_column', jsonb_build_object('table', t2, 'column', 'v', 'type', 'bigint', 'up', 'v * 20', 'down', 'v / 20')),
	jsonb_build_object('rename_table', jsonb_build_object('from', t1, 'to', t3)),
	jsonb_build_object('drop_table', jsonb_build_object('name', d1)),
	jsonb_build_object('drop_table', jsonb_build_object('name', d2)))) AS d FROM tt;
CREATE TEMP TABLE before5 AS SELECT mig.read_schema('long') AS s, pg_temp.snap() AS snap;
SELECT is(mig.start('03_tables', (SELECT d FROM doc5), 'long'), 'long_03_tables', 'start');
SELECT is((SELECT count(DISTINCT tgrelid)::int FROM pg_trigger WHERE tgname = '~mig_dual_write'
	AND tgrelid IN (SELECT format('long.%I', x)::regclass FROM tt, unnest(ARRAY[t1, t2]) x)), 2, 'both tables have their dual-write trigger');
SELECT is((SELECT count(*)::int FROM pg_class WHERE relnamespace = 'long'::regnamespace AND relkind = 'i' AND relname LIKE '\_mig\_dup\_%'), 2,
	'each carried-over index has its own internal name');
SELECT is((SELECT count(*)::int FROM pg_class WHERE relnamespace = 'long'::regnamespace AND relkind = 'r' AND relname LIKE '\_mig\_del\_%'), 2,
	'each dropped table is kept under its own internal name');
SELECT is((SELECT array_agg(c.relname ORDER BY c.relname) FROM pg_class c WHERE c.relnamespace = 'long_03_tables'::regnamespace),
	(SELECT pg_temp.sorted(ARRAY['t', p, r, t2, t3]) FROM tt, l), 'the new version has the renamed table and not the dropped ones');
SELECT lives_ok(format($$SELECT pg_temp.via('long_02_long', %L)$$,
	(SELECT format('INSERT INTO %I VALUES (2, 2); INSERT INTO %I VALUES (2, 2)', t1, t2) FROM tt)), 'insert through the old version');
SELECT lives_ok(format($$SELECT pg_temp.via('long_03_tables', %L)$$,
	(SELECT format('INSERT INTO %I VALUES (3, 300); INSERT INTO %I VALUES (3, 600)', t3, t2) FROM tt)), 'insert through the new version');
SELECT results_eq((SELECT format('SELECT a.id, a.v, b.v FROM long_03_tables.%I a JOIN long_03_tables.%I b USING (id) WHERE a.id > 1 AND b.id > 1 ORDER BY 1', t3, t2) FROM tt),
	$$VALUES (2, 20::bigint, 40::bigint), (3, 300, 600)$$, 'each table''s trigger ran its own up');
SELECT results_eq((SELECT format('SELECT a.id, a.v, b.v FROM long_02_long.%I a JOIN long_02_long.%I b USING (id) WHERE id > 1 ORDER BY 1', t1, t2) FROM tt),
	$$VALUES (2, 2, 2), (3, 30, 30)$$, 'and its own down');
SELECT is(mig.rollback('long'), 'long_02_long', 'rollback');
SELECT is(mig.read_schema('long'), (SELECT s FROM before5), 'rollback leaves read_schema exactly as before');
SELECT is(pg_temp.snap(), (SELECT snap FROM before5), 'and everything else, with the dropped tables under their full names');
SELECT format('DELETE FROM long.%I WHERE id > 1', x) FROM tt, unnest(ARRAY[t1, t2]) x \gexec
SELECT is(mig.start('03_tables', (SELECT d FROM doc5), 'long'), 'long_03_tables', 'start again');
SELECT is(mig.complete('long'), 'long_03_tables', 'complete');
SELECT is(pg_temp.tables('long'), (SELECT pg_temp.sorted(ARRAY['t', p, r, t2, t3]) FROM tt, l), 'the tables have their final full names');
SELECT is((SELECT array_agg(pg_get_indexdef(format('long.%I', x)::regclass) ORDER BY x) FROM tt, unnest(ARRAY[x1, x2]) x),
	(SELECT ARRAY[format('CREATE INDEX %I ON long.%I USING btree (v)', x1, t3), format('CREATE INDEX %I ON long.%I USING btree (v)', x2, t2)] FROM tt),
	'each 63-byte index is on its own table, under its name');
SELECT is(pg_temp.leftovers('long'), 0::bigint, 'no internal object is left');

------------------------------------------------------------------------------
-- 63-byte rename targets, 63-byte add_column unique columns sharing their
-- first 62 bytes, and a 63-byte index created and dropped
------------------------------------------------------------------------------
CREATE TEMP TABLE rn AS SELECT repeat('n', 62) || '1' AS n1, repeat('n', 62) || '2' AS n2,
	repeat('ö', 31) || 'k' AS k, repeat('ö', 31) || 'i' AS i;
CREATE TEMP TABLE doc6 AS SELECT jsonb_build_object('operations', jsonb_build_array(
	jsonb_build_object('add_column', jsonb_build_object('table', 't', 'column',
		jsonb_build_object('name', n1, 'type', 'integer', 'nullable', true, 'unique', true))),
	jsonb_build_object('add_column', jsonb_build_object('table', 't', 'column',
		jsonb_build_object('name', n2, 'type', 'integer', 'nullable', true, 'unique', true))),
	jsonb_build_object('rename_column', jsonb_build_object('table', 't', 'from', (SELECT m2 FROM l), 'to', rn.k)),
	jsonb_build_object('rename_constraint', jsonb_build_object('table', 't', 'from', (SELECT q2 FROM l), 'to', rn.k)),
	jsonb_build_object('create_index', jsonb_build_object('table', 't', 'name', rn.i,
		'columns', jsonb_build_array(jsonb_build_object('column', (SELECT m1 FROM l))))))) AS d FROM rn;
SELECT is(mig.start('04_renames', (SELECT d FROM doc6), 'long'), 'long_04_renames',
	'add two unique 63-byte columns, rename a column and a constraint to 63-byte names, create a 63-byte index');
SELECT is((SELECT count(*)::int FROM pg_class WHERE relnamespace = 'long'::regnamespace AND relname LIKE '\_mig\_uniq\_%'), 2,
	'each added unique column has its own internal index');
SELECT lives_ok(format($$SELECT pg_temp.via('long_04_renames', %L)$$,
	(SELECT format('INSERT INTO t (id, %I, %I, %I, %I, %I) VALUES (7, 3, 3, %L, 1, 2)', l.c1, l.c2, l.m1, rn.n1, rn.n2, 'x') FROM l, rn)),
	'insert through the new version');
SELECT is(mig.complete('long'), 'long_04_renames', 'complete');
SELECT is(pg_temp.sorted(pg_temp.cols('long', 't')), (SELECT pg_temp.sorted(ARRAY['id', l.c1, l.c2, l.m1, rn.k, rn.n1, rn.n2]) FROM l, rn),
	'the columns have their full 63-byte names');
SELECT is((SELECT array_agg(pg_temp.condef('long', 't', x) ORDER BY x) FROM rn, unnest(ARRAY[n1, n2, k]) x),
	(SELECT ARRAY[format('UNIQUE (%I)', n1), format('UNIQUE (%I)', n2), format('CHECK ((%I <> %L::text))', l.m1, 'bad')] FROM l, rn),
	'the unique constraints are named after their 63-byte columns, the renamed check has its 63-byte name');
SELECT is((SELECT pg_get_indexdef(format('long.%I', i)::regclass) FROM rn),
	(SELECT format('CREATE INDEX %I ON long.t USING btree (%I)', rn.i, l.m1) FROM l, rn), 'the 63-byte index');
SELECT is(mig.start('05_drop_index', (SELECT jsonb_build_object('operations', jsonb_build_array(
	jsonb_build_object('drop_index', jsonb_build_object('name', i)))) FROM rn), 'long'), 'long_05_drop_index', 'drop the 63-byte index');
SELECT is(mig.complete('long'), 'long_05_drop_index', 'complete');
SELECT is((SELECT count(*)::int FROM pg_class WHERE relname = (SELECT i FROM rn)), 0, 'the index is gone');
SELECT is(pg_temp.leftovers('long'), 0::bigint, 'no internal object is left');

------------------------------------------------------------------------------
-- create_table table-level constraints with hostile names over hostile
-- columns, then a column they cover retyped: each is carried over and
-- keeps its name
------------------------------------------------------------------------------
CREATE SCHEMA tc;
SELECT is(mig.start('01', $j${"operations": [
	{"create_table": {"name": "p\"q", "comment": "it's \"x\"; --", "columns": [{"name": "k'1", "type": "integer"}, {"name": "k\"2", "type": "integer"}],
	 "constraints": [{"name": "pk\"'", "type": "primary_key", "columns": ["k'1", "k\"2"]}]}},
	{"create_table": {"name": "c;d", "columns": [{"name": "id", "type": "integer", "pk": true},
		{"name": "r'1", "type": "integer", "nullable": true}, {"name": "r\"2", "type": "integer", "nullable": true},
		{"name": "d'f", "type": "text", "default": "'it''s'", "comment": "a \"comment\"'s"}],
	 "constraints": [
		{"name": "fk\"'; --", "type": "foreign_key", "columns": ["r'1", "r\"2"], "references": {"table": "p\"q", "columns": ["k'1", "k\"2"]}},
		{"name": "uq\"'", "type": "unique", "columns": ["r'1", "d'f"], "index_parameters": {"include_columns": ["r\"2"]}},
		{"name": "ck\"'", "type": "check", "check": "\"r'1\" > 0"}]}}]}$j$, 'tc'), 'tc_01',
	'create_table with hostile table-level constraint names');
SELECT is(mig.complete('tc'), 'tc_01', 'complete');
SELECT is(obj_description('tc."p""q"'::regclass, 'pg_class'), 'it''s "x"; --', 'the table comment is data');
INSERT INTO tc."p""q" VALUES (1, 1);
INSERT INTO tc."c;d" ("id", "r'1", "r""2") VALUES (1, 1, 1);
CREATE TEMP TABLE before7 AS SELECT mig.read_schema('tc') AS s, pg_temp.snap() AS snap;
SELECT is(mig.start('02', $j${"operations": [
	{"alter_column": {"table": "c;d", "column": "r'1", "type": "bigint", "default": "'1'", "up": "\"r'1\"", "down": "\"r'1\""}}]}$j$, 'tc'),
	'tc_02', 'retype a column covered by all three');
SELECT is((SELECT count(*)::int FROM pg_constraint WHERE conrelid = 'tc."c;d"'::regclass AND conname LIKE '\_mig\_dup\_%'), 2,
	'the check and the foreign key are carried over under internal names');
SELECT lives_ok($$SELECT pg_temp.via('tc_02', 'INSERT INTO "c;d" ("id", "r''1", "r""2", "d''f") VALUES (2, 1, 1, ''two'')')$$,
	'insert through the new version');
SELECT is(mig.rollback('tc'), 'tc_01', 'rollback');
SELECT is(pg_temp.snap(), (SELECT snap FROM before7), 'rollback leaves everything exactly as before');
DELETE FROM tc."c;d" WHERE id = 2;
SELECT is(mig.start('02', $j${"operations": [
	{"alter_column": {"table": "c;d", "column": "r'1", "type": "bigint", "default": "'1'", "up": "\"r'1\"", "down": "\"r'1\""}}]}$j$, 'tc'),
	'tc_02', 'start again');
SELECT is(mig.complete('tc'), 'tc_02', 'complete');
SELECT is((SELECT array_agg(conname || ' ' || pg_get_constraintdef(oid) ORDER BY conname) FROM pg_constraint WHERE conrelid = 'tc."c;d"'::regclass AND contype <> 'n'),
	ARRAY['c;d_pkey PRIMARY KEY (id)', 'ck"'' CHECK (("r''1" > 0))',
		'fk"''; -- FOREIGN KEY ("r''1", "r""2") REFERENCES tc."p""q"("k''1", "k""2")',
		'uq"'' UNIQUE ("r''1", "d''f") INCLUDE ("r""2")'],
	'every constraint is on the retyped column under its hostile name');
SELECT is(col_description('tc."c;d"'::regclass, (SELECT attnum FROM pg_attribute WHERE attrelid = 'tc."c;d"'::regclass AND attname = 'd''f')),
	'a "comment"''s', 'the column comment is data');
SELECT is(pg_temp.leftovers('tc'), 0::bigint, 'no internal object is left');

------------------------------------------------------------------------------
-- each in its own schema, so that one failure does not hide others
------------------------------------------------------------------------------
-- two tables adding a unique column of the same name in one migration:
-- the final constraints (and their indexes) would both take the column's
-- name, as in pgroll, so start must refuse it and leave nothing behind
CREATE SCHEMA b1;
CREATE TABLE b1.t1 (id integer PRIMARY KEY);
CREATE TABLE b1.t2 (id integer PRIMARY KEY);
SELECT throws_ok($$SELECT mig.start('02', '{"operations": [
	{"add_column": {"table": "t1", "column": {"name": "e\"mail", "type": "text", "nullable": true, "unique": true}}},
	{"add_column": {"table": "t2", "column": {"name": "e\"mail", "type": "text", "nullable": true, "unique": true}}}]}', 'b1')$$,
	'42P07', NULL, 'two tables each adding a unique column of the same name: refused at start');
SELECT is((SELECT count(*)::int FROM pg_class WHERE relnamespace = 'b1'::regnamespace), 4, 'nothing was left behind');

-- carrying a foreign key over to a shadow finds " REFERENCES " in the text
-- of its definition, which may be inside a quoted column name
CREATE SCHEMA b2;
CREATE TABLE b2.p (id integer PRIMARY KEY);
INSERT INTO b2.p VALUES (1);
CREATE TABLE b2.c (id integer PRIMARY KEY, "a REFERENCES b" integer CONSTRAINT "fk REFERENCES" REFERENCES b2.p (id),
	"x REFERENCES y" integer CONSTRAINT fk2 REFERENCES b2.p (id));
INSERT INTO b2.c VALUES (1, 1, 1);
SELECT lives_ok($$SELECT mig.start('02', '{"operations": [
	{"alter_column": {"table": "c", "column": "a REFERENCES b", "type": "bigint",
	 "up": "\"a REFERENCES b\"", "down": "\"a REFERENCES b\""}}]}', 'b2')$$,
	'retype a column named "a REFERENCES b" that has a foreign key');
SELECT is((SELECT count(*)::int FROM pg_constraint WHERE conrelid = 'b2.c'::regclass AND contype = 'f'), 3,
	'its foreign key is carried over to the shadow');
SELECT lives_ok($$SELECT mig.complete('b2')$$, 'complete');
SELECT is(pg_temp.condef('b2', 'c', 'fk REFERENCES'), 'FOREIGN KEY ("a REFERENCES b") REFERENCES b2.p(id)',
	'after complete the foreign key is still there, on the retyped column');
SELECT lives_ok($$SELECT mig.start('03', '{"operations": [
	{"alter_column": {"table": "c", "column": "x REFERENCES y", "nullable": false,
	 "up": "coalesce(\"x REFERENCES y\", 1)", "down": "\"x REFERENCES y\""}}]}', 'b2')$$,
	'set NOT NULL on a column named "x REFERENCES y" that has a foreign key');
SELECT lives_ok($$SELECT mig.complete('b2')$$, 'complete');
SELECT is(ARRAY[pg_temp.condef('b2', 'c', 'fk2'), (SELECT attnotnull::text FROM pg_attribute
	WHERE attrelid = 'b2.c'::regclass AND attname = 'x REFERENCES y')],
	ARRAY['FOREIGN KEY ("x REFERENCES y") REFERENCES b2.p(id)', 'true'], 'the column is NOT NULL and its foreign key is kept');

-- a check expression that names a column with a Unicode-escaped quoted
-- identifier (U&"...") is rewritten as if the identifier were one letter
CREATE SCHEMA b3;
CREATE TABLE b3.t (id integer PRIMARY KEY, "x; y" integer);
INSERT INTO b3.t VALUES (1, 1);
SELECT lives_ok($$SELECT mig.start('02', '{"operations": [{"create_constraint": {"type": "check", "table": "t",
	"name": "c1", "columns": ["x; y"], "check": "U&\"x\\003B y\" > 0",
	"up": {"x; y": "U&\"x\\003B y\""}, "down": {"x; y": "U&\"x\\003B y\""}}}]}', 'b3')$$,
	'create_constraint check naming a hostile column as U&"x\003B y"');
SELECT lives_ok($$SELECT mig.complete('b3')$$, 'complete');
SELECT is(pg_temp.condef('b3', 't', 'c1'), 'CHECK (("x; y" > 0))', 'the check is on the column');

-- create_index collate: a collation name with a dot ("C.utf8", as initdb
-- names the libc collations) is split into schema "C" and collation "utf8"
CREATE SCHEMA b4;
CREATE TABLE b4.t (id integer PRIMARY KEY, "na.me" text);
SELECT lives_ok($$SELECT mig.start('02', '{"operations": [{"create_index": {"name": "i.dx", "table": "t",
	"columns": [{"column": "na.me", "collate": "C.utf8"}]}}]}', 'b4')$$,
	'create_index with the collation "C.utf8"');
SELECT lives_ok($$SELECT mig.complete('b4')$$, 'complete');
SELECT is((SELECT pg_get_indexdef(to_regclass('b4."i.dx"'))), 'CREATE INDEX "i.dx" ON b4.t USING btree ("na.me" COLLATE "C.utf8")',
	'the index has the collation');

-- rename_constraint and alter_column of the column the constraint is on,
-- in one migration: the carried-over constraint must end up with the new
-- name, whichever operation comes first
CREATE SCHEMA b5;
CREATE TABLE b5.t (id integer PRIMARY KEY, "x'y" text CONSTRAINT "c""k" CHECK (length("x'y") > 0));
INSERT INTO b5.t VALUES (1, 'a');
CREATE SCHEMA b6;
CREATE TABLE b6.t (id integer PRIMARY KEY, "v;w" text CONSTRAINT "d""k" CHECK (length("v;w") > 0));
INSERT INTO b6.t VALUES (1, 'b');
SELECT lives_ok($$SELECT mig.start('02', '{"operations": [
	{"alter_column": {"table": "t", "column": "x''y", "nullable": false, "up": "coalesce(\"x''y\", ''n'')", "down": "\"x''y\""}},
	{"rename_constraint": {"table": "t", "from": "c\"k", "to": "re\"named''"}}]}', 'b5')$$,
	'alter_column, then rename_constraint of a check on that column: start');
SELECT lives_ok($$SELECT mig.complete('b5')$$, 'complete');
SELECT is(pg_temp.condef('b5', 't', 're"named'''), 'CHECK ((length("x''y") > 0))', 'the check has its new name');
SELECT lives_ok($$SELECT mig.start('02', '{"operations": [
	{"rename_constraint": {"table": "t", "from": "d\"k", "to": "also\"renamed''"}},
	{"alter_column": {"table": "t", "column": "v;w", "nullable": false, "up": "coalesce(\"v;w\", ''n'')", "down": "\"v;w\""}}]}', 'b6')$$,
	'rename_constraint, then alter_column of the column the check is on: start');
SELECT lives_ok($$SELECT mig.complete('b6')$$, 'complete');
SELECT is(pg_temp.cons('b6', 't'), ARRAY['also"renamed''', 't_pkey']::name[],
	'the check has its new name, not the old one');

SELECT is((SELECT count(*)::int FROM public.victim), 1, 'public.victim survived everything');
SELECT format('SELECT has_table(%L, %L, %L)', s, 'victim', 'and so did the victim table in the hostile schema') FROM n \gexec

SELECT * FROM finish();
ROLLBACK;
