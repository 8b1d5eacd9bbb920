/*-------------------------------------------------------------------------
 *
 * write_route.c
 *		Route a write by the version view it goes through.
 *
 *		An auto-updatable view is rewritten into a write to its table, but
 *		the view's own range table entry stays in the plan, with the INSERT
 *		or UPDATE privilege the caller needs on it.  An ExecutorRun (and
 *		ExecutorFinish, where the writes of a data-modifying WITH may run)
 *		hook looks, once per statement that writes, for such entries, finds
 *		the table behind each view (its rule's only FROM item) and the view's
 *		schema, and publishes them while the statement runs.  The dual-write
 *		trigger asks for the table it fires on: no catalog access per row.
 *
 *		Statements nest (a trigger or function runs its own statements while
 *		another one's executor is running): each run saves the statement
 *		being published and restores it when it ends, error or not, so an
 *		inner statement is routed by its own range table and the outer one
 *		finds its own again.
 *
 *		When the library is not preloaded, it is loaded by the first call of
 *		the trigger, in the middle of a statement the hooks did not see; for
 *		that statement only, the targets are read from the active portal's
 *		plans (so a function it calls that writes such a table itself is
 *		taken for a write through the view too).  Writes no hooked executor
 *		runs (COPY, logical replication) have no view: they are writes to
 *		the table itself.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "nodes/parsenodes.h"
#include "parser/parsetree.h"
#include "rewrite/prs2lock.h"
#include "tcop/pquery.h"
#include "utils/lsyscache.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "write_route.h"

/* the views one statement writes tables through */
typedef struct MigRoute
{
	int			ntargets;
	MigRouteTarget *targets;
} MigRoute;

static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;

/* the statement being run by the innermost hooked executor */
static MigRoute *current_route = NULL;
static int	route_depth = 0;

/* library loaded in the middle of a statement: when, and its portal's route */
static TimestampTz loaded_during = 0;
static Portal portal_route_of = NULL;
static int	portal_route_location = -1;
static MigRoute *portal_route = NULL;

static void route_ExecutorRun(MIG_EXECUTOR_RUN_ARGS);
static void route_ExecutorFinish(QueryDesc *queryDesc);
static bool statement_writes(PlannedStmt *stmt);
static void route_add_statement(MigRoute **route, PlannedStmt *stmt,
								MemoryContext cxt);

void
MigWriteRouteInit(void)
{
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = route_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = route_ExecutorFinish;
	if (IsTransactionState())
		loaded_during = GetCurrentStatementStartTimestamp();
}

/* Can the statement's own plan fire a BEFORE ROW INSERT or UPDATE trigger? */
static bool
statement_writes(PlannedStmt *stmt)
{
	if (stmt->commandType == CMD_UTILITY)
		return false;
	return stmt->commandType != CMD_SELECT || stmt->hasModifyingCTE;
}

/*
 * The table behind a simple view (the only FROM item of its rule), and the
 * view's schema; InvalidOid for any other view.
 */
static Oid
view_base(Oid viewid, char **schema)
{
	Relation	view = relation_open(viewid, AccessShareLock);
	Oid			result = InvalidOid;

	if (view->rd_rules != NULL && view->rd_rules->numLocks == 1 &&
		view->rd_rules->rules[0]->event == CMD_SELECT &&
		list_length(view->rd_rules->rules[0]->actions) == 1)
	{
		Query	   *query = linitial_node(Query, view->rd_rules->rules[0]->actions);
		List	   *from = query->jointree ? query->jointree->fromlist : NIL;

		if (list_length(from) == 1 && IsA(linitial(from), RangeTblRef))
		{
			int			rtindex = ((RangeTblRef *) linitial(from))->rtindex;
			RangeTblEntry *base = rt_fetch(rtindex, query->rtable);

			if (base->rtekind == RTE_RELATION)
				result = base->relid;
		}
	}
	if (OidIsValid(result))
	{
		*schema = get_namespace_name(RelationGetNamespace(view));
		if (*schema == NULL)
			result = InvalidOid;
	}
	relation_close(view, NoLock);
	return result;
}

/*
 * Add the views a statement inserts or updates through (they keep the
 * privilege the caller needs on them) to *route, allocated in cxt.
 *
 * A view read with FOR UPDATE carries the same privilege bit as an UPDATE
 * target: it counts as a target only if its table is written, which a
 * statement that writes a table directly and reads it through a version
 * view FOR UPDATE would get wrong; that combination is not worth a plan
 * walk.
 */
