-- Names: mixed case, spaces, reserved words, dots in migration names,
-- multibyte characters and 63-byte names, whose internal names
-- (_mig_new_..., _mig_del_...) must never collide or be truncated into the
-- wrong final name.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(33);

CREATE SCHEMA "My App";
CREATE FUNCTION pg_temp.cols(rel regclass) RETURNS name[] LANGUAGE sql STABLE AS $$
	SELECT array_agg(attname ORDER BY attnum) FROM pg_attribute
	WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped
$$;
CREATE FUNCTION pg_temp.tables(nsp text) RETURNS name[] LANGUAGE sql STABLE AS $$
	SELECT coalesce(array_agg(relname ORDER BY relname), '{}') FROM pg_class
	WHERE relnamespace = nsp::regnamespace AND relkind IN ('r', 'p')
$$;

------------------------------------------------------------------------------
-- mixed case, spaces, reserved words, dots
------------------------------------------------------------------------------
SELECT is(mig.start('01.init', $j${"operations": [{"create_table": {"name": "Order Items", "columns": [
	{"name": "ID", "type": "integer", "pk": true},
	{"name": "select", "type": "text", "default": "'s'",
	 "check": {"name": "Select Check", "constraint": "\"select\" <> ''"}}]}}]}$j$, 'My App'),
	'My App_01.init', 'a schema and a migration name that need quoting');
SELECT has_view('My App_01.init', 'Order Items', 'the view of a mixed-case table with a space');
SELECT lives_ok($$INSERT INTO "My App_01.init"."Order Items" ("ID", "select") VALUES (1, 'x')$$,
	'insert through the view, reserved-word column');
SELECT is(mig.complete('My App'), 'My App_01.init', 'complete');

CREATE TEMP TABLE before AS SELECT mig.read_schema('My App') AS s;
CREATE TEMP TABLE doc AS SELECT $j${"operations": [
	{"rename_column": {"table": "Order Items", "from": "select", "to": "From"}},
	{"add_column": {"table": "Order Items", "column": {"name": "Where", "type": "integer", "nullable": true,
		"check": {"name": "Where Check", "constraint": "\"Where\" > 0"}}}},
	{"rename_table": {"from": "Order Items", "to": "Line Items"}},
	{"rename_constraint": {"table": "Line Items", "from": "Select Check", "to": "From Check"}}]}$j$::jsonb AS d;

SELECT is(mig.start('02.more', (SELECT d FROM doc), 'My App'), 'My App_02.more', 'start with quoted names everywhere');
SELECT is(pg_temp.cols('"My App_02.more"."Line Items"'), ARRAY['ID', 'From', 'Where']::name[],
	'the new version has the new names');
SELECT lives_ok($$INSERT INTO "My App_02.more"."Line Items" VALUES (2, 'y', 3)$$, 'insert through the new version');
SELECT lives_ok($$INSERT INTO "My App_01.init"."Order Items" VALUES (3, 'z')$$, 'insert through the old version');
SELECT throws_ok($$INSERT INTO "My App_02.more"."Line Items" VALUES (4, 'w', -1)$$, '23514', NULL,
	'the added column''s check on a quoted name is enforced');
SELECT is(mig.rollback('My App'), 'My App_01.init', 'rollback');
SELECT is(mig.read_schema('My App'), (SELECT s FROM before), 'the base schema is exactly as before');
SELECT is(mig.start('02.more', (SELECT d FROM doc), 'My App'), 'My App_02.more', 'start again');
SELECT is(mig.complete('My App'), 'My App_02.more', 'complete');
SELECT is(pg_temp.tables('"My App"'), ARRAY['Line Items']::name[], 'the table has its new quoted name');
SELECT is(pg_temp.cols('"My App"."Line Items"'), ARRAY['ID', 'From', 'Where']::name[],
	'the columns have their new quoted names');
SELECT is((SELECT array_agg(conname::text ORDER BY conname) FROM pg_constraint
	WHERE conrelid = '"My App"."Line Items"'::regclass AND contype = 'c'),
	ARRAY['From Check', 'Where Check'], 'the check constraints have their quoted names');
SELECT results_eq($$SELECT "ID", "From", "Where" FROM "My App_02.more"."Line Items" ORDER BY 1$$,
	$$VALUES (1, 'x', NULL::int), (2, 'y', NULL), (3, 'z', NULL)$$,
	'every row read through the new version (the rolled back attempt''s value of the added column is gone)');

