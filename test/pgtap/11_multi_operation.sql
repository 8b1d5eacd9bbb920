-- Several operations in one migration see each other's effects; a failing
-- operation leaves no trace of the earlier ones.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(70);

CREATE SCHEMA app;
CREATE FUNCTION pg_temp.cols(rel regclass) RETURNS name[] LANGUAGE sql STABLE AS $$
	SELECT array_agg(attname ORDER BY attnum) FROM pg_attribute
	WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped
$$;
CREATE FUNCTION pg_temp.tables(nsp text) RETURNS name[] LANGUAGE sql STABLE AS $$
	SELECT coalesce(array_agg(relname ORDER BY relname), '{}') FROM pg_class
	WHERE relnamespace = nsp::regnamespace AND relkind IN ('r', 'p')
$$;
CREATE FUNCTION pg_temp.views(nsp text) RETURNS name[] LANGUAGE sql STABLE AS $$
	SELECT coalesce(array_agg(relname ORDER BY relname), '{}') FROM pg_class
	WHERE relnamespace = nsp::regnamespace AND relkind = 'v'
$$;

SELECT lives_ok($$SELECT mig.start('01_init', $j${"operations": [
	{"create_table": {"name": "users", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "name", "type": "text"},
		{"name": "email", "type": "text", "nullable": true},
		{"name": "legacy", "type": "text", "nullable": true}]}},
	{"create_table": {"name": "teams", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "title", "type": "text"}]}}]}$j$, 'app');
	SELECT mig.complete('app')$$, 'setup: create users and teams');
INSERT INTO app_01_init.users VALUES (1, 'a', 'a@x', 'l1'), (2, 'b', 'b@x', NULL);
INSERT INTO app_01_init.teams VALUES (1, 'red');
CREATE TEMP TABLE before AS SELECT mig.read_schema('app') AS s;

CREATE TEMP TABLE doc AS SELECT $j${"operations": [
	{"rename_table": {"from": "users", "to": "clients"}},
	{"add_column": {"table": "clients", "column": {"name": "note", "type": "text", "nullable": true}}},
	{"rename_column": {"table": "clients", "from": "name", "to": "display_name"}},
	{"rename_column": {"table": "clients", "from": "display_name", "to": "full_name"}},
	{"drop_column": {"table": "clients", "column": "email"}},
	{"add_column": {"table": "clients", "column": {"name": "email", "type": "integer", "nullable": true}}},
	{"create_table": {"name": "tmp", "columns": [{"name": "id", "type": "integer"}]}},
	{"drop_table": {"name": "tmp"}},
	{"create_table": {"name": "projects", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "client_id", "type": "integer",
		 "references": {"name": "projects_client_fk", "table": "clients", "column": "id"}}]}},
	{"add_column": {"table": "projects", "column": {"name": "budget", "type": "numeric", "default": "0"}}}
]}$j$::jsonb AS d;

------------------------------------------------------------------------------
-- start
------------------------------------------------------------------------------
SELECT is(mig.start('02_multi', (SELECT d FROM doc), 'app'), 'app_02_multi', 'the multi-operation migration starts');
SELECT is(pg_temp.views('app_02_multi'), ARRAY['clients', 'projects', 'teams']::name[],
	'the new version has the renamed and created tables, not the old name nor the created-then-dropped one');
SELECT is(pg_temp.views('app_01_init'), ARRAY['teams', 'users']::name[], 'the old version is unchanged');
SELECT is(pg_temp.cols('app_02_multi.clients'), ARRAY['id', 'full_name', 'legacy', 'note', 'email']::name[],
	'add_column on the renamed table, a column renamed twice, a column dropped and re-added');
SELECT is(pg_temp.cols('app_01_init.users'), ARRAY['id', 'name', 'email', 'legacy']::name[],
	'the old version keeps the old shape');
SELECT col_type_is('app_02_multi', 'clients', 'email', 'integer', 'the re-added column has its new type in the new version');
SELECT col_type_is('app_01_init', 'users', 'email', 'text', 'the dropped column keeps its type in the old version');
SELECT is(pg_temp.cols('app_02_multi.projects'), ARRAY['id', 'client_id', 'budget']::name[],
	'add_column on a table created in the same migration');
SELECT hasnt_table('app', 'tmp', 'the created-then-dropped table is out of the way');

