/*-------------------------------------------------------------------------
 *
 * job_control.c
 *		SQL entry points that control the jobs of a migration: CALL
 *		mig.wait, mig.pause, mig.resume, and the worker check behind
 *		mig.status.
 *
 *		On a hot standby, or in a read-only transaction, the functions that
 *		write refuse at once (MigRefuseReadOnly).  On a standby mig.wait
 *		works, waiting for the primary's jobs as the standby replays them,
 *		and mig.status and mig.jobs show the jobs' state as the primary
 *		recorded it.
 *
 *		mig.wait is a procedure: it commits before each sleep, so it holds no
 *		snapshot while it waits (a concurrent index build waits for every
 *		older snapshot, and a session that waited for the build while
 *		holding one would wait forever, unseen by the deadlock detector).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "backfill.h"
#include "job_control.h"
#include "job_run.h"
#include "jobs.h"
#include "security.h"
#include "settings.h"
#include "state.h"
#include "worker_control.h"

PG_FUNCTION_INFO_V1(mig_backfill);
PG_FUNCTION_INFO_V1(mig_wait);
PG_FUNCTION_INFO_V1(mig_pause);
PG_FUNCTION_INFO_V1(mig_resume);
PG_FUNCTION_INFO_V1(mig_ensure_worker);
PG_FUNCTION_INFO_V1(mig_waiting_for_worker_slot);

/* how often mig.wait looks at the jobs */
#define MIG_WAIT_POLL_MS 200

static const char *
schema_arg(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				errmsg("schema must not be null"));
	return pstrdup(NameStr(*PG_GETARG_NAME(0)));
}

/*
 * CALL mig.wait(schema, timeout): wait until the jobs of the schema's
 * active migration are done.
 */
