/*-------------------------------------------------------------------------
 *
 * worker_control.c
 *		The backend side of the background worker: launching a schema's
 *		worker at commit, starting it again if it died, stopping it, the
 *		worker lock a foreground run takes, and the shared memory where
 *		schemas waiting for a worker slot are noted for the launcher.
 *		The background processes themselves are in worker.c.
 *
 *		A worker is started when the transaction that started a migration
 *		commits.  When no background worker slot is free
 *		(max_worker_processes), the schema is noted in shared memory as
 *		waiting for a worker slot; the launcher tries again every second
 *		until a slot is free, and mig.jobs and mig.status say so meanwhile.
 *		The note is cleared once a worker has been registered for the
 *		schema.  Without the launcher (library not preloaded) the note is
 *		the session's own, and the next mig.* call tries again.
 *
 *	IDENTIFICATION
 *		src/worker_control.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>
#include <sys/stat.h>

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_database.h"
#include "catalog/pg_tablespace_d.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "common/relpath.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/walsender.h"
#include "replication/walsender_private.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/wait_event.h"

#include "compat.h"
#include "jobs.h"
#include "names.h"
#include "settings.h"
#include "spi_exec.h"
#include "worker_control.h"

/* first key of the worker lock ("miw"); the second is the schema's OID */
#define MIG_WORKER_LOCK_KEY 0x6d6977

/* a worker that exits with an error is started again after this */
#define MIG_WORKER_RESTART_SECONDS 5

/* tries, 50 ms apart, of a foreground backfill to get the worker lock */
#define MIG_FOREGROUND_LOCK_TRIES 40

/*
 * Schemas whose worker could not be registered for want of a free slot, in
 * shared memory (the library preloaded): the launcher retries them.
 */
#define MIG_SLOT_WAITS 64

typedef struct SlotWait
{
	Oid			dboid;			/* InvalidOid: the entry is free */
	Oid			roleoid;
	char		schema[NAMEDATALEN];
} SlotWait;

typedef struct WorkerShared
{
	slock_t		mutex;
	Latch	   *launcher_latch; /* NULL while no launcher runs */
	SlotWait	waits[MIG_SLOT_WAITS];
} WorkerShared;

static WorkerShared *worker_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* without shared memory: this session's schemas waiting for a slot */
static List *local_slot_waits = NIL;	/* in TopMemoryContext */

typedef struct PendingLaunch
{
	Oid			roleoid;
	char		schema[NAMEDATALEN];
} PendingLaunch;


static List *pending_launches = NIL;	/* in TopMemoryContext */
static bool xact_callback_registered = false;

static bool launch_worker(Oid dboid, Oid roleoid, const char *schema);
static bool launch_worker_or_wait(Oid dboid, Oid roleoid, const char *schema);
static bool worker_lock_busy(Oid schema_oid);
static void worker_xact_callback(XactEvent event, void *arg);
static Oid	migration_role(const char *schema);

void
MigWorkerLockTag(LOCKTAG *tag, Oid schema_oid)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, MIG_WORKER_LOCK_KEY,
						 (uint32) schema_oid, 2);
}

static bool
launch_worker(Oid dboid, Oid roleoid, const char *schema)
{
	BackgroundWorker bgw;
	WorkerArgs	args;

	memset(&bgw, 0, sizeof(bgw));
	memset(&args, 0, sizeof(args));
	args.dboid = dboid;
	args.roleoid = roleoid;
	strlcpy(args.schema, schema, NAMEDATALEN);

	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = MIG_WORKER_RESTART_SECONDS;
	strlcpy(bgw.bgw_library_name, "migrate_ext", BGW_MAXLEN);
	strlcpy(bgw.bgw_function_name, "mig_worker_main", BGW_MAXLEN);
	snprintf(bgw.bgw_name, BGW_MAXLEN, "migrate_ext worker for schema %s", schema);
	strlcpy(bgw.bgw_type, "migrate_ext worker", BGW_MAXLEN);
	bgw.bgw_main_arg = (Datum) 0;
	memcpy(bgw.bgw_extra, &args, sizeof(args));
	bgw.bgw_notify_pid = 0;
	return RegisterDynamicBackgroundWorker(&bgw, NULL);
}

