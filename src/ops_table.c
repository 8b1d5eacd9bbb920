/*-------------------------------------------------------------------------
 *
 * ops_table.c
 *		Operations on whole tables: create_table, rename_table, drop_table.
 *
 *		create_table creates the table at start (it is new, so nobody is
 *		using it) and drops it on rollback.  rename_table only renames the
 *		table in the new version until complete renames it for real.
 *		drop_table moves the table out of the way at start (old versions
 *		keep reading it through their views, which are bound to its OID)
 *		and drops it at complete.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "ddl.h"
#include "names.h"
#include "ops.h"
#include "ops_lib.h"
#include "steps.h"

static void append_column(StringInfo buf, MigPlan *plan, MigOperation *op,
						  MigColumn *col);
static void append_constraint(StringInfo buf, MigPlan *plan, MigOperation *op,
							  MigConstraint *con);
static void append_name_list(StringInfo buf, List *names);
static void check_name_free(MigPlan *plan, const char *name);

/* A new table name must be free both in the new version and physically. */
static void
check_name_free(MigPlan *plan, const char *name)
{
	Oid			relid;

	if (MigModelFindTable(plan->model, name) != NULL)
		ereport(ERROR,
				errcode(ERRCODE_DUPLICATE_TABLE),
				errmsg("table \"%s\" already exists in schema \"%s\"",
					   name, plan->schema));
	relid = get_relname_relid(name, plan->model->schema_oid);
	if (OidIsValid(relid))
	{
		ListCell   *lc;
		bool		renamed = false;

		foreach(lc, plan->model->tables)
			if (((MigModelTable *) lfirst(lc))->relid == relid)
				renamed = true;
		ereport(ERROR,
				errcode(ERRCODE_DUPLICATE_TABLE),
				errmsg("relation \"%s\" already exists in schema \"%s\"",
					   name, plan->schema),
				renamed ?
				errdetail("A table this migration renames keeps its name until the migration completes.") : 0);
	}
}

static void
append_name_list(StringInfo buf, List *names)
{
	ListCell   *lc;

	appendStringInfoChar(buf, '(');
	foreach(lc, names)
		appendStringInfo(buf, "%s%s", foreach_current_index(lc) > 0 ? ", " : "",
						 quote_identifier(lfirst(lc)));
	appendStringInfoChar(buf, ')');
}

static void
append_column(StringInfo buf, MigPlan *plan, MigOperation *op, MigColumn *col)
{
	appendStringInfo(buf, "%s %s", quote_identifier(col->name), col->type);
	if (col->generated_expression)
		appendStringInfo(buf, " GENERATED ALWAYS AS (%s) STORED",
						 col->generated_expression);
	if (col->is_identity)
	{
		appendStringInfo(buf, " GENERATED %s AS IDENTITY",
						 col->identity_user_specified_values ?
						 col->identity_user_specified_values : "ALWAYS");
		if (col->identity_sequence_options && col->identity_sequence_options[0])
			appendStringInfo(buf, " (%s)", col->identity_sequence_options);
	}
	if (!col->nullable || col->pk)
		appendStringInfoString(buf, " NOT NULL");
	if (col->default_expr)
		appendStringInfo(buf, " DEFAULT (%s)", col->default_expr);
	if (col->unique)
		appendStringInfoString(buf, " UNIQUE");
	if (col->check)
		appendStringInfo(buf, " CONSTRAINT %s CHECK (%s)%s",
						 quote_identifier(col->check->name),
						 col->check->constraint,
						 col->check->no_inherit ? " NO INHERIT" : "");
	if (col->references)
	{
		MigForeignKey *fk = col->references;

		appendStringInfo(buf, " CONSTRAINT %s%s",
						 quote_identifier(fk->name),
						 MigForeignKeyClause(plan, op->name, fk->table,
								   list_make1(fk->column), fk->match_type,
								   fk->on_delete, fk->on_update, NIL,
								   fk->deferrable, fk->initially_deferred));
	}
}

static void
append_index_parameters(StringInfo buf, MigConstraint *con)
{
	if (con->index_include_columns != NIL)
	{
		appendStringInfoString(buf, " INCLUDE ");
		append_name_list(buf, con->index_include_columns);
	}
	if (con->index_storage_parameters)
		appendStringInfo(buf, " WITH (%s)", con->index_storage_parameters);
	if (con->index_tablespace)
		appendStringInfo(buf, " USING INDEX TABLESPACE %s",
						 quote_identifier(con->index_tablespace));
}

