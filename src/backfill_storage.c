/*-------------------------------------------------------------------------
 *
 * backfill_storage.c
 *		A backfill walks its table's blocks; a table rewrite moves the rows
 *		to other blocks, so the cursor means nothing afterwards.
 *
 *		The job records the table's storage (its relfilenode) at start, and
 *		each batch compares it, holding a lock that keeps rewrites out
 *		until the batch commits.  What a rewrite did to the rows decides:
 *
 *		- VACUUM FULL and CLUSTER copy each row version with its inserting
 *		  xid (rewrite_heap_tuple keeps the raw xmin, and freezes by setting
 *		  infomask bits only), SET TABLESPACE copies the blocks and TRUNCATE
 *		  empties the table: which rows predate the migration can still be
 *		  told, so the pass starts again from block 0 of the new storage.
 *		  Rows already backfilled, and rows written through the trigger,
 *		  no longer predate the snapshot and are left alone; rows that still
 *		  predate it get their new columns.
 *		- A rewriting ALTER TABLE and pg_repack write every row again with a
 *		  new xid: nothing tells the old rows from the new ones any more.
 *		  The ALTER TABLE is refused while the backfill is unfinished (a
 *		  table_rewrite event trigger, event_guard.c); pg_repack cannot be,
 *		  so it is detected: after such a rewrite no visible row predates
 *		  the snapshot, and the batch fails with an error that says so
 *		  (MIG_ERRCODE_JOB_UNRECOVERABLE: the job fails at once), and
 *		  complete refuses.  Until the job records the new storage, the
 *		  new version refuses every row of the table (version_ready.c).  A TRUNCATE followed by new rows before the next batch
 *		  looks the same and fails the job too.
 *
 *		The test for "the xids were kept" is that some visible row still
 *		predates the snapshot, or that the table is empty.  It errs on the
 *		safe side: if every row left unvisited had been updated or deleted
 *		before a VACUUM FULL, the job fails although nothing was lost.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/sysattr.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "backfill_snapshot.h"
#include "backfill_storage.h"
#include "compat.h"
#include "jobs.h"
#include "model.h"
#include "names.h"
#include "security.h"
#include "spi_exec.h"

/* $1, $2, $3: the job's key */
static void
job_key(MigJob *job, Oid *argtypes, Datum *values)
{
	argtypes[0] = NAMEOID;
	argtypes[1] = TEXTOID;
	argtypes[2] = INT4OID;
	values[0] = DirectFunctionCall1(namein, CStringGetDatum(job->schema));
	values[1] = CStringGetTextDatum(job->migration);
	values[2] = Int32GetDatum(job->seq);
}

void
MigBackfillRecordStorage(const char *schema, const char *migration, int seq,
						 Oid relid)
{
	Oid			argtypes[4] = {NAMEOID, TEXTOID, INT4OID, OIDOID};
	Datum		values[4];
	Relation	rel = relation_open(relid, NoLock);
	MigOwnerSave save;

	values[0] = DirectFunctionCall1(namein, CStringGetDatum(schema));
	values[1] = CStringGetTextDatum(migration);
	values[2] = Int32GetDatum(seq);
	values[3] = ObjectIdGetDatum(MigRelationFileNumber(rel));
	relation_close(rel, NoLock);

	MigAsExtensionOwner(&save);
	MigSpiExec("UPDATE mig.job_queue SET relfilenode = $4"
			   " WHERE schema = $1 AND migration = $2 AND seq = $3",
			   4, argtypes, values, NULL, false, SPI_OK_UPDATE,
			   "could not record the storage of relation %u", relid);
	MigAsCaller(&save);
}

/*
 * Did the rewrite keep the rows' inserting xids?  Yes if the table is
 * empty or some row in it still predates the snapshot (read as the SQL
 * path reads it: the raw xmin, frozen or not).
 */