Datum
mig_wait(PG_FUNCTION_ARGS)
{
	const char *schema = schema_arg(fcinfo);
	bool		has_timeout = !PG_ARGISNULL(1);
	TimestampTz deadline = 0;
	bool		nonatomic;

	nonatomic = fcinfo->context && IsA(fcinfo->context, CallContext) &&
		!castNode(CallContext, fcinfo->context)->atomic;
	if (has_timeout)
	{
		Interval   *timeout = PG_GETARG_INTERVAL_P(1);
		int64		usecs = timeout->time +
			(int64) timeout->day * USECS_PER_DAY +
			(int64) timeout->month * DAYS_PER_MONTH * USECS_PER_DAY;

		deadline = GetCurrentTimestamp() + usecs;
	}

	if (SPI_connect_ext(nonatomic ? SPI_OPT_NONATOMIC : 0) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (!OidIsValid(get_namespace_oid(schema, true)))
		ereport(ERROR,
				errcode(ERRCODE_INVALID_SCHEMA_NAME),
				errmsg("schema \"%s\" does not exist", schema));

	for (;;)
	{
		MigActive  *active = MigStateGetActive(schema);
		MigJobCounts	counts;
		bool		here;

		if (active == NULL)
			break;
		here = MigStateStartedHere(schema, active->name);
		if (here)
			MigJobsRunAllInline(schema, active->name, false);
		else if (!nonatomic)
			ereport(ERROR,
					errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
					errmsg("mig.wait cannot run inside a transaction block"),
					errdetail("It would hold a snapshot while it waits, and a concurrent index build of the migration waits for every older snapshot."),
					errhint("Run CALL mig.wait('%s') on its own.", schema));

		MigJobsCount(schema, active->name, &counts);
		if (counts.failed > 0)
			ereport(ERROR,
					errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					errmsg("a background job of migration \"%s\" failed", active->name),
					errdetail("Jobs: %s.", counts.summary),
					errhint("Fix the cause and retry the jobs with mig.resume('%s'), or undo the migration with mig.rollback('%s').",
							schema, schema));
		if (counts.unfinished == 0 && counts.paused > 0)
			ereport(ERROR,
					errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					errmsg("the background jobs of migration \"%s\" are paused", active->name),
					errdetail("Jobs: %s.", counts.summary),
					errhint("Resume them with mig.resume('%s').", schema));
		if (counts.unfinished == 0 || here)
			break;
		if (has_timeout && GetCurrentTimestamp() >= deadline)
			ereport(ERROR,
					errcode(ERRCODE_QUERY_CANCELED),
					errmsg("timed out waiting for the background jobs of migration \"%s\"",
						   active->name),
					errdetail("Jobs: %s.", counts.summary));

		/* a worker that died or never started is started again */
		MigWorkerEnsure(schema);

		/* no snapshot is held while sleeping */
		SPI_commit();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 MIG_WAIT_POLL_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_finish();
	PG_RETURN_VOID();
}

static Datum
set_paused(FunctionCallInfo fcinfo, bool pause)
{
	const char *schema = schema_arg(fcinfo);
	MigActive  *active;
	uint64		n;
	char	   *result;

	MigRefuseReadOnly(pause ? "mig.pause" : "mig.resume", schema);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MigCheckSchemaPrivilege(MigLockSchema(schema), schema);
	active = MigStateGetActive(schema);
	if (active == NULL)
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("no migration is in progress in schema \"%s\"", schema));

	n = MigJobsSetPaused(schema, active->name, pause);

	if (pause)
		result = psprintf("paused " UINT64_FORMAT " jobs of migration \"%s\"", n, active->name);
	else
	{
		if (n > 0)
			MigWorkerLaunchAtCommit(schema);
		result = psprintf("resumed " UINT64_FORMAT " jobs of migration \"%s\"", n, active->name);
	}
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/*
 * mig.pause(schema): the worker stops after its current unit of work (a
 * backfill batch, or an index build already under way) and exits.
 */
Datum
mig_pause(PG_FUNCTION_ARGS)
{
	return set_paused(fcinfo, true);
}

/* mig.resume(schema): paused jobs run again, failed ones are retried. */
Datum
mig_resume(PG_FUNCTION_ARGS)
{
	return set_paused(fcinfo, false);
}

/* mig.ensure_worker(schema): start a worker if unfinished jobs have none. */
Datum
mig_ensure_worker(PG_FUNCTION_ARGS)
{
	const char *schema = schema_arg(fcinfo);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MigWorkerEnsure(schema);
	SPI_finish();
	PG_RETURN_BOOL(true);
}

/*
 * mig.waiting_for_worker_slot(schema): are the schema's jobs waiting for a
 * free background worker slot (max_worker_processes)?
 */
Datum
mig_waiting_for_worker_slot(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(MigWorkerWaitingForSlot(NameStr(*PG_GETARG_NAME(0))));
}

void
MigJobsFinishForComplete(const char *schema, const char *migration)
{
	char	   *progress;
	bool		here = MigStateStartedHere(schema, migration);

	MigJobsCheckRestored(schema, migration);
	if (here)
		MigJobsRunAllInline(schema, migration, true);
	progress = MigJobsUnfinished(schema, migration);
	if (progress == NULL)
		return;

	/* a worker that died is started again, whatever happens to this call */
	if (!here)
		MigWorkerEnsure(schema);
	ereport(ERROR,
			errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			errmsg("cannot complete migration \"%s\": its background jobs are not finished",
				   migration),
			errdetail("Jobs: %s.", progress),
			errhint("Wait for them with CALL mig.wait('%s') (resume paused ones with mig.resume('%s')), then complete the migration.",
					schema, schema));
}

/* CALL mig.backfill's sleep between batches: interruptible */
static void
foreground_sleep(int ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/*
 * CALL mig.backfill(schema, batch_size): run the backfills of the active
 * migration in the foreground, paused or not.  Called outside a transaction
 * block, it commits after each batch; inside one, it does all the work in
 * that transaction.  The worker's lock keeps the background worker away
 * meanwhile.
 */
Datum
mig_backfill(PG_FUNCTION_ARGS)
{
	const char *schema;
	int			batch_size;
	bool		nonatomic;
	MigJob	   *job;
	MigJobKind	kind = MIG_JOB_BACKFILL;
	Oid			schema_oid;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				errmsg("schema must not be null"));
	schema = pstrdup(NameStr(*PG_GETARG_NAME(0)));
	MigRefuseReadOnly("mig.backfill", schema);
	batch_size = PG_ARGISNULL(1) ? mig_backfill_batch_size : PG_GETARG_INT32(1);
	if (batch_size < 1)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("batch size must be at least 1"));

	nonatomic = fcinfo->context && IsA(fcinfo->context, CallContext) &&
		!castNode(CallContext, fcinfo->context)->atomic;

	if (SPI_connect_ext(nonatomic ? SPI_OPT_NONATOMIC : 0) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	schema_oid = get_namespace_oid(schema, false);
	MigCheckSchemaPrivilege(schema_oid, schema);
	MigWorkerLockForeground(schema_oid, schema);

	PG_TRY();
	{
		/* each batch's job is read again: the cursor is the committed one */
		while ((job = MigJobNext(schema, true, &kind)) != NULL)
		{
			(void) MigBackfillBatch(job, batch_size);
			if (job->next_block >= job->end_block)
				ereport(NOTICE,
						errmsg("backfilled table \"%s\": " INT64_FORMAT " rows in " INT64_FORMAT " blocks",
							   get_rel_name(job->relid) ? get_rel_name(job->relid) : "?",
							   job->rows_done, job->end_block));
			if (nonatomic)
				SPI_commit();
			CHECK_FOR_INTERRUPTS();
			/* the worker's throttle: backfill_delay, max_replication_lag */
			MigBackfillThrottle(MigJobDescribe(job), foreground_sleep);
		}
	}
	PG_FINALLY();
	{
		MigWorkerUnlockForeground(schema_oid);
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_VOID();
}
