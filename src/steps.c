/*-------------------------------------------------------------------------
 *
 * steps.c
 *		Record contract and undo steps in mig.steps, and run them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_constraint.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "compat.h"
#include "ddl.h"
#include "jobs.h"
#include "model.h"
#include "names.h"
#include "security.h"
#include "state.h"
#include "state_ident.h"
#include "steps.h"
#include "worker_control.h"

typedef struct MigStep
{
	MigStepKind kind;
	char	   *kind_name;		/* as stored */
	Oid			relid;
	AttrNumber	attnum;
	Oid			objid;
	char	   *name;
	char	   *text;
	/* the names of relid, attnum and objid when start finished */
	char	   *relname;
	char	   *attname;
	char	   *objname;
	bool		gone;			/* rollback: its table or column no longer exists */
} MigStep;

/* the step kinds as mig.steps stores them */
static const char *const step_kind_names[MIG_NUM_STEP_KINDS] =
{
	[MIG_STEP_SQL] = "sql",
	[MIG_STEP_DROP_TABLE] = "drop_table",
	[MIG_STEP_RENAME_TABLE] = "rename_table",
	[MIG_STEP_DROP_COLUMN] = "drop_column",
	[MIG_STEP_RENAME_COLUMN] = "rename_column",
	[MIG_STEP_RENAME_CONSTRAINT] = "rename_constraint",
	[MIG_STEP_VALIDATE_CONSTRAINT] = "validate_constraint",
	[MIG_STEP_SET_NOT_NULL] = "set_not_null",
	[MIG_STEP_DROP_CONSTRAINT] = "drop_constraint",
	[MIG_STEP_REPLICA_IDENTITY] = "replica_identity",
	[MIG_STEP_RENAME_INDEX] = "rename_index",
	[MIG_STEP_CONSTRAINT_USING_INDEX] = "constraint_using_index",
	[MIG_STEP_SEQUENCE_OWNER] = "sequence_owner",
	[MIG_STEP_DROP_INDEX] = "drop_index",
	[MIG_STEP_DROP_INDEX_CONCURRENTLY] = "drop_index_concurrently",
};

/* a stored kind, or MIG_NUM_STEP_KINDS if unknown */
static MigStepKind
step_kind_of(const char *name)
{
	int			k;

	for (k = 0; k < MIG_NUM_STEP_KINDS; k++)
		if (strcmp(step_kind_names[k], name) == 0)
			return (MigStepKind) k;
	return MIG_NUM_STEP_KINDS;
}

typedef struct StepContext
{
	const char *migration;
	MigPhase	phase;
	int			number;
	MigStep    *step;
} StepContext;

static const char *phase_name(MigPhase phase);
static void steps_error_context(void *arg);
static void step_run(MigStep *step, MigPhase phase, const char *schema,
					 const char *migration);
static void steps_identify(List *steps, MigPhase phase, const char *schema,
						   const char *migration);
static char *constraint_name(Oid conoid);
static char *index_name(Oid indexoid);

static const char *
phase_name(MigPhase phase)
{
	return phase == MIG_PHASE_COMPLETE ? "complete" : "rollback";
}

/* Errors of a step say which step of which migration it was. */
static void
steps_error_context(void *arg)
{
	StepContext *ctx = (StepContext *) arg;

	if (ctx->step == NULL)
		return;
	errcontext("step %d (%s) of %s of migration \"%s\"",
			   ctx->number, ctx->step->kind_name, phase_name(ctx->phase),
			   ctx->migration);
}

