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

#endif							/* MIG_BACKFILL_H */
