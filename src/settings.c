/*-------------------------------------------------------------------------
 *
 * settings.c
 *		The configuration parameters of migrate_ext (migrate_ext.*): their
 *		variables and their definitions.
 *
 *	IDENTIFICATION
 *		src/settings.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "compat.h"
#include "lint.h"
#include "settings.h"
#include "write_route.h"

int			mig_lock_timeout = 500;
int			mig_lock_retries = 10;
int			mig_retry_delay = 100;
bool		mig_strict_expressions = true;
char	   *mig_version = NULL;
int			mig_backfill_batch_size = 10000;
int			mig_backfill_delay = 0;
int			mig_max_replication_lag = 0;
bool		mig_start_jobs = true;
bool		mig_infer_migrations = true;
int			mig_lint_level = MIG_LINT_WARNING;
char	   *mig_lint_allow = NULL;

static const struct config_enum_entry lint_options[] = {
	{"off", MIG_LINT_OFF, false},
	{"warning", MIG_LINT_WARNING, false},
	{"error", MIG_LINT_ERROR, false},
	{NULL, 0, false}
};

/*
 * Define the parameters; called once, from _PG_init.
 */
void
MigSettingsDefine(void)
{
	DefineCustomIntVariable("migrate_ext.lock_timeout",
							gettext_noop("Sets the maximum time a migration step waits for a lock before it retries."),
							gettext_noop("Application queries are never queued behind a migration for longer than this."),
							&mig_lock_timeout,
							500,
							1, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("migrate_ext.lock_retries",
							gettext_noop("Sets how many times a migration retries after a lock timeout before it fails."),
							NULL,
							&mig_lock_retries,
							10,
							0, 10000,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("migrate_ext.retry_delay",
							gettext_noop("Sets the first backoff delay after a lock timeout; later delays double."),
							gettext_noop("Each delay is jittered and capped at 10 seconds."),
							&mig_retry_delay,
							100,
							0, 60000,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("migrate_ext.strict_expressions",
							 gettext_noop("Rejects a migration whose up or down expressions do not compile."),
							 gettext_noop("When off, such a migration starts with a warning, as pgroll accepts it."),
							 &mig_strict_expressions,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("migrate_ext.version",
							   gettext_noop("Sets the version schema this session reads and writes through."),
							   gettext_noop("A write through a version schema's view is routed by the view; for writes to a table itself, when empty, the version is taken from search_path."),
							   &mig_version,
							   "",
							   PGC_USERSET,
							   0,
							   MigCheckVersionName, NULL, NULL);

	DefineCustomIntVariable("migrate_ext.backfill_batch_size",
							gettext_noop("Sets how many rows one backfill batch writes, each batch in its own transaction."),
							NULL,
							&mig_backfill_batch_size,
							10000,
							1, 10000000,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("migrate_ext.backfill_delay",
							gettext_noop("Sets the pause between two backfill batches."),
							NULL,
							&mig_backfill_delay,
							0,
							0, 3600000,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("migrate_ext.max_replication_lag",
							gettext_noop("Sets the standby replay lag above which the backfill waits before its next batch."),
							gettext_noop("Zero means the backfill does not look at standbys."),
							&mig_max_replication_lag,
							0,
							0, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("migrate_ext.start_jobs",
							 gettext_noop("Starts the background jobs of a migration as soon as it has started."),
							 gettext_noop("When off, its jobs are queued paused: run them with mig.resume() or CALL mig.backfill()."),
							 &mig_start_jobs,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("migrate_ext.infer_migrations",
							 gettext_noop("Records DDL run outside migrations in the history, as inferred migrations."),
							 gettext_noop("When off, this session's DDL statements are not recorded (pgroll's pgroll.no_inferred_migrations)."),
							 &mig_infer_migrations,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable("migrate_ext.lint",
							 gettext_noop("Sets what mig.start does with an unsafe statement in a sql operation."),
							 gettext_noop("off: nothing; warning: a warning for each; error: the migration is refused."),
							 &mig_lint_level,
							 MIG_LINT_WARNING,
							 lint_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("migrate_ext.lint_allow",
							   gettext_noop("Sets the lint rules that are never reported."),
							   gettext_noop("A comma-separated list of rule names, as mig.lint reports them."),
							   &mig_lint_allow,
							   "",
							   PGC_USERSET,
							   GUC_LIST_INPUT,
							   MigCheckLintAllow, NULL, NULL);

	MarkGUCPrefixReserved("migrate_ext");
}
