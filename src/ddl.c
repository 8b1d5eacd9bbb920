/*-------------------------------------------------------------------------
 *
 * ddl.c
 *		Run a migration's statements so that no application query is ever
 *		queued behind them for longer than migrate_ext.lock_timeout.
 *
 *		A lock request that waits makes every later conflicting request wait
 *		behind it, so a migration's statements run with a short lock_timeout.
 *		Retrying just the statement that timed out would not be enough: the
 *		locks the attempt already holds would stay held through the backoff.
 *		So a whole start, complete or rollback is one attempt inside an
 *		internal subtransaction; a lock timeout anywhere rolls the attempt
 *		back, which releases all its locks, and the attempt starts over after
 *		a backoff.  Work done by an attempt is cheap catalog changes only:
 *		long scans are left to background jobs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

#include "compat.h"
#include "ddl.h"
#include "ddl_capture.h"
#include "names.h"
#include "settings.h"

/*
 * What the statement now running locks, for the final lock error: a table,
 * or a schema's advisory lock (held by whoever migrates that schema).
 */
static Oid	lock_target = InvalidOid;
static Oid	lock_target_schema = InvalidOid;

static void run_attempts(const char *action, const char *migration,
						 const char *schema, MigAttemptFn fn, void *arg);
static void ddl_backoff(int attempt);
static void ddl_report_lock_failure(const char *action, const char *migration,
									Oid target, Oid target_schema, int attempts);
static char *ddl_lock_holders(const char *query, Oid target);

void
MigExec(const char *sql, Oid target)
{
	int			rc;

	lock_target = target;
	rc = SPI_execute(sql, false, 0);
	if (rc == SPI_ERROR_TRANSACTION)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
				errmsg("a migration cannot end or change its transaction"),
				errdetail("The SQL holds a transaction control statement (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, ...): %s",
						  sql),
				errhint("A migration runs in one transaction, so that it either happens whole or not at all; remove the statement."));
	if (rc == SPI_ERROR_COPY)
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("a migration cannot run COPY to or from the client"),
				errdetail("The SQL holds a COPY ... FROM STDIN or TO STDOUT statement: %s", sql));
	if (rc < 0)
		elog(ERROR, "SPI_execute failed with code %d for: %s", rc, sql);
	lock_target = InvalidOid;
}

void
MigExecSchemaLock(const char *sql, Oid schema_oid)
{
	lock_target_schema = schema_oid;
	MigExec(sql, InvalidOid);
	lock_target_schema = InvalidOid;
}

/*
 * Everything an attempt runs is the extension's own DDL, which
 * ddl_capture.c does not record.
 */
void
MigRunAttempts(const char *action, const char *migration, const char *schema,
			   MigAttemptFn fn, void *arg)
{
	bool		own = MigOwnDdlEnter();

	PG_TRY();
	{
		run_attempts(action, migration, schema, fn, arg);
	}
	PG_FINALLY();
	{
		MigOwnDdlLeave(own);
	}
	PG_END_TRY();
}

static void
run_attempts(const char *action, const char *migration, const char *schema,
			 MigAttemptFn fn, void *arg)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	char		timeout[32];
	int			attempt;

	snprintf(timeout, sizeof(timeout), "%dms", mig_lock_timeout);

	for (attempt = 1;; attempt++)
	{
		bool		done = false;

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(oldcontext);

		PG_TRY();
		{
			int			nestlevel = NewGUCNestLevel();

			(void) set_config_option("lock_timeout", timeout,
									 PGC_USERSET, PGC_S_SESSION,
									 GUC_ACTION_SAVE, true, 0, false);
			(void) set_config_option("search_path", quote_identifier(schema),
									 PGC_USERSET, PGC_S_SESSION,
									 GUC_ACTION_SAVE, true, 0, false);
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "SPI_connect failed");
			lock_target = InvalidOid;
			lock_target_schema = InvalidOid;

			fn(arg);

			if (SPI_finish() != SPI_OK_FINISH)
				elog(ERROR, "SPI_finish failed");
			AtEOXact_GUC(true, nestlevel);

			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcontext);
			CurrentResourceOwner = oldowner;
			done = true;
		}
		PG_CATCH();
		{
			ErrorData  *edata;
			Oid			target = lock_target;
			Oid			target_schema = lock_target_schema;

			MemoryContextSwitchTo(oldcontext);
			edata = CopyErrorData();
			FlushErrorState();

			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcontext);
			CurrentResourceOwner = oldowner;
			lock_target = InvalidOid;
			lock_target_schema = InvalidOid;

			/*
			 * A transaction snapshot older than a concurrent start's commit
			 * misses that migration; the database still refuses the second
			 * one, and the error says so plainly.
			 */
			if (edata->sqlerrcode == ERRCODE_UNIQUE_VIOLATION &&
				edata->constraint_name != NULL &&
				strcmp(edata->constraint_name, "migrations_one_active") == 0)
				ereport(ERROR,
						errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						errmsg("cannot %s migration \"%s\": another migration is in progress in schema \"%s\"",
							   action, migration, schema),
						errhint("Complete it with mig.complete() or undo it with mig.rollback() first."));
			if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
				ReThrowError(edata);
			if (attempt > mig_lock_retries)
				ddl_report_lock_failure(action, migration, target, target_schema,
										attempt);
			ereport(DEBUG1,
					errmsg_internal("%s of migration \"%s\": attempt %d timed out waiting for a lock, retrying",
									action, migration, attempt));
			FreeErrorData(edata);
		}
		PG_END_TRY();

		if (done)
			break;
		ddl_backoff(attempt);
	}
}

