/*-------------------------------------------------------------------------
 *
 * ddl_capture.h
 *		DDL run outside migrations, recorded in the history as inferred
 *		migrations (pgroll's raw_migration), and the one indicator that
 *		the extension itself is running DDL.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_DDL_CAPTURE_H
#define MIG_DDL_CAPTURE_H

/* Install the ProcessUtility hook; called once, from _PG_init. */
extern void MigDdlCaptureInit(void);

/*
 * The extension is running DDL of its own (start, complete, rollback, a
 * job, COPY routing): nothing it runs is recorded.  Enter returns the
 * previous state, which Leave restores (in a PG_FINALLY, so that an error
 * restores it too).  A background worker of the extension marks itself
 * for its whole life with MigOwnDdlProcess().
 */
extern bool MigOwnDdlEnter(void);
extern void MigOwnDdlLeave(bool previous);
extern void MigOwnDdlProcess(void);

#endif							/* MIG_DDL_CAPTURE_H */
