/*-------------------------------------------------------------------------
 *
 * convert_alter.c
 *		mig.convert of ALTER TABLE: each command becomes one operation
 *		(add_column, drop_column, alter_column, create_constraint,
 *		drop_multicolumn_constraint), or, if any command can't be written
 *		exactly as an operation, the whole statement is a "sql" operation
 *		(convert.c).
 *
 *		"up" and "down": a change that old and new values map onto as they
 *		are (a constraint added, NOT NULL set, a default) gets the column
 *		itself both ways, as the statement would leave the values.  A
 *		change whose new version may write what the old one can't hold (NOT
 *		NULL or a constraint dropped) gets the placeholder as "down", a
 *		type change CAST expressions where PostgreSQL has the cast in that
 *		direction (the statement's USING as "up"), the placeholder
 *		otherwise.  The old type and a dropped constraint's columns are read
 *		from the catalogs, without a lock; if the table is not there the
 *		placeholder stands.
 *
 *	IDENTIFICATION
 *		src/convert_alter.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_constraint.h"
#include "commands/defrem.h"
#include "nodes/nodeFuncs.h"
#include "parser/parse_coerce.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "compat.h"
#include "convert.h"
#include "sql_text.h"

static void column_map(StringInfo b, const char *key, List *columns,
					   const char *value);
static bool column_refs_walker(Node *node, List **names);
static bool convert_add_constraint(StringInfo b, const MigSqlStmt *s,
								   const char *table, Constraint *con,
								   int from, int limit);
static bool convert_drop_constraint(StringInfo b, AlterTableStmt *stmt,
									AlterTableCmd *cmd);
static bool convert_alter_type(StringInfo b, const MigSqlStmt *s,
							   AlterTableStmt *stmt, AlterTableCmd *cmd,
							   int from, int limit);

/*
 * {"col": "<value>", ...}: each column to value, or to itself (the quoted
 * column name) when value is NULL.
 */
static void
column_map(StringInfo b, const char *key, List *columns, const char *value)
{
	ListCell   *lc;

	MigJsonKey(b, key);
	appendStringInfoChar(b, '{');
	foreach(lc, columns)
	{
		const char *col = strVal(lfirst(lc));

		MigJsonStr(b, col, value ? value : quote_identifier(col));
	}
	appendStringInfoChar(b, '}');
}

/* the column names an expression refers to (the last name of each) */
static bool
column_refs_walker(Node *node, List **names)
{
	if (node == NULL)
		return false;
	if (IsA(node, ColumnRef))
	{
		Node	   *last = llast(((ColumnRef *) node)->fields);

		if (IsA(last, String))
			*names = list_append_unique(*names, last);
		return false;
	}
	return raw_expression_tree_walker(node, column_refs_walker, names);
}

static bool
convert_add_constraint(StringInfo b, const MigSqlStmt *s, const char *table,
					   Constraint *con, int from, int limit)
{
	List	   *columns;
	char	   *check = NULL;

	if (con->skip_validation || con->deferrable || con->initdeferred ||
		con->indexname != NULL || con->is_no_inherit ||
		MigConstraintNotEnforced(con) || MigConstraintIsTemporal(con) ||
		con->including != NIL || con->options != NIL ||
		con->indexspace != NULL || con->nulls_not_distinct)
		return false;
	switch (con->contype)
	{
		case CONSTR_PRIMARY:
		case CONSTR_UNIQUE:
			columns = con->keys;
			break;
		case CONSTR_CHECK:
			columns = NIL;
			(void) column_refs_walker(con->raw_expr, &columns);
			check = MigSqlTextAfterKeyword(s, from, limit, "check", true);
			if (check == NULL)
				return false;
			break;
		case CONSTR_FOREIGN:
			if (con->pk_attrs == NIL)
				return false;
			columns = con->fk_attrs;
			break;
		default:
			return false;
	}
	if (columns == NIL)
		return false;
	if (con->conname == NULL)
	{
		/* the name PostgreSQL would give it */
		StringInfoData cols;
		ListCell   *lc;

		initStringInfo(&cols);
		foreach(lc, con->contype == CONSTR_CHECK ?
				list_make1(linitial(columns)) : columns)
			appendStringInfo(&cols, "%s%s", cols.len > 0 ? "_" : "",
							 strVal(lfirst(lc)));
		con->conname = makeObjectName(table,
									  con->contype == CONSTR_PRIMARY ? NULL : cols.data,
									  con->contype == CONSTR_PRIMARY ? "pkey" :
									  con->contype == CONSTR_UNIQUE ? "key" :
									  con->contype == CONSTR_CHECK ? "check" : "fkey");
	}

	MigJsonElem(b);
	appendStringInfoString(b, "{\"create_constraint\": {");
	MigJsonStr(b, "table", table);
	MigJsonStr(b, "name", con->conname);
	MigJsonStr(b, "type", con->contype == CONSTR_PRIMARY ? "primary_key" :
			   con->contype == CONSTR_UNIQUE ? "unique" :
			   con->contype == CONSTR_CHECK ? "check" : "foreign_key");
	MigJsonStrList(b, "columns", columns);
	if (check != NULL)
		MigJsonStr(b, "check", check);
	if (con->contype == CONSTR_FOREIGN)
	{
		MigConvertFkReferences(b, con);
	}
	column_map(b, "up", columns, NULL);
	column_map(b, "down", columns, NULL);
	appendStringInfoString(b, "}}");
	return true;
}

