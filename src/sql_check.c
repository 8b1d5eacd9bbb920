/*-------------------------------------------------------------------------
 *
 * sql_check.c
 *		Make sure that a piece of SQL from a migration document is what its
 *		key says it is (one expression, one type name, storage parameters,
 *		exclusion elements, identity options) before any of it is put into
 *		a statement.
 *
 *		Expressions are SQL by design, but only expressions: pasted into
 *		"CHECK (...)" or "DEFAULT (...)", a string such as
 *		"1); DROP TABLE t; --" must not end the expression and run a
 *		statement of its own.  Each piece is parsed inside the same wrapper
 *		the statement gives it, and the parse tree must have exactly the
 *		expected shape: one statement, and nothing but the piece in it.  A
 *		type name is parsed and written out again from its parse tree, so
 *		nothing of the original text (a comment, say) survives.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "nodes/parsenodes.h"
#include "parser/parse_type.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "compat.h"
#include "sql_check.h"
#include "sql_text.h"
#include "subxact.h"

/*
 * Parse prefix + text + suffix; NIL with *reason set if it does not parse.
 * The parser's error is caught in a subtransaction, so that the caller can
 * say which key of the document is wrong.
 */
/* the parse of parse_wrapped, in a subtransaction */
typedef struct ParseWrappedArgs
{
	const char *query;
	bool		type_name;
	List	   *result;
} ParseWrappedArgs;

static void
parse_wrapped_run(void *arg)
{
	ParseWrappedArgs *args = (ParseWrappedArgs *) arg;

	if (args->type_name)
		args->result = list_make1(MigTypeStringToTypeName(args->query));
	else
		args->result = raw_parser(args->query, RAW_PARSE_DEFAULT);
}

static List *
parse_wrapped(const char *prefix, const char *text, const char *suffix,
			  bool type_name, char **reason)
{
	ParseWrappedArgs args;
	ErrorData  *edata;

	args.query = psprintf("%s%s%s", prefix, text, suffix);
	args.type_name = type_name;
	args.result = NIL;
	edata = MigSubxactRun(parse_wrapped_run, &args);
	if (edata != NULL)
	{
		*reason = edata->message;
		return NIL;
	}
	return args.result;
}

/* the only statement of a parse, if it has the given type */
static Node *
only_statement(List *raw, NodeTag tag)
{
	Node	   *stmt;

	if (list_length(raw) != 1)
		return NULL;
	stmt = linitial_node(RawStmt, raw)->stmt;
	return nodeTag(stmt) == tag ? stmt : NULL;
}

/* the only statement of a parse, if it is a CREATE TABLE of one element only */
static Node *
only_table_element(List *raw)
{
	CreateStmt *stmt = (CreateStmt *) only_statement(raw, T_CreateStmt);

	if (stmt == NULL || list_length(stmt->tableElts) != 1 ||
		stmt->options != NIL || stmt->tablespacename != NULL ||
		stmt->inhRelations != NIL || stmt->partspec != NULL ||
		stmt->ofTypename != NULL || stmt->accessMethod != NULL)
		return NULL;
	return linitial(stmt->tableElts);
}

bool
MigCheckExpression(const char *expr, char **reason)
{
	List	   *raw = parse_wrapped("SELECT (", expr, ")", false, reason);
	SelectStmt *select;

	if (raw == NIL)
		return false;
	select = (SelectStmt *) only_statement(raw, T_SelectStmt);
	if (select == NULL || select->op != SETOP_NONE ||
		list_length(select->targetList) != 1 ||
		linitial_node(ResTarget, select->targetList)->name != NULL ||
		select->distinctClause != NIL || select->intoClause != NULL ||
		select->fromClause != NIL || select->whereClause != NULL ||
		select->groupClause != NIL || select->havingClause != NULL ||
		select->windowClause != NIL || select->valuesLists != NIL ||
		select->sortClause != NIL || select->limitOffset != NULL ||
		select->limitCount != NULL || select->lockingClause != NIL ||
		select->withClause != NULL)
	{
		*reason = pstrdup("it holds more than one SQL expression");
		return false;
	}
	return true;
}

