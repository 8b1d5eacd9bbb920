/*-------------------------------------------------------------------------
 *
 * views.c
 *		Build a version schema: one simple, auto-updatable view per table,
 *		naming each physical column by the name the version gives it.
 *
 *		Views are security_invoker, so the table's privileges and row level
 *		security apply to whoever queries them, whatever the view grants:
 *		each view is open to SELECT, INSERT, UPDATE and DELETE, and the
 *		table decides.  The base schema's USAGE grants are carried to the
 *		version schema.  Columns keep the table's attribute order and
 *		defaults.  Views are bound to the table's OID and attribute numbers,
 *		so renaming the table or its columns at complete does not break them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteHandler.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "ddl.h"
#include "names.h"
#include "security.h"
#include "spi_exec.h"
#include "version_ready.h"
#include "views.h"

static void views_create_one(MigModelTable *table, const char *version_schema);
static void views_grant_schema_usage(Oid base_schema, const char *version_schema);
static void views_copy_defaults(MigModelTable *table, const char *view);
static void views_grant_dml(const char *view, Oid relid);
static void views_create(MigModel *model, const char *version_schema);
static void views_unguard(const char *version_schema);

/* true while this file makes or remakes a version schema's views */
static bool making_views = false;

bool
MigViewsMaking(void)
{
	return making_views;
}

/*
 * The extension's own DDL on version views is let through by event_guard.c,
 * which refuses anyone else's while their migration is active.
 */
void
MigViewsCreate(MigModel *model, const char *version_schema)
{
	making_views = true;
	PG_TRY();
	{
		views_create(model, version_schema);
	}
	PG_FINALLY();
	{
		making_views = false;
	}
	PG_END_TRY();
}

void
MigViewsUnguard(const char *version_schema)
{
	making_views = true;
	PG_TRY();
	{
		views_unguard(version_schema);
	}
	PG_FINALLY();
	{
		making_views = false;
	}
	PG_END_TRY();
}

static void
views_create(MigModel *model, const char *version_schema)
{
	ListCell   *lc;

	MigOwnerSave save;
	char	   *caller = GetUserNameFromId(GetUserId(), false);

	/*
	 * Whoever may migrate the base schema gets its version schemas, even
	 * without the CREATE privilege on the database.
	 */
	MigAsExtensionOwner(&save);
	MigExec(psprintf("CREATE SCHEMA %s AUTHORIZATION %s",
					 quote_identifier(version_schema), quote_identifier(caller)),
			InvalidOid);
	MigAsCaller(&save);
	views_grant_schema_usage(model->schema_oid, version_schema);

	foreach(lc, model->tables)
	{
		MigModelTable *table = lfirst(lc);

		if (!table->hidden)
			views_create_one(table, version_schema);
	}
}

/* The OIDs of every view in a schema, in OID order (SPI connected). */
List *
MigViewsInSchema(Oid schema_oid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(schema_oid)};
	List	   *views = NIL;
	uint64		i;

	MigSpiExec("SELECT c.oid FROM pg_catalog.pg_class c"
			   " WHERE c.relnamespace = $1 AND c.relkind = 'v'"
			   " ORDER BY c.oid",
			   1, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the views of schema %u", schema_oid);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		views = lappend_oid(views,
							DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc,
														   1, &isnull)));
	}
	return views;
}

/*
 * The views of a version schema that still have the guard of an unfinished
 * backfill (version_ready.c) lose it: the same view, columns, defaults and
 * grants, without the WHERE clause.  The view is rebuilt from its own query
 * (each column a reference to an attribute number of its table), so this
 * works whatever complete renamed or dropped.
 */
static void
views_unguard(const char *version_schema)
{
	List	   *views = MigViewsInSchema(get_namespace_oid(version_schema, false));
	ListCell   *lc;

	foreach(lc, views)
	{
		Relation	rel = relation_open(lfirst_oid(lc), AccessShareLock);
		Query	   *query = get_view_query(rel);
		FuncExpr   *guard = (FuncExpr *) query->jointree->quals;
		StringInfoData sql;
		ListCell   *tlc;
		RangeTblEntry *rte;
		int			n = 0;

		if (guard == NULL || !IsA(guard, FuncExpr) ||
			!MigVersionReadyIsGuard(guard->funcid) ||
			list_length(query->jointree->fromlist) != 1 ||
			!IsA(linitial(query->jointree->fromlist), RangeTblRef))
		{
			relation_close(rel, AccessShareLock);
			continue;
		}
		rte = rt_fetch(linitial_node(RangeTblRef, query->jointree->fromlist)->rtindex,
					   query->rtable);

		initStringInfo(&sql);
		appendStringInfo(&sql, "CREATE OR REPLACE VIEW %s WITH (security_invoker = true) AS SELECT ",
						 quote_qualified_identifier(version_schema,
													RelationGetRelationName(rel)));
		foreach(tlc, query->targetList)
		{
			TargetEntry *tle = lfirst_node(TargetEntry, tlc);
			Var		   *var = (Var *) tle->expr;

			if (tle->resjunk)
				continue;
			if (!IsA(var, Var))
				elog(ERROR, "column \"%s\" of view \"%s\" is not a column of its table",
					 tle->resname, RelationGetRelationName(rel));
			appendStringInfo(&sql, "%s%s AS %s", n++ > 0 ? ", " : "",
							 MigQuoteColumn(rte->relid, var->varattno),
							 quote_identifier(tle->resname));
		}
		appendStringInfo(&sql, " FROM %s", MigQuoteTable(rte->relid));
		relation_close(rel, AccessShareLock);
		MigExec(sql.data, rte->relid);
	}
}

