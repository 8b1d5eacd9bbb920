/*-------------------------------------------------------------------------
 *
 * ops_alter.c
 *		alter_column: change a column's type, nullability, default, comment,
 *		check, foreign key or uniqueness, any of them in one operation.
 *
 *		The column is duplicated (column_dup.c): the new version sees a
 *		shadow column with the changes, kept in step with the old one by the
 *		"up" and "down" expressions, and complete puts it in the old one's
 *		place.  Constraints the operation adds go on the shadow only, NOT
 *		VALID, and are validated at complete, so the old version never sees
 *		them.  A table created by the same migration has no old version and
 *		no rows: it is altered in place.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_constraint.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"

#include "column_dup.h"
#include "ddl.h"
#include "index_declare.h"
#include "names.h"
#include "ops.h"
#include "ops_lib.h"
#include "steps.h"

static void check_nullable_change(MigModelTable *table, MigModelColumn *col,
								  bool nullable);
static void alter_in_place(MigPlan *plan, MigOperation *op,
						   MigModelTable *table, MigModelColumn *col);
static void add_check(MigPlan *plan, MigModelTable *table, MigCheck *check,
					  bool validate);
static void add_foreign_key(MigPlan *plan, MigModelTable *table,
							MigModelColumn *col, MigForeignKey *fk,
							bool validate);

/* A check constraint over the new version's columns. */
static void
add_check(MigPlan *plan, MigModelTable *table, MigCheck *check, bool validate)
{
	MigExec(psprintf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s)%s%s",
					 MigQuoteTable(table->relid), quote_identifier(check->name),
					 MigRewriteColumnRefs(check->constraint, table),
					 check->no_inherit ? " NO INHERIT" : "",
					 validate ? " NOT VALID" : ""),
			table->relid);
	if (validate)
		MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_VALIDATE_CONSTRAINT, table->relid,
				   InvalidAttrNumber,
				   get_relation_constraint_oid(table->relid, check->name, false),
				   NULL, NULL);
	/* a check that does not name the new column does not go with it */
	MigStepAdd(plan, MIG_PHASE_ROLLBACK, MIG_STEP_DROP_CONSTRAINT, table->relid,
			   InvalidAttrNumber,
			   get_relation_constraint_oid(table->relid, check->name, false),
			   NULL, NULL);
}

static void
add_foreign_key(MigPlan *plan, MigModelTable *table, MigModelColumn *col,
				MigForeignKey *fk, bool validate)
{
	MigExec(psprintf("ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY (%s)%s%s",
					 MigQuoteTable(table->relid), quote_identifier(fk->name),
					 MigQuoteColumn(table->relid, col->attnum),
					 MigForeignKeyClause(plan, NULL, fk->table,
										 list_make1(fk->column), fk->match_type,
										 fk->on_delete, fk->on_update, NIL,
										 fk->deferrable, fk->initially_deferred),
					 validate ? " NOT VALID" : ""),
			table->relid);
	if (validate)
		MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_VALIDATE_CONSTRAINT, table->relid,
				   InvalidAttrNumber,
				   get_relation_constraint_oid(table->relid, fk->name, false),
				   NULL, NULL);
}

/*
 * "nullable" that changes nothing is refused, as pgroll refuses it
 * (ColumnIsNullableError, ColumnIsNotNullableError): the author meant the
 * column to change.  A shadow column that an earlier operation of this
 * migration made has its NOT NULL pending (a NOT VALID check until
 * complete), so it is not judged by attnotnull.
 */
static void
check_nullable_change(MigModelTable *table, MigModelColumn *col, bool nullable)
{
	HeapTuple	tup;
	Form_pg_attribute att;
	bool		notnull;
	bool		identity;

	tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(table->relid),
						  Int16GetDatum(col->attnum));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for attribute %d of relation %u",
			 col->attnum, table->relid);
	att = (Form_pg_attribute) GETSTRUCT(tup);
	if (strncmp(NameStr(att->attname), MIG_SHADOW_COLUMN_PREFIX,
				strlen(MIG_SHADOW_COLUMN_PREFIX)) == 0)
	{
		ReleaseSysCache(tup);
		return;
	}
	notnull = att->attnotnull;
	identity = att->attidentity != '\0';
	ReleaseSysCache(tup);

	/* NOT NULL that PostgreSQL would not let go of: say so at start */
	if (nullable && notnull)
	{
		Relation	rel = table_open(table->relid, AccessShareLock);
		Bitmapset  *pkey = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);

		table_close(rel, AccessShareLock);
		if (bms_is_member(col->attnum - FirstLowInvalidHeapAttributeNumber, pkey))
			ereport(ERROR,
					errcode(ERRCODE_INVALID_TABLE_DEFINITION),
					errmsg("column \"%s\" of table \"%s\" is in a primary key",
						   col->name, table->name),
					errdetail("\"nullable\": true drops NOT NULL, which a primary key's columns cannot do without."),
					errhint("Drop the primary key in an earlier migration, or remove \"nullable\" from the operation."));
		if (identity)
			ereport(ERROR,
					errcode(ERRCODE_INVALID_TABLE_DEFINITION),
					errmsg("column \"%s\" of table \"%s\" is an identity column",
						   col->name, table->name),
					errdetail("\"nullable\": true drops NOT NULL, which an identity column cannot do without."),
					errhint("Remove \"nullable\" from the operation."));
	}

	if (nullable && !notnull)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("column \"%s\" of table \"%s\" is already nullable",
					   col->name, table->name),
				errdetail("\"nullable\": true drops NOT NULL, and the column has none."),
				errhint("Remove \"nullable\" from the operation."));
	if (!nullable && notnull)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("column \"%s\" of table \"%s\" is already NOT NULL",
					   col->name, table->name),
				errdetail("\"nullable\": false sets NOT NULL, and the column has it already."),
				errhint("Remove \"nullable\" from the operation."));
}