void
MigStepAdd(MigPlan *plan, MigPhase phase, MigStepKind kind,
		   Oid relid, AttrNumber attnum, Oid objid,
		   const char *name, const char *text)
{
	Oid			argtypes[10] = {NAMEOID, TEXTOID, TEXTOID, INT4OID, TEXTOID,
	OIDOID, INT4OID, OIDOID, TEXTOID, TEXTOID};
	Datum		values[10];
	char		nulls[10];
	int			seq;
	int			rc;
	MigOwnerSave save;

	seq = (phase == MIG_PHASE_COMPLETE) ? ++plan->complete_seq : ++plan->rollback_seq;
	memset(nulls, ' ', sizeof(nulls));
	values[0] = DirectFunctionCall1(namein, CStringGetDatum(plan->schema));
	values[1] = CStringGetTextDatum(plan->migration->name);
	values[2] = CStringGetTextDatum(phase_name(phase));
	values[3] = Int32GetDatum(seq);
	values[4] = CStringGetTextDatum(step_kind_names[kind]);
	values[5] = ObjectIdGetDatum(relid);
	nulls[5] = OidIsValid(relid) ? ' ' : 'n';
	values[6] = Int32GetDatum(attnum);
	nulls[6] = attnum != InvalidAttrNumber ? ' ' : 'n';
	values[7] = ObjectIdGetDatum(objid);
	nulls[7] = OidIsValid(objid) ? ' ' : 'n';
	values[8] = name ? CStringGetTextDatum(name) : (Datum) 0;
	nulls[8] = name ? ' ' : 'n';
	values[9] = text ? CStringGetTextDatum(text) : (Datum) 0;
	nulls[9] = text ? ' ' : 'n';

	/*
	 * A constraint validated at complete is validated by a background job
	 * first (after the backfill), so that complete finds it valid and does
	 * not scan the table while holding its locks.
	 */
	if (phase == MIG_PHASE_COMPLETE && kind == MIG_STEP_VALIDATE_CONSTRAINT)
		MigJobAddValidate(plan, relid, objid);

	MigAsExtensionOwner(&save);
	rc = SPI_execute_with_args("INSERT INTO mig.steps (schema, migration, phase, seq, step)"
							   " VALUES ($1, $2, $3, $4, pg_catalog.jsonb_strip_nulls("
							   "pg_catalog.jsonb_build_object('kind', $5, 'relid', $6,"
							   " 'attnum', $7, 'objid', $8, 'name', $9, 'sql', $10)))",
							   10, argtypes, values, nulls, false, 0);
	MigAsCaller(&save);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not record migration step: SPI code %d", rc);
}

bool
MigStepsRun(const char *schema, const char *migration, MigPhase phase)
{
	Oid			argtypes[3] = {NAMEOID, TEXTOID, TEXTOID};
	Datum		values[3];
	List	   *steps = NIL;
	ListCell   *lc;
	uint64		i;
	bool		ran_sql = false;
	int			rc;
	ErrorContextCallback errcallback;
	StepContext ctx;

	values[0] = DirectFunctionCall1(namein, CStringGetDatum(schema));
	values[1] = CStringGetTextDatum(migration);
	values[2] = CStringGetTextDatum(phase_name(phase));
	rc = SPI_execute_with_args(psprintf("SELECT step->>'kind', (step->>'relid')::oid,"
										" (step->>'attnum')::int4, (step->>'objid')::oid,"
										" step->>'name', step->>'sql',"
										" step->>'table', step->>'column', step->>'object'"
										" FROM mig.steps WHERE schema = $1 AND migration = $2"
										" AND phase = $3 ORDER BY seq %s",
										phase == MIG_PHASE_COMPLETE ? "ASC" : "DESC"),
							   3, argtypes, values, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read migration steps: SPI code %d", rc);

	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MigStep    *step = palloc0(sizeof(MigStep));
		bool		isnull;
		Datum		d;

		step->kind_name = SPI_getvalue(tup, desc, 1);
		step->kind = step_kind_of(step->kind_name);
		d = SPI_getbinval(tup, desc, 2, &isnull);
		step->relid = isnull ? InvalidOid : DatumGetObjectId(d);
		d = SPI_getbinval(tup, desc, 3, &isnull);
		step->attnum = isnull ? InvalidAttrNumber : (AttrNumber) DatumGetInt32(d);
		d = SPI_getbinval(tup, desc, 4, &isnull);
		step->objid = isnull ? InvalidOid : DatumGetObjectId(d);
		step->name = SPI_getvalue(tup, desc, 5);
		step->text = SPI_getvalue(tup, desc, 6);
		step->relname = SPI_getvalue(tup, desc, 7);
		step->attname = SPI_getvalue(tup, desc, 8);
		step->objname = SPI_getvalue(tup, desc, 9);
		steps = lappend(steps, step);
	}

	/* every step's objects are found before any step runs */
	steps_identify(steps, phase, schema, migration);

	/* the context lives as long as the callback that points at it */
	memset(&ctx, 0, sizeof(ctx));
	errcallback.callback = steps_error_context;
	errcallback.arg = &ctx;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	foreach(lc, steps)
	{
		MigStep    *step = lfirst(lc);

		ctx.migration = migration;
		ctx.phase = phase;
		ctx.number = foreach_current_index(lc) + 1;
		ctx.step = step;
		if (step->gone)
			continue;
		if (step->kind == MIG_STEP_SQL)
			ran_sql = true;
		step_run(step, phase, schema, migration);
	}
	error_context_stack = errcallback.previous;
	return ran_sql;
}

