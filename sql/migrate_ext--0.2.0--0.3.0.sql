/* migrate_ext--0.2.0--0.3.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION migrate_ext UPDATE TO '0.3.0'" to load this file. \quit

--
-- Every update script must work while a migration is in progress: ALTER
-- EXTENSION ... UPDATE is not refused then (README, "Upgrading
-- migrate_ext").  Change the state tables only in ways the library of the
-- previous version and of this one both read.
--

--
-- Issue 19: DDL run outside migrations
--
-- DDL run by hand or by an ORM in a schema with a history is recorded there
-- as an inferred migration (src/ddl_capture.c), as pgroll records it: its
-- migration_type is 'inferred', the other rows' 'pgroll' ('baseline' is
-- pgroll's third kind, not made here).  A column with a constant default
-- is added without a rewrite, and the library of 0.2.0 never names it, so
-- this works in the middle of a migration.
--
ALTER TABLE @extschema@.migrations
	ADD COLUMN migration_type text NOT NULL DEFAULT 'pgroll',
	ADD CONSTRAINT migrations_migration_type_check
		CHECK (migration_type OPERATOR(pg_catalog.=) ANY (ARRAY['pgroll', 'inferred', 'baseline']));

-- The history gains each migration's type; an inferred migration has no
-- version schema (NULL), so the latest and previous versions, which must
-- exist, skip it.
DROP FUNCTION @extschema@.history(name);

CREATE FUNCTION @extschema@.history(schema name DEFAULT 'public',
	OUT depth integer, OUT name text, OUT status text, OUT version_schema text,
	OUT migration_type text)
RETURNS SETOF record
LANGUAGE sql STABLE
AS $$
	WITH RECURSIVE chain AS (
		SELECT 0 AS depth, m.name, m.parent, m.status, m.migration, m.migration_type
		FROM @extschema@.migrations m
		WHERE m.schema OPERATOR(pg_catalog.=) $1
		  AND NOT EXISTS (SELECT 1 FROM @extschema@.migrations c
						  WHERE c.schema OPERATOR(pg_catalog.=) m.schema
							AND c.parent OPERATOR(pg_catalog.=) m.name)
		UNION ALL
		SELECT chain.depth OPERATOR(pg_catalog.+) 1, m.name, m.parent, m.status, m.migration,
			   m.migration_type
		FROM chain
		JOIN @extschema@.migrations m
		  ON m.schema OPERATOR(pg_catalog.=) $1 AND m.name OPERATOR(pg_catalog.=) chain.parent
	)
	SELECT depth, name, status,
		   CASE WHEN migration_type OPERATOR(pg_catalog.<>) 'inferred'
				THEN @extschema@.version_schema_name($1, name, migration) END,
		   migration_type
	FROM chain
	ORDER BY depth
$$;

COMMENT ON FUNCTION @extschema@.history(name) IS
	'The chain of migrations of a schema, newest first (depth 0 = latest), inferred ones (DDL run outside migrations) included.';

-- pgroll's status reports the latest migration of its own: DDL recorded
-- since (inferred migrations) changes neither the version, the status nor
-- the migration it names.
CREATE OR REPLACE FUNCTION @extschema@.status(schema name DEFAULT 'public',
	OUT schema name, OUT version text, OUT status text, OUT migration text,
	OUT phase text, OUT jobs text)
RETURNS record
LANGUAGE sql VOLATILE
AS $$
	SELECT $1,
		   (SELECT COALESCE(m.migration OPERATOR(pg_catalog.->>) 'version_schema', m.name)
			FROM @extschema@.migrations m
			WHERE m.schema OPERATOR(pg_catalog.=) $1
			  AND m.name OPERATOR(pg_catalog.=) h.name),
		   CASE WHEN h.name IS NULL THEN 'No migrations'
				WHEN h.status OPERATOR(pg_catalog.=) 'in_progress' THEN 'In progress'
				ELSE 'Complete' END,
		   h.name,
		   CASE WHEN h.name IS NULL OR h.status OPERATOR(pg_catalog.<>) 'in_progress' THEN NULL
				WHEN EXISTS (SELECT 1 FROM @extschema@.jobs j
							 WHERE j.schema OPERATOR(pg_catalog.=) $1
							   AND j.migration OPERATOR(pg_catalog.=) h.name
							   AND j.state OPERATOR(pg_catalog.=) 'failed') THEN 'jobs failed'
				WHEN EXISTS (SELECT 1 FROM @extschema@.jobs j
							 WHERE j.schema OPERATOR(pg_catalog.=) $1
							   AND j.migration OPERATOR(pg_catalog.=) h.name
							   AND j.state OPERATOR(pg_catalog.=) 'paused') THEN 'jobs paused'
				WHEN EXISTS (SELECT 1 FROM @extschema@.jobs j
							 WHERE j.schema OPERATOR(pg_catalog.=) $1
							   AND j.migration OPERATOR(pg_catalog.=) h.name
							   AND j.state OPERATOR(pg_catalog.=) 'waiting for a worker slot')
					THEN 'waiting for a worker slot'
				WHEN EXISTS (SELECT 1 FROM @extschema@.jobs j
							 WHERE j.schema OPERATOR(pg_catalog.=) $1
							   AND j.migration OPERATOR(pg_catalog.=) h.name
							   AND j.state OPERATOR(pg_catalog.<>) 'done') THEN 'running jobs'
				ELSE 'ready to complete' END,
		   @extschema@.job_summary($1)
	FROM (SELECT 1) AS one
	LEFT JOIN LATERAL (SELECT l.name, l.status
					   FROM @extschema@.history($1) l
					   WHERE l.migration_type OPERATOR(pg_catalog.<>) 'inferred'
					   ORDER BY l.depth
					   LIMIT 1) h ON true
	WHERE @extschema@.ensure_worker($1)
$$;
