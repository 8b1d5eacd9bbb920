/*-------------------------------------------------------------------------
 *
 * convert.c
 *		mig.convert(sql text) -> jsonb: DDL turned into a migration document
 *		with the operations pgroll's "convert" writes.
 *
 *		The SQL is parsed with the backend's raw parser, and each statement's
 *		raw parse tree is turned into operations: CREATE TABLE, ALTER TABLE
 *		(convert_alter.c), RENAME of a table, column or constraint, DROP
 *		TABLE, CREATE INDEX and DROP INDEX.  Expressions (defaults, checks,
 *		predicates) are the exact text of the SQL, found from the parser's
 *		positions (sql_text.c).  A statement that the operations can't
 *		express exactly (IF EXISTS, CASCADE, storage options, a kind of
 *		statement no operation has) becomes a "sql" operation with the
 *		statement's text as its "up".
 *
 *		Where a change needs data written by hand ("up" for a NOT NULL
 *		column added without a default, "down" for a NOT NULL or constraint
 *		dropped, a type change with no cast), the value is pgroll's
 *		placeholder, which mig.start refuses as an expression; a type
 *		change gets CAST expressions where the casts exist both ways.
 *		Schema qualifiers are dropped: a migration applies to the schema
 *		that mig.start is given.
 *
 *	IDENTIFICATION
 *		src/convert.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "compat.h"
#include "convert.h"
#include "sql_text.h"

PG_FUNCTION_INFO_V1(mig_convert);

static bool convert_create_table(StringInfo ops, const MigSqlStmt *s,
								 CreateStmt *stmt);
static bool convert_table_constraint(StringInfo b, const MigSqlStmt *s,
									 const char *table, Constraint *con);
static bool convert_rename(StringInfo ops, RenameStmt *stmt);
static bool convert_drop(StringInfo ops, DropStmt *stmt);
static bool convert_index(StringInfo ops, const MigSqlStmt *s,
						  IndexStmt *stmt);
static char *join_names(List *names);
static char *options_text(List *options);

/* JSON writing */

void
MigJsonKey(StringInfo b, const char *key)
{
	if (b->len > 0 && b->data[b->len - 1] != '{' && b->data[b->len - 1] != '[')
		appendStringInfoString(b, ", ");
	escape_json(b, key);
	appendStringInfoString(b, ": ");
}

void
MigJsonStr(StringInfo b, const char *key, const char *value)
{
	MigJsonKey(b, key);
	if (value == NULL)
		appendStringInfoString(b, "null");
	else
		escape_json(b, value);
}

void
MigJsonBool(StringInfo b, const char *key, bool value)
{
	MigJsonKey(b, key);
	appendStringInfoString(b, value ? "true" : "false");
}

/* before an element of an array */
void
MigJsonElem(StringInfo b)
{
	if (b->len > 0 && b->data[b->len - 1] != '[')
		appendStringInfoString(b, ", ");
}

/* a List of String (or char *) names as a JSON array */
void
MigJsonStrList(StringInfo b, const char *key, List *names)
{
	ListCell   *lc;

	MigJsonKey(b, key);
	appendStringInfoChar(b, '[');
	foreach(lc, names)
	{
		Node	   *n = lfirst(lc);

		MigJsonElem(b);
		escape_json(b, IsA(n, String) ? strVal(n) : (char *) n);
	}
	appendStringInfoChar(b, ']');
}

const char *
MigConvertFkAction(char action)
{
	switch (action)
	{
		case FKCONSTR_ACTION_RESTRICT:
			return "RESTRICT";
		case FKCONSTR_ACTION_CASCADE:
			return "CASCADE";
		case FKCONSTR_ACTION_SETNULL:
			return "SET NULL";
		case FKCONSTR_ACTION_SETDEFAULT:
			return "SET DEFAULT";
		default:
			return "NO ACTION";
	}
}

const char *
MigConvertFkMatch(char match)
{
	switch (match)
	{
		case FKCONSTR_MATCH_FULL:
			return "FULL";
		case FKCONSTR_MATCH_PARTIAL:
			return "PARTIAL";
		default:
			return "SIMPLE";
	}
}

