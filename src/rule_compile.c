/*-------------------------------------------------------------------------
 *
 * rule_compile.c
 *		Compile up and down expressions, and evaluate those with a subquery.
 *
 *		A plain expression is analyzed with the table as its only range
 *		table entry, under an alias list that names the columns as the
 *		version does (so a column "upper" and the function upper() live side
 *		by side), and turned into an ExprState.
 *
 *		An expression with a subquery cannot be an ExprState of its own: its
 *		subplans need a plan tree.  It is analyzed with no range table entry
 *		at all; a parser hook turns every reference to a column of the row
 *		(unqualified, or qualified with the table's name) that no FROM item
 *		of the subquery claims into the parameter $attnum, as PL/pgSQL does
 *		for its variables, and the query "SELECT expr" is planned once and
 *		run per row with the row's values as parameters.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/sysattr.h"
#include "catalog/namespace.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_relation.h"
#include "parser/parser.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "compat.h"
#include "rule_compile.h"

/* what the parser hook needs: the row's columns and their names */
typedef struct RowRefState
{
	Relation	rel;
	List	   *names;
	Bitmapset  *reads;
} RowRefState;

/* what the parser hook of MigCheckRuleExpression needs */
typedef struct CheckRefState
{
	const char *relname;
	List	   *columns;		/* MigCheckColumn * */
	bool	   *unsure;
} CheckRefState;

/* receives the one value of a rule's query */
typedef struct ValueReceiver
{
	DestReceiver pub;
	MemoryContext cxt;
	MigCompiledRule *rule;
	Datum		value;
	bool		isnull;
} ValueReceiver;

static void compile_rule(Relation rel, const char *sql, List *names,
						 AttrNumber target, MigCompiledRule *rule);
static Node *unwrap_select(Node *node);
static bool contains_sublink(Node *node, void *context);
static Node *row_column_ref(ParseState *pstate, ColumnRef *cref, Node *var);
static Node *check_column_ref(ParseState *pstate, ColumnRef *cref, Node *var);
static bool value_receive(TupleTableSlot *slot, DestReceiver *self);
static void value_startup(DestReceiver *self, int operation, TupleDesc typeinfo);
static void value_noop(DestReceiver *self);

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

static bool
contains_sublink(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubLink))
		return true;
	return raw_expression_tree_walker(node, contains_sublink, context);
}

/*
 * Parser hook: a column reference nothing else claimed names a column of
 * the row.  Columns of the subquery's own FROM items come first, as scoping
 * in SQL has it.
 */
static Node *
row_column_ref(ParseState *pstate, ColumnRef *cref, Node *var)
{
	RowRefState *state = (RowRefState *) pstate->p_ref_hook_state;
	TupleDesc	desc = RelationGetDescr(state->rel);
	const char *colname;
	int			i;

	if (var != NULL)
		return NULL;
	if (list_length(cref->fields) == 1 && IsA(linitial(cref->fields), String))
		colname = strVal(linitial(cref->fields));
	else if (list_length(cref->fields) == 2 &&
			 IsA(linitial(cref->fields), String) &&
			 IsA(lsecond(cref->fields), String) &&
			 strcmp(strVal(linitial(cref->fields)),
					RelationGetRelationName(state->rel)) == 0)
		colname = strVal(lsecond(cref->fields));
	else
		return NULL;

	for (i = 0; i < desc->natts && i < list_length(state->names); i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *name = list_nth(state->names, i);
		Param	   *param;

		if (att->attisdropped || name == NULL || strcmp(name, colname) != 0)
			continue;
		param = makeNode(Param);
		param->paramkind = PARAM_EXTERN;
		param->paramid = i + 1;
		param->paramtype = att->atttypid;
		param->paramtypmod = att->atttypmod;
		param->paramcollid = att->attcollation;
		param->location = cref->location;
		state->reads = bms_add_member(state->reads, i + 1);
		return (Node *) param;
	}
	return NULL;
}

