/*-------------------------------------------------------------------------
 *
 * worker.c
 *		The background worker that runs the jobs of a schema's migration,
 *		and the launcher that restarts unfinished jobs after a restart.
 *
 *		A worker is started when the transaction that started a migration
 *		commits, connects as the role that started it (never more
 *		privileged), takes the schema's worker lock and runs the jobs one
 *		unit at a time, each unit in transactions of its own: an index build,
 *		one backfill batch (its rows and its cursor commit together), a
 *		validation.  A lock timeout or deadlock is retried with backoff for
 *		as long as it takes; any other error is retried twice, then fails
 *		the job with the reason.  Between backfill batches it reloads its
 *		configuration, so migrate_ext.backfill_batch_size, backfill_delay
 *		and max_replication_lag can change while a job runs.
 *
 *		A worker ended by a crash or by pg_terminate_backend is restarted by
 *		the postmaster (bgw_restart_time) and resumes from the last
 *		committed batch.  After a server restart, the launcher (when the
 *		library is preloaded) or the next mig.* call starts workers again.
 *
 *		Launching, stopping and the slot waits are the backends' side, in
 *		worker_control.c.  When no background worker slot is free (max_worker_processes), the
 *		schema is noted in shared memory as waiting for a worker slot; the
 *		launcher tries again every second until a slot is free, and
 *		mig.jobs and mig.status say so meanwhile.  The note is cleared once
 *		a worker has been registered for the schema.  Without the launcher
 *		(library not preloaded) the note is the session's own, and the next
 *		mig.* call tries again.
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

#include "backfill.h"
#include "compat.h"
#include "ddl_capture.h"
#include "job_run.h"
#include "jobs.h"
#include "names.h"
#include "settings.h"
#include "worker_control.h"


/* tries (a second apart) to get the worker lock before giving up */
#define MIG_WORKER_LOCK_TRIES 15

/* errors other than lock timeouts a job survives */
#define MIG_JOB_MAX_ATTEMPTS 3

/* while something waits for a slot, the launcher looks this often */
#define MIG_SLOT_RETRY_MS 1000

PGDLLEXPORT void mig_worker_main(Datum arg);
PGDLLEXPORT void mig_launcher_main(Datum arg);
PGDLLEXPORT void mig_scanner_main(Datum arg);

static bool worker_lock_try(Oid schema_oid);
static void worker_run(const char *schema, Oid schema_oid);
static void worker_failure(MigJob *job, ErrorData *edata, int *backoff_ms);
static void worker_sleep(int ms);
static void reload_config(void);
static bool database_exists_on_disk(Oid dboid);
static bool extension_present(void);

/*
 * The worker.
 */

/* the worker's statements wait for locks at most migrate_ext.lock_timeout */
static void
set_worker_lock_timeout(void)
{
	char		timeout[32];

	snprintf(timeout, sizeof(timeout), "%dms", mig_lock_timeout);
	SetConfigOption("lock_timeout", timeout, PGC_USERSET, PGC_S_SESSION);
}

static void
reload_config(void)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
		set_worker_lock_timeout();
	}
}