/* names joined by "_", as PostgreSQL names constraints and indexes */
static char *
join_names(List *names)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, names)
	{
		if (buf.len > 0)
			appendStringInfoChar(&buf, '_');
		appendStringInfoString(&buf, strVal(lfirst(lc)));
	}
	return buf.data;
}

/* WITH (...) options as "name=value, ..." (storage_parameters) */
static char *
options_text(List *options)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		if (def->defnamespace != NULL)
			return NULL;
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, quote_identifier(def->defname));
		if (def->arg != NULL)
		{
			if (!IsA(def->arg, Integer) && !IsA(def->arg, Float) &&
				!IsA(def->arg, Boolean))
				return NULL;
			appendStringInfo(&buf, "=%s", defGetString(def));
		}
	}
	return buf.data;
}

bool
MigConvertColumn(StringInfo b, const MigSqlStmt *s, const char *table,
				 ColumnDef *cd, int limit, StringInfo constraints,
				 bool *needs_up)
{
	Oid			typid;
	int32		typmod;
	char	   *type;
	bool		nullable = true;
	bool		pk = false;
	bool		unique = false;
	bool		has_default = false;
	bool		generated = false;
	ListCell   *lc;

	*needs_up = false;
	if (cd->collClause != NULL || cd->compression != NULL ||
		cd->raw_default != NULL || cd->cooked_default != NULL ||
		cd->fdwoptions != NIL)
		return false;
	type = MigTypeNameText(cd->typeName, &typid, &typmod);
	if (type == NULL)
		return false;

	appendStringInfoChar(b, '{');
	MigJsonStr(b, "name", cd->colname);
	MigJsonStr(b, "type", type);
	foreach(lc, cd->constraints)
	{
		Constraint *con = lfirst_node(Constraint, lc);
		int			next = limit;
		char	   *text;

		if (lnext(cd->constraints, lc) != NULL)
			next = ((Constraint *) lfirst(lnext(cd->constraints, lc)))->location;
		if (con->deferrable || con->initdeferred || con->skip_validation ||
			MigConstraintNotEnforced(con))
			return false;

		switch (con->contype)
		{
			case CONSTR_NULL:
				nullable = true;
				break;
			case CONSTR_NOTNULL:
				if (con->conname != NULL || con->is_no_inherit)
					return false;
				nullable = false;
				break;
			case CONSTR_DEFAULT:
				text = MigSqlTextAfterKeyword(s, con->location, next,
											  "default", false);
				if (text == NULL)
					return false;
				MigJsonStr(b, "default", text);
				has_default = true;
				break;
			case CONSTR_CHECK:
				text = MigSqlTextAfterKeyword(s, con->location, next,
											  "check", true);
				if (text == NULL)
					return false;
				MigJsonKey(b, "check");
				appendStringInfoChar(b, '{');
				MigJsonStr(b, "name", con->conname ? con->conname :
						   makeObjectName(table, cd->colname, "check"));
				MigJsonStr(b, "constraint", text);
				if (con->is_no_inherit)
					MigJsonBool(b, "no_inherit", true);
				appendStringInfoChar(b, '}');
				break;
			case CONSTR_PRIMARY:
			case CONSTR_UNIQUE:
				if (con->keys != NIL || con->including != NIL ||
					con->options != NIL || con->indexspace != NULL ||
					con->indexname != NULL || MigConstraintIsTemporal(con))
					return false;
				if (con->conname == NULL && !con->nulls_not_distinct)
				{
					if (con->contype == CONSTR_PRIMARY)
						pk = true;
					else
						unique = true;
				}
				else
				{
					/* a named one is a constraint of the table */
					if (constraints == NULL)
						return false;
					MigJsonElem(constraints);
					appendStringInfoChar(constraints, '{');
					MigJsonStr(constraints, "name", con->conname ? con->conname :
							   makeObjectName(table, cd->colname, "key"));
					MigJsonStr(constraints, "type",
							   con->contype == CONSTR_PRIMARY ? "primary_key" : "unique");
					MigJsonStrList(constraints, "columns",
								   list_make1(makeString(cd->colname)));
					if (con->nulls_not_distinct)
						MigJsonBool(constraints, "nulls_not_distinct", true);
					appendStringInfoChar(constraints, '}');
					if (con->contype == CONSTR_PRIMARY)
						nullable = false;
				}
				break;
			case CONSTR_FOREIGN:
				if (list_length(con->pk_attrs) != 1 ||
					con->fk_del_set_cols != NIL || MigConstraintIsTemporal(con))
					return false;
				MigJsonKey(b, "references");
				appendStringInfoChar(b, '{');
				MigJsonStr(b, "name", con->conname ? con->conname :
						   makeObjectName(table, cd->colname, "fkey"));
				MigJsonStr(b, "table", con->pktable->relname);
				MigJsonStr(b, "column", strVal(linitial(con->pk_attrs)));
				MigJsonStr(b, "on_delete", MigConvertFkAction(con->fk_del_action));
				MigJsonStr(b, "on_update", MigConvertFkAction(con->fk_upd_action));
				MigJsonStr(b, "match_type", MigConvertFkMatch(con->fk_matchtype));
				appendStringInfoChar(b, '}');
				break;
			case CONSTR_GENERATED:
				if (!MigGeneratedIsStored(con))
					return false;
				text = MigSqlTextAfterKeyword(s, con->location, next, "as", true);
				if (text == NULL)
					return false;
				MigJsonKey(b, "generated");
				appendStringInfoChar(b, '{');
				MigJsonStr(b, "expression", text);
				appendStringInfoChar(b, '}');
				generated = true;
				break;
			case CONSTR_IDENTITY:
				MigJsonKey(b, "generated");
				appendStringInfoString(b, "{\"identity\": {");
				MigJsonStr(b, "user_specified_values",
						   con->generated_when == ATTRIBUTE_IDENTITY_ALWAYS ?
						   "ALWAYS" : "BY DEFAULT");
				if (con->options != NIL)
				{
					text = MigSqlTextAfterKeyword(s, con->location, next,
												  "identity", true);
					if (text == NULL)
						return false;
					MigJsonStr(b, "sequence_options", text);
				}
				appendStringInfoString(b, "}}");
				generated = true;
				nullable = false;
				break;
			default:
				return false;
		}
	}
	if (pk)
		MigJsonBool(b, "pk", true);
	if (unique)
		MigJsonBool(b, "unique", true);
	MigJsonBool(b, "nullable", nullable && !pk);
	appendStringInfoChar(b, '}');
	*needs_up = !nullable && !pk && !has_default && !generated &&
		!MigTypeNameIsSerial(cd->typeName);
	return true;
}

