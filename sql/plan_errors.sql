--
-- plan_errors: migration documents that parse but cannot be applied to the
-- database as it is (missing or existing tables, columns, constraints,
-- indexes, schemas; a name already used; a migration already in progress;
-- what is not supported).  Each fails with a specific SQLSTATE and a
-- message naming the object, and leaves the database exactly as it was
-- (design invariant 3).
--
CREATE EXTENSION migrate_ext;

-- The test schema, away from whatever other tests leave in public.
CREATE SCHEMA pe;
CREATE TABLE pe.items (
	id		integer PRIMARY KEY,
	name	text NOT NULL CONSTRAINT items_name_check CHECK (name <> ''),
	price	numeric CONSTRAINT items_price_check CHECK (price >= 0),
	code	text NOT NULL
);
CREATE UNIQUE INDEX items_code_idx ON pe.items (code);
CREATE TABLE pe.orders (
	id		integer PRIMARY KEY,
	item_id	integer CONSTRAINT orders_item_fk REFERENCES pe.items (id)
);
-- an index of another table, for set_replica_identity
CREATE UNIQUE INDEX orders_id_idx ON pe.orders (id);
INSERT INTO pe.items VALUES (1, 'apple', 1.5, 'A'), (2, 'pear', 2, 'P');

-- One line per case: SQLSTATE and message, then the detail, the hint and
-- the operation the error belongs to (the context line the extension adds),
-- if any.
CREATE FUNCTION try_start(name text, doc jsonb, schema name DEFAULT 'pe')
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	state	text;
	msg		text;
	detail	text;
	hint	text;
	context	text;
BEGIN
	PERFORM mig.start(name, doc, schema);
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT,
		context = PG_EXCEPTION_CONTEXT;
	RETURN state || ': ' || msg
		|| coalesce(E'\nDETAIL: ' || nullif(detail, ''), '')
		|| coalesce(E'\nHINT: ' || nullif(hint, ''), '')
		|| coalesce(E'\nCONTEXT: ' || substring(context FROM '(?n)^operations\[.*$'), '');
END
$$;

-- The same for complete and rollback.
CREATE FUNCTION try_finish(action text, schema name DEFAULT 'pe')
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	state	text;
	msg		text;
	detail	text;
	hint	text;
BEGIN
	IF action = 'complete' THEN
		PERFORM mig.complete(schema);
	ELSE
		PERFORM mig.rollback(schema);
	END IF;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
	RETURN state || ': ' || msg
		|| coalesce(E'\nDETAIL: ' || nullif(detail, ''), '')
		|| coalesce(E'\nHINT: ' || nullif(hint, ''), '');
END
$$;

-- One completed migration, so that "migration name already used" has a
-- name to collide with, and the state to compare is not empty.
SELECT mig.start('init', '{"operations": [{"create_table": {"name": "tags",
	"columns": [{"name": "id", "type": "integer", "pk": true},
	            {"name": "label", "type": "text"}]}}]}', 'pe');
SELECT mig.complete('pe');

-- Everything the failed calls must leave as it is.
CREATE TEMP TABLE snap_status AS SELECT * FROM mig.status('pe');
CREATE TEMP TABLE snap_migrations AS
	SELECT schema, name, parent, migration, status FROM mig.migrations;
CREATE TEMP TABLE snap_steps AS SELECT * FROM mig.steps;
CREATE TEMP TABLE snap_schemas AS
	SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\_temp\_%'
	  AND nspname NOT LIKE 'pg\_toast\_temp\_%';
CREATE TEMP TABLE snap_columns AS
	SELECT c.relname, c.relkind, c.relreplident, a.attnum, a.attname,
		   format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull
	FROM pg_class c
	JOIN pg_namespace n ON n.oid = c.relnamespace
	LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
	WHERE n.nspname IN ('pe', 'pe_init');
