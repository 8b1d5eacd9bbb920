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
-- Logical replication of migrations (README, "Logical replication").
--
-- Logical replication carries rows, not DDL.  Each start, complete and
-- rollback that changes the columns of a published table records the
-- changes here, in its own transaction; a subscriber that has the extension
-- receives the row in commit order, between the last change made under the
-- old layout and the first made under the new one, and its trigger (enabled
-- for replicated changes only) makes the same changes to its tables.
--
CREATE TABLE @extschema@.replication_events (
	origin		text NOT NULL DEFAULT @extschema@.origin(),	-- the database that recorded it
	id			bigserial,
	schema		name NOT NULL,
	migration	text NOT NULL,
	phase		text NOT NULL,
	changes		jsonb NOT NULL,
	recorded_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	applied_at	timestamptz,	-- set where a subscriber applied it
	-- ids are the recording database's: a subscriber may hold events of
	-- several publishers, and the same event through several subscriptions
	PRIMARY KEY (origin, id),
	CONSTRAINT replication_events_phase_check
		CHECK (phase OPERATOR(pg_catalog.=) ANY (ARRAY['start', 'complete', 'rollback']))
);
REVOKE ALL ON @extschema@.replication_events FROM PUBLIC;
GRANT SELECT ON @extschema@.replication_events TO PUBLIC;

-- 'apply' in a logical replication worker applying changes, 'initial_sync'
-- in one copying a table's initial contents, NULL elsewhere.
CREATE FUNCTION @extschema@.replication_context()
RETURNS text
AS 'MODULE_PATHNAME', 'mig_replication_context'
LANGUAGE C STABLE PARALLEL SAFE;

-- In a logical replication worker, the publications its subscription
-- receives; NULL elsewhere.
CREATE FUNCTION @extschema@.replication_publications()
RETURNS text[]
AS 'MODULE_PATHNAME', 'mig_replication_publications'
LANGUAGE C STABLE PARALLEL SAFE;