/*
 * Note, or clear the note, that the schema's jobs wait for a worker slot.
 * No ERROR: called after commit too.
 */
void
MigSlotWaitNote(Oid dboid, Oid roleoid, const char *schema, bool waiting)
{
	ListCell   *lc;

	if (worker_shared != NULL)
	{
		int			i;
		int			free_entry = -1;
		bool		found = false;
		Latch	   *latch;

		SpinLockAcquire(&worker_shared->mutex);
		for (i = 0; i < MIG_SLOT_WAITS; i++)
		{
			SlotWait   *w = &worker_shared->waits[i];

			if (w->dboid == InvalidOid)
			{
				if (free_entry < 0)
					free_entry = i;
			}
			else if (w->dboid == dboid && strcmp(w->schema, schema) == 0)
			{
				found = true;
				if (waiting)
					w->roleoid = roleoid;
				else
					w->dboid = InvalidOid;
			}
		}
		if (waiting && !found && free_entry >= 0)
		{
			SlotWait   *w = &worker_shared->waits[free_entry];

			w->dboid = dboid;
			w->roleoid = roleoid;
			strlcpy(w->schema, schema, NAMEDATALEN);
		}
		latch = worker_shared->launcher_latch;
		SpinLockRelease(&worker_shared->mutex);
		if (waiting && latch != NULL)
			SetLatch(latch);
		return;
	}

	/* no launcher: only this session knows, and its next mig.* call retries */
	if (dboid != MyDatabaseId)
		return;
	foreach(lc, local_slot_waits)
	{
		if (strcmp((char *) lfirst(lc), schema) == 0)
		{
			if (!waiting)
			{
				pfree(lfirst(lc));
				local_slot_waits = foreach_delete_current(local_slot_waits, lc);
			}
			return;
		}
	}
	if (waiting)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(TopMemoryContext);

		local_slot_waits = lappend(local_slot_waits, pstrdup(schema));
		MemoryContextSwitchTo(oldcxt);
	}
}

/* launch_worker, noting whether the schema now waits for a worker slot */
static bool
launch_worker_or_wait(Oid dboid, Oid roleoid, const char *schema)
{
	bool		launched = launch_worker(dboid, roleoid, schema);

	MigSlotWaitNote(dboid, roleoid, schema, !launched);
	return launched;
}

bool
MigWorkerWaitingForSlot(const char *schema)
{
	bool		waiting = false;
	ListCell   *lc;
	Oid			schema_oid;

	if (worker_shared != NULL)
	{
		int			i;

		SpinLockAcquire(&worker_shared->mutex);
		for (i = 0; i < MIG_SLOT_WAITS; i++)
			if (worker_shared->waits[i].dboid == MyDatabaseId &&
				strcmp(worker_shared->waits[i].schema, schema) == 0)
				waiting = true;
		SpinLockRelease(&worker_shared->mutex);
	}
	else
	{
		foreach(lc, local_slot_waits)
			if (strcmp((char *) lfirst(lc), schema) == 0)
				waiting = true;
	}

	/* a worker that runs the jobs already (noted meanwhile): not waiting */
	if (waiting)
	{
		schema_oid = get_namespace_oid(schema, true);
		if (!OidIsValid(schema_oid) || worker_lock_busy(schema_oid))
			waiting = false;
	}
	return waiting;
}

/*
 * The launcher: try again to register a worker for each schema waiting for
 * a slot.  Returns whether some still wait (false without shared memory).
 */
bool
MigLauncherRetrySlotWaits(void)
{
	SlotWait	waits[MIG_SLOT_WAITS];
	bool		still = false;
	int			i;

	if (worker_shared == NULL)
		return false;
	SpinLockAcquire(&worker_shared->mutex);
	memcpy(waits, worker_shared->waits, sizeof(waits));
	SpinLockRelease(&worker_shared->mutex);
	for (i = 0; i < MIG_SLOT_WAITS; i++)
	{
		if (waits[i].dboid == InvalidOid)
			continue;
		if (launch_worker(waits[i].dboid, waits[i].roleoid, waits[i].schema))
		{
			ereport(LOG,
					errmsg("migrate_ext launcher started a background worker for the jobs of schema \"%s\" in database %u, a worker slot being free",
						   waits[i].schema, waits[i].dboid));
			MigSlotWaitNote(waits[i].dboid, waits[i].roleoid, waits[i].schema, false);
		}
		else
			still = true;
	}
	return still;
}

