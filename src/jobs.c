/*-------------------------------------------------------------------------
 *
 * jobs.c
 *		The job queue of migrations (mig.job_queue): queue jobs at start,
 *		hand them to the worker, record their progress, and finish them
 *		before complete.
 *
 *		Jobs run in order: index builds first (so a unique index holds in
 *		the new version as soon as possible), then backfills, then
 *		validations (a constraint on a new column holds only once the
 *		backfill has filled it).  A job is "running" from its first unit of
 *		work; a running job found after a crash is resumed, never restarted
 *		from zero.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "compat.h"
#include "jobs.h"
#include "names.h"
#include "security.h"
#include "spi_exec.h"
#include "state_ident.h"

static const char *const job_kind_names[] = {"index", "backfill", "validate", "drop_index"};

static void add_job(MigPlan *plan, MigJobKind kind, Oid relid, Oid objid,
					const char *name, const char *snapshot, int64 end_block,
					int64 rows_total);
static void set_state(MigJob *job, const char *sql, int nargs, Oid *argtypes,
					  Datum *values, const char *nulls);

static Datum
name_datum(const char *name)
{
	return DirectFunctionCall1(namein, CStringGetDatum(name));
}

/*
 * The worker connects as the role starting the migration: one that cannot
 * log in would leave the jobs stuck, so it cannot start one with jobs.
 */
static void
check_worker_role(MigPlan *plan)
{
	HeapTuple	tup;
	bool		canlogin;

	if (!MIG_WORKER_NEEDS_LOGIN || plan->job_seq > 0)
		return;
	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(GetUserId()));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for role %u", GetUserId());
	canlogin = ((Form_pg_authid) GETSTRUCT(tup))->rolcanlogin;
	ReleaseSysCache(tup);
	if (!canlogin)
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("migration \"%s\" needs background jobs, which role \"%s\" cannot run",
					   plan->migration->name, GetUserNameFromId(GetUserId(), false)),
				errdetail("The background worker connects as the role that starts the migration, and on this version of PostgreSQL only a role with LOGIN can connect."),
				errhint("Start the migration as a role with LOGIN (not through SET ROLE to one without it)."));
}

static void
add_job(MigPlan *plan, MigJobKind kind, Oid relid, Oid objid, const char *name,
		const char *snapshot, int64 end_block, int64 rows_total)
{
	Oid			argtypes[10] = {NAMEOID, TEXTOID, INT4OID, TEXTOID, OIDOID,
	OIDOID, TEXTOID, TEXTOID, INT8OID, INT8OID};
	Datum		values[10];
	char		nulls[10] = "          ";
	MigOwnerSave save;

	check_worker_role(plan);
	values[0] = name_datum(plan->schema);
	values[1] = CStringGetTextDatum(plan->migration->name);
	values[2] = Int32GetDatum(++plan->job_seq);
	values[3] = CStringGetTextDatum(job_kind_names[kind]);
	values[4] = ObjectIdGetDatum(relid);
	values[5] = ObjectIdGetDatum(objid);
	nulls[5] = OidIsValid(objid) ? ' ' : 'n';
	values[6] = name ? CStringGetTextDatum(name) : (Datum) 0;
	nulls[6] = name ? ' ' : 'n';
	values[7] = snapshot ? CStringGetTextDatum(snapshot) : (Datum) 0;
	nulls[7] = snapshot ? ' ' : 'n';
	values[8] = Int64GetDatum(end_block);
	values[9] = Int64GetDatum(rows_total);
	nulls[9] = rows_total >= 0 ? ' ' : 'n';

	MigAsExtensionOwner(&save);
	MigSpiExec("INSERT INTO mig.job_queue"
			   " (schema, migration, seq, kind, relid, objid, name,"
			   "  snapshot, end_block, rows_total, paused)"
			   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
			   "  NOT pg_catalog.current_setting('migrate_ext.start_jobs')::bool)",
			   10, argtypes, values, nulls, false, SPI_OK_INSERT,
			   "could not queue a job");
	MigAsCaller(&save);
}

