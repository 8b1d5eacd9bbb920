/*-------------------------------------------------------------------------
 *
 * jobs.h
 *		The background jobs of a migration (mig.job_queue): concurrent index
 *		builds, backfills and constraint validations, queued by start and
 *		run by the background worker (worker.c), or inline when complete
 *		runs in the transaction that started the migration.
 *
 *		All functions run SPI queries; the caller is connected.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_JOBS_H
#define MIG_JOBS_H

#include "ops.h"

typedef enum MigJobKind
{
	MIG_JOB_INDEX,				/* build a declared index concurrently */
	MIG_JOB_BACKFILL,			/* give existing rows their new columns */
	MIG_JOB_VALIDATE,			/* VALIDATE CONSTRAINT */
	MIG_JOB_DROP_INDEX			/* after complete: DROP INDEX CONCURRENTLY */
} MigJobKind;

/*
 * SQLSTATE (class 55, object not in prerequisite state) of a job's error
 * that no retry can cure: a backfill whose table was restored from a dump
 * or rewritten with new xids while it was unfinished.  The worker fails the
 * job at once instead of retrying it.
 */
#define MIG_ERRCODE_JOB_UNRECOVERABLE	MAKE_SQLSTATE('5','5','M','0','1')

/* one job as read from the queue */
typedef struct MigJob
{
	char	   *schema;
	char	   *migration;
	int			seq;
	MigJobKind	kind;
	Oid			relid;
	Oid			objid;			/* index or constraint */
	char	   *name;			/* index name */
	/* the names relid and objid had when start finished (state_ident.h) */
	char	   *relname;
	char	   *objname;
	bool		native;			/* the state was written in this database */
	bool		identified;		/* relid and objid are checked (MigJobIdentify) */
	bool		moved;			/* the table is not the one the job recorded */
	bool		running;		/* state 'running': it may have started */
	int			attempts;
	/* backfill */
	char	   *snapshot;
	int64		next_block;
	int64		end_block;
	int64		rows_done;
	int64		rows_total;		/* estimated at start, or -1 */
	char	   *description;	/* MigJobDescribe's, once computed */
} MigJob;

/*
 * Queue jobs at start.  Whoever queues jobs arranges their run: start
 * launches the worker at commit once every job is queued.
 */
extern void MigJobAddBackfill(MigPlan *plan, Oid relid, const char *snapshot,
							  int64 end_block, int64 rows_total);
extern void MigJobAddIndex(MigPlan *plan, Oid relid, Oid indexoid,
						   const char *name);
extern void MigJobAddValidate(MigPlan *plan, Oid relid, Oid conoid);

/*
 * Queue, at complete, the concurrent drop of an index after the commit (the
 * caller launches the worker).
 */
extern void MigJobAddDropIndex(const char *schema, const char *migration,
							   Oid relid, Oid indexoid);

/* Forget a job that is done and leaves nothing to show (drop_index). */
extern void MigJobDelete(MigJob *job);

/* The next job to run, or NULL; paused jobs are skipped unless asked for. */
extern MigJob *MigJobNext(const char *schema, bool include_paused,
						  MigJobKind *only_kind);

/*
 * Find the job's table and object by the OIDs and names it recorded (after
 * a restore they are other objects' OIDs), or raise an error that says
 * what is missing.  A backfill also checks that its snapshot is this
 * database's.  Needs a transaction.
 */
extern void MigJobIdentify(MigJob *job);

/*
 * Refuse to complete a migration restored from a dump taken before its
 * backfills were done: they cannot be finished exactly.
 */
extern void MigJobsCheckRestored(const char *schema, const char *migration);

/* A copy of a job in another memory context (SPI frees its own). */
extern MigJob *MigJobCopy(MigJob *job, MemoryContext cxt);

/* Record a job's progress (as the extension's owner). */
extern void MigJobSetRunning(MigJob *job);
extern bool MigJobPaused(MigJob *job);
extern void MigJobSetDone(MigJob *job);
extern void MigJobSetFailed(MigJob *job, const char *error, bool counts,
							bool final);
extern void MigJobSetBackfillProgress(MigJob *job, int64 next_block,
									  int64 rows);

/* Does the schema's active migration have unfinished, unpaused jobs? */
extern bool MigJobsPending(const char *schema);

/* The counts of a migration's jobs, for mig.wait. */
typedef struct MigJobCounts
{
	int64		unfinished;		/* pending or running, not paused */
	int64		paused;
	int64		failed;
	char	   *summary;		/* mig.job_summary */
} MigJobCounts;

extern void MigJobsCount(const char *schema, const char *migration,
						 MigJobCounts *counts);

/* "kind object on table: state (progress)" of each unfinished job, or NULL. */
extern char *MigJobsUnfinished(const char *schema, const char *migration);

/* Pause, or resume, a migration's jobs (mig.pause, mig.resume); how many. */
extern uint64 MigJobsSetPaused(const char *schema, const char *migration,
							   bool pause);

/* Forget every job of a migration (complete and rollback). */
extern void MigJobsForget(const char *schema, const char *migration);

/* The job's index has a new OID (rebuilt): record it. */
extern void MigJobSetIndex(MigJob *job, Oid indexoid);

#endif							/* MIG_JOBS_H */