static bool
rewrite_kept_xids(Relation rel, MigPredateSnapshot *snap)
{
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TableScanDesc scan = table_beginscan(rel, snapshot, 0, NULL);
	bool		empty = true;
	bool		predating = false;

	while (!predating && table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		TransactionId xmin;
		CommandId	cmin;

		CHECK_FOR_INTERRUPTS();
		empty = false;
		xmin = DatumGetTransactionId(slot_getsysattr(slot, MinTransactionIdAttributeNumber,
													 &isnull));
		cmin = DatumGetCommandId(slot_getsysattr(slot, MinCommandIdAttributeNumber,
												 &isnull));
		predating = MigBackfillRowPredates(snap, xmin, cmin);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snapshot);
	return empty || predating;
}

void
MigBackfillCheckStorage(MigJob *job, Relation rel, MigPredateSnapshot *snap)
{
	Oid			argtypes[5];
	Datum		values[5];
	Oid			recorded;
	Oid			current = MigRelationFileNumber(rel);
	bool		isnull;
	int64		blocks;
	char	   *qtable;
	MigOwnerSave save;

	job_key(job, argtypes, values);
	if (SPI_execute_with_args("SELECT relfilenode FROM mig.job_queue"
							  " WHERE schema = $1 AND migration = $2 AND seq = $3",
							  3, argtypes, values, NULL, false, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read job %d of migration \"%s\"", job->seq, job->migration);
	recorded = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, 1, &isnull));
	if (!isnull && recorded == current)
		return;

	/* a job queued before its storage was recorded: its pass is on this one */
	if (isnull)
	{
		MigBackfillRecordStorage(job->schema, job->migration, job->seq,
								 RelationGetRelid(rel));
		return;
	}

	/*
	 * Hook point: a backfill snapshot taken in another cluster or database
	 * (a restored dump) must have been refused before this point, since
	 * its xids say nothing about the rows here and the test below would be
	 * meaningless; a restored table is never "rewritten".
	 */
	qtable = MigQuoteTable(RelationGetRelid(rel));
	if (!rewrite_kept_xids(rel, snap))
		ereport(ERROR,
				errcode(MIG_ERRCODE_JOB_UNRECOVERABLE),
				errmsg("table %s was rewritten while migration \"%s\" was backfilling it",
					   qtable, job->migration),
				errdetail("Its storage changed (relfilenode %u, now %u) and no row in it carries the transaction id it was written with, as after pg_repack or a rewriting ALTER TABLE: the rows that existed before the migration started can no longer be told from the rows written since.",
						  recorded, current),
				errhint("Roll the migration back with mig.rollback('%s') and start it again.  While a backfill runs, VACUUM FULL and CLUSTER are safe, other rewrites are not.",
						job->schema));

	/*
	 * A new pass over the whole new storage.  rows_done keeps counting the
	 * rows written: a row backfilled before the rewrite no longer predates
	 * the snapshot, so it is neither written nor counted twice.
	 */
	blocks = (int64) RelationGetNumberOfBlocks(rel);
	argtypes[3] = INT8OID;
	values[3] = Int64GetDatum(blocks);
	argtypes[4] = OIDOID;
	values[4] = ObjectIdGetDatum(current);
	MigAsExtensionOwner(&save);
	MigSpiExec("UPDATE mig.job_queue SET next_block = 0, end_block = $4,"
			   " relfilenode = $5, restarted_at = pg_catalog.clock_timestamp()"
			   " WHERE schema = $1 AND migration = $2 AND seq = $3",
			   5, argtypes, values, NULL, false, SPI_OK_UPDATE,
			   "could not record the storage of relation %u", RelationGetRelid(rel));
	MigAsCaller(&save);

	ereport(MigIsBackgroundWorker() ? LOG : NOTICE,
			errmsg("table %s was rewritten while migration \"%s\" was backfilling it: the backfill starts again from its first block",
				   qtable, job->migration),
			errdetail("The rewrite moved the rows (relfilenode %u, now %u); the backfill had reached block " INT64_FORMAT " of " INT64_FORMAT ".  Rows already backfilled and rows written since the migration started are left alone.",
					  recorded, current, job->next_block, job->end_block));
	job->next_block = 0;
	job->end_block = blocks;
}
