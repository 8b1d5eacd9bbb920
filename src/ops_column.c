/*-------------------------------------------------------------------------
 *
 * ops_column.c
 *		Operations on columns: add_column, drop_column, rename_column.
 *
 *		add_column adds the column under an internal name at start, so that
 *		it stays out of the old version's way (even when the old version is
 *		the base schema itself), and gives it its real name at complete.
 *		drop_column hides the column from the new version and drops it at
 *		complete.  rename_column renames the column in the new version and
 *		physically at complete.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_constraint.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "ddl.h"
#include "migrate_ext.h"
#include "ops.h"
#include "steps.h"

static bool default_is_volatile(const char *expr, const char *type);
static bool type_is_serial(const char *type);

static bool
type_is_serial(const char *type)
{
	static const char *const serials[] = {
		"smallserial", "serial", "bigserial", "serial2", "serial4", "serial8"
	};
	int			i;

	for (i = 0; i < lengthof(serials); i++)
		if (pg_strcasecmp(type, serials[i]) == 0)
			return true;
	return false;
}

/*
 * Would adding a column with this default rewrite the table?  It would if
 * the default is volatile; a non-volatile default is stored once in the
 * catalog.
 */
static bool
default_is_volatile(const char *expr, const char *type)
{
	char	   *sql = psprintf("SELECT (%s)::%s", expr, type);
	List	   *raw = pg_parse_query(sql);
	Query	   *query;

	if (list_length(raw) != 1)
		ereport(ERROR,
				errcode(ERRCODE_SYNTAX_ERROR),
				errmsg("default \"%s\" is not a single expression", expr));
	query = parse_analyze_fixedparams(linitial(raw), sql, NULL, 0, NULL);
	return contain_volatile_functions((Node *) query->targetList) ||
		query->hasSubLinks;
}

void
MigOpAddColumn(MigPlan *plan, MigOperation *op)
{
	MigModelTable *table = MigModelGetTable(plan->model, op->table);
	MigColumn  *col = op->column_def;
	char	   *shadow = MigInternalName(MIG_SHADOW_COLUMN_PREFIX, col->name);
	char	   *qtable = MigQuoteTable(table->relid);
	StringInfoData sql;
	AttrNumber	attnum;

	if (MigModelFindColumn(table, col->name) != NULL)
		ereport(ERROR,
				errcode(ERRCODE_DUPLICATE_COLUMN),
				errmsg("column \"%s\" of table \"%s\" already exists",
					   col->name, op->table));
	if (get_attnum(table->relid, shadow) != InvalidAttrNumber)
		ereport(ERROR,
				errcode(ERRCODE_DUPLICATE_COLUMN),
				errmsg("column \"%s\" of table \"%s\" already exists",
					   shadow, op->table),
				errdetail("Column \"%s\" is added under that name until the migration completes.",
						  col->name),
				errhint("Drop the leftover column \"%s\" first.", shadow));

	if (!col->nullable && col->default_expr == NULL && op->up == NULL)
		MigNotSupportedYet(plan, op, "a NOT NULL column without a default");
	if (col->unique)
		MigNotSupportedYet(plan, op, "a unique column");
	if (col->generated_expression != NULL || col->is_identity)
		MigNotSupportedYet(plan, op, "a generated column");
	if (type_is_serial(col->type) ||
		(col->default_expr != NULL && default_is_volatile(col->default_expr, col->type)))
		MigNotSupportedYet(plan, op, "a column with a volatile default");

	initStringInfo(&sql);
	appendStringInfo(&sql, "ALTER TABLE %s ADD COLUMN %s %s", qtable,
					 quote_identifier(shadow), col->type);
	if (col->default_expr)
		appendStringInfo(&sql, " DEFAULT %s", col->default_expr);
	/*
	 * NOT NULL without a default cannot hold for existing rows until the
	 * backfill has run: a NOT VALID check enforces it for new rows, and
	 * complete validates it and turns it into NOT NULL without a scan.
	 */
	if (!col->nullable && col->default_expr != NULL)
		appendStringInfoString(&sql, " NOT NULL");
	MigExec(sql.data, table->relid);

	attnum = get_attnum(table->relid, shadow);
	if (attnum == InvalidAttrNumber)
		elog(ERROR, "column \"%s\" was not added", shadow);

	if (col->comment)
		MigExec(psprintf("COMMENT ON COLUMN %s.%s IS %s", qtable,
						 quote_identifier(shadow),
						 quote_literal_cstr(col->comment)), table->relid);

	if (op->up != NULL)
		MigAddRule(plan, table, true, attnum, col->name, op->up);
	if (!col->nullable && col->default_expr == NULL)
		MigAddNotNullCheck(plan, table->relid, attnum, col->name);
	MigModelAddColumn(table, attnum, col->name);

	/*
	 * Constraints on the new column are added NOT VALID, which takes no scan
	 * while the table is locked, and validated at complete.
	 */
	if (col->check)
	{
		char	   *expr = MigRewriteColumnRefs(col->check->constraint, table);

		MigExec(psprintf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s)%s NOT VALID",
						 qtable, quote_identifier(col->check->name), expr,
						 col->check->no_inherit ? " NO INHERIT" : ""),
				table->relid);
		MigStepAdd(plan, MIG_PHASE_COMPLETE, "validate_constraint", table->relid,
				   InvalidAttrNumber,
				   get_relation_constraint_oid(table->relid, col->check->name, false),
				   NULL, NULL);
	}
	if (col->references)
	{
		MigForeignKey *fk = col->references;

		MigExec(psprintf("ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY (%s)%s NOT VALID",
						 qtable, quote_identifier(fk->name),
						 quote_identifier(shadow),
						 MigForeignKeyClause(plan, NULL, fk->table,
											 list_make1(fk->column),
											 fk->match_type, fk->on_delete,
											 fk->on_update, NIL,
											 fk->deferrable,
											 fk->initially_deferred)),
				table->relid);
		MigStepAdd(plan, MIG_PHASE_COMPLETE, "validate_constraint", table->relid,
				   InvalidAttrNumber,
				   get_relation_constraint_oid(table->relid, fk->name, false),
				   NULL, NULL);
	}

	MigStepAdd(plan, MIG_PHASE_COMPLETE, "rename_column", table->relid, attnum,
			   InvalidOid, col->name, NULL);
	MigStepAdd(plan, MIG_PHASE_ROLLBACK, "drop_column", table->relid, attnum,
			   InvalidOid, NULL, NULL);
}

void
MigOpDropColumn(MigPlan *plan, MigOperation *op)
{
	MigModelTable *table = MigModelGetTable(plan->model, op->table);
	MigModelColumn *col = MigModelGetColumn(table, op->column);

	col->hidden = true;
	if (op->down != NULL)
		MigAddRule(plan, table, false, col->attnum, col->name, op->down);
	MigStepAdd(plan, MIG_PHASE_COMPLETE, "drop_column", table->relid,
			   col->attnum, InvalidOid, NULL, NULL);
}

void
MigOpRenameColumn(MigPlan *plan, MigOperation *op)
{
	MigModelTable *table = MigModelGetTable(plan->model, op->table);
	MigModelColumn *col = MigModelGetColumn(table, op->from);

	if (MigModelFindColumn(table, op->to) != NULL)
		ereport(ERROR,
				errcode(ERRCODE_DUPLICATE_COLUMN),
				errmsg("column \"%s\" of table \"%s\" already exists",
					   op->to, op->table));

	col->name = pstrdup(op->to);
	MigStepAdd(plan, MIG_PHASE_COMPLETE, "rename_column", table->relid,
			   col->attnum, InvalidOid, op->to, NULL);
}
