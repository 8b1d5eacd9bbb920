/*-------------------------------------------------------------------------
 *
 * job_control.h
 *		Controlling a migration's jobs from a backend: what complete does
 *		about unfinished ones.  The SQL entry points (mig.wait, mig.pause,
 *		mig.resume, ...) are in job_control.c too.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_JOB_CONTROL_H
#define MIG_JOB_CONTROL_H

/*
 * Called by complete: when the migration was started in this transaction
 * (so no worker can have seen its jobs), run them here and say so;
 * otherwise refuse, with their progress, while any is unfinished.
 */
extern void MigJobsFinishForComplete(const char *schema, const char *migration);

#endif							/* MIG_JOB_CONTROL_H */
