/*-------------------------------------------------------------------------
 *
 * version_ready.c
 *		The new version shows and writes a row only once the backfill has
 *		given it its new columns.
 *
 *		mig.start returns at once and the backfill runs afterwards, so for a
 *		while the table holds rows whose new columns are not written yet.
 *		Through the new version such a row would read NULL where up(old)
 *		belongs, and an UPDATE through it would compute the old columns from
 *		that NULL with down: the old value would be lost.  So:
 *
 *		- The new version's view of a table with an unfinished backfill is
 *		  created with "WHERE mig.version_ready(<constants>, xmin, cmin)".
 *		  For each row the view reads, or an UPDATE, DELETE or INSERT ... ON
 *		  CONFLICT DO UPDATE through it touches, it is true when the row
 *		  version was written after start (through the trigger, or by the
 *		  backfill itself: the backfill's own test, MigBackfillRowPredates,
 *		  against its snapshot) and raises 55000 with the backfill's
 *		  progress for a row the backfill has not reached.  So a statement
 *		  fails rather than see or write a row without its new columns, and
 *		  statements that touch only new or backfilled rows work while the
 *		  backfill runs.  Once the backfill is done, the first call of a scan
 *		  finds it so and every call returns true at once.  The view stays a
 *		  simple, auto-updatable view.  complete removes the guard
 *		  (views.c); rollback drops the version.  The old version is never
 *		  guarded.
 *
 *		- All of this trusts the rows' xmins.  When they say nothing about
 *		  which rows the backfill has written (the table restored from a
 *		  dump, or rewritten, while the backfill was unfinished: see
 *		  DISTRUST_SQL), every row of the table is refused (55000, with a
 *		  detail that says why and a hint to roll back, or to wait for the
 *		  backfill after a VACUUM FULL), decided once per scan or statement.
 *
 *		- A write for the new version that does not go through its view (a
 *		  write to the base table routed to the new version by search_path
 *		  or migrate_ext.version) reaches the dual-write trigger, which
 *		  raises the same error when the row it updates predates the
 *		  backfill's snapshot.
 *
 *		The state of the backfill is read once per scan (fn_extra) with the
 *		statement's snapshot, so it matches the rows the scan sees.  That a
 *		backfill is done is kept per backend once seen in a state another
 *		transaction committed (it never goes back within one start of a
 *		migration), keyed by the table and a random token written into the
 *		view at start: a rollback and a new start of the same migration make
 *		a new token.  The trigger's state is kept per table until the
 *		relation changes (start and rollback create and drop the trigger)
 *		and read again once per statement while the backfill is unfinished.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/supportnodes.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "backfill_snapshot.h"
#include "compat.h"
#include "spi_exec.h"
#include "state_ident.h"
#include "version_ready.h"

PG_FUNCTION_INFO_V1(mig_version_ready);
PG_FUNCTION_INFO_V1(mig_version_ready_support);

#define READY_TOKEN_BYTES	8	/* written as 16 hex digits */

/*
 * Why the xmins of a table's rows cannot tell which rows its unfinished
 * backfill has written: a column of the queries below, computed from the
 * job's recorded origin, relid and relfilenode against the table's
 * ($origin, $relid: this database's; $filenode: the table's storage now).
 *
 * - "restored": the migration's state was written in another database
 *   (mig.origin()), or the table the job names has another OID now (the
 *   same database, emptied and restored): every restored row carries a new
 *   xmin.
 * - "rewritten": the table's storage is not the one the job records.  After
 *   a rewrite that gives every row a new xmin (pg_repack, a rewriting ALTER
 *   TABLE past the event trigger) the backfill fails the job, and the
 *   relfilenode it records stays the old one; after VACUUM FULL or CLUSTER,
 *   which keep the xmins, the next batch starts the pass again and records
 *   the new storage.  Until then no one can tell the two apart cheaply, so
 *   both refuse every row.
 */
#define MIG_DISTRUST_RESTORED	"restored"
#define MIG_DISTRUST_REWRITTEN	"rewritten"
#define DISTRUST_SQL(origin, relid, filenode) \
	" CASE WHEN (m.origin IS NOT NULL AND m.origin OPERATOR(pg_catalog.<>) " origin ")" \
	"        OR j.relid OPERATOR(pg_catalog.<>) " relid " THEN 'restored'" \
	"      WHEN j.relfilenode OPERATOR(pg_catalog.<>) " filenode " THEN 'rewritten' END"