/* A table nobody but this migration has seen is empty: change it directly. */
static void
alter_in_place(MigPlan *plan, MigOperation *op, MigModelTable *table,
			   MigModelColumn *col)
{
	char	   *qtable = MigQuoteTable(table->relid);
	const char *qcol = MigQuoteColumn(table->relid, col->attnum);

	if (op->type != NULL)
		MigExec(psprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s",
						 qtable, qcol, op->type), table->relid);
	if (op->has_default)
		MigExec(op->default_expr ?
				psprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT (%s)",
						 qtable, qcol, op->default_expr) :
				psprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT",
						 qtable, qcol), table->relid);
	if (op->has_nullable)
		MigExec(psprintf("ALTER TABLE %s ALTER COLUMN %s %s NOT NULL",
						 qtable, qcol, op->nullable ? "DROP" : "SET"),
				table->relid);
	if (op->has_comment)
		MigExec(psprintf("COMMENT ON COLUMN %s.%s IS %s", qtable, qcol,
						 op->comment ? quote_literal_cstr(op->comment) : "NULL"),
				table->relid);
	if (op->check != NULL)
		add_check(plan, table, op->check, false);
	if (op->references != NULL)
		add_foreign_key(plan, table, col, op->references, false);
	if (op->unique_name != NULL)
		MigExec(psprintf("ALTER TABLE %s ADD CONSTRAINT %s UNIQUE (%s)",
						 qtable, quote_identifier(op->unique_name), qcol),
				table->relid);
}

void
MigOpAlterColumn(MigPlan *plan, MigOperation *op)
{
	MigModelTable *table = MigPlanGetTable(plan, op, op->table);
	MigModelColumn *col = MigModelGetColumn(table, op->column);
	MigDupColumn *dc;
	MigDup	   *dup;

	if (op->unique_name != NULL &&
		OidIsValid(get_relname_relid(op->unique_name,
									 get_rel_namespace(table->relid))))
		ereport(ERROR,
				errcode(ERRCODE_DUPLICATE_OBJECT),
				errmsg("relation \"%s\" already exists in schema \"%s\"",
					   op->unique_name, plan->schema),
				errdetail("The unique constraint's index would take that name."));

	if (op->has_nullable)
		check_nullable_change(table, col, op->nullable);

	if (table->created)
	{
		alter_in_place(plan, op, table, col);
		return;
	}

	dc = palloc0(sizeof(MigDupColumn));
	dc->col = col;
	dc->type = op->type;
	dc->drop_not_null = op->has_nullable && op->nullable;
	dc->set_not_null = op->has_nullable && !op->nullable;
	dc->has_default = op->has_default;
	dc->default_expr = op->default_expr;
	dc->has_comment = op->has_comment;
	dc->comment = op->comment;
	dc->up = op->up;
	dc->down = op->down;
	dup = MigDupStart(plan, table, list_make1(dc), InvalidOid);

	/* the new constraints go on the shadow, which the model now calls col */
	if (op->check != NULL)
		add_check(plan, table, op->check, true);
	if (op->references != NULL)
		add_foreign_key(plan, table, dc->shadow, op->references, true);
	if (op->unique_name != NULL)
	{
		Oid			indexoid;

		indexoid = MigIndexDeclare(plan, table->relid,
								   psprintf("CREATE UNIQUE INDEX %s ON %s (%s)",
											quote_identifier(op->unique_name),
											MigQuoteTable(table->relid),
											MigQuoteColumn(table->relid, dc->attnum)));
		MigDupRemember(plan, indexoid, op->unique_name, 'u', false, false);
		MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_CONSTRAINT_USING_INDEX,
				   table->relid, InvalidAttrNumber, indexoid, op->unique_name,
				   "UNIQUE");
	}
	MigDupFinish(plan, dup);
}
