/*-------------------------------------------------------------------------
 *
 * dual_write_setup.c
 *		Install a migration's dual-write triggers at start, and remove them
 *		at complete and rollback.
 *
 *		At start, every up and down expression is compiled against the
 *		version it reads, so a mistake (a syntax error, an unknown column, a
 *		type that does not fit) fails start instead of the first write in
 *		production; with migrate_ext.strict_expressions off it is a warning,
 *		as pgroll accepts such a migration.  An expression that reads a
 *		stored generated column, or computes one, is refused in any case
 *		(the trigger runs before PostgreSQL computes them).  Then each table
 *		gets its rules in mig.dual_writes, one ENABLE ALWAYS trigger (so it
 *		still fires for the backfill, which runs as the replication role
 *		"replica"), and, if it has up rules, a backfill starting from a
 *		snapshot taken while the table is locked against writers.
 *
 *		The trigger is named so that it fires after the table's own BEFORE
 *		row triggers (MIG_TRIGGER_NAME): it computes the other version's
 *		columns from the row as they leave it.  A BEFORE INSERT or UPDATE
 *		row trigger whose name sorts after it would change the row after
 *		that, and the versions would disagree: start refuses it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"

#include "backfill_snapshot.h"
#include "backfill_storage.h"
#include "ddl.h"
#include "dual_write.h"
#include "dual_write_setup.h"
#include "jobs.h"
#include "model.h"
#include "names.h"
#include "rule_compile.h"
#include "security.h"
#include "settings.h"
#include "spi_exec.h"
#include "state_ident.h"
#include "subxact.h"

static void check_rule(MigPlan *plan, MigRule *rule);
static void refuse_generated(MigPlan *plan, MigRule *rule, Relation rel,
							 MigCompiledRule *compiled);
static char *rules_json(List *rules, Oid relid);
static void install_table(MigPlan *plan, Oid relid);
static void check_trigger_order(MigPlan *plan, Oid relid);

/* true while MigDualWriteRemove drops a dual-write trigger */
static bool removing = false;

/* MigCompileRule, in a subtransaction */
typedef struct CompileRuleArgs
{
	Relation	rel;
	const char *schema;
	MigRule    *rule;
	MigCompiledRule *compiled;
} CompileRuleArgs;

static void
compile_rule_run(void *arg)
{
	CompileRuleArgs *args = (CompileRuleArgs *) arg;

	MigCompileRule(args->rel, args->schema, args->rule->sql,
				   args->rule->names, args->rule->target, args->compiled);
}

/*
 * Compile a rule in a subtransaction, so that with strict expressions off
 * its error becomes a warning.
 */
static void
check_rule(MigPlan *plan, MigRule *rule)
{
	Relation	rel = relation_open(rule->relid, AccessShareLock);
	const char *direction = rule->up ? "up" : "down";
	MigCompiledRule compiled;
	CompileRuleArgs args;
	ErrorData  *edata;

	args.rel = rel;
	args.schema = plan->schema;
	args.rule = rule;
	args.compiled = &compiled;
	edata = MigSubxactRun(compile_rule_run, &args);
	if (edata != NULL)
	{
		ereport(mig_strict_expressions ? ERROR : WARNING,
				errcode(edata->sqlerrcode),
				errmsg("invalid %s expression \"%s\" in operations[%d] (%s) of migration \"%s\": %s",
					   direction, rule->sql, rule->op->index,
					   MigOpKindName(rule->op->kind), plan->migration->name,
					   edata->message),
				errdetail("The expression computes column \"%s\" of table \"%s\".",
						  rule->target_name, RelationGetRelationName(rel)),
				mig_strict_expressions ?
				errhint("Fix the expression, or set \"%s\" to off to accept it as pgroll does; writes that need it will then fail.",
						"migrate_ext.strict_expressions") :
				errhint("Writes that need this expression will fail until the migration is rolled back."));
		FreeErrorData(edata);
	}
	else
		refuse_generated(plan, rule, rel, &compiled);
	relation_close(rel, AccessShareLock);
}

/*
 * PostgreSQL computes a stored generated column after the BEFORE row
 * triggers, and a virtual one (PostgreSQL 18) only when a query reads it:
 * the dual-write trigger would see it NULL on INSERT and stale on UPDATE
 * (a virtual one NULL always), so an up or down expression that reads one would be computed
 * wrongly by every write (and rightly by the backfill), and a value the
 * trigger computed for one would be overwritten.  Refused, whatever
 * migrate_ext.strict_expressions says: these are wrong values, not a
 * mistake the writes would report.
 */