SELECT lives_ok($$INSERT INTO app_01_init.users VALUES (3, 'old', 'o@x', 'l3')$$,
	'insert through the old version');
SELECT lives_ok($$INSERT INTO app_02_multi.clients (id, full_name, email, note) VALUES (4, 'new', 42, 'n')$$,
	'insert through the new version');
SELECT lives_ok($$INSERT INTO app_02_multi.projects (id, client_id) VALUES (1, 4), (2, 1)$$,
	'insert into the created table, referencing the renamed table');
SELECT throws_ok($$INSERT INTO app_02_multi.projects (id, client_id) VALUES (3, 99)$$, '23503', NULL,
	'the foreign key to the renamed table is enforced');
SELECT results_eq($$SELECT id, name, email, legacy FROM app_01_init.users ORDER BY id$$,
	$$VALUES (1, 'a', 'a@x', 'l1'), (2, 'b', 'b@x', NULL), (3, 'old', 'o@x', 'l3'), (4, 'new', NULL, NULL)$$,
	'the old version reads every row');
SELECT results_eq($$SELECT id, full_name, legacy, note, email FROM app_02_multi.clients ORDER BY id$$,
	$$VALUES (1, 'a', 'l1', NULL, NULL::int), (2, 'b', NULL, NULL, NULL), (3, 'old', 'l3', NULL, NULL), (4, 'new', NULL, 'n', 42)$$,
	'the new version reads every row');
SELECT results_eq($$SELECT id, client_id, budget FROM app_02_multi.projects ORDER BY id$$,
	$$VALUES (1, 4, 0::numeric), (2, 1, 0)$$, 'the created table reads back, with the added column''s default');

------------------------------------------------------------------------------
-- rollback
------------------------------------------------------------------------------
SELECT is(mig.rollback('app'), 'app_01_init', 'rollback');
SELECT is(pg_temp.tables('app'), ARRAY['teams', 'users']::name[],
	'rollback leaves only the original tables');
SELECT is(mig.read_schema('app'), (SELECT s FROM before), 'the base schema is exactly as before');
SELECT results_eq($$SELECT id, name, email, legacy FROM app_01_init.users ORDER BY id$$,
	$$VALUES (1, 'a', 'a@x', 'l1'), (2, 'b', 'b@x', NULL), (3, 'old', 'o@x', 'l3'), (4, 'new', NULL, NULL)$$,
	'no row written during the migration is lost');

------------------------------------------------------------------------------
-- start again and complete
------------------------------------------------------------------------------
SELECT is(mig.start('02_multi', (SELECT d FROM doc), 'app'), 'app_02_multi', 'start again');
SELECT lives_ok($$INSERT INTO app_02_multi.clients (id, full_name, email) VALUES (5, 'five', 5)$$,
	'insert through the new version');
SELECT lives_ok($$INSERT INTO app_02_multi.projects (id, client_id) VALUES (1, 5)$$,
	'insert into the created table');
SELECT is(mig.complete('app'), 'app_02_multi', 'complete');
SELECT is(pg_temp.tables('app'), ARRAY['clients', 'projects', 'teams']::name[],
	'the physical tables after complete');
SELECT is(pg_temp.cols('app.clients'), ARRAY['id', 'full_name', 'legacy', 'note', 'email']::name[],
	'the physical columns have their final names');
SELECT col_type_is('app', 'clients', 'email', 'integer', 'the re-added column has its new type');
SELECT is(pg_temp.cols('app.projects'), ARRAY['id', 'client_id', 'budget']::name[],
	'the created table has the added column under its final name');
SELECT is((SELECT confrelid::regclass::text FROM pg_constraint WHERE conname = 'projects_client_fk'), 'app.clients',
	'the foreign key references the renamed table');
SELECT hasnt_schema('app_01_init', 'the previous version schema is gone');
SELECT lives_ok($$INSERT INTO app_02_multi.clients (id, full_name, email, note) VALUES (6, 'six', 6, 's')$$,
	'the new version is writable after complete');
SELECT results_eq($$SELECT id, full_name, legacy, note, email FROM app_02_multi.clients ORDER BY id$$,
	$$VALUES (1, 'a', 'l1', NULL, NULL::int), (2, 'b', NULL, NULL, NULL), (3, 'old', 'l3', NULL, NULL),
	         (4, 'new', NULL, NULL, NULL), (5, 'five', NULL, NULL, 5), (6, 'six', NULL, 's', 6)$$,
	'the new version reads every row after complete');

