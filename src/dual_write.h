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
#include "nodes/execnodes.h"
#include "utils/relcache.h"

/* true while the backfill writes: it always writes as the old version */
extern bool MigBackfillWriting;

/* Register the relcache callback that invalidates compiled rules. */
extern void MigDualWriteInit(void);

#endif							/* MIG_DUAL_WRITE_H */