static void
append_constraint(StringInfo buf, MigPlan *plan, MigOperation *op,
				  MigConstraint *con)
{
	appendStringInfo(buf, ", CONSTRAINT %s ", quote_identifier(con->name));
	switch (con->type)
	{
		case MIG_CONSTRAINT_UNIQUE:
			appendStringInfoString(buf, "UNIQUE ");
			if (con->nulls_not_distinct)
				appendStringInfoString(buf, "NULLS NOT DISTINCT ");
			append_name_list(buf, con->columns);
			append_index_parameters(buf, con);
			break;
		case MIG_CONSTRAINT_PRIMARY_KEY:
			appendStringInfoString(buf, "PRIMARY KEY ");
			append_name_list(buf, con->columns);
			append_index_parameters(buf, con);
			break;
		case MIG_CONSTRAINT_CHECK:
			appendStringInfo(buf, "CHECK (%s)%s", con->check,
							 con->no_inherit ? " NO INHERIT" : "");
			break;
		case MIG_CONSTRAINT_FOREIGN_KEY:
			appendStringInfoString(buf, "FOREIGN KEY ");
			append_name_list(buf, con->columns);
			appendStringInfoString(buf,
								   MigForeignKeyClause(plan, op->name, con->references->table,
											 con->references->columns,
											 con->references->match_type,
											 con->references->on_delete,
											 con->references->on_update,
											 con->references->on_delete_set_columns,
											 false, false));
			break;
		case MIG_CONSTRAINT_EXCLUDE:
			appendStringInfo(buf, "EXCLUDE USING %s (%s)",
							 quote_identifier(con->exclude_index_method ?
											  con->exclude_index_method : "btree"),
							 con->exclude_elements);
			append_index_parameters(buf, con);
			if (con->exclude_predicate)
				appendStringInfo(buf, " WHERE (%s)", con->exclude_predicate);
			break;
	}
	if (con->deferrable && con->type != MIG_CONSTRAINT_CHECK)
		appendStringInfoString(buf, " DEFERRABLE");
	if (con->initially_deferred && con->type != MIG_CONSTRAINT_CHECK)
		appendStringInfoString(buf, " INITIALLY DEFERRED");
}

void
MigOpCreateTable(MigPlan *plan, MigOperation *op)
{
	StringInfoData sql;
	List	   *pk = NIL;
	ListCell   *lc;
	Oid			relid;
	char	   *qualified = quote_qualified_identifier(plan->schema, op->name);

	check_name_free(plan, op->name);

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE TABLE %s (", qualified);
	foreach(lc, op->table_columns)
	{
		MigColumn  *col = lfirst(lc);

		if (foreach_current_index(lc) > 0)
			appendStringInfoString(&sql, ", ");
		append_column(&sql, plan, op, col);
		if (col->pk)
			pk = lappend(pk, col->name);
	}
	if (pk != NIL)
	{
		appendStringInfoString(&sql, ", PRIMARY KEY ");
		append_name_list(&sql, pk);
	}
	foreach(lc, op->constraints)
		append_constraint(&sql, plan, op, lfirst(lc));
	appendStringInfoChar(&sql, ')');
	MigExec(sql.data, InvalidOid);

	relid = get_relname_relid(op->name, plan->model->schema_oid);
	if (!OidIsValid(relid))
		elog(ERROR, "table \"%s\" was not created", op->name);

	if (op->comment)
		MigExec(psprintf("COMMENT ON TABLE %s IS %s", qualified,
						 quote_literal_cstr(op->comment)), relid);
	foreach(lc, op->table_columns)
	{
		MigColumn  *col = lfirst(lc);

		if (col->comment)
			MigExec(psprintf("COMMENT ON COLUMN %s.%s IS %s", qualified,
							 quote_identifier(col->name),
							 quote_literal_cstr(col->comment)), relid);
	}

	MigModelAddTable(plan->model, relid, op->name)->created = true;
	MigStepAdd(plan, MIG_PHASE_ROLLBACK, MIG_STEP_DROP_TABLE, relid,
			   InvalidAttrNumber, InvalidOid, NULL, NULL);
}

void
MigOpRenameTable(MigPlan *plan, MigOperation *op)
{
	MigModelTable *table = MigPlanGetTable(plan, op, op->from);

	if (strcmp(op->from, op->to) == 0)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("table \"%s\" cannot be renamed to its own name", op->from));
	check_name_free(plan, op->to);

	table->name = pstrdup(op->to);
	MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_RENAME_TABLE, table->relid,
			   InvalidAttrNumber, InvalidOid, op->to, NULL);
}

void
MigOpDropTable(MigPlan *plan, MigOperation *op)
{
	MigModelTable *table = MigPlanGetTable(plan, op, op->name);
	char	   *physical = get_rel_name(table->relid);
	char	   *deleted = MigInternalName(MIG_DELETED_TABLE_PREFIX, physical);

	if (OidIsValid(get_relname_relid(deleted, plan->model->schema_oid)))
		ereport(ERROR,
				errcode(ERRCODE_DUPLICATE_TABLE),
				errmsg("relation \"%s\" already exists in schema \"%s\"",
					   deleted, plan->schema),
				errdetail("Table \"%s\" is moved to that name until the migration completes.",
						  op->name),
				errhint("Drop or rename the leftover relation \"%s\" first.", deleted));

	MigExec(psprintf("ALTER TABLE %s RENAME TO %s", MigQuoteTable(table->relid),
					 quote_identifier(deleted)), table->relid);

	table->hidden = true;
	MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_DROP_TABLE, table->relid,
			   InvalidAttrNumber, InvalidOid, NULL, NULL);
	MigStepAdd(plan, MIG_PHASE_ROLLBACK, MIG_STEP_RENAME_TABLE, table->relid,
			   InvalidAttrNumber, InvalidOid, physical, NULL);
}
