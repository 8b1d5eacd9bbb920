/*-------------------------------------------------------------------------
 *
 * ops_hierarchy.c
 *		Refuse operations on partitioned tables, partitions and tables in an
 *		inheritance hierarchy.
 *
 *		Every step of an operation acts on the one table it names: the
 *		dual-write trigger is created on it and its rules name it, the
 *		backfill walks its own blocks (none, for a partitioned table: every
 *		row is in a partition), its shadow columns, checks and indexes are
 *		added to it and its columns dropped and renamed at complete.  ALTER
 *		TABLE recurses from a parent to its partitions and children, which
 *		the backfill never visits, and refuses some changes on a partition
 *		or a child alone.  So, until they are supported on every leaf, the
 *		operations that change, backfill, dual-write, index or validate a
 *		table are refused at start, before anything changes, for such a
 *		table.  Renaming one is allowed: the version views name tables by
 *		OID, and the rename at complete changes only the one table's name.
 *		A "sql" operation is the user's own SQL and is not checked.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "storage/lockdefs.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "ops.h"
#include "ops_lib.h"

/* Operations that may name a table in a hierarchy: see above. */
static bool
op_allows_hierarchy(MigOpKind kind)
{
	return kind == MIG_OP_RENAME_TABLE;
}

void
MigCheckTableHierarchy(MigPlan *plan, MigOperation *op, Oid relid,
					   const char *name)
{
	HeapTuple	tup;
	char		relkind;
	bool		ispartition;
	const char *kind = MigOpKindName(op->kind);
	const char *hint = "Make this change outside migrate_ext (ALTER TABLE on a partitioned or parent table reaches its partitions and children), or in a \"sql\" operation.  Renaming such a table with rename_table is supported.";

	if (op_allows_hierarchy(op->kind))
		return;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	relkind = ((Form_pg_class) GETSTRUCT(tup))->relkind;
	ispartition = ((Form_pg_class) GETSTRUCT(tup))->relispartition;
	ReleaseSysCache(tup);

	if (relkind == RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("operation %s is not supported on partitioned table \"%s\"",
					   kind, name),
				errdetail("Migration \"%s\", operations[%d], would change the partitioned table only: its rows are stored in its partitions, which neither the dual-write trigger nor the backfill would reach.",
						  plan->migration->name, op->index),
				errhint("%s", hint));
	if (ispartition)
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("operation %s is not supported on table \"%s\", a partition of \"%s\"",
					   kind, name, get_rel_name(get_partition_parent(relid, true))),
				errdetail("Migration \"%s\", operations[%d], would change one partition alone: its columns and constraints are its partitioned table's, and the other partitions would not follow.",
						  plan->migration->name, op->index),
				errhint("%s", hint));
	if (has_superclass(relid))
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("operation %s is not supported on table \"%s\", which inherits from another table",
					   kind, name),
				errdetail("Migration \"%s\", operations[%d], would change one table of an inheritance hierarchy alone, which the other tables of the hierarchy would not follow.",
						  plan->migration->name, op->index),
				errhint("%s", hint));
	if (find_inheritance_children(relid, NoLock) != NIL)
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("operation %s is not supported on table \"%s\", which other tables inherit from",
					   kind, name),
				errdetail("Migration \"%s\", operations[%d], would change a parent table, and ALTER TABLE would pass the change on to its child tables, whose rows neither the dual-write trigger nor the backfill would reach.",
						  plan->migration->name, op->index),
				errhint("%s", hint));
}