static bool
worker_lock_try(Oid schema_oid)
{
	LOCKTAG		tag;

	MigWorkerLockTag(&tag, schema_oid);
	return LockAcquire(&tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL;
}

static void
worker_sleep(int ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	reload_config();
}


/* record a failed unit; sleeps before the retry */
static void
worker_failure(MigJob *job, ErrorData *edata, int *backoff_ms)
{
	bool		transient = edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
		edata->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED ||
		edata->sqlerrcode == ERRCODE_T_R_SERIALIZATION_FAILURE;
	bool		final = !transient &&
		(job->attempts + 1 >= MIG_JOB_MAX_ATTEMPTS ||
		 edata->sqlerrcode == MIG_ERRCODE_JOB_UNRECOVERABLE);
	char	   *message = edata->detail ?
		psprintf("%s (%s)", edata->message, edata->detail) : pstrdup(edata->message);

	ereport(final ? WARNING : LOG,
			errmsg("migrate_ext: %s of migration \"%s\" %s: %s",
				   MigJobDescribe(job), job->migration,
				   final ? "failed" : "will be retried", message));

	MigWorkStart();
	MigJobSetFailed(job, message, !transient, final);
	MigWorkCommit();

	if (!final)
	{
		pgstat_report_activity(STATE_IDLE, NULL);
		worker_sleep(*backoff_ms);
		*backoff_ms = Min(*backoff_ms * 2, MIG_MAX_BACKOFF_MS);
	}
}

static void
worker_run(const char *schema, Oid schema_oid)
{
	MemoryContext job_cxt = AllocSetContextCreate(TopMemoryContext,
												  "migrate_ext job",
												  ALLOCSET_DEFAULT_SIZES);
	int			backoff_ms = Max(mig_retry_delay, 10);

	for (;;)
	{
		/* both are read after PG_CATCH's longjmp: volatile */
		MigJob	   *volatile job;
		volatile bool more = true;

		CHECK_FOR_INTERRUPTS();
		reload_config();
		MemoryContextReset(job_cxt);

		MigWorkStart();
		job = MigJobNext(schema, false, NULL);
		if (job != NULL)
		{
			MigJobSetRunning(job);
			(void) MigJobDescribe(job);
			job = MigJobCopy(job, job_cxt);
		}
		MigWorkCommit();
		MemoryContextSwitchTo(job_cxt);
		if (job == NULL)
			break;

		while (more)
		{
			PG_TRY();
			{
				more = MigJobRunUnit(job, worker_sleep);
				backoff_ms = Max(mig_retry_delay, 10);
			}
			PG_CATCH();
			{
				ErrorData  *edata;

				MemoryContextSwitchTo(job_cxt);
				edata = CopyErrorData();
				FlushErrorState();
				AbortCurrentTransaction();
				MemoryContextSwitchTo(job_cxt);
				worker_failure(job, edata, &backoff_ms);
				more = false;	/* read the job again: paused, failed, ... */
			}
			PG_END_TRY();
			MemoryContextSwitchTo(job_cxt);
		}
	}
	pgstat_report_activity(STATE_IDLE, NULL);
	MemoryContextDelete(job_cxt);
}

/*
 * Does the database still have its directory, in the default tablespace or
 * another one?  (A worker cannot read pg_database before it connects.)
 */
static bool
database_exists_on_disk(Oid dboid)
{
	char	   *path = GetDatabasePath(dboid, DEFAULTTABLESPACE_OID);
	struct stat st;
	DIR		   *dir;
	struct dirent *de;
	bool		found = false;

	if (stat(path, &st) == 0)
		return true;
	dir = AllocateDir("pg_tblspc");
	while (!found && (de = ReadDir(dir, "pg_tblspc")) != NULL)
	{
		char		sub[MAXPGPATH];

		if (strspn(de->d_name, "0123456789") != strlen(de->d_name))
			continue;
		snprintf(sub, sizeof(sub), "pg_tblspc/%s/%s/%u", de->d_name,
				 TABLESPACE_VERSION_DIRECTORY, dboid);
		found = stat(sub, &st) == 0;
	}
	FreeDir(dir);
	return found;
}

/*
 * Is the extension (still) installed?  DROP EXTENSION rolls back the
 * migrations and stops their workers first (drop_guard.c); one the
 * postmaster restarts afterwards finds no state and exits quietly.
 */
static bool
extension_present(void)
{
	bool		present;

	StartTransactionCommand();
	present = OidIsValid(get_extension_oid("migrate_ext", true)) &&
		OidIsValid(get_namespace_oid("mig", true));
	CommitTransactionCommand();
	return present;
}

void
mig_worker_main(Datum arg)
{
	WorkerArgs	args;
	Oid			schema_oid;
	int			tries;

	memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));
	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	/* everything this process runs is the extension's own DDL */
	MigOwnDdlProcess();

	/*
	 * Restarted after its database was dropped (DROP DATABASE ... FORCE
	 * terminates it), connecting would fail and the postmaster would start
	 * it again every few seconds, forever: exit so that it is not.
	 */
	if (!database_exists_on_disk(args.dboid))
		proc_exit(0);
	BackgroundWorkerInitializeConnectionByOid(args.dboid, args.roleoid,
											  MIG_WORKER_CONNECT_FLAGS);

	SetConfigOption("application_name", "migrate_ext worker", PGC_USERSET, PGC_S_SESSION);
	set_worker_lock_timeout();
	pgstat_report_appname("migrate_ext worker");

	StartTransactionCommand();
	schema_oid = get_namespace_oid(args.schema, true);
	CommitTransactionCommand();
	if (!OidIsValid(schema_oid))
		proc_exit(0);

	for (tries = 0;; tries++)
	{
		bool		more;

		/* another worker (maybe one about to exit) or a rollback holds it */
		while (!worker_lock_try(schema_oid))
		{
			if (tries++ >= MIG_WORKER_LOCK_TRIES)
				proc_exit(0);
			worker_sleep(1000);
		}
		if (!extension_present())
			proc_exit(0);

		/* whoever noted the schema waiting for a slot: it has its worker */
		MigSlotWaitNote(MyDatabaseId, args.roleoid, args.schema, false);
		worker_run(args.schema, schema_oid);

		/* let go, then look once more: a new migration may have just started */
		MigWorkerUnlockForeground(schema_oid);
		MigWorkStart();
		more = MigJobsPending(args.schema);
		MigWorkCommit();
		if (!more)
			break;
	}
	pgstat_report_stat(true);
	proc_exit(0);
}