void
MigJobAddBackfill(MigPlan *plan, Oid relid, const char *snapshot,
				  int64 end_block, int64 rows_total)
{
	add_job(plan, MIG_JOB_BACKFILL, relid, InvalidOid, NULL, snapshot,
			end_block, rows_total);
}

void
MigJobAddIndex(MigPlan *plan, Oid relid, Oid indexoid, const char *name)
{
	add_job(plan, MIG_JOB_INDEX, relid, indexoid, name, NULL, 0, -1);
}

void
MigJobAddValidate(MigPlan *plan, Oid relid, Oid conoid)
{
	add_job(plan, MIG_JOB_VALIDATE, relid, conoid, NULL, NULL, 0, -1);
}

void
MigJobAddDropIndex(const char *schema, const char *migration, Oid relid,
				   Oid indexoid)
{
	Oid			argtypes[4] = {NAMEOID, TEXTOID, OIDOID, OIDOID};
	Datum		values[4];
	MigOwnerSave save;

	values[0] = name_datum(schema);
	values[1] = CStringGetTextDatum(migration);
	values[2] = ObjectIdGetDatum(relid);
	values[3] = ObjectIdGetDatum(indexoid);
	MigAsExtensionOwner(&save);
	MigSpiExec("INSERT INTO mig.job_queue (schema, migration, seq, kind, relid, objid)"
			   " SELECT $1, $2, coalesce(max(seq), 0) + 1, 'drop_index', $3, $4"
			   " FROM mig.job_queue WHERE schema = $1 AND migration = $2",
			   4, argtypes, values, NULL, false, SPI_OK_INSERT,
			   "could not queue a job");
	MigAsCaller(&save);
}

void
MigJobDelete(MigJob *job)
{
	Oid			argtypes[3] = {NAMEOID, TEXTOID, INT4OID};
	Datum		values[3];
	MigOwnerSave save;

	values[0] = name_datum(job->schema);
	values[1] = CStringGetTextDatum(job->migration);
	values[2] = Int32GetDatum(job->seq);
	MigAsExtensionOwner(&save);
	if (SPI_execute_with_args("DELETE FROM mig.job_queue WHERE schema = $1 AND migration = $2 AND seq = $3",
							  3, argtypes, values, NULL, false, 0) < 0)
		elog(ERROR, "could not forget a job");
	MigAsCaller(&save);
}

/*
 * The next job to run: index builds, then backfills, then validations, each
 * in the order start queued them.  A validation waits until every backfill
 * of its migration is done, failed ones included: the backfill writes rows
 * without firing foreign key triggers (backfill_heap.c), so a foreign key
 * validated before it ends would stay valid over rows it never checked, and
 * a CHECK validated then would pass over the NULLs not yet backfilled.
 */