/*
 * DROP CONSTRAINT: drop_multicolumn_constraint, whose "down" must give the
 * old version values that its constraint still allows.
 */
static bool
convert_drop_constraint(StringInfo b, AlterTableStmt *stmt, AlterTableCmd *cmd)
{
	Oid			relid;
	Oid			conoid;
	HeapTuple	tup;
	Form_pg_constraint con;
	Datum		keys;
	bool		isnull;
	ArrayType  *arr;
	int16	   *attnums;
	int			n;
	int			i;
	List	   *columns = NIL;

	if (cmd->missing_ok || cmd->behavior != DROP_RESTRICT)
		return false;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid))
		return false;
	conoid = get_relation_constraint_oid(relid, cmd->name, true);
	if (!OidIsValid(conoid))
		return false;
	tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid));
	if (!HeapTupleIsValid(tup))
		return false;
	con = (Form_pg_constraint) GETSTRUCT(tup);
	if (con->contype != CONSTRAINT_CHECK && con->contype != CONSTRAINT_FOREIGN &&
		con->contype != CONSTRAINT_UNIQUE)
	{
		ReleaseSysCache(tup);
		return false;
	}
	keys = SysCacheGetAttr(CONSTROID, tup, Anum_pg_constraint_conkey, &isnull);
	if (isnull)
	{
		ReleaseSysCache(tup);
		return false;
	}
	arr = DatumGetArrayTypeP(keys);
	n = ARR_DIMS(arr)[0];
	attnums = (int16 *) ARR_DATA_PTR(arr);
	for (i = 0; i < n; i++)
		columns = lappend(columns,
						  makeString(get_attname(relid, attnums[i], false)));
	ReleaseSysCache(tup);

	MigJsonElem(b);
	appendStringInfoString(b, "{\"drop_multicolumn_constraint\": {");
	MigJsonStr(b, "table", stmt->relation->relname);
	MigJsonStr(b, "name", cmd->name);
	column_map(b, "up", columns, NULL);
	column_map(b, "down", columns, MIG_CONVERT_PLACEHOLDER);
	appendStringInfoString(b, "}}");
	return true;
}

/*
 * ALTER COLUMN TYPE: up is the USING expression, or a cast to the new
 * type; down a cast back to the old one; each only where PostgreSQL has
 * the cast, the placeholder otherwise.
 */