------------------------------------------------------------------------------
-- 63-byte names
------------------------------------------------------------------------------
CREATE SCHEMA app;
SELECT lives_ok($$SELECT mig.start('01_init', $j${"operations": [{"create_table": {"name": "t", "columns": [
	{"name": "id", "type": "integer", "pk": true}]}}]}$j$, 'app'); SELECT mig.complete('app')$$,
	'setup: create t');
INSERT INTO app.t VALUES (1);

CREATE TEMP TABLE long AS SELECT repeat('c', 62) || '1' AS c1, repeat('c', 62) || '2' AS c2,
	repeat('é', 31) AS c3, repeat('t', 63) AS t1;

SELECT is(mig.start('02_long', jsonb_build_object('operations', jsonb_build_array(
	jsonb_build_object('add_column', jsonb_build_object('table', 't',
		'column', jsonb_build_object('name', (SELECT c1 FROM long), 'type', 'integer', 'nullable', true))),
	jsonb_build_object('add_column', jsonb_build_object('table', 't',
		'column', jsonb_build_object('name', (SELECT c2 FROM long), 'type', 'integer', 'nullable', true))),
	jsonb_build_object('add_column', jsonb_build_object('table', 't',
		'column', jsonb_build_object('name', (SELECT c3 FROM long), 'type', 'text', 'nullable', true))),
	jsonb_build_object('create_table', jsonb_build_object('name', (SELECT t1 FROM long),
		'columns', jsonb_build_array(jsonb_build_object('name', 'id', 'type', 'integer')))))), 'app'),
	'app_02_long', 'add two 63-byte columns that differ only in their last byte, and a multibyte one');
SELECT is((SELECT count(DISTINCT attname)::int FROM pg_attribute
	WHERE attrelid = 'app.t'::regclass AND attnum > 0 AND NOT attisdropped), 4,
	'the internal names of the added columns do not collide');
SELECT ok((SELECT bool_and(octet_length(attname) <= 63 AND attname::text = convert_from(convert_to(attname::text, 'UTF8'), 'UTF8'))
	FROM pg_attribute WHERE attrelid = 'app.t'::regclass AND attnum > 0),
	'internal names are valid and fit in 63 bytes');
SELECT is(pg_temp.cols('app_02_long.t'), ARRAY['id', (SELECT c1 FROM long), (SELECT c2 FROM long), (SELECT c3 FROM long)]::name[],
	'the new version shows the full names');
SELECT lives_ok(format($$INSERT INTO app_02_long.t VALUES (2, 21, 22, 'z')$$), 'insert through the new version');
SELECT is(mig.complete('app'), 'app_02_long', 'complete');
SELECT is(pg_temp.cols('app.t'), ARRAY['id', (SELECT c1 FROM long), (SELECT c2 FROM long), (SELECT c3 FROM long)]::name[],
	'after complete each column has its full, distinct name');
SELECT results_eq(format('SELECT id, %I, %I, %I FROM app.t ORDER BY id', (SELECT c1 FROM long), (SELECT c2 FROM long), (SELECT c3 FROM long)),
	$$VALUES (1, NULL::int, NULL::int, NULL::text), (2, 21, 22, 'z')$$, 'each value is in its own column');

SELECT is(mig.start('03_drop_long', jsonb_build_object('operations', jsonb_build_array(
	jsonb_build_object('drop_table', jsonb_build_object('name', (SELECT t1 FROM long))))), 'app'),
	'app_03_drop_long', 'drop a table with a 63-byte name');
SELECT hasnt_table('app', (SELECT t1 FROM long)::name, 'the long-named table is moved out of the way');
SELECT is((SELECT count(*)::int FROM pg_class WHERE relnamespace = 'app'::regnamespace AND relkind = 'r'
	AND relname LIKE '\_mig\_del\_%'), 1, 'the long-named table is kept under an internal name');
SELECT is(mig.rollback('app'), 'app_02_long', 'rollback');
SELECT is(pg_temp.tables('app'), ARRAY['t', (SELECT t1 FROM long)]::name[], 'rollback restores the full name');

------------------------------------------------------------------------------
-- a version schema name longer than 63 bytes is refused, not truncated
------------------------------------------------------------------------------
SELECT throws_ok(format($$SELECT mig.start(%L, '{"operations": [{"drop_table": {"name": "t"}}]}', 'app')$$, repeat('m', 60)),
	'42622', NULL, 'a version schema name longer than 63 bytes is refused');
SELECT has_table('app', 't', 'the refused migration changed nothing');

SELECT * FROM finish();
ROLLBACK;