/* Sleep before the next attempt: doubling, jittered, capped, interruptible. */
static void
ddl_backoff(int attempt)
{
	double		delay = mig_retry_delay;
	long		ms;
	int			i;

	for (i = 1; i < attempt && delay < MIG_MAX_BACKOFF_MS; i++)
		delay *= 2;
	if (delay > MIG_MAX_BACKOFF_MS)
		delay = MIG_MAX_BACKOFF_MS;
	/* uniform in [delay/2, delay] */
	ms = (long) (delay / 2 + pg_prng_double(&pg_global_prng_state) * delay / 2);
	if (ms <= 0)
		return;

	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/*
 * Who holds the lock a query of pg_locks finds ($1 = target), as a phrase:
 * "process 123 (AccessShareLock, application "x", state "idle")", or ""
 * if no one can be found (the holder may have gone in the meantime).
 */
static char *
ddl_lock_holders(const char *query, Oid target)
{
	StringInfoData holders;
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(target)};
	uint64		i;

	initStringInfo(&holders);
	if (SPI_connect() != SPI_OK_CONNECT)
		return holders.data;
	if (SPI_execute_with_args(query, 1, argtypes, values, NULL, true, 0) == SPI_OK_SELECT)
	{
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			char	   *item = psprintf("%sprocess %s (%s, application \"%s\", state \"%s\")",
										i > 0 ? ", " : "",
										SPI_getvalue(tup, desc, 1),
										SPI_getvalue(tup, desc, 2),
										SPI_getvalue(tup, desc, 3),
										SPI_getvalue(tup, desc, 4));

			appendStringInfoString(&holders, item);
		}
	}
	SPI_finish();
	return holders.data;
}

#define HOLDERS_SELECT \
	"SELECT l.pid, l.mode, coalesce(a.application_name, ''), coalesce(a.state, '')" \
	" FROM pg_catalog.pg_locks l" \
	" LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid" \
	" WHERE l.granted AND l.pid <> pg_catalog.pg_backend_pid()" \
	" AND l.database = (SELECT oid FROM pg_catalog.pg_database" \
	"                   WHERE datname = pg_catalog.current_database())"

/*
 * Give up: say which table (or schema) could not be locked and who holds
 * locks on it.
 */
static void
ddl_report_lock_failure(const char *action, const char *migration, Oid target,
						Oid target_schema, int attempts)
{
	char	   *relname = OidIsValid(target) ? get_rel_name(target) : NULL;
	char	   *nspname = OidIsValid(target_schema) ? get_namespace_name(target_schema) : NULL;
	char	   *holders;

	if (relname != NULL)
	{
		holders = ddl_lock_holders(HOLDERS_SELECT
								   " AND l.locktype = 'relation' AND l.relation = $1"
								   " ORDER BY l.pid LIMIT 5", target);
		ereport(ERROR,
				errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				errmsg("could not lock table \"%s\" for %s of migration \"%s\"",
					   relname, action, migration),
				holders[0] ?
				errdetail("Lock held by %s. Gave up after %d attempts, each waiting at most %d ms.",
						  holders, attempts, mig_lock_timeout) :
				errdetail("Gave up after %d attempts, each waiting at most %d ms.",
						  attempts, mig_lock_timeout),
				errhint("Retry when the table is less busy, or increase \"%s\" or \"%s\".",
						"migrate_ext.lock_retries", "migrate_ext.lock_timeout"));
	}
	if (nspname != NULL)
	{
		holders = ddl_lock_holders(HOLDERS_SELECT
								   " AND l.locktype = 'advisory' AND l.objid = $1"
								   " ORDER BY l.pid LIMIT 5", target_schema);
		ereport(ERROR,
				errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				errmsg("could not lock schema \"%s\" for %s of migration \"%s\"",
					   nspname, action, migration),
				holders[0] ?
				errdetail("Another start, complete or rollback of a migration of this schema is running in %s. Gave up after %d attempts, each waiting at most %d ms.",
						  holders, attempts, mig_lock_timeout) :
				errdetail("Another start, complete or rollback of a migration of this schema is running. Gave up after %d attempts, each waiting at most %d ms.",
						  attempts, mig_lock_timeout),
				errhint("Retry when it has finished, or increase \"%s\" or \"%s\".",
						"migrate_ext.lock_retries", "migrate_ext.lock_timeout"));
	}
	ereport(ERROR,
			errcode(ERRCODE_LOCK_NOT_AVAILABLE),
			errmsg("could not obtain a lock for %s of migration \"%s\"",
				   action, migration),
			errdetail("Gave up after %d attempts, each waiting at most %d ms.",
					  attempts, mig_lock_timeout),
			errhint("Retry when the database is less busy, or increase \"%s\" or \"%s\".",
					"migrate_ext.lock_retries", "migrate_ext.lock_timeout"));
}
