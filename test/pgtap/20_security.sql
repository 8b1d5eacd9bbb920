-- Issue 5: least privilege, views that keep the table's security, and state
-- tables that only the extension's functions write.
--
-- Roles: mig_t20_owner owns the tables (not a superuser; CREATE on the
-- database and on schema shop, as the README's grants say);
-- mig_t20_intruder has every privilege on the tables and CREATE on the
-- schema but does not own them; mig_t20_reader and mig_t20_none are
-- application roles.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(80);

CREATE ROLE mig_t20_owner LOGIN;
CREATE ROLE mig_t20_intruder;
CREATE ROLE mig_t20_reader;
CREATE ROLE mig_t20_none;
CREATE SCHEMA shop;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO mig_t20_owner, mig_t20_intruder', current_database()); END $$;
GRANT USAGE, CREATE ON SCHEMA shop TO mig_t20_owner, mig_t20_intruder;
GRANT USAGE ON SCHEMA shop TO mig_t20_reader;

\ir lib/as_role.psql

-- everything a migration could change in schema shop, as text
CREATE FUNCTION pg_temp.shop_digest() RETURNS text LANGUAGE sql AS $$
	SELECT string_agg(line, E'\n' ORDER BY line) FROM (
		SELECT format('rel %s %s %s', n.nspname, c.relname, c.relkind) AS line
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname LIKE 'shop%'
		UNION ALL
		SELECT format('col %s.%s %s %s', c.relname, a.attname,
			format_type(a.atttypid, a.atttypmod), a.attnotnull)
		FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
		WHERE c.relnamespace = 'shop'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
		UNION ALL
		SELECT format('con %s %s', conname, pg_get_constraintdef(oid))
		FROM pg_constraint WHERE connamespace = 'shop'::regnamespace
		UNION ALL
		SELECT format('trg %s %s', tgname, tgrelid::regclass)
		FROM pg_trigger WHERE tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'shop'::regnamespace)
		UNION ALL
		SELECT format('replident %s %s', relname, relreplident)
		FROM pg_class WHERE relnamespace = 'shop'::regnamespace AND relkind = 'r'
		UNION ALL
		SELECT format('mig %s %s', name, status) FROM mig.migrations WHERE schema = 'shop'
		UNION ALL
		SELECT format('job %s %s', migration, kind) FROM mig.job_queue WHERE schema = 'shop'
	) s
$$;

------------------------------------------------------------------------------
-- 1. The owner of a table, not a superuser, runs every kind of operation on
--    it; the migrations are recorded as started by that role (the role the
--    background worker connects as), not by the extension's owner.
------------------------------------------------------------------------------
SELECT is(pg_temp.as_role('mig_t20_owner', $q$SELECT mig.start('01_init', '{"operations": [
	{"create_table": {"name": "customers", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "name", "type": "text", "nullable": true},
		{"name": "tenant", "type": "name", "nullable": true}]}},
	{"create_table": {"name": "orders", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "customer", "type": "integer", "nullable": true},
		{"name": "qty", "type": "integer", "nullable": true}]}}]}', 'shop')$q$),
	'shop_01_init', 'the owner creates tables');
SELECT is(pg_temp.as_role('mig_t20_owner', $q$SELECT mig.complete('shop')$q$), 'shop_01_init', 'and completes');
SELECT is(pg_temp.as_role('mig_t20_owner', $q$INSERT INTO shop.customers VALUES (1, 'a', 'mig_t20_reader'), (2, 'b', 'mig_t20_none'), (3, 'c', 'mig_t20_reader') RETURNING 'ok'$q$),
	'ok', 'the owner writes its tables');
SELECT is(pg_temp.as_role('mig_t20_owner', $q$INSERT INTO shop.orders VALUES (1, 1, 5), (2, 2, 6) RETURNING 'ok'$q$),
	'ok', 'the owner writes its tables');

