/*-------------------------------------------------------------------------
 *
 * job_run.c
 *		Run the jobs of a migration: build a declared index, validate a
 *		constraint, or (inline) run a whole backfill.
 *
 *		In the worker an index build waits for its table's lock within
 *		migrate_ext.lock_timeout, like every statement of ours, and then,
 *		holding only SHARE UPDATE EXCLUSIVE (which no reader or writer
 *		needs), waits without a time limit for older transactions, as a
 *		concurrent build must.  A declared index keeps its name; the
 *		concurrent rebuild gives it a new OID, and the migration's steps are
 *		told.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/lmgr.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "backfill.h"
#include "compat.h"
#include "ddl.h"
#include "ddl_capture.h"
#include "job_run.h"
#include "names.h"
#include "security.h"
#include "settings.h"
#include "spi_exec.h"
#include "state_ident.h"
#include "steps.h"

static Oid	job_index(MigJob *job, bool *valid);
static void index_moved(MigJob *job, Oid indexoid);
static List *index_leftovers(MigJob *job, MemoryContext cxt);
static void set_lock_timeout(int ms);
static void run_concurrently(MigJob *job, const char *sql);

void
MigWorkStart(void)
{
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
}

void
MigWorkCommit(void)
{
	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
}

void
MigRunTopLevel(const char *sql)
{
	MemoryContext stmt_cxt;
	MemoryContext oldcxt;
	List	   *parsetrees;
	RawStmt    *raw;
	List	   *queries;
	List	   *plans;
	Portal		portal;
	DestReceiver *receiver;
	QueryCompletion qc;
	bool		own;

	/* the statement's trees outlive the transactions it commits */
	stmt_cxt = AllocSetContextCreate(TopMemoryContext, "migrate_ext statement",
									 ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(stmt_cxt);

	parsetrees = pg_parse_query(sql);
	if (list_length(parsetrees) != 1)
		elog(ERROR, "expected one statement: %s", sql);
	raw = linitial_node(RawStmt, parsetrees);
	queries = pg_analyze_and_rewrite_fixedparams(raw, sql, NULL, 0, NULL);
	plans = pg_plan_queries(queries, sql, CURSOR_OPT_PARALLEL_OK, NULL);

	portal = CreatePortal("", true, true);
	portal->visible = false;
	PortalDefineQuery(portal, NULL, sql, CreateCommandTag(raw->stmt), plans, NULL);
	PortalStart(portal, NULL, 0, InvalidSnapshot);
	receiver = CreateDestReceiver(DestNone);
	InitializeQueryCompletion(&qc);
	/* a top-level statement of the extension's own: not recorded */
	own = MigOwnDdlEnter();
	PG_TRY();
	{
		(void) MigPortalRun(portal, FETCH_ALL, true, receiver, receiver, &qc);
	}
	PG_FINALLY();
	{
		MigOwnDdlLeave(own);
	}
	PG_END_TRY();
	receiver->rDestroy(receiver);
	PortalDrop(portal, false);

	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(stmt_cxt);
}

/* the declared index, by its name (a concurrent rebuild changes its OID) */
static Oid
job_index(MigJob *job, bool *valid)
{
	Oid			indexoid = get_relname_relid(job->name, get_rel_namespace(job->relid));
	HeapTuple	tup;

	if (!OidIsValid(indexoid))
		ereport(ERROR,
				errcode(ERRCODE_UNDEFINED_OBJECT),
				errmsg("index \"%s\" of migration \"%s\" does not exist",
					   job->name, job->migration),
				job->native ?
				errdetail("It was dropped while its job was waiting to build it.") :
				errdetail("The migration was restored from a dump taken before the index was built, and pg_dump leaves out unfinished indexes; roll the migration back with mig.rollback('%s') and start it again.",
						  job->schema),
				errhint("Roll the migration back with mig.rollback('%s').", job->schema));
	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for index %u", indexoid);
	*valid = ((Form_pg_index) GETSTRUCT(tup))->indisvalid;
	ReleaseSysCache(tup);
	return indexoid;
}

/* the index has a new OID: the steps and the job refer to it by that */
static void
index_moved(MigJob *job, Oid indexoid)
{
	if (indexoid == job->objid)
		return;
	MigStepsIndexMoved(job->schema, job->migration, job->objid, indexoid,
					   job->name);
	MigJobSetIndex(job, indexoid);
	job->objid = indexoid;
}