#define READY_TOKEN_LEN		(READY_TOKEN_BYTES * 2)

/* the views a backend has seen ready */
typedef struct ReadyKey
{
	Oid			relid;
	char		token[READY_TOKEN_LEN + 1];
} ReadyKey;

static HTAB *ready_views = NULL;

/* one unfinished backfill's progress, for messages */
typedef struct BackfillProgress
{
	const char *state;			/* the job's state */
	bool		paused;
	int64		rows_done;
	int64		rows_total;		/* -1: unknown */
	const char *last_error;
} BackfillProgress;

/* what the trigger needs about a table, read once per statement */
typedef struct RowCheckEntry
{
	Oid			relid;			/* hash key */
	bool		valid;			/* false after a relcache invalidation */
	bool		ready;			/* no unfinished backfill */
	bool		final;			/* ready, as committed by another transaction */
	LocalTransactionId lxid;	/* the statement it was read for */
	CommandId	cid;
	MemoryContext cxt;			/* what is below */
	List	   *snaps;			/* MigPredateSnapshot * of unfinished backfills */
	const char *distrust;		/* MIG_DISTRUST_*: xmins tell nothing */
	char	   *schema;
	char	   *migration;
	BackfillProgress progress;
} RowCheckEntry;

static HTAB *row_checks = NULL;

static void not_ready_error(const char *version, const char *table,
							const char *schema, const char *migration,
							BackfillProgress *progress,
							const char *row, const char *distrust);
static void distrust_error(const char *version, const char *table,
						   const char *schema, const char *migration,
						   BackfillProgress *progress, const char *distrust);
static void row_check_invalidate(Datum arg, Oid relid);
static void row_check_load(RowCheckEntry *entry, Oid relid, Oid filenode);

/*
 * The guard of a new version's view, or "" when the table has nothing to
 * backfill: no backfill job, or one over an empty table (no row predates
 * the trigger, so none can lack its new columns).
 */
char *
MigVersionReadyGuard(Oid relid, const char *version_schema,
					 const char *view_name)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	uint8		bytes[READY_TOKEN_BYTES];
	char		token[READY_TOKEN_LEN + 1];
	char	   *schema;
	char	   *migration;
	int			i;

	MigSpiExec("SELECT j.schema::pg_catalog.text, j.migration"
			   " FROM mig.job_queue j"
			   " JOIN mig.migrations m"
			   "   ON m.schema OPERATOR(pg_catalog.=) j.schema"
			   "  AND m.name OPERATOR(pg_catalog.=) j.migration"
			   " WHERE j.relid OPERATOR(pg_catalog.=) $1"
			   "   AND j.kind OPERATOR(pg_catalog.=) 'backfill'"
			   "   AND j.state OPERATOR(pg_catalog.<>) 'done'"
			   "   AND j.end_block OPERATOR(pg_catalog.>) 0"
			   "   AND m.status OPERATOR(pg_catalog.=) 'in_progress'"
			   " LIMIT 1",
			   1, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the backfill jobs of relation %u", relid);
	if (SPI_processed == 0)
		return "";
	schema = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	migration = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

	if (!pg_strong_random(bytes, sizeof(bytes)))
		ereport(ERROR,
				errcode(ERRCODE_INTERNAL_ERROR),
				errmsg("could not generate a random token for the guard of view \"%s\"",
					   view_name));
	for (i = 0; i < READY_TOKEN_BYTES; i++)
		sprintf(token + 2 * i, "%02x", bytes[i]);

	return psprintf(" WHERE mig.version_ready(%s::pg_catalog.name, %s::pg_catalog.text,"
					" %s::pg_catalog.name, %s::pg_catalog.name,"
					" '%u'::pg_catalog.regclass, '%s'::pg_catalog.text, xmin, cmin)",
					quote_literal_cstr(schema), quote_literal_cstr(migration),
					quote_literal_cstr(version_schema),
					quote_literal_cstr(view_name), relid, token);
}

bool
MigVersionReadyIsGuard(Oid funcid)
{
	char	   *name = get_func_name(funcid);
	Oid			nspid;

	if (name == NULL || strcmp(name, "version_ready") != 0)
		return false;
	nspid = get_func_namespace(funcid);
	return nspid == get_namespace_oid("mig", true);
}

/*
 * What one scan's calls of mig.version_ready know about the table, read on
 * the first call (fn_extra): its unfinished backfills' snapshots, read with
 * the statement's snapshot, so they match the rows the scan sees.
 */
