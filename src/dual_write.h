/*-------------------------------------------------------------------------
 *
 * dual_write.h
 *		The dual-write trigger: keeps the old and new versions' columns of a
 *		migrated table in step.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_DUAL_WRITE_H
#define MIG_DUAL_WRITE_H

#include "access/attnum.h"
#include "access/htup.h"
#include "nodes/execnodes.h"
#include "utils/relcache.h"

/* true while the backfill writes: it always writes as the old version */
extern bool MigBackfillWriting;

/*
 * The row as the table's up rules leave it (the row itself when it has
 * none), in the current memory context: what the trigger writes for the
 * old version, and what the backfill writes.  slot holds the row.
 */
extern HeapTuple MigDualWriteUp(Relation rel, HeapTuple tuple,
								TupleTableSlot *slot);

/* Register the relcache callback that invalidates compiled rules. */
extern void MigDualWriteInit(void);

/*
 * A column of the table that an up rule of its dual-write trigger writes
 * (the column the backfill sets to itself), or InvalidAttrNumber.  SPI
 * connected.
 */
extern AttrNumber MigDualWriteUpTarget(Oid relid);

#endif							/* MIG_DUAL_WRITE_H */
