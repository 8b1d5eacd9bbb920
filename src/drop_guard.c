/*-------------------------------------------------------------------------
 *
 * drop_guard.c
 *		The event trigger that keeps DROP EXTENSION migrate_ext from leaving
 *		half a migration behind.
 *
 *		A migration in progress has made things outside the extension: a
 *		version schema of views, shadow columns, NOT VALID checks, declared
 *		indexes, soft-dropped tables, and a dual-write trigger whose function
 *		is the extension's.  Dropping the extension with CASCADE used to drop
 *		only the triggers (dual write then stopped silently) and leave the
 *		rest; its worker failed on the vanished state.
 *
 *		So an event trigger on ddl_command_start (created by the install
 *		script, so it fires whether or not the session has loaded the
 *		library; calling it loads the library) looks at every DROP
 *		EXTENSION, DROP SCHEMA and DROP OWNED.  When the command would drop
 *		the extension (it names migrate_ext, the extension's schema, or the
 *		role that owns either) and migrations are in progress:
 *
 *		- with CASCADE, each is rolled back exactly as mig.rollback does,
 *		  in the same transaction, before anything is dropped: its worker
 *		  stops, its version schema and everything it added are removed and
 *		  soft-dropped tables come back.  A failed rollback fails the DROP,
 *		  and nothing is dropped.  Workers still running jobs of completed
 *		  migrations (dropping old indexes) are stopped too, and a warning
 *		  names each index so left.
 *		- without it, the command fails with a message naming them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "compat.h"
#include "drop_guard.h"
#include "model.h"
#include "names.h"
#include "worker_control.h"

PG_FUNCTION_INFO_V1(mig_drop_guard);

static bool drops_extension(Node *parsetree, bool *cascade);
static bool names_in_list(List *names, const char *name);
static bool string_in_list(List *list, const char *s);

static bool
string_in_list(List *list, const char *s)
{
	ListCell   *lc;

	foreach(lc, list)
		if (strcmp(lfirst(lc), s) == 0)
			return true;
	return false;
}

static bool
names_in_list(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
	{
		Node	   *n = lfirst(lc);

		if (IsA(n, String) && strcmp(strVal(n), name) == 0)
			return true;
	}
	return false;
}

/*
 * Would the command drop the extension?  *cascade says whether it drops
 * what depends on it.
 */
static bool
drops_extension(Node *parsetree, bool *cascade)
{
	char	   *nspname;
	Oid			extowner;
	Oid			nspowner;
	Oid			extoid;
	Oid			nspoid;
	bool		isnull;

	if (SPI_execute("SELECT n.nspname::text, e.extowner, n.nspowner, e.oid, n.oid"
					" FROM pg_catalog.pg_extension e"
					" JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
					" WHERE e.extname = 'migrate_ext'",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_extension");
	if (SPI_processed != 1)
		return false;
	nspname = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	extowner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, 2, &isnull));
	nspowner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, 3, &isnull));
	extoid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
											SPI_tuptable->tupdesc, 4, &isnull));
	nspoid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
											SPI_tuptable->tupdesc, 5, &isnull));

	if (IsA(parsetree, DropStmt))
	{
		DropStmt   *stmt = (DropStmt *) parsetree;

		/*
		 * A role that may not drop it gets PostgreSQL's own error, without
		 * anything rolled back first.
		 */
		*cascade = stmt->behavior == DROP_CASCADE;
		if (stmt->removeType == OBJECT_EXTENSION)
			return names_in_list(stmt->objects, "migrate_ext") &&
				MigExtensionOwnerCheck(extoid, GetUserId());
		if (stmt->removeType == OBJECT_SCHEMA)
			return names_in_list(stmt->objects, nspname) &&
				MigSchemaOwnerCheck(nspoid, GetUserId());
		return false;
	}
	if (IsA(parsetree, DropOwnedStmt))
	{
		DropOwnedStmt *stmt = (DropOwnedStmt *) parsetree;
		ListCell   *lc;

		*cascade = stmt->behavior == DROP_CASCADE;
		foreach(lc, stmt->roles)
		{
			Oid			roleid = get_rolespec_oid(lfirst(lc), true);

			if (roleid == extowner || roleid == nspowner)
				return true;
		}
	}
	return false;
}

