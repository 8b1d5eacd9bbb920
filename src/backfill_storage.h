/*-------------------------------------------------------------------------
 *
 * backfill_storage.h
 *		A backfill's block cursor is meaningful only for the storage it was
 *		started on: notice a table rewrite and act on it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_BACKFILL_STORAGE_H
#define MIG_BACKFILL_STORAGE_H

#include "utils/relcache.h"

#include "backfill_snapshot.h"

struct MigJob;

/*
 * Record the storage (relfilenode) of the job's table, which the job's
 * block range refers to.  Called at start, once the table is locked.
 */
extern void MigBackfillRecordStorage(const char *schema, const char *migration,
									 int seq, Oid relid);

/*
 * Before a batch, with the table locked against rewrites: if its storage
 * is not the one the cursor refers to, restart the pass from block 0 on the
 * new storage (job->next_block and job->end_block are updated) when the
 * rewrite kept every row's inserting xid (VACUUM FULL, CLUSTER, SET
 * TABLESPACE, TRUNCATE); otherwise raise an error that names the job: the
 * rows that predate the migration can no longer be told apart.
 */
extern void MigBackfillCheckStorage(struct MigJob *job, Relation rel,
									MigPredateSnapshot *snap);

#endif							/* MIG_BACKFILL_STORAGE_H */