/*
 * Invalid indexes an interrupted REINDEX CONCURRENTLY of the job's index
 * left on its table: "<name>_ccnew" (and "_ccold"), the name cut to fit,
 * maybe with a number.
 */
static List *
index_leftovers(MigJob *job, MemoryContext cxt)
{
	MemoryContext oldcxt;
	Oid			argtypes[2] = {OIDOID, TEXTOID};
	Datum		values[2] = {ObjectIdGetDatum(job->relid), CStringGetTextDatum(job->name)};
	List	   *names = NIL;
	uint64		i;

	MigSpiExec("SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)"
			   " FROM pg_catalog.pg_index i"
			   " JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid"
			   " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
			   " WHERE i.indrelid = $1 AND NOT i.indisvalid AND c.relname <> $2"
			   "   AND c.relname ~ '_cc(new|old)[0-9]*$'"
			   "   AND pg_catalog.starts_with($2,"
			   "       pg_catalog.regexp_replace(c.relname, '_cc(new|old)[0-9]*$', ''))",
			   2, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the indexes of relation %u", job->relid);
	oldcxt = MemoryContextSwitchTo(cxt);
	for (i = 0; i < SPI_processed; i++)
		names = lappend(names, SPI_getvalue(SPI_tuptable->vals[i],
											SPI_tuptable->tupdesc, 1));
	MemoryContextSwitchTo(oldcxt);
	return names;
}

static void
set_lock_timeout(int ms)
{
	char		value[32];

	snprintf(value, sizeof(value), "%dms", ms);
	(void) set_config_option("lock_timeout", value, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SET, true, 0, false);
}

/*
 * One concurrent statement on the job's table: its lock first, within the
 * lock timeout, then the statement, whose waits for older transactions
 * block no reader or writer.
 */
static void
run_concurrently(MigJob *job, const char *sql)
{
	StartTransactionCommand();
	set_lock_timeout(mig_lock_timeout);
	PG_TRY();
	{
		LockRelationOid(job->relid, ShareUpdateExclusiveLock);
		set_lock_timeout(0);
		MigRunTopLevel(sql);
	}
	PG_FINALLY();
	{
		set_lock_timeout(mig_lock_timeout);
	}
	PG_END_TRY();
	CommitTransactionCommand();
}

void
MigJobBuildIndexConcurrently(MigJob *job)
{
	List	   *leftovers;
	ListCell   *lc;
	bool		valid;
	Oid			indexoid;
	char	   *qname;
	MemoryContext cxt = CurrentMemoryContext;

	MigWorkStart();
	MigJobIdentify(job);
	indexoid = job_index(job, &valid);
	qname = MemoryContextStrdup(cxt,
								quote_qualified_identifier(get_namespace_name(get_rel_namespace(indexoid)),
														   job->name));
	leftovers = index_leftovers(job, cxt);
	if (valid)
	{
		/* built before a crash or a restart */
		index_moved(job, indexoid);
		MigJobSetDone(job);
	}
	MigWorkCommit();
	MemoryContextSwitchTo(cxt);

	foreach(lc, leftovers)
	{
		ereport(LOG,
				errmsg("migrate_ext: dropping index %s left by an interrupted build of index \"%s\"",
					   (char *) lfirst(lc), job->name));
		run_concurrently(job, psprintf("DROP INDEX CONCURRENTLY IF EXISTS %s",
									   (char *) lfirst(lc)));
	}
	if (valid)
		return;

	run_concurrently(job, psprintf("REINDEX INDEX CONCURRENTLY %s", qname));

	MigWorkStart();
	indexoid = job_index(job, &valid);
	if (!valid)
		elog(ERROR, "index \"%s\" is not valid after its build", job->name);
	index_moved(job, indexoid);
	MigJobSetDone(job);
	MigWorkCommit();
	MemoryContextSwitchTo(cxt);
}

void
MigJobDropIndexConcurrently(MigJob *job)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	   *qname = NULL;

	StartTransactionCommand();
	MigJobIdentify(job);
	if (OidIsValid(job->objid) && get_rel_name(job->objid) != NULL)
		qname = MemoryContextStrdup(cxt,
									quote_qualified_identifier(get_namespace_name(get_rel_namespace(job->objid)),
															   get_rel_name(job->objid)));
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);

	if (qname != NULL)
		run_concurrently(job, psprintf("DROP INDEX CONCURRENTLY IF EXISTS %s", qname));

	MigWorkStart();
	MigJobDelete(job);
	MigWorkCommit();
	MemoryContextSwitchTo(cxt);
}

