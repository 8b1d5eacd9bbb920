/*-------------------------------------------------------------------------
 *
 * backfill_snapshot.h
 *		The snapshot that tells the rows a backfill writes from the rows
 *		written through the dual-write trigger.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_BACKFILL_SNAPSHOT_H
#define MIG_BACKFILL_SNAPSHOT_H

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

#endif							/* MIG_BACKFILL_SNAPSHOT_H */
