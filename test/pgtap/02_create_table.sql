-- create_table: every column feature and table constraint, enforced through
-- the new version's views; rollback drops the tables; complete keeps them.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(75);

CREATE SCHEMA app;

CREATE FUNCTION pg_temp.col_default(rel regclass, col name) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a
	JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	WHERE a.attrelid = rel AND a.attname = col
$$;
-- tables of a schema
CREATE FUNCTION pg_temp.tables(nsp text) RETURNS name[] LANGUAGE sql STABLE AS $$
	SELECT coalesce(array_agg(relname ORDER BY relname), '{}') FROM pg_class
	WHERE relnamespace = nsp::regnamespace AND relkind IN ('r', 'p')
$$;

CREATE TABLE pg_temp.doc (doc jsonb);
INSERT INTO pg_temp.doc VALUES ($j${"operations": [
	{"create_table": {"name": "users", "comment": "User accounts", "columns": [
		{"name": "id", "type": "integer", "pk": true,
		 "generated": {"identity": {"user_specified_values": "BY DEFAULT"}}},
		{"name": "email", "type": "text", "unique": true},
		{"name": "name", "type": "text", "nullable": true, "default": "'anon'", "comment": "Display name"},
		{"name": "age", "type": "integer", "nullable": true,
		 "check": {"name": "users_age_check", "constraint": "age >= 0"}},
		{"name": "manager_id", "type": "integer", "nullable": true,
		 "references": {"name": "users_manager_fk", "table": "users", "column": "id"}}]}},
	{"create_table": {"name": "teams", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "name", "type": "text"}]}},
	{"create_table": {"name": "memberships", "columns": [
		{"name": "user_id", "type": "integer", "pk": true,
		 "references": {"name": "memberships_user_fk", "table": "users", "column": "id", "on_delete": "CASCADE"}},
		{"name": "team_id", "type": "integer", "pk": true,
		 "references": {"name": "memberships_team_fk", "table": "teams", "column": "id"}},
		{"name": "role", "type": "text", "default": "'member'"}]}},
	{"create_table": {"name": "products", "columns": [
		{"name": "id", "type": "integer"},
		{"name": "sku", "type": "text"},
		{"name": "price", "type": "numeric"},
		{"name": "price_with_tax", "type": "numeric", "generated": {"expression": "price * 1.2"}},
		{"name": "owner_id", "type": "integer", "nullable": true}],
	 "constraints": [
		{"name": "products_pk", "type": "primary_key", "columns": ["id"]},
		{"name": "products_sku_key", "type": "unique", "columns": ["sku"]},
		{"name": "price_positive", "type": "check", "check": "price > 0"},
		{"name": "products_owner_fk", "type": "foreign_key", "columns": ["owner_id"],
		 "references": {"table": "users", "columns": ["id"], "on_delete": "SET NULL"}}]}},
	{"create_table": {"name": "bookings", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "during", "type": "tsrange"}],
	 "constraints": [
		{"name": "bookings_no_overlap", "type": "exclude",
		 "exclude": {"index_method": "gist", "elements": "during WITH &&"}}]}},
	{"create_table": {"name": "library", "columns": [
		{"name": "id", "type": "serial"},
		{"name": "title", "type": "text", "nullable": true}],
	 "constraints": [
		{"name": "library_pk", "type": "primary_key", "columns": ["id"]},
		{"name": "forbid_duplicated_titles", "type": "exclude",
		 "exclude": {"index_method": "btree", "elements": "title WITH =", "predicate": "title IS NOT NULL"}}]}}
]}$j$);

------------------------------------------------------------------------------
-- start
------------------------------------------------------------------------------
SELECT is(mig.start('01_tables', (SELECT doc FROM pg_temp.doc), 'app'), 'app_01_tables',
	'create_table migration starts');
SELECT is(pg_temp.tables('app'),
	ARRAY['bookings', 'library', 'memberships', 'products', 'teams', 'users']::name[],
	'the tables exist in the base schema right after start');
SELECT has_view('app_01_tables', 'users', 'view users in the new version');
SELECT has_view('app_01_tables', 'teams', 'view teams in the new version');
SELECT has_view('app_01_tables', 'memberships', 'view memberships in the new version');
SELECT has_view('app_01_tables', 'products', 'view products in the new version');
SELECT has_view('app_01_tables', 'bookings', 'view bookings in the new version');
SELECT has_view('app_01_tables', 'library', 'view library in the new version');