typedef struct ReadyScan
{
	bool		ready;			/* every row has its new columns */
	bool		broken;			/* the backfill job is missing */
	const char *distrust;		/* MIG_DISTRUST_*: xmins tell nothing */
	List	   *snaps;			/* MigPredateSnapshot * of unfinished backfills */
	BackfillProgress progress;
} ReadyScan;

static ReadyScan *
ready_scan_load(FunctionCallInfo fcinfo)
{
	Oid			argtypes[5] = {NAMEOID, TEXTOID, OIDOID, TEXTOID, TEXTOID};
	Datum		values[5];
	char	   *qname;
	ReadyKey	key;
	char	   *token;
	bool		final = true;
	ReadyScan  *scan;
	MemoryContext oldcxt;
	uint64		i;

	memset(&key, 0, sizeof(key));
	key.relid = PG_GETARG_OID(4);
	token = text_to_cstring(PG_GETARG_TEXT_PP(5));
	strlcpy(key.token, token, sizeof(key.token));

	scan = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ReadyScan));
	scan->ready = true;
	if (ready_views == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(ReadyKey);
		ctl.entrysize = sizeof(ReadyKey);
		ctl.hcxt = TopMemoryContext;
		ready_views = hash_create("migrate_ext ready versions", 16, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	else if (hash_search(ready_views, &key, HASH_FIND, NULL) != NULL)
		return scan;

	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);
	values[2] = PG_GETARG_DATUM(4);
	qname = MigIdentRelationName(key.relid);
	values[3] = CStringGetTextDatum(qname ? qname : "");
	values[4] = CStringGetTextDatum(MigOrigin());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MigSpiExec("SELECT m.status OPERATOR(pg_catalog.=) 'in_progress', m.xmin,"
			   " j.state, j.paused, j.rows_done, j.rows_total,"
			   " j.last_error, j.xmin, j.snapshot,"
			   DISTRUST_SQL("$5", "$3",
							"pg_catalog.pg_relation_filenode($3::pg_catalog.regclass)")
			   " FROM mig.migrations m"
			   " LEFT JOIN mig.job_queue j"
			   "   ON j.schema OPERATOR(pg_catalog.=) m.schema"
			   "  AND j.migration OPERATOR(pg_catalog.=) m.name"
			   "  AND j.kind OPERATOR(pg_catalog.=) 'backfill'"
			   "  AND (j.relid OPERATOR(pg_catalog.=) $3"
			   "       OR j.relname OPERATOR(pg_catalog.=) $4)"
			   " WHERE m.schema OPERATOR(pg_catalog.=) $1"
			   "   AND m.name OPERATOR(pg_catalog.=) $2"
			   " ORDER BY j.seq",
			   5, argtypes, values, NULL, true, SPI_OK_SELECT,
			   "could not read the backfill jobs of relation %u", key.relid);

	oldcxt = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	/* the migration gone (rolled back here): nothing to wait for, for now */
	if (SPI_processed == 0)
		final = false;
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		bool		in_progress = DatumGetBool(SPI_getbinval(tup, desc, 1, &isnull));
		TransactionId mxmin = DatumGetTransactionId(SPI_getbinval(tup, desc, 2, &isnull));
		char	   *state = SPI_getvalue(tup, desc, 3);
		char	   *snapshot;
		char	   *distrust;
		TransactionId jxmin;
		Datum		d;

		if (TransactionIdIsCurrentTransactionId(mxmin))
			final = false;
		if (!in_progress)
			break;				/* completed: the guard is on its way out */
		if (state == NULL)
		{
			/* the job that should be there is not: do not guess */
			scan->ready = false;
			scan->broken = true;
			break;
		}
		jxmin = DatumGetTransactionId(SPI_getbinval(tup, desc, 8, &isnull));
		if (TransactionIdIsCurrentTransactionId(jxmin))
			final = false;
		snapshot = SPI_getvalue(tup, desc, 9);
		if (strcmp(state, "done") == 0 || snapshot == NULL)
			continue;
		scan->snaps = lappend(scan->snaps, MigBackfillParseSnapshot(snapshot));
		distrust = SPI_getvalue(tup, desc, 10);
		/* messages show the first unfinished job, or the first distrusted */
		if (scan->ready || (distrust != NULL && scan->distrust == NULL))
		{
			scan->distrust = distrust;
			scan->ready = false;
			scan->progress.state = state;
			scan->progress.paused = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
			scan->progress.rows_done = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
			d = SPI_getbinval(tup, desc, 6, &isnull);
			scan->progress.rows_total = isnull ? -1 : DatumGetInt64(d);
			scan->progress.last_error = SPI_getvalue(tup, desc, 7);
		}
	}
	MemoryContextSwitchTo(oldcxt);
	SPI_finish();

	if (scan->ready && final)
		(void) hash_search(ready_views, &key, HASH_ENTER, NULL);
	return scan;
}

