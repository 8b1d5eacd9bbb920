/*-------------------------------------------------------------------------
 *
 * dual_write.c
 *		The dual-write trigger (mig.dual_write) and its compiled rules.
 *
 *		One BEFORE INSERT OR UPDATE row trigger per migrated table.  For a
 *		writer of the old version it computes every new column from its
 *		"up" expression; for a writer of the new version it computes every
 *		old column from its "down" expression.
 *
 *		The rules are read from mig.dual_writes and compiled once per
 *		backend and table: each expression is parsed, its column references
 *		resolved by the parser against the columns as the version names them
 *		(an alias list on the table's range table entry, so a column "path"
 *		never touches a function "subpath"), coerced to the target column's
 *		type, planned and turned into an ExprState.  The compiled rules are
 *		kept until the relation changes (relcache invalidation), so the
 *		per-row path does no catalog lookup, no SPI call and no string work:
 *		it evaluates the expressions over the new row and replaces the target
 *		columns.
 *
 *		Which version is writing: migrate_ext.version when set, otherwise the
 *		session's search_path, parsed (the first entry that is the new
 *		version, the old version or the base schema decides), so
 *		"public_02_x, public" and "\"public_02_x\"" are the new version.  The
 *		parsed answer is cached against the search_path string.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_relation.h"
#include "parser/parser.h"
#include "rewrite/rewriteManip.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "dual_write.h"
#include "migrate_ext.h"
#include "rule_compile.h"
#include "version_ready.h"

PG_FUNCTION_INFO_V1(mig_dual_write);

bool		MigBackfillWriting = false;

/*
 * The rules of one direction, in the order they run.  A rule that reads a
 * column an earlier rule writes (a column changed twice in one migration,
 * or an added column computed from an altered one) starts a new stage: it
 * sees the row as the rules before it left it.
 */
typedef struct DualWriteRules
{
	bool		compiled;
	int			count;
	List	   *names;			/* per rule: List of column names by attnum */
	int		   *targets;		/* columns the rules write */
	MigCompiledRule *rules;
	bool	   *new_stage;		/* rule i reads what an earlier one wrote */
	char	  **sources;		/* expression text, for error context */
	Datum	   *values;			/* room for one row's results */
	bool	   *nulls;
} DualWriteRules;

typedef struct DualWriteEntry
{
	Oid			relid;			/* hash key */
	bool		valid;
	MemoryContext cxt;			/* everything below lives here */
	char	   *base_schema;
	char	   *old_version;
	char	   *new_version;
	DualWriteRules up;
	DualWriteRules down;
	ExprContext *econtext;
	TupleDesc	desc;			/* a copy of the table's descriptor */
	TupleTableSlot *slot;		/* the row between stages */
	ParamListInfo params;		/* the row's columns, for rules with a query */
	List	   *deps;			/* other relations the rules' queries read */
	char	   *path;			/* search_path the answer below is for */
	bool		path_is_new;
} DualWriteEntry;

typedef struct RuleErrorContext
{
	Relation	rel;
	const char *direction;
	const char *source;
	AttrNumber	target;
} RuleErrorContext;

static HTAB *dual_write_cache = NULL;

static void dual_write_invalidate(Datum arg, Oid relid);
static void dual_write_invalidate_all(Datum arg, int cacheid, uint32 hashvalue);
static DualWriteEntry *dual_write_entry(Relation rel);
static void dual_write_load(DualWriteEntry *entry, Relation rel);
static bool writer_is_new(DualWriteEntry *entry);
static void rule_error_context(void *arg);
static void rules_alloc(DualWriteRules *rules, int n);
static void rules_compile(DualWriteEntry *entry, DualWriteRules *rules,
						  Relation rel, const char *direction);

void
MigDualWriteInit(void)
{
	HASHCTL		ctl;

	if (dual_write_cache != NULL)
		return;
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(DualWriteEntry);
	ctl.hcxt = CacheMemoryContext;
	dual_write_cache = hash_create("migrate_ext dual-write rules", 16, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	CacheRegisterRelcacheCallback(dual_write_invalidate, (Datum) 0);
	/* a rule may call, or have inlined, a function that is redefined */
	CacheRegisterSyscacheCallback(PROCOID, dual_write_invalidate_all, (Datum) 0);
}

static void
dual_write_invalidate_all(Datum arg, int cacheid, uint32 hashvalue)
{
	dual_write_invalidate(arg, InvalidOid);
}

static void
dual_write_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	DualWriteEntry *entry;

	if (dual_write_cache == NULL)
		return;
	hash_seq_init(&status, dual_write_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (!OidIsValid(relid) || entry->relid == relid ||
			list_member_oid(entry->deps, relid))
			entry->valid = false;
	}
}

static void
rules_alloc(DualWriteRules *rules, int n)
{
	rules->compiled = false;
	rules->count = 0;
	rules->names = NIL;
	rules->targets = palloc0(sizeof(int) * (n + 1));
	rules->rules = palloc0(sizeof(MigCompiledRule) * (n + 1));
	rules->new_stage = palloc0(sizeof(bool) * (n + 1));
	rules->sources = palloc0(sizeof(char *) * (n + 1));
	rules->values = palloc0(sizeof(Datum) * (n + 1));
	rules->nulls = palloc0(sizeof(bool) * (n + 1));
}

