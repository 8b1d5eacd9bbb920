/*-------------------------------------------------------------------------
 *
 * index_declare.c
 *		Declare an index at start, build it later.
 *
 *		CREATE INDEX in the starting transaction would scan the whole table
 *		while holding a SHARE lock on it, blocking writers for as long as the
 *		build takes.  CREATE INDEX CONCURRENTLY cannot run there at all (it
 *		commits as it goes).  So start does what the first phase of CREATE
 *		INDEX CONCURRENTLY does: the index is created in the catalogs, with
 *		every check CREATE INDEX makes, but not built, and marked neither
 *		ready (writes do not maintain it) nor valid (queries do not use it).
 *		The job then builds it with REINDEX INDEX CONCURRENTLY, which builds
 *		and validates a copy without blocking writes and swaps it in; a
 *		failed or interrupted build leaves the declared index as it was.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_index.h"
#include "commands/defrem.h"
#include "nodes/parsenodes.h"
#include "parser/parse_utilcmd.h"
#include "parser/parser.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "compat.h"
#include "ddl.h"
#include "index_declare.h"
#include "jobs.h"
#include "names.h"

/* not ready, not valid: as CREATE INDEX CONCURRENTLY leaves it before its build */
static void
mark_unbuilt(Oid indexoid)
{
	Relation	pg_index = table_open(IndexRelationId, RowExclusiveLock);
	HeapTuple	tup = SearchSysCacheCopy1(INDEXRELID, ObjectIdGetDatum(indexoid));
	Form_pg_index form;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for index %u", indexoid);
	form = (Form_pg_index) GETSTRUCT(tup);
	form->indisready = false;
	form->indisvalid = false;
	CatalogTupleUpdate(pg_index, &tup->t_self, tup);
	CacheInvalidateRelcacheByRelid(form->indrelid);
	heap_freetuple(tup);
	table_close(pg_index, RowExclusiveLock);
	CommandCounterIncrement();
}

Oid
MigIndexDeclareOnly(Oid relid, const char *sql)
{
	List	   *raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	IndexStmt  *stmt;
	ObjectAddress address;

	if (list_length(raw) != 1 ||
		!IsA(linitial_node(RawStmt, raw)->stmt, IndexStmt))
		elog(ERROR, "not a CREATE INDEX statement: %s", sql);
	stmt = castNode(IndexStmt, linitial_node(RawStmt, raw)->stmt);
	if (stmt->concurrent)
		elog(ERROR, "a declared index is built concurrently later: %s", sql);

	/* the lock CREATE INDEX takes, within the lock timeout (see ddl.c) */
	MigExec(psprintf("LOCK TABLE %s IN SHARE MODE", MigQuoteTable(relid)), relid);

	stmt = transformIndexStmt(relid, stmt, sql);
	address = MigDefineIndex(relid, stmt, true);
	CommandCounterIncrement();
	mark_unbuilt(address.objectId);
	return address.objectId;
}

Oid
MigIndexDeclare(MigPlan *plan, Oid relid, const char *sql)
{
	Oid			indexoid = MigIndexDeclareOnly(relid, sql);

	MigJobAddIndex(plan, relid, indexoid, get_rel_name(indexoid));
	return indexoid;
}
