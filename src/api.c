/*-------------------------------------------------------------------------
 *
 * api.c
 *		SQL entry points: mig.start, mig.complete and mig.rollback.
 *
 *		Each runs in the caller's transaction as one attempt at a time (see
 *		ddl.c), so on any error the database is exactly as before the call.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "ddl.h"
#include "drop_guard.h"
#include "dual_write_setup.h"
#include "expr_precheck.h"
#include "job_control.h"
#include "job_run.h"
#include "jobs.h"
#include "lint.h"
#include "migration.h"
#include "model.h"
#include "ops.h"
#include "replication.h"
#include "security.h"
#include "settings.h"
#include "state.h"
#include "state_ident.h"
#include "steps.h"
#include "views.h"
#include "worker_control.h"

PG_FUNCTION_INFO_V1(mig_start);
PG_FUNCTION_INFO_V1(mig_complete);
PG_FUNCTION_INFO_V1(mig_rollback);

typedef struct StartArgs
{
	MigMigration *migration;
	Jsonb	   *document;
	const char *schema;
	const char *version_schema;
} StartArgs;

typedef struct FinishArgs
{
	const char *schema;
	MigActive  *active;			/* set by the attempt */
	MemoryContext result_context;
	bool		cascade;		/* DROP EXTENSION ... CASCADE: user objects
								 * over the version schema go too */
} FinishArgs;

static const char *arg_schema(FunctionCallInfo fcinfo, int argno);
static void start_attempt(void *arg);
static void complete_attempt(void *arg);
static void rollback_attempt(void *arg);
static MigActive *get_active(const char *schema, MemoryContext cxt);
static const char *active_name(const char *schema);

static const char *
arg_schema(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				errmsg("schema must not be null"));
	return NameStr(*PG_GETARG_NAME(argno));
}

Datum
mig_start(PG_FUNCTION_ARGS)
{
	StartArgs	args;
	char	   *name;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				errmsg("migration name and document must not be null"));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	args.schema = arg_schema(fcinfo, 2);
	MigRefuseReadOnly("mig.start", args.schema);
	args.document = PG_GETARG_JSONB_P(1);

	if (name[0] == '\0')
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("migration name must not be empty"));

	/* the document is checked before anything is touched */
	args.migration = MigParseMigration(name, args.document);
	/* and its sql operations linted, before any lock */
	MigLintMigration(args.migration, args.schema);

	args.version_schema = psprintf("%s_%s", args.schema,
								   args.migration->version_schema ?
								   args.migration->version_schema : name);
	if (strlen(args.version_schema) > NAMEDATALEN - 1)
		ereport(ERROR,
				errcode(ERRCODE_NAME_TOO_LONG),
				errmsg("version schema name \"%s\" is too long", args.version_schema),
				errdetail("The name is \"<schema>_<version>\" and must fit in %d bytes.",
						  NAMEDATALEN - 1),
				errhint("Use a shorter migration name, or set \"version_schema\" in the migration."));

	MigRunAttempts("start", name, args.schema, start_attempt, &args);

	PG_RETURN_TEXT_P(cstring_to_text(args.version_schema));
}

static void
start_attempt(void *arg)
{
	StartArgs  *args = (StartArgs *) arg;
	MigMigration *migration = args->migration;
	MigPlan		plan;
	MigActive  *active;
	char	   *published;

	memset(&plan, 0, sizeof(plan));
	plan.migration = migration;
	plan.schema = args->schema;
	MigCheckSchemaPrivilege(MigLockSchema(args->schema), args->schema);
	plan.model = MigModelLoad(args->schema);
	active = MigStateGetActive(args->schema);
	if (active != NULL)
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("cannot start migration \"%s\": migration \"%s\" is in progress in schema \"%s\"",
					   migration->name, active->name, args->schema),
				errhint("Complete it with mig.complete() or undo it with mig.rollback() first."));
	if (MigStateExists(args->schema, migration->name))
		ereport(ERROR,
				errcode(ERRCODE_DUPLICATE_OBJECT),
				errmsg("migration \"%s\" already exists in schema \"%s\"",
					   migration->name, args->schema));
	if (OidIsValid(get_namespace_oid(args->version_schema, true)))
		ereport(ERROR,
				errcode(ERRCODE_DUPLICATE_SCHEMA),
				errmsg("cannot start migration \"%s\": schema \"%s\" already exists",
					   migration->name, args->version_schema),
				errhint("Give the migration another name or \"version_schema\"."));

	/* expressions are checked before anything takes a strong lock */
	MigPrecheckExpressions(&plan);

	/* what subscribers have of the schema's tables before the change */
	published = MigReplicationBefore(args->schema);
	plan.old_version = MigStateLatestVersion(args->schema);
	plan.new_version = args->version_schema;
	MigStateInsert(args->schema, migration->name, MigStateLatest(args->schema),
				   args->document);
	/* expand: each operation's DDL, in order, and its rules and steps */
	MigExpandOperations(&plan);
	/* dual write: the triggers, and the backfills of the rows before them */
	MigDualWriteInstall(&plan);
	/* the new version's views */
	MigViewsCreate(plan.model, args->version_schema);
	/* the state's OIDs are checked against these names at every use */
	MigIdentRecord(args->schema, migration->name);
	MigReplicationRefuseSubscribed(args->schema, migration->name);
	/* subscribers make the same changes at this point of the stream */
	MigReplicationRecord(args->schema, migration->name, "start", published);
	/* the jobs queued above start in a worker once this commits */
	if (plan.job_seq > 0 && mig_start_jobs)
		MigWorkerLaunchAtCommit(args->schema);
}