static void
views_create_one(MigModelTable *table, const char *version_schema)
{
	StringInfoData sql;
	ListCell   *lc;
	int			n = 0;
	char	   *view = quote_qualified_identifier(version_schema, table->name);

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE VIEW %s WITH (security_invoker = true) AS SELECT ",
					 view);
	foreach(lc, table->columns)
	{
		MigModelColumn *col = lfirst(lc);

		if (col->hidden)
			continue;
		appendStringInfo(&sql, "%s%s AS %s", n++ > 0 ? ", " : "",
						 MigQuoteColumn(table->relid, col->attnum),
						 quote_identifier(col->name));
	}
	appendStringInfo(&sql, " FROM %s", MigQuoteTable(table->relid));
	/* usable once the table's backfill is done (version_ready.c) */
	appendStringInfoString(&sql, MigVersionReadyGuard(table->relid, version_schema,
													  table->name));
	MigExec(sql.data, table->relid);

	views_copy_defaults(table, view);
	views_grant_dml(view, table->relid);
}

static void
views_copy_defaults(MigModelTable *table, const char *view)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(table->relid)};
	List	   *defaults = NIL;
	ListCell   *lc;
	uint64		i;

	MigSpiExec("SELECT d.adnum, pg_catalog.pg_get_expr(d.adbin, d.adrelid)"
			   " FROM pg_catalog.pg_attrdef d"
			   " JOIN pg_catalog.pg_attribute a"
			   "   ON a.attrelid = d.adrelid AND a.attnum = d.adnum"
			   " WHERE d.adrelid = $1 AND a.attgenerated = ''"
			   " ORDER BY d.adnum",
			   1, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the defaults of relation %u", table->relid);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		AttrNumber	attnum = DatumGetInt16(SPI_getbinval(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 1,
														 &isnull));
		char	   *expr = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

		foreach(lc, table->columns)
		{
			MigModelColumn *col = lfirst(lc);

			if (col->attnum == attnum && !col->hidden)
				defaults = lappend(defaults,
								   psprintf("ALTER VIEW %s ALTER COLUMN %s SET DEFAULT %s",
											view, quote_identifier(col->name), expr));
		}
	}
	foreach(lc, defaults)
		MigExec(lfirst(lc), table->relid);
}

/*
 * The view is security_invoker: whoever queries it is checked against the
 * table's privileges (table-wide and per column) and row level security
 * policies, as if they queried the table.  So the view itself is open to
 * the four statements a view serves, and grants nothing by that: a role
 * reads or writes through it exactly what it may read or write in the
 * table, and a GRANT or REVOKE on the table takes effect through every
 * version at once.  No other privilege is granted (TRIGGER on a view would
 * let a role attach INSTEAD OF triggers that others' writes then run).
 */
static void
views_grant_dml(const char *view, Oid relid)
{
	MigExec(psprintf("GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO PUBLIC", view),
			relid);
}

static void
views_grant_schema_usage(Oid base_schema, const char *version_schema)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(base_schema)};
	List	   *grants = NIL;
	ListCell   *lc;
	uint64		i;

	MigSpiExec("SELECT g.grantee"
			   " FROM pg_catalog.pg_namespace n,"
			   "      pg_catalog.aclexplode(n.nspacl) g"
			   " WHERE n.oid = $1 AND g.privilege_type = 'USAGE'"
			   "   AND g.grantee <> n.nspowner",
			   1, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the privileges of schema %u", base_schema);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			grantee = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
															 SPI_tuptable->tupdesc,
															 1, &isnull));

		grants = lappend(grants,
						 psprintf("GRANT USAGE ON SCHEMA %s TO %s",
								  quote_identifier(version_schema),
								  OidIsValid(grantee) ?
								  quote_identifier(GetUserNameFromId(grantee, false)) :
								  "PUBLIC"));
	}
	foreach(lc, grants)
		MigExec(lfirst(lc), InvalidOid);
}