CREATE TEMP TABLE owner_migrations (n int, name text, doc jsonb);
GRANT SELECT ON owner_migrations TO mig_t20_owner;
INSERT INTO owner_migrations VALUES
	(1, '02_add_column', '{"operations": [{"add_column": {"table": "orders", "up": "qty * 10",
		"column": {"name": "cents", "type": "bigint", "nullable": false, "check": {"name": "cents_positive", "constraint": "cents >= 0"}}}}]}'),
	(2, '03_alter_column', '{"operations": [{"alter_column": {"table": "orders", "column": "qty", "type": "bigint",
		"nullable": false, "up": "coalesce(qty, 0)", "down": "qty"}}]}'),
	(3, '04_create_constraint', '{"operations": [
		{"create_constraint": {"table": "orders", "type": "foreign_key", "name": "orders_customer_fk", "columns": ["customer"],
			"references": {"table": "customers", "columns": ["id"]}, "up": {"customer": "customer"}, "down": {"customer": "customer"}}},
		{"create_constraint": {"table": "customers", "type": "unique", "name": "customers_name_key", "columns": ["name"],
			"up": {"name": "name"}, "down": {"name": "name"}}}]}'),
	(4, '05_create_index', '{"operations": [{"create_index": {"table": "orders", "name": "orders_qty_idx", "columns": [{"column": "qty"}]}}]}'),
	(5, '06_rename', '{"operations": [
		{"rename_column": {"table": "orders", "from": "cents", "to": "amount"}},
		{"rename_constraint": {"table": "orders", "from": "cents_positive", "to": "amount_positive"}},
		{"rename_table": {"from": "orders", "to": "purchases"}}]}'),
	(6, '07_drop_constraint', '{"operations": [{"drop_constraint": {"table": "purchases", "name": "amount_positive", "up": "amount", "down": "amount"}}]}'),
	(7, '08_drop_index', '{"operations": [{"drop_index": {"name": "orders_qty_idx"}}]}'),
	(8, '09_replica_identity', '{"operations": [{"set_replica_identity": {"table": "purchases", "identity": {"type": "full"}}}]}'),
	(9, '10_drop_column', '{"operations": [{"drop_column": {"table": "purchases", "column": "amount", "down": "0"}}]}'),
	(10, '11_sql', '{"operations": [{"sql": {"up": "CREATE TABLE shop.notes (id integer)", "down": "DROP TABLE shop.notes"}}]}'),
	(11, '12_drop_table', '{"operations": [{"drop_table": {"name": "notes"}}]}');

-- each migration: started, rolled back, started again and completed by the owner
CREATE FUNCTION pg_temp.owner_runs(n int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	m record;
BEGIN
	SELECT * INTO m FROM owner_migrations o WHERE o.n = owner_runs.n;
	RETURN pg_temp.as_role('mig_t20_owner', format(
		$f$SELECT mig.start(%L, %L, 'shop') || ' ' || mig.rollback('shop') || ' '
			|| mig.start(%L, %L, 'shop') || ' ' || mig.complete('shop')$f$,
		m.name, m.doc, m.name, m.doc));
END
$$;
SELECT is(pg_temp.owner_runs(n), format('shop_%s shop_%s shop_%s shop_%s', name,
		coalesce((SELECT p.name FROM owner_migrations p WHERE p.n = o.n - 1), '01_init'), name, name),
	format('the owner starts, rolls back, starts and completes %s', name))
FROM owner_migrations o ORDER BY n;
SELECT set_eq($$SELECT DISTINCT started_by::text FROM mig.migrations WHERE schema = 'shop'$$,
	ARRAY['mig_t20_owner'], 'every migration is recorded as started by the owner');
SELECT is((SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod), ',' ORDER BY attname)
		FROM pg_attribute a WHERE attrelid = 'shop.purchases'::regclass AND attnum > 0 AND NOT attisdropped),
	'customer:integer,id:integer,qty:bigint', 'the owner''s migrations left the expected table');
