/*-------------------------------------------------------------------------
 *
 * backfill_heap.h
 *		One backfill batch written straight to a heap table, without an
 *		UPDATE statement and without firing any trigger.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_BACKFILL_HEAP_H
#define MIG_BACKFILL_HEAP_H

#include "storage/block.h"
#include "utils/relcache.h"

#include "backfill_snapshot.h"

/*
 * Can batches of this table be written directly?  An ordinary heap table
 * with no stored generated column and no deferrable unique or exclusion
 * constraint can; others take the UPDATE statement.
 */
extern bool MigBackfillHeapUsable(Relation rel);

/*
 * Give every row version in blocks [first, last) that predates the trigger
 * its up rules' columns; rows updated or deleted meanwhile are left alone.
 * Returns the rows written.
 */
extern int64 MigBackfillHeapRange(Relation rel, MigPredateSnapshot *snap,
								  BlockNumber first, BlockNumber last);

#endif							/* MIG_BACKFILL_HEAP_H */
