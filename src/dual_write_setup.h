/*-------------------------------------------------------------------------
 *
 * dual_write_setup.h
 *		Install a migration's dual-write triggers at start; remove them at
 *		complete and rollback.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_DUAL_WRITE_SETUP_H
#define MIG_DUAL_WRITE_SETUP_H

#include "ops.h"

/* Check every rule compiles, record them, create triggers, queue backfills. */
extern void MigDualWriteInstall(MigPlan *plan);

/* Drop the triggers of a migration and forget its rules and jobs. */
extern void MigDualWriteRemove(const char *schema, const char *migration);

/* Whether MigDualWriteRemove is dropping a trigger (for event_guard.c). */
extern bool MigDualWriteRemoving(void);

#endif							/* MIG_DUAL_WRITE_SETUP_H */