SELECT is((SELECT relreplident::text FROM pg_class WHERE oid = 'shop.purchases'::regclass), 'f',
	'and the replica identity');
SELECT is((SELECT count(*)::int FROM pg_constraint WHERE conname IN ('orders_customer_fk', 'customers_name_key')), 2,
	'and the constraints');

------------------------------------------------------------------------------
-- 2. A role that could not alter a table by hand cannot migrate it: every
--    operation on a table it does not own fails with 42501, even with every
--    privilege on the table and CREATE on the schema, and nothing changes.
------------------------------------------------------------------------------
GRANT ALL ON ALL TABLES IN SCHEMA shop TO mig_t20_intruder;
CREATE TEMP TABLE before AS SELECT pg_temp.shop_digest() AS d;
CREATE TEMP TABLE intruder_ops (op text, doc jsonb);
GRANT SELECT ON intruder_ops TO mig_t20_intruder;
INSERT INTO intruder_ops VALUES
	('add_column', '{"operations": [{"add_column": {"table": "purchases", "column": {"name": "x", "type": "integer", "nullable": true}}}]}'),
	('alter_column', '{"operations": [{"alter_column": {"table": "purchases", "column": "qty", "type": "numeric", "up": "qty", "down": "qty"}}]}'),
	('drop_column', '{"operations": [{"drop_column": {"table": "purchases", "column": "qty"}}]}'),
	('rename_column', '{"operations": [{"rename_column": {"table": "purchases", "from": "qty", "to": "q"}}]}'),
	('rename_table', '{"operations": [{"rename_table": {"from": "purchases", "to": "p"}}]}'),
	('drop_table', '{"operations": [{"drop_table": {"name": "purchases"}}]}'),
	('create_constraint', '{"operations": [{"create_constraint": {"table": "purchases", "type": "check", "name": "c", "columns": ["qty"], "check": "qty > 0", "up": {"qty": "qty"}, "down": {"qty": "qty"}}}]}'),
	('drop_constraint', '{"operations": [{"drop_constraint": {"table": "purchases", "name": "orders_customer_fk", "up": "customer", "down": "customer"}}]}'),
	('rename_constraint', '{"operations": [{"rename_constraint": {"table": "purchases", "from": "orders_customer_fk", "to": "fk"}}]}'),
	('create_index', '{"operations": [{"create_index": {"table": "purchases", "name": "i", "columns": [{"column": "qty"}]}}]}'),
	('drop_index', '{"operations": [{"drop_index": {"name": "customers_name_key"}}]}'),
	('set_replica_identity', '{"operations": [{"set_replica_identity": {"table": "purchases", "identity": {"type": "default"}}}]}'),
	('sql', '{"operations": [{"sql": {"up": "ALTER TABLE shop.purchases ADD COLUMN y integer"}}]}');
SELECT is(pg_temp.as_role('mig_t20_intruder', format($f$SELECT mig.start('20_intrude', %L, 'shop')$f$, doc)),
	'ERROR 42501', format('%s on a table the role does not own fails with 42501', op))
FROM intruder_ops ORDER BY op;
SELECT is(pg_temp.shop_digest(), (SELECT d FROM before), 'the refused migrations changed nothing');
SELECT throws_ok($$SET LOCAL ROLE mig_t20_intruder; SELECT mig.start('20_intrude', '{"operations": [{"rename_table": {"from": "purchases", "to": "p"}}]}', 'shop')$$,
	'42501', 'permission denied to migrate table "purchases"', 'the error names the table');
RESET ROLE;

------------------------------------------------------------------------------
-- 3. Only the migration's role (or one that may migrate the schema) controls
--    its jobs.
------------------------------------------------------------------------------
SELECT is(pg_temp.as_role('mig_t20_owner', $q$SELECT mig.start('13_type', '{"operations": [{"alter_column": {"table": "purchases", "column": "qty", "type": "numeric", "up": "qty", "down": "qty"}}]}', 'shop')$q$),
	'shop_13_type', 'the owner starts a migration with a backfill');
