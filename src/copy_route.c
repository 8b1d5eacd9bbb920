/*-------------------------------------------------------------------------
 *
 * copy_route.c
 *		COPY ... FROM into a version's view.
 *
 *		PostgreSQL refuses COPY FROM into a view ("cannot copy to view")
 *		unless it has an INSTEAD OF INSERT trigger, and such a trigger would
 *		take INSERT ... ON CONFLICT away from the version views.  So a
 *		ProcessUtility hook runs a COPY FROM into a version view in two
 *		steps: the COPY itself, with its input (STDIN, a file, a program),
 *		options, column list and WHERE clause unchanged, into a temporary
 *		table with the view's columns; then INSERT INTO the view (the listed
 *		columns) SELECT from it, as the caller.  The rows thus get exactly
 *		what an INSERT through the view gives them: the caller's privileges
 *		on the view, the view's defaults, the version's routing, readiness
 *		guard and dual write.  The command tag is COPY with the number of
 *		rows inserted.  The temporary table is dropped before the command
 *		returns (and with its transaction on error).
 *
 *		Any other utility statement, and COPY into anything but a view of a
 *		version schema, goes to PostgreSQL untouched.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "compat.h"
#include "copy_route.h"
#include "ddl_capture.h"

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* makes each staging table's name unique within a session */
static uint32 copy_counter = 0;

static void copy_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
								bool readOnlyTree,
								ProcessUtilityContext context,
								ParamListInfo params,
								QueryEnvironment *queryEnv,
								DestReceiver *dest, QueryCompletion *qc);
static bool is_version_view(Oid relid);
static void copy_into_view(PlannedStmt *pstmt, CopyStmt *stmt, Oid viewid,
						   const char *queryString,
						   ProcessUtilityContext context,
						   ParamListInfo params, QueryEnvironment *queryEnv,
						   DestReceiver *dest, QueryCompletion *qc);

void
MigCopyRouteInit(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = copy_ProcessUtility;
}

static void
copy_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					bool readOnlyTree, ProcessUtilityContext context,
					ParamListInfo params, QueryEnvironment *queryEnv,
					DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

	if (IsA(parsetree, CopyStmt))
	{
		CopyStmt   *stmt = (CopyStmt *) parsetree;
		Oid			relid = InvalidOid;

		if (stmt->is_from && stmt->relation != NULL)
			relid = RangeVarGetRelid(stmt->relation, NoLock, true);
		if (OidIsValid(relid) && is_version_view(relid))
		{
			/* its staging table is the extension's own DDL */
			bool		own = MigOwnDdlEnter();

			PG_TRY();
			{
				copy_into_view(pstmt, stmt, relid, queryString, context,
							   params, queryEnv, dest, qc);
			}
			PG_FINALLY();
			{
				MigOwnDdlLeave(own);
			}
			PG_END_TRY();
			return;
		}
	}

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
							queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

/*
 * A view without an INSTEAD OF INSERT trigger (PostgreSQL copies into one
 * with such a trigger itself) in a schema that is a version schema of this
 * database's migrations.
 */
static bool
is_version_view(Oid relid)
{
	Relation	rel;
	bool		candidate;
	Oid			argtypes[1] = {NAMEOID};
	Datum		values[1];
	bool		found;

	if (get_rel_relkind(relid) != RELKIND_VIEW ||
		!OidIsValid(get_extension_oid("migrate_ext", true)))
		return false;

	rel = table_open(relid, AccessShareLock);
	candidate = rel->trigdesc == NULL || !rel->trigdesc->trig_insert_instead_row;
	table_close(rel, AccessShareLock);
	if (!candidate)
		return false;

	values[0] = DirectFunctionCall1(namein,
									CStringGetDatum(get_namespace_name(get_rel_namespace(relid))));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT 1 FROM mig.migrations m"
							  " WHERE mig.version_schema_name(m.schema, m.name, m.migration) = $1",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the history of migrations");
	found = SPI_processed > 0;
	SPI_finish();
	return found;
}