CREATE TEMP TABLE snap_constraints AS
	SELECT conrelid::regclass::text AS rel, conname, pg_get_constraintdef(oid) AS def
	FROM pg_constraint
	WHERE connamespace = 'pe'::regnamespace;

SELECT * FROM snap_status;

\pset format unaligned
\pset tuples_only on

--
-- A table that does not exist, for every operation that takes one
--
SELECT try_start('m', '{"operations": [{"add_column": {"table": "nope",
	"column": {"name": "c", "type": "text", "nullable": true}}}]}');
SELECT try_start('m', '{"operations": [{"drop_column": {"table": "nope", "column": "name"}}]}');
SELECT try_start('m', '{"operations": [{"rename_column": {"table": "nope", "from": "name", "to": "title"}}]}');
SELECT try_start('m', '{"operations": [{"rename_table": {"from": "nope", "to": "nope2"}}]}');
SELECT try_start('m', '{"operations": [{"drop_table": {"name": "nope"}}]}');
SELECT try_start('m', '{"operations": [{"rename_constraint": {"table": "nope",
	"from": "items_name_check", "to": "c"}}]}');
SELECT try_start('m', '{"operations": [{"set_replica_identity": {"table": "nope",
	"identity": {"type": "full"}}}]}');
-- a table of another schema is not one of this schema's
SELECT try_start('m', '{"operations": [{"drop_table": {"name": "snap_status"}}]}');
-- a view or an index is not a table (the view made and dropped by hand
-- for this would be recorded as inferred migrations, which the comparison
-- of mig.migrations below is not about: not recorded)
SET migrate_ext.infer_migrations = off;
CREATE VIEW pe.items_view AS SELECT id FROM pe.items;
SELECT try_start('m', '{"operations": [{"drop_table": {"name": "items_view"}}]}');
SELECT try_start('m', '{"operations": [{"add_column": {"table": "items_code_idx",
	"column": {"name": "c", "type": "text", "nullable": true}}}]}');
DROP VIEW pe.items_view;
RESET migrate_ext.infer_migrations;
-- a table the same migration dropped or renamed away is gone for later operations
SELECT try_start('m', '{"operations": [{"drop_table": {"name": "orders"}},
	{"add_column": {"table": "orders", "column": {"name": "c", "type": "text", "nullable": true}}}]}');
SELECT try_start('m', '{"operations": [{"rename_table": {"from": "orders", "to": "purchases"}},
	{"drop_column": {"table": "orders", "column": "item_id"}}]}');

--
-- A table that already exists
--
SELECT try_start('m', '{"operations": [{"create_table": {"name": "items",
	"columns": [{"name": "id", "type": "integer"}]}}]}');
SELECT try_start('m', '{"operations": [{"rename_table": {"from": "orders", "to": "items"}}]}');
-- a relation that is not a table also takes the name (its DETAIL is left
-- out: it blames a rename or drop by this migration, which there is not)
SELECT regexp_replace(try_start('m', '{"operations": [{"create_table": {"name": "items_code_idx",
	"columns": [{"name": "id", "type": "integer"}]}}]}'), E'\nDETAIL: [^\n]*', '');
-- the same migration creates it twice
SELECT try_start('m', '{"operations": [
	{"create_table": {"name": "fresh", "columns": [{"name": "id", "type": "integer"}]}},
	{"create_table": {"name": "fresh", "columns": [{"name": "id", "type": "integer"}]}}]}');
-- a table this migration renames keeps its name until the migration completes
SELECT try_start('m', '{"operations": [{"rename_table": {"from": "orders", "to": "purchases"}},
	{"create_table": {"name": "orders", "columns": [{"name": "id", "type": "integer"}]}}]}');
SELECT try_start('m', '{"operations": [{"rename_table": {"from": "orders", "to": "purchases"}},
	{"rename_table": {"from": "items", "to": "orders"}}]}');

--
-- A column that already exists
--
SELECT try_start('m', '{"operations": [{"add_column": {"table": "items",
	"column": {"name": "price", "type": "text", "nullable": true}}}]}');