SELECT is(pg_temp.as_role('mig_t20_reader', $q$SELECT mig.resume('shop')$q$), 'ERROR 42501', 'another role cannot resume its jobs');
SELECT is(pg_temp.as_role('mig_t20_reader', $q$SELECT mig.pause('shop')$q$), 'ERROR 42501', 'or pause them');
SELECT is(pg_temp.as_role('mig_t20_reader', $q$SELECT mig.complete('shop')$q$), 'ERROR 42501', 'or complete the migration');
SELECT is(pg_temp.as_role('mig_t20_reader', $q$SELECT mig.rollback('shop')$q$), 'ERROR 42501', 'or roll it back');
SELECT is(pg_temp.as_role('mig_t20_reader', $q$SELECT string_agg(DISTINCT kind, ',' ORDER BY kind) FROM mig.jobs WHERE schema = 'shop'$q$), 'backfill,validate',
	'anyone may read the jobs');

------------------------------------------------------------------------------
-- 4. The state tables change only through the extension's functions: no
--    role but their owner writes them directly, not even the owner of the
--    migrated tables.
------------------------------------------------------------------------------
SELECT is(pg_temp.as_role(r, format('%s RETURNING ''written''', q)), 'ERROR 42501',
	format('%s cannot %s %s', r, split_part(q, ' ', 1), (regexp_match(q, 'mig\.\w+'))[1]))
FROM unnest(ARRAY['mig_t20_owner', 'mig_t20_reader']) r,
	unnest(ARRAY[
		$q$INSERT INTO mig.migrations (schema, name, migration, started_by) VALUES ('shop', 'x', '{}', 'postgres')$q$,
		$q$UPDATE mig.migrations SET status = 'complete' WHERE schema = 'shop'$q$,
		$q$DELETE FROM mig.migrations WHERE schema = 'shop'$q$,
		$q$UPDATE mig.job_queue SET state = 'done' WHERE schema = 'shop'$q$,
		$q$DELETE FROM mig.steps WHERE schema = 'shop'$q$,
		$q$UPDATE mig.dual_writes SET rules = '[]' WHERE schema = 'shop'$q$]) q;
SELECT is(pg_temp.as_role('mig_t20_owner', $q$TRUNCATE mig.job_queue$q$), 'ERROR 42501', 'nor truncate them');
SELECT is(pg_temp.as_role('mig_t20_owner', $q$SELECT mig.dual_write()::text$q$), 'ERROR 39P01',
	'the trigger function cannot be called directly');
SELECT is((SELECT string_agg(DISTINCT privilege_type, ',' ORDER BY privilege_type)
		FROM information_schema.role_table_grants WHERE table_schema = 'mig' AND grantee = 'PUBLIC'),
	'SELECT', 'PUBLIC may only read the state tables and views');
SELECT is(pg_temp.as_role('mig_t20_owner', $q$SELECT mig.rollback('shop')$q$), 'shop_12_drop_table', 'the owner rolls back');

------------------------------------------------------------------------------
-- 5. Version views keep the table's security: they are security_invoker,
--    grant nothing of their own (the table's grants and policies decide,
--    also those made after the views), and row level security holds
--    through both versions.
------------------------------------------------------------------------------
GRANT SELECT ON shop.customers TO mig_t20_reader;
GRANT SELECT (id) ON shop.purchases TO mig_t20_reader;
ALTER TABLE shop.customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON shop.customers USING (tenant = current_user) WITH CHECK (tenant = current_user);
GRANT INSERT ON shop.customers TO mig_t20_reader;
SELECT is(pg_temp.as_role('mig_t20_owner', $q$SELECT mig.start('13_rls', '{"operations": [{"alter_column": {"table": "customers", "column": "name", "type": "varchar(10)", "up": "upper(name)", "down": "lower(name)"}}]}', 'shop')$q$),
	'shop_13_rls', 'start a migration of the table with row level security');
