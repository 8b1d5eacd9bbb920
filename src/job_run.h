/*-------------------------------------------------------------------------
 *
 * job_run.h
 *		Running one job: in the background worker, one unit of work at a
 *		time in transactions of its own; or inline, in the caller's
 *		transaction.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_JOB_RUN_H
#define MIG_JOB_RUN_H

#include "backfill.h"
#include "jobs.h"

/*
 * Outside a transaction (in the worker): start one with a snapshot and SPI
 * connected, and commit it.  Each unit of a job's work, and each record of
 * its state, is one such transaction.
 */
extern void MigWorkStart(void);
extern void MigWorkCommit(void);

/*
 * Run all of a job in the current transaction (SPI connected): the index is
 * built with a plain REINDEX, the backfill in one go.  Marks it done.
 */
extern void MigJobRunInline(MigJob *job);

/*
 * In the worker, outside any transaction: build a job's index concurrently
 * (dropping what an earlier, failed build left behind), and mark the job
 * done.  Starts and commits its own transactions.
 */
extern void MigJobBuildIndexConcurrently(MigJob *job);

/*
 * In the worker, outside any transaction: drop the job's index concurrently
 * (after complete), and forget the job.
 */
extern void MigJobDropIndexConcurrently(MigJob *job);

/*
 * In the worker, inside a transaction (SPI connected): validate the job's
 * constraint and mark the job done.
 */
extern void MigJobValidate(MigJob *job);

/*
 * Drop what interrupted concurrent builds of the migration's indexes left
 * behind (rollback, after the worker has stopped).  SPI connected.
 */
extern void MigJobsDropLeftovers(const char *schema, const char *migration);

/*
 * Run one utility statement as a top-level statement, the way a client's
 * simple query runs, so that statements that refuse a transaction block
 * (CREATE INDEX CONCURRENTLY, REINDEX CONCURRENTLY) work.  Call it in a
 * transaction started with StartTransactionCommand (no SPI); the statement
 * may commit that transaction and start others; the caller commits the
 * last one.
 */
extern void MigRunTopLevel(const char *sql);

/*
 * Run every unfinished, unpaused job of the migration now, in this
 * transaction; say so in a NOTICE if asked to.
 */
extern void MigJobsRunAllInline(const char *schema, const char *migration,
								bool say);

/*
 * A job's description for pg_stat_activity and messages; the first call
 * must be in a transaction (it reads the catalogs), later ones need not.
 */
extern char *MigJobDescribe(MigJob *job);

/*
 * In the worker, outside any transaction: one unit of the job's work (an
 * index build, one backfill batch and its throttle, a validation, a drop),
 * in transactions of its own.  Returns whether the job has more to do.
 */
extern bool MigJobRunUnit(MigJob *job, MigSleepFn sleep);

#endif							/* MIG_JOB_RUN_H */