MigJob *
MigJobNext(const char *schema, bool include_paused, MigJobKind *only_kind)
{
	Oid			argtypes[4] = {NAMEOID, BOOLOID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = "    ";
	HeapTuple	tup;
	TupleDesc	desc;
	MigJob	   *job;
	char	   *kind;
	bool		isnull;
	int			i;

	values[0] = name_datum(schema);
	values[1] = BoolGetDatum(include_paused);
	values[2] = only_kind ? CStringGetTextDatum(job_kind_names[*only_kind]) : (Datum) 0;
	nulls[2] = only_kind ? ' ' : 'n';
	values[3] = CStringGetTextDatum(MigOrigin());
	MigSpiExec("SELECT j.schema, j.migration, j.seq, j.kind, j.relid, j.objid,"
			   " j.name, j.state = 'running', j.attempts, j.snapshot,"
			   " j.next_block, j.end_block, j.rows_done,"
			   " coalesce(j.rows_total, -1), j.relname, j.objname,"
			   " m.origin IS NULL OR m.origin = $4"
			   " FROM mig.job_queue j"
			   " JOIN mig.migrations m ON m.schema = j.schema AND m.name = j.migration"
			   " WHERE j.schema = $1"
			   "   AND (m.status = 'in_progress' OR j.kind = 'drop_index')"
			   "   AND j.state IN ('pending', 'running')"
			   "   AND ($2 OR NOT j.paused)"
			   "   AND ($3 IS NULL OR j.kind = $3)"
			   "   AND (j.kind <> 'validate' OR NOT EXISTS ("
			   "     SELECT 1 FROM mig.job_queue b"
			   "      WHERE b.schema = j.schema AND b.migration = j.migration"
			   "        AND b.kind = 'backfill' AND b.state <> 'done'))"
			   " ORDER BY CASE j.kind WHEN 'drop_index' THEN 0 WHEN 'index' THEN 1"
			   "   WHEN 'backfill' THEN 2 ELSE 3 END,"
			   "   j.seq LIMIT 1",
			   4, argtypes, values, nulls, false, SPI_OK_SELECT,
			   "could not read the job queue");
	if (SPI_processed == 0)
		return NULL;

	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	job = palloc0(sizeof(MigJob));
	job->schema = SPI_getvalue(tup, desc, 1);
	job->migration = SPI_getvalue(tup, desc, 2);
	job->seq = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
	kind = SPI_getvalue(tup, desc, 4);
	for (i = 0; i < lengthof(job_kind_names); i++)
		if (strcmp(kind, job_kind_names[i]) == 0)
			job->kind = (MigJobKind) i;
	job->relid = DatumGetObjectId(SPI_getbinval(tup, desc, 5, &isnull));
	job->objid = DatumGetObjectId(SPI_getbinval(tup, desc, 6, &isnull));
	if (isnull)
		job->objid = InvalidOid;
	job->name = SPI_getvalue(tup, desc, 7);
	job->running = DatumGetBool(SPI_getbinval(tup, desc, 8, &isnull));
	job->attempts = DatumGetInt32(SPI_getbinval(tup, desc, 9, &isnull));
	job->snapshot = SPI_getvalue(tup, desc, 10);
	job->next_block = DatumGetInt64(SPI_getbinval(tup, desc, 11, &isnull));
	job->end_block = DatumGetInt64(SPI_getbinval(tup, desc, 12, &isnull));
	job->rows_done = DatumGetInt64(SPI_getbinval(tup, desc, 13, &isnull));
	job->rows_total = DatumGetInt64(SPI_getbinval(tup, desc, 14, &isnull));
	job->relname = SPI_getvalue(tup, desc, 15);
	job->objname = SPI_getvalue(tup, desc, 16);
	job->native = DatumGetBool(SPI_getbinval(tup, desc, 17, &isnull));
	return job;
}

MigJob *
MigJobCopy(MigJob *job, MemoryContext cxt)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
	MigJob	   *copy = palloc(sizeof(MigJob));

	memcpy(copy, job, sizeof(MigJob));
	copy->schema = pstrdup(job->schema);
	copy->migration = pstrdup(job->migration);
	copy->name = job->name ? pstrdup(job->name) : NULL;
	copy->snapshot = job->snapshot ? pstrdup(job->snapshot) : NULL;
	copy->relname = job->relname ? pstrdup(job->relname) : NULL;
	copy->objname = job->objname ? pstrdup(job->objname) : NULL;
	copy->description = job->description ? pstrdup(job->description) : NULL;
	MemoryContextSwitchTo(oldcxt);
	return copy;
}