/*
 * mig.version_ready(schema, migration, version, view, table, token, xmin,
 * cmin): may the new version show this row?  Yes once the migration's
 * backfill of the table is done, or when the row version was written after
 * start (through the trigger, or by the backfill itself); otherwise an
 * error that says how far the backfill is.
 */
Datum
mig_version_ready(PG_FUNCTION_ARGS)
{
	ReadyScan  *scan = (ReadyScan *) fcinfo->flinfo->fn_extra;
	TransactionId xmin;
	CommandId	cmin;
	ListCell   *lc;
	int			j;

	if (scan == NULL)
	{
		for (j = 0; j < 8; j++)
			if (PG_ARGISNULL(j))
				ereport(ERROR,
						errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						errmsg("arguments of mig.version_ready must not be null"));
		scan = ready_scan_load(fcinfo);
		fcinfo->flinfo->fn_extra = scan;
	}
	if (scan->ready)
		PG_RETURN_BOOL(true);

	xmin = DatumGetTransactionId(PG_GETARG_DATUM(6));
	cmin = DatumGetCommandId(PG_GETARG_DATUM(7));
	if (!scan->broken && scan->distrust == NULL)
	{
		foreach(lc, scan->snaps)
		{
			if (MigBackfillRowPredates(lfirst(lc), xmin, cmin))
				break;
		}
		if (lc == NULL)
			PG_RETURN_BOOL(true);
	}
	not_ready_error(NameStr(*PG_GETARG_NAME(2)), NameStr(*PG_GETARG_NAME(3)),
					NameStr(*PG_GETARG_NAME(0)), text_to_cstring(PG_GETARG_TEXT_PP(1)),
					scan->broken ? NULL : &scan->progress, NULL, scan->distrust);
	PG_RETURN_BOOL(false);		/* keep compiler quiet */
}

/*
 * The guard keeps every row: estimating a third of them, as for an unknown
 * boolean function, would skew the plans of queries through the view.
 */
Datum
mig_version_ready_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);

	if (IsA(rawreq, SupportRequestSelectivity))
	{
		SupportRequestSelectivity *req = (SupportRequestSelectivity *) rawreq;

		req->selectivity = 1.0;
		PG_RETURN_POINTER(req);
	}
	PG_RETURN_POINTER(NULL);
}

/*
 * The error of a row the new version may not show or write yet.  progress
 * NULL: the table's backfill job is missing.  row: where the row is, when
 * known.
 */
static void
not_ready_error(const char *version, const char *table, const char *schema,
				const char *migration, BackfillProgress *progress,
				const char *row, const char *distrust)
{
	const char *qschema = quote_literal_cstr(schema);
	char	   *subject;
	char	   *done;

	if (progress == NULL)
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("version \"%s\" of table \"%s\" is not ready", version, table),
				errdetail("Migration \"%s\" has no backfill job for the table, so its rows may lack their new columns.",
						  migration),
				errhint("Undo the migration with mig.rollback(%s) and start it again.",
						qschema));
	if (distrust != NULL)
		distrust_error(version, table, schema, migration, progress, distrust);

	subject = row ? psprintf("The row at %s", row) :
		pstrdup("A row the statement reads or writes");
	if (progress->rows_total >= 0)
		done = psprintf(INT64_FORMAT " of about " INT64_FORMAT " rows",
						progress->rows_done, progress->rows_total);
	else
		done = psprintf(INT64_FORMAT " rows", progress->rows_done);

	if (strcmp(progress->state, "failed") == 0)
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("version \"%s\" of table \"%s\" is not ready", version, table),
				errdetail("%s has not been backfilled: the backfill of migration \"%s\" failed after %s: %s.",
						  subject, migration, done,
						  progress->last_error ? progress->last_error : "?"),
				errhint("The new version shows a row once the backfill has written it: resume the backfill with mig.resume(%s), then wait for it with CALL mig.wait(%s).",
						qschema, qschema));
	else
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("version \"%s\" of table \"%s\" is not ready", version, table),
				errdetail("%s has not been backfilled yet: the backfill of migration \"%s\" has written %s%s.",
						  subject, migration, done,
						  progress->paused ? " and is paused" : ""),
				progress->paused ?
				errhint("The new version shows a row once the backfill has written it: resume the backfill with mig.resume(%s), then wait for it with CALL mig.wait(%s).",
						qschema, qschema) :
				errhint("The new version shows a row once the backfill has written it: wait for the backfill with CALL mig.wait(%s); mig.status(%s) shows its progress.",
						qschema, qschema));
}

