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
#include "utils/varlena.h"

#include "dual_write.h"
#include "migrate_ext.h"

PG_FUNCTION_INFO_V1(mig_dual_write);

bool		MigBackfillWriting = false;

typedef struct DualWriteRules
{
	bool		compiled;
	int			count;
	List	   *names;			/* per rule: List of column names by attnum */
	int		   *targets;		/* columns the rules write */
	ExprState **exprs;
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
static DualWriteEntry *dual_write_entry(Relation rel);
static void dual_write_load(DualWriteEntry *entry, Relation rel);
static bool writer_is_new(DualWriteEntry *entry);
static Node *unwrap_select(Node *node);
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
}

static void
dual_write_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	DualWriteEntry *entry;

	if (dual_write_cache == NULL)
		return;
	if (OidIsValid(relid))
	{
		entry = hash_search(dual_write_cache, &relid, HASH_FIND, NULL);
		if (entry != NULL)
			entry->valid = false;
		return;
	}
	hash_seq_init(&status, dual_write_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
		entry->valid = false;
}

/*
 * pgroll writes expressions either plainly or as "SELECT expr"; a scalar
 * subquery that is nothing but a target list is the expression itself.
 */
static Node *
unwrap_select(Node *node)
{
	while (node != NULL && IsA(node, SubLink))
	{
		SubLink    *sublink = (SubLink *) node;
		SelectStmt *select = (SelectStmt *) sublink->subselect;

		if (sublink->subLinkType != EXPR_SUBLINK || !IsA(select, SelectStmt) ||
			select->op != SETOP_NONE || select->fromClause != NIL ||
			select->whereClause != NULL || select->groupClause != NIL ||
			select->havingClause != NULL || select->windowClause != NIL ||
			select->distinctClause != NIL || select->sortClause != NIL ||
			select->limitCount != NULL || select->limitOffset != NULL ||
			select->withClause != NULL || select->valuesLists != NIL ||
			select->intoClause != NULL || list_length(select->targetList) != 1)
			break;
		node = ((ResTarget *) linitial(select->targetList))->val;
	}
	return node;
}

ExprState *
MigCompileRule(Relation rel, const char *sql, List *names, AttrNumber target)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Form_pg_attribute att = TupleDescAttr(desc, target - 1);
	char	   *query = psprintf("SELECT (%s)", sql);
	List	   *raw;
	SelectStmt *select;
	Node	   *node;
	ParseState *pstate;
	ParseNamespaceItem *nsitem;
	List	   *colnames = NIL;
	Oid			type;
	int			i;

	raw = raw_parser(query, RAW_PARSE_DEFAULT);
	select = (SelectStmt *) linitial_node(RawStmt, raw)->stmt;
	if (list_length(raw) != 1 || !IsA(select, SelectStmt) ||
		select->fromClause != NIL || select->whereClause != NULL ||
		list_length(select->targetList) != 1 || select->op != SETOP_NONE)
		ereport(ERROR,
				errcode(ERRCODE_SYNTAX_ERROR),
				errmsg("expression \"%s\" is not a single SQL expression", sql));
	node = unwrap_select(((ResTarget *) linitial(select->targetList))->val);

	/* the columns under the names the version gives them */
	for (i = 0; i < desc->natts; i++)
	{
		char	   *name = i < list_length(names) ? list_nth(names, i) : NULL;

		/* aliases name the live columns only */
		if (TupleDescAttr(desc, i)->attisdropped)
			continue;
		colnames = lappend(colnames, makeString(pstrdup(name ? name : "")));
	}

	pstate = make_parsestate(NULL);
	pstate->p_sourcetext = query;
	nsitem = addRangeTableEntryForRelation(pstate, rel, AccessShareLock,
										   makeAlias(RelationGetRelationName(rel), colnames),
										   false, false);
	addNSItemToQuery(pstate, nsitem, false, true, true);

	node = transformExpr(pstate, node, EXPR_KIND_OTHER);
	if (pstate->p_hasAggs || pstate->p_hasWindowFuncs || pstate->p_hasTargetSRFs)
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("expression \"%s\" must not use aggregate, window or set-returning functions",
					   sql));
	if (checkExprHasSubLink(node))
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("subqueries in expression \"%s\" are not supported yet", sql),
				errhint("Write the expression without a subquery, or in a function."));

	type = exprType(node);
	node = coerce_to_target_type(pstate, node, type, att->atttypid, att->atttypmod,
								 COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);
	if (node == NULL)
		ereport(ERROR,
				errcode(ERRCODE_DATATYPE_MISMATCH),
				errmsg("expression \"%s\" is of type %s but column \"%s\" is of type %s",
					   sql, format_type_be(type), NameStr(att->attname),
					   format_type_be(att->atttypid)));
	assign_expr_collations(pstate, node);
	free_parsestate(pstate);

	return ExecInitExpr(expression_planner((Expr *) node), NULL);
}

static void
rules_alloc(DualWriteRules *rules, int n)
{
	rules->compiled = false;
	rules->count = 0;
	rules->names = NIL;
	rules->targets = palloc0(sizeof(int) * (n + 1));
	rules->exprs = palloc0(sizeof(ExprState *) * (n + 1));
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
	int			i;

	for (i = 0; i < rules->count; i++)
	{
		RuleErrorContext ectx = {rel, direction, rules->sources[i], rules->targets[i]};
		ErrorContextCallback errcallback;

		errcallback.callback = rule_error_context;
		errcallback.arg = &ectx;
		errcallback.previous = error_context_stack;
		error_context_stack = &errcallback;
		rules->exprs[i] = MigCompileRule(rel, rules->sources[i],
										 list_nth(rules->names, i),
										 rules->targets[i]);
		error_context_stack = errcallback.previous;
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

Datum
mig_dual_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	DualWriteEntry *entry;
	DualWriteRules *rules;
	HeapTuple	tuple;
	TupleTableSlot *slot;
	HeapTuple	result;
	int			i;

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
	if (rules->count == 0)
		return PointerGetDatum(tuple);
	if (!rules->compiled)
		rules_compile(entry, rules, trigdata->tg_relation,
					  rules == &entry->up ? "up" : "down");

	entry->econtext->ecxt_scantuple = slot;
	for (i = 0; i < rules->count; i++)
	{
		RuleErrorContext ectx = {trigdata->tg_relation,
			rules == &entry->up ? "up" : "down",
		rules->sources[i], rules->targets[i]};
		ErrorContextCallback errcallback;

		errcallback.callback = rule_error_context;
		errcallback.arg = &ectx;
		errcallback.previous = error_context_stack;
		error_context_stack = &errcallback;
		rules->values[i] = ExecEvalExprSwitchContext(rules->exprs[i],
													 entry->econtext,
													 &rules->nulls[i]);
		error_context_stack = errcallback.previous;
	}
	result = heap_modify_tuple_by_cols(tuple, RelationGetDescr(trigdata->tg_relation),
									   rules->count, rules->targets,
									   rules->values, rules->nulls);
	ResetExprContext(entry->econtext);
	return PointerGetDatum(result);
}
