/*-------------------------------------------------------------------------
 *
 * ops_constraint.c
 *		create_constraint, drop_constraint, drop_multicolumn_constraint.
 *
 *		Like alter_column, these duplicate the constrained columns (see
 *		column_dup.c) so that each version sees its own data: the new
 *		version's columns carry the new constraint (NOT VALID until
 *		complete; a unique or primary key constraint comes from a unique
 *		index turned into the constraint at complete), or lack the dropped
 *		one, and "up" and "down" translate between the two.  A table created
 *		by the same migration is changed in place.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_constraint.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
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

static const char *map_sql(List *map, const char *column);
static MigModelColumn *column_by_attnum(MigModelTable *table, AttrNumber attnum);
static char *column_list(MigModelTable *table, List *names);
static char *index_clauses(MigPlan *plan, MigModelTable *table,
						   MigOperation *op);
static void drop_constraint(MigPlan *plan, MigOperation *op, bool multicolumn);

static const char *
map_sql(List *map, const char *column)
{
	ListCell   *lc;

	foreach(lc, map)
	{
		MigColumnSql *entry = lfirst(lc);

		if (strcmp(entry->column, column) == 0)
			return entry->sql;
	}
	return NULL;
}

static MigModelColumn *
column_by_attnum(MigModelTable *table, AttrNumber attnum)
{
	ListCell   *lc;

	foreach(lc, table->columns)
	{
		MigModelColumn *col = lfirst(lc);

		if (col->attnum == attnum && !col->hidden)
			return col;
	}
	return NULL;
}

/* "a", "b": the physical columns the model names, quoted */
static char *
column_list(MigModelTable *table, List *names)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, names)
		appendStringInfo(&buf, "%s%s", foreach_current_index(lc) > 0 ? ", " : "",
						 MigQuoteColumn(table->relid,
										MigModelGetColumn(table, lfirst(lc))->attnum));
	return buf.data;
}

/* INCLUDE, WITH and TABLESPACE of a unique or primary key index */
static char *
index_clauses(MigPlan *plan, MigModelTable *table, MigOperation *op)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (op->index_include_columns != NIL)
		appendStringInfo(&buf, " INCLUDE (%s)",
						 column_list(table, op->index_include_columns));
	if (op->index_storage_parameters != NULL)
		appendStringInfo(&buf, " WITH (%s)", op->index_storage_parameters);
	if (op->index_tablespace != NULL)
		appendStringInfo(&buf, " %sTABLESPACE %s",
						 table->created ? "USING INDEX " : "",
						 quote_identifier(op->index_tablespace));
	return buf.data;
}

