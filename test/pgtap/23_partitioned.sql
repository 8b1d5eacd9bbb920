-- Partitioned tables, partitions and inheritance (issue 14, item 4).  Every
-- operation that would change, backfill, dual-write, index or validate a
-- partitioned table, a partition or a table in an inheritance hierarchy is
-- refused at start with 0A000 and a hint, and nothing changes: the
-- backfill and the trigger would reach only the one table named (for a
-- partitioned table: no rows at all), and ALTER TABLE would pass the change
-- on to partitions and children.  rename_table is allowed (views name
-- tables by OID; the rename changes one name), and so is the "sql"
-- operation (the user's own SQL).  A table a migration dual-writes may
-- not gain a parent or a child until the migration is over.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(49);

CREATE SCHEMA app;
CREATE TABLE app.events (id integer NOT NULL, kind text NOT NULL, v integer,
	CONSTRAINT events_v_check CHECK (v > 0),
	CONSTRAINT events_id_kind_key UNIQUE (id, kind)) PARTITION BY LIST (kind);
CREATE TABLE app.events_a PARTITION OF app.events FOR VALUES IN ('a');
CREATE TABLE app.events_b PARTITION OF app.events FOR VALUES IN ('b');
CREATE INDEX events_v_idx ON app.events (v);
CREATE INDEX events_a_local_idx ON app.events_a (id);
INSERT INTO app.events SELECT g, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END, g
FROM generate_series(1, 100) g;
CREATE TABLE app.animals (id integer PRIMARY KEY, name text);
CREATE TABLE app.dogs (breed text) INHERITS (app.animals);
INSERT INTO app.animals VALUES (1, 'cat');
INSERT INTO app.dogs VALUES (2, 'rex', 'collie');
CREATE TABLE app.plain (id integer PRIMARY KEY, n integer);

CREATE TEMP TABLE before AS SELECT mig.read_schema('app') AS s;
CREATE TEMP TABLE before_rows AS
	SELECT (SELECT count(*) FROM app.events) AS events, (SELECT count(*) FROM app.animals) AS animals;

-- start a one-operation migration; 'sqlstate|message|hint' of its error
CREATE FUNCTION pg_temp.start_err(op text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text;
	msg text;
	hint text;
BEGIN
	PERFORM mig.start('02_refused', ('{"operations": [' || op || ']}')::jsonb, 'app');
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
	RETURN st || '|' || msg || '|' || hint;
END
$$;

CREATE FUNCTION pg_temp.refused(op text, target text, what text) RETURNS text LANGUAGE sql AS $$
	SELECT matches(pg_temp.start_err(op),
		'^0A000\|operation [a-z_]+ is not supported on .*' || target || '.*\|Make this change outside migrate_ext .*rename_table is supported\.$',
		what || ': refused with 0A000 and a hint')
$$;

------------------------------------------------------------------------------
-- the partitioned table: every kind of operation but rename_table
------------------------------------------------------------------------------
SELECT pg_temp.refused('{"add_column": {"table": "events", "column": {"name": "w", "type": "integer", "nullable": true}, "up": "v * 2"}}',
	'partitioned table "events"', 'add_column with up on a list-partitioned table');
SELECT pg_temp.refused('{"add_column": {"table": "events", "column": {"name": "w", "type": "integer", "nullable": true}}}',
	'partitioned table "events"', 'add_column without up');
SELECT pg_temp.refused('{"drop_column": {"table": "events", "column": "v", "down": "1"}}',
	'partitioned table "events"', 'drop_column');
SELECT pg_temp.refused('{"alter_column": {"table": "events", "column": "v", "type": "bigint", "up": "v", "down": "v"}}',
	'partitioned table "events"', 'alter_column (type)');
SELECT pg_temp.refused('{"rename_column": {"table": "events", "from": "v", "to": "value"}}',
	'partitioned table "events"', 'rename_column');
SELECT pg_temp.refused('{"create_index": {"table": "events", "name": "events_id_idx", "columns": [{"column": "id"}]}}',
	'partitioned table "events"', 'create_index');
SELECT pg_temp.refused('{"drop_index": {"name": "events_v_idx"}}',
	'partitioned table "events"', 'drop_index');
SELECT pg_temp.refused('{"create_constraint": {"type": "unique", "table": "events", "name": "events_v_kind_key", "columns": ["v", "kind"], "up": {"v": "v", "kind": "kind"}, "down": {"v": "v", "kind": "kind"}}}',
	'partitioned table "events"', 'create_constraint unique');
SELECT pg_temp.refused('{"create_constraint": {"type": "check", "table": "events", "name": "events_v_small", "columns": ["v"], "check": "v < 1000", "up": {"v": "v"}, "down": {"v": "v"}}}',
	'partitioned table "events"', 'create_constraint check');
SELECT pg_temp.refused('{"create_constraint": {"type": "foreign_key", "table": "events", "name": "events_plain_fk", "columns": ["v"], "references": {"table": "plain", "columns": ["id"]}, "up": {"v": "v"}, "down": {"v": "v"}}}',
	'partitioned table "events"', 'create_constraint foreign_key');
SELECT pg_temp.refused('{"drop_constraint": {"table": "events", "name": "events_v_check", "up": "v", "down": "v"}}',
	'partitioned table "events"', 'drop_constraint');
SELECT pg_temp.refused('{"drop_multicolumn_constraint": {"table": "events", "name": "events_id_kind_key", "down": {"id": "id", "kind": "kind"}}}',
	'partitioned table "events"', 'drop_multicolumn_constraint');
SELECT pg_temp.refused('{"rename_constraint": {"table": "events", "from": "events_v_check", "to": "events_v_positive"}}',
	'partitioned table "events"', 'rename_constraint');
SELECT pg_temp.refused('{"set_replica_identity": {"table": "events", "identity": {"type": "full"}}}',
	'partitioned table "events"', 'set_replica_identity');
SELECT pg_temp.refused('{"drop_table": {"name": "events"}}',
	'partitioned table "events"', 'drop_table');

------------------------------------------------------------------------------
-- a partition
------------------------------------------------------------------------------
SELECT pg_temp.refused('{"add_column": {"table": "events_a", "column": {"name": "w", "type": "integer", "nullable": true}, "up": "v * 2"}}',
	'table "events_a", a partition of "events"', 'add_column on a partition');
SELECT pg_temp.refused('{"alter_column": {"table": "events_a", "column": "v", "type": "bigint", "up": "v", "down": "v"}}',
	'table "events_a", a partition of "events"', 'alter_column on a partition');
SELECT pg_temp.refused('{"create_index": {"table": "events_a", "name": "events_a_v_idx", "columns": [{"column": "v"}]}}',
	'table "events_a", a partition of "events"', 'create_index on a partition');
SELECT pg_temp.refused('{"drop_index": {"name": "events_a_local_idx"}}',
	'table "events_a", a partition of "events"', 'drop_index on a partition');
SELECT pg_temp.refused('{"set_replica_identity": {"table": "events_a", "identity": {"type": "full"}}}',
	'table "events_a", a partition of "events"', 'set_replica_identity on a partition');
SELECT pg_temp.refused('{"drop_table": {"name": "events_a"}}',
	'table "events_a", a partition of "events"', 'drop_table of a partition');

------------------------------------------------------------------------------
-- inheritance: the parent and the child
------------------------------------------------------------------------------
SELECT pg_temp.refused('{"add_column": {"table": "animals", "column": {"name": "w", "type": "integer", "nullable": true}, "up": "id * 2"}}',
	'table "animals", which other tables inherit from', 'add_column on an inheritance parent');
SELECT pg_temp.refused('{"create_constraint": {"type": "check", "table": "animals", "name": "animals_id_check", "columns": ["id"], "check": "id > 0", "up": {"id": "id"}, "down": {"id": "id"}}}',
	'table "animals", which other tables inherit from', 'create_constraint on an inheritance parent');
SELECT pg_temp.refused('{"add_column": {"table": "dogs", "column": {"name": "w", "type": "integer", "nullable": true}, "up": "id * 2"}}',
	'table "dogs", which inherits from another table', 'add_column on an inheritance child');
SELECT pg_temp.refused('{"create_index": {"table": "dogs", "name": "dogs_breed_idx", "columns": [{"column": "breed"}]}}',
	'table "dogs", which inherits from another table', 'create_index on an inheritance child');

-- a refused operation after an allowed one refuses the whole migration
SELECT is(pg_temp.start_err('{"add_column": {"table": "plain", "column": {"name": "w", "type": "integer", "nullable": true}, "up": "n * 2"}},
	{"add_column": {"table": "events", "column": {"name": "w", "type": "integer", "nullable": true}, "up": "v * 2"}}') ~ '^0A000\|', true,
	'an allowed operation before a refused one does not make it through');

------------------------------------------------------------------------------
-- nothing changed
------------------------------------------------------------------------------
SELECT hasnt_schema('app_02_refused', 'no version schema was left by the refused migrations');
SELECT is(mig.read_schema('app'), (SELECT s FROM before), 'the base schema is exactly as before');
SELECT is((SELECT count(*)::int FROM mig.migrations WHERE schema = 'app'), 0,
	'the refused migrations are not in the history');
SELECT is((SELECT count(*)::int FROM mig.job_queue WHERE schema = 'app')
	+ (SELECT count(*)::int FROM mig.dual_writes WHERE schema = 'app'), 0,
	'no job and no dual-write rule was left');
SELECT is((SELECT count(*)::int FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
		   JOIN pg_namespace n ON n.oid = c.relnamespace
		   WHERE n.nspname = 'app' AND NOT t.tgisinternal), 0,
	'no trigger was left on any table');

------------------------------------------------------------------------------
-- a table with dual-write rules gains no parent or child while its
-- migration is active
------------------------------------------------------------------------------
SELECT is(mig.start('03_plain', '{"operations": [{"add_column": {"table": "plain",
	"column": {"name": "w", "type": "integer", "nullable": true}, "up": "n * 2"}}]}', 'app'),
	'app_03_plain', 'add_column with up on a plain table starts');