/* a type modifier as SQL: a number, a string or an identifier */
static bool
append_typmod(StringInfo buf, Node *mod)
{
	if (IsA(mod, A_Const) && !((A_Const *) mod)->isnull)
	{
		Node	   *val = (Node *) &((A_Const *) mod)->val;

		switch (nodeTag(val))
		{
			case T_Integer:
				appendStringInfo(buf, "%d", intVal(val));
				return true;
			case T_Float:
				appendStringInfoString(buf, castNode(Float, val)->fval);
				return true;
			case T_String:
				appendStringInfoString(buf, quote_literal_cstr(strVal(val)));
				return true;
			default:
				return false;
		}
	}
	if (IsA(mod, ColumnRef) && list_length(((ColumnRef *) mod)->fields) == 1 &&
		IsA(linitial(((ColumnRef *) mod)->fields), String))
	{
		appendStringInfoString(buf,
							   quote_identifier(strVal(linitial(((ColumnRef *) mod)->fields))));
		return true;
	}
	return false;
}

char *
MigCanonicalTypeName(const char *type, char **reason)
{
	List	   *parsed = parse_wrapped("", type, "", true, reason);
	TypeName   *tn;
	StringInfoData buf;
	ListCell   *lc;

	if (parsed == NIL)
		return NULL;
	tn = linitial_node(TypeName, parsed);
	if (tn->setof || tn->pct_type || tn->names == NIL)
	{
		*reason = pstrdup("it is not a plain type name");
		return NULL;
	}

	initStringInfo(&buf);
	foreach(lc, tn->names)
		appendStringInfo(&buf, "%s%s", foreach_current_index(lc) > 0 ? "." : "",
						 quote_identifier(strVal(lfirst(lc))));
	if (tn->typmods != NIL)
	{
		appendStringInfoChar(&buf, '(');
		foreach(lc, tn->typmods)
		{
			if (foreach_current_index(lc) > 0)
				appendStringInfoString(&buf, ", ");
			if (!append_typmod(&buf, lfirst(lc)))
			{
				*reason = pstrdup("type modifiers must be simple constants or identifiers");
				return NULL;
			}
		}
		appendStringInfoChar(&buf, ')');
	}
	MigAppendArrayBounds(&buf, tn);
	return buf.data;
}

bool
MigCheckStorageParameters(const char *params, char **reason)
{
	List	   *raw = parse_wrapped("CREATE INDEX i ON t (c) WITH (", params, ")",
									false, reason);
	IndexStmt  *stmt;

	if (raw == NIL)
		return false;
	stmt = (IndexStmt *) only_statement(raw, T_IndexStmt);
	if (stmt == NULL || stmt->whereClause != NULL || stmt->tableSpace != NULL ||
		stmt->indexIncludingParams != NIL || list_length(stmt->indexParams) != 1)
	{
		*reason = pstrdup("it holds more than storage parameters");
		return false;
	}
	return true;
}

bool
MigCheckExcludeElements(const char *elements, char **reason)
{
	List	   *raw = parse_wrapped("CREATE TABLE t (EXCLUDE (", elements, "))",
									false, reason);
	Node	   *elt;
	Constraint *con;

	if (raw == NIL)
		return false;
	elt = only_table_element(raw);
	con = elt != NULL && IsA(elt, Constraint) ? (Constraint *) elt : NULL;
	if (con == NULL || con->contype != CONSTR_EXCLUSION ||
		con->where_clause != NULL || con->options != NIL ||
		con->indexspace != NULL || con->including != NIL)
	{
		*reason = pstrdup("it holds more than exclusion constraint elements");
		return false;
	}
	return true;
}

bool
MigCheckSequenceOptions(const char *options, char **reason)
{
	List	   *raw = parse_wrapped("CREATE TABLE t (c integer GENERATED ALWAYS AS IDENTITY (",
									options, "))", false, reason);
	Node	   *elt;
	ColumnDef  *col;

	if (raw == NIL)
		return false;
	elt = only_table_element(raw);
	col = elt != NULL && IsA(elt, ColumnDef) ? (ColumnDef *) elt : NULL;
	if (col == NULL || list_length(col->constraints) != 1 ||
		col->collClause != NULL || col->raw_default != NULL ||
		linitial_node(Constraint, col->constraints)->contype != CONSTR_IDENTITY)
	{
		*reason = pstrdup("it holds more than sequence options");
		return false;
	}
	return true;
}