static bool
convert_alter_type(StringInfo b, const MigSqlStmt *s, AlterTableStmt *stmt,
				   AlterTableCmd *cmd, int from, int limit)
{
	ColumnDef  *def = castNode(ColumnDef, cmd->def);
	Oid			newtyp;
	int32		newmod;
	char	   *newtext;
	Oid			oldtyp = InvalidOid;
	int32		oldmod = -1;
	Oid			relid;
	const char *qcol = quote_identifier(cmd->name);
	char	   *up = MIG_CONVERT_PLACEHOLDER;
	char	   *down = MIG_CONVERT_PLACEHOLDER;

	if (def->collClause != NULL)
		return false;
	newtext = MigTypeNameText(def->typeName, &newtyp, &newmod);
	if (newtext == NULL)
		return false;

	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (OidIsValid(relid))
	{
		AttrNumber	attnum = get_attnum(relid, cmd->name);
		Oid			coll;

		if (attnum > 0)
			get_atttypetypmodcoll(relid, attnum, &oldtyp, &oldmod, &coll);
	}

	if (def->raw_default != NULL)
	{
		up = MigSqlTextAfterKeyword(s, from, limit, "using", false);
		if (up == NULL)
			return false;
	}
	else if (OidIsValid(oldtyp) && OidIsValid(newtyp) &&
			 can_coerce_type(1, &oldtyp, &newtyp, COERCION_EXPLICIT))
		up = psprintf("CAST(%s AS %s)", qcol, newtext);
	if (OidIsValid(oldtyp) && OidIsValid(newtyp) &&
		can_coerce_type(1, &newtyp, &oldtyp, COERCION_EXPLICIT))
		down = psprintf("CAST(%s AS %s)", qcol,
						format_type_with_typemod(oldtyp, oldmod));

	MigJsonElem(b);
	appendStringInfoString(b, "{\"alter_column\": {");
	MigJsonStr(b, "table", stmt->relation->relname);
	MigJsonStr(b, "column", cmd->name);
	MigJsonStr(b, "type", newtext);
	MigJsonStr(b, "up", up);
	MigJsonStr(b, "down", down);
	appendStringInfoString(b, "}}");
	return true;
}

bool
MigConvertAlterTable(StringInfo ops, const MigSqlStmt *s, AlterTableStmt *stmt)
{
	const char *table = stmt->relation->relname;
	List	   *items = MigSqlItemStarts(s);
	ListCell   *lc;

	if (stmt->missing_ok || stmt->objtype != OBJECT_TABLE ||
		list_length(items) != list_length(stmt->cmds))
		return false;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
		int			i = foreach_current_index(lc);
		int			from = list_nth_int(items, i);
		int			limit = i + 1 < list_length(items) ?
			list_nth_int(items, i + 1) : -1;
		bool		needs_up;
		char	   *text;

		switch (cmd->subtype)
		{
			case AT_AddColumn:
				if (cmd->missing_ok)
					return false;
				MigJsonElem(ops);
				appendStringInfoString(ops, "{\"add_column\": {");
				MigJsonStr(ops, "table", table);
				MigJsonKey(ops, "column");
				if (!MigConvertColumn(ops, s, table, castNode(ColumnDef, cmd->def),
									  limit, NULL, &needs_up))
					return false;
				if (needs_up)
					MigJsonStr(ops, "up", MIG_CONVERT_PLACEHOLDER);
				appendStringInfoString(ops, "}}");
				break;
			case AT_DropColumn:
				if (cmd->missing_ok || cmd->behavior != DROP_RESTRICT)
					return false;
				MigJsonElem(ops);
				appendStringInfoString(ops, "{\"drop_column\": {");
				MigJsonStr(ops, "table", table);
				MigJsonStr(ops, "column", cmd->name);
				appendStringInfoString(ops, "}}");
				break;
			case AT_SetNotNull:
			case AT_DropNotNull:
				MigJsonElem(ops);
				appendStringInfoString(ops, "{\"alter_column\": {");
				MigJsonStr(ops, "table", table);
				MigJsonStr(ops, "column", cmd->name);
				MigJsonBool(ops, "nullable", cmd->subtype == AT_DropNotNull);
				if (cmd->subtype == AT_SetNotNull)
					MigJsonStr(ops, "up", quote_identifier(cmd->name));
				else
					MigJsonStr(ops, "down", MIG_CONVERT_PLACEHOLDER);
				appendStringInfoString(ops, "}}");
				break;
			case AT_AlterColumnType:
				if (!convert_alter_type(ops, s, stmt, cmd, from, limit))
					return false;
				break;
			case AT_ColumnDefault:
				MigJsonElem(ops);
				appendStringInfoString(ops, "{\"alter_column\": {");
				MigJsonStr(ops, "table", table);
				MigJsonStr(ops, "column", cmd->name);
				if (cmd->def == NULL)
					text = NULL;
				else
				{
					text = MigSqlTextAfterKeyword(s, from, limit, "default", false);
					if (text == NULL)
						return false;
				}
				MigJsonStr(ops, "default", text);
				appendStringInfoString(ops, "}}");
				break;
			case AT_AddConstraint:
				if (!convert_add_constraint(ops, s, table,
											castNode(Constraint, cmd->def),
											from, limit))
					return false;
				break;
			case AT_DropConstraint:
				if (!convert_drop_constraint(ops, stmt, cmd))
					return false;
				break;
			default:
				return false;
		}
	}
	return true;
}