/* Read and compile the rules of a table. */
static void
dual_write_load(DualWriteEntry *entry, Relation rel)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(RelationGetRelid(rel))};
	MemoryContext oldcxt;
	uint64		i;
	uint64		n;

	if (entry->cxt != NULL)
		MemoryContextDelete(entry->cxt);
	entry->cxt = AllocSetContextCreate(CacheMemoryContext,
									   "migrate_ext dual-write rules",
									   ALLOCSET_SMALL_SIZES);
	MemoryContextSetIdentifier(entry->cxt, RelationGetRelationName(rel));
	entry->up.count = entry->down.count = 0;
	entry->path = NULL;
	entry->deps = NIL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT d.schema::text, d.old_version, d.new_version,"
							  " r->>'direction', (r->>'target')::int4, r->>'sql',"
							  " ARRAY(SELECT pg_catalog.jsonb_array_elements_text(r->'names'))"
							  " FROM mig.dual_writes d,"
							  " pg_catalog.jsonb_array_elements(d.rules) WITH ORDINALITY AS e(r, n)"
							  " WHERE d.relid = $1 ORDER BY e.n",
							  1, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the dual-write rules of relation %u",
			 RelationGetRelid(rel));
	n = SPI_processed;

	oldcxt = MemoryContextSwitchTo(entry->cxt);
	entry->econtext = CreateStandaloneExprContext();
	entry->desc = CreateTupleDescCopy(RelationGetDescr(rel));
	entry->slot = MakeSingleTupleTableSlot(entry->desc, &TTSOpsHeapTuple);
	entry->params = makeParamList(entry->desc->natts);
	for (i = 0; i < entry->desc->natts; i++)
	{
		entry->params->params[i].ptype = TupleDescAttr(entry->desc, i)->atttypid;
		entry->params->params[i].pflags = PARAM_FLAG_CONST;
		entry->params->params[i].isnull = true;
	}
	rules_alloc(&entry->up, n);
	rules_alloc(&entry->down, n);

	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *direction = SPI_getvalue(tup, desc, 4);
		AttrNumber	target = DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
		char	   *sql = SPI_getvalue(tup, desc, 6);
		ArrayType  *arr = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 7, &isnull));
		Datum	   *elems;
		bool	   *elemnulls;
		int			nelems;
		List	   *names = NIL;
		int			j;
		DualWriteRules *rules = strcmp(direction, "up") == 0 ? &entry->up : &entry->down;
		if (i == 0)
		{
			entry->base_schema = SPI_getvalue(tup, desc, 1);
			entry->old_version = SPI_getvalue(tup, desc, 2);
			entry->new_version = SPI_getvalue(tup, desc, 3);
		}
		deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &elemnulls, &nelems);
		for (j = 0; j < nelems; j++)
			names = lappend(names, elemnulls[j] ? NULL : TextDatumGetCString(elems[j]));

		rules->names = lappend(rules->names, names);
		rules->targets[rules->count] = target;
		rules->sources[rules->count] = pstrdup(sql);
		rules->count++;
	}
	MemoryContextSwitchTo(oldcxt);
	SPI_finish();
	entry->valid = true;
}

/*
 * Compile one direction's rules on first use: a rule that does not compile
 * (accepted with migrate_ext.strict_expressions off) then fails only the
 * writes that need it, as in pgroll.
 */
static void
rules_compile(DualWriteEntry *entry, DualWriteRules *rules, Relation rel,
			  const char *direction)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(entry->cxt);
	Bitmapset  *written = NULL;
	int			i;

	for (i = 0; i < rules->count; i++)
	{
		RuleErrorContext ectx = {rel, direction, rules->sources[i], rules->targets[i]};
		ErrorContextCallback errcallback;
		MigCompiledRule *rule = &rules->rules[i];

		errcallback.callback = rule_error_context;
		errcallback.arg = &ectx;
		errcallback.previous = error_context_stack;
		error_context_stack = &errcallback;
		MigCompileRule(rel, entry->base_schema, rules->sources[i],
					   list_nth(rules->names, i),
					   rules->targets[i], rule);
		error_context_stack = errcallback.previous;

		if (rule->plan != NULL)
		{
			ListCell   *lc;

			foreach(lc, rule->plan->relationOids)
				entry->deps = list_append_unique_oid(entry->deps, lfirst_oid(lc));
		}
		rules->new_stage[i] = bms_overlap(rule->reads, written);
		if (rules->new_stage[i])
			written = NULL;
		written = bms_add_member(written, rules->targets[i]);
	}
	MemoryContextSwitchTo(oldcxt);
	rules->compiled = true;
}