/* run an UPDATE of the job's row: $1 schema, $2 migration, $3 seq, then args */
static void
set_state(MigJob *job, const char *sql, int nargs, Oid *argtypes,
		  Datum *values, const char *nulls)
{
	Oid			types[8] = {NAMEOID, TEXTOID, INT4OID};
	Datum		vals[8];
	char		ns[8] = "        ";
	MigOwnerSave save;
	int			i;

	Assert(nargs <= 5);
	vals[0] = name_datum(job->schema);
	vals[1] = CStringGetTextDatum(job->migration);
	vals[2] = Int32GetDatum(job->seq);
	for (i = 0; i < nargs; i++)
	{
		types[3 + i] = argtypes[i];
		vals[3 + i] = values[i];
		ns[3 + i] = nulls ? nulls[i] : ' ';
	}
	MigAsExtensionOwner(&save);
	if (SPI_execute_with_args(psprintf("UPDATE mig.job_queue SET %s"
									   " WHERE schema = $1 AND migration = $2 AND seq = $3",
									   sql),
							  3 + nargs, types, vals, ns, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not record the state of a job");
	MigAsCaller(&save);
}

void
MigJobSetRunning(MigJob *job)
{
	Oid			argtypes[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(MyProcPid)};

	set_state(job, "state = 'running', worker_pid = $4,"
			  " started_at = coalesce(started_at, pg_catalog.clock_timestamp())",
			  1, argtypes, values, NULL);
	job->running = true;
}

/*
 * Has the job been paused (mig.pause) since it was read?  Read in the
 * transaction of a unit of work, so the worker stops after that unit.
 */
bool
MigJobPaused(MigJob *job)
{
	Oid			argtypes[3] = {NAMEOID, TEXTOID, INT4OID};
	Datum		values[3];
	bool		isnull;
	bool		paused = false;

	values[0] = name_datum(job->schema);
	values[1] = CStringGetTextDatum(job->migration);
	values[2] = Int32GetDatum(job->seq);
	if (SPI_execute_with_args("SELECT paused FROM mig.job_queue"
							  " WHERE schema = $1 AND migration = $2 AND seq = $3",
							  3, argtypes, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the state of a job");
	if (SPI_processed > 0)
		paused = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
											SPI_tuptable->tupdesc, 1, &isnull));
	return paused;
}

void
MigJobSetDone(MigJob *job)
{
	set_state(job, "state = 'done', last_error = NULL,"
			  " started_at = coalesce(started_at, pg_catalog.clock_timestamp()),"
			  " finished_at = pg_catalog.clock_timestamp()",
			  0, NULL, NULL, NULL);
}

/*
 * A unit of the job failed: record why; an error that counts (not a lock
 * timeout) uses up one of its attempts; a final one fails the job.
 */
void
MigJobSetFailed(MigJob *job, const char *error, bool counts, bool final)
{
	Oid			argtypes[3] = {TEXTOID, BOOLOID, BOOLOID};
	Datum		values[3] = {CStringGetTextDatum(error), BoolGetDatum(final),
	BoolGetDatum(counts)};

	set_state(job, "last_error = $4,"
			  " attempts = attempts + CASE WHEN $6 THEN 1 ELSE 0 END,"
			  " state = CASE WHEN $5 THEN 'failed' ELSE state END,"
			  " finished_at = CASE WHEN $5 THEN pg_catalog.clock_timestamp() END",
			  3, argtypes, values, NULL);
	if (counts)
		job->attempts++;
}

void
MigJobSetBackfillProgress(MigJob *job, int64 next_block, int64 rows)
{
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		values[2] = {Int64GetDatum(next_block), Int64GetDatum(rows)};

	set_state(job, "next_block = $4, rows_done = rows_done + $5, last_error = NULL,"
			  " started_at = coalesce(started_at, pg_catalog.clock_timestamp())",
			  2, argtypes, values, NULL);
	job->next_block = next_block;
	job->rows_done += rows;
}

/* the error of a backfill restored from a dump before it was done */
static void
restored_backfill_error(const char *qtable, const char *migration,
						const char *schema, bool at_complete)
{
	ereport(ERROR,
			errcode(at_complete ? ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE :
					MIG_ERRCODE_JOB_UNRECOVERABLE),
			at_complete ?
			errmsg("cannot complete migration \"%s\": it was restored from a dump taken while its backfill of %s was unfinished",
				   migration, qtable) :
			errmsg("backfill of %s cannot be finished: migration \"%s\" was restored from a dump taken while the backfill was unfinished",
				   qtable, migration),
			errdetail("The restored rows carry new transaction IDs, so the backfill cannot tell the rows that predate the migration from those written since; roll the migration back with mig.rollback('%s') and start it again.",
					  schema),
			errhint("The old version is unchanged, and rollback brings the tables back to it exactly."));
}

void
MigJobIdentify(MigJob *job)
{
	Oid			relid;

	if (job->identified)
		return;
	if (job->kind == MIG_JOB_DROP_INDEX)
	{
		/* queued by complete, which may have renamed or dropped its table */
		Oid			indexoid = MigIdentIndex(job->objid, job->objname,
											 get_namespace_oid(job->schema, true),
											 job->native, job->migration);

		job->objid = indexoid;
		if (OidIsValid(indexoid))
			job->relid = IndexGetRelation(indexoid, false);
		job->identified = true;
		return;
	}

	relid = MigIdentRelation(job->relid, job->relname, job->native, "table",
							 job->migration);
	if (!OidIsValid(relid))
		ereport(ERROR,
				errcode(ERRCODE_UNDEFINED_TABLE),
				errmsg("table %s of migration \"%s\" does not exist",
					   job->relname ? job->relname : psprintf("with OID %u", job->relid),
					   job->migration),
				errdetail("It was dropped while the job was waiting to run; roll the migration back with mig.rollback('%s').",
						  job->schema));
	job->moved = relid != job->relid;
	job->relid = relid;

	if (job->kind == MIG_JOB_BACKFILL && (!job->native || job->moved))
		restored_backfill_error(job->relname ? job->relname : MigIdentRelationName(relid),
								job->migration, job->schema, false);
	if (job->kind == MIG_JOB_VALIDATE)
	{
		Oid			conoid = MigIdentConstraint(relid, job->moved ? InvalidOid : relid,
												job->objid, job->objname,
												job->native);

		if (!OidIsValid(conoid))
			ereport(ERROR,
					errcode(ERRCODE_UNDEFINED_OBJECT),
					errmsg("constraint %s of migration \"%s\" does not exist",
						   job->objname ? quote_identifier(job->objname) :
						   psprintf("with OID %u", job->objid),
						   job->migration),
					errdetail("It was dropped while its job was waiting to validate it; roll the migration back with mig.rollback('%s').",
							  job->schema));
		job->objid = conoid;
	}
	/* an index job finds its index by name (job_run.c) */
	job->identified = true;
}

void
MigJobsCheckRestored(const char *schema, const char *migration)
{
	Oid			argtypes[2] = {NAMEOID, TEXTOID};
	Datum		values[2] = {name_datum(schema), CStringGetTextDatum(migration)};
	bool		native = MigIdentNative(schema, migration);
	List	   *relids = NIL;
	List	   *relnames = NIL;
	ListCell   *lc;
	ListCell   *nc;
	uint64		i;

	MigSpiExec("SELECT relid, relname FROM mig.job_queue"
			   " WHERE schema = $1 AND migration = $2"
			   "   AND kind = 'backfill' AND state <> 'done'",
			   2, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the jobs of migration \"%s\"", migration);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		relids = lappend_oid(relids,
							 DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
															SPI_tuptable->tupdesc, 1,
															&isnull)));
		relnames = lappend(relnames, SPI_getvalue(SPI_tuptable->vals[i],
												  SPI_tuptable->tupdesc, 2));
	}
	forboth(lc, relids, nc, relnames)
	{
		Oid			recorded = lfirst_oid(lc);
		char	   *relname = lfirst(nc);
		Oid			relid = MigIdentRelation(recorded, relname, native, "table",
											 migration);

		if (!native || (OidIsValid(relid) && relid != recorded))
			restored_backfill_error(relname ? relname : psprintf("table with OID %u", recorded),
									migration, schema, true);
	}
}