-- the new version shows the table's rows once the backfill has written them
CALL mig.backfill('shop');
SELECT is((SELECT count(*)::int FROM pg_class c WHERE c.relnamespace = 'shop_13_rls'::regnamespace
		AND c.relkind = 'v' AND c.reloptions @> ARRAY['security_invoker=true']), 2,
	'the views are security_invoker');
SELECT is((SELECT array_agg(DISTINCT format('%s %s', g.grantee::regrole, g.privilege_type) ORDER BY format('%s %s', g.grantee::regrole, g.privilege_type))
		FROM pg_class c, aclexplode(c.relacl) g
		WHERE c.relnamespace = 'shop_13_rls'::regnamespace AND g.grantee <> c.relowner),
	ARRAY['- DELETE', '- INSERT', '- SELECT', '- UPDATE'],
	'the views grant nothing of their own: the four statements a view serves, checked against the table');
SELECT is(pg_temp.as_role('mig_t20_reader', format($q$SELECT string_agg(id::text, ',' ORDER BY id) FROM %s.customers$q$, v)),
	'1,3', format('row level security holds through %s', v))
FROM unnest(ARRAY['shop', 'shop_12_drop_table', 'shop_13_rls']) v;
SELECT is(pg_temp.as_role('mig_t20_reader', $q$INSERT INTO shop_13_rls.customers (id, name, tenant) VALUES (4, 'd', 'mig_t20_none') RETURNING 'inserted'$q$),
	'ERROR 42501', 'the policy''s check refuses a row of another tenant through the new version');
SELECT is(pg_temp.as_role('mig_t20_reader', $q$INSERT INTO shop_12_drop_table.customers (id, name, tenant) VALUES (4, 'd', 'mig_t20_none') RETURNING 'inserted'$q$),
	'ERROR 42501', 'and through the old version');
SELECT is(pg_temp.as_role('mig_t20_reader', $q$INSERT INTO shop_12_drop_table.customers (id, name, tenant) VALUES (5, 'e', 'mig_t20_reader') RETURNING 'inserted'$q$),
	'inserted', 'a row of its own goes in through the old version');
SELECT is(pg_temp.as_role('mig_t20_reader', $q$SELECT string_agg(id || '=' || name, ',' ORDER BY id) FROM shop_13_rls.customers WHERE id = 5$q$),
	'5=E', 'the reader reads it, converted by up, through the new version');
SELECT is(pg_temp.as_role('mig_t20_reader', $q$UPDATE shop_13_rls.customers SET name = 'f' RETURNING 'updated'$q$),
	'ERROR 42501', 'the reader cannot update through a view: it has no UPDATE on the table');
SELECT is(pg_temp.as_role('mig_t20_none', format($q$SELECT count(*)::text FROM %s.customers$q$, v)),
	'ERROR 42501', format('a role without SELECT on the table cannot read it through %s', v))
FROM unnest(ARRAY['shop', 'shop_12_drop_table', 'shop_13_rls']) v;
-- PostgreSQL checks every table column a view names, whichever the query
-- reads: a column grant opens the table, not the views (README).
SELECT is(pg_temp.as_role('mig_t20_reader', $q$SELECT string_agg(id::text, ',') FROM shop.purchases$q$),
	'1,2', 'a column grant opens that column of the table');
SELECT is(pg_temp.as_role('mig_t20_reader', format($q$SELECT string_agg(qty::text, ',') FROM %s.purchases$q$, v)),
	'ERROR 42501', format('and no other column, through %s either', v))