/* create_table's constraints[] entry for a table constraint */
static bool
convert_table_constraint(StringInfo b, const MigSqlStmt *s, const char *table,
						 Constraint *con)
{
	char	   *text;
	char	   *params;

	if (con->skip_validation || MigConstraintNotEnforced(con) ||
		MigConstraintIsTemporal(con))
		return false;
	MigJsonElem(b);
	appendStringInfoChar(b, '{');
	switch (con->contype)
	{
		case CONSTR_PRIMARY:
		case CONSTR_UNIQUE:
			if (con->indexname != NULL || con->keys == NIL)
				return false;
			MigJsonStr(b, "name", con->conname ? con->conname :
					   makeObjectName(table,
									  con->contype == CONSTR_PRIMARY ? NULL :
									  join_names(con->keys),
									  con->contype == CONSTR_PRIMARY ? "pkey" : "key"));
			MigJsonStr(b, "type", con->contype == CONSTR_PRIMARY ?
					   "primary_key" : "unique");
			MigJsonStrList(b, "columns", con->keys);
			if (con->nulls_not_distinct)
				MigJsonBool(b, "nulls_not_distinct", true);
			if (con->including != NIL || con->options != NIL ||
				con->indexspace != NULL)
			{
				MigJsonKey(b, "index_parameters");
				appendStringInfoChar(b, '{');
				if (con->including != NIL)
					MigJsonStrList(b, "include_columns", con->including);
				if (con->options != NIL)
				{
					params = options_text(con->options);
					if (params == NULL)
						return false;
					MigJsonStr(b, "storage_parameters", params);
				}
				if (con->indexspace != NULL)
					MigJsonStr(b, "tablespace", con->indexspace);
				appendStringInfoChar(b, '}');
			}
			break;
		case CONSTR_CHECK:
			text = MigSqlTextAfterKeyword(s, con->location, -1, "check", true);
			if (text == NULL)
				return false;
			MigJsonStr(b, "name", con->conname ? con->conname :
					   makeObjectName(table, NULL, "check"));
			MigJsonStr(b, "type", "check");
			MigJsonStr(b, "check", text);
			if (con->is_no_inherit)
				MigJsonBool(b, "no_inherit", true);
			break;
		case CONSTR_FOREIGN:
			if (con->pk_attrs == NIL)
				return false;
			MigJsonStr(b, "name", con->conname ? con->conname :
					   makeObjectName(table, join_names(con->fk_attrs), "fkey"));
			MigJsonStr(b, "type", "foreign_key");
			MigJsonStrList(b, "columns", con->fk_attrs);
			MigConvertFkReferences(b, con);
			break;
		default:
			return false;
	}
	if (con->deferrable)
		MigJsonBool(b, "deferrable", true);
	if (con->initdeferred)
		MigJsonBool(b, "initially_deferred", true);
	appendStringInfoChar(b, '}');
	return true;
}

