/*-------------------------------------------------------------------------
 *
 * event_guard.c
 *		DDL that would break an active migration, refused by event triggers
 *		the install script creates (ENABLE ALWAYS, so that a session in
 *		replica mode is refused too).
 *
 *		- table_rewrite: a rewrite gives every row of a table a new xid,
 *		  after which its unfinished backfill could not tell the rows that
 *		  predate the migration (backfill_storage.c).
 *		- ddl_command_end of CREATE TABLE and ALTER TABLE: a table with
 *		  dual-write rules may not gain a parent or a child (INHERITS,
 *		  INHERIT, PARTITION OF, ATTACH PARTITION) while its migration is
 *		  active: neither the trigger nor the backfill would reach the
 *		  child's rows, which its parent's version views show, and complete
 *		  would pass its changes on to the child.  Such hierarchies are
 *		  refused at start (ops_hierarchy.c); this keeps them from forming
 *		  afterwards.
 *		- ddl_command_end of CREATE TRIGGER and ALTER TRIGGER: a table with
 *		  dual-write rules may not gain a BEFORE INSERT or UPDATE row
 *		  trigger that fires after the dual-write trigger (a name that
 *		  sorts after MIG_TRIGGER_NAME): it could change a row after the
 *		  other version's columns were computed from it.  Start refuses
 *		  such a trigger (dual_write_setup.c); this keeps one from being
 *		  created or renamed into place afterwards.
 *		- ddl_command_end of ALTER TABLE, and ddl_command_start of DROP
 *		  TRIGGER: the dual-write trigger of an active migration may not be
 *		  disabled, made an ordinary trigger again (ENABLE TRIGGER USER or
 *		  ALL turns ENABLE ALWAYS into ENABLE) or dropped, except by the
 *		  extension itself (dual_write_setup.c): a write it missed would
 *		  have one version's columns only, and complete or rollback would
 *		  lose the other's value.
 *		- ddl_command_end of CREATE VIEW, ALTER VIEW and ALTER TABLE: no
 *		  view but the extension's may be made, replaced or moved into the
 *		  new version schema of an active migration.  A write through a view
 *		  there is routed as the new version (write_route.c); through a view
 *		  of the user's over the table's old columns, the dual-write trigger
 *		  would then overwrite the values written with down() of the new
 *		  version's columns.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_trigger.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "dual_write_setup.h"
#include "names.h"
#include "views.h"

PG_FUNCTION_INFO_V1(mig_refuse_table_rewrite);
PG_FUNCTION_INFO_V1(mig_refuse_new_inheritance);
PG_FUNCTION_INFO_V1(mig_refuse_late_trigger);
PG_FUNCTION_INFO_V1(mig_refuse_dual_write_off);
PG_FUNCTION_INFO_V1(mig_refuse_dual_write_drop);
PG_FUNCTION_INFO_V1(mig_refuse_version_view);

/* the first row of a query's result, as strings in the caller's context */
static char **
first_row(const char *sql, int ncols)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	  **row = NULL;
	int			i;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* not read-only: see what the command itself just changed */
	if (SPI_execute(sql, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the state of migrations");
	if (SPI_processed > 0)
	{
		row = MemoryContextAlloc(cxt, sizeof(char *) * ncols);
		for (i = 0; i < ncols; i++)
			row[i] = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[0],
														   SPI_tuptable->tupdesc, i + 1));
	}
	SPI_finish();
	return row;
}

/*
 * Event trigger on table_rewrite: refuse to rewrite a table whose backfill
 * is unfinished.  A rewrite gives every row a new xid, after which the
 * backfill cannot tell which rows predate the migration.
 */
Datum
mig_refuse_table_rewrite(PG_FUNCTION_ARGS)
{
	char	  **row;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				errmsg("function \"%s\" must be fired as an event trigger",
					   "mig.refuse_table_rewrite"));

	row = first_row("SELECT j.migration, j.schema,"
					"  pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.'"
					"  OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.relname)"
					" FROM mig.job_queue j"
					" JOIN mig.migrations m ON m.schema OPERATOR(pg_catalog.=) j.schema"
					"   AND m.name OPERATOR(pg_catalog.=) j.migration"
					" JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) j.relid"
					" JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
					" WHERE j.relid OPERATOR(pg_catalog.=) pg_catalog.pg_event_trigger_table_rewrite_oid()"
					"   AND j.kind OPERATOR(pg_catalog.=) 'backfill'"
					"   AND j.state OPERATOR(pg_catalog.<>) 'done'"
					"   AND m.status OPERATOR(pg_catalog.=) 'in_progress'", 3);
	if (row != NULL)
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("cannot rewrite table %s while migration \"%s\" is backfilling it",
					   row[2], row[0]),
				errdetail("A rewrite writes every row again with a new transaction id, after which the backfill could no longer tell the rows that existed before the migration started from the rows written since."),
				errhint("Wait for the backfill with CALL mig.wait('%s'), or roll the migration back with mig.rollback('%s'), then rewrite the table.  VACUUM FULL and CLUSTER are safe meanwhile.",
						row[1], row[1]));
	PG_RETURN_VOID();
}