static void
refuse_generated(MigPlan *plan, MigRule *rule, Relation rel,
				 MigCompiledRule *compiled)
{
	TupleDesc	desc = RelationGetDescr(rel);
	const char *direction = rule->up ? "up" : "down";
	int			x = -1;

	if (rule->target > 0 && rule->target <= desc->natts &&
		TupleDescAttr(desc, rule->target - 1)->attgenerated)
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("%s expression \"%s\" in operations[%d] (%s) of migration \"%s\" would compute generated column \"%s\" of table \"%s\"",
					   direction, rule->sql, rule->op->index,
					   MigOpKindName(rule->op->kind), plan->migration->name,
					   NameStr(TupleDescAttr(desc, rule->target - 1)->attname),
					   RelationGetRelationName(rel)),
				errdetail("PostgreSQL computes a generated column itself, after the dual-write trigger has run, and would overwrite the expression's value."),
				errhint("Leave the expression out: PostgreSQL computes the column from its generation expression on every write."));

	while ((x = bms_next_member(compiled->reads, x)) >= 0)
	{
		Form_pg_attribute att;

		if (x < 1 || x > desc->natts)
			continue;
		att = TupleDescAttr(desc, x - 1);
		if (att->attisdropped || att->attgenerated == '\0')
			continue;
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("%s expression \"%s\" in operations[%d] (%s) of migration \"%s\" reads generated column \"%s\" of table \"%s\"",
					   direction, rule->sql, rule->op->index,
					   MigOpKindName(rule->op->kind), plan->migration->name,
					   NameStr(att->attname), RelationGetRelationName(rel)),
				att->attgenerated == ATTRIBUTE_GENERATED_STORED ?
				errdetail("PostgreSQL computes a stored generated column after the dual-write trigger has run, so the trigger would see it NULL on INSERT and out of date on UPDATE.") :
				errdetail("A virtual generated column (PostgreSQL 18) has no value in the row the dual-write trigger sees: it is computed only when a query reads it."),
				errhint("Write the expression over the columns the generated column is computed from, repeating its generation expression."));
	}
}

/*
 * The rules of one table as a JSON array (see mig.dual_writes), in the
 * order the trigger runs them: up rules in the order of their operations,
 * down rules in reverse, so that a column changed twice in one migration
 * goes old -> first change -> second change one way and back the other.
 */
