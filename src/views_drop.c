/*-------------------------------------------------------------------------
 *
 * views_drop.c
 *		Drop a version schema without taking anything of the user's with it.
 *
 *		A version schema holds the views the extension made, one per table
 *		of the base schema.  Users build on them: a view or a function in
 *		another schema over a version's view or its row type, a trigger on
 *		one of the views, or their own objects inside the version schema.
 *		None of that may go silently when complete or rollback drops the
 *		schema.  So before the drop, pg_depend is searched for every object
 *		that depends on the schema, on a relation in it or on a type in it,
 *		except what belongs to the extension's views themselves (their row
 *		and array types, their _RETURN rules, the defaults copied onto their
 *		columns).  If there is any, the call fails with 2BP01, naming them.
 *
 *		The extension's views are recognised by what views.c makes: a
 *		security_invoker view reading exactly one table of the base schema,
 *		each column a plain column of that table, with no condition but the
 *		readiness guard (version_ready.c), and the only such view of its
 *		table in the schema (views.c makes one per table; of two look-alikes
 *		one is the user's and neither is taken).  Anything else in the
 *		schema is the user's.
 *
 *		The drop itself is DROP VIEW ... RESTRICT of the extension's views,
 *		then DROP SCHEMA ... RESTRICT: whatever the check could not see (an
 *		object created concurrently after it) makes PostgreSQL refuse with
 *		2BP01 rather than drop it.  Only DROP EXTENSION ... CASCADE, where
 *		the user asked for dependents to go, drops them, and names each in
 *		a NOTICE first.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteHandler.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "ddl.h"
#include "security.h"
#include "spi_exec.h"
#include "version_ready.h"
#include "views.h"

/* how many dependents an error names before "and N more" */
#define MIG_DROP_MAX_NAMED 10

static List *views_drop_check(const char *schema, const char *migration,
							  const char *version_schema, const char *call,
							  bool cascade, Oid version_oid);
static List *views_drop_own_views(Oid version_oid, Oid base_oid);
static Oid	views_drop_is_own(Oid viewid, Oid base_oid);
static List *views_drop_dependents(Oid version_oid, List *own);
static char *views_drop_list(List *dependents, int max_named);

/*
 * Check that a version schema can go without anything of the user's, then
 * drop it.  schema and migration are for messages; call is the SQL function
 * the user called ("mig.complete", "mig.rollback").  With cascade (DROP
 * EXTENSION ... CASCADE) the user's dependents are named in a NOTICE and
 * dropped with it instead.
 */