static void
worker_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(WorkerShared)));
}

static void
worker_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	worker_shared = ShmemInitStruct("migrate_ext workers", sizeof(WorkerShared), &found);
	if (!found)
	{
		memset(worker_shared, 0, sizeof(WorkerShared));
		SpinLockInit(&worker_shared->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

static void
launcher_detach(int code, Datum arg)
{
	SpinLockAcquire(&worker_shared->mutex);
	worker_shared->launcher_latch = NULL;
	SpinLockRelease(&worker_shared->mutex);
}

/*
 * No worker slot was free for the schema's jobs: say so, and what to do, at
 * most every ten seconds per session (CALL mig.wait asks again and again).
 * No ERROR: called after commit too.
 */
static void
warn_no_slot(const char *schema)
{
	static TimestampTz last_warned = 0;
	TimestampTz now = GetCurrentTimestamp();

	if (last_warned != 0 &&
		!TimestampDifferenceExceeds(last_warned, now, 10 * 1000))
		return;
	last_warned = now;
	ereport(WARNING,
			errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			errmsg("could not start a background worker for the jobs of schema \"%s\"",
				   schema),
			errdetail("All background worker slots are in use; %s",
					  worker_shared != NULL ?
					  "the jobs start as soon as one is free." :
					  "the next mig.* call on the schema tries again."),
			errhint("Raise max_worker_processes; meanwhile CALL mig.backfill('%s') runs the backfills in this session.",
					schema));
}

static void
worker_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	if (pending_launches == NIL)
		return;
	if (event == XACT_EVENT_COMMIT)
	{
		/* no ERROR here: the transaction has committed */
		foreach(lc, pending_launches)
		{
			PendingLaunch *launch = lfirst(lc);

			if (!launch_worker_or_wait(MyDatabaseId, launch->roleoid, launch->schema))
				warn_no_slot(launch->schema);
		}
	}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PREPARE || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PARALLEL_ABORT)
	{
		list_free_deep(pending_launches);
		pending_launches = NIL;
	}
}

void
MigWorkerLaunchAtCommit(const char *schema)
{
	MemoryContext oldcxt;
	PendingLaunch *launch;
	ListCell   *lc;
	Oid			roleoid;

	foreach(lc, pending_launches)
		if (strcmp(((PendingLaunch *) lfirst(lc))->schema, schema) == 0)
			return;

	/*
	 * The worker runs as the role that started the migration, whoever
	 * resumes or completes it: never with more privilege than that role.
	 */
	roleoid = migration_role(schema);
	if (!OidIsValid(roleoid))
		return;
	if (!xact_callback_registered)
	{
		RegisterXactCallback(worker_xact_callback, NULL);
		xact_callback_registered = true;
	}
	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	launch = palloc0(sizeof(PendingLaunch));
	launch->roleoid = roleoid;
	strlcpy(launch->schema, schema, NAMEDATALEN);
	pending_launches = lappend(pending_launches, launch);
	MemoryContextSwitchTo(oldcxt);
}

/* the role that started the migration of the schema's unfinished jobs */
static Oid
migration_role(const char *schema)
{
	Oid			argtypes[1] = {NAMEOID};
	Datum		values[1] = {DirectFunctionCall1(namein, CStringGetDatum(schema))};
	bool		isnull;
	Datum		d;

	MigSpiExec("SELECT m.started_by::pg_catalog.oid FROM mig.job_queue j"
			   " JOIN mig.migrations m ON m.schema = j.schema AND m.name = j.migration"
			   " JOIN pg_catalog.pg_roles r ON r.oid = m.started_by"
			   " WHERE j.schema = $1 AND j.state IN ('pending', 'running')"
			   "   AND NOT j.paused"
			   " ORDER BY m.status = 'in_progress' DESC LIMIT 1",
			   1, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the migrations of schema \"%s\"", schema);
	if (SPI_processed == 0)
		return InvalidOid;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? InvalidOid : DatumGetObjectId(d);
}