bool
MigJobsPending(const char *schema)
{
	Oid			argtypes[1] = {NAMEOID};
	Datum		values[1] = {name_datum(schema)};

	if (SPI_execute_with_args("SELECT 1 FROM mig.job_queue j"
							  " JOIN mig.migrations m ON m.schema = j.schema AND m.name = j.migration"
							  " WHERE j.schema = $1"
							  "   AND (m.status = 'in_progress' OR j.kind = 'drop_index')"
							  "   AND j.state IN ('pending', 'running') AND NOT j.paused",
							  1, argtypes, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the job queue");
	return SPI_processed > 0;
}

void
MigJobsCount(const char *schema, const char *migration, MigJobCounts *counts)
{
	Oid			argtypes[2] = {NAMEOID, TEXTOID};
	Datum		values[2];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;

	values[0] = name_datum(schema);
	values[1] = CStringGetTextDatum(migration);
	MigSpiExec("SELECT count(*) FILTER (WHERE state IN ('pending', 'running') AND NOT paused),"
			   " count(*) FILTER (WHERE state IN ('pending', 'running') AND paused),"
			   " count(*) FILTER (WHERE state = 'failed'),"
			   " mig.job_summary($1)"
			   " FROM mig.job_queue WHERE schema = $1 AND migration = $2",
			   2, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the job queue");
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	counts->unfinished = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	counts->paused = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	counts->failed = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
	counts->summary = SPI_getvalue(tup, desc, 4);
}

/* "kind object on table: state (progress)" of each unfinished job, or NULL */
char *
MigJobsUnfinished(const char *schema, const char *migration)
{
	Oid			argtypes[2] = {NAMEOID, TEXTOID};
	Datum		values[2] = {name_datum(schema), CStringGetTextDatum(migration)};

	MigSpiExec("SELECT mig.job_summary($1)"
			   " WHERE EXISTS (SELECT 1 FROM mig.job_queue"
			   "   WHERE schema = $1 AND migration = $2 AND state <> 'done')",
			   2, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the jobs of migration \"%s\"", migration);
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * mig.pause and mig.resume: pause the migration's unfinished jobs, or
 * resume its paused and failed ones.  Returns how many changed.
 */
uint64
MigJobsSetPaused(const char *schema, const char *migration, bool pause)
{
	Oid			argtypes[2] = {NAMEOID, TEXTOID};
	Datum		values[2];
	MigOwnerSave save;
	uint64		n;

	values[0] = name_datum(schema);
	values[1] = CStringGetTextDatum(migration);
	MigAsExtensionOwner(&save);
	MigSpiExec(pause ?
			   "UPDATE mig.job_queue SET paused = true"
			   " WHERE schema = $1 AND migration = $2"
			   "   AND state IN ('pending', 'running') AND NOT paused" :
			   "UPDATE mig.job_queue SET paused = false,"
			   "   state = CASE state WHEN 'failed' THEN 'pending' ELSE state END,"
			   "   attempts = CASE state WHEN 'failed' THEN 0 ELSE attempts END,"
			   "   finished_at = CASE state WHEN 'failed' THEN NULL ELSE finished_at END"
			   " WHERE schema = $1 AND migration = $2"
			   "   AND (paused OR state = 'failed')",
			   2, argtypes, values, NULL, false, SPI_OK_UPDATE,
			   "could not update the job queue");
	n = SPI_processed;
	MigAsCaller(&save);
	return n;
}

/* Forget every job of a migration (complete and rollback). */
void
MigJobsForget(const char *schema, const char *migration)
{
	Oid			argtypes[2] = {NAMEOID, TEXTOID};
	Datum		values[2];
	MigOwnerSave save;

	values[0] = name_datum(schema);
	values[1] = CStringGetTextDatum(migration);
	MigAsExtensionOwner(&save);
	MigSpiExec("DELETE FROM mig.job_queue WHERE schema = $1 AND migration = $2",
			   2, argtypes, values, NULL, false, SPI_OK_DELETE,
			   "could not forget dual-write rules");
	MigAsCaller(&save);
}

void
MigJobSetIndex(MigJob *job, Oid indexoid)
{
	Oid			argtypes[5] = {NAMEOID, TEXTOID, OIDOID, OIDOID, INT4OID};
	Datum		values[5];
	MigOwnerSave save;

	values[0] = name_datum(job->schema);
	values[1] = CStringGetTextDatum(job->migration);
	values[2] = ObjectIdGetDatum(job->objid);
	values[3] = ObjectIdGetDatum(indexoid);
	values[4] = Int32GetDatum(job->seq);
	MigAsExtensionOwner(&save);
	if (SPI_execute_with_args("UPDATE mig.job_queue SET objid = $4"
							  " WHERE schema = $1 AND migration = $2 AND seq = $5 AND objid = $3",
							  5, argtypes, values, NULL, false, 0) < 0)
		elog(ERROR, "could not record the new OID of index \"%s\"", job->name);
	MigAsCaller(&save);
}
