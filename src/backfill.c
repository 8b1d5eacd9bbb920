/*-------------------------------------------------------------------------
 *
 * backfill.c
 *		Give the rows that existed before a table's dual-write trigger their
 *		new columns, in batches of physical blocks.
 *
 *		Which rows: at start, once the table is locked against writers, a
 *		snapshot is taken, with the starting transaction's id and command
 *		(its own rows written before the trigger predate it too).  A row version whose inserting transaction is
 *		visible in it existed before the trigger; every later row version
 *		was written through the trigger, by either version, and is never
 *		touched, so nothing written through the new version is overwritten
 *		(not even when up(down(v)) differs from v).  The test runs on the
 *		row version the UPDATE finally writes: a row updated concurrently is
 *		re-checked on its new version and skipped.
 *
 *		How: "UPDATE t SET c = c WHERE ctid in a block range AND the row
 *		predates the snapshot", as the old version, so the trigger computes
 *		the new columns (up lives in one place).  Block ranges (TID range
 *		scans) need no primary key and read the heap sequentially.  User
 *		triggers do not fire (the session replication role is "replica" for
 *		the statement; the dual-write trigger is ENABLE ALWAYS).  Each batch
 *		commits its rows and its cursor (mig.backfills.next_block) together,
 *		so an interrupted backfill resumes where it stopped.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/bufmgr.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

#include "backfill.h"
#include "dual_write.h"
#include "migrate_ext.h"
#include "model.h"
#include "state.h"

PG_FUNCTION_INFO_V1(mig_row_predates);
PG_FUNCTION_INFO_V1(mig_backfill);

/* a snapshot as the backfill needs it */
typedef struct BackfillSnapshot
{
	TransactionId xmin;
	TransactionId xmax;
	TransactionId start_xid;	/* the transaction that created the trigger */
	CommandId	start_cid;		/* its command that did */
	int			nxip;
	TransactionId xip[FLEXIBLE_ARRAY_MEMBER];	/* in progress, top and sub */
} BackfillSnapshot;

typedef struct BackfillTask
{
	Oid			relid;
	char	   *snapshot;
	int64		next_block;
	int64		end_block;
	int64		rows_done;
	AttrNumber	target;			/* a column the UPDATE sets to itself */
} BackfillTask;

static BackfillSnapshot *parse_snapshot(const char *text);
static bool backfill_next_task(const char *schema, BackfillTask *task);
static int64 backfill_batch(BackfillTask *task, int batch_size);

/*
 * The snapshot that separates rows that existed before the trigger from
 * rows written through it.  Call it once the table is locked against
 * writers, in the transaction that creates the trigger.
 */
char *
MigBackfillSnapshot(void)
{
	Snapshot	snap = GetLatestSnapshot();
	StringInfoData buf;
	int			i;

	/*
	 * With overflowed subtransactions the snapshot does not list them all;
	 * such a transaction could later write the table under an unlisted
	 * subtransaction.  Treat it like a lock that is not free yet.
	 */
	if (snap->suboverflowed)
		ereport(ERROR,
				errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				errmsg("could not take a complete snapshot for the backfill"),
				errdetail("A transaction with more than %d subtransactions is in progress.",
						  PGPROC_MAX_CACHED_SUBXIDS));

	/*
	 * The starting transaction's own rows are told apart by command: those
	 * written before this point predate the trigger.
	 */
	initStringInfo(&buf);
	appendStringInfo(&buf, "%u:%u:%u:%u:", snap->xmin, snap->xmax,
					 GetTopTransactionId(), GetCurrentCommandId(false));
	for (i = 0; i < snap->xcnt; i++)
		appendStringInfo(&buf, "%s%u", buf.data[buf.len - 1] == ':' ? "" : ",",
						 snap->xip[i]);
	for (i = 0; i < snap->subxcnt; i++)
		appendStringInfo(&buf, "%s%u", buf.data[buf.len - 1] == ':' ? "" : ",",
						 snap->subxip[i]);
	return buf.data;
}