static void
route_add_statement(MigRoute **route, PlannedStmt *stmt, MemoryContext cxt)
{
	ListCell   *lc;

	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		MemoryContext oldcxt;
		MigRoute   *r;
		char	   *schema = NULL;
		Oid			relid;
		int			i;

		if (rte->rtekind != RTE_RELATION || rte->relkind != RELKIND_VIEW ||
			(MigRtePerms(stmt, rte) & (ACL_INSERT | ACL_UPDATE)) == 0)
			continue;

		oldcxt = MemoryContextSwitchTo(cxt);
		relid = view_base(rte->relid, &schema);
		if (!OidIsValid(relid))
		{
			MemoryContextSwitchTo(oldcxt);
			continue;
		}
		if (*route == NULL)
		{
			*route = palloc0(sizeof(MigRoute));
			(*route)->targets = palloc0(sizeof(MigRouteTarget) *
										list_length(stmt->rtable));
		}
		r = *route;
		for (i = 0; i < r->ntargets; i++)
		{
			if (r->targets[i].relid == relid)
				break;
		}
		if (i < r->ntargets)
		{
			/* the same table through another view: the trigger decides */
			if (r->targets[i].viewid != rte->relid &&
				strcmp(r->targets[i].schema, schema) != 0)
			{
				r->targets[i].other_viewid = rte->relid;
				r->targets[i].other_schema = schema;
			}
		}
		else
		{
			r->targets[i].relid = relid;
			r->targets[i].viewid = rte->relid;
			r->targets[i].schema = schema;
			r->targets[i].writer = MIG_WRITER_UNKNOWN;
			r->ntargets++;
		}
		MemoryContextSwitchTo(oldcxt);
	}
}

static void
route_ExecutorRun(MIG_EXECUTOR_RUN_ARGS)
{
	MigRoute   *save = current_route;
	MigRoute   *route = NULL;

	if (!statement_writes(queryDesc->plannedstmt))
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(MIG_EXECUTOR_RUN_PASS);
		else
			standard_ExecutorRun(MIG_EXECUTOR_RUN_PASS);
		return;
	}

	route_add_statement(&route, queryDesc->plannedstmt,
						queryDesc->estate->es_query_cxt);
	current_route = route;
	route_depth++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(MIG_EXECUTOR_RUN_PASS);
		else
			standard_ExecutorRun(MIG_EXECUTOR_RUN_PASS);
	}
	PG_FINALLY();
	{
		current_route = save;
		route_depth--;
	}
	PG_END_TRY();
}

/* the writes of a data-modifying WITH nobody read run here */
static void
route_ExecutorFinish(QueryDesc *queryDesc)
{
	MigRoute   *save = current_route;
	MigRoute   *route = NULL;

	if (!queryDesc->plannedstmt->hasModifyingCTE)
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
		return;
	}

	route_add_statement(&route, queryDesc->plannedstmt,
						queryDesc->estate->es_query_cxt);
	current_route = route;
	route_depth++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		current_route = save;
		route_depth--;
	}
	PG_END_TRY();
}

MigRouteTarget *
MigWriteRouteTarget(Oid relid)
{
	MigRoute   *route = current_route;
	int			i;

	if (route_depth == 0)
	{
		/* no hooked executor: was the library loaded during this statement? */
		int			location;

		if (loaded_during == 0 || ActivePortal == NULL ||
			GetCurrentStatementStartTimestamp() != loaded_during)
			return NULL;

		/*
		 * The statements of one query string share its start time, and a
		 * portal may be allocated where the previous one was: the cached
		 * answer is for this statement only if its place in the string is
		 * the same too.
		 */
		location = ActivePortal->stmts == NIL ? -1 :
			linitial_node(PlannedStmt, ActivePortal->stmts)->stmt_location;
		if (portal_route_of != ActivePortal || portal_route_location != location)
		{
			ListCell   *lc;

			portal_route = NULL;
			foreach(lc, ActivePortal->stmts)
			{
				PlannedStmt *stmt = lfirst_node(PlannedStmt, lc);

				if (statement_writes(stmt))
					route_add_statement(&portal_route, stmt,
										ActivePortal->portalContext);
			}
			portal_route_of = ActivePortal;
			portal_route_location = location;
		}
		route = portal_route;
	}
	if (route == NULL)
		return NULL;
	for (i = 0; i < route->ntargets; i++)
	{
		if (route->targets[i].relid == relid)
			return &route->targets[i];
	}
	return NULL;
}

bool
MigCheckVersionName(char **newval, void **extra, GucSource source)
{
	if (*newval != NULL && strlen(*newval) >= NAMEDATALEN)
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("version name \"%s\" is too long", *newval);
		GUC_check_errdetail("A version is the name of a version schema, at most %d bytes long.",
							NAMEDATALEN - 1);
		return false;
	}
	return true;
}