SELECT throws_like($$CREATE TABLE app.plain_child (x int) INHERITS (app.plain)$$,
	'table app.plain_child cannot inherit from or be a partition of app.plain while migration "03_plain" is active',
	'a child of a table with dual-write rules is refused');
CREATE TABLE app.plain_copy (LIKE app.plain);
SELECT throws_ok($$ALTER TABLE app.plain_copy INHERIT app.plain$$, '55000', NULL,
	'ALTER TABLE INHERIT of such a table is refused with 55000');
CREATE TABLE app.plain_base (id integer);
SELECT throws_ok($$ALTER TABLE app.plain INHERIT app.plain_base$$, '55000', NULL,
	'such a table cannot become a child either');
SELECT is((SELECT count(*)::int FROM pg_inherits WHERE inhrelid = 'app.plain'::regclass
		   OR inhparent = 'app.plain'::regclass), 0, 'the table is in no hierarchy');
SELECT lives_ok($$SELECT mig.rollback('app')$$, 'the migration rolls back');
SELECT lives_ok($$CREATE TABLE app.plain_child (x int) INHERITS (app.plain)$$,
	'once no migration is active the table may gain a child');
DROP TABLE app.plain_child, app.plain_copy, app.plain_base;

------------------------------------------------------------------------------
-- allowed: rename_table of a partitioned table, of a partition, "sql"
------------------------------------------------------------------------------
SELECT is(mig.start('03_rename', '{"operations": [{"rename_table": {"from": "events", "to": "happenings"}},
	{"rename_table": {"from": "events_b", "to": "happenings_b"}}]}', 'app'),
	'app_03_rename', 'rename_table of a partitioned table and of a partition starts');