/*
 * The name of the migration in progress, for messages; the attempt checks
 * again under the schema's lock.
 */
static const char *
active_name(const char *schema)
{
	MemoryContext cxt = CurrentMemoryContext;
	MigActive  *active;
	char	   *name;

	if (!OidIsValid(get_namespace_oid(schema, true)))
		ereport(ERROR,
				errcode(ERRCODE_INVALID_SCHEMA_NAME),
				errmsg("schema \"%s\" does not exist", schema));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	active = get_active(schema, cxt);
	name = active->name;
	SPI_finish();
	return name;
}

static MigActive *
get_active(const char *schema, MemoryContext cxt)
{
	MigActive  *active = MigStateGetActive(schema);
	MigActive  *copy;

	if (active == NULL)
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("no migration is in progress in schema \"%s\"", schema));
	copy = MemoryContextAllocZero(cxt, sizeof(MigActive));
	copy->name = MemoryContextStrdup(cxt, active->name);
	copy->version_schema = MemoryContextStrdup(cxt, active->version_schema);
	if (active->previous_version_schema)
		copy->previous_version_schema =
			MemoryContextStrdup(cxt, active->previous_version_schema);
	return copy;
}

Datum
mig_complete(PG_FUNCTION_ARGS)
{
	FinishArgs	args = {arg_schema(fcinfo, 0), NULL, CurrentMemoryContext};

	MigRefuseReadOnly("mig.complete", args.schema);
	MigRunAttempts("complete", active_name(args.schema), args.schema,
				   complete_attempt, &args);
	PG_RETURN_TEXT_P(cstring_to_text(args.active->version_schema));
}

static void
complete_attempt(void *arg)
{
	FinishArgs *args = (FinishArgs *) arg;
	MigActive  *active;
	char	   *published;
	List	   *identities;

	MigCheckSchemaPrivilege(MigLockSchema(args->schema), args->schema);
	active = args->active = get_active(args->schema, args->result_context);
	published = MigReplicationBefore(args->schema);
	identities = MigReplicaIdentityRemember(args->schema);

	/* a refusal (user objects over the old version) before anything is done */
	if (active->previous_version_schema)
		MigViewsCheckDrop(args->schema, active->name,
						  active->previous_version_schema, "mig.complete");

	MigJobsFinishForComplete(args->schema, active->name);
	MigDualWriteRemove(args->schema, active->name);

	/* the old version's views name columns that complete may drop */
	if (active->previous_version_schema)
		MigViewsDrop(args->schema, active->name,
					 active->previous_version_schema, "mig.complete", false);

	if (MigStepsRun(args->schema, active->name, MIG_PHASE_COMPLETE))
	{
		/* raw SQL ran: the new version is what the base schema now is */
		MigViewsDrop(args->schema, active->name, active->version_schema,
					 "mig.complete", false);
		MigViewsCreate(MigModelLoad(args->schema), active->version_schema);
	}
	else
		MigViewsUnguard(active->version_schema);
	MigReplicaIdentityRestore(identities);
	MigIdentRecord(args->schema, active->name);	/* the jobs complete queued */
	MigReplicationRecord(args->schema, active->name, "complete", published);
	MigStateMarkComplete(args->schema, active->name);
}

Datum
mig_rollback(PG_FUNCTION_ARGS)
{
	FinishArgs	args = {arg_schema(fcinfo, 0), NULL, CurrentMemoryContext};

	MigRefuseReadOnly("mig.rollback", args.schema);
	MigRunAttempts("rollback", active_name(args.schema), args.schema,
				   rollback_attempt, &args);
	PG_RETURN_TEXT_P(cstring_to_text(args.active->previous_version_schema ?
									 args.active->previous_version_schema :
									 args.schema));
}

static void
rollback_attempt(void *arg)
{
	FinishArgs *args = (FinishArgs *) arg;
	MigActive  *active;
	Oid			schema_oid;
	char	   *published;

	schema_oid = MigLockSchema(args->schema);
	MigCheckSchemaPrivilege(schema_oid, args->schema);
	active = args->active = get_active(args->schema, args->result_context);
	published = MigReplicationBefore(args->schema);

	/* a refusal (user objects over the new version) before anything is done */
	if (!args->cascade)
		MigViewsCheckDrop(args->schema, active->name, active->version_schema,
						  "mig.rollback");

	/* the worker stops before anything is undone, and none starts until the end */
	MigWorkerStop(schema_oid, args->schema);
	MigJobsDropLeftovers(args->schema, active->name);

	MigViewsDrop(args->schema, active->name, active->version_schema,
				 "mig.rollback", args->cascade);
	MigDualWriteRemove(args->schema, active->name);
	MigStepsRun(args->schema, active->name, MIG_PHASE_ROLLBACK);
	MigReplicationRecord(args->schema, active->name, "rollback", published);
	MigStateDelete(args->schema, active->name);
}

/*
 * mig.rollback of the migration in progress in a schema, for DROP
 * EXTENSION ... CASCADE (drop_guard.c), in the dropping transaction.
 */
void
MigRollbackActive(const char *schema)
{
	FinishArgs	args = {schema, NULL, CurrentMemoryContext, true};

	MigRunAttempts("rollback", active_name(schema), schema, rollback_attempt,
				   &args);
}