void
MigJobValidate(MigJob *job)
{
	char	   *con;

	MigJobIdentify(job);
	con = get_constraint_name(job->objid);

	if (con == NULL)
		ereport(ERROR,
				errcode(ERRCODE_UNDEFINED_OBJECT),
				errmsg("constraint with OID %u of migration \"%s\" does not exist",
					   job->objid, job->migration),
				errdetail("It was dropped while its job was waiting to validate it."),
				errhint("Roll the migration back with mig.rollback('%s').", job->schema));
	MigExec(psprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s",
					 MigQuoteTable(job->relid), quote_identifier(con)),
			job->relid);
	MigJobSetDone(job);
}

void
MigJobsDropLeftovers(const char *schema, const char *migration)
{
	Oid			argtypes[2] = {NAMEOID, TEXTOID};
	Datum		values[2];
	List	   *jobs = NIL;
	ListCell   *lc;
	uint64		i;
	bool		native = MigIdentNative(schema, migration);

	values[0] = DirectFunctionCall1(namein, CStringGetDatum(schema));
	values[1] = CStringGetTextDatum(migration);
	MigSpiExec("SELECT relid, name, relname, objid, seq FROM mig.job_queue"
			   " WHERE schema = $1 AND migration = $2 AND kind = 'index'"
			   "   AND state <> 'done'",
			   2, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the job queue");
	for (i = 0; i < SPI_processed; i++)
	{
		MigJob	   *job = palloc0(sizeof(MigJob));
		bool		isnull;

		job->schema = pstrdup(schema);
		job->migration = pstrdup(migration);
		job->relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
													SPI_tuptable->tupdesc, 1, &isnull));
		job->name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		job->relname = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
		job->objid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
													SPI_tuptable->tupdesc, 4, &isnull));
		job->seq = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
											   SPI_tuptable->tupdesc, 5, &isnull));
		jobs = lappend(jobs, job);
	}
	foreach(lc, jobs)
	{
		MigJob	   *job = lfirst(lc);
		ListCell   *nc;
		Oid			indexoid;

		/* the table by its recorded name: after a restore its OID is another's */
		job->relid = MigIdentRelation(job->relid, job->relname, native, "table",
									  migration);
		if (!OidIsValid(job->relid))
			continue;
		foreach(nc, index_leftovers(job, CurrentMemoryContext))
			MigExec(psprintf("DROP INDEX IF EXISTS %s", (char *) lfirst(nc)),
					job->relid);

		/*
		 * A worker stopped after its REINDEX CONCURRENTLY committed but
		 * before it recorded the index's new OID: the steps still name the
		 * OID the rebuild dropped.  Record the new one, so that the steps
		 * undo the index that exists.
		 */
		indexoid = get_relname_relid(job->name, get_rel_namespace(job->relid));
		if (OidIsValid(indexoid) && indexoid != job->objid &&
			IndexGetRelation(indexoid, true) == job->relid &&
			get_rel_name(job->objid) == NULL)
			index_moved(job, indexoid);
	}
}

void
MigJobsRunAllInline(const char *schema, const char *migration, bool say)
{
	MigJob	   *job;
	int			count = 0;

	/* paused jobs stay paused */
	while ((job = MigJobNext(schema, false, NULL)) != NULL)
	{
		if (count++ == 0 && say)
			ereport(NOTICE,
					errmsg("running the background jobs of migration \"%s\" in this transaction",
						   migration),
					errdetail("The migration was started in this transaction, so no background worker can run them."));
		MigJobRunInline(job);
	}
}

/* ----------------------------------------------------------------
 * The kinds of job: how each is described, how the worker runs one unit
 * of it, and how it runs inline.
 * ----------------------------------------------------------------
 */

static char *
describe_index(MigJob *job, const char *qtable)
{
	return psprintf("index %s on %s", quote_identifier(job->name), qtable);
}

static char *
describe_backfill(MigJob *job, const char *qtable)
{
	return psprintf("backfill of %s", qtable);
}

static char *
describe_validate(MigJob *job, const char *qtable)
{
	char	   *con = job->objname ? job->objname :
		get_constraint_name(job->objid);

	return psprintf("validation of constraint %s on %s",
					con ? quote_identifier(con) : "?", qtable);
}