-- column properties
SELECT col_not_null('app', 'teams', 'name', 'a column is NOT NULL unless "nullable": true');
SELECT col_is_null('app', 'users', 'name', '"nullable": true makes the column nullable');
SELECT col_type_is('app', 'users', 'age', 'integer', 'column type');
SELECT col_type_is('app_01_tables', 'bookings', 'during', 'tsrange', 'view column type');
SELECT col_is_pk('app', 'users', 'id', 'pk column');
SELECT col_is_pk('app', 'memberships', ARRAY['user_id', 'team_id'], 'several pk columns make a composite primary key');
SELECT col_is_pk('app', 'products', 'id', 'table primary_key constraint');
SELECT is((SELECT conname::text FROM pg_constraint WHERE conrelid = 'app.products'::regclass AND contype = 'p'),
	'products_pk', 'the primary key constraint has the given name');
SELECT is((SELECT attidentity::text FROM pg_attribute WHERE attrelid = 'app.users'::regclass AND attname = 'id'),
	'd', 'identity BY DEFAULT column');
SELECT is((SELECT attgenerated::text FROM pg_attribute WHERE attrelid = 'app.products'::regclass AND attname = 'price_with_tax'),
	's', 'generated stored column');
SELECT is(obj_description('app.users'::regclass, 'pg_class'), 'User accounts', 'table comment');
SELECT is(col_description('app.users'::regclass,
	(SELECT attnum FROM pg_attribute WHERE attrelid = 'app.users'::regclass AND attname = 'name')),
	'Display name', 'column comment');
SELECT is(pg_temp.col_default('app.users', 'name'), '''anon''::text', 'column default on the table');
SELECT is(pg_temp.col_default('app_01_tables.users', 'name'), '''anon''::text',
	'column default carried to the new version view');