/*
 * Event trigger on ddl_command_end of CREATE TABLE and ALTER TABLE: refuse
 * a parent or a child for a table with dual-write rules.  An inheritance
 * link with such a table at either end can only have been made after its
 * migration started.
 */
Datum
mig_refuse_new_inheritance(PG_FUNCTION_ARGS)
{
	char	  **row;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				errmsg("function \"%s\" must be fired as an event trigger",
					   "mig.refuse_new_inheritance"));

	row = first_row("SELECT d.migration, d.schema, i.inhrelid::pg_catalog.regclass::text,"
					"  i.inhparent::pg_catalog.regclass::text"
					" FROM mig.dual_writes d"
					" JOIN pg_catalog.pg_inherits i ON d.relid OPERATOR(pg_catalog.=) i.inhrelid"
					"   OR d.relid OPERATOR(pg_catalog.=) i.inhparent", 4);
	if (row != NULL)
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("table %s cannot inherit from or be a partition of %s while migration \"%s\" is active",
					   row[2], row[3], row[0]),
				errdetail("Migration \"%s\" keeps the versions of one of them in step with a trigger and a backfill that would not reach the other, and migrate_ext does not support partitioned tables or inheritance.", row[0]),
				errhint("Complete the migration with mig.complete('%s') or roll it back with mig.rollback('%s') first.",
						row[1], row[1]));
	PG_RETURN_VOID();
}

/*
 * Event trigger on ddl_command_end of CREATE TRIGGER and ALTER TRIGGER:
 * refuse a BEFORE INSERT or UPDATE row trigger, on a table with dual-write
 * rules, whose name sorts after the dual-write trigger's (strcmp, the order
 * in which trigger.c fires them; COLLATE "C" compares the same bytes).
 * Start refuses such a trigger, so one found here is new or newly renamed.
 * The table must have the dual-write trigger: during a restore, before
 * state_ident.c matches them again, mig.dual_writes holds the old OIDs.
 */
Datum
mig_refuse_late_trigger(PG_FUNCTION_ARGS)
{
	char	  **row;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				errmsg("function \"%s\" must be fired as an event trigger",
					   "mig.refuse_late_trigger"));

	row = first_row(psprintf("SELECT d.migration, d.schema, t.tgname,"
							 "  t.tgrelid::pg_catalog.regclass::text"
							 " FROM mig.dual_writes d"
							 " JOIN pg_catalog.pg_trigger t ON t.tgrelid OPERATOR(pg_catalog.=) d.relid"
							 " WHERE t.tgname::pg_catalog.text COLLATE pg_catalog.\"C\""
							 "   OPERATOR(pg_catalog.>) %s"
							 "   AND t.tgtype::pg_catalog.int4 OPERATOR(pg_catalog.&) %d"
							 "   OPERATOR(pg_catalog.=) %d"
							 "   AND t.tgtype::pg_catalog.int4 OPERATOR(pg_catalog.&) %d"
							 "   OPERATOR(pg_catalog.<>) 0"
							 "   AND EXISTS (SELECT FROM pg_catalog.pg_trigger o"
							 "     WHERE o.tgrelid OPERATOR(pg_catalog.=) t.tgrelid"
							 "     AND o.tgname OPERATOR(pg_catalog.=) %s)",
							 quote_literal_cstr(MIG_TRIGGER_NAME),
							 TRIGGER_TYPE_ROW | TRIGGER_TYPE_TIMING_MASK,
							 TRIGGER_TYPE_ROW | TRIGGER_TYPE_BEFORE,
							 TRIGGER_TYPE_INSERT | TRIGGER_TYPE_UPDATE,
							 quote_literal_cstr(MIG_TRIGGER_NAME)), 4);
	if (row != NULL)
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("trigger \"%s\" on table %s would fire after the dual-write trigger of migration \"%s\"",
					   row[2], row[3], row[0]),
				errdetail("PostgreSQL fires the BEFORE row triggers of a table in the byte order of their names, and a BEFORE INSERT or UPDATE row trigger named after \"%s\" could change a row after the dual-write trigger computed the other version's columns from it.",
						  MIG_TRIGGER_NAME),
				errhint("Give the trigger a name that sorts before \"%s\" (any name of ASCII letters, digits and underscores does), or complete the migration with mig.complete('%s') or roll it back with mig.rollback('%s') first.",
						MIG_TRIGGER_NAME, row[1], row[1]));
	PG_RETURN_VOID();
}

/*
 * Event trigger on ddl_command_end of ALTER TABLE: refuse a dual-write
 * trigger that is no longer ENABLE ALWAYS (DISABLE TRIGGER, by name, USER or
 * ALL; ENABLE TRIGGER USER or ALL, which makes it an ordinary trigger that
 * a session in replica mode skips).  Start installs the trigger before it
 * records the table in mig.dual_writes, so its own ALTER TABLE ... ENABLE
 * ALWAYS is never seen half-done here.
 */
