/*-------------------------------------------------------------------------
 *
 * ops_index.c
 *		create_index and drop_index.
 *
 *		create_index declares the index at start and a background job
 *		builds it concurrently (see index_declare.c); queries use it once it
 *		is built, in both versions (an index is not versioned).  Rollback
 *		drops it.  On a table created by the same migration it is simply
 *		created.  drop_index leaves the index until complete, which has a
 *		background job drop it concurrently once complete has committed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "nodes/value.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "ddl.h"
#include "index_declare.h"
#include "names.h"
#include "ops.h"
#include "ops_lib.h"
#include "steps.h"

/*
 * A collation or operator class name as the migration gives it: the name
 * itself (case kept, as pgroll passes it), or schema.name; each part quoted.
 */
static char *
quote_qualified_name(const char *name)
{
	const char *dot = strchr(name, '.');

	if (dot == NULL || dot == name || dot[1] == '\0' || strchr(dot + 1, '.') != NULL)
		return pstrdup(quote_identifier(name));
	return psprintf("%s.%s", quote_identifier(pnstrdup(name, dot - name)),
					quote_identifier(dot + 1));
}

/*
 * A collation as the migration names it: "C.utf8" and "en_US.utf8" are
 * names of collations (on the search path), not schema-qualified ones;
 * "myschema.mycoll" is qualified when no collation has the whole name.
 */
static char *
quote_collation(const char *name)
{
	if (OidIsValid(get_collation_oid(list_make1(makeString(pstrdup(name))), true)))
		return pstrdup(quote_identifier(name));
	return quote_qualified_name(name);
}

void
MigOpCreateIndex(MigPlan *plan, MigOperation *op)
{
	MigModelTable *table = MigPlanGetTable(plan, op, op->table);
	StringInfoData sql;
	ListCell   *lc;

	if (OidIsValid(get_relname_relid(op->name, plan->model->schema_oid)))
		ereport(ERROR,
				errcode(ERRCODE_DUPLICATE_TABLE),
				errmsg("relation \"%s\" already exists in schema \"%s\"",
					   op->name, plan->schema),
				errdetail("Operation create_index of migration \"%s\" creates an index of that name.",
						  plan->migration->name));

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE %sINDEX %s ON %s USING %s (",
					 op->unique ? "UNIQUE " : "", quote_identifier(op->name),
					 MigQuoteTable(table->relid),
					 quote_identifier(op->method ? op->method : "btree"));
	foreach(lc, op->index_fields)
	{
		MigIndexField *field = lfirst(lc);
		MigModelColumn *col = MigModelFindColumn(table, field->column);

		if (col == NULL)
			ereport(ERROR,
					errcode(ERRCODE_UNDEFINED_COLUMN),
					errmsg("column \"%s\" of table \"%s\" does not exist",
						   field->column, op->table),
					errdetail("Operation create_index of migration \"%s\" indexes it.",
							  plan->migration->name));
		if (foreach_current_index(lc) > 0)
			appendStringInfoString(&sql, ", ");
		appendStringInfoString(&sql, MigQuoteColumn(table->relid, col->attnum));
		if (field->collate != NULL)
			appendStringInfo(&sql, " COLLATE %s", quote_collation(field->collate));
		if (field->opclass_name != NULL)
		{
			appendStringInfo(&sql, " %s", quote_qualified_name(field->opclass_name));
			if (field->opclass_params != NIL)
			{
				ListCell   *pc;

				appendStringInfoString(&sql, " (");
				foreach(pc, field->opclass_params)
					appendStringInfo(&sql, "%s%s", foreach_current_index(pc) > 0 ? ", " : "",
									 (char *) lfirst(pc));
				appendStringInfoChar(&sql, ')');
			}
		}
		if (field->sort != NULL)
			appendStringInfo(&sql, " %s", pg_strcasecmp(field->sort, "DESC") == 0 ? "DESC" : "ASC");
		if (field->nulls != NULL)
			appendStringInfo(&sql, " NULLS %s",
							 pg_strcasecmp(field->nulls, "FIRST") == 0 ? "FIRST" : "LAST");
	}
	appendStringInfoChar(&sql, ')');
	if (op->storage_parameters != NULL)
		appendStringInfo(&sql, " WITH (%s)", op->storage_parameters);
	if (op->predicate != NULL)
		appendStringInfo(&sql, " WHERE (%s)", MigRewriteColumnRefs(op->predicate, table));

	if (table->created)
		MigExec(sql.data, table->relid);
	else
	{
		Oid			indexoid = MigIndexDeclare(plan, table->relid, sql.data);

		MigStepAdd(plan, MIG_PHASE_ROLLBACK, MIG_STEP_DROP_INDEX, table->relid,
				   InvalidAttrNumber, indexoid, NULL, NULL);
	}
}

void
MigOpDropIndex(MigPlan *plan, MigOperation *op)
{
	Oid			indexoid = get_relname_relid(op->name, plan->model->schema_oid);
	Oid			relid;

	/* an index of a partitioned table is refused below, as its table is */
	if (!OidIsValid(indexoid) ||
		(get_rel_relkind(indexoid) != RELKIND_INDEX &&
		 get_rel_relkind(indexoid) != RELKIND_PARTITIONED_INDEX))
		ereport(ERROR,
				errcode(ERRCODE_UNDEFINED_OBJECT),
				errmsg("index \"%s\" does not exist in schema \"%s\"",
					   op->name, plan->schema),
				errdetail("Operation drop_index of migration \"%s\" drops it.",
						  plan->migration->name));
	relid = IndexGetRelation(indexoid, false);
	MigCheckTableOwner(plan, op, relid, get_rel_name(relid));
	MigCheckTableHierarchy(plan, op, relid, get_rel_name(relid));
	MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_DROP_INDEX_CONCURRENTLY, relid,
			   InvalidAttrNumber, indexoid, NULL, NULL);
}