static char *
describe_drop_index(MigJob *job, const char *qtable)
{
	char	   *index = job->objname ? job->objname : get_rel_name(job->objid);

	return psprintf("drop of index %s on %s",
					index ? quote_identifier(index) : "?", qtable);
}

/*
 * One unit of work of a job in the worker, outside any transaction: each
 * starts and commits its own.  Returns whether the job has more to do.
 */
static bool
unit_index(MigJob *job, const char *what, MigSleepFn sleep)
{
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("migrate_ext job %d of migration \"%s\": building %s concurrently",
									job->seq, job->migration, what));
	MigJobBuildIndexConcurrently(job);
	return false;
}

static bool
unit_backfill(MigJob *job, const char *what, MigSleepFn sleep)
{
	bool		paused;

	pgstat_report_activity(STATE_RUNNING,
						   psprintf("migrate_ext job %d of migration \"%s\": %s, block " INT64_FORMAT " of " INT64_FORMAT,
									job->seq, job->migration, what,
									job->next_block, job->end_block));
	MigWorkStart();
	(void) MigBackfillBatch(job, mig_backfill_batch_size);
	paused = MigJobPaused(job);
	MigWorkCommit();
	pgstat_report_stat(false);
	/* done, or paused: read the queue again (it skips paused jobs) */
	if (job->next_block >= job->end_block || paused)
		return false;
	pgstat_report_activity(STATE_IDLE, NULL);
	MigBackfillThrottle(what, sleep);
	return true;
}

static bool
unit_validate(MigJob *job, const char *what, MigSleepFn sleep)
{
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("migrate_ext job %d of migration \"%s\": %s",
									job->seq, job->migration, what));
	MigWorkStart();
	MigJobValidate(job);
	MigWorkCommit();
	return false;
}

static bool
unit_drop_index(MigJob *job, const char *what, MigSleepFn sleep)
{
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("migrate_ext job %d of migration \"%s\": %s concurrently",
									job->seq, job->migration, what));
	MigJobDropIndexConcurrently(job);
	return false;
}

/* All of a job in the caller's transaction (SPI connected). */
static void
inline_index(MigJob *job)
{
	bool		valid;
	Oid			indexoid = job_index(job, &valid);

	if (!valid)
		MigExec(psprintf("REINDEX INDEX %s",
						 quote_qualified_identifier(get_namespace_name(get_rel_namespace(indexoid)),
													job->name)),
				job->relid);
	index_moved(job, indexoid);
	MigJobSetDone(job);
}

static void
inline_backfill(MigJob *job)
{
	/* an empty table takes one batch too: it marks the job done */
	do
	{
		(void) MigBackfillBatch(job, mig_backfill_batch_size);
	} while (job->next_block < job->end_block);
}

static void
inline_drop_index(MigJob *job)
{
	if (OidIsValid(job->objid) && get_rel_name(job->objid) != NULL)
		MigExec(psprintf("DROP INDEX IF EXISTS %s", MigQuoteTable(job->objid)),
				job->relid);
	MigJobDelete(job);
}

typedef struct JobKindOps
{
	char	   *(*describe) (MigJob *job, const char *qtable);
	bool		(*run_unit) (MigJob *job, const char *what, MigSleepFn sleep);
	void		(*run_inline) (MigJob *job);
} JobKindOps;

static const JobKindOps job_kinds[] =
{
	[MIG_JOB_INDEX] = {describe_index, unit_index, inline_index},
	[MIG_JOB_BACKFILL] = {describe_backfill, unit_backfill, inline_backfill},
	[MIG_JOB_VALIDATE] = {describe_validate, unit_validate, MigJobValidate},
	[MIG_JOB_DROP_INDEX] = {describe_drop_index, unit_drop_index, inline_drop_index},
};

char *
MigJobDescribe(MigJob *job)
{
	const char *table;
	char	   *qtable;

	if (job->description != NULL)
		return job->description;
	table = job->relname ? NULL : get_rel_name(job->relid);
	qtable = job->relname ? job->relname : table ?
		quote_qualified_identifier(get_namespace_name(get_rel_namespace(job->relid)), table) :
		psprintf("%u", job->relid);
	job->description = job_kinds[job->kind].describe(job, qtable);
	return job->description;
}

bool
MigJobRunUnit(MigJob *job, MigSleepFn sleep)
{
	return job_kinds[job->kind].run_unit(job, MigJobDescribe(job), sleep);
}

void
MigJobRunInline(MigJob *job)
{
	MigJobIdentify(job);
	job_kinds[job->kind].run_inline(job);
}
