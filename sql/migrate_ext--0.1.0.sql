/* migrate_ext--0.1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION migrate_ext" to load this file. \quit

--
-- State: the history of migrations, one linear chain per schema.
--
CREATE TABLE @extschema@.migrations (
	schema				name NOT NULL,
	name				text NOT NULL,
	parent				text,
	migration			jsonb NOT NULL,
	status				text NOT NULL DEFAULT 'in_progress',
	created_at			timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_at			timestamptz NOT NULL DEFAULT pg_catalog.now(),
	resulting_schema	jsonb,
	started_by			regrole NOT NULL,	-- the background worker's role
	origin				text,	-- mig.origin() of the database that started it
	PRIMARY KEY (schema, name),
	FOREIGN KEY (schema, parent) REFERENCES @extschema@.migrations (schema, name),
	CONSTRAINT migrations_status_check
		CHECK (status OPERATOR(pg_catalog.=) ANY (ARRAY['in_progress', 'complete']))
);

COMMENT ON TABLE @extschema@.migrations IS
	'History of migrations: one linear chain per schema, at most one in progress.';

-- At most one active migration per schema, enforced by the database.
CREATE UNIQUE INDEX migrations_one_active
	ON @extschema@.migrations (schema)
	WHERE status OPERATOR(pg_catalog.=) 'in_progress';

-- History is linear: a migration has at most one child, a schema one root.
CREATE UNIQUE INDEX migrations_linear_history
	ON @extschema@.migrations (schema, parent);
CREATE UNIQUE INDEX migrations_one_root
	ON @extschema@.migrations (schema)
	WHERE parent IS NULL;

--
-- The contract (complete) and undo (rollback) steps recorded by start.
-- Steps name relations by OID and columns by attribute number, so they stay
-- right whatever renames the same migration makes.  Each step also keeps
-- the names its objects had when start finished ("table": schema-qualified,
-- "column", "object": a constraint's or index's name, a sequence's
-- schema-qualified), checked before any step runs: after a dump and
-- restore the OIDs and attribute numbers are another database's.
--
CREATE TABLE @extschema@.steps (
	schema		name NOT NULL,
	migration	text NOT NULL,
	phase		text NOT NULL,
	seq			integer NOT NULL,
	step		jsonb NOT NULL,
	PRIMARY KEY (schema, migration, phase, seq),
	FOREIGN KEY (schema, migration)
		REFERENCES @extschema@.migrations (schema, name) ON DELETE CASCADE,
	CONSTRAINT steps_phase_check
		CHECK (phase OPERATOR(pg_catalog.=) ANY (ARRAY['complete', 'rollback']))
);

COMMENT ON TABLE @extschema@.steps IS
	'Steps that complete or roll back the active migration of a schema.';

--
-- Dual write: per table of the active migration, the up and down rules its
-- trigger applies.  Each rule is {"direction": "up"|"down", "target":
-- attnum, "sql": expression, "names": [column name by attnum, or null]}:
-- the expression sees the columns under the names the version had when the
-- operation ran.
--
CREATE TABLE @extschema@.dual_writes (
	relid		oid PRIMARY KEY,
	relname		text,			-- schema-qualified, checked with relid
	columns		jsonb,			-- column names by attnum (null: dropped) at start
	schema		name NOT NULL,
	migration	text NOT NULL,
	old_version	text NOT NULL,
	new_version	text NOT NULL,
	rules		jsonb NOT NULL,
	FOREIGN KEY (schema, migration)
		REFERENCES @extschema@.migrations (schema, name) ON DELETE CASCADE
);

COMMENT ON TABLE @extschema@.dual_writes IS
	'The up and down rules of the dual-write trigger of each migrated table.';

--
-- Background jobs of the active migration of each schema, run in order
-- (index builds, then backfills, then validations) by a background worker
-- connected as the role that started the migration.  A backfill writes the
-- rows of a table that existed before its dual-write trigger (those whose
-- row version predates the snapshot "xmin:xmax:own xids:start command:xip",
-- own xids being the starting transaction's top and sub xids) in batches of
-- physical blocks, committing next_block with each batch.  An
-- index is declared at start (not ready, not valid) and built concurrently
-- by the job; a validation runs VALIDATE CONSTRAINT.  A drop_index job is
-- queued by complete and drops an index concurrently once complete has
-- committed.
--
CREATE TABLE @extschema@.job_queue (
	schema		name NOT NULL,
	migration	text NOT NULL,
	seq			integer NOT NULL,
	kind		text NOT NULL,
	relid		oid NOT NULL,
	objid		oid,
	relname		text,			-- names of relid and objid, checked with them
	objname		text,
	name		text,
	state		text NOT NULL DEFAULT 'pending',
	paused		boolean NOT NULL DEFAULT false,
	snapshot	text,
	next_block	bigint NOT NULL DEFAULT 0,
	end_block	bigint NOT NULL DEFAULT 0,
	rows_done	bigint NOT NULL DEFAULT 0,
	rows_total	bigint,
	relfilenode	oid,			-- the storage next_block refers to
	restarted_at timestamptz,	-- when a rewrite last restarted the pass
	attempts	integer NOT NULL DEFAULT 0,
	last_error	text,
	worker_pid	integer,
	started_at	timestamptz,
	finished_at	timestamptz,
	PRIMARY KEY (schema, migration, seq),
	FOREIGN KEY (schema, migration)
		REFERENCES @extschema@.migrations (schema, name) ON DELETE CASCADE,
	CONSTRAINT job_queue_kind_check
		CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['index', 'backfill', 'validate', 'drop_index'])),
	CONSTRAINT job_queue_state_check
		CHECK (state OPERATOR(pg_catalog.=) ANY (ARRAY['pending', 'running', 'done', 'failed']))
);

COMMENT ON TABLE @extschema@.job_queue IS
	'Background jobs of the active migrations: index builds, backfills and constraint validations.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.migrations', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.steps', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.dual_writes', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.job_queue', '');

--
-- The cluster and database the state is written in, "<system
-- identifier>/<database OID>": state restored from a dump into another
-- database does not match it.
--
CREATE FUNCTION @extschema@.origin()
RETURNS text
AS 'MODULE_PATHNAME', 'mig_origin'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.origin() IS
	'The system identifier and database OID that a migration''s recorded OIDs and snapshot belong to (internal).';

--
-- The version schema a migration creates: "<schema>_<version>", version
-- being "version_schema" when given, else the migration's name.
--
CREATE FUNCTION @extschema@.version_schema_name(schema name, migration text, document jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT schema::text OPERATOR(pg_catalog.||) '_'
		OPERATOR(pg_catalog.||) COALESCE(document OPERATOR(pg_catalog.->>) 'version_schema', migration)
$$;

-- The chain of migrations of a schema, newest first (depth 0 = latest).
CREATE FUNCTION @extschema@.history(schema name DEFAULT 'public',
	OUT depth integer, OUT name text, OUT status text, OUT version_schema text)
RETURNS SETOF record
LANGUAGE sql STABLE
AS $$
	WITH RECURSIVE chain AS (
		SELECT 0 AS depth, m.name, m.parent, m.status, m.migration
		FROM @extschema@.migrations m
		WHERE m.schema OPERATOR(pg_catalog.=) $1
		  AND NOT EXISTS (SELECT 1 FROM @extschema@.migrations c
						  WHERE c.schema OPERATOR(pg_catalog.=) m.schema
							AND c.parent OPERATOR(pg_catalog.=) m.name)
		UNION ALL
		SELECT chain.depth OPERATOR(pg_catalog.+) 1, m.name, m.parent, m.status, m.migration
		FROM chain
		JOIN @extschema@.migrations m
		  ON m.schema OPERATOR(pg_catalog.=) $1 AND m.name OPERATOR(pg_catalog.=) chain.parent
	)
	SELECT depth, name, status,
		   @extschema@.version_schema_name($1, name, migration)
	FROM chain
	ORDER BY depth
$$;

-- Version schemas that exist, newest first.
CREATE FUNCTION @extschema@.latest_version(schema name DEFAULT 'public')
RETURNS text
LANGUAGE sql STABLE
AS $$
	SELECT h.version_schema
	FROM @extschema@.history($1) h
	WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n
				  WHERE n.nspname OPERATOR(pg_catalog.=) h.version_schema)
	ORDER BY h.depth
	LIMIT 1
$$;

CREATE FUNCTION @extschema@.previous_version(schema name DEFAULT 'public')
RETURNS text
LANGUAGE sql STABLE
AS $$
	SELECT h.version_schema
	FROM @extschema@.history($1) h
	WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n
				  WHERE n.nspname OPERATOR(pg_catalog.=) h.version_schema)
	ORDER BY h.depth
	OFFSET 1 LIMIT 1
$$;

-- Whether the schema's jobs wait for a free background worker slot.
CREATE FUNCTION @extschema@.waiting_for_worker_slot(schema name)
RETURNS boolean
AS 'MODULE_PATHNAME', 'mig_waiting_for_worker_slot'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION @extschema@.waiting_for_worker_slot(name) IS
	'Whether the jobs of the schema wait for a free background worker slot (internal, used by mig.jobs).';

--
-- The background jobs of every active migration, with their progress.
-- A job running on the primary shows as running on a hot standby, which
-- has no worker of its own.
--
CREATE VIEW @extschema@.jobs AS
SELECT j.schema, j.migration, j.seq, j.kind,
	   COALESCE(j.relname,
				pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),
				j.relid::text) AS "table",
	   CASE j.kind WHEN 'validate'
			THEN COALESCE(j.objname, (SELECT co.conname::text COLLATE "default"
				  FROM pg_catalog.pg_constraint co WHERE co.oid = j.objid))
			WHEN 'drop_index'
			THEN COALESCE(j.objname, (SELECT ic.relname::text COLLATE "default"
				  FROM pg_catalog.pg_class ic WHERE ic.oid = j.objid))
			ELSE j.name END AS object,
	   CASE WHEN j.paused AND j.state IN ('pending', 'running') THEN 'paused'
			WHEN j.state IN ('pending', 'running') AND w.pid IS NULL
				 AND @extschema@.waiting_for_worker_slot(j.schema) THEN 'waiting for a worker slot'
			WHEN j.state = 'running' AND w.pid IS NULL
				 AND NOT pg_catalog.pg_is_in_recovery() THEN 'interrupted'
			ELSE j.state END AS state,
	   CASE WHEN j.kind = 'index' AND p.pid IS NOT NULL THEN p.tuples_done
			ELSE j.rows_done END AS rows_done,
	   CASE j.kind WHEN 'backfill' THEN j.rows_total
			WHEN 'index' THEN NULLIF(p.tuples_total, 0) END AS rows_total,
	   CASE WHEN j.kind = 'backfill' AND t.seconds > 0
			THEN round(j.rows_done / t.seconds) END AS rows_per_second,
	   CASE WHEN j.kind = 'backfill' AND j.state = 'running' AND w.pid IS NOT NULL
				 AND j.next_block > 0
			THEN pg_catalog.make_interval(secs => round(t.pass_seconds
				* (j.end_block - j.next_block) / j.next_block)) END AS time_left,
	   j.started_at, j.finished_at, j.attempts, j.last_error,
	   w.pid
FROM @extschema@.job_queue j
LEFT JOIN pg_catalog.pg_stat_activity w
  ON j.state = 'running' AND w.pid = j.worker_pid AND w.backend_type = 'migrate_ext worker'
LEFT JOIN pg_catalog.pg_class c ON c.oid = j.relid
LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_stat_progress_create_index p
  ON j.kind = 'index' AND j.state = 'running' AND p.pid = j.worker_pid AND p.relid = j.relid
CROSS JOIN LATERAL (SELECT EXTRACT(epoch FROM COALESCE(j.finished_at, pg_catalog.now())
									- j.started_at)::numeric AS seconds,
						   -- a rewrite restarts the pass over the blocks
						   EXTRACT(epoch FROM COALESCE(j.finished_at, pg_catalog.now())
									- COALESCE(j.restarted_at, j.started_at))::numeric AS pass_seconds) t;

COMMENT ON VIEW @extschema@.jobs IS
	'Background jobs of the active migrations (index builds, backfills, validations) and their progress.';

-- One line about the jobs of a schema's active migration, or NULL.
CREATE FUNCTION @extschema@.job_summary(schema name DEFAULT 'public')
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN count(*) = 0 THEN NULL ELSE
		count(*) FILTER (WHERE j.state = 'done') || ' of ' || count(*) || ' jobs done'
		|| COALESCE('; ' || string_agg(j.kind || ' ' || COALESCE(j.object || ' on ', '')
			|| j."table" || ': ' || j.state
			|| CASE WHEN j.kind = 'backfill' AND j.state <> 'failed'
					THEN ' (' || j.rows_done || COALESCE(' of about ' || j.rows_total, '')
						 || ' rows' || COALESCE(', ' || j.time_left || ' left', '') || ')'
					ELSE '' END
			|| CASE WHEN j.state IN ('failed', 'pending', 'running', 'paused') AND j.last_error IS NOT NULL
					THEN ': ' || j.last_error ELSE '' END,
			'; ' ORDER BY j.seq) FILTER (WHERE j.state <> 'done'), '')
	END
	FROM @extschema@.jobs j
	JOIN @extschema@.migrations m ON m.schema = j.schema AND m.name = j.migration
	WHERE j.schema = $1 AND m.status = 'in_progress'
$$;

-- Start a background worker for the schema's unfinished jobs if none runs
-- them (after a server restart without the launcher, or a worker's death).
CREATE FUNCTION @extschema@.ensure_worker(schema name DEFAULT 'public')
RETURNS boolean
AS 'MODULE_PATHNAME', 'mig_ensure_worker'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION @extschema@.ensure_worker(name) IS
	'Starts a background worker for unfinished jobs that have none (internal, called by mig.status).';

-- pgroll's status ("No migrations", "In progress" or "Complete"), the
-- phase of an active migration and a summary of its jobs.
CREATE FUNCTION @extschema@.status(schema name DEFAULT 'public',
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
	LEFT JOIN @extschema@.history($1) h ON h.depth OPERATOR(pg_catalog.=) 0
	WHERE @extschema@.ensure_worker($1)
$$;

-- A snapshot of a schema's tables, stored with each completed migration.
CREATE FUNCTION @extschema@.read_schema(schema name DEFAULT 'public')
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
	SELECT pg_catalog.jsonb_build_object(
		'name', $1,
		'tables', COALESCE(pg_catalog.jsonb_object_agg(c.relname, pg_catalog.jsonb_build_object(
			'name', c.relname,
			'oid', c.oid::text,
			'comment', pg_catalog.obj_description(c.oid, 'pg_class'),
			'columns', (
				SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
					'name', a.attname,
					'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
					'default', pg_catalog.pg_get_expr(d.adbin, d.adrelid),
					'nullable', NOT a.attnotnull,
					'comment', pg_catalog.col_description(c.oid, a.attnum))
					ORDER BY a.attnum), '[]')
				FROM pg_catalog.pg_attribute a
				LEFT JOIN pg_catalog.pg_attrdef d
				  ON d.adrelid OPERATOR(pg_catalog.=) a.attrelid
				 AND d.adnum OPERATOR(pg_catalog.=) a.attnum
				WHERE a.attrelid OPERATOR(pg_catalog.=) c.oid
				  AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped),
			'constraints', (
				SELECT COALESCE(pg_catalog.jsonb_object_agg(co.conname,
					pg_catalog.pg_get_constraintdef(co.oid)), '{}')
				FROM pg_catalog.pg_constraint co
				WHERE co.conrelid OPERATOR(pg_catalog.=) c.oid),
			'indexes', (
				SELECT COALESCE(pg_catalog.jsonb_object_agg(ic.relname,
					pg_catalog.pg_get_indexdef(i.indexrelid)), '{}')
				FROM pg_catalog.pg_index i
				JOIN pg_catalog.pg_class ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid
				WHERE i.indrelid OPERATOR(pg_catalog.=) c.oid))), '{}'))
	FROM pg_catalog.pg_class c
	WHERE c.relnamespace OPERATOR(pg_catalog.=) (SELECT n.oid FROM pg_catalog.pg_namespace n
								 WHERE n.nspname OPERATOR(pg_catalog.=) $1)
	  AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[])
$$;

--
-- The migration lifecycle.
--
CREATE FUNCTION @extschema@.start(name text, migration jsonb, schema name DEFAULT 'public')
RETURNS text
AS 'MODULE_PATHNAME', 'mig_start'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION @extschema@.start(text, jsonb, name) IS
	'Starts a migration: expands the schema and creates the new version schema.';

CREATE FUNCTION @extschema@.complete(schema name DEFAULT 'public')
RETURNS text
AS 'MODULE_PATHNAME', 'mig_complete'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION @extschema@.complete(name) IS
	'Completes the active migration: contracts the schema and drops the previous version schema.';

CREATE FUNCTION @extschema@.rollback(schema name DEFAULT 'public')
RETURNS text
AS 'MODULE_PATHNAME', 'mig_rollback'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION @extschema@.rollback(name) IS
	'Rolls back the active migration: undoes its expand and drops its version schema.';

--
-- DROP EXTENSION migrate_ext CASCADE (or DROP SCHEMA mig CASCADE, or DROP
-- OWNED BY its owner CASCADE) first rolls back every migration in progress,
-- in the same transaction; without CASCADE it fails while one is in
-- progress.  An event trigger, so that it fires whether or not the session
-- has loaded the library, and ENABLE ALWAYS, so that it fires with
-- session_replication_role = replica too.
--
CREATE FUNCTION @extschema@.drop_guard()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'mig_drop_guard'
LANGUAGE C;

COMMENT ON FUNCTION @extschema@.drop_guard() IS
	'Event trigger: rolls back the migrations in progress before the extension is dropped (internal).';

REVOKE ALL ON FUNCTION @extschema@.drop_guard() FROM PUBLIC;

CREATE EVENT TRIGGER migrate_ext_drop_guard ON ddl_command_start
	WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
	EXECUTE FUNCTION @extschema@.drop_guard();
ALTER EVENT TRIGGER migrate_ext_drop_guard ENABLE ALWAYS;

--
-- Privileges: anyone may call the functions (each checks that the caller
-- may migrate the schema it names) and read the history; only the
-- extension's functions write the state tables.
--
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;
GRANT SELECT ON @extschema@.migrations, @extschema@.steps,
	@extschema@.dual_writes, @extschema@.job_queue, @extschema@.jobs TO PUBLIC;

--
-- Dual write and backfill.
--
CREATE FUNCTION @extschema@.dual_write()
RETURNS trigger
AS 'MODULE_PATHNAME', 'mig_dual_write'
LANGUAGE C;

COMMENT ON FUNCTION @extschema@.dual_write() IS
	'Trigger that keeps the old and new versions of a migrated table in step.';

CREATE FUNCTION @extschema@.row_predates(xid, cid, text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'mig_row_predates'
LANGUAGE C STRICT STABLE;

COMMENT ON FUNCTION @extschema@.row_predates(xid, cid, text) IS
	'Whether a row version was written before the given snapshot (internal, used by the backfill).';

-- A table rewrite gives every row a new xid, after which a backfill cannot
-- tell the rows that predate its migration: refused while one is unfinished
-- (VACUUM FULL and CLUSTER keep the xids; the backfill restarts its pass).
CREATE FUNCTION @extschema@.refuse_table_rewrite()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'mig_refuse_table_rewrite'
LANGUAGE C;

CREATE EVENT TRIGGER migrate_ext_refuse_table_rewrite ON table_rewrite
	EXECUTE FUNCTION @extschema@.refuse_table_rewrite();
ALTER EVENT TRIGGER migrate_ext_refuse_table_rewrite ENABLE ALWAYS;

-- A table with dual-write rules may not gain a parent or a child while its
-- migration is active (CREATE TABLE ... INHERITS / PARTITION OF, ALTER TABLE
-- ... INHERIT / ATTACH PARTITION): trigger and backfill would not reach it.
CREATE FUNCTION @extschema@.refuse_new_inheritance()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'mig_refuse_new_inheritance'
LANGUAGE C;

CREATE EVENT TRIGGER migrate_ext_refuse_new_inheritance ON ddl_command_end
	WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
	EXECUTE FUNCTION @extschema@.refuse_new_inheritance();
ALTER EVENT TRIGGER migrate_ext_refuse_new_inheritance ENABLE ALWAYS;

-- A table with dual-write rules may not gain a BEFORE INSERT or UPDATE row
-- trigger that fires after the dual-write trigger (CREATE TRIGGER, ALTER
-- TRIGGER ... RENAME to a name that sorts after it): it could change a row
-- after the other version's columns were computed from it.
CREATE FUNCTION @extschema@.refuse_late_trigger()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'mig_refuse_late_trigger'
LANGUAGE C;

CREATE EVENT TRIGGER migrate_ext_refuse_late_trigger ON ddl_command_end
	WHEN TAG IN ('CREATE TRIGGER', 'ALTER TRIGGER')
	EXECUTE FUNCTION @extschema@.refuse_late_trigger();
ALTER EVENT TRIGGER migrate_ext_refuse_late_trigger ENABLE ALWAYS;

CREATE PROCEDURE @extschema@.backfill(schema name DEFAULT 'public', batch_size integer DEFAULT NULL)
AS 'MODULE_PATHNAME', 'mig_backfill'
LANGUAGE C;

COMMENT ON PROCEDURE @extschema@.backfill(name, integer) IS
	'Runs the backfills of the active migration in the foreground, committing each batch.';

--
-- Background jobs: waiting for them, pausing and resuming them.
--
CREATE PROCEDURE @extschema@.wait(schema name DEFAULT 'public', timeout interval DEFAULT NULL)
AS 'MODULE_PATHNAME', 'mig_wait'
LANGUAGE C;

COMMENT ON PROCEDURE @extschema@.wait(name, interval) IS
	'Waits, holding no snapshot, until the jobs of the active migration are done; fails if one failed.';

CREATE FUNCTION @extschema@.pause(schema name DEFAULT 'public')
RETURNS text
AS 'MODULE_PATHNAME', 'mig_pause'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION @extschema@.pause(name) IS
	'Pauses the background jobs of the active migration after their current batch.';

CREATE FUNCTION @extschema@.resume(schema name DEFAULT 'public')
RETURNS text
AS 'MODULE_PATHNAME', 'mig_resume'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION @extschema@.resume(name) IS
	'Resumes the paused or failed background jobs of the active migration.';

--
-- The guard of a new version's view while its table's backfill is
-- unfinished: true for a row version written after start, or once the
-- backfill is done; an error with the backfill's progress for a row the
-- backfill has not reached.  Its support function says it keeps every row.
--
CREATE FUNCTION @extschema@.version_ready_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'mig_version_ready_support'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.version_ready(schema name, migration text, version name,
	view name, "table" regclass, token text, row_xmin xid, row_cmin cid)
RETURNS boolean
AS 'MODULE_PATHNAME', 'mig_version_ready'
LANGUAGE C STABLE PARALLEL SAFE COST 10
SUPPORT @extschema@.version_ready_support;

COMMENT ON FUNCTION @extschema@.version_ready(name, text, name, name, regclass, text, xid, cid) IS
	'Whether the new version may show a row of a table whose backfill is unfinished: raises an error for a row the backfill has not reached (internal, used by the views).';

--
-- Dry run: mig.start's checks against the live schema, then everything is
-- rolled back (a subtransaction), so nothing changes.  Returns the error
-- that would stop the migration, with its SQLSTATE; no row when it would
-- start.  It takes and releases the locks start takes (each wait bounded by
-- migrate_ext.lock_timeout).  Used by the client's "validate" command.
--
CREATE FUNCTION @extschema@.validate(name text, migration jsonb,
	schema name DEFAULT 'public',
	OUT sqlstate text, OUT message text, OUT detail text, OUT hint text)
RETURNS SETOF record
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	e_state text;
	e_message text;
	e_detail text;
	e_hint text;
BEGIN
	BEGIN
		PERFORM @extschema@.start($1, $2, $3);
		-- it would start: undo it all
		RAISE EXCEPTION USING ERRCODE = 'MIGOK';
	EXCEPTION
		WHEN SQLSTATE 'MIGOK' THEN
			RETURN;
		WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE,
				e_message = MESSAGE_TEXT, e_detail = PG_EXCEPTION_DETAIL,
				e_hint = PG_EXCEPTION_HINT;
	END;
	RETURN QUERY SELECT e_state, e_message, NULLIF(e_detail, ''), NULLIF(e_hint, '');
END
$$;

COMMENT ON FUNCTION @extschema@.validate(text, jsonb, name) IS
	'Checks a migration against the live schema as mig.start would, then rolls back: returns the error that would stop it, or no row.';