SELECT try_start('m', '{"operations": [{"rename_column": {"table": "items", "from": "name", "to": "code"}}]}');
-- added twice by the same migration
SELECT try_start('m', '{"operations": [
	{"add_column": {"table": "items", "column": {"name": "c", "type": "text", "nullable": true}}},
	{"add_column": {"table": "items", "column": {"name": "c", "type": "text", "nullable": true}}}]}');

--
-- A column that does not exist
--
SELECT try_start('m', '{"operations": [{"drop_column": {"table": "items", "column": "nope"}}]}');
SELECT try_start('m', '{"operations": [{"rename_column": {"table": "items", "from": "nope", "to": "other"}}]}');
-- system columns are not the user's
SELECT try_start('m', '{"operations": [{"drop_column": {"table": "items", "column": "ctid"}}]}');
-- a column the same migration dropped or renamed away is gone
SELECT try_start('m', '{"operations": [{"drop_column": {"table": "items", "column": "price"}},
	{"rename_column": {"table": "items", "from": "price", "to": "cost"}}]}');
SELECT try_start('m', '{"operations": [{"rename_column": {"table": "items", "from": "price", "to": "cost"}},
	{"drop_column": {"table": "items", "column": "price"}}]}');

--
-- Constraints
--
-- missing
SELECT try_start('m', '{"operations": [{"rename_constraint": {"table": "items",
	"from": "nope", "to": "other"}}]}');
-- a constraint of another table
SELECT try_start('m', '{"operations": [{"rename_constraint": {"table": "items",
	"from": "orders_item_fk", "to": "other"}}]}');
-- the new name is taken by a constraint of the table
SELECT try_start('m', '{"operations": [{"rename_constraint": {"table": "items",
	"from": "items_name_check", "to": "items_price_check"}}]}');
-- the new name is taken by a relation (the index of a constraint is renamed with it)
SELECT try_start('m', '{"operations": [{"rename_constraint": {"table": "items",
	"from": "items_pkey", "to": "items_code_idx"}}]}');

-- a constraint of a new column takes a name the table already uses
SELECT try_start('m', '{"operations": [{"add_column": {"table": "items",
	"column": {"name": "c", "type": "integer", "nullable": true,
	           "check": {"name": "items_price_check", "constraint": "c > 0"}}}}]}');

--
-- Foreign keys name a table and a column that must exist
--
SELECT try_start('m', '{"operations": [{"create_table": {"name": "fresh",
	"columns": [{"name": "x", "type": "integer",
	             "references": {"name": "fresh_x_fk", "table": "nope", "column": "id"}}]}}]}');
SELECT try_start('m', '{"operations": [{"create_table": {"name": "fresh",
	"columns": [{"name": "x", "type": "integer",
	             "references": {"name": "fresh_x_fk", "table": "items", "column": "nope"}}]}}]}');
SELECT try_start('m', '{"operations": [{"add_column": {"table": "orders",
	"column": {"name": "x", "type": "integer", "nullable": true,
	           "references": {"name": "orders_x_fk", "table": "nope", "column": "id"}}}}]}');

--
-- A type that does not exist
--
SELECT try_start('m', '{"operations": [{"add_column": {"table": "items",
	"column": {"name": "c", "type": "no_such_type", "nullable": true}}}]}');
SELECT try_start('m', '{"operations": [{"create_table": {"name": "fresh",
	"columns": [{"name": "x", "type": "no_such_type"}]}}]}');

--
-- Replica identity: the index must exist and belong to the table
--
SELECT try_start('m', '{"operations": [{"set_replica_identity": {"table": "items",
	"identity": {"type": "index", "index": "nope"}}}]}');
SELECT try_start('m', '{"operations": [{"set_replica_identity": {"table": "items",
	"identity": {"type": "index", "index": "orders_id_idx"}}}]}');