Datum
mig_drop_guard(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext spicxt;
	bool		cascade = false;
	List	   *schemas = NIL;
	List	   *names = NIL;
	List	   *workers = NIL;
	StringInfoData list;
	ListCell   *lc;
	ListCell   *nc;
	uint64		i;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				errmsg("function %s must be called as an event trigger",
					   "mig.drop_guard()"));
	trigdata = (EventTriggerData *) fcinfo->context;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (!drops_extension(trigdata->parsetree, &cascade))
	{
		SPI_finish();
		PG_RETURN_NULL();
	}

	/*
	 * The migrations in progress, and the schemas with jobs left to run,
	 * copied out of SPI's memory (each SPI call returns in SPI's context).
	 */
	if (SPI_execute("SELECT m.schema::text, m.name FROM mig.migrations m"
					" WHERE m.status = 'in_progress' ORDER BY 1",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the migrations in progress");
	spicxt = MemoryContextSwitchTo(cxt);
	for (i = 0; i < SPI_processed; i++)
	{
		schemas = lappend(schemas, SPI_getvalue(SPI_tuptable->vals[i],
												SPI_tuptable->tupdesc, 1));
		names = lappend(names, SPI_getvalue(SPI_tuptable->vals[i],
											SPI_tuptable->tupdesc, 2));
	}
	if (SPI_execute("SELECT DISTINCT j.schema::text FROM mig.job_queue j"
					" WHERE j.state IN ('pending', 'running') ORDER BY 1",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the job queue");
	MemoryContextSwitchTo(cxt);
	for (i = 0; i < SPI_processed; i++)
		workers = lappend(workers, SPI_getvalue(SPI_tuptable->vals[i],
												SPI_tuptable->tupdesc, 1));

	initStringInfo(&list);
	forboth(lc, schemas, nc, names)
		appendStringInfo(&list, "%s\"%s\" in schema \"%s\"",
						 list.len > 0 ? ", " : "",
						 (char *) lfirst(nc), (char *) lfirst(lc));
	if (schemas != NIL && !cascade)
		ereport(ERROR,
				errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				errmsg("cannot drop extension migrate_ext while migrations are in progress"),
				errdetail("In progress: %s.", list.data),
				errhint("Complete or roll back the migrations first (mig.complete() or mig.rollback()), or use CASCADE, which rolls them back."));

	foreach(lc, workers)
	{
		const char *schema = lfirst(lc);
		Oid			schema_oid = get_namespace_oid(schema, true);

		if (OidIsValid(schema_oid) && !string_in_list(schemas, schema))
			MigWorkerStop(schema_oid, schema);
	}

	/*
	 * An index a completed migration dropped that its job has not dropped
	 * yet stays: dropping it here would lock its table for as long as any
	 * transaction uses it.  Say so.
	 */
	if (SPI_execute("SELECT j.objid, j.migration, j.schema::text FROM mig.job_queue j"
					" JOIN mig.migrations m ON m.schema = j.schema AND m.name = j.migration"
					" WHERE j.kind = 'drop_index' AND m.status = 'complete'"
					"   AND j.state IN ('pending', 'running') ORDER BY j.objid",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the job queue");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			indexoid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
															  SPI_tuptable->tupdesc,
															  1, &isnull));

		if (get_rel_name(indexoid) == NULL)
			continue;
		ereport(WARNING,
				errmsg("index %s is not dropped: migration \"%s\" of schema \"%s\" dropped it, but its background job has not run yet",
					   MigQuoteTable(indexoid),
					   SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2),
					   SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3)),
				errhint("Drop it with DROP INDEX CONCURRENTLY %s.",
						MigQuoteTable(indexoid)));
	}
	MemoryContextSwitchTo(spicxt);
	SPI_finish();

	forboth(lc, schemas, nc, names)
	{
		/* a schema dropped with its tables has nothing left to undo */
		if (!OidIsValid(get_namespace_oid(lfirst(lc), true)))
			continue;
		ereport(NOTICE,
				errmsg("rolling back migration \"%s\" of schema \"%s\" before extension migrate_ext is dropped",
					   (char *) lfirst(nc), (char *) lfirst(lc)));
		MigRollbackActive(lfirst(lc));
	}
	PG_RETURN_NULL();
}