void
MigCompileRule(Relation rel, const char *schema, const char *sql, List *names,
			   AttrNumber target, MigCompiledRule *rule)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("search_path",
							 psprintf("%s, %s", quote_identifier(schema),
									  namespace_search_path),
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	compile_rule(rel, sql, names, target, rule);
	AtEOXact_GUC(true, nestlevel);
}

static void
compile_rule(Relation rel, const char *sql, List *names, AttrNumber target,
			 MigCompiledRule *rule)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Form_pg_attribute att = TupleDescAttr(desc, target - 1);
	char	   *query = psprintf("SELECT (%s)", sql);
	List	   *raw;
	SelectStmt *select;
	Node	   *node;
	ParseState *pstate;
	RowRefState *state = NULL;
	Oid			type;

	raw = raw_parser(query, RAW_PARSE_DEFAULT);
	select = (SelectStmt *) linitial_node(RawStmt, raw)->stmt;
	if (list_length(raw) != 1 || !IsA(select, SelectStmt) ||
		select->fromClause != NIL || select->whereClause != NULL ||
		list_length(select->targetList) != 1 || select->op != SETOP_NONE)
		ereport(ERROR,
				errcode(ERRCODE_SYNTAX_ERROR),
				errmsg("expression \"%s\" is not a single SQL expression", sql));
	node = unwrap_select(((ResTarget *) linitial(select->targetList))->val);

	memset(rule, 0, sizeof(MigCompiledRule));
	rule->type = att->atttypid;
	get_typlenbyval(att->atttypid, &rule->typlen, &rule->typbyval);

	pstate = make_parsestate(NULL);
	pstate->p_sourcetext = query;
	if (contains_sublink(node, NULL))
	{
		state = palloc0(sizeof(RowRefState));
		state->rel = rel;
		state->names = names;
		pstate->p_post_columnref_hook = row_column_ref;
		pstate->p_ref_hook_state = state;
	}
	else
	{
		List	   *colnames = NIL;
		ParseNamespaceItem *nsitem;
		int			i;

		/* aliases name the live columns only */
		for (i = 0; i < desc->natts; i++)
		{
			char	   *name = i < list_length(names) ? list_nth(names, i) : NULL;

			if (TupleDescAttr(desc, i)->attisdropped)
				continue;
			colnames = lappend(colnames, makeString(pstrdup(name ? name : "")));
		}
		nsitem = addRangeTableEntryForRelation(pstate, rel, AccessShareLock,
											   makeAlias(RelationGetRelationName(rel),
														 colnames),
											   false, false);
		addNSItemToQuery(pstate, nsitem, false, true, true);
	}

	node = transformExpr(pstate, node, EXPR_KIND_OTHER);
	if (pstate->p_hasAggs || pstate->p_hasWindowFuncs || pstate->p_hasTargetSRFs)
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("expression \"%s\" must not use aggregate, window or set-returning functions",
					   sql));

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

	if (state != NULL)
	{
		Query	   *q = makeNode(Query);

		q->commandType = CMD_SELECT;
		q->querySource = QSRC_ORIGINAL;
		q->canSetTag = true;
		q->targetList = list_make1(makeTargetEntry((Expr *) node, 1,
												   pstrdup("value"), false));
		q->jointree = makeFromExpr(NIL, NULL);
		q->hasSubLinks = true;
		rule->plan = pg_plan_query(q, query, 0, NULL);
		rule->query = query;
		rule->reads = state->reads;
	}
	else
	{
		Bitmapset  *attrs = NULL;
		int			x = -1;

		pull_varattnos(node, 1, &attrs);
		while ((x = bms_next_member(attrs, x)) >= 0)
		{
			AttrNumber	attnum = x + FirstLowInvalidHeapAttributeNumber;

			if (attnum > 0)
				rule->reads = bms_add_member(rule->reads, attnum);
			else if (attnum == InvalidAttrNumber)
				rule->reads = bms_add_range(rule->reads, 1, desc->natts);
		}
		rule->expr = ExecInitExpr(expression_planner((Expr *) node), NULL);
	}
}