void
MigOpCreateConstraint(MigPlan *plan, MigOperation *op)
{
	MigModelTable *table = MigPlanGetTable(plan, op, op->table);
	char	   *qtable = MigQuoteTable(table->relid);
	bool		is_index = op->constraint_type == MIG_CONSTRAINT_UNIQUE ||
		op->constraint_type == MIG_CONSTRAINT_PRIMARY_KEY;
	bool		validate = !table->created;
	List	   *columns = NIL;
	MigDup	   *dup = NULL;
	ListCell   *lc;

	if (OidIsValid(get_relation_constraint_oid(table->relid, op->name, true)))
		ereport(ERROR,
				errcode(ERRCODE_DUPLICATE_OBJECT),
				errmsg("constraint \"%s\" for table \"%s\" already exists",
					   op->name, op->table));
	if (is_index &&
		OidIsValid(get_relname_relid(op->name, get_rel_namespace(table->relid))))
		ereport(ERROR,
				errcode(ERRCODE_DUPLICATE_OBJECT),
				errmsg("relation \"%s\" already exists in schema \"%s\"",
					   op->name, plan->schema),
				errdetail("The constraint's index would take that name."));
	if (op->constraint_type == MIG_CONSTRAINT_PRIMARY_KEY)
	{
		Oid			pkoid;

		(void) get_primary_key_attnos(table->relid, true, &pkoid);
		if (OidIsValid(pkoid))
			ereport(ERROR,
					errcode(ERRCODE_INVALID_TABLE_DEFINITION),
					errmsg("table \"%s\" already has a primary key", op->table),
					errhint("Drop the existing primary key first."));
	}

	/* every column exists, in the version the migration is making */
	foreach(lc, op->constraint_columns)
		(void) MigModelGetColumn(table, lfirst(lc));

	if (!table->created)
	{
		foreach(lc, op->constraint_columns)
		{
			MigDupColumn *dc = palloc0(sizeof(MigDupColumn));

			dc->col = MigModelGetColumn(table, lfirst(lc));
			dc->up = map_sql(op->up_map, lfirst(lc));
			dc->down = map_sql(op->down_map, lfirst(lc));
			dc->set_not_null = op->constraint_type == MIG_CONSTRAINT_PRIMARY_KEY;
			columns = lappend(columns, dc);
		}
		dup = MigDupStart(plan, table, columns, InvalidOid);
	}

	/* the model now names the shadows: the constraint goes on them */
	if (is_index && !table->created)
	{
		Oid			indexoid;
		char		contype = op->constraint_type == MIG_CONSTRAINT_PRIMARY_KEY ? 'p' : 'u';

		indexoid = MigIndexDeclare(plan, table->relid,
								   psprintf("CREATE UNIQUE INDEX %s ON %s (%s)%s",
											quote_identifier(op->name), qtable,
											column_list(table, op->constraint_columns),
											index_clauses(plan, table, op)));
		MigDupRemember(plan, indexoid, op->name, contype, false, false);
		MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_CONSTRAINT_USING_INDEX,
				   table->relid, InvalidAttrNumber, indexoid, op->name,
				   contype == 'p' ? "PRIMARY KEY" : "UNIQUE");
	}
	else if (is_index)
		MigExec(psprintf("ALTER TABLE %s ADD CONSTRAINT %s %s (%s)%s", qtable,
						 quote_identifier(op->name),
						 op->constraint_type == MIG_CONSTRAINT_PRIMARY_KEY ?
						 "PRIMARY KEY" : "UNIQUE",
						 column_list(table, op->constraint_columns),
						 index_clauses(plan, table, op)),
				table->relid);
	else
	{
		StringInfoData sql;

		initStringInfo(&sql);
		appendStringInfo(&sql, "ALTER TABLE %s ADD CONSTRAINT %s ", qtable,
						 quote_identifier(op->name));
		if (op->constraint_type == MIG_CONSTRAINT_CHECK)
			appendStringInfo(&sql, "CHECK (%s)%s",
							 MigRewriteColumnRefs(op->check_expr, table),
							 op->no_inherit ? " NO INHERIT" : "");
		else
		{
			MigTableForeignKey *fk = op->table_references;

			appendStringInfo(&sql, "FOREIGN KEY (%s)%s",
							 column_list(table, op->constraint_columns),
							 MigForeignKeyClause(plan, NULL, fk->table,
												 fk->columns, fk->match_type,
												 fk->on_delete, fk->on_update,
												 fk->on_delete_set_columns,
												 false, false));
		}
		if (validate)
			appendStringInfoString(&sql, " NOT VALID");
		MigExec(sql.data, table->relid);
		if (validate)
			MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_VALIDATE_CONSTRAINT,
					   table->relid, InvalidAttrNumber,
					   get_relation_constraint_oid(table->relid, op->name, false),
					   NULL, NULL);
		/* a check that does not name its new columns does not go with them */
		MigStepAdd(plan, MIG_PHASE_ROLLBACK, MIG_STEP_DROP_CONSTRAINT,
				   table->relid, InvalidAttrNumber,
				   get_relation_constraint_oid(table->relid, op->name, false),
				   NULL, NULL);
	}

	if (dup != NULL)
		MigDupFinish(plan, dup);
}

/*
 * drop_constraint (one column) and drop_multicolumn_constraint: the
 * constrained columns are duplicated without the constraint.
 */
