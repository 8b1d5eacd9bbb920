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

#include "ddl.h"
#include "names.h"
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

typedef struct MigIdentityIndex
{
	Oid			relid;
	char	   *index;
} MigIdentityIndex;

List *
MigReplicaIdentityRemember(const char *schema)
{
	Oid			argtypes[1] = {NAMEOID};
	Datum		values[1];
	List	   *result = NIL;
	uint64		i;

	values[0] = DirectFunctionCall1(namein, CStringGetDatum(schema));
	MigSpiExec("SELECT c.oid, ic.relname::text"
			   " FROM pg_catalog.pg_class c"
			   " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
			   " JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND i.indisreplident"
			   " JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
			   " WHERE n.nspname = $1 AND c.relreplident = 'i'",
			   1, argtypes, values, NULL, true, SPI_OK_SELECT,
			   "could not read the replica identities of schema \"%s\"", schema);
	for (i = 0; i < SPI_processed; i++)
	{
		MigIdentityIndex *ii = palloc(sizeof(MigIdentityIndex));
		bool		isnull;

		ii->relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
												   SPI_tuptable->tupdesc, 1, &isnull));
		ii->index = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		result = lappend(result, ii);
	}
	return result;
}

void
MigReplicaIdentityRestore(List *remembered)
{
	ListCell   *lc;

	/* (not read-only: the query must see what complete's steps did) */
	foreach(lc, remembered)
	{
		MigIdentityIndex *ii = lfirst(lc);
		Oid			argtypes[2] = {OIDOID, TEXTOID};
		Datum		values[2];
		bool		isnull;

		values[0] = ObjectIdGetDatum(ii->relid);
		values[1] = CStringGetTextDatum(ii->index);
		MigSpiExec("SELECT EXISTS (SELECT FROM pg_catalog.pg_class c"
				   "   JOIN pg_catalog.pg_index i ON i.indrelid = c.oid"
				   "   JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
				   "   WHERE c.oid = $1 AND c.relreplident = 'i'"
				   "     AND ic.relname = $2 AND NOT i.indisreplident)"
				   " AND NOT EXISTS (SELECT FROM pg_catalog.pg_index"
				   "   WHERE indrelid = $1 AND indisreplident)",
				   2, argtypes, values, NULL, false, SPI_OK_SELECT,
				   "could not read the replica identity of relation %u", ii->relid);
		if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &isnull)))
			MigExec(psprintf("ALTER TABLE %s REPLICA IDENTITY USING INDEX %s",
							 MigQuoteTable(ii->relid), quote_identifier(ii->index)),
					ii->relid);
	}
}

void
MigReplicationRefuseSubscribed(const char *schema, const char *migration)
{
	Oid			argtypes[2] = {NAMEOID, TEXTOID};
	Datum		values[2];

	values[0] = DirectFunctionCall1(namein, CStringGetDatum(schema));
	values[1] = CStringGetTextDatum(migration);
	MigSpiExec("SELECT c.relname::text, s.subname::text"
			   " FROM mig.dual_writes d"
			   " JOIN pg_catalog.pg_subscription_rel sr ON sr.srrelid = d.relid"
			   " JOIN pg_catalog.pg_subscription s ON s.oid = sr.srsubid"
			   " JOIN pg_catalog.pg_class c ON c.oid = d.relid"
			   " WHERE d.schema = $1 AND d.migration = $2"
			   " ORDER BY 1, 2 LIMIT 1",
			   2, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the subscriptions of migration \"%s\"", migration);
	if (SPI_processed > 0)
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("cannot start migration \"%s\": table \"%s.%s\" is received through subscription \"%s\"",
					   migration, schema,
					   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
					   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2)),
				errdetail("The dual-write trigger would run for the replicated rows, and the publisher's migrations change the same table."),
				errhint("Run the migration on the publisher; with migrate_ext on this subscriber and mig.replication_events published, the subscriber follows it (README, \"Logical replication\")."));
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