void
MigViewsDrop(const char *schema, const char *migration,
			 const char *version_schema, const char *call, bool cascade)
{
	Oid			version_oid = get_namespace_oid(version_schema, true);
	List	   *own;
	ListCell   *lc;
	int			nestlevel;

	if (!OidIsValid(version_oid))
		return;
	own = views_drop_check(schema, migration, version_schema, call, cascade,
						   version_oid);

	/* the list of rules and types that go with each view is no news */
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("client_min_messages", "warning",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	if (cascade)
		MigExec(psprintf("DROP SCHEMA %s CASCADE",
						 quote_identifier(version_schema)), InvalidOid);
	else
	{
		MigOwnerSave save;

		/*
		 * As MigViewsCreate made the schema: whoever may migrate the base
		 * schema drops its version schemas, also one that another role's
		 * migration made (the check above left only the extension's own
		 * views in it, and RESTRICT keeps anything else).
		 */
		MigAsExtensionOwner(&save);
		foreach(lc, own)
			MigExec(psprintf("DROP VIEW %s RESTRICT",
							 quote_qualified_identifier(version_schema,
														get_rel_name(lfirst_oid(lc)))),
					InvalidOid);
		MigExec(psprintf("DROP SCHEMA %s RESTRICT",
						 quote_identifier(version_schema)), InvalidOid);
		MigAsCaller(&save);
	}
	AtEOXact_GUC(true, nestlevel);
}

void
MigViewsCheckDrop(const char *schema, const char *migration,
				  const char *version_schema, const char *call)
{
	Oid			version_oid = get_namespace_oid(version_schema, true);

	if (OidIsValid(version_oid))
		(void) views_drop_check(schema, migration, version_schema, call, false,
								version_oid);
}

/*
 * Refuse (or, with cascade, give notice) if anything of the user's depends
 * on the version schema; return the extension's views in it, locked.
 */
static List *
views_drop_check(const char *schema, const char *migration,
				 const char *version_schema, const char *call, bool cascade,
				 Oid version_oid)
{
	Oid			base_oid = get_namespace_oid(schema, false);
	List	   *own;
	List	   *dependents;
	ListCell   *lc;

	/*
	 * A view built over one of these while we look would not be seen: take
	 * the lock the drop takes anyway, first.
	 */
	own = views_drop_own_views(version_oid, base_oid);
	foreach(lc, own)
		LockRelationOid(lfirst_oid(lc), AccessExclusiveLock);

	dependents = views_drop_dependents(version_oid, own);
	if (dependents != NIL && !cascade)
		ereport(ERROR,
				errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				errmsg("cannot drop version schema \"%s\" of migration \"%s\" because other objects depend on it",
					   version_schema, migration),
				errdetail("%s", views_drop_list(dependents, MIG_DROP_MAX_NAMED)),
				errhint("Drop these objects, or recreate them over another version schema or the base schema \"%s\", then run %s() again.",
						schema, call));
	if (dependents != NIL)
		ereport(NOTICE,
				errmsg("dropping version schema \"%s\" of migration \"%s\" also drops objects that depend on it",
					   version_schema, migration),
				errdetail("%s", views_drop_list(dependents, -1)));
	return own;
}

/* The OIDs of the views of a version schema that views.c made. */
static List *
views_drop_own_views(Oid version_oid, Oid base_oid)
{
	List	   *views = MigViewsInSchema(version_oid);
	List	   *tables = NIL;
	List	   *own = NIL;
	ListCell   *lc;
	ListCell   *tc;

	foreach(lc, views)
		tables = lappend_oid(tables, views_drop_is_own(lfirst_oid(lc), base_oid));

	/*
	 * views.c makes one view per table: of two that read the same table,
	 * one is the user's, and which cannot be told, so neither is taken for
	 * the extension's (the user drops theirs and calls again).
	 */
	forboth(lc, views, tc, tables)
	{
		Oid			table = lfirst_oid(tc);
		ListCell   *oc;
		int			n = 0;

		if (!OidIsValid(table))
			continue;
		foreach(oc, tables)
		{
			if (lfirst_oid(oc) == table)
				n++;
		}
		if (n == 1)
			own = lappend_oid(own, lfirst_oid(lc));
	}
	return own;
}

/*
 * If this view has the shape of one views.c makes (see the file's header),
 * the table it reads; else InvalidOid.
 */
static Oid
views_drop_is_own(Oid viewid, Oid base_oid)
{
	Relation	rel = relation_open(viewid, AccessShareLock);
	Query	   *query = get_view_query(rel);
	Node	   *quals = query->jointree->quals;
	RangeTblRef *rtr;
	RangeTblEntry *rte;
	ListCell   *lc;
	Oid			table = InvalidOid;

	if (!RelationHasSecurityInvoker(rel) ||
		query->commandType != CMD_SELECT ||
		query->hasAggs || query->hasWindowFuncs || query->hasTargetSRFs ||
		query->hasSubLinks || query->hasRecursive || query->cteList != NIL ||
		query->groupClause != NIL || query->havingQual != NULL ||
		query->distinctClause != NIL || query->sortClause != NIL ||
		query->limitCount != NULL || query->limitOffset != NULL ||
		query->setOperations != NULL ||
		list_length(query->jointree->fromlist) != 1 ||
		!IsA(linitial(query->jointree->fromlist), RangeTblRef))
		goto done;
	if (quals != NULL &&
		!(IsA(quals, FuncExpr) &&
		  MigVersionReadyIsGuard(((FuncExpr *) quals)->funcid)))
		goto done;
	rtr = linitial_node(RangeTblRef, query->jointree->fromlist);
	rte = rt_fetch(rtr->rtindex, query->rtable);
	if (rte->rtekind != RTE_RELATION ||
		get_rel_namespace(rte->relid) != base_oid)
		goto done;
	foreach(lc, query->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		Var		   *var = (Var *) tle->expr;

		if (tle->resjunk)
			continue;
		if (!IsA(var, Var) || var->varno != rtr->rtindex ||
			var->varlevelsup != 0 || var->varattno <= 0)
			goto done;
	}
	table = rte->relid;
done:
	relation_close(rel, AccessShareLock);
	return table;
}

/*
 * Descriptions of the objects, other than the extension's views and what
 * goes with them, that depend on the version schema, on a relation in it or
 * on a type in it; sorted, each once.  A view is named as such rather than
 * by its _RETURN rule.
 */
static List *
views_drop_dependents(Oid version_oid, List *own)
{
	Oid			argtypes[2] = {OIDOID, OIDARRAYOID};
	Datum	   *elems;
	Datum		values[2];
	List	   *result = NIL;
	ListCell   *lc;
	int			n = 0;
	uint64		i;

	elems = palloc(sizeof(Datum) * (list_length(own) + 1));
	foreach(lc, own)
		elems[n++] = ObjectIdGetDatum(lfirst_oid(lc));
	values[0] = ObjectIdGetDatum(version_oid);
	values[1] = PointerGetDatum(construct_array(elems, n, OIDOID,
												sizeof(Oid), true, TYPALIGN_INT));

	MigSpiExec(
			   "WITH own_rel AS (SELECT pg_catalog.unnest($2) AS oid),"
			   " own_type AS ("
			   "   SELECT t.oid FROM pg_catalog.pg_type t"
			   "   WHERE t.typrelid IN (SELECT oid FROM own_rel)"
			   "   UNION ALL"
			   "   SELECT a.oid FROM pg_catalog.pg_type a"
			   "   JOIN pg_catalog.pg_type t ON a.oid = t.typarray"
			   "   WHERE t.typrelid IN (SELECT oid FROM own_rel)),"
			   " referenced AS ("
			   "   SELECT 'pg_catalog.pg_namespace'::pg_catalog.regclass AS classid,"
			   "          $1 AS objid"
			   "   UNION ALL"
			   "   SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, c.oid"
			   "   FROM pg_catalog.pg_class c WHERE c.relnamespace = $1"
			   "   UNION ALL"
			   "   SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid"
			   "   FROM pg_catalog.pg_type t WHERE t.typnamespace = $1),"
			   " dependent AS ("
			   "   SELECT DISTINCT d.classid, d.objid, d.objsubid"
			   "   FROM pg_catalog.pg_depend d"
			   "   JOIN referenced r"
			   "     ON d.refclassid = r.classid AND d.refobjid = r.objid"
			   "   WHERE d.deptype IN ('n', 'a'))"
			   " SELECT DISTINCT COALESCE("
			   "   (SELECT pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass,"
			   "                                         w.ev_class, 0)"
			   "    FROM pg_catalog.pg_rewrite w"
			   "    WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
			   "      AND w.oid = d.objid AND w.rulename = '_RETURN'),"
			   "   pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)) AS what"
			   " FROM dependent d"
			   " WHERE NOT (d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
			   "            AND d.objid IN (SELECT oid FROM own_rel))"
			   "   AND NOT (d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass"
			   "            AND d.objid IN (SELECT oid FROM own_type))"
			   "   AND NOT (d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
			   "            AND d.objid IN (SELECT w.oid FROM pg_catalog.pg_rewrite w"
			   "                            WHERE w.ev_class IN (SELECT oid FROM own_rel)"
			   "                              AND w.rulename = '_RETURN'))"
			   "   AND NOT (d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass"
			   "            AND d.objid IN (SELECT a.oid FROM pg_catalog.pg_attrdef a"
			   "                            WHERE a.adrelid IN (SELECT oid FROM own_rel)))"
			   " ORDER BY 1",
			   2, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the dependents of schema %u", version_oid);
	for (i = 0; i < SPI_processed; i++)
		result = lappend(result,
						 SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	return result;
}

/* "Objects that depend on it: a, b, c and 2 more." (max_named < 0: all) */
static char *
views_drop_list(List *dependents, int max_named)
{
	StringInfoData buf;
	ListCell   *lc;
	int			n = 0;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "Objects that depend on it: ");
	foreach(lc, dependents)
	{
		if (max_named >= 0 && n == max_named)
		{
			appendStringInfo(&buf, " and %d more",
							 list_length(dependents) - max_named);
			break;
		}
		appendStringInfo(&buf, "%s%s", n++ > 0 ? ", " : "", (char *) lfirst(lc));
	}
	appendStringInfoChar(&buf, '.');
	return buf.data;
}
