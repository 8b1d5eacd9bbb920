--
-- parse_errors: every invalid migration document is rejected by the parser,
-- before anything changes, with SQLSTATE 22023 (42622 for a name that is too
-- long) and a message that names the operation and the key.
--
CREATE EXTENSION migrate_ext;

-- One line per case: SQLSTATE, message, and detail and hint if any.
CREATE FUNCTION parse_error(doc jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	state	text;
	msg		text;
	detail	text;
	hint	text;
BEGIN
	PERFORM mig.start('m', doc);
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
	RETURN state || ': ' || msg
		|| coalesce(E'\nDETAIL: ' || nullif(detail, ''), '')
		|| coalesce(E'\nHINT: ' || nullif(hint, ''), '');
END
$$;

\pset format unaligned
\pset tuples_only on

--
-- The document and "operations"
--
-- not an object
SELECT parse_error('[]');
SELECT parse_error('"create_table"');
-- "operations" missing, not an array
SELECT parse_error('{}');
SELECT parse_error('{"operations": {"drop_table": {"name": "t"}}}');
SELECT parse_error('{"operations": "drop_table"}');
SELECT parse_error('{"operations": null}');
-- unknown top-level key (pgroll removed "name")
SELECT parse_error('{"name": "m", "operations": []}');
-- version_schema not a string, empty, too long
SELECT parse_error('{"version_schema": 2, "operations": []}');
SELECT parse_error('{"version_schema": "", "operations": []}');
SELECT parse_error(format('{"version_schema": "%s", "operations": []}',
						  repeat('v', 64))::jsonb);

--
-- Operations
--
-- an operation that is not an object
SELECT parse_error('{"operations": ["drop_table"]}');
-- no key, two keys
SELECT parse_error('{"operations": [{}]}');
SELECT parse_error('{"operations": [{"drop_table": {"name": "a"}, "drop_index": {"name": "b"}}]}');
-- unknown operation
SELECT parse_error('{"operations": [{"drop_view": {"name": "v"}}]}');
-- body not an object
SELECT parse_error('{"operations": [{"drop_table": "t"}]}');

--
-- Unknown keys
--
SELECT parse_error('{"operations": [{"drop_table": {"name": "t", "cascade": true}}]}');
SELECT parse_error('{"operations": [{"add_column": {"table": "t", "column": {"name": "c", "type": "int", "nullable": true, "size": 4}}}]}');
SELECT parse_error('{"operations": [{"create_table": {"name": "t", "columns": [{"name": "id", "type": "int", "pk": true}, {"name": "u", "type": "int", "references": {"name": "fk", "table": "u", "column": "id", "on_delet": "CASCADE"}}]}}]}');
SELECT parse_error('{"operations": [{"create_table": {"name": "t", "columns": [{"name": "a", "type": "int"}], "constraints": [{"name": "u", "type": "unique", "columns": ["a"], "deferred": true}]}}]}');
SELECT parse_error('{"operations": [{"create_index": {"name": "i", "table": "t", "columns": [{"column": "a", "opclass": {"name": "int4_ops", "options": []}}]}}]}');

--
-- Missing required keys
--
SELECT parse_error('{"operations": [{"drop_table": {}}]}');
SELECT parse_error('{"operations": [{"rename_table": {"from": "a"}}]}');
SELECT parse_error('{"operations": [{"add_column": {"table": "t", "up": "1"}}]}');
SELECT parse_error('{"operations": [{"create_table": {"name": "t", "columns": [{"name": "a", "type": "int"}, {"name": "b"}]}}]}');
SELECT parse_error('{"operations": [{"create_index": {"name": "i", "table": "t"}}]}');
SELECT parse_error('{"operations": [{"set_replica_identity": {"table": "t", "identity": {"index": "i"}}}]}');
SELECT parse_error('{"operations": [{"set_replica_identity": {"table": "t", "identity": {"type": "index"}}}]}');
SELECT parse_error('{"operations": [{"drop_constraint": {"table": "t", "name": "c", "up": "a"}}]}');
-- "" counts as absent for up and down
SELECT parse_error('{"operations": [{"drop_constraint": {"table": "t", "name": "c", "down": ""}}]}');
SELECT parse_error('{"operations": [{"drop_multicolumn_constraint": {"table": "t", "name": "c", "up": {"a": "a"}}}]}');
SELECT parse_error('{"operations": [{"create_constraint": {"table": "t", "name": "c", "columns": ["a"], "up": {"a": "a"}, "down": {"a": "a"}}}]}');

--
-- Wrong JSON types
--
SELECT parse_error('{"operations": [{"add_column": {"table": "t", "column": {"name": "c", "type": "int", "nullable": "yes"}}}]}');
SELECT parse_error('{"operations": [{"create_table": {"name": "t", "columns": {"name": "a", "type": "int"}}}]}');
SELECT parse_error('{"operations": [{"rename_column": {"table": true, "from": "a", "to": "b"}}]}');
SELECT parse_error('{"operations": [{"create_index": {"name": "i", "table": "t", "columns": [{"column": "a"}], "unique": "true"}}]}');
SELECT parse_error('{"operations": [{"create_constraint": {"table": "t", "name": "c", "type": "unique", "columns": ["a", 1], "up": {}, "down": {}}}]}');
SELECT parse_error('{"operations": [{"create_table": {"name": "t", "columns": ["a"]}}]}');
SELECT parse_error('{"operations": [{"create_constraint": {"table": "t", "name": "c", "type": "unique", "columns": ["a"], "up": {"a": 1}, "down": {"a": "a"}}}]}');
-- null is only meaningful for alter_column's default and comment
SELECT parse_error('{"operations": [{"drop_column": {"table": "t", "column": "c", "down": null}}]}');

--
-- Identifiers: not empty, at most 63 bytes, never truncated
--
SELECT parse_error(format('{"operations": [{"drop_table": {"name": "%s"}}]}',
						  repeat('t', 64))::jsonb);
-- 64 bytes in 32 characters
SELECT parse_error(format('{"operations": [{"create_table": {"name": "t", "columns": [{"name": "%s", "type": "int"}]}}]}',
						  repeat('é', 32))::jsonb);
SELECT parse_error(format('{"operations": [{"create_constraint": {"table": "t", "name": "c", "type": "unique", "columns": ["%s"], "up": {}, "down": {}}}]}',
						  repeat('c', 64))::jsonb);
SELECT parse_error('{"operations": [{"rename_column": {"table": "t", "from": "a", "to": ""}}]}');
-- 63 bytes is fine: the error is about the next operation
SELECT parse_error(format('{"version_schema": "%s", "operations": [{"drop_table": {"name": "%s"}}, {"drop_table": {}}]}',
						  repeat('v', 63), repeat('t', 63))::jsonb);

--
-- Enumerated values
--
SELECT parse_error('{"operations": [{"alter_column": {"table": "t", "column": "c", "references": {"name": "fk", "table": "u", "column": "id", "on_delete": "DELETE"}, "up": "c", "down": "c"}}]}');
SELECT parse_error('{"operations": [{"create_index": {"name": "i", "table": "t", "columns": [{"column": "a"}], "method": "bitmap"}}]}');
SELECT parse_error('{"operations": [{"set_replica_identity": {"table": "t", "identity": {"type": "primary", "index": ""}}}]}');
SELECT parse_error('{"operations": [{"create_index": {"name": "i", "table": "t", "columns": [{"column": "a", "sort": "ascending"}]}}]}');
SELECT parse_error('{"operations": [{"create_index": {"name": "i", "table": "t", "columns": [{"column": "a", "nulls": "middle"}]}}]}');
SELECT parse_error('{"operations": [{"create_table": {"name": "t", "columns": [{"name": "a", "type": "int"}], "constraints": [{"name": "c", "type": "not_null", "columns": ["a"]}]}}]}');
-- exclude is a create_table constraint type only
SELECT parse_error('{"operations": [{"create_constraint": {"table": "t", "name": "c", "type": "exclude", "up": {}, "down": {}}}]}');
SELECT parse_error('{"operations": [{"create_table": {"name": "t", "columns": [{"name": "a", "type": "int", "generated": {"identity": {"user_specified_values": "SOMETIMES"}}}]}}]}');

--
-- Raw SQL
--
-- without onComplete, it must be the only operation
SELECT parse_error('{"operations": [{"drop_table": {"name": "t"}}, {"sql": {"up": "CREATE TABLE u (a int)"}}]}');
SELECT parse_error('{"operations": [{"sql": {"up": "UPDATE t SET a = 1", "down": "UPDATE t SET a = 0", "onComplete": true}}]}');
SELECT parse_error('{"operations": [{"sql": {"up": ""}}]}');
SELECT parse_error('{"operations": [{"sql": {"down": "DROP TABLE u"}}]}');

--
-- alter_column
--
SELECT parse_error('{"operations": [{"alter_column": {"table": "t", "column": "c", "up": "c", "down": "c"}}]}');
SELECT parse_error('{"operations": [{"alter_column": {"table": "t", "column": "c", "type": "bigint", "up": "c"}}]}');
SELECT parse_error('{"operations": [{"alter_column": {"table": "t", "column": "c", "unique": {}, "up": "c", "down": "c"}}]}');
SELECT parse_error('{"operations": [{"alter_column": {"table": "t", "column": "c", "nullable": false, "down": "c"}}]}');
SELECT parse_error('{"operations": [{"alter_column": {"table": "t", "column": "c", "nullable": true}}]}');

--
-- add_column
--
SELECT parse_error('{"operations": [{"add_column": {"table": "t", "column": {"name": "id", "type": "int", "pk": true, "default": "0"}}}]}');
SELECT parse_error('{"operations": [{"add_column": {"table": "t", "column": {"name": "c", "type": "int"}}}]}');
-- a serial or nullable column, or one with a default, needs no up
SELECT parse_error('{"operations": [{"add_column": {"table": "t", "column": {"name": "a", "type": "bigserial"}}}, {"add_column": {"table": "t", "column": {"name": "b", "type": "int", "nullable": true}}}, {"add_column": {"table": "t", "column": {"name": "c", "type": "int", "default": "0"}}}, {"add_column": {"table": "t", "column": {"name": "d", "type": "text"}, "up": ""}}]}');
-- generated: one form, not both, not neither
SELECT parse_error('{"operations": [{"create_table": {"name": "t", "columns": [{"name": "a", "type": "int", "generated": {"expression": "1", "identity": {}}}]}}]}');
SELECT parse_error('{"operations": [{"create_table": {"name": "t", "columns": [{"name": "a", "type": "int", "generated": {}}]}}]}');

--
-- create_constraint
--
SELECT parse_error('{"operations": [{"create_constraint": {"table": "t", "name": "c", "type": "unique", "columns": ["a", "b"], "up": {"a": "a", "b": "b"}, "down": {"a": "a"}}}]}');
SELECT parse_error('{"operations": [{"create_constraint": {"table": "t", "name": "c", "type": "unique", "columns": ["a"], "up": {"a": "a", "x": "x"}, "down": {"a": "a"}}}]}');
SELECT parse_error('{"operations": [{"create_constraint": {"table": "t", "name": "c", "type": "unique", "up": {}, "down": {}}}]}');
SELECT parse_error('{"operations": [{"create_constraint": {"table": "t", "name": "c", "type": "check", "columns": ["a"], "up": {"a": "a"}, "down": {"a": "a"}}}]}');
SELECT parse_error('{"operations": [{"create_constraint": {"table": "t", "name": "c", "type": "foreign_key", "columns": ["a"], "up": {"a": "a"}, "down": {"a": "a"}}}]}');

--
-- create_table constraints
--
SELECT parse_error('{"operations": [{"create_table": {"name": "t", "columns": [{"name": "id", "type": "int", "pk": true}], "constraints": [{"name": "t_pkey", "type": "primary_key", "columns": ["id"]}]}}]}');
SELECT parse_error('{"operations": [{"create_table": {"name": "t", "columns": [{"name": "id", "type": "int"}], "constraints": [{"name": "p1", "type": "primary_key", "columns": ["id"]}, {"name": "p2", "type": "primary_key", "columns": ["id"]}]}}]}');
SELECT parse_error('{"operations": [{"create_table": {"name": "t", "columns": [{"name": "a", "type": "int"}], "constraints": [{"name": "c", "type": "check", "check": "a > 0", "deferrable": true}]}}]}');
SELECT parse_error('{"operations": [{"create_table": {"name": "t", "columns": [{"name": "a", "type": "int"}], "constraints": [{"name": "c", "type": "unique"}]}}]}');
SELECT parse_error('{"operations": [{"create_table": {"name": "t", "columns": [{"name": "a", "type": "int"}], "constraints": [{"name": "x", "type": "exclude", "columns": ["a"], "exclude": {"elements": "a WITH ="}}]}}]}');
SELECT parse_error('{"operations": [{"create_table": {"name": "t", "columns": [{"name": "a", "type": "int"}], "constraints": [{"name": "fk", "type": "foreign_key", "columns": ["a"], "references": {"table": "u", "columns": ["id"], "on_delete": "CASCADE", "on_delete_set_columns": ["a"]}}]}}]}');
SELECT parse_error('{"operations": [{"create_table": {"name": "t", "columns": [{"name": "a", "type": "int"}], "constraints": [{"name": "fk", "type": "foreign_key", "columns": ["a"], "references": {"table": "u", "columns": ["id"], "on_delete": "set null", "on_delete_set_columns": ["b"]}}]}}]}');

\pset tuples_only off
\pset format aligned

-- Nothing was started, and no version schema was created.
SELECT status FROM mig.status();
SELECT count(*) AS version_schemas
FROM pg_namespace
WHERE nspname LIKE 'public\_%';

DROP FUNCTION parse_error(jsonb);
DROP EXTENSION migrate_ext;
