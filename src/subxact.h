/*-------------------------------------------------------------------------
 *
 * subxact.h
 *		Run a piece of work in an internal subtransaction and get its error
 *		back instead of raising it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_SUBXACT_H
#define MIG_SUBXACT_H

typedef void (*MigSubxactFn) (void *arg);

/*
 * Run fn(arg) in an internal subtransaction.  Returns NULL when it
 * succeeded (the subtransaction is released); otherwise the subtransaction
 * is rolled back and its error returned, copied into the caller's memory
 * context, for the caller to raise again, report or drop.  The caller's
 * memory context and resource owner are as before either way.
 */
extern ErrorData *MigSubxactRun(MigSubxactFn fn, void *arg);

#endif							/* MIG_SUBXACT_H */
