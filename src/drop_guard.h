/*-------------------------------------------------------------------------
 *
 * drop_guard.h
 *		Dropping the extension rolls back the migrations in progress first.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_DROP_GUARD_H
#define MIG_DROP_GUARD_H

/* api.c: mig.rollback of the migration in progress in a schema */
extern void MigRollbackActive(const char *schema);

#endif							/* MIG_DROP_GUARD_H */