-- a relation that is not an index
SELECT try_start('m', '{"operations": [{"set_replica_identity": {"table": "items",
	"identity": {"type": "index", "index": "orders"}}}]}');

--
-- The schema
--
SELECT try_start('m', '{"operations": [{"drop_table": {"name": "items"}}]}', 'no_such_schema');
SELECT try_start('m', '{"operations": []}', 'no_such_schema');

--
-- Names
--
-- the migration name is already used in this schema
SELECT try_start('init', '{"operations": [{"drop_column": {"table": "items", "column": "price"}}]}');
-- the version schema already exists (here: another name with the same version_schema)
SELECT try_start('again', '{"version_schema": "init",
	"operations": [{"drop_column": {"table": "items", "column": "price"}}]}');
-- a version schema name longer than 63 bytes ("pe_" + 61 bytes)
SELECT try_start(repeat('v', 61), '{"operations": [{"drop_column": {"table": "items", "column": "price"}}]}');
SELECT try_start('m', format('{"version_schema": "%s",
	"operations": [{"drop_column": {"table": "items", "column": "price"}}]}', repeat('v', 61))::jsonb);
-- 63 bytes fit, but the schema does not exist: the length is not the error
SELECT try_start(repeat('v', 60), '{"operations": []}', 'no');

--
-- Index operations
--
-- the name of an index, table or view already in the schema
SELECT try_start('m', '{"operations": [{"create_index": {"name": "items_code_idx",
	"table": "items", "columns": [{"column": "name"}]}}]}');
SELECT try_start('m', '{"operations": [{"create_index": {"name": "orders",
	"table": "items", "columns": [{"column": "name"}]}}]}');
-- a column, an operator class, a collation, a predicate that do not exist
SELECT try_start('m', '{"operations": [{"create_index": {"name": "items_nope_idx",
	"table": "items", "columns": [{"column": "nope"}]}}]}');
SELECT try_start('m', '{"operations": [{"create_index": {"name": "items_name_idx",
	"table": "items", "columns": [{"column": "name", "opclass": {"name": "int8_ops"}}]}}]}');
SELECT try_start('m', '{"operations": [{"create_index": {"name": "items_name_idx",
	"table": "items", "columns": [{"column": "name", "collate": "no_such_collation"}]}}]}');
SELECT try_start('m', '{"operations": [{"create_index": {"name": "items_name_idx",
	"table": "items", "columns": [{"column": "name"}], "predicate": "nope > 1"}}]}');
-- storage parameters the method does not have
SELECT try_start('m', '{"operations": [{"create_index": {"name": "items_name_idx",
	"table": "items", "columns": [{"column": "name"}], "method": "hash",
	"storage_parameters": "deduplicate_items = off"}}]}');
-- an index that does not exist, or is not an index
SELECT try_start('m', '{"operations": [{"drop_index": {"name": "nope_idx"}}]}');
SELECT try_start('m', '{"operations": [{"drop_index": {"name": "items"}}]}');
-- a unique column whose constraint would take the name of a relation
SELECT try_start('m', '{"operations": [{"add_column": {"table": "orders",
	"column": {"name": "items", "type": "int", "nullable": true, "unique": true}}}]}');
-- an unsupported operation after a supported one
SELECT try_start('m', '{"operations": [{"drop_column": {"table": "items", "column": "price"}},
	{"add_column": {"table": "items", "column": {"name": "twice", "type": "integer",
	 "nullable": true, "generated": {"expression": "id * 2"}}}}]}');

--
-- Column changes (alter_column and the constraint operations) that the
-- catalog rules out
--
-- a column another table's foreign key references
SELECT try_start('m', '{"operations": [{"alter_column": {"table": "items", "column": "id",
	"type": "bigint", "up": "id", "down": "id"}}]}');
SELECT try_start('m', '{"operations": [{"alter_column": {"table": "items", "column": "nope",
	"nullable": true, "up": "nope", "down": "nope"}}]}');