static void
drop_constraint(MigPlan *plan, MigOperation *op, bool multicolumn)
{
	MigModelTable *table = MigPlanGetTable(plan, op, op->table);
	Oid			conoid = get_relation_constraint_oid(table->relid, op->name, true);
	HeapTuple	tup;
	Form_pg_constraint con;
	Datum		conkey;
	bool		isnull;
	ArrayType  *arr;
	int16	   *attnums;
	int			nkeys;
	List	   *columns = NIL;
	ListCell   *lc;
	int			i;

	if (!OidIsValid(conoid))
		ereport(ERROR,
				errcode(ERRCODE_UNDEFINED_OBJECT),
				errmsg("constraint \"%s\" of table \"%s\" does not exist",
					   op->name, op->table));
	tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for constraint %u", conoid);
	con = (Form_pg_constraint) GETSTRUCT(tup);
	if (con->contype != CONSTRAINT_CHECK && con->contype != CONSTRAINT_FOREIGN &&
		con->contype != CONSTRAINT_UNIQUE)
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("constraint \"%s\" of table \"%s\" is not a check, foreign key or unique constraint",
					   op->name, op->table),
				errdetail("Operation %s drops only those kinds of constraint.",
						  multicolumn ? "drop_multicolumn_constraint" : "drop_constraint"));
	conkey = SysCacheGetAttr(CONSTROID, tup, Anum_pg_constraint_conkey, &isnull);
	if (isnull)
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("constraint \"%s\" of table \"%s\" covers no column",
					   op->name, op->table),
				errdetail("Operation %s of migration \"%s\" duplicates the columns a constraint covers, without it; this one covers none.",
						  multicolumn ? "drop_multicolumn_constraint" : "drop_constraint",
						  plan->migration->name),
				errhint("Drop it with a \"sql\" operation."));
	arr = DatumGetArrayTypeP(conkey);
	nkeys = ARR_DIMS(arr)[0];
	attnums = (int16 *) ARR_DATA_PTR(arr);
	if (!multicolumn && nkeys != 1)
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("constraint \"%s\" of table \"%s\" covers %d columns",
					   op->name, op->table, nkeys),
				errhint("Use drop_multicolumn_constraint to drop a constraint over several columns."));

	for (i = 0; i < nkeys; i++)
	{
		MigModelColumn *col = column_by_attnum(table, attnums[i]);
		MigDupColumn *dc;

		if (col == NULL)
			ereport(ERROR,
					errcode(ERRCODE_UNDEFINED_COLUMN),
					errmsg("constraint \"%s\" of table \"%s\" covers a column the new version does not have",
						   op->name, op->table));
		dc = palloc0(sizeof(MigDupColumn));
		dc->col = col;
		if (multicolumn)
		{
			dc->up = map_sql(op->up_map, col->name);
			dc->down = map_sql(op->down_map, col->name);
			if (dc->down == NULL)
				ereport(ERROR,
						errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("key \"down\" has no entry for column \"%s\" of constraint \"%s\"",
							   col->name, op->name),
						errdetail("Every column the constraint covers needs a \"down\" expression."));
		}
		else
		{
			dc->up = op->up;
			dc->down = op->down;
		}
		columns = lappend(columns, dc);
	}
	ReleaseSysCache(tup);

	/* a map entry for a column the constraint does not cover is a mistake */
	for (i = 0; i < 2; i++)
	{
		foreach(lc, i == 0 ? op->up_map : op->down_map)
		{
			MigColumnSql *entry = lfirst(lc);
			ListCell   *cc;
			bool		found = false;

			foreach(cc, columns)
				if (strcmp(((MigDupColumn *) lfirst(cc))->col->name, entry->column) == 0)
					found = true;
			if (!found)
				ereport(ERROR,
						errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("key \"%s\" has an entry for column \"%s\", which constraint \"%s\" does not cover",
							   i == 0 ? "up" : "down", entry->column, op->name));
		}
	}

	if (table->created)
		MigExec(psprintf("ALTER TABLE %s DROP CONSTRAINT %s",
						 MigQuoteTable(table->relid), quote_identifier(op->name)),
				table->relid);
	else
		MigDupFinish(plan, MigDupStart(plan, table, columns, conoid));
}

void
MigOpDropConstraint(MigPlan *plan, MigOperation *op)
{
	drop_constraint(plan, op, false);
}

void
MigOpDropMulticolumnConstraint(MigPlan *plan, MigOperation *op)
{
	drop_constraint(plan, op, true);
}
