-- A key that the constraint type does not allow is reported as a malformed
-- document (22023) before anything in the document is parsed as SQL (issue
-- 17, item 7): a primary_key constraint with a "check" key was reported as
-- a SQL syntax error (42601) when the check did not parse.  Same for
-- create_table's constraints, and for an "exclude" on a unique constraint.
-- A key the type allows is still parsed, and a syntax error in it is still
-- 42601.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(6);

CREATE TABLE public.t (id integer PRIMARY KEY, a integer);

SELECT throws_ok(
	$$SELECT mig.start('02_x', '{"operations": [{"create_constraint": {"table": "t", "name": "t_pk2",
		"type": "primary_key", "columns": ["a"], "check": "a >",
		"up": {"a": "a"}, "down": {"a": "a"}}}]}')$$,
	'22023', 'invalid migration "02_x": operations[0] (create_constraint): key "check" is not allowed for a constraint of type "primary_key"',
	'create_constraint: a check key on a primary key is a malformed document, before its SQL is parsed');
SELECT throws_ok(
	$$SELECT mig.start('02_x', '{"operations": [{"create_constraint": {"table": "t", "name": "t_u",
		"type": "unique", "columns": ["a"], "references": {"table": "t", "columns": ["id"]},
		"up": {"a": "a"}, "down": {"a": "a"}}}]}')$$,
	'22023', NULL,
	'create_constraint: references on a unique constraint is a malformed document');
SELECT throws_ok(
	$$SELECT mig.start('02_x', '{"operations": [{"create_table": {"name": "n", "columns": [
		{"name": "id", "type": "integer"}],
		"constraints": [{"name": "n_u", "type": "unique", "columns": ["id"], "check": "id >"}]}}]}')$$,
	'22023', NULL,
	'create_table: a check key on a unique constraint is a malformed document');
SELECT throws_ok(
	$$SELECT mig.start('02_x', '{"operations": [{"create_table": {"name": "n", "columns": [
		{"name": "id", "type": "integer"}],
		"constraints": [{"name": "n_u", "type": "unique", "columns": ["id"],
		 "exclude": {"elements": "id WITH ="}}]}}]}')$$,
	'22023', NULL,
	'create_table: an exclude key on a unique constraint is a malformed document');
SELECT throws_ok(
	$$SELECT mig.start('02_x', '{"operations": [{"create_constraint": {"table": "t", "name": "t_c",
		"type": "check", "columns": ["a"], "check": "a >",
		"up": {"a": "a"}, "down": {"a": "a"}}}]}')$$,
	'42601', NULL,
	'a syntax error in a check the type allows is still a syntax error');
SELECT is((SELECT count(*)::int FROM mig.migrations), 0, 'nothing started');

SELECT * FROM finish();
ROLLBACK;