/* Is a worker (or a foreground backfill) holding the schema's worker lock? */
static bool
worker_lock_busy(Oid schema_oid)
{
	LOCKTAG		tag;

	MigWorkerLockTag(&tag, schema_oid);
	if (LockAcquire(&tag, ExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		return true;
	LockRelease(&tag, ExclusiveLock, false);
	return false;
}

void
MigWorkerEnsure(const char *schema)
{
	Oid			schema_oid = get_namespace_oid(schema, true);
	Oid			roleoid;

	if (RecoveryInProgress() || !OidIsValid(schema_oid) || !MigJobsPending(schema))
		return;
	if (worker_lock_busy(schema_oid))
		return;
	roleoid = migration_role(schema);
	if (!OidIsValid(roleoid))
		return;
	if (!launch_worker_or_wait(MyDatabaseId, roleoid, schema))
		warn_no_slot(schema);
	else
		ereport(DEBUG1,
				errmsg_internal("started a background worker for the jobs of schema \"%s\"",
								schema));
}

void
MigWorkerStop(Oid schema_oid, const char *schema)
{
	LOCKTAG		tag;
	Oid			argtypes[2] = {INT4OID, OIDOID};
	Datum		values[2];
	uint64		i;

	MigWorkerLockTag(&tag, schema_oid);
	if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
		return;

	/* ask whoever holds it to stop: a worker, which exits at once */
	values[0] = Int32GetDatum(MIG_WORKER_LOCK_KEY);
	values[1] = ObjectIdGetDatum(schema_oid);
	MigSpiExec("SELECT l.pid FROM pg_catalog.pg_locks l"
			   " JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid"
			   " WHERE l.locktype = 'advisory' AND l.granted"
			   "   AND l.database = (SELECT oid FROM pg_catalog.pg_database"
			   "                     WHERE datname = pg_catalog.current_database())"
			   "   AND l.classid = $1::oid AND l.objid = $2 AND l.objsubid = 2"
			   "   AND a.backend_type = 'migrate_ext worker'",
			   2, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not find the worker of schema \"%s\"", schema);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int			pid = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
													  SPI_tuptable->tupdesc, 1, &isnull));

		if (BackendPidGetProc(pid) != NULL && kill(pid, SIGTERM) == 0)
			ereport(NOTICE,
					errmsg("stopping the background worker of schema \"%s\" (process %d)",
						   schema, pid));
	}

	/* and wait for it to exit, within the lock timeout (ddl.c retries) */
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

void
MigWorkerLockForeground(Oid schema_oid, const char *schema)
{
	LOCKTAG		tag;
	int			tries;

	/* a worker that found nothing to do lets go within moments */
	MigWorkerLockTag(&tag, schema_oid);
	for (tries = 0; tries < MIG_FOREGROUND_LOCK_TRIES; tries++)
	{
		if (LockAcquire(&tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL)
			return;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 50, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	ereport(ERROR,
			errcode(ERRCODE_OBJECT_IN_USE),
			errmsg("the jobs of schema \"%s\" are being run by its background worker",
				   schema),
			errhint("Wait for them with CALL mig.wait('%s'), or pause them with mig.pause('%s') first.",
					schema, schema));
}

void
MigWorkerUnlockForeground(Oid schema_oid)
{
	LOCKTAG		tag;

	MigWorkerLockTag(&tag, schema_oid);
	LockRelease(&tag, ExclusiveLock, true);
}

/*
 * The launcher: be the one the backends wake (when shared memory is there),
 * until it exits.
 */
void
MigLauncherAttach(void)
{
	if (worker_shared != NULL)
	{
		SpinLockAcquire(&worker_shared->mutex);
		worker_shared->launcher_latch = MyLatch;
		SpinLockRelease(&worker_shared->mutex);
		on_shmem_exit(launcher_detach, (Datum) 0);
	}
}

void
MigWorkerRegisterLauncher(void)
{
	BackgroundWorker bgw;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = 10;
	strlcpy(bgw.bgw_library_name, "migrate_ext", BGW_MAXLEN);
	strlcpy(bgw.bgw_function_name, "mig_launcher_main", BGW_MAXLEN);
	strlcpy(bgw.bgw_name, "migrate_ext launcher", BGW_MAXLEN);
	strlcpy(bgw.bgw_type, "migrate_ext launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&bgw);

	/* where schemas waiting for a worker slot are noted for the launcher */
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = worker_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = worker_shmem_startup;
}
