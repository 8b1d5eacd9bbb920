/*-------------------------------------------------------------------------
 *
 * settings.h
 *		The configuration parameters of migrate_ext (migrate_ext.*).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_SETTINGS_H
#define MIG_SETTINGS_H

/* configuration parameters (migrate_ext.*) */
extern int	mig_lock_timeout;		/* ms a DDL step waits for a lock */
extern int	mig_lock_retries;		/* attempts after the first lock timeout */
extern int	mig_retry_delay;		/* ms of the first backoff sleep */
extern bool mig_strict_expressions;	/* reject expressions that fail to compile */
extern char *mig_version;			/* version schema this session writes through */
extern int	mig_backfill_batch_size;	/* rows per backfill batch */
extern int	mig_backfill_delay;		/* ms between backfill batches */
extern int	mig_max_replication_lag;	/* ms of standby lag the backfill waits out */
extern bool mig_start_jobs;			/* jobs of a new migration start unpaused */
extern bool mig_infer_migrations;	/* record DDL outside migrations */
extern int	mig_lint_level;			/* what start does with a lint finding */
extern char *mig_lint_allow;	/* lint rules never reported */

/* values of migrate_ext.lint */
typedef enum MigLintLevel
{
	MIG_LINT_OFF,
	MIG_LINT_WARNING,
	MIG_LINT_ERROR
} MigLintLevel;

/* the cap of the doubling backoff that migrate_ext.retry_delay starts */
#define MIG_MAX_BACKOFF_MS 10000

extern void MigSettingsDefine(void);

#endif							/* MIG_SETTINGS_H */