static char *
rules_json(List *rules, Oid relid)
{
	StringInfoData buf;
	List	   *ups = NIL;
	List	   *downs = NIL;
	ListCell   *lc;
	int			n = 0;

	foreach(lc, rules)
	{
		MigRule    *rule = lfirst(lc);

		if (rule->relid != relid)
			continue;
		if (rule->up)
			ups = lappend(ups, rule);
		else
			downs = lcons(rule, downs);
	}

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	foreach(lc, list_concat(ups, downs))
	{
		MigRule    *rule = lfirst(lc);
		ListCell   *nc;

		appendStringInfo(&buf, "%s{\"direction\": \"%s\", \"target\": %d, \"sql\": ",
						 n++ > 0 ? ", " : "", rule->up ? "up" : "down", rule->target);
		escape_json(&buf, rule->sql);
		appendStringInfoString(&buf, ", \"names\": [");
		foreach(nc, rule->names)
		{
			char	   *name = lfirst(nc);

			if (foreach_current_index(nc) > 0)
				appendStringInfoString(&buf, ", ");
			if (name)
				escape_json(&buf, name);
			else
				appendStringInfoString(&buf, "null");
		}
		appendStringInfoString(&buf, "]}");
	}
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

static void
install_table(MigPlan *plan, Oid relid)
{
	char	   *qtable = MigQuoteTable(relid);
	bool		backfill = false;
	ListCell   *lc;
	Oid			argtypes[6] = {OIDOID, NAMEOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[6];
	MigOwnerSave save;

	foreach(lc, plan->rules)
	{
		MigRule    *rule = lfirst(lc);

		if (rule->relid == relid && rule->up)
			backfill = true;
	}

	MigExec(psprintf("CREATE TRIGGER %s BEFORE INSERT OR UPDATE ON %s"
					 " FOR EACH ROW EXECUTE FUNCTION mig.dual_write()",
					 quote_identifier(MIG_TRIGGER_NAME), qtable), relid);
	MigExec(psprintf("ALTER TABLE %s ENABLE ALWAYS TRIGGER %s",
					 qtable, quote_identifier(MIG_TRIGGER_NAME)), relid);
	/* after CREATE TRIGGER: its lock keeps others from creating one now */
	check_trigger_order(plan, relid);

	values[0] = ObjectIdGetDatum(relid);
	values[1] = DirectFunctionCall1(namein, CStringGetDatum(plan->schema));
	values[2] = CStringGetTextDatum(plan->migration->name);
	values[3] = CStringGetTextDatum(plan->old_version);
	values[4] = CStringGetTextDatum(plan->new_version);
	values[5] = CStringGetTextDatum(rules_json(plan->rules, relid));
	MigAsExtensionOwner(&save);
	MigSpiExec("INSERT INTO mig.dual_writes"
			   " (relid, schema, migration, old_version, new_version, rules)"
			   " VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
			   6, argtypes, values, NULL, false, SPI_OK_INSERT,
			   "could not record dual-write rules");
	MigAsCaller(&save);

	if (backfill)
	{
		Relation	rel = relation_open(relid, AccessShareLock);
		int64		blocks = (int64) RelationGetNumberOfBlocks(rel);
		int64		rows = rel->rd_rel->reltuples >= 0 ?
			(int64) rel->rd_rel->reltuples : -1;

		relation_close(rel, AccessShareLock);
		/* the trigger creation above keeps writers out: rows up to here predate it */
		MigJobAddBackfill(plan, relid, MigBackfillSnapshot(), blocks, rows);
		MigBackfillRecordStorage(plan->schema, plan->migration->name,
								 plan->job_seq, relid);
	}
}

/*
 * Refuse a table with a BEFORE INSERT or UPDATE row trigger that fires after
 * the dual-write trigger (trigger.c fires them in strcmp order of names):
 * it could change the row after the other version's columns were computed
 * from it.  Disabled ones too, as they can be enabled at any time.  Called
 * once the dual-write trigger exists: CREATE TRIGGER's lock, held to the
 * end of the transaction, keeps a concurrent session from creating one
 * that neither this check nor the event trigger (which cannot see this
 * uncommitted migration) would catch.
 */
static void
check_trigger_order(MigPlan *plan, Oid relid)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	TriggerDesc *trigdesc = rel->trigdesc;
	int			i;

	for (i = 0; trigdesc != NULL && i < trigdesc->numtriggers; i++)
	{
		Trigger    *trigger = &trigdesc->triggers[i];

		if (TRIGGER_FOR_ROW(trigger->tgtype) &&
			TRIGGER_FOR_BEFORE(trigger->tgtype) &&
			(TRIGGER_FOR_INSERT(trigger->tgtype) ||
			 TRIGGER_FOR_UPDATE(trigger->tgtype)) &&
			strcmp(trigger->tgname, MIG_TRIGGER_NAME) > 0)
			ereport(ERROR,
					errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					errmsg("migration \"%s\" cannot keep table %s in step: its trigger \"%s\" would fire after the dual-write trigger",
						   plan->migration->name, MigQuoteTable(relid),
						   trigger->tgname),
					errdetail("PostgreSQL fires the BEFORE row triggers of a table in the byte order of their names, and a BEFORE INSERT or UPDATE row trigger named after \"%s\" could change a row after the dual-write trigger computed the other version's columns from it.",
							  MIG_TRIGGER_NAME),
					errhint("Rename the trigger with ALTER TRIGGER %s ON %s RENAME TO a name that sorts before \"%s\" (any name of ASCII letters, digits and underscores does), then start the migration again.",
							quote_identifier(trigger->tgname),
							MigQuoteTable(relid), MIG_TRIGGER_NAME));
	}
	relation_close(rel, AccessShareLock);
}

void
MigDualWriteInstall(MigPlan *plan)
{
	List	   *relids = NIL;
	ListCell   *lc;

	foreach(lc, plan->rules)
	{
		MigRule    *rule = lfirst(lc);

		check_rule(plan, rule);
		relids = list_append_unique_oid(relids, rule->relid);
	}
	foreach(lc, relids)
		install_table(plan, lfirst_oid(lc));
}

bool
MigDualWriteRemoving(void)
{
	return removing;
}

void
MigDualWriteRemove(const char *schema, const char *migration)
{
	Oid			argtypes[2] = {NAMEOID, TEXTOID};
	Datum		values[2];
	List	   *volatile relids = NIL;	/* read across PG_TRY below */
	List	   *volatile relnames = NIL;
	ListCell   *lc;
	ListCell   *nc;
	uint64		i;
	MigOwnerSave save;
	bool		native = MigIdentNative(schema, migration);

	values[0] = DirectFunctionCall1(namein, CStringGetDatum(schema));
	values[1] = CStringGetTextDatum(migration);
	MigSpiExec("SELECT relid, relname FROM mig.dual_writes"
			   " WHERE schema = $1 AND migration = $2",
			   2, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read dual-write rules");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		relids = lappend_oid(relids,
							 DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
															SPI_tuptable->tupdesc,
															1, &isnull)));
		relnames = lappend(relnames, SPI_getvalue(SPI_tuptable->vals[i],
												  SPI_tuptable->tupdesc, 2));
	}
	forboth(lc, relids, nc, relnames)
	{
		/* the table by its recorded name: after a restore its OID is another's */
		Oid			relid = MigIdentRelation(lfirst_oid(lc), lfirst(nc), native,
											 "table", migration);

		if (!OidIsValid(relid))
			continue;
		/* event_guard.c lets this DROP TRIGGER through */
		removing = true;
		PG_TRY();
		{
			MigExec(psprintf("DROP TRIGGER IF EXISTS %s ON %s",
							 quote_identifier(MIG_TRIGGER_NAME), MigQuoteTable(relid)),
					relid);
		}
		PG_FINALLY();
		{
			removing = false;
		}
		PG_END_TRY();
	}

	MigAsExtensionOwner(&save);
	MigSpiExec("DELETE FROM mig.dual_writes WHERE schema = $1 AND migration = $2",
			   2, argtypes, values, NULL, false, SPI_OK_DELETE,
			   "could not forget dual-write rules");
	MigAsCaller(&save);
	MigJobsForget(schema, migration);
}