SELECT is((SELECT count(*) FROM app_03_rename.happenings), (SELECT events FROM before_rows),
	'the new version reads every row of the renamed partitioned table');
INSERT INTO app_03_rename.happenings VALUES (101, 'a', 101);
SELECT is((SELECT count(*)::int FROM app.events_a WHERE id = 101), 1,
	'a row written through the new version lands in its partition');
SELECT is((SELECT count(*)::int FROM app_03_rename.happenings_b), 50,
	'the renamed partition reads its rows in the new version');
SELECT lives_ok($$SELECT mig.complete('app')$$, 'the renames complete');
SELECT is((SELECT count(*)::int FROM pg_inherits WHERE inhparent = 'app.happenings'::regclass), 2,
	'after complete both partitions are still attached to the renamed table');
SELECT is((SELECT count(*) FROM app.happenings), (SELECT events FROM before_rows) + 1,
	'after complete every row is still there');
SELECT is(to_regclass('app.happenings_b')::text, 'app.happenings_b', 'the partition is renamed');

SELECT is(mig.start('04_sql', $j${"operations": [{"sql": {"up": "ALTER TABLE app.happenings ADD COLUMN note text"}}]}$j$, 'app'),
	'app_04_sql', 'a "sql" operation on a partitioned table is the user''s own business');
SELECT lives_ok($$SELECT mig.complete('app')$$, 'it completes');
SELECT has_column('app', 'events_a', 'note', 'ALTER TABLE reached the partitions');

SELECT * FROM finish();
ROLLBACK;