static bool
constraint_step(MigStepKind kind)
{
	return kind == MIG_STEP_RENAME_CONSTRAINT ||
		kind == MIG_STEP_VALIDATE_CONSTRAINT ||
		kind == MIG_STEP_DROP_CONSTRAINT;
}

/*
 * Find the objects of every step by the OIDs and attribute numbers it
 * recorded, checked against the names recorded with them (see
 * state_ident.h): after a restore from a dump, or tables dropped and
 * restored, the OIDs are other objects' or nothing, and the attribute
 * numbers may differ.  The steps then run on what was found: OIDs do not
 * change while they run, whatever they rename.  Anything that cannot be
 * found is an error here, before any step has changed anything; in a
 * rollback, a step whose table is gone has nothing left to undo.
 */
static void
steps_identify(List *steps, MigPhase phase, const char *schema,
			   const char *migration)
{
	bool		native = MigIdentNative(schema, migration);
	ListCell   *lc;

	foreach(lc, steps)
	{
		MigStep    *step = lfirst(lc);
		Oid			recorded_relid = step->relid;
		Oid			relid;

		if (!OidIsValid(step->relid))
			continue;			/* raw SQL */
		relid = MigIdentRelation(step->relid, step->relname, native, "table",
								 migration);
		if (!OidIsValid(relid))
		{
			if (phase == MIG_PHASE_ROLLBACK)
			{
				step->gone = true;
				continue;
			}
			ereport(ERROR,
					errcode(ERRCODE_UNDEFINED_TABLE),
					errmsg("table %s of migration \"%s\" does not exist",
						   step->relname ? step->relname : psprintf("with OID %u", step->relid),
						   migration),
					errdetail("It was dropped while the migration was in progress."),
					errhint("Roll the migration back with mig.rollback('%s').", schema));
		}
		step->relid = relid;
		if (step->attnum != InvalidAttrNumber)
		{
			/* a rollback's column that is gone has nothing left to undo */
			step->attnum = MigIdentColumn(relid, recorded_relid, step->attnum,
										  step->attname, native, migration,
										  phase == MIG_PHASE_ROLLBACK);
			if (step->attnum == InvalidAttrNumber)
			{
				step->gone = true;
				continue;
			}
		}
		if (!OidIsValid(step->objid))
			continue;
		if (constraint_step(step->kind))
		{
			Oid			conoid = MigIdentConstraint(relid, recorded_relid, step->objid,
													step->objname, native);

			/* a rollback's constraint may have gone with its column */
			if (!OidIsValid(conoid) &&
				!(phase == MIG_PHASE_ROLLBACK && step->kind == MIG_STEP_DROP_CONSTRAINT))
				ereport(ERROR,
						errcode(ERRCODE_UNDEFINED_OBJECT),
						errmsg("constraint %s of table %s of migration \"%s\" does not exist",
							   step->objname ? quote_identifier(step->objname) :
							   psprintf("with OID %u", step->objid),
							   MigIdentRelationName(relid), migration),
						errdetail("It was dropped while the migration was in progress."),
						errhint("Roll the migration back with mig.rollback('%s').", schema));
			step->objid = conoid;
		}
		else if (step->kind == MIG_STEP_SEQUENCE_OWNER)
		{
			Oid			seqoid = MigIdentRelation(step->objid, step->objname, native,
												  "sequence", migration);

			if (!OidIsValid(seqoid))
				ereport(ERROR,
						errcode(ERRCODE_UNDEFINED_OBJECT),
						errmsg("sequence %s of migration \"%s\" does not exist",
							   step->objname ? step->objname :
							   psprintf("with OID %u", step->objid),
							   migration),
						errdetail("It was dropped while the migration was in progress."));
			step->objid = seqoid;
		}
		else
		{
			/*
			 * An index, in its table's schema.  One to drop may be gone: it
			 * was dropped, or it was not valid when the dump was taken.
			 */
			Oid			indexoid = MigIdentIndex(step->objid, step->objname,
												 get_rel_namespace(relid), native,
												 migration);

			if (!OidIsValid(indexoid) &&
				step->kind != MIG_STEP_DROP_INDEX &&
				step->kind != MIG_STEP_DROP_INDEX_CONCURRENTLY)
				ereport(ERROR,
						errcode(ERRCODE_UNDEFINED_OBJECT),
						errmsg("index %s of table %s of migration \"%s\" does not exist",
							   step->objname ? quote_identifier(step->objname) :
							   psprintf("with OID %u", step->objid),
							   MigIdentRelationName(relid), migration),
						errdetail("It was dropped while the migration was in progress."),
						errhint("Roll the migration back with mig.rollback('%s').", schema));
			step->objid = indexoid;
		}
	}
}