Datum
mig_refuse_dual_write_off(PG_FUNCTION_ARGS)
{
	char	  **row;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				errmsg("function \"%s\" must be fired as an event trigger",
					   "mig.refuse_dual_write_off"));

	row = first_row(psprintf("SELECT d.migration, d.schema, t.tgrelid::pg_catalog.regclass::text"
							 " FROM mig.dual_writes d"
							 " JOIN pg_catalog.pg_trigger t ON t.tgrelid OPERATOR(pg_catalog.=) d.relid"
							 " WHERE t.tgname OPERATOR(pg_catalog.=) %s"
							 "   AND t.tgenabled OPERATOR(pg_catalog.<>) 'A'",
							 quote_literal_cstr(MIG_TRIGGER_NAME)), 3);
	if (row != NULL)
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("cannot disable the dual-write trigger of table %s while migration \"%s\" is active",
					   row[2], row[0]),
				errdetail("Trigger \"%s\" keeps both versions' columns in step, and stays ENABLE ALWAYS: a write it missed would have one version's values only, which complete or rollback would lose.  ENABLE TRIGGER USER or ALL would make it an ordinary trigger, which a session in replica mode skips.",
						  MIG_TRIGGER_NAME),
				errhint("Disable your own triggers by name (ALTER TABLE ... DISABLE TRIGGER name), or complete the migration with mig.complete('%s') or roll it back with mig.rollback('%s') first.",
						row[1], row[1]));
	PG_RETURN_VOID();
}

/*
 * Event trigger on ddl_command_start of DROP TRIGGER: refuse to drop the
 * dual-write trigger of a table with dual-write rules, unless the extension
 * is dropping it (complete, rollback).
 */
Datum
mig_refuse_dual_write_drop(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	DropStmt   *stmt;
	ListCell   *lc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				errmsg("function \"%s\" must be fired as an event trigger",
					   "mig.refuse_dual_write_drop"));
	trigdata = (EventTriggerData *) fcinfo->context;
	if (!IsA(trigdata->parsetree, DropStmt) || MigDualWriteRemoving())
		PG_RETURN_VOID();
	stmt = (DropStmt *) trigdata->parsetree;
	if (stmt->removeType != OBJECT_TRIGGER)
		PG_RETURN_VOID();

	foreach(lc, stmt->objects)
	{
		List	   *names = lfirst(lc);
		char	  **row;
		Oid			relid;

		if (list_length(names) < 2 ||
			strcmp(strVal(llast(names)), MIG_TRIGGER_NAME) != 0)
			continue;
		relid = RangeVarGetRelid(makeRangeVarFromNameList(list_truncate(list_copy(names),
																		list_length(names) - 1)),
								 NoLock, true);
		if (!OidIsValid(relid))
			continue;
		row = first_row(psprintf("SELECT d.migration, d.schema, d.relid::pg_catalog.regclass::text"
								 " FROM mig.dual_writes d WHERE d.relid OPERATOR(pg_catalog.=) %u",
								 relid), 3);
		if (row != NULL)
			ereport(ERROR,
					errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					errmsg("cannot drop the dual-write trigger of table %s while migration \"%s\" is active",
						   row[2], row[0]),
					errdetail("Trigger \"%s\" keeps both versions' columns in step: a write it missed would have one version's values only, which complete or rollback would lose.",
							  MIG_TRIGGER_NAME),
					errhint("Complete the migration with mig.complete('%s') or roll it back with mig.rollback('%s'): either removes the trigger.",
							row[1], row[1]));
	}
	PG_RETURN_VOID();
}

/*
 * Event trigger on ddl_command_end of CREATE VIEW, ALTER VIEW and ALTER
 * TABLE: refuse a view made, replaced or moved into the new version schema
 * of a migration in progress, unless the extension is making its views.
 */
Datum
mig_refuse_version_view(PG_FUNCTION_ARGS)
{
	char	  **row;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				errmsg("function \"%s\" must be fired as an event trigger",
					   "mig.refuse_version_view"));
	if (MigViewsMaking())
		PG_RETURN_VOID();

	row = first_row("SELECT m.name, m.schema,"
					"  pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.'"
					"  OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.relname)"
					" FROM pg_catalog.pg_event_trigger_ddl_commands() e"
					" JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) e.objid"
					" JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
					" JOIN mig.migrations m ON m.status OPERATOR(pg_catalog.=) 'in_progress'"
					"   AND mig.version_schema_name(m.schema, m.name, m.migration)"
					"       OPERATOR(pg_catalog.=) n.nspname"
					" WHERE e.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
					"   AND c.relkind OPERATOR(pg_catalog.=) 'v'", 3);
	if (row != NULL)
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("cannot make view %s in the version schema of migration \"%s\" while it is active",
					   row[2], row[0]),
				errdetail("A write through a view in this schema is a write as the migration's new version; through a view other than the extension's, its values could be overwritten from the new version's columns."),
				errhint("Make the view in another schema (it may select from the version's views), or complete the migration with mig.complete('%s') first.",
						row[1]));
	PG_RETURN_VOID();
}