------------------------------------------------------------------------------
-- drop_table then create_table with the same name in one migration
------------------------------------------------------------------------------
CREATE TEMP TABLE doc3 AS SELECT $j${"operations": [
	{"drop_table": {"name": "teams"}},
	{"create_table": {"name": "teams", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "name", "type": "text"},
		{"name": "size", "type": "integer", "default": "1"}]}}]}$j$::jsonb AS d;
SELECT is(mig.start('03_teams', (SELECT d FROM doc3), 'app'), 'app_03_teams',
	'drop_table and create_table of the same name start');
SELECT is(pg_temp.cols('app_03_teams.teams'), ARRAY['id', 'name', 'size']::name[],
	'the new version has the new table');
SELECT is(pg_temp.cols('app_02_multi.teams'), ARRAY['id', 'title']::name[],
	'the old version has the old table');
SELECT lives_ok($$INSERT INTO app_02_multi.teams VALUES (2, 'blue')$$, 'the old version writes the old table');
SELECT lives_ok($$INSERT INTO app_03_teams.teams (id, name) VALUES (1, 'new')$$, 'the new version writes the new table');
SELECT results_eq($$SELECT id, title FROM app_02_multi.teams ORDER BY id$$, $$VALUES (1, 'red'), (2, 'blue')$$,
	'the old table''s rows through the old version');
SELECT is(mig.rollback('app'), 'app_02_multi', 'rollback');
SELECT is(pg_temp.cols('app.teams'), ARRAY['id', 'title']::name[], 'rollback restores the old table under its name');
SELECT results_eq($$SELECT id, title FROM app.teams ORDER BY id$$, $$VALUES (1, 'red'), (2, 'blue')$$,
	'with every row');
SELECT is(mig.start('03_teams', (SELECT d FROM doc3), 'app'), 'app_03_teams', 'start again');
SELECT is(mig.complete('app'), 'app_03_teams', 'complete');
SELECT is(pg_temp.cols('app.teams'), ARRAY['id', 'name', 'size']::name[], 'only the new table is left');
SELECT hasnt_table('app', '_mig_del_teams', 'the old table is dropped');

------------------------------------------------------------------------------
-- a later operation that fails undoes the earlier ones
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT mig.start('04_bad', '{"operations": [
	{"rename_table": {"from": "clients", "to": "customers"}},
	{"add_column": {"table": "clients", "column": {"name": "x", "type": "int", "nullable": true}}}]}', 'app')$$,
	'42P01', NULL, 'an operation using a name an earlier operation renamed away fails');
SELECT throws_ok($$SELECT mig.start('04_bad', '{"operations": [
	{"create_table": {"name": "orders", "columns": [{"name": "id", "type": "int", "pk": true}]}},
	{"add_column": {"table": "clients", "column": {"name": "note", "type": "int", "nullable": true}}}]}', 'app')$$,
	'42701', NULL, 'a migration whose second operation fails is refused');
SELECT is(pg_temp.tables('app'), ARRAY['clients', 'projects', 'teams']::name[],
	'the failed migrations left no table behind');
SELECT is((SELECT migration FROM mig.status('app')), '03_teams', 'status unchanged by the failed migrations');


------------------------------------------------------------------------------
-- names freed and reused within one migration: a column swap, a dropped
-- column's name taken by a rename, a renamed column's name taken by
-- add_column, a table renamed twice
------------------------------------------------------------------------------
CREATE TEMP TABLE before5 AS SELECT mig.read_schema('app') AS s;
CREATE TEMP TABLE doc5 AS SELECT $j${"operations": [
	{"rename_column": {"table": "clients", "from": "full_name", "to": "tmp"}},
	{"rename_column": {"table": "clients", "from": "legacy", "to": "full_name"}},
	{"rename_column": {"table": "clients", "from": "tmp", "to": "legacy"}},
	{"drop_column": {"table": "clients", "column": "email"}},
	{"rename_column": {"table": "clients", "from": "note", "to": "email"}},
	{"add_column": {"table": "clients", "column": {"name": "note", "type": "text", "nullable": true}}},
	{"rename_table": {"from": "clients", "to": "customers"}},
	{"rename_table": {"from": "customers", "to": "people"}}]}$j$::jsonb AS d;