static DualWriteEntry *
dual_write_entry(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	DualWriteEntry *entry;
	bool		found;

	MigDualWriteInit();
	entry = hash_search(dual_write_cache, &relid, HASH_ENTER, &found);
	if (!found)
	{
		entry->cxt = NULL;
		entry->valid = false;
	}
	if (!entry->valid)
	{
		PG_TRY();
		{
			dual_write_load(entry, rel);
		}
		PG_CATCH();
		{
			entry->valid = false;
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	return entry;
}

/* Is the session writing through the new version? */
static bool
writer_is_new(DualWriteEntry *entry)
{
	char	   *rawpath;
	List	   *elems;
	ListCell   *lc;
	bool		is_new = false;

	if (MigBackfillWriting)
		return false;
	if (mig_version != NULL && mig_version[0] != '\0')
		return strcmp(mig_version, entry->new_version) == 0;
	if (entry->path != NULL && strcmp(entry->path, namespace_search_path) == 0)
		return entry->path_is_new;

	rawpath = pstrdup(namespace_search_path);
	if (SplitIdentifierString(rawpath, ',', &elems))
	{
		foreach(lc, elems)
		{
			const char *name = lfirst(lc);

			if (strcmp(name, entry->new_version) == 0)
			{
				is_new = true;
				break;
			}
			if (strcmp(name, entry->old_version) == 0 ||
				strcmp(name, entry->base_schema) == 0)
				break;
		}
	}
	if (entry->path != NULL)
		pfree(entry->path);
	entry->path = MemoryContextStrdup(entry->cxt, namespace_search_path);
	entry->path_is_new = is_new;
	return is_new;
}

static void
rule_error_context(void *arg)
{
	RuleErrorContext *ctx = (RuleErrorContext *) arg;
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(ctx->rel), ctx->target - 1);

	errcontext("%s expression \"%s\" for column \"%s\" of table \"%s\"",
			   ctx->direction, ctx->source, NameStr(att->attname),
			   RelationGetRelationName(ctx->rel));
}

/*
 * Run a direction's rules on a row (slot holds it): the row as they leave
 * it, in the current memory context.
 */
static HeapTuple
apply_rules(DualWriteEntry *entry, DualWriteRules *rules, Relation rel,
			HeapTuple tuple, TupleTableSlot *slot)
{
	const char *direction = rules == &entry->up ? "up" : "down";
	HeapTuple	result;
	int			first;
	int			i;

	if (!rules->compiled)
		rules_compile(entry, rules, rel, direction);

	result = tuple;
	first = 0;
	entry->econtext->ecxt_scantuple = slot;
	for (i = 0; i < rules->count; i++)
	{
		RuleErrorContext ectx = {rel, direction, rules->sources[i], rules->targets[i]};
		ErrorContextCallback errcallback;
		MigCompiledRule *rule = &rules->rules[i];

		if (rules->new_stage[i])
		{
			/* the rules so far write their columns before this one reads */
			result = heap_modify_tuple_by_cols(result, entry->desc, i - first,
											   rules->targets + first,
											   rules->values + first,
											   rules->nulls + first);
			ExecStoreHeapTuple(result, entry->slot, false);
			entry->econtext->ecxt_scantuple = entry->slot;
			first = i;
		}

		errcallback.callback = rule_error_context;
		errcallback.arg = &ectx;
		errcallback.previous = error_context_stack;
		error_context_stack = &errcallback;
		if (rule->expr != NULL)
			rules->values[i] = ExecEvalExprSwitchContext(rule->expr,
														 entry->econtext,
														 &rules->nulls[i]);
		else
			rules->values[i] = MigRunRuleQuery(rule,
											   entry->econtext->ecxt_scantuple,
											   entry->params, &rules->nulls[i]);
		error_context_stack = errcallback.previous;
	}
	result = heap_modify_tuple_by_cols(result, entry->desc, rules->count - first,
									   rules->targets + first,
									   rules->values + first,
									   rules->nulls + first);
	ExecClearTuple(entry->slot);
	ResetExprContext(entry->econtext);
	return result;
}

HeapTuple
MigDualWriteUp(Relation rel, HeapTuple tuple, TupleTableSlot *slot)
{
	DualWriteEntry *entry = dual_write_entry(rel);

	if (entry->up.count == 0)
		return tuple;
	return apply_rules(entry, &entry->up, rel, tuple, slot);
}

Datum
mig_dual_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	DualWriteEntry *entry;
	DualWriteRules *rules;
	HeapTuple	tuple;
	TupleTableSlot *slot;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		ereport(ERROR,
				errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				errmsg("function mig.dual_write() must be fired BEFORE INSERT OR UPDATE FOR EACH ROW"));

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		tuple = trigdata->tg_newtuple;
		slot = trigdata->tg_newslot;
	}
	else
	{
		tuple = trigdata->tg_trigtuple;
		slot = trigdata->tg_trigslot;
	}

	entry = dual_write_entry(trigdata->tg_relation);
	rules = writer_is_new(entry) ? &entry->down : &entry->up;

	/* the new version must not update a row the backfill has not reached */
	if (rules == &entry->down && TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		MigVersionReadyCheckRow(trigdata->tg_relation, trigdata->tg_trigtuple,
								entry->new_version);

	if (rules->count == 0)
		return PointerGetDatum(tuple);
	return PointerGetDatum(apply_rules(entry, rules, trigdata->tg_relation,
									   tuple, slot));
}