/*
 * The launcher (with the library preloaded): once the server accepts
 * connections, look in every database for unfinished jobs, one database
 * at a time, and start their workers.  It then stays, so that it runs
 * again after a crash restart, and while a database could not be looked at
 * or a schema's worker could not be started for want of a free worker
 * slot, it tries again every second.
 */
void
mig_launcher_main(Datum arg)
{
	List	   *databases = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	bool		said_no_slot = false;

	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	MigLauncherAttach();

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (db->datallowconn && !db->datistemplate)
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(TopMemoryContext);

			databases = lappend_oid(databases, db->oid);
			MemoryContextSwitchTo(oldcxt);
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();

	for (;;)
	{
		ListCell   *lc;
		bool		waiting;

		/* the databases not looked at yet */
		foreach(lc, databases)
		{
			BackgroundWorker bgw;
			BackgroundWorkerHandle *handle;
			pid_t		pid;

			memset(&bgw, 0, sizeof(bgw));
			bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
			bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
			bgw.bgw_restart_time = BGW_NEVER_RESTART;
			strlcpy(bgw.bgw_library_name, "migrate_ext", BGW_MAXLEN);
			strlcpy(bgw.bgw_function_name, "mig_scanner_main", BGW_MAXLEN);
			snprintf(bgw.bgw_name, BGW_MAXLEN, "migrate_ext scanner of database %u",
					 lfirst_oid(lc));
			strlcpy(bgw.bgw_type, "migrate_ext scanner", BGW_MAXLEN);
			bgw.bgw_main_arg = ObjectIdGetDatum(lfirst_oid(lc));
			bgw.bgw_notify_pid = MyProcPid;
			if (!RegisterDynamicBackgroundWorker(&bgw, &handle))
			{
				if (!said_no_slot)
					ereport(LOG,
							errmsg("migrate_ext launcher could not look for unfinished jobs in database %u yet",
								   lfirst_oid(lc)),
							errdetail("All background worker slots are in use; it tries again every second."),
							errhint("Raise max_worker_processes."));
				said_no_slot = true;
				break;
			}
			if (WaitForBackgroundWorkerStartup(handle, &pid) == BGWH_STARTED)
				(void) WaitForBackgroundWorkerShutdown(handle);
			databases = foreach_delete_current(databases, lc);
		}

		/* the schemas whose worker found no free slot */
		waiting = MigLauncherRetrySlotWaits();

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_EXIT_ON_PM_DEATH |
						 (databases != NIL || waiting ? WL_TIMEOUT : 0),
						 MIG_SLOT_RETRY_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		reload_config();
	}
}

/* In one database: start a worker for each schema with unfinished jobs. */
void
mig_scanner_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	List	   *schemas = NIL;
	ListCell   *lc;
	uint64		i;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	MigOwnDdlProcess();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);

	MigWorkStart();
	if (SPI_execute("SELECT 1 FROM pg_catalog.pg_extension"
					" WHERE extname = 'migrate_ext'"
					"   AND pg_catalog.to_regclass('mig.job_queue') IS NOT NULL",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_extension");
	if (SPI_processed > 0)
	{
		if (SPI_execute("SELECT DISTINCT j.schema FROM mig.job_queue j"
						" JOIN mig.migrations m ON m.schema = j.schema AND m.name = j.migration"
						" WHERE (m.status = 'in_progress' OR j.kind = 'drop_index')"
						"   AND j.state IN ('pending', 'running')"
						"   AND NOT j.paused",
						true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the job queue");
		for (i = 0; i < SPI_processed; i++)
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(TopMemoryContext);

			schemas = lappend(schemas, pstrdup(SPI_getvalue(SPI_tuptable->vals[i],
															SPI_tuptable->tupdesc, 1)));
			MemoryContextSwitchTo(oldcxt);
		}
		foreach(lc, schemas)
			MigWorkerEnsure((const char *) lfirst(lc));
	}
	MigWorkCommit();
	proc_exit(0);
}

