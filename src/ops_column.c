/*-------------------------------------------------------------------------
 *
 * ops_column.c
 *		Operations on columns: add_column, drop_column, rename_column.
 *
 *		add_column adds the column under an internal name at start, so that
 *		it stays out of the old version's way (even when the old version is
 *		the base schema itself), and gives it its real name at complete.  A
 *		column whose default is volatile (or of a serial type) is added
 *		without the default, which takes no table rewrite; existing rows get
 *		their values from the backfill.
 *		drop_column hides the column from the new version and drops it at
 *		complete.  rename_column renames the column in the new version and
 *		physically at complete.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "commands/defrem.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "column_dup.h"
#include "ddl.h"
#include "index_declare.h"
#include "names.h"
#include "ops.h"
#include "ops_lib.h"
#include "steps.h"

static bool default_is_volatile(const char *expr, const char *type);
static const char *serial_base_type(const char *type);
static bool same_expression(const char *a, const char *b);
static char *add_serial_sequence(MigModelTable *table, const char *tablename,
								 const char *colname, AttrNumber attnum,
								 const char *type);

/*
 * The integer type a serial pseudo-type stands for, or NULL if type is not
 * one of them.
 */
static const char *
serial_base_type(const char *type)
{
	static const char *const serials[][2] = {
		{"smallserial", "smallint"}, {"serial2", "smallint"},
		{"serial", "integer"}, {"serial4", "integer"},
		{"bigserial", "bigint"}, {"serial8", "bigint"}
	};
	int			i;

	for (i = 0; i < lengthof(serials); i++)
		if (pg_strcasecmp(type, serials[i][0]) == 0)
			return serials[i][1];
	return NULL;
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

/* Are two expressions the same text, but for surrounding white space? */
static bool
same_expression(const char *a, const char *b)
{
	size_t		alen;
	size_t		blen;

	while (isspace((unsigned char) *a))
		a++;
	while (isspace((unsigned char) *b))
		b++;
	alen = strlen(a);
	blen = strlen(b);
	while (alen > 0 && isspace((unsigned char) a[alen - 1]))
		alen--;
	while (blen > 0 && isspace((unsigned char) b[blen - 1]))
		blen--;
	return alen == blen && strncmp(a, b, alen) == 0;
}

/*
 * What ADD COLUMN of a serial type does, but without the rewrite: create
 * the sequence PostgreSQL would (named <table>_<column>_seq, or the next
 * free variant of that, after the column's final name; owned by the
 * table's owner and by the column, so that dropping the column at rollback
 * drops it and renaming the column at complete keeps it), and make
 * nextval() the column's default.  Returns the default expression.
 */
static char *
add_serial_sequence(MigModelTable *table, const char *tablename,
					const char *colname, AttrNumber attnum, const char *type)
{
	Oid			nspid = get_rel_namespace(table->relid);
	char	   *seqname = ChooseRelationName(tablename, colname, "seq", nspid,
											 false);
	char	   *qseq = quote_qualified_identifier(get_namespace_name(nspid),
												  seqname);
	char	   *qtable = MigQuoteTable(table->relid);
	char	   *nextval;
	HeapTuple	tup;
	Oid			owner;

	MigExec(psprintf("CREATE SEQUENCE %s AS %s", qseq, type), table->relid);

	/* as for a serial column, the table's owner owns the sequence */
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(table->relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", table->relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	if (owner != GetUserId())
		MigExec(psprintf("ALTER SEQUENCE %s OWNER TO %s", qseq,
						 quote_identifier(GetUserNameFromId(owner, false))),
				table->relid);

	MigExec(psprintf("ALTER SEQUENCE %s OWNED BY %s.%s", qseq, qtable,
					 MigQuoteColumn(table->relid, attnum)),
			table->relid);
	nextval = psprintf("nextval(%s::regclass)", quote_literal_cstr(qseq));
	MigExec(psprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s", qtable,
					 MigQuoteColumn(table->relid, attnum), nextval),
			table->relid);
	return nextval;
}

/*
 * add_column.  A volatile default (and a serial type's nextval() default)
 * would make ADD COLUMN rewrite the table under its ACCESS EXCLUSIVE lock,
 * so such a column is added without a default, which only touches the
 * catalog, and the default is set afterwards, which applies to new rows
 * only.  Existing rows then get a value of the default from the dual-write
 * trigger, run by the backfill, and a NOT NULL column is NOT NULL through a
 * NOT VALID check until complete, as one without a default is.
 */
void
MigOpAddColumn(MigPlan *plan, MigOperation *op)
{
	MigModelTable *table = MigPlanGetTable(plan, op, op->table);
	MigColumn  *col = op->column_def;
	char	   *shadow = MigInternalName(MIG_SHADOW_COLUMN_PREFIX, col->name);
	char	   *qtable = MigQuoteTable(table->relid);
	const char *serial_type = serial_base_type(col->type);
	bool		late_default;	/* default set after the column is added */
	bool		not_null_check;	/* NOT NULL through a check until complete */
	char	   *default_expr = col->default_expr;
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

	/* a serial type is NOT NULL with a nextval() default, as in CREATE TABLE */
	if (serial_type != NULL && col->default_expr != NULL)
		ereport(ERROR,
				errcode(ERRCODE_SYNTAX_ERROR),
				errmsg("multiple default values specified for column \"%s\" of table \"%s\"",
					   col->name, op->table),
				errdetail("A column of type %s gets its default from a new sequence.",
						  col->type),
				errhint("Remove \"default\", or use the type %s.", serial_type));
	if (serial_type != NULL && col->nullable)
		ereport(ERROR,
				errcode(ERRCODE_SYNTAX_ERROR),
				errmsg("conflicting NULL/NOT NULL declarations for column \"%s\" of table \"%s\"",
					   col->name, op->table),
				errdetail("A column of type %s is always NOT NULL.", col->type),
				errhint("Remove \"nullable\", or use the type %s.", serial_type));

	if (!col->nullable && col->default_expr == NULL && op->up == NULL &&
		serial_type == NULL)
		MigNotSupportedYet(plan, op, "a NOT NULL column without a default");
	if (col->unique &&
		OidIsValid(get_relname_relid(col->name, plan->model->schema_oid)))
		ereport(ERROR,
				errcode(ERRCODE_DUPLICATE_TABLE),
				errmsg("relation \"%s\" already exists in schema \"%s\"",
					   col->name, plan->schema),
				errdetail("The unique constraint of column \"%s\" takes the column's name, as in pgroll, and so does its index.",
						  col->name));
	if (col->generated_expression != NULL || col->is_identity)
		MigNotSupportedYet(plan, op, "a generated column");

	late_default = serial_type != NULL ||
		(col->default_expr != NULL &&
		 default_is_volatile(col->default_expr, col->type));
	not_null_check = !col->nullable &&
		(col->default_expr == NULL || late_default);

	initStringInfo(&sql);
	appendStringInfo(&sql, "ALTER TABLE %s ADD COLUMN %s %s", qtable,
					 quote_identifier(shadow),
					 serial_type != NULL ? serial_type : col->type);
	if (col->default_expr != NULL && !late_default)
		appendStringInfo(&sql, " DEFAULT (%s)", col->default_expr);

	/*
	 * NOT NULL cannot hold for existing rows until the backfill has given
	 * them a value: a NOT VALID check enforces it for new rows, and complete
	 * validates it and turns it into NOT NULL without a scan.
	 */
	if (!col->nullable && !not_null_check)
		appendStringInfoString(&sql, " NOT NULL");
	MigExec(sql.data, table->relid);

	attnum = get_attnum(table->relid, shadow);
	if (attnum == InvalidAttrNumber)
		elog(ERROR, "column \"%s\" was not added", shadow);

	if (serial_type != NULL)
		default_expr = add_serial_sequence(table, op->table, col->name, attnum,
										   serial_type);
	else if (late_default)
		MigExec(psprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT (%s)",
						 qtable, quote_identifier(shadow), col->default_expr),
				table->relid);

	if (col->comment)
		MigExec(psprintf("COMMENT ON COLUMN %s.%s IS %s", qtable,
						 quote_identifier(shadow),
						 quote_literal_cstr(col->comment)), table->relid);

	if (late_default &&
		(op->up == NULL || same_expression(op->up, default_expr)))
	{
		/*
		 * The column's value is one value of its default per row, as if it
		 * had been added with the default: existing rows get one from the
		 * backfill, and a row the old version inserts keeps the one the
		 * default gave it.  An "up" of just the default would instead draw
		 * a new value at every write through the old version (a serial
		 * number would change whenever the old version updated the row),
		 * so the rule keeps the value the column has.  It reads the column
		 * by its name in the migration, so the column joins the model
		 * first; the cast keeps COALESCE to the column's type.
		 */
		Oid			typid;
		int32		typmod;
		Oid			collid;

		get_atttypetypmodcoll(table->relid, attnum, &typid, &typmod, &collid);
		MigModelAddColumn(table, attnum, col->name);
		MigAddRule(plan, table, true, attnum, col->name,
				   psprintf("COALESCE(%s, (%s)::%s)",
							quote_identifier(col->name), default_expr,
							format_type_extended(typid, typmod,
												 FORMAT_TYPE_TYPEMOD_GIVEN |
												 FORMAT_TYPE_FORCE_QUALIFY)));
	}
	else
	{
		if (op->up != NULL)
			MigAddRule(plan, table, true, attnum, col->name, op->up);
		MigModelAddColumn(table, attnum, col->name);
	}
	if (not_null_check)
		MigAddNotNullCheck(plan, table->relid, attnum, col->name);

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
		MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_VALIDATE_CONSTRAINT, table->relid,
				   InvalidAttrNumber,
				   get_relation_constraint_oid(table->relid, col->check->name, false),
				   NULL, NULL);
		/* a check that does not name the new column does not go with it */
		MigStepAdd(plan, MIG_PHASE_ROLLBACK, MIG_STEP_DROP_CONSTRAINT, table->relid,
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
		MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_VALIDATE_CONSTRAINT, table->relid,
				   InvalidAttrNumber,
				   get_relation_constraint_oid(table->relid, fk->name, false),
				   NULL, NULL);
	}

	/*
	 * unique: a unique index on the new column, built concurrently by a job,
	 * becomes at complete the constraint pgroll makes, named after the
	 * column.
	 */
	if (col->unique)
	{
		char	   *index = MigInternalName("_mig_uniq_", col->name);
		Oid			indexoid;

		if (OidIsValid(get_relname_relid(index, plan->model->schema_oid)))
			ereport(ERROR,
					errcode(ERRCODE_DUPLICATE_TABLE),
					errmsg("relation \"%s\" already exists in schema \"%s\"",
						   index, plan->schema),
					errdetail("Column \"%s\" gets its unique index under that name until the migration completes; another unique column of the same name in this migration, or a leftover index, has it.",
							  col->name),
					errhint("A unique column's constraint and index are named after the column, and an index name is unique in its schema: give the columns different names, or drop a leftover index \"%s\".", index));
		if (OidIsValid(get_relname_relid(col->name, plan->model->schema_oid)))
			ereport(ERROR,
					errcode(ERRCODE_DUPLICATE_TABLE),
					errmsg("relation \"%s\" already exists in schema \"%s\"",
						   col->name, plan->schema),
					errdetail("The unique constraint of column \"%s\" of table \"%s\" is named after the column and gives its name to its index at complete.",
							  col->name, op->table),
					errhint("Give the column another name."));
		indexoid = MigIndexDeclare(plan, table->relid,
								   psprintf("CREATE UNIQUE INDEX %s ON %s (%s)",
											quote_identifier(index), qtable,
											quote_identifier(shadow)));
		MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_CONSTRAINT_USING_INDEX,
				   table->relid, InvalidAttrNumber, indexoid, col->name, "UNIQUE");
	}

	MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_RENAME_COLUMN, table->relid, attnum,
			   InvalidOid, col->name, NULL);
	MigStepAdd(plan, MIG_PHASE_ROLLBACK, MIG_STEP_DROP_COLUMN, table->relid, attnum,
			   InvalidOid, NULL, NULL);
}

void
MigOpDropColumn(MigPlan *plan, MigOperation *op)
{
	MigModelTable *table = MigPlanGetTable(plan, op, op->table);
	MigModelColumn *col = MigModelGetColumn(table, op->column);

	MigCheckColumnDependents(plan, table, buildint2vector(&col->attnum, 1),
							 true);
	col->hidden = true;
	if (op->down != NULL)
		MigAddRule(plan, table, false, col->attnum, col->name, op->down);
	MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_DROP_COLUMN, table->relid,
			   col->attnum, InvalidOid, NULL, NULL);
}

void
MigOpRenameColumn(MigPlan *plan, MigOperation *op)
{
	MigModelTable *table = MigPlanGetTable(plan, op, op->table);
	MigModelColumn *col = MigModelGetColumn(table, op->from);

	if (MigModelFindColumn(table, op->to) != NULL)
		ereport(ERROR,
				errcode(ERRCODE_DUPLICATE_COLUMN),
				errmsg("column \"%s\" of table \"%s\" already exists",
					   op->to, op->table));

	col->name = pstrdup(op->to);
	MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_RENAME_COLUMN, table->relid,
			   col->attnum, InvalidOid, op->to, NULL);
}