/*
 * Parser hook of MigCheckRuleExpression: a column reference nothing else
 * claimed names one of the given columns, unqualified or qualified with
 * the table's (physical) name, as in compile_rule.
 */
static Node *
check_column_ref(ParseState *pstate, ColumnRef *cref, Node *var)
{
	CheckRefState *state = (CheckRefState *) pstate->p_ref_hook_state;
	const char *colname;
	ListCell   *lc;

	if (var != NULL)
		return NULL;
	if (list_length(cref->fields) == 1 && IsA(linitial(cref->fields), String))
		colname = strVal(linitial(cref->fields));
	else if (list_length(cref->fields) == 2 &&
			 IsA(linitial(cref->fields), String) &&
			 IsA(lsecond(cref->fields), String) &&
			 strcmp(strVal(linitial(cref->fields)), state->relname) == 0)
		colname = strVal(lsecond(cref->fields));
	else
	{
		/* t.*, a field of a composite column, ...: only the relation knows */
		*state->unsure = true;
		return NULL;
	}

	foreach(lc, state->columns)
	{
		MigCheckColumn *col = lfirst(lc);
		Param	   *param;

		if (strcmp(col->name, colname) != 0)
			continue;
		param = makeNode(Param);
		param->paramkind = PARAM_EXTERN;
		param->paramid = foreach_current_index(lc) + 1;
		param->paramtype = col->type;
		param->paramtypmod = col->typmod;
		param->paramcollid = col->collation;
		param->location = cref->location;
		return (Node *) param;
	}
	/* the table's name alone is a whole-row reference */
	if (list_length(cref->fields) == 1 && strcmp(colname, state->relname) == 0)
		*state->unsure = true;
	return NULL;
}

void
MigCheckRuleExpression(MigExprKind kind, const char *schema,
					   const char *relname, const char *sql, List *columns,
					   Oid target_type, int32 target_typmod,
					   const char *target_name, bool *unsure)
{
	int			nestlevel = NewGUCNestLevel();
	char	   *query = psprintf("SELECT (%s)", sql);
	List	   *raw;
	SelectStmt *select;
	Node	   *node;
	ParseState *pstate;
	CheckRefState state;
	Oid			type;
	bool		sublinks;

	(void) set_config_option("search_path",
							 psprintf("%s, %s", quote_identifier(schema),
									  namespace_search_path),
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	/* as compile_rule, step by step, with the same errors */
	raw = raw_parser(query, RAW_PARSE_DEFAULT);
	select = (SelectStmt *) linitial_node(RawStmt, raw)->stmt;
	if (list_length(raw) != 1 || !IsA(select, SelectStmt) ||
		select->fromClause != NIL || select->whereClause != NULL ||
		list_length(select->targetList) != 1 || select->op != SETOP_NONE)
		ereport(ERROR,
				errcode(ERRCODE_SYNTAX_ERROR),
				errmsg("expression \"%s\" is not a single SQL expression", sql));
	node = ((ResTarget *) linitial(select->targetList))->val;
	if (kind == MIG_EXPR_RULE)
		node = unwrap_select(node);
	sublinks = contains_sublink(node, NULL);

	state.relname = relname;
	state.columns = columns;
	state.unsure = unsure;
	pstate = make_parsestate(NULL);
	pstate->p_sourcetext = query;
	pstate->p_post_columnref_hook = check_column_ref;
	pstate->p_ref_hook_state = &state;

	if (kind == MIG_EXPR_CHECK)
	{
		/* as cookConstraint: the check's analysis is all there is to check */
		node = transformExpr(pstate, node, EXPR_KIND_CHECK_CONSTRAINT);
		node = coerce_to_boolean(pstate, node, "CHECK");
		assign_expr_collations(pstate, node);
		free_parsestate(pstate);
		AtEOXact_GUC(true, nestlevel);
		return;
	}
	if (kind == MIG_EXPR_DEFAULT)
	{
		/* as cookDefault */
		node = transformExpr(pstate, node, EXPR_KIND_COLUMN_DEFAULT);
		type = exprType(node);
		if (coerce_to_target_type(pstate, node, type, target_type, target_typmod,
								  COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST,
								  -1) == NULL)
			ereport(ERROR,
					errcode(ERRCODE_DATATYPE_MISMATCH),
					errmsg("column \"%s\" is of type %s but default expression is of type %s",
						   target_name, format_type_be(target_type),
						   format_type_be(type)),
					errhint("You will need to rewrite or cast the expression."));
		free_parsestate(pstate);
		AtEOXact_GUC(true, nestlevel);
		return;
	}

	node = transformExpr(pstate, node, EXPR_KIND_OTHER);
	if (pstate->p_hasAggs || pstate->p_hasWindowFuncs || pstate->p_hasTargetSRFs)
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("expression \"%s\" must not use aggregate, window or set-returning functions",
					   sql));
	type = exprType(node);
	node = coerce_to_target_type(pstate, node, type, target_type, target_typmod,
								 COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);
	if (node == NULL)
		ereport(ERROR,
				errcode(ERRCODE_DATATYPE_MISMATCH),
				errmsg("expression \"%s\" is of type %s but column \"%s\" is of type %s",
					   sql, format_type_be(type), target_name,
					   format_type_be(target_type)));
	assign_expr_collations(pstate, node);
	free_parsestate(pstate);

	if (sublinks)
	{
		Query	   *q = makeNode(Query);

		q->commandType = CMD_SELECT;
		q->querySource = QSRC_ORIGINAL;
		q->canSetTag = true;
		q->targetList = list_make1(makeTargetEntry((Expr *) node, 1,
												   pstrdup("value"), false));
		q->jointree = makeFromExpr(NIL, NULL);
		q->hasSubLinks = true;
		(void) pg_plan_query(q, query, 0, NULL);
	}
	else
		(void) ExecInitExpr(expression_planner((Expr *) node), NULL);
	AtEOXact_GUC(true, nestlevel);
}