static bool
convert_create_table(StringInfo ops, const MigSqlStmt *s, CreateStmt *stmt)
{
	StringInfoData columns;
	StringInfoData constraints;
	const char *table = stmt->relation->relname;
	ListCell   *lc;

	if (stmt->relation->relpersistence != RELPERSISTENCE_PERMANENT ||
		stmt->inhRelations != NIL || stmt->partbound != NULL ||
		stmt->partspec != NULL || stmt->ofTypename != NULL ||
		stmt->options != NIL || stmt->oncommit != ONCOMMIT_NOOP ||
		stmt->tablespacename != NULL || stmt->accessMethod != NULL ||
		stmt->if_not_exists || stmt->constraints != NIL)
		return false;

	initStringInfo(&columns);
	initStringInfo(&constraints);
	appendStringInfoChar(&columns, '[');
	appendStringInfoChar(&constraints, '[');
	foreach(lc, stmt->tableElts)
	{
		Node	   *elt = lfirst(lc);
		int			limit = -1;
		bool		needs_up;

		if (lnext(stmt->tableElts, lc) != NULL)
			limit = exprLocation(lfirst(lnext(stmt->tableElts, lc)));
		if (IsA(elt, ColumnDef))
		{
			MigJsonElem(&columns);
			if (!MigConvertColumn(&columns, s, table, (ColumnDef *) elt, limit,
								  &constraints, &needs_up))
				return false;
		}
		else if (IsA(elt, Constraint))
		{
			if (!convert_table_constraint(&constraints, s, table,
										  (Constraint *) elt))
				return false;
		}
		else
			return false;
	}
	appendStringInfoChar(&columns, ']');
	appendStringInfoChar(&constraints, ']');

	MigJsonElem(ops);
	appendStringInfoString(ops, "{\"create_table\": {");
	MigJsonStr(ops, "name", table);
	MigJsonKey(ops, "columns");
	appendStringInfoString(ops, columns.data);
	if (constraints.len > 2)
	{
		MigJsonKey(ops, "constraints");
		appendStringInfoString(ops, constraints.data);
	}
	appendStringInfoString(ops, "}}");
	return true;
}

