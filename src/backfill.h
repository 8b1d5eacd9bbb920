/*-------------------------------------------------------------------------
 *
 * backfill.h
 *		Backfill: the rows that existed before a table's dual-write trigger
 *		get their new columns in batches.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_BACKFILL_H
#define MIG_BACKFILL_H

/*
 * The snapshot that separates rows written before the trigger from rows
 * written through it, as text.  Take it once the table is locked against
 * writers.
 */
extern char *MigBackfillSnapshot(void);

/*
 * That snapshot parsed, and its test: was a row version with this xmin and
 * cmin written before the trigger existed?
 */
typedef struct MigPredateSnapshot MigPredateSnapshot;
extern MigPredateSnapshot *MigBackfillParseSnapshot(const char *text);
extern bool MigBackfillRowPredates(MigPredateSnapshot *snap,
								   TransactionId xmin, CommandId cmin);

/*
 * One batch of a backfill job: enough blocks for about batch_size rows from
 * its cursor, written, and the new cursor recorded, in the current
 * transaction (SPI connected).  Marks the job done after its last block.
 * Returns the rows written.
 */
struct MigJob;
extern int64 MigBackfillBatch(struct MigJob *job, int batch_size);

#endif							/* MIG_BACKFILL_H */
