/*-------------------------------------------------------------------------
 *
 * worker_control.h
 *		Starting, finding and stopping the background worker that runs a
 *		schema's migration jobs (worker_control.c), and what the worker and
 *		the launcher (worker.c) share with it.
 *
 *		One worker per schema with unfinished jobs, connected as the role
 *		that started the migration.  It holds the schema's worker lock (a
 *		session-level advisory lock) while it runs, which is how others find
 *		it, wait for it and keep a second one from running.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_WORKER_CONTROL_H
#define MIG_WORKER_CONTROL_H

#include "storage/lock.h"

/* Start a worker for the schema when the current transaction commits. */
extern void MigWorkerLaunchAtCommit(const char *schema);

/*
 * Start a worker for the schema now if its active migration has
 * unfinished, unpaused jobs and no worker runs them (it died, the server
 * restarted without the launcher, ...).  SPI connected.
 */
extern void MigWorkerEnsure(const char *schema);

/*
 * Stop the schema's worker, if one runs, and hold its lock until the end
 * of the transaction so that none starts meanwhile (rollback).  Waits at
 * most the lock timeout for each of a few attempts.  SPI connected.
 */
extern void MigWorkerStop(Oid schema_oid, const char *schema);

/*
 * Take the worker lock for a foreground run (CALL mig.backfill): fails if
 * a worker holds it.  Released by MigWorkerUnlockForeground.
 */
extern void MigWorkerLockForeground(Oid schema_oid, const char *schema);
extern void MigWorkerUnlockForeground(Oid schema_oid);

/*
 * Are the schema's jobs (in this database) waiting for a free background
 * worker slot?  Noted when a worker could not be registered, cleared once
 * one is.
 */
extern bool MigWorkerWaitingForSlot(const char *schema);

/* Register the launcher; from _PG_init while preloading. */
extern void MigWorkerRegisterLauncher(void);

/*
 * For the background processes (worker.c).
 */

/* what a worker is started with (bgw_extra) */
typedef struct WorkerArgs
{
	Oid			dboid;
	Oid			roleoid;
	char		schema[NAMEDATALEN];
} WorkerArgs;

/* the schema's worker lock: a session-level advisory lock */
extern void MigWorkerLockTag(LOCKTAG *tag, Oid schema_oid);
/* note, or clear, that the schema's jobs wait for a worker slot */
extern void MigSlotWaitNote(Oid dboid, Oid roleoid, const char *schema,
							bool waiting);
/* the launcher: be woken by backends; retry the schemas waiting for a slot */
extern void MigLauncherAttach(void);
extern bool MigLauncherRetrySlotWaits(void);

#endif							/* MIG_WORKER_CONTROL_H */
