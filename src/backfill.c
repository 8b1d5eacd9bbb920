/*-------------------------------------------------------------------------
 *
 * backfill.c
 *		Give the rows that existed before a table's dual-write trigger their
 *		new columns, in batches of physical blocks.
 *
 *		Which rows: at start, once the table is locked against writers, a
 *		snapshot is taken, with the starting transaction's xids (its own and
 *		its subtransactions') and command: its own rows written before the
 *		trigger predate it too.  A row version whose inserting transaction
 *		is visible in it existed before the trigger; every later row version
 *		was written through the trigger, by either version, and is never
 *		touched, so nothing written through the new version is overwritten
 *		(not even when up(down(v)) differs from v).  The test holds for the
 *		row version the batch finally writes: a row updated concurrently is
 *		skipped, its new version having been written through the trigger.
 *
 *		How, for an ordinary heap table (nearly all): each batch reads its
 *		block range with a TID range scan and writes the predating rows
 *		itself, their new columns computed by the trigger's compiled up
 *		rules (backfill_heap.c): no primary key needed, the heap read
 *		sequentially, no trigger fired.  For any other table (a deferrable
 *		unique constraint, a stored generated column, another access
 *		method): "UPDATE t SET c = c WHERE ctid in a block range AND the row
 *		predates the snapshot", as the old version, so the trigger computes
 *		the new columns (up lives in one place either way), with the
 *		session replication role "replica" so that user triggers do not
 *		fire (the dual-write trigger is ENABLE ALWAYS).  Each batch commits
 *		its rows and its cursor (mig.job_queue.next_block) together, so an
 *		interrupted backfill resumes where it stopped; a table rewrite moves
 *		the rows, and the pass restarts from block 0 or the job fails
 *		(backfill_storage.c).  The background worker (worker.c) runs the
 *		batches; CALL mig.backfill runs them in the foreground.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
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
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rls.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"
#include "pgstat.h"
#include "replication/walsender.h"
#include "replication/walsender_private.h"
#include "storage/spin.h"

#include "backfill.h"
#include "backfill_heap.h"
#include "backfill_snapshot.h"
#include "backfill_storage.h"
#include "dual_write.h"
#include "jobs.h"
#include "model.h"
#include "names.h"
#include "security.h"
#include "settings.h"
#include "worker_control.h"


/*
 * What every batch of the backfill this session ran last needs, found once
 * for all its batches: a throttled backfill runs tens of thousands of
 * small batches, and each paid for reading its target column, parsing its
 * snapshot and, on the UPDATE path, parsing and planning its statement.
 * That plan is prepared by the first batch that takes the UPDATE path and
 * kept (SPI_keepplan); the plan cache replans it when the table changes.
 * Which path a batch takes is decided per batch (MigBackfillHeapUsable):
 * a deferrable unique constraint added while the backfill runs must send
 * the next batch through the UPDATE.  The key is the job's table and
 * snapshot, which is unique to one start.
 */
typedef struct BatchPlan
{
	MemoryContext cxt;			/* what is below, but the plan */
	Oid			relid;
	char	   *snapshot;
	MigPredateSnapshot *snap;	/* the snapshot parsed */
	AttrNumber	target;			/* InvalidAttrNumber: nothing to backfill */
	SPIPlanPtr	plan;			/* the UPDATE, once a batch needed it */
} BatchPlan;

static BatchPlan batch_plan;

static BatchPlan *
batch_plan_for(MigJob *job)
{
	MemoryContext oldcxt;

	if (batch_plan.snapshot != NULL && batch_plan.relid == job->relid &&
		strcmp(batch_plan.snapshot, job->snapshot) == 0)
		return &batch_plan;

	if (batch_plan.cxt == NULL)
		batch_plan.cxt = AllocSetContextCreate(TopMemoryContext,
											   "migrate_ext backfill plan",
											   ALLOCSET_SMALL_SIZES);
	if (batch_plan.plan != NULL)
		SPI_freeplan(batch_plan.plan);
	MemoryContextReset(batch_plan.cxt);
	batch_plan.snapshot = NULL;
	batch_plan.plan = NULL;

	batch_plan.target = MigDualWriteUpTarget(job->relid);
	oldcxt = MemoryContextSwitchTo(batch_plan.cxt);
	batch_plan.snap = MigBackfillParseSnapshot(job->snapshot);
	batch_plan.relid = job->relid;
	batch_plan.snapshot = pstrdup(job->snapshot);
	MemoryContextSwitchTo(oldcxt);
	return &batch_plan;
}