SELECT is(mig.start('05_reuse', (SELECT d FROM doc5), 'app'), 'app_05_reuse', 'a migration reusing freed names starts');
SELECT is(pg_temp.views('app_05_reuse'), ARRAY['people', 'projects', 'teams']::name[],
	'the table renamed twice has its last name');
SELECT is(pg_temp.cols('app_05_reuse.people'), ARRAY['id', 'legacy', 'full_name', 'email', 'note']::name[],
	'the new version''s columns');
SELECT col_type_is('app_05_reuse', 'people', 'email', 'text', '"email" is now the renamed text column');
SELECT lives_ok($$INSERT INTO app_03_teams.clients (id, full_name, legacy, note, email) VALUES (7, 'F7', 'L7', 'N7', 7)$$,
	'insert through the old version');
SELECT lives_ok($$INSERT INTO app_05_reuse.people (id, legacy, full_name, email, note) VALUES (8, 'F8', 'L8', 'N8', 'new8')$$,
	'insert through the new version');
SELECT results_eq($$SELECT id, legacy, full_name, email, note FROM app_05_reuse.people WHERE id IN (1, 7, 8) ORDER BY id$$,
	$$VALUES (1, 'a', 'l1', NULL, NULL), (7, 'F7', 'L7', 'N7', NULL), (8, 'F8', 'L8', 'N8', 'new8')$$,
	'the new version reads the swapped and renamed columns');
SELECT results_eq($$SELECT id, full_name, legacy, note, email FROM app_03_teams.clients WHERE id IN (1, 7, 8) ORDER BY id$$,
	$$VALUES (1, 'a', 'l1', NULL, NULL::int), (7, 'F7', 'L7', 'N7', 7), (8, 'F8', 'L8', 'N8', NULL)$$,
	'the old version reads the same rows under the old names');
SELECT is(mig.rollback('app'), 'app_03_teams', 'rollback');
SELECT is(mig.read_schema('app'), (SELECT s FROM before5), 'the base schema is exactly as before');
SELECT is(mig.start('05_reuse', (SELECT d FROM doc5), 'app'), 'app_05_reuse', 'start again');
SELECT is(mig.complete('app'), 'app_05_reuse', 'complete');
SELECT is(pg_temp.tables('app'), ARRAY['people', 'projects', 'teams']::name[], 'the table has its last name');
SELECT is(pg_temp.cols('app.people'), ARRAY['id', 'legacy', 'full_name', 'email', 'note']::name[],
	'the physical columns have their final names');
SELECT results_eq($$SELECT id, legacy, full_name, email FROM app.people WHERE id IN (1, 7, 8) ORDER BY id$$,
	$$VALUES (1, 'a', 'l1', NULL), (7, 'F7', 'L7', 'N7'), (8, 'F8', 'L8', 'N8')$$,
	'the swapped columns hold the right values after complete');
SELECT lives_ok($$INSERT INTO app_05_reuse.people (id, legacy, full_name, email, note) VALUES (9, 'F9', 'L9', 'N9', 'new9')$$,
	'the new version is writable after complete');

------------------------------------------------------------------------------
-- a check on an added column naming another column by the name an earlier
-- operation of the same migration gave it
------------------------------------------------------------------------------
SELECT lives_ok($$SELECT mig.start('06_check', '{"operations": [
	{"rename_column": {"table": "people", "from": "full_name", "to": "surname"}},
	{"add_column": {"table": "people", "column": {"name": "age", "type": "int", "nullable": true,
		"check": {"name": "people_age_check", "constraint": "age < length(surname) + 100"}}}}]}', 'app')$$,
	'a check on an added column may use a column''s new name from an earlier rename_column');
SELECT lives_ok($$INSERT INTO app_06_check.people (id, legacy, surname, age) VALUES (10, 'x', 'abc', 5)$$,
	'a row satisfying that check is accepted through the new version');
SELECT throws_ok($$INSERT INTO app_06_check.people (id, legacy, surname, age) VALUES (11, 'x', 'abc', 200)$$,
	'23514', NULL, 'a row violating that check is refused through the new version');
SELECT lives_ok($$SELECT mig.rollback('app')$$, 'rollback');

SELECT * FROM finish();
ROLLBACK;