static bool
convert_rename(StringInfo ops, RenameStmt *stmt)
{
	if (stmt->missing_ok || stmt->relation == NULL)
		return false;
	MigJsonElem(ops);
	switch (stmt->renameType)
	{
		case OBJECT_TABLE:
			appendStringInfoString(ops, "{\"rename_table\": {");
			MigJsonStr(ops, "from", stmt->relation->relname);
			MigJsonStr(ops, "to", stmt->newname);
			break;
		case OBJECT_COLUMN:
			if (stmt->relationType != OBJECT_TABLE)
				return false;
			appendStringInfoString(ops, "{\"rename_column\": {");
			MigJsonStr(ops, "table", stmt->relation->relname);
			MigJsonStr(ops, "from", stmt->subname);
			MigJsonStr(ops, "to", stmt->newname);
			break;
		case OBJECT_TABCONSTRAINT:
			appendStringInfoString(ops, "{\"rename_constraint\": {");
			MigJsonStr(ops, "table", stmt->relation->relname);
			MigJsonStr(ops, "from", stmt->subname);
			MigJsonStr(ops, "to", stmt->newname);
			break;
		default:
			return false;
	}
	appendStringInfoString(ops, "}}");
	return true;
}

static bool
convert_drop(StringInfo ops, DropStmt *stmt)
{
	ListCell   *lc;

	if (stmt->missing_ok || stmt->behavior != DROP_RESTRICT ||
		(stmt->removeType != OBJECT_TABLE && stmt->removeType != OBJECT_INDEX))
		return false;
	foreach(lc, stmt->objects)
	{
		List	   *names = lfirst(lc);

		MigJsonElem(ops);
		appendStringInfoString(ops, stmt->removeType == OBJECT_TABLE ?
							   "{\"drop_table\": {" : "{\"drop_index\": {");
		MigJsonStr(ops, "name", strVal(llast(names)));
		appendStringInfoString(ops, "}}");
	}
	return true;
}

static bool
convert_index(StringInfo ops, const MigSqlStmt *s, IndexStmt *stmt)
{
	static const char *const methods[] =
	{"btree", "hash", "gist", "spgist", "gin", "brin"};
	StringInfoData b;
	List	   *colnames = NIL;
	const char *method = stmt->accessMethod ? stmt->accessMethod : "btree";
	bool		known = false;
	ListCell   *lc;
	int			i;

	for (i = 0; i < lengthof(methods); i++)
		known |= strcmp(method, methods[i]) == 0;
	if (!known || stmt->primary || stmt->isconstraint ||
		stmt->indexIncludingParams != NIL || stmt->tableSpace != NULL ||
		stmt->if_not_exists || stmt->nulls_not_distinct ||
		stmt->excludeOpNames != NIL)
		return false;

	initStringInfo(&b);
	appendStringInfoChar(&b, '[');
	foreach(lc, stmt->indexParams)
	{
		IndexElem  *e = lfirst_node(IndexElem, lc);

		if (e->name == NULL || e->expr != NULL ||
			e->ordering == SORTBY_USING)
			return false;
		colnames = lappend(colnames, makeString(e->name));
		MigJsonElem(&b);
		appendStringInfoChar(&b, '{');
		MigJsonStr(&b, "column", e->name);
		if (e->collation != NIL)
			MigJsonStr(&b, "collate", NameListToQuotedString(e->collation));
		if (e->ordering == SORTBY_ASC)
			MigJsonStr(&b, "sort", "ASC");
		else if (e->ordering == SORTBY_DESC)
			MigJsonStr(&b, "sort", "DESC");
		if (e->nulls_ordering == SORTBY_NULLS_FIRST)
			MigJsonStr(&b, "nulls", "FIRST");
		else if (e->nulls_ordering == SORTBY_NULLS_LAST)
			MigJsonStr(&b, "nulls", "LAST");
		if (e->opclass != NIL)
		{
			MigJsonKey(&b, "opclass");
			appendStringInfoChar(&b, '{');
			MigJsonStr(&b, "name", NameListToQuotedString(e->opclass));
			if (e->opclassopts != NIL)
			{
				ListCell   *oc;

				MigJsonKey(&b, "params");
				appendStringInfoChar(&b, '[');
				foreach(oc, e->opclassopts)
				{
					char	   *opt = options_text(list_make1(lfirst(oc)));

					if (opt == NULL)
						return false;
					MigJsonElem(&b);
					escape_json(&b, opt);
				}
				appendStringInfoChar(&b, ']');
			}
			appendStringInfoChar(&b, '}');
		}
		appendStringInfoChar(&b, '}');
	}
	appendStringInfoChar(&b, ']');

	MigJsonElem(ops);
	appendStringInfoString(ops, "{\"create_index\": {");
	MigJsonStr(ops, "name", stmt->idxname ? stmt->idxname :
			   makeObjectName(stmt->relation->relname, join_names(colnames),
							  "idx"));
	MigJsonStr(ops, "table", stmt->relation->relname);
	MigJsonKey(ops, "columns");
	appendStringInfoString(ops, b.data);
	if (strcmp(method, "btree") != 0)
		MigJsonStr(ops, "method", method);
	if (stmt->unique)
		MigJsonBool(ops, "unique", true);
	if (stmt->whereClause != NULL)
	{
		char	   *pred = MigSqlTextAfterKeyword(s, s->start, -1, "where", false);

		if (pred == NULL)
			return false;
		MigJsonStr(ops, "predicate", pred);
	}
	if (stmt->options != NIL)
	{
		char	   *params = options_text(stmt->options);

		if (params == NULL)
			return false;
		MigJsonStr(ops, "storage_parameters", params);
	}
	appendStringInfoString(ops, "}}");
	return true;
}