/*
 * The UPDATE that backfills a batch of a table the direct path cannot
 * write (backfill_heap.c says which), prepared the first time one needs it.
 */
static SPIPlanPtr
batch_statement(BatchPlan *bp)
{
	Oid			argtypes[3] = {TEXTOID, TIDOID, TIDOID};
	const char *col;
	char	   *sql;
	SPIPlanPtr	plan;

	if (bp->plan != NULL)
		return bp->plan;

	col = MigQuoteColumn(bp->relid, bp->target);
	sql = psprintf("UPDATE %s SET %s = %s"
				   " WHERE ctid >= $2 AND ctid < $3"
				   " AND mig.row_predates(xmin, cmin, $1)",
				   MigQuoteTable(bp->relid), col, col);

	/*
	 * A generic plan: the block range changes with every batch, and a TID
	 * range scan is right for any of them.
	 */
	plan = SPI_prepare_cursor(sql, 3, argtypes, CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "could not prepare the backfill statement \"%s\": %s",
			 sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "could not keep the backfill statement's plan");
	bp->plan = plan;
	return plan;
}

/*
 * Row level security would filter the UPDATE path's statement: the table
 * has row level security and the role running the backfill (the one that
 * started the migration) is subject to it, because the table has FORCE ROW
 * LEVEL SECURITY or the role no longer owns it.  The rows a policy hides
 * would be skipped without a word and the job would say done, so fail the
 * batch instead.  RLS is not bypassed: the trigger's up expressions run
 * inside the statement, and any table they read must keep its policies as
 * the role sees them (a cached plan does not tell RLS that was turned off
 * for one statement from RLS that applies).  The table is locked against
 * ALTER TABLE and CREATE POLICY until the batch commits, so the answer
 * holds for the statement.  The direct path is not affected: it reads the
 * heap itself and writes every row.
 */
static void
refuse_row_security(MigJob *job)
{
	if (check_enable_rls(job->relid, InvalidOid, true) != RLS_ENABLED)
		return;
	ereport(ERROR,
			errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			errmsg("cannot backfill table %s of migration \"%s\": row level security applies to role \"%s\"",
				   MigQuoteTable(job->relid), job->migration,
				   GetUserNameFromId(GetUserId(), false)),
			errdetail("This table is backfilled by an UPDATE statement, which the table's policies would restrict to the rows they show, leaving the other rows without their new columns."),
			errhint("Run ALTER TABLE %s NO FORCE ROW LEVEL SECURITY until the backfill is done, or grant BYPASSRLS to the role that started the migration, then run mig.resume().",
					MigQuoteTable(job->relid)));
}

static Datum
block_tid(int64 block)
{
	ItemPointer tid = palloc(sizeof(ItemPointerData));

	ItemPointerSet(tid, (BlockNumber) block, 0);
	return PointerGetDatum(tid);
}