static void
copy_into_view(PlannedStmt *pstmt, CopyStmt *stmt, Oid viewid,
			   const char *queryString, ProcessUtilityContext context,
			   ParamListInfo params, QueryEnvironment *queryEnv,
			   DestReceiver *dest, QueryCompletion *qc)
{
	char	   *qview = quote_qualified_identifier(get_namespace_name(get_rel_namespace(viewid)),
												   get_rel_name(viewid));
	char	   *viewname = get_rel_name(viewid);
	char	   *staging;
	char	   *qstaging;
	StringInfoData cols;
	PlannedStmt *wrapped;
	CopyStmt   *copy;
	ListCell   *lc;
	uint64		rows;
	int			rc;

	foreach(lc, stmt->options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, "freeze") == 0)
			ereport(ERROR,
					errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					errmsg("COPY FREEZE into view \"%s\" is not supported", viewname),
					errdetail("Rows loaded into a version's view are inserted through the view, as INSERT inserts them."),
					errhint("Leave out FREEZE, or COPY into the table itself as the old version."));
	}

	/*
	 * The staging table is a temporary table named like the view, schema
	 * and all, so that COPY's own messages ("COPY public_02.items, line 2")
	 * name what the caller named; being one identifier with a dot in it,
	 * no unqualified name in a trigger or default the INSERT runs can mean
	 * it.  A temporary table of the caller's with that name is left alone.
	 */
	if (MigDatabaseAclCheck(MyDatabaseId, GetUserId(), ACL_CREATE_TEMP) != ACLCHECK_OK)
		ereport(ERROR,
				errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				errmsg("permission denied to create temporary tables in database \"%s\"",
					   get_database_name(MyDatabaseId)),
				errdetail("COPY into view \"%s\" loads the rows into a temporary table first, then inserts them through the view.",
						  viewname),
				errhint("Grant TEMPORARY on the database to the role, or INSERT through the view."));
	staging = psprintf("%s.%s", get_namespace_name(get_rel_namespace(viewid)),
					   viewname);
	if (strlen(staging) >= NAMEDATALEN ||
		OidIsValid(get_relname_relid(staging, LookupCreationNamespace("pg_temp"))))
		staging = psprintf("_mig_copy_%u_%u", viewid, ++copy_counter);
	qstaging = quote_qualified_identifier("pg_temp", staging);

	/* the column list names the view's columns, as it would a table's */
	initStringInfo(&cols);
	foreach(lc, stmt->attlist)
	{
		char	   *col = strVal(lfirst(lc));

		if (get_attnum(viewid, col) == InvalidAttrNumber)
			ereport(ERROR,
					errcode(ERRCODE_UNDEFINED_COLUMN),
					errmsg("column \"%s\" of relation \"%s\" does not exist",
						   col, viewname));
		appendStringInfo(&cols, "%s%s", cols.len > 0 ? ", " : "",
						 quote_identifier(col));
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(psprintf("CREATE TEMPORARY TABLE %s AS SELECT * FROM %s WITH NO DATA",
							 qstaging, qview), false, 0) < 0)
		elog(ERROR, "could not create the staging table of COPY into %s", qview);
	SPI_finish();

	/* the COPY itself, into the staging table */
	copy = copyObject(stmt);
	copy->relation = makeRangeVar("pg_temp", staging, -1);
	wrapped = copyObject(pstmt);
	wrapped->utilityStmt = (Node *) copy;
	if (prev_ProcessUtility)
		prev_ProcessUtility(wrapped, queryString, false, context, params,
							queryEnv, dest, NULL);
	else
		standard_ProcessUtility(wrapped, queryString, false, context, params,
								queryEnv, dest, NULL);

	/* then the rows, through the view */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (cols.len > 0)
		rc = SPI_execute(psprintf("INSERT INTO %s (%s) SELECT %s FROM %s",
								  qview, cols.data, cols.data, qstaging), false, 0);
	else
		rc = SPI_execute(psprintf("INSERT INTO %s SELECT * FROM %s",
								  qview, qstaging), false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not insert the rows of COPY into %s: SPI code %d",
			 qview, rc);
	rows = SPI_processed;
	if (SPI_execute(psprintf("DROP TABLE %s", qstaging), false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not drop the staging table of COPY into %s", qview);
	SPI_finish();

	if (qc)
		SetQueryCompletion(qc, CMDTAG_COPY, rows);
}