static char *
constraint_name(Oid conoid)
{
	HeapTuple	tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid));
	char	   *name;

	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				errcode(ERRCODE_UNDEFINED_OBJECT),
				errmsg("constraint with OID %u does not exist", conoid),
				errdetail("It was dropped while a migration was using it."));
	name = pstrdup(NameStr(((Form_pg_constraint) GETSTRUCT(tup))->conname));
	ReleaseSysCache(tup);
	return name;
}

static char *
index_name(Oid indexoid)
{
	char	   *name = get_rel_name(indexoid);

	if (name == NULL)
		ereport(ERROR,
				errcode(ERRCODE_UNDEFINED_OBJECT),
				errmsg("index with OID %u does not exist", indexoid),
				errdetail("It was dropped while a migration was using it."));
	return name;
}

/*
 * From PostgreSQL 18 on, NOT NULL is a constraint with a name, chosen from
 * the column's name when NOT NULL was set.  A shadow column is set NOT NULL
 * at complete under its internal name, before it takes the column's name:
 * its constraint would keep that name ("items__mig_new_qty_not_null").
 * After the column is renamed from internal name oldcol, give such a
 * constraint the name PostgreSQL gives a NOT NULL set on the column as it
 * is now named.
 */
static void
rename_internal_not_null(Oid relid, AttrNumber attnum, const char *oldcol)
{
	Oid			argtypes[2] = {OIDOID, INT2OID};
	Datum		values[2];
	char	   *relname;
	char	   *internal;
	char	   *conname;
	char	   *newname;
	int			pass;

	if (!MIG_NOT_NULL_IS_CONSTRAINT ||
		strncmp(oldcol, MIG_SHADOW_COLUMN_PREFIX, strlen(MIG_SHADOW_COLUMN_PREFIX)) != 0)
		return;
	values[0] = ObjectIdGetDatum(relid);
	values[1] = Int16GetDatum(attnum);
	if (SPI_execute_with_args("SELECT conname::text FROM pg_catalog.pg_constraint"
							  " WHERE conrelid = $1 AND contype = 'n'"
							  "   AND conkey = ARRAY[$2]",
							  2, argtypes, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the NOT NULL constraint of relation %u", relid);
	if (SPI_processed == 0)
		return;
	conname = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	relname = get_rel_name(relid);

	/*
	 * Named by PostgreSQL after the internal name, as ChooseConstraintName
	 * does: "not_null", else "not_null1", "not_null2", ... if taken (each
	 * truncated to fit NAMEDATALEN in its own way)?  Else someone named it:
	 * keep it.
	 */
	for (pass = 0;; pass++)
	{
		if (pass > 100)
			return;
		internal = makeObjectName(relname, oldcol,
								  pass == 0 ? "not_null" : psprintf("not_null%d", pass));
		if (strcmp(conname, internal) == 0)
			break;
	}
	newname = ChooseConstraintName(relname, get_attname(relid, attnum, false),
								   "not_null", get_rel_namespace(relid), NIL);
	MigExec(psprintf("ALTER TABLE %s RENAME CONSTRAINT %s TO %s",
					 MigQuoteTable(relid), quote_identifier(conname),
					 quote_identifier(newname)),
			relid);
}

static void
step_run(MigStep *step, MigPhase phase, const char *schema,
		 const char *migration)
{
	StringInfoData sql;
	char	   *oldcol = NULL;	/* a renamed column's name before */

	/* undoing the creation of something already gone is done */
	if (phase == MIG_PHASE_ROLLBACK && OidIsValid(step->relid) &&
		get_rel_name(step->relid) == NULL)
		return;
	if (phase == MIG_PHASE_ROLLBACK && step->kind == MIG_STEP_DROP_CONSTRAINT &&
		!SearchSysCacheExists1(CONSTROID, ObjectIdGetDatum(step->objid)))
		return;					/* it went with its column */

	initStringInfo(&sql);
	switch (step->kind)
	{
		case MIG_STEP_SQL:
			appendStringInfoString(&sql, step->text);
			break;
		case MIG_STEP_DROP_TABLE:
			appendStringInfo(&sql, "DROP TABLE %s", MigQuoteTable(step->relid));
			break;
		case MIG_STEP_RENAME_TABLE:
			appendStringInfo(&sql, "ALTER TABLE %s RENAME TO %s",
							 MigQuoteTable(step->relid), quote_identifier(step->name));
			break;
		case MIG_STEP_DROP_COLUMN:
			appendStringInfo(&sql, "ALTER TABLE %s DROP COLUMN %s",
							 MigQuoteTable(step->relid),
							 MigQuoteColumn(step->relid, step->attnum));
			break;
		case MIG_STEP_RENAME_COLUMN:
			oldcol = get_attname(step->relid, step->attnum, false);
			appendStringInfo(&sql, "ALTER TABLE %s RENAME COLUMN %s TO %s",
							 MigQuoteTable(step->relid),
							 MigQuoteColumn(step->relid, step->attnum),
							 quote_identifier(step->name));
			break;
		case MIG_STEP_RENAME_CONSTRAINT:
			appendStringInfo(&sql, "ALTER TABLE %s RENAME CONSTRAINT %s TO %s",
							 MigQuoteTable(step->relid),
							 quote_identifier(constraint_name(step->objid)),
							 quote_identifier(step->name));
			break;
		case MIG_STEP_SET_NOT_NULL:
			appendStringInfo(&sql, "ALTER TABLE %s ALTER COLUMN %s SET NOT NULL",
							 MigQuoteTable(step->relid),
							 MigQuoteColumn(step->relid, step->attnum));
			break;
		case MIG_STEP_DROP_CONSTRAINT:
			appendStringInfo(&sql, "ALTER TABLE %s DROP CONSTRAINT %s",
							 MigQuoteTable(step->relid),
							 quote_identifier(constraint_name(step->objid)));
			break;
		case MIG_STEP_VALIDATE_CONSTRAINT:
			appendStringInfo(&sql, "ALTER TABLE %s VALIDATE CONSTRAINT %s",
							 MigQuoteTable(step->relid),
							 quote_identifier(constraint_name(step->objid)));
			break;
		case MIG_STEP_RENAME_INDEX:
			appendStringInfo(&sql, "ALTER INDEX %s RENAME TO %s",
							 MigQuoteTable(step->objid), quote_identifier(step->name));
			break;
		case MIG_STEP_CONSTRAINT_USING_INDEX:
			{
				/* text: UNIQUE or PRIMARY KEY, then any DEFERRABLE clauses */
				const char *type = strncmp(step->text, "PRIMARY KEY", 11) == 0 ?
					"PRIMARY KEY" : "UNIQUE";

				/* the index takes the constraint's name first, without a NOTICE */
				if (strcmp(index_name(step->objid), step->name) != 0)
					MigExec(psprintf("ALTER INDEX %s RENAME TO %s",
									 MigQuoteTable(step->objid),
									 quote_identifier(step->name)), step->relid);
				appendStringInfo(&sql, "ALTER TABLE %s ADD CONSTRAINT %s %s USING INDEX %s%s",
								 MigQuoteTable(step->relid), quote_identifier(step->name),
								 type, quote_identifier(step->name),
								 step->text + strlen(type));
			}
			break;
		case MIG_STEP_DROP_INDEX:
			if (get_rel_name(step->objid) == NULL)
				return;
			appendStringInfo(&sql, "DROP INDEX %s", MigQuoteTable(step->objid));
			break;
		case MIG_STEP_DROP_INDEX_CONCURRENTLY:
			if (get_rel_name(step->objid) == NULL)
				return;
			/* after the commit, unless nothing can run concurrently anyway */
			if (!MigStateStartedHere(schema, migration))
			{
				MigJobAddDropIndex(schema, migration, step->relid, step->objid);
				MigWorkerLaunchAtCommit(schema);
				return;
			}
			appendStringInfo(&sql, "DROP INDEX %s", MigQuoteTable(step->objid));
			break;
		case MIG_STEP_SEQUENCE_OWNER:
			appendStringInfo(&sql, "ALTER SEQUENCE %s OWNED BY %s.%s",
							 MigQuoteTable(step->objid), MigQuoteTable(step->relid),
							 MigQuoteColumn(step->relid, step->attnum));
			break;
		case MIG_STEP_REPLICA_IDENTITY:
			if (strcmp(step->name, "INDEX") == 0)
			{
				char	   *index = get_rel_name(step->objid);

				if (index == NULL)
					ereport(ERROR,
							errcode(ERRCODE_UNDEFINED_OBJECT),
							errmsg("index with OID %u does not exist", step->objid),
							errdetail("It was the replica identity of table \"%s\" before the migration.",
									  get_rel_name(step->relid)));
				appendStringInfo(&sql, "ALTER TABLE %s REPLICA IDENTITY USING INDEX %s",
								 MigQuoteTable(step->relid), quote_identifier(index));
			}
			else
				appendStringInfo(&sql, "ALTER TABLE %s REPLICA IDENTITY %s",
								 MigQuoteTable(step->relid), step->name);
			break;
		default:
			elog(ERROR, "unrecognized migration step kind \"%s\"", step->kind_name);
	}

	MigExec(sql.data, step->relid);
	pfree(sql.data);
	if (oldcol != NULL)
		rename_internal_not_null(step->relid, step->attnum, oldcol);
}

void
MigStepsIndexMoved(const char *schema, const char *migration, Oid oldoid,
				   Oid newoid, const char *name)
{
	Oid			argtypes[4] = {NAMEOID, TEXTOID, OIDOID, OIDOID};
	Datum		values[4];
	MigOwnerSave save;

	values[0] = DirectFunctionCall1(namein, CStringGetDatum(schema));
	values[1] = CStringGetTextDatum(migration);
	values[2] = ObjectIdGetDatum(oldoid);
	values[3] = ObjectIdGetDatum(newoid);
	MigAsExtensionOwner(&save);
	if (SPI_execute_with_args("UPDATE mig.steps"
							  " SET step = pg_catalog.jsonb_set(step, '{objid}', pg_catalog.to_jsonb($4))"
							  " WHERE schema = $1 AND migration = $2 AND (step->>'objid')::oid = $3",
							  4, argtypes, values, NULL, false, 0) < 0)
		elog(ERROR, "could not record the new OID of index \"%s\"", name);
	MigAsCaller(&save);
}