Datum
mig_convert(PG_FUNCTION_ARGS)
{
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	List	   *stmts = MigSqlStatements(sql);
	StringInfoData ops;
	StringInfoData doc;
	int			nsql = 0;
	int			nother = 0;
	ListCell   *lc;

	initStringInfo(&ops);
	appendStringInfoChar(&ops, '[');
	foreach(lc, stmts)
	{
		MigSqlStmt *s = lfirst(lc);
		int			mark = ops.len;
		bool		ok;

		switch (nodeTag(s->stmt))
		{
			case T_CreateStmt:
				ok = convert_create_table(&ops, s, (CreateStmt *) s->stmt);
				break;
			case T_AlterTableStmt:
				ok = MigConvertAlterTable(&ops, s, (AlterTableStmt *) s->stmt);
				break;
			case T_RenameStmt:
				ok = convert_rename(&ops, (RenameStmt *) s->stmt);
				break;
			case T_DropStmt:
				ok = convert_drop(&ops, (DropStmt *) s->stmt);
				break;
			case T_IndexStmt:
				ok = convert_index(&ops, s, (IndexStmt *) s->stmt);
				break;
			default:
				ok = false;
				break;
		}
		if (!ok)
		{
			/* what no operation says exactly: the statement itself */
			ops.len = mark;
			ops.data[mark] = '\0';
			MigJsonElem(&ops);
			appendStringInfoString(&ops, "{\"sql\": {");
			MigJsonStr(&ops, "up", s->text);
			appendStringInfoString(&ops, "}}");
			nsql++;
		}
		else
			nother++;
	}
	appendStringInfoChar(&ops, ']');

	if (nsql > 1 || (nsql > 0 && nother > 0))
		ereport(WARNING,
				errcode(ERRCODE_WARNING),
				errmsg("%d of the %d statements converted to \"sql\" operations",
					   nsql, nsql + nother),
				errdetail("A \"sql\" operation must be alone in its migration unless it has \"onComplete\"."),
				errhint("Split the statements into several migrations."));

	initStringInfo(&doc);
	appendStringInfoString(&doc, "{\"operations\": ");
	appendStringInfoString(&doc, ops.data);
	appendStringInfoChar(&doc, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(doc.data)));
}

/* a foreign key's "references" object */
void
MigConvertFkReferences(StringInfo b, Constraint *con)
{
	MigJsonKey(b, "references");
	appendStringInfoChar(b, '{');
	MigJsonStr(b, "table", con->pktable->relname);
	MigJsonStrList(b, "columns", con->pk_attrs);
	MigJsonStr(b, "on_delete", MigConvertFkAction(con->fk_del_action));
	MigJsonStr(b, "on_update", MigConvertFkAction(con->fk_upd_action));
	MigJsonStr(b, "match_type", MigConvertFkMatch(con->fk_matchtype));
	if (con->fk_del_set_cols != NIL)
		MigJsonStrList(b, "on_delete_set_columns", con->fk_del_set_cols);
	appendStringInfoChar(b, '}');
}
