/*-------------------------------------------------------------------------
 *
 * replication.c
 *		Logical replication of a migration's layout changes.
 *
 *		Logical replication carries rows, not DDL: a subscriber stops at the
 *		first row that names a column it lacks (the shadow columns start
 *		adds and the backfill fills), and after complete it would take the
 *		new values of an altered column into its old one.  So each phase
 *		that changes a published table records what it changed (columns
 *		added, dropped, renamed or retyped, tables created, renamed or
 *		dropped) as one row of mig.replication_events, in its own
 *		transaction.  The row reaches a subscriber in commit order, after
 *		every change made under the old layout and before any made under
 *		the new one; there a trigger of the extension's, enabled only for
 *		replicated changes, makes the same changes to the subscriber's
 *		tables (mig.replication_apply(), in the update script).
 *
 *		The diff is made in SQL (mig._replication_tables and
 *		mig._replication_record): this file takes the snapshot before the
 *		phase and records after it, and answers, for the triggers, whether
 *		the current change is a replicated one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_subscription.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "replication/origin.h"
#include "replication/worker_internal.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "replication.h"
#include "security.h"
#include "spi_exec.h"

PG_FUNCTION_INFO_V1(mig_replication_context);
PG_FUNCTION_INFO_V1(mig_replication_publications);

char *
MigReplicationBefore(const char *schema)
{
	Oid			argtypes[1] = {NAMEOID};
	Datum		values[1];
	bool		isnull;
	Datum		d;

	/*
	 * Nothing to do without a publication, nor under the SQL objects of a
	 * version before 0.3.0 (the library is updated before ALTER EXTENSION
	 * ... UPDATE is run).
	 */
	MigSpiExec("SELECT EXISTS (SELECT FROM pg_catalog.pg_publication)"
			   " AND pg_catalog.to_regprocedure('mig._replication_tables(name)') IS NOT NULL",
			   0, NULL, NULL, NULL, true, SPI_OK_SELECT,
			   "could not look for publications");
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
									1, &isnull)))
		return NULL;

	values[0] = DirectFunctionCall1(namein, CStringGetDatum(schema));
	MigSpiExec("SELECT mig._replication_tables($1)::text",
			   1, argtypes, values, NULL, true, SPI_OK_SELECT,
			   "could not read the published tables of schema \"%s\"", schema);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return NULL;
	return TextDatumGetCString(d);
}

void
MigReplicationRecord(const char *schema, const char *migration,
					 const char *phase, const char *before)
{
	Oid			argtypes[4] = {NAMEOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[4];
	MigOwnerSave save;

	if (before == NULL)
		return;					/* no publication: nothing is replicated */
	values[0] = DirectFunctionCall1(namein, CStringGetDatum(schema));
	values[1] = CStringGetTextDatum(migration);
	values[2] = CStringGetTextDatum(phase);
	values[3] = CStringGetTextDatum(before);

	/* the event is written as the extension's owner, like all state */
	MigAsExtensionOwner(&save);
	MigSpiExec("SELECT mig._replication_record($1, $2, $3, $4::jsonb)",
			   4, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not record the replication event of migration \"%s\"",
			   migration);
	MigAsCaller(&save);
}

/*
 * mig.replication_context(): 'apply' when the current change is applied
 * by a logical replication worker (its session has a replication origin),
 * 'initial_sync' when it is a table's initial copy, NULL otherwise.
 */
Datum
mig_replication_context(PG_FUNCTION_ARGS)
{
	if (replorigin_session_origin == InvalidRepOriginId)
		PG_RETURN_NULL();
	if (MyLogicalRepWorker != NULL && am_tablesync_worker())
		PG_RETURN_TEXT_P(cstring_to_text("initial_sync"));
	PG_RETURN_TEXT_P(cstring_to_text("apply"));
}

/*
 * mig.replication_publications(): in a logical replication worker, the
 * publications of its subscription (an event changes only the tables the
 * subscription receives); NULL elsewhere.
 */
Datum
mig_replication_publications(PG_FUNCTION_ARGS)
{
	ArrayBuildState *astate = NULL;
	ListCell   *lc;

	if (MyLogicalRepWorker == NULL || MySubscription == NULL)
		PG_RETURN_NULL();
	foreach(lc, MySubscription->publications)
		astate = accumArrayResult(astate,
								  CStringGetTextDatum(strVal(lfirst(lc))),
								  false, TEXTOID, CurrentMemoryContext);
	if (astate == NULL)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(makeArrayResult(astate, CurrentMemoryContext));
}