FROM unnest(ARRAY['shop', 'shop_12_drop_table', 'shop_13_rls']) v;
GRANT SELECT ON shop.purchases TO mig_t20_none;
SELECT is(pg_temp.as_role('mig_t20_none', $q$SELECT count(*)::text FROM shop_13_rls.purchases$q$),
	'ERROR 42501', 'a role without USAGE on the base schema cannot use the version schema either, even with SELECT on the table');
REVOKE SELECT ON shop.purchases FROM mig_t20_none;
-- a role with every privilege on the view but none on the table reads nothing
RESET ROLE;
GRANT ALL ON shop_13_rls.purchases TO mig_t20_none;
GRANT USAGE ON SCHEMA shop_13_rls TO mig_t20_none;
SELECT is(pg_temp.as_role('mig_t20_none', $q$SELECT count(*)::text FROM shop_13_rls.purchases$q$),
	'ERROR 42501', 'privileges on a view alone do not open the table behind it');
SELECT is(pg_temp.as_role('mig_t20_owner', $q$SELECT mig.rollback('shop')$q$), 'shop_12_drop_table', 'the owner rolls back');
SELECT is((SELECT count(*)::int FROM pg_policy WHERE polrelid = 'shop.customers'::regclass), 1, 'the policy is still there');

------------------------------------------------------------------------------
-- 6. Nothing on the caller's search path runs as the extension's owner: a
--    role's own "=" operators, found before pg_catalog's, are called only
--    as that role while it starts, pauses, resumes, reads the status of and
--    rolls back a migration (the extension writes its state tables as their
--    owner, a superuser here).
------------------------------------------------------------------------------
CREATE ROLE mig_t20_evil LOGIN;
CREATE SCHEMA evil AUTHORIZATION mig_t20_evil;
SET LOCAL ROLE mig_t20_evil;
CREATE TABLE evil.seen (who name);
GRANT ALL ON evil.seen TO PUBLIC;
CREATE FUNCTION evil.name_eq(name, name) RETURNS boolean LANGUAGE plpgsql AS
	$$BEGIN INSERT INTO evil.seen VALUES (current_user); RETURN $1::text OPERATOR(pg_catalog.=) $2::text; END$$;
CREATE OPERATOR evil.= (LEFTARG = name, RIGHTARG = name, FUNCTION = evil.name_eq);
CREATE FUNCTION evil.text_eq(text, text) RETURNS boolean LANGUAGE plpgsql AS
	$$BEGIN INSERT INTO evil.seen VALUES (current_user); RETURN $1 OPERATOR(pg_catalog.=) $2; END$$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.text_eq);
CREATE FUNCTION evil.oid_eq(oid, oid) RETURNS boolean LANGUAGE plpgsql AS
	$$BEGIN INSERT INTO evil.seen VALUES (current_user); RETURN $1 OPERATOR(pg_catalog.=) $2; END$$;
CREATE OPERATOR evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = evil.oid_eq);
SET LOCAL search_path = evil, pg_catalog;
SELECT mig.start('01', '{"operations": [{"create_table": {"name": "t", "columns": [{"name": "id", "type": "integer", "pk": true}]}}]}', 'evil');
SELECT mig.complete('evil');
SELECT mig.start('02', '{"operations": [{"add_column": {"table": "t", "up": "1", "column": {"name": "x", "type": "integer", "nullable": true}}}]}', 'evil');
SELECT mig.pause('evil');
SELECT mig.resume('evil');
SELECT mig.pause('evil');
SELECT * FROM mig.status('evil');
SELECT mig.rollback('evil');
RESET search_path;
RESET ROLE;
SELECT ok((SELECT count(*) FROM evil.seen WHERE who = 'mig_t20_evil') > 0,
	'the role''s operators were called (as the role) by the queries it ran');
SELECT is((SELECT array_agg(DISTINCT who) FROM evil.seen), ARRAY['mig_t20_evil']::name[],
	'and never as anyone else');

SELECT * FROM finish();
ROLLBACK;