static bool
value_receive(TupleTableSlot *slot, DestReceiver *self)
{
	ValueReceiver *r = (ValueReceiver *) self;
	Datum		value = slot_getattr(slot, 1, &r->isnull);

	if (!r->isnull)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(r->cxt);

		r->value = datumCopy(value, r->rule->typbyval, r->rule->typlen);
		MemoryContextSwitchTo(oldcxt);
	}
	return true;
}

static void
value_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
value_noop(DestReceiver *self)
{
}

Datum
MigRunRuleQuery(MigCompiledRule *rule, TupleTableSlot *slot,
				ParamListInfo params, bool *isnull)
{
	ValueReceiver receiver;
	QueryDesc  *qd;
	int			attnum = -1;

	memset(&receiver, 0, sizeof(receiver));
	receiver.pub.receiveSlot = value_receive;
	receiver.pub.rStartup = value_startup;
	receiver.pub.rShutdown = value_noop;
	receiver.pub.rDestroy = value_noop;
	receiver.pub.mydest = DestNone;
	receiver.cxt = CurrentMemoryContext;
	receiver.rule = rule;
	receiver.isnull = true;

	slot_getallattrs(slot);
	while ((attnum = bms_next_member(rule->reads, attnum)) >= 0)
	{
		params->params[attnum - 1].value = slot->tts_values[attnum - 1];
		params->params[attnum - 1].isnull = slot->tts_isnull[attnum - 1];
	}

	qd = CreateQueryDesc(rule->plan, rule->query, GetActiveSnapshot(),
						 InvalidSnapshot, &receiver.pub, params, NULL, 0);
	ExecutorStart(qd, 0);
	MigExecutorRun(qd, ForwardScanDirection, 0);
	ExecutorFinish(qd);
	ExecutorEnd(qd);
	FreeQueryDesc(qd);

	*isnull = receiver.isnull;
	return receiver.value;
}