SELECT is(pg_temp.col_default('app_01_tables.memberships', 'role'), '''member''::text',
	'column default carried to the view of a table with a composite key');

-- users: identity, unique, check, NOT NULL, self-reference
SELECT lives_ok($$INSERT INTO app_01_tables.users (email, name, age) VALUES ('a@x', 'Ann', 30)$$,
	'insert through the view, identity generates the key');
SELECT lives_ok($$INSERT INTO app_01_tables.users (id, email, manager_id) VALUES (10, 'b@x', 1)$$,
	'identity BY DEFAULT accepts an explicit value; self-referencing foreign key satisfied');
SELECT results_eq($$SELECT id, email, name, age, manager_id FROM app_01_tables.users ORDER BY id$$,
	$$VALUES (1, 'a@x', 'Ann', 30, NULL::int), (10, 'b@x', 'anon', NULL, 1)$$,
	'rows read back through the view, with defaults');
SELECT throws_ok($$INSERT INTO app_01_tables.users (email) VALUES ('a@x')$$, '23505',
	NULL, 'column unique is enforced');
SELECT throws_ok($$INSERT INTO app_01_tables.users (email, age) VALUES ('c@x', -1)$$, '23514',
	NULL, 'column check is enforced');
SELECT throws_ok($$INSERT INTO app_01_tables.users (name) VALUES ('no email')$$, '23502',
	NULL, 'NOT NULL is enforced');
SELECT throws_ok($$INSERT INTO app_01_tables.users (email, manager_id) VALUES ('d@x', 999)$$, '23503',
	NULL, 'self-referencing foreign key is enforced');
SELECT is((SELECT conname::text FROM pg_constraint WHERE conrelid = 'app.users'::regclass AND contype = 'c'),
	'users_age_check', 'column check has the given name');

-- memberships: composite key, column FKs with ON DELETE CASCADE / NO ACTION
SELECT lives_ok($$INSERT INTO app_01_tables.teams VALUES (1, 'red'), (2, 'blue')$$, 'insert teams');
SELECT lives_ok($$INSERT INTO app_01_tables.memberships (user_id, team_id) VALUES (1, 1), (1, 2), (10, 1)$$,
	'insert memberships');
SELECT throws_ok($$INSERT INTO app_01_tables.memberships (user_id, team_id) VALUES (1, 1)$$, '23505',
	NULL, 'composite primary key is enforced');
SELECT throws_ok($$INSERT INTO app_01_tables.memberships (user_id, team_id) VALUES (99, 1)$$, '23503',
	NULL, 'column foreign key is enforced');
SELECT throws_ok($$DELETE FROM app_01_tables.teams WHERE id = 2$$, '23503',
	NULL, 'foreign key without on_delete is NO ACTION');
SELECT lives_ok($$UPDATE app_01_tables.users SET manager_id = NULL WHERE id = 10$$,
	'update through the view');
SELECT lives_ok($$DELETE FROM app_01_tables.users WHERE id = 1$$,
	'delete a user referenced by memberships');
SELECT results_eq($$SELECT user_id, team_id, role FROM app_01_tables.memberships ORDER BY 1, 2$$,
	$$VALUES (10, 1, 'member')$$,
	'ON DELETE CASCADE removed the deleted user''s memberships; default applied');

-- products: table constraints and generated column
SELECT lives_ok($$INSERT INTO app_01_tables.products (id, sku, price, owner_id) VALUES (1, 'A', 10, 10)$$,
	'insert a product');
SELECT results_eq($$SELECT id, sku, price, price_with_tax FROM app_01_tables.products$$,
	$$VALUES (1, 'A', 10::numeric, 12.0::numeric)$$, 'generated column is computed and readable through the view');
SELECT throws_ok($$INSERT INTO app_01_tables.products (id, sku, price) VALUES (1, 'B', 5)$$, '23505',
	NULL, 'table primary_key constraint is enforced');
SELECT throws_ok($$INSERT INTO app_01_tables.products (id, sku, price) VALUES (2, 'A', 5)$$, '23505',
	NULL, 'table unique constraint is enforced');
SELECT throws_ok($$INSERT INTO app_01_tables.products (id, sku, price) VALUES (2, 'B', 0)$$, '23514',
	NULL, 'table check constraint is enforced');
SELECT throws_ok($$INSERT INTO app_01_tables.products (id, sku, price, owner_id) VALUES (2, 'B', 5, 99)$$, '23503',
	NULL, 'table foreign_key constraint is enforced');
SELECT throws_ok($$INSERT INTO app_01_tables.products (id, sku, price, price_with_tax) VALUES (2, 'B', 5, 6)$$, '428C9',
	NULL, 'a generated column cannot be written');
SELECT lives_ok($$DELETE FROM app_01_tables.users WHERE id = 10$$, 'delete the product''s owner');
SELECT results_eq($$SELECT id, owner_id FROM app_01_tables.products$$,
	$$VALUES (1, NULL::int)$$, 'table foreign key ON DELETE SET NULL');

-- exclusion constraints
SELECT lives_ok($$INSERT INTO app_01_tables.bookings VALUES (1, '[2024-01-01 10:00, 2024-01-01 12:00)')$$,
	'insert a booking');
SELECT throws_ok($$INSERT INTO app_01_tables.bookings VALUES (2, '[2024-01-01 11:00, 2024-01-01 13:00)')$$,
	'23P01', NULL, 'gist exclusion constraint is enforced');
SELECT lives_ok($$INSERT INTO app_01_tables.bookings VALUES (3, '[2024-01-01 12:00, 2024-01-01 13:00)')$$,
	'a booking that does not overlap is accepted');
SELECT lives_ok($$INSERT INTO app_01_tables.library (title) VALUES ('Dune'), (NULL), (NULL)$$,
	'insert books, serial column gets its values, NULL titles are outside the exclusion predicate');
SELECT throws_ok($$INSERT INTO app_01_tables.library (title) VALUES ('Dune')$$,
	'23P01', NULL, 'btree exclusion constraint with a predicate is enforced');
SELECT results_eq($$SELECT id, title FROM app_01_tables.library ORDER BY id$$,
	$$VALUES (1, 'Dune'), (2, NULL), (3, NULL)$$, 'serial column filled through the view');

SELECT throws_ok($$SELECT mig.start('01_again', '{"operations": [{"create_table": {"name": "teams", "columns": [{"name": "id", "type": "int"}]}}]}', 'app')$$,
	'55000', NULL, 'no second migration while one is in progress');

------------------------------------------------------------------------------
-- rollback drops the tables
------------------------------------------------------------------------------
SELECT is(mig.rollback('app'), 'app', 'rollback');
SELECT is(pg_temp.tables('app'), '{}'::name[], 'rollback drops every created table');
SELECT hasnt_schema('app_01_tables', 'rollback drops the version schema');
SELECT is((SELECT count(*)::int FROM pg_class WHERE relnamespace = 'app'::regnamespace), 0,
	'no sequence, index or other relation is left in the base schema');
SELECT is((SELECT status FROM mig.status('app')), 'No migrations', 'status after rollback');

------------------------------------------------------------------------------
-- start again and complete
------------------------------------------------------------------------------
SELECT is(mig.start('01_tables', (SELECT doc FROM pg_temp.doc), 'app'), 'app_01_tables',
	'start again');
SELECT is(mig.complete('app'), 'app_01_tables', 'complete');
SELECT is(pg_temp.tables('app'),
	ARRAY['bookings', 'library', 'memberships', 'products', 'teams', 'users']::name[],
	'the tables exist after complete');
SELECT results_eq(
	$$SELECT conrelid::regclass::text, conname::text COLLATE "default", contype::text, convalidated FROM pg_constraint
	  WHERE connamespace = 'app'::regnamespace AND contype <> 'n' ORDER BY 1, 2$$,	-- NOT NULL: a constraint from 18 on
	$$VALUES ('app.bookings', 'bookings_no_overlap', 'x', true),
	         ('app.bookings', 'bookings_pkey', 'p', true),
	         ('app.library', 'forbid_duplicated_titles', 'x', true),
	         ('app.library', 'library_pk', 'p', true),
	         ('app.memberships', 'memberships_pkey', 'p', true),
	         ('app.memberships', 'memberships_team_fk', 'f', true),
	         ('app.memberships', 'memberships_user_fk', 'f', true),
	         ('app.products', 'price_positive', 'c', true),
	         ('app.products', 'products_owner_fk', 'f', true),
	         ('app.products', 'products_pk', 'p', true),
	         ('app.products', 'products_sku_key', 'u', true),
	         ('app.teams', 'teams_pkey', 'p', true),
	         ('app.users', 'users_age_check', 'c', true),
	         ('app.users', 'users_email_key', 'u', true),
	         ('app.users', 'users_manager_fk', 'f', true),
	         ('app.users', 'users_pkey', 'p', true)$$,
	'every constraint exists, with its name, and is validated');
SELECT is((SELECT confdeltype::text FROM pg_constraint WHERE conname = 'memberships_user_fk'), 'c',
	'on_delete CASCADE recorded');
SELECT is((SELECT status FROM mig.status('app')), 'Complete', 'status after complete');
SELECT lives_ok($$INSERT INTO app_01_tables.users (email) VALUES ('z@x')$$,
	'the version view is writable after complete');
SELECT results_eq($$SELECT id, email, name FROM app_01_tables.users$$,
	$$VALUES (1, 'z@x', 'anon')$$, 'the version view is readable after complete');
SELECT is(obj_description('app.users'::regclass, 'pg_class'), 'User accounts', 'table comment after complete');
SELECT throws_ok($$INSERT INTO app_01_tables.users (email, age) VALUES ('y@x', -5)$$, '23514',
	NULL, 'check still enforced after complete');

------------------------------------------------------------------------------
-- validation against the schema
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT mig.start('02_dup', '{"operations": [{"create_table": {"name": "teams", "columns": [{"name": "id", "type": "int"}]}}]}', 'app')$$,
	'42P07', NULL, 'create_table of an existing table fails');
SELECT throws_ok($$SELECT mig.start('02_badref', '{"operations": [{"create_table": {"name": "t2", "columns": [{"name": "x", "type": "int", "references": {"name": "t2_x_fk", "table": "nope", "column": "id"}}]}}]}', 'app')$$,
	'42P01', NULL, 'a foreign key to a missing table fails');
SELECT throws_ok($$SELECT mig.start('02_badtype', '{"operations": [{"create_table": {"name": "t3", "columns": [{"name": "x", "type": "no_such_type"}]}}]}', 'app')$$,
	'42704', NULL, 'an unknown type fails');
SELECT hasnt_table('app', 't3', 'failed create_table leaves no table');
SELECT is((SELECT migration FROM mig.status('app')), '01_tables', 'failed migrations leave the status unchanged');

SELECT * FROM finish();
ROLLBACK;