static BackfillSnapshot *
parse_snapshot(const char *text)
{
	const char *p = text;
	char	   *end;
	int			n = 1;
	BackfillSnapshot *snap;

	for (; *p; p++)
		if (*p == ',')
			n++;
	snap = palloc0(offsetof(BackfillSnapshot, xip) + sizeof(TransactionId) * n);
	p = text;
	snap->xmin = (TransactionId) strtoul(p, &end, 10);
	if (*end != ':')
		goto bad;
	snap->xmax = (TransactionId) strtoul(end + 1, &end, 10);
	if (*end != ':')
		goto bad;
	snap->start_xid = (TransactionId) strtoul(end + 1, &end, 10);
	if (*end != ':')
		goto bad;
	snap->start_cid = (CommandId) strtoul(end + 1, &end, 10);
	if (*end != ':')
		goto bad;
	p = end + 1;
	while (*p)
	{
		snap->xip[snap->nxip++] = (TransactionId) strtoul(p, &end, 10);
		if (*end == ',')
			end++;
		else if (*end != '\0')
			goto bad;
		p = end;
	}
	return snap;

bad:
	ereport(ERROR,
			errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			errmsg("invalid backfill snapshot \"%s\"", text));
	return NULL;				/* keep compiler quiet */
}

/*
 * mig.row_predates(xmin, cmin, snapshot): was this row version written
 * before the trigger existed: by a transaction that had finished when the
 * snapshot was taken, or by the starting transaction before it created the
 * trigger?
 */
Datum
mig_row_predates(PG_FUNCTION_ARGS)
{
	TransactionId xid = DatumGetTransactionId(PG_GETARG_DATUM(0));
	CommandId	cid = DatumGetCommandId(PG_GETARG_DATUM(1));
	BackfillSnapshot *snap = (BackfillSnapshot *) fcinfo->flinfo->fn_extra;
	int			i;

	if (snap == NULL)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		snap = parse_snapshot(text_to_cstring(PG_GETARG_TEXT_PP(2)));
		MemoryContextSwitchTo(oldcxt);
		fcinfo->flinfo->fn_extra = snap;
	}

	if (!TransactionIdIsNormal(xid))
		PG_RETURN_BOOL(true);
	if (TransactionIdEquals(xid, snap->start_xid))
		PG_RETURN_BOOL(cid < snap->start_cid);
	if (TransactionIdPrecedes(xid, snap->xmin))
		PG_RETURN_BOOL(true);
	if (TransactionIdFollowsOrEquals(xid, snap->xmax))
		PG_RETURN_BOOL(false);
	for (i = 0; i < snap->nxip; i++)
		if (snap->xip[i] == xid)
			PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(true);
}