/*
 * The error of every row of a table whose rows' xmins cannot tell which
 * rows the backfill has written (distrust: MIG_DISTRUST_*).
 */
static void
distrust_error(const char *version, const char *table, const char *schema,
			   const char *migration, BackfillProgress *progress,
			   const char *distrust)
{
	const char *qschema = quote_literal_cstr(schema);

	if (strcmp(distrust, MIG_DISTRUST_RESTORED) == 0)
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("version \"%s\" of table \"%s\" is not ready", version, table),
				errdetail("The table was restored from a dump taken while the backfill of migration \"%s\" was unfinished: the restored rows carry new transaction IDs, so the rows the backfill has not written cannot be told from the others, and no row is shown or written through the new version.",
						  migration),
				errhint("Roll the migration back with mig.rollback(%s) and start it again.",
						qschema));
	if (strcmp(progress->state, "failed") == 0)
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("version \"%s\" of table \"%s\" is not ready", version, table),
				errdetail("The table was rewritten during the backfill of migration \"%s\", which failed: %s.  Every row carries a new transaction ID, so the rows the backfill has not written cannot be told from the others, and no row is shown or written through the new version.",
						  migration,
						  progress->last_error ? progress->last_error : "?"),
				errhint("Roll the migration back with mig.rollback(%s) and start it again.",
						qschema));
	ereport(ERROR,
			errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			errmsg("version \"%s\" of table \"%s\" is not ready", version, table),
			errdetail("The table was rewritten during the backfill of migration \"%s\": until the backfill has checked its new storage, the rows it has not written cannot be told from the others, and no row is shown or written through the new version.",
					  migration),
			errhint("After VACUUM FULL or CLUSTER, wait for the backfill to start its pass again on the new storage (resume it with mig.resume(%s) if it is paused); after pg_repack or another rewrite that gives every row a new transaction ID, roll the migration back with mig.rollback(%s) and start it again.",
					qschema, qschema));
}

static void
row_check_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	RowCheckEntry *entry;

	if (row_checks == NULL)
		return;
	hash_seq_init(&status, row_checks);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (!OidIsValid(relid) || entry->relid == relid)
			entry->valid = false;
	}
}