SELECT try_start('m', '{"operations": [{"alter_column": {"table": "items", "column": "name",
	"unique": {"name": "orders_id_idx"}}}]}');
-- an up expression whose subquery reads a table that does not exist
SELECT try_start('m', '{"operations": [{"alter_column": {"table": "items", "column": "name",
	"nullable": true, "up": "(SELECT max(n.name) FROM pe.nothing n)", "down": "name"}}]}');
SELECT try_start('m', '{"operations": [{"drop_constraint": {"table": "items",
	"name": "no_such_check", "up": "price", "down": "price"}}]}');
SELECT try_start('m', '{"operations": [{"drop_constraint": {"table": "items",
	"name": "items_pkey", "up": "id", "down": "id"}}]}');
SELECT try_start('m', '{"operations": [{"drop_multicolumn_constraint": {"table": "items",
	"name": "items_price_check", "down": {"price": "price", "name": "name"}}}]}');
SELECT try_start('m', '{"operations": [{"create_constraint": {"table": "items",
	"name": "items_price_check", "type": "check", "columns": ["price"], "check": "price < 100",
	"up": {"price": "price"}, "down": {"price": "price"}}}]}');
SELECT try_start('m', '{"operations": [{"create_constraint": {"table": "items",
	"name": "items_pk2", "type": "primary_key", "columns": ["code"],
	"up": {"code": "code"}, "down": {"code": "code"}}}]}');
SELECT try_start('m', '{"operations": [{"create_constraint": {"table": "items",
	"name": "items_code_uq", "type": "unique", "columns": ["nope"],
	"up": {"nope": "nope"}, "down": {"nope": "nope"}}}]}');

--
-- A later operation fails after earlier ones did their work: nothing of
-- theirs is left (checked below, and by the comparison at the end)
--
SELECT try_start('m', '{"operations": [
	{"create_table": {"name": "fresh", "columns": [{"name": "id", "type": "integer", "pk": true}]}},
	{"add_column": {"table": "items", "column": {"name": "c", "type": "text", "nullable": true}}},
	{"drop_table": {"name": "orders"}},
	{"set_replica_identity": {"table": "items", "identity": {"type": "full"}}},
	{"add_column": {"table": "nope", "column": {"name": "c", "type": "text", "nullable": true}}}]}');
SELECT to_regclass('pe.fresh') IS NULL AS no_fresh,
	   to_regclass('pe.orders') IS NOT NULL AS orders_kept,
	   to_regclass('pe._mig_del_orders') IS NULL AS no_soft_dropped,
	   NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'pe.items'::regclass
				   AND attname LIKE '\_mig\_%') AS no_shadow_column,
	   (SELECT relreplident FROM pg_class WHERE oid = 'pe.items'::regclass) = 'd' AS identity_kept,
	   to_regnamespace('pe_m') IS NULL AS no_version_schema;
-- the same error, uncaught, in a transaction of its own
\set VERBOSITY terse
SELECT mig.start('m', '{"operations": [
	{"create_table": {"name": "fresh", "columns": [{"name": "id", "type": "integer", "pk": true}]}},
	{"rename_column": {"table": "items", "from": "nope", "to": "other"}}]}', 'pe');
\set VERBOSITY default
SELECT to_regclass('pe.fresh') IS NULL AS no_fresh, to_regnamespace('pe_m') IS NULL AS no_version_schema;
-- and the failed attempt left nothing that stops a valid one
BEGIN;
SELECT mig.start('m', '{"operations": [
	{"create_table": {"name": "fresh", "columns": [{"name": "id", "type": "integer", "pk": true}]}},
	{"drop_table": {"name": "orders"}}]}', 'pe');
ROLLBACK;

--
-- A migration is in progress: a second start fails (55000) and names it
--
BEGIN;
SELECT mig.start('active', '{"operations": [{"rename_column": {"table": "items",
	"from": "price", "to": "cost"}}]}', 'pe');