int64
MigBackfillBatch(MigJob *job, int batch_size)
{
	Relation	rel;
	double		rows_per_block = 100;
	int64		blocks;
	int64		last;
	int64		rows = 0;
	int			saved_role = SessionReplicationRole;
	Datum		values[3];
	BatchPlan  *bp;
	bool		direct;

	/* the table by its recorded name; a snapshot of another database's refused */
	MigJobIdentify(job);
	rel = RelationIdGetRelation(job->relid);
	if (!RelationIsValid(rel))
		ereport(ERROR,
				errcode(ERRCODE_UNDEFINED_TABLE),
				errmsg("table with OID %u does not exist", job->relid),
				errdetail("It was dropped while its backfill was running."));

	/*
	 * The cursor refers to the storage the pass started on: with the table
	 * locked against rewrites until this batch commits, check that it is
	 * still the same, or restart the pass (backfill_storage.c).
	 */
	bp = batch_plan_for(job);
	LockRelationOid(job->relid, RowExclusiveLock);
	MigBackfillCheckStorage(job, rel, bp->snap);

	/*
	 * Rows per block of the blocks to backfill, as estimated at start (the
	 * table grows as the backfill writes new row versions at its end).
	 */
	if (job->rows_total > 0 && job->end_block > 0)
		rows_per_block = (double) job->rows_total / job->end_block;
	else if (rel->rd_rel->relpages > 0 && rel->rd_rel->reltuples > 0)
		rows_per_block = rel->rd_rel->reltuples / rel->rd_rel->relpages;
	direct = MigBackfillHeapUsable(rel);
	RelationClose(rel);

	blocks = (int64) (batch_size / Max(rows_per_block, 1.0));
	blocks = Max(blocks, 1);
	last = Min(job->next_block + blocks, job->end_block);

	if (bp->target == InvalidAttrNumber || job->next_block >= last)
		last = job->end_block;
	else if (direct)
	{
		rel = table_open(job->relid, RowExclusiveLock);
		rows = MigBackfillHeapRange(rel, bp->snap, (BlockNumber) job->next_block,
									(BlockNumber) last);
		table_close(rel, NoLock);
	}
	else
	{
		/* read after PG_FINALLY: volatile across its longjmp */
		SPIPlanPtr volatile plan;

		refuse_row_security(job);
		plan = batch_statement(bp);
		values[0] = CStringGetTextDatum(job->snapshot);
		values[1] = block_tid(job->next_block);
		values[2] = block_tid(last);

		MigBackfillWriting = true;
		SessionReplicationRole = SESSION_REPLICATION_ROLE_REPLICA;
		PG_TRY();
		{
			if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "backfill statement of relation %u failed", job->relid);
			rows = SPI_processed;
		}
		PG_FINALLY();
		{
			MigBackfillWriting = false;
			SessionReplicationRole = saved_role;
		}
		PG_END_TRY();
	}

	MigJobSetBackfillProgress(job, last, rows);
	if (last >= job->end_block)
		MigJobSetDone(job);
	return rows;
}

/* the largest replay lag of a streaming standby, in ms (0: none known) */
static long
max_apply_lag_ms(void)
{
	long		max = 0;
	int			i;

	if (WalSndCtl == NULL)
		return 0;
	for (i = 0; i < max_wal_senders; i++)
	{
		WalSnd	   *walsnd = &WalSndCtl->walsnds[i];
		TimeOffset	lag;
		pid_t		pid;
		WalSndState state;

		SpinLockAcquire(&walsnd->mutex);
		pid = walsnd->pid;
		state = walsnd->state;
		lag = walsnd->applyLag;
		SpinLockRelease(&walsnd->mutex);
		if (pid != 0 && state == WALSNDSTATE_STREAMING && lag > 0)
			max = Max(max, (long) (lag / 1000));
	}
	return max;
}

/*
 * Between two backfill batches: the pause of migrate_ext.backfill_delay,
 * then, while a streaming standby's replay lag is above
 * migrate_ext.max_replication_lag, waits of at most a second.  Both the
 * worker and CALL mig.backfill call it, each with its own way of sleeping.
 */
void
MigBackfillThrottle(const char *what, MigSleepFn sleep)
{
	long		lag;

	if (mig_backfill_delay > 0)
		sleep(mig_backfill_delay);
	while (mig_max_replication_lag > 0 &&
		   (lag = max_apply_lag_ms()) > mig_max_replication_lag)
	{
		pgstat_report_activity(STATE_RUNNING,
							   psprintf("migrate_ext: %s waits: standby replay lag %ld ms is above migrate_ext.max_replication_lag",
										what, lag));
		sleep(Min(mig_max_replication_lag, 1000));
	}
}