-- The published ordinary tables of a schema: {oid: {name, publications,
-- columns:
-- [[attnum, name, type, missing value], ...], primary_key: [names]}}.
-- Types are printed with only pg_catalog on the search path, so that
-- every other type is schema-qualified.
CREATE FUNCTION @extschema@._replication_tables(schema name)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH published AS (
		SELECT c.oid, jsonb_agg(DISTINCT pt.pubname) AS publications
		  FROM pg_publication_tables pt
		  JOIN pg_namespace n ON n.nspname = pt.schemaname
		  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
		 WHERE pt.schemaname = $1 AND c.relkind = 'r'
		 GROUP BY c.oid
	)
	SELECT coalesce(jsonb_object_agg(c.oid::text, jsonb_build_object(
		'name', c.relname,
		'publications', p.publications,
		'columns', (SELECT jsonb_agg(jsonb_build_array(a.attnum, a.attname,
									 format_type(a.atttypid, a.atttypmod),
									 CASE WHEN a.atthasmissing
										  THEN (a.attmissingval::text::text[])[1] END)
									 ORDER BY a.attnum)
					  FROM pg_attribute a
					 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
		'primary_key', (SELECT jsonb_agg(a.attname ORDER BY k.ord)
						  FROM pg_index i
						 CROSS JOIN unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
						  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
						 WHERE i.indrelid = c.oid AND i.indisprimary))), '{}')
	  FROM published p JOIN pg_class c ON c.oid = p.oid
$$;

-- Compare the schema's published tables with "before" and record what the
-- phase changed.  A start or complete that changes a table whose
-- publication does not carry the events, or carries the table with a
-- column list or a row filter, is refused: its subscribers could not
-- follow.  A rollback is never refused (columns it drops that a subscriber
-- keeps do no harm there).
CREATE FUNCTION @extschema@._replication_record(schema name, migration text,
												phase text, before jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	after jsonb := @extschema@._replication_tables(schema);
	changes jsonb := '[]';
	changed name[] := '{}';
	rel text;
	b jsonb;
	a jsonb;
	bcol jsonb;
	acol jsonb;
	drops jsonb;
	renames jsonb;
	retypes jsonb;
	adds jsonb;
	entry jsonb;
	pub name;
	tbl name;
	what text;
	missing text;
BEGIN
	FOR rel IN SELECT k FROM jsonb_object_keys(before || after) AS k ORDER BY k::oid LOOP
		b := before -> rel;
		a := after -> rel;
		IF b IS NULL THEN
			entry := jsonb_build_object('action', 'create', 'table', a ->> 'name',
										'publications', a -> 'publications',
										'columns', a -> 'columns',
										'primary_key', a -> 'primary_key');
			changed := changed || (a ->> 'name')::name;
		ELSIF a IS NULL THEN
			-- no longer published, but still there: nothing to tell
			CONTINUE WHEN EXISTS (SELECT FROM pg_class WHERE oid = rel::oid);
			entry := jsonb_build_object('action', 'drop', 'table', b ->> 'name',
										'publications', b -> 'publications');
		ELSE
			drops := '[]';
			renames := '[]';
			retypes := '[]';
			adds := '[]';
			FOR bcol IN SELECT * FROM jsonb_array_elements(b -> 'columns') LOOP
				SELECT x INTO acol FROM jsonb_array_elements(a -> 'columns') AS x
				 WHERE x -> 0 = bcol -> 0;
				IF acol IS NULL THEN
					drops := drops || jsonb_build_array(bcol -> 1);
				ELSE
					IF acol -> 1 <> bcol -> 1 THEN
						renames := renames || jsonb_build_array(jsonb_build_array(bcol -> 1, acol -> 1));
					END IF;
					IF acol -> 2 <> bcol -> 2 THEN
						retypes := retypes || jsonb_build_array(jsonb_build_array(acol -> 1, acol -> 2));
					END IF;
				END IF;
			END LOOP;
			FOR acol IN SELECT * FROM jsonb_array_elements(a -> 'columns') LOOP
				IF NOT EXISTS (SELECT FROM jsonb_array_elements(b -> 'columns') AS x
								WHERE x -> 0 = acol -> 0) THEN
					missing := acol ->> 3;
					-- a default PostgreSQL could not store once (a domain
					-- with a CHECK) was written into every row by a rewrite:
					-- the rows there before, which nobody else can have
					-- changed under this phase's lock, all have it
					IF missing IS NULL AND EXISTS (SELECT FROM pg_attrdef
													WHERE adrelid = rel::oid
													  AND adnum = (acol ->> 0)::int2) THEN
						EXECUTE format('SELECT %I::text FROM %I.%I LIMIT 1',
									   acol ->> 1, schema, a ->> 'name') INTO missing;
					END IF;
					adds := adds || jsonb_build_array(jsonb_build_array(acol -> 1, acol -> 2, missing));
				END IF;
			END LOOP;
			CONTINUE WHEN drops = '[]' AND renames = '[]' AND retypes = '[]' AND adds = '[]'
				AND a -> 'name' = b -> 'name';
			entry := jsonb_build_object('action', 'alter', 'table', b ->> 'name',
										'publications', (SELECT jsonb_agg(DISTINCT x)
														   FROM jsonb_array_elements(
																(b -> 'publications') || (a -> 'publications')) AS x),
										'drop', drops, 'rename', renames,
										'retype', retypes, 'add', adds,
										'primary_key', a -> 'primary_key');
			IF a -> 'name' <> b -> 'name' THEN
				entry := entry || jsonb_build_object('rename_to', a ->> 'name');
			END IF;
			changed := changed || (a ->> 'name')::name;
		END IF;
		changes := changes || jsonb_build_array(entry);
	END LOOP;
	IF changes = '[]' THEN
		RETURN;
	END IF;

	IF phase <> 'rollback' THEN
		SELECT pt.pubname, pt.tablename INTO pub, tbl
		  FROM pg_publication_tables pt
		 WHERE pt.schemaname = schema AND pt.tablename = ANY (changed)
		   AND NOT EXISTS (SELECT FROM pg_publication_tables e
							WHERE e.pubname = pt.pubname
							  AND e.schemaname = '@extschema@'
							  AND e.tablename = 'replication_events')
		 ORDER BY 1, 2 LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION USING ERRCODE = '0A000',
				MESSAGE = format('cannot %s migration "%s": table "%s.%s" is published by publication "%s", which does not publish @extschema@.replication_events',
								 phase, migration, schema, tbl, pub),
				DETAIL = 'Logical replication does not carry the migration''s changes to the table''s columns; subscribers follow them through the events the migration records in @extschema@.replication_events.',
				HINT = format('Run ALTER PUBLICATION %I ADD TABLE @extschema@.replication_events, install migrate_ext on each subscriber and refresh its subscription (README, "Logical replication").', pub);
		END IF;
		SELECT pt.pubname, pt.tablename INTO pub, tbl
		  FROM pg_publication_tables pt
		  JOIN pg_publication p ON p.pubname = pt.pubname
		 WHERE pt.schemaname = schema AND pt.tablename = ANY (changed)
		   AND NOT (p.pubinsert AND p.pubupdate)
		 ORDER BY 1, 2 LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION USING ERRCODE = '0A000',
				MESSAGE = format('cannot %s migration "%s": publication "%s" publishes table "%s.%s" without its inserts or updates',
								 phase, migration, pub, schema, tbl),
				DETAIL = 'The backfill writes the new columns as updates, and subscribers learn of the migration''s changes from an inserted event; a subscriber that receives neither would lose the values of altered columns at complete.',
				HINT = format('Publish inserts and updates (ALTER PUBLICATION %I SET (publish = ''insert, update, delete'')) for the duration of the migration, or publish the table from another publication.', pub);
		END IF;
		SELECT p.pubname, c.relname,
			   CASE WHEN pr.prattrs IS NOT NULL THEN 'a column list' ELSE 'a row filter' END
		  INTO pub, tbl, what
		  FROM pg_publication_rel pr
		  JOIN pg_publication p ON p.oid = pr.prpubid
		  JOIN pg_class c ON c.oid = pr.prrelid
		  JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname = schema AND c.relname = ANY (changed)
		   AND (pr.prattrs IS NOT NULL OR pr.prqual IS NOT NULL)
		 ORDER BY 1, 2 LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION USING ERRCODE = '0A000',
				MESSAGE = format('cannot %s migration "%s": publication "%s" publishes table "%s.%s" with %s',
								 phase, migration, pub, schema, tbl, what),
				DETAIL = 'The columns a migration adds, renames and drops cannot be followed through a column list or a row filter.',
				HINT = format('Publish the whole table for the duration of the migration (ALTER PUBLICATION %I SET TABLE ...), or publish it from another publication.', pub);
		END IF;
	END IF;

	-- drops first, then changes, then new tables: a table dropped and one
	-- created under its name (drop_table then create_table) both work
	SELECT jsonb_agg(e ORDER BY CASE e ->> 'action' WHEN 'drop' THEN 0
												  WHEN 'alter' THEN 1 ELSE 2 END, o)
	  INTO changes
	  FROM jsonb_array_elements(changes) WITH ORDINALITY AS x(e, o);
	INSERT INTO @extschema@.replication_events (schema, migration, phase, changes)
	VALUES (schema, migration, phase, changes);
END
$$;
REVOKE ALL ON FUNCTION @extschema@._replication_record(name, text, text, jsonb) FROM PUBLIC;

-- A type name from an event, checked to be one (the parser of type names
-- accepts nothing else) before it is written into DDL.
CREATE FUNCTION @extschema@._replication_type(name text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM name::regtype;
	RETURN name;
END
$$;

-- On a subscriber: make the changes an event describes, when the event
-- arrives by replication (not in a table's initial copy, which carries the
-- events of the past, nor when inserted by hand).  Each change is made
-- only if it is still to make, so that an event can be applied again after
-- a subscriber's table was fixed by hand; anything else that does not
-- match the subscriber's table is an error, which stops the subscription
-- at this event (it retries) instead of letting it apply rows wrongly.
CREATE FUNCTION @extschema@.replication_apply()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	change jsonb;
	tbl text;
	qtbl text;
	col jsonb;
	cols text;
	i int;
	pk text;
	ctx text := @extschema@.replication_context();
	duplicate bool;
BEGIN
	IF ctx IS NULL THEN
		RETURN NEW;
	END IF;
	-- the same event through another subscription, or copied again; two
	-- subscriptions applying it at once take turns, the second sees the first
	PERFORM pg_advisory_xact_lock(hashtext('migrate_ext.replication_events'),
								  hashtext(NEW.origin || '/' || NEW.id));
	duplicate := EXISTS (SELECT FROM @extschema@.replication_events e
						  WHERE e.origin = NEW.origin AND e.id = NEW.id);
	IF ctx = 'initial_sync' THEN
		RETURN CASE WHEN duplicate THEN NULL ELSE NEW END;
	END IF;
	FOR change IN SELECT * FROM jsonb_array_elements(NEW.changes) LOOP
		-- only tables this subscription receives
		CONTINUE WHEN NOT EXISTS (
			SELECT FROM jsonb_array_elements_text(change -> 'publications') AS p
			 WHERE p = ANY (@extschema@.replication_publications()));
		tbl := change ->> 'table';
		qtbl := format('%I.%I', NEW.schema, tbl);
		CASE change ->> 'action'
		WHEN 'drop' THEN
			EXECUTE format('DROP TABLE IF EXISTS %s', qtbl);
		WHEN 'create' THEN
			CONTINUE WHEN to_regclass(qtbl) IS NOT NULL;
			SELECT string_agg(format('%I %s', c ->> 1, @extschema@._replication_type(c ->> 2)), ', ')
			  INTO cols FROM jsonb_array_elements(change -> 'columns') AS c;
			IF jsonb_typeof(change -> 'primary_key') = 'array' THEN
				SELECT ', PRIMARY KEY (' || string_agg(quote_ident(k), ', ') || ')' INTO pk
				  FROM jsonb_array_elements_text(change -> 'primary_key') AS k;
			END IF;
			EXECUTE format('CREATE TABLE %s (%s%s)', qtbl, cols, coalesce(pk, ''));
			RAISE WARNING 'migrate_ext created table %, which migration "%" created on the publisher', qtbl, NEW.migration
				USING HINT = 'Run ALTER SUBSCRIPTION ... REFRESH PUBLICATION to start replicating its rows.';
		WHEN 'alter' THEN
			IF to_regclass(qtbl) IS NULL AND change ? 'rename_to'
			   AND to_regclass(format('%I.%I', NEW.schema, change ->> 'rename_to')) IS NOT NULL THEN
				tbl := change ->> 'rename_to';	-- renamed already
				qtbl := format('%I.%I', NEW.schema, tbl);
			ELSIF to_regclass(qtbl) IS NULL THEN
				RAISE EXCEPTION USING ERRCODE = '42P01',
					MESSAGE = format('table %s does not exist', qtbl),
					DETAIL = format('Migration "%s" (%s) changed the table on the publisher.', NEW.migration, NEW.phase),
					HINT = 'Create the table as the publisher had it before the migration; the subscription retries.';
			END IF;
			FOR col IN SELECT * FROM jsonb_array_elements(change -> 'drop') LOOP
				EXECUTE format('ALTER TABLE %s DROP COLUMN IF EXISTS %I', qtbl, col #>> '{}');
			END LOOP;
			-- renames through temporary names, so that names may swap
			i := 0;
			FOR col IN SELECT * FROM jsonb_array_elements(change -> 'rename') LOOP
				i := i + 1;
				IF EXISTS (SELECT FROM pg_attribute WHERE attrelid = qtbl::regclass
							  AND attname = col ->> 0 AND NOT attisdropped) THEN
					EXECUTE format('ALTER TABLE %s RENAME COLUMN %I TO %I', qtbl, col ->> 0,
								   '_mig_renaming_' || i);
				ELSIF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = qtbl::regclass
									 AND attname = col ->> 1 AND NOT attisdropped) THEN
					RAISE EXCEPTION USING ERRCODE = '42703',
						MESSAGE = format('column "%s" of table %s does not exist', col ->> 0, qtbl),
						DETAIL = format('Migration "%s" (%s) renamed it to "%s" on the publisher.', NEW.migration, NEW.phase, col ->> 1),
						HINT = 'Give the subscriber''s table the publisher''s columns; the subscription retries.';
				END IF;
			END LOOP;
			i := 0;
			FOR col IN SELECT * FROM jsonb_array_elements(change -> 'rename') LOOP
				i := i + 1;
				IF EXISTS (SELECT FROM pg_attribute WHERE attrelid = qtbl::regclass
							  AND attname = '_mig_renaming_' || i AND NOT attisdropped) THEN
					EXECUTE format('ALTER TABLE %s RENAME COLUMN %I TO %I', qtbl,
								   '_mig_renaming_' || i, col ->> 1);
				END IF;
			END LOOP;
			FOR col IN SELECT * FROM jsonb_array_elements(change -> 'retype') LOOP
				EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE %s USING %I::%s', qtbl,
							   col ->> 0, @extschema@._replication_type(col ->> 1),
							   col ->> 0, @extschema@._replication_type(col ->> 1));
			END LOOP;
			FOR col IN SELECT * FROM jsonb_array_elements(change -> 'add') LOOP
				CONTINUE WHEN EXISTS (SELECT FROM pg_attribute WHERE attrelid = qtbl::regclass
										 AND attname = col ->> 0 AND NOT attisdropped);
				-- rows there before read the publisher's fast default, if any
				EXECUTE format('ALTER TABLE %s ADD COLUMN %I %s%s', qtbl, col ->> 0,
							   @extschema@._replication_type(col ->> 1),
							   CASE WHEN col ->> 2 IS NOT NULL
									THEN format(' DEFAULT %L', col ->> 2) ELSE '' END);
				IF col ->> 2 IS NOT NULL THEN
					EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', qtbl, col ->> 0);
				END IF;
			END LOOP;
			-- a primary key lost with a dropped column comes back on the new one
			IF jsonb_typeof(change -> 'primary_key') = 'array'
			   AND NOT EXISTS (SELECT FROM pg_index WHERE indrelid = qtbl::regclass AND indisprimary) THEN
				SELECT string_agg(quote_ident(k), ', ') INTO pk
				  FROM jsonb_array_elements_text(change -> 'primary_key') AS k;
				EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (%s)', qtbl, pk);
			END IF;
			IF change ? 'rename_to' AND tbl <> change ->> 'rename_to' THEN
				EXECUTE format('ALTER TABLE %s RENAME TO %I', qtbl, change ->> 'rename_to');
			END IF;
		ELSE
			RAISE EXCEPTION 'unknown change % in replication event %', change ->> 'action', NEW.id;
		END CASE;
	END LOOP;
	IF duplicate THEN
		RETURN NULL;	-- applied for this subscription's tables, kept once
	END IF;
	NEW.applied_at := clock_timestamp();
	RETURN NEW;
END
$$;
CREATE TRIGGER apply_replicated BEFORE INSERT ON @extschema@.replication_events
	FOR EACH ROW EXECUTE FUNCTION @extschema@.replication_apply();
ALTER TABLE @extschema@.replication_events ENABLE REPLICA TRIGGER apply_replicated;

-- The extension's state belongs to the database it runs in: its rows name
-- that database's OIDs, transaction ids and roles.  A publication FOR ALL
-- TABLES carries them too; a subscriber keeps its own (the migrations
-- reach it as replication events instead).
CREATE FUNCTION @extschema@.replication_ignore()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF @extschema@.replication_context() IS NOT NULL THEN
		RETURN NULL;
	ELSIF TG_OP = 'DELETE' THEN
		RETURN OLD;
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER ignore_replicated BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.migrations
	FOR EACH ROW EXECUTE FUNCTION @extschema@.replication_ignore();
ALTER TABLE @extschema@.migrations ENABLE REPLICA TRIGGER ignore_replicated;
CREATE TRIGGER ignore_replicated BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.steps
	FOR EACH ROW EXECUTE FUNCTION @extschema@.replication_ignore();
ALTER TABLE @extschema@.steps ENABLE REPLICA TRIGGER ignore_replicated;
CREATE TRIGGER ignore_replicated BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.dual_writes
	FOR EACH ROW EXECUTE FUNCTION @extschema@.replication_ignore();
ALTER TABLE @extschema@.dual_writes ENABLE REPLICA TRIGGER ignore_replicated;
CREATE TRIGGER ignore_replicated BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.job_queue
	FOR EACH ROW EXECUTE FUNCTION @extschema@.replication_ignore();
ALTER TABLE @extschema@.job_queue ENABLE REPLICA TRIGGER ignore_replicated;

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