/* Read the table's unfinished backfills: their snapshots and progress. */
static void
row_check_load(RowCheckEntry *entry, Oid relid, Oid filenode)
{
	Oid			argtypes[4] = {OIDOID, TEXTOID, TEXTOID, OIDOID};
	Datum		values[4];
	char	   *qname = MigIdentRelationName(relid);
	MemoryContext oldcxt;
	uint64		i;

	values[0] = ObjectIdGetDatum(relid);
	values[1] = CStringGetTextDatum(qname ? qname : "");
	values[2] = CStringGetTextDatum(MigOrigin());
	values[3] = ObjectIdGetDatum(filenode);
	if (entry->cxt == NULL)
		entry->cxt = AllocSetContextCreate(CacheMemoryContext,
										   "migrate_ext version readiness",
										   ALLOCSET_SMALL_SIZES);
	MemoryContextReset(entry->cxt);
	entry->valid = false;
	entry->snaps = NIL;
	entry->distrust = NULL;
	entry->ready = true;
	entry->final = true;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MigSpiExec("SELECT j.state OPERATOR(pg_catalog.=) 'done', j.xmin,"
			   " j.snapshot, j.schema::pg_catalog.text, j.migration,"
			   " j.state, j.paused, j.rows_done, j.rows_total, j.last_error,"
			   DISTRUST_SQL("$3", "$1", "$4")
			   " FROM mig.job_queue j"
			   " JOIN mig.migrations m"
			   "   ON m.schema OPERATOR(pg_catalog.=) j.schema"
			   "  AND m.name OPERATOR(pg_catalog.=) j.migration"
			   " WHERE (j.relid OPERATOR(pg_catalog.=) $1"
			   "        OR j.relname OPERATOR(pg_catalog.=) $2)"
			   "   AND j.kind OPERATOR(pg_catalog.=) 'backfill'"
			   "   AND m.status OPERATOR(pg_catalog.=) 'in_progress'"
			   " ORDER BY j.seq",
			   4, argtypes, values, NULL, true, SPI_OK_SELECT,
			   "could not read the backfill jobs of relation %u", relid);

	oldcxt = MemoryContextSwitchTo(entry->cxt);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		bool		done = DatumGetBool(SPI_getbinval(tup, desc, 1, &isnull));
		TransactionId xmin = DatumGetTransactionId(SPI_getbinval(tup, desc, 2, &isnull));
		char	   *snapshot = SPI_getvalue(tup, desc, 3);
		char	   *distrust;
		Datum		d;

		if (TransactionIdIsCurrentTransactionId(xmin))
			entry->final = false;
		if (done || snapshot == NULL)
			continue;
		entry->snaps = lappend(entry->snaps, MigBackfillParseSnapshot(snapshot));
		distrust = SPI_getvalue(tup, desc, 11);
		/* messages show the first unfinished job, or the first distrusted */
		if (entry->ready || (distrust != NULL && entry->distrust == NULL))
		{
			entry->distrust = distrust;
			entry->ready = false;
			entry->schema = SPI_getvalue(tup, desc, 4);
			entry->migration = SPI_getvalue(tup, desc, 5);
			entry->progress.state = SPI_getvalue(tup, desc, 6);
			entry->progress.paused = DatumGetBool(SPI_getbinval(tup, desc, 7, &isnull));
			entry->progress.rows_done = DatumGetInt64(SPI_getbinval(tup, desc, 8, &isnull));
			d = SPI_getbinval(tup, desc, 9, &isnull);
			entry->progress.rows_total = isnull ? -1 : DatumGetInt64(d);
			entry->progress.last_error = SPI_getvalue(tup, desc, 10);
		}
	}
	if (!entry->ready)
		entry->final = false;
	MemoryContextSwitchTo(oldcxt);
	SPI_finish();

	entry->lxid = MigMyLocalTransactionId();
	entry->cid = GetCurrentCommandId(false);
	entry->valid = true;
}

void
MigVersionReadyCheckRow(Relation rel, HeapTuple oldtup, const char *version)
{
	Oid			relid = RelationGetRelid(rel);
	RowCheckEntry *entry;
	bool		found;
	TransactionId xmin;
	CommandId	cmin;
	ListCell   *lc;

	if (row_checks == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(RowCheckEntry);
		ctl.hcxt = CacheMemoryContext;
		row_checks = hash_create("migrate_ext version readiness", 16, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(row_check_invalidate, (Datum) 0);
	}
	entry = hash_search(row_checks, &relid, HASH_ENTER, &found);
	if (!found)
	{
		entry->valid = false;
		entry->cxt = NULL;
	}

	/* once per statement until the backfill is done for good */
	if (!entry->valid ||
		(!entry->final &&
		 (entry->lxid != MigMyLocalTransactionId() ||
		  entry->cid != GetCurrentCommandId(false))))
		row_check_load(entry, relid, MigRelationFileNumber(rel));
	if (entry->ready)
		return;
	if (entry->distrust != NULL)
		not_ready_error(version, RelationGetRelationName(rel),
						entry->schema, entry->migration, &entry->progress,
						NULL, entry->distrust);

	/*
	 * The raw xmin, as the view's guard and the backfill read it: a row
	 * frozen by VACUUM FREEZE, FULL or CLUSTER still says who wrote it (the
	 * backfill, or the trigger), and is not taken for a predating one.
	 */
	xmin = HeapTupleHeaderGetRawXmin(oldtup->t_data);
	cmin = HeapTupleHeaderGetRawCommandId(oldtup->t_data);
	foreach(lc, entry->snaps)
	{
		if (MigBackfillRowPredates(lfirst(lc), xmin, cmin))
			not_ready_error(version, RelationGetRelationName(rel),
							entry->schema, entry->migration, &entry->progress,
							psprintf("(%u,%u)",
									 ItemPointerGetBlockNumber(&oldtup->t_self),
									 ItemPointerGetOffsetNumber(&oldtup->t_self)),
							NULL);
	}
}
