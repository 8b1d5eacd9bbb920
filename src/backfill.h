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
 * One batch of a backfill job: enough blocks for about batch_size rows from
 * its cursor, written, and the new cursor recorded, in the current
 * transaction (SPI connected).  Marks the job done after its last block.
 * Returns the rows written.
 */
struct MigJob;
extern int64 MigBackfillBatch(struct MigJob *job, int batch_size);

/* a way to sleep ms milliseconds, interruptible */
typedef void (*MigSleepFn) (int ms);

/*
 * Between two backfill batches: migrate_ext.backfill_delay, then wait while
 * a standby lags more than migrate_ext.max_replication_lag.  what names the
 * job in the activity shown while waiting.
 */
extern void MigBackfillThrottle(const char *what, MigSleepFn sleep);

#endif							/* MIG_BACKFILL_H */
