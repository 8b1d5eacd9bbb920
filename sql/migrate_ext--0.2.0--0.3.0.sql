/* migrate_ext--0.2.0--0.3.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION migrate_ext UPDATE TO '0.3.0'" to load this file. \quit

--
-- Every update script must work while a migration is in progress: ALTER
-- EXTENSION ... UPDATE is not refused then (README, "Upgrading
-- migrate_ext").  Change the state tables only in ways the library of the
-- previous version and of this one both read.
--

-- Issue 19: mig.convert and mig.lint
--
-- SQL DDL, parsed with the server's own parser, turned into a migration
-- document (the client's "convert"), and linted for what is unsafe while
-- applications run (also done to each "sql" operation by mig.start).
--
CREATE FUNCTION @extschema@.convert(sql text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'mig_convert'
LANGUAGE C STABLE STRICT;

COMMENT ON FUNCTION @extschema@.convert(text) IS
	'Turns SQL DDL into a migration document with the operations pgroll''s convert writes.';

CREATE FUNCTION @extschema@.lint(sql text,
	OUT rule text, OUT statement text, OUT message text, OUT hint text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mig_lint'
LANGUAGE C STABLE STRICT;

COMMENT ON FUNCTION @extschema@.lint(text) IS
	'The statements of SQL that are unsafe while applications run: rule, statement, why, and the operation that does it safely.';

CREATE FUNCTION @extschema@.lint_rules(
	OUT rule text, OUT message text, OUT hint text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mig_lint_rules'
LANGUAGE C IMMUTABLE;

COMMENT ON FUNCTION @extschema@.lint_rules() IS
	'The rules of mig.lint, with why each statement is unsafe and the operation that does it safely.';