SELECT try_start('m', '{"operations": [{"drop_column": {"table": "items", "column": "code"}}]}');
-- even one that would be valid on its own, or that reuses the active name
SELECT try_start('m', '{"operations": []}');
SELECT try_start('active', '{"operations": []}');
-- another schema is not affected
SELECT try_start('plan_errors_other', '{"operations": []}', 'public');
SELECT * FROM mig.status('pe');
ROLLBACK;

--
-- Nothing is in progress: complete and rollback fail (55000)
--
SELECT try_finish('complete');
SELECT try_finish('rollback');
SELECT try_finish('complete', 'public');

\pset format aligned
\pset tuples_only off

--
-- Everything is as before the failed calls (each query shows nothing)
--
SELECT 'status' AS what, * FROM (
	(SELECT * FROM mig.status('pe') EXCEPT ALL SELECT * FROM snap_status)
	UNION ALL
	(SELECT * FROM snap_status EXCEPT ALL SELECT * FROM mig.status('pe'))) d;
SELECT 'migrations' AS what, * FROM (
	(SELECT schema, name, parent, migration, status FROM mig.migrations
	 EXCEPT ALL SELECT * FROM snap_migrations)
	UNION ALL
	(SELECT * FROM snap_migrations
	 EXCEPT ALL SELECT schema, name, parent, migration, status FROM mig.migrations)) d;
SELECT 'steps' AS what, * FROM (
	(SELECT * FROM mig.steps EXCEPT ALL SELECT * FROM snap_steps)
	UNION ALL
	(SELECT * FROM snap_steps EXCEPT ALL SELECT * FROM mig.steps)) d;
SELECT 'schemas' AS what, * FROM (
	(SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\_temp\_%'
	   AND nspname NOT LIKE 'pg\_toast\_temp\_%'
	 EXCEPT ALL SELECT * FROM snap_schemas)
	UNION ALL
	(SELECT * FROM snap_schemas
	 EXCEPT ALL SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\_temp\_%'
	   AND nspname NOT LIKE 'pg\_toast\_temp\_%')) d;
CREATE TEMP VIEW now_columns AS
	SELECT c.relname, c.relkind, c.relreplident, a.attnum, a.attname,
		   format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull
	FROM pg_class c
	JOIN pg_namespace n ON n.oid = c.relnamespace
	LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
	WHERE n.nspname IN ('pe', 'pe_init');
SELECT 'columns' AS what, * FROM (
	(SELECT * FROM now_columns EXCEPT ALL SELECT * FROM snap_columns)
	UNION ALL
	(SELECT * FROM snap_columns EXCEPT ALL SELECT * FROM now_columns)) d;
CREATE TEMP VIEW now_constraints AS
	SELECT conrelid::regclass::text AS rel, conname, pg_get_constraintdef(oid) AS def
	FROM pg_constraint
	WHERE connamespace = 'pe'::regnamespace;
SELECT 'constraints' AS what, * FROM (
	(SELECT * FROM now_constraints EXCEPT ALL SELECT * FROM snap_constraints)
	UNION ALL
	(SELECT * FROM snap_constraints EXCEPT ALL SELECT * FROM now_constraints)) d;
-- and the comparison is not vacuous (NOT NULL, a pg_constraint row from
-- PostgreSQL 18 on, is counted with the columns, so the count is the same on
-- every version; the comparison above covers those rows too)
SELECT (SELECT count(*) FROM snap_columns) AS columns,
	   (SELECT count(*) FROM snap_constraints WHERE def NOT LIKE 'NOT NULL %') AS constraints,
	   (SELECT count(*) FROM snap_migrations) AS migrations;
SELECT * FROM mig.status('pe');
SELECT * FROM pe.items ORDER BY id;

DROP EXTENSION migrate_ext;
SET client_min_messages = warning;
DROP SCHEMA pe, pe_init CASCADE;
RESET client_min_messages;
DROP FUNCTION try_start(text, jsonb, name);
DROP FUNCTION try_finish(text, name);