/* The next table of the schema's active migration with blocks left. */
static bool
backfill_next_task(const char *schema, BackfillTask *task)
{
	Oid			argtypes[1] = {NAMEOID};
	Datum		values[1] = {DirectFunctionCall1(namein, CStringGetDatum(schema))};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;

	if (SPI_execute_with_args("SELECT b.relid, b.snapshot, b.next_block, b.end_block,"
							  " b.rows_done,"
							  " (SELECT (r->>'target')::int4"
							  "  FROM pg_catalog.jsonb_array_elements(d.rules) r"
							  "  WHERE r->>'direction' = 'up' LIMIT 1)"
							  " FROM mig.backfills b"
							  " JOIN mig.migrations m ON m.schema = b.schema AND m.name = b.migration"
							  " LEFT JOIN mig.dual_writes d ON d.relid = b.relid"
							  " WHERE b.schema = $1 AND m.status = 'in_progress'"
							  "   AND b.next_block < b.end_block"
							  " ORDER BY b.relid LIMIT 1",
							  1, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read backfill progress");
	if (SPI_processed == 0)
		return false;

	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	task->relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
	task->snapshot = SPI_getvalue(tup, desc, 2);
	task->next_block = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
	task->end_block = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
	task->rows_done = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
	task->target = DatumGetInt32(SPI_getbinval(tup, desc, 6, &isnull));
	if (isnull)
		task->target = InvalidAttrNumber;
	return true;
}

/*
 * One batch: enough blocks for about batch_size rows, from next_block.
 * Records the new cursor in the same transaction.  Returns rows written.
 */
static int64
backfill_batch(BackfillTask *task, int batch_size)
{
	Relation	rel = RelationIdGetRelation(task->relid);
	double		rows_per_block = 100;
	int64		blocks;
	int64		last;
	int64		rows = 0;
	int			saved_role = SessionReplicationRole;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	Oid			state_argtypes[4] = {OIDOID, INT8OID, INT8OID, BOOLOID};
	Datum		state_values[4];
	MigOwnerSave save;
	char	   *sql;

	if (!RelationIsValid(rel))
		ereport(ERROR,
				errcode(ERRCODE_UNDEFINED_TABLE),
				errmsg("table with OID %u does not exist", task->relid),
				errdetail("It was dropped while its backfill was running."));
	if (rel->rd_rel->relpages > 0 && rel->rd_rel->reltuples > 0)
		rows_per_block = rel->rd_rel->reltuples / rel->rd_rel->relpages;
	RelationClose(rel);

	blocks = (int64) (batch_size / Max(rows_per_block, 1.0));
	blocks = Max(blocks, 1);
	last = Min(task->next_block + blocks, task->end_block);

	if (task->target != InvalidAttrNumber)
	{
		const char *col = MigQuoteColumn(task->relid, task->target);

		sql = psprintf("UPDATE %s SET %s = %s"
					   " WHERE ctid >= '(" INT64_FORMAT ",0)'::pg_catalog.tid"
					   " AND ctid < '(" INT64_FORMAT ",0)'::pg_catalog.tid"
					   " AND mig.row_predates(xmin, cmin, $1)",
					   MigQuoteTable(task->relid), col, col,
					   task->next_block, last);
		values[0] = CStringGetTextDatum(task->snapshot);

		MigBackfillWriting = true;
		SessionReplicationRole = SESSION_REPLICATION_ROLE_REPLICA;
		PG_TRY();
		{
			if (SPI_execute_with_args(sql, 1, argtypes, values, NULL, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "backfill statement failed: %s", sql);
			rows = SPI_processed;
		}
		PG_FINALLY();
		{
			MigBackfillWriting = false;
			SessionReplicationRole = saved_role;
		}
		PG_END_TRY();
	}
	else
		last = task->end_block;

	state_values[0] = ObjectIdGetDatum(task->relid);
	state_values[1] = Int64GetDatum(last);
	state_values[2] = Int64GetDatum(rows);
	state_values[3] = BoolGetDatum(last >= task->end_block);
	MigAsExtensionOwner(&save);
	if (SPI_execute_with_args("UPDATE mig.backfills"
							  " SET next_block = $2, rows_done = rows_done + $3,"
							  "     started_at = coalesce(started_at, pg_catalog.now()),"
							  "     finished_at = CASE WHEN $4 THEN pg_catalog.clock_timestamp() END"
							  " WHERE relid = $1",
							  4, state_argtypes, state_values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not record backfill progress");
	MigAsCaller(&save);

	task->next_block = last;
	task->rows_done += rows;
	return rows;
}

/*
 * CALL mig.backfill(schema, batch_size): backfill every table of the active
 * migration.  Called outside a transaction block, it commits after each
 * batch; inside one, it does all the work in that transaction.
 */
Datum
mig_backfill(PG_FUNCTION_ARGS)
{
	const char *schema;
	int			batch_size;
	bool		nonatomic;
	BackfillTask task;
	Oid			current = InvalidOid;
	int64		table_rows = 0;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				errmsg("schema must not be null"));
	schema = pstrdup(NameStr(*PG_GETARG_NAME(0)));
	batch_size = PG_ARGISNULL(1) ? mig_backfill_batch_size : PG_GETARG_INT32(1);
	if (batch_size < 1)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("batch size must be at least 1"));

	nonatomic = fcinfo->context && IsA(fcinfo->context, CallContext) &&
		!castNode(CallContext, fcinfo->context)->atomic;

	if (SPI_connect_ext(nonatomic ? SPI_OPT_NONATOMIC : 0) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	MigCheckSchemaPrivilege(get_namespace_oid(schema, false), schema);

	while (backfill_next_task(schema, &task))
	{
		char	   *relname;

		if (task.relid != current)
		{
			current = task.relid;
			table_rows = 0;
		}
		relname = get_rel_name(task.relid);
		table_rows += backfill_batch(&task, batch_size);

		if (task.next_block >= task.end_block)
			ereport(NOTICE,
					errmsg("backfilled table \"%s\": " INT64_FORMAT " rows in " INT64_FORMAT " blocks",
						   relname ? relname : "?", task.rows_done, task.end_block));
		if (nonatomic)
			SPI_commit();
		CHECK_FOR_INTERRUPTS();
		if (mig_backfill_delay > 0 && task.next_block < task.end_block)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 mig_backfill_delay, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
	SPI_finish();
	PG_RETURN_VOID();
}
