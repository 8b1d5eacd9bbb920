/* migrate_ext--0.1.0--0.2.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION migrate_ext UPDATE TO '0.2.0'" to load this file. \quit

--
-- Every update script must work while a migration is in progress: ALTER
-- EXTENSION ... UPDATE is not refused then (README, "Upgrading
-- migrate_ext").  Change the state tables only in ways the library of the
-- previous version and of this one both read.
--

-- The history's link from a migration to its parent referenced its own
-- table, so every pg_dump warned of "circular foreign-key constraints" on
-- mig.migrations (its rows are dumped with the database).  mig.start sets
-- the parent itself, to the schema's latest migration, under the lock that
-- serializes migrations of a schema; rollback removes only the latest.
ALTER TABLE @extschema@.migrations
	DROP CONSTRAINT migrations_schema_parent_fkey;

-- A dump of the application's schema alone (pg_dump -n public) taken in the
-- middle of a migration carries what the migration added to its tables
-- (shadow columns, the dual-write trigger) but not the migration itself,
-- which lives in the extension's tables.  Restored, such a table refuses
-- writes (its trigger has no rules) or, without the extension, keeps columns
-- nobody fills.  This takes a table back to the old version the dump was
-- taken at: the migration can then be started again.
CREATE FUNCTION @extschema@.discard_restored(tbl pg_catalog.regclass)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	rel_name name;
	rel_schema name;
	active text;
	col name;
	con name;
	dropped text[] := '{}';
BEGIN
	SELECT c.relname, n.nspname INTO rel_name, rel_schema
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	 WHERE c.oid = tbl AND c.relkind IN ('r', 'p');
	IF rel_name IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = '42809',
			MESSAGE = format('%s is not a table', tbl);
	END IF;
	SELECT m.name INTO active FROM @extschema@.migrations m
	 WHERE m.schema = rel_schema AND m.status = 'in_progress';
	IF active IS NOT NULL THEN
		RAISE EXCEPTION USING ERRCODE = '55000',
			MESSAGE = format('migration "%s" of schema "%s" is in progress', active, rel_schema),
			DETAIL = format('mig.discard_restored() takes back what a migration added to a table restored without that migration; %s may be part of migration "%s".', tbl, active),
			HINT = format('Complete the migration with mig.complete(%L) or undo it with mig.rollback(%L).', rel_schema, rel_schema);
	END IF;

	IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = tbl AND tgname = '~mig_dual_write') THEN
		EXECUTE format('DROP TRIGGER %I ON %s', '~mig_dual_write', tbl);
		dropped := dropped || format('trigger %I', '~mig_dual_write');
	END IF;
	-- constraints of the migration's own naming on the old columns
	FOR con IN SELECT conname FROM pg_constraint
			   WHERE conrelid = tbl AND starts_with(conname, '_mig_') ORDER BY conname LOOP
		EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', tbl, con);
		dropped := dropped || format('constraint %I', con);
	END LOOP;
	-- shadow columns, with what is on them only (no CASCADE: a view of the
	-- user's over one stops this, and says so)
	FOR col IN SELECT attname FROM pg_attribute
			   WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped
				 AND starts_with(attname, '_mig_new_') ORDER BY attnum LOOP
		EXECUTE format('ALTER TABLE %s DROP COLUMN %I', tbl, col);
		dropped := dropped || format('column %I', col);
	END LOOP;
	-- a table drop_table had set aside comes back under its name
	IF starts_with(rel_name, '_mig_del_') THEN
		EXECUTE format('ALTER TABLE %s RENAME TO %I', tbl, substr(rel_name, 10));
		dropped := dropped || format('name %I', rel_name);
	END IF;

	IF cardinality(dropped) = 0 THEN
		RETURN format('%s has nothing of a migration', tbl);
	END IF;
	RETURN format('%s: removed %s', tbl, array_to_string(dropped, ', '));
END
$$;

COMMENT ON FUNCTION @extschema@.discard_restored(pg_catalog.regclass) IS
	'Takes a table restored without its migration''s state back to the version its dump was taken at.';

-- The dual-write trigger of an active migration may not be disabled, made
-- an ordinary trigger again (ENABLE TRIGGER USER or ALL) or dropped: a write
-- it missed would have one version's values only, which complete or
-- rollback would lose.
CREATE FUNCTION @extschema@.refuse_dual_write_off()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'mig_refuse_dual_write_off'
LANGUAGE C;

CREATE EVENT TRIGGER migrate_ext_refuse_dual_write_off ON ddl_command_end
	WHEN TAG IN ('ALTER TABLE')
	EXECUTE FUNCTION @extschema@.refuse_dual_write_off();
ALTER EVENT TRIGGER migrate_ext_refuse_dual_write_off ENABLE ALWAYS;

CREATE FUNCTION @extschema@.refuse_dual_write_drop()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'mig_refuse_dual_write_drop'
LANGUAGE C;

CREATE EVENT TRIGGER migrate_ext_refuse_dual_write_drop ON ddl_command_start
	WHEN TAG IN ('DROP TRIGGER')
	EXECUTE FUNCTION @extschema@.refuse_dual_write_drop();
ALTER EVENT TRIGGER migrate_ext_refuse_dual_write_drop ENABLE ALWAYS;

-- No view but the extension's in the new version schema of an active
-- migration: a write through a view there is a write as the new version,
-- and through a view of the user's over the table's old columns the
-- dual-write trigger would overwrite the values written.
CREATE FUNCTION @extschema@.refuse_version_view()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'mig_refuse_version_view'
LANGUAGE C;

CREATE EVENT TRIGGER migrate_ext_refuse_version_view ON ddl_command_end
	WHEN TAG IN ('CREATE VIEW', 'ALTER VIEW', 'ALTER TABLE')
	EXECUTE FUNCTION @extschema@.refuse_version_view();
ALTER EVENT TRIGGER migrate_ext_refuse_version_view ENABLE ALWAYS;

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
