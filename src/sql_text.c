/*-------------------------------------------------------------------------
 *
 * sql_text.c
 *		SQL given as text, parsed with the backend's raw parser: its
 *		statements, and the exact text of a statement or of an expression
 *		in it.
 *
 *		The raw parse tree keeps one position per node (usually its first
 *		token), not where a node ends, and drops the parentheses around an
 *		expression.  So the text of an expression (a default, a CHECK, an
 *		index predicate, a USING) is found with the core lexer: from a
 *		position the parser gives (a constraint's, a statement's), past the
 *		keyword that introduces the expression, to the token that ends it at
 *		the same parenthesis depth.  Tokens are the lexer's, so a keyword in
 *		a string literal or a quoted identifier is never mistaken for one.
 *
 *	IDENTIFICATION
 *		src/sql_text.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/keywords.h"
#include "nodes/value.h"
#include "parser/parse_type.h"
#include "parser/parser.h"
#include "parser/scanner.h"
#include "parser/scansup.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

#include "compat.h"
#include "sql_text.h"

/* the tokens of one statement: their codes and byte offsets in the SQL */
typedef struct SqlTokens
{
	int			n;
	int		   *code;
	int		   *loc;
} SqlTokens;

static SqlTokens *lex_statement(const char *sql, int start, int end);
static int	keyword_token(const char *kw);
static char *text_between(const char *sql, int from, int to);

/*
 * Lex sql[start, end) with the core lexer; offsets are made absolute.
 */
static SqlTokens *
lex_statement(const char *sql, int start, int end)
{
	SqlTokens  *t = palloc0(sizeof(SqlTokens));
	char	   *str = pnstrdup(sql + start, end - start);
	core_yy_extra_type yyextra;
	core_yyscan_t scanner;
	core_YYSTYPE lval;
	int			lloc;
	int			code;
	int			cap = 64;

	t->code = palloc(cap * sizeof(int));
	t->loc = palloc(cap * sizeof(int));
	scanner = scanner_init(str, &yyextra, &ScanKeywords, ScanKeywordTokens);
	while ((code = core_yylex(&lval, &lloc, scanner)) != 0)
	{
		if (t->n == cap)
		{
			cap *= 2;
			t->code = repalloc(t->code, cap * sizeof(int));
			t->loc = repalloc(t->loc, cap * sizeof(int));
		}
		t->code[t->n] = code;
		t->loc[t->n] = start + lloc;
		t->n++;
	}
	scanner_finish(scanner);
	return t;
}

/* the lexer's code of a keyword (lower case) */
static int
keyword_token(const char *kw)
{
	int			kwnum = ScanKeywordLookup(kw, &ScanKeywords);

	if (kwnum < 0)
		elog(ERROR, "\"%s\" is not a keyword", kw);
	return ScanKeywordTokens[kwnum];
}

/* sql[from, to), without the white space around it */
static char *
text_between(const char *sql, int from, int to)
{
	while (from < to && scanner_isspace(sql[from]))
		from++;
	while (to > from && scanner_isspace(sql[to - 1]))
		to--;
	return pnstrdup(sql + from, to - from);
}

List *
MigSqlStatements(const char *sql)
{
	List	   *raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	List	   *result = NIL;
	ListCell   *lc;
	int			len = strlen(sql);

	foreach(lc, raw)
	{
		RawStmt    *rs = lfirst_node(RawStmt, lc);
		MigSqlStmt *s = palloc0(sizeof(MigSqlStmt));
		SqlTokens  *t;

		s->stmt = rs->stmt;
		s->sql = sql;
		s->start = rs->stmt_location;
		s->end = rs->stmt_len > 0 ? rs->stmt_location + rs->stmt_len : len;
		/* the statement starts at its first token (not at a comment) */
		t = lex_statement(sql, s->start, s->end);
		if (t->n > 0)
			s->start = t->loc[0];
		s->text = text_between(sql, s->start, s->end);
		result = lappend(result, s);
	}
	return result;
}

char *
MigSqlTextAfterKeyword(const MigSqlStmt *s, int from, int limit,
					   const char *kw, bool paren)
{
	SqlTokens  *t = lex_statement(s->sql, s->start, s->end);
	int			kwcode = keyword_token(kw);
	int			depth = 0;
	int			i;

	if (limit < 0 || limit > s->end)
		limit = s->end;
	for (i = 0; i < t->n && t->loc[i] < limit; i++)
	{
		int			code = t->code[i];

		if (t->loc[i] < from)
			continue;
		if (code == '(' || code == '[')
			depth++;
		else if (code == ')' || code == ']')
		{
			if (--depth < 0)
				return NULL;
		}
		else if (depth == 0 && code == kwcode)
			break;
	}
	if (i >= t->n || t->loc[i] >= limit)
		return NULL;

	/* the expression: tokens i + 1 onwards */
	i++;
	if (i >= t->n || t->loc[i] >= limit)
		return NULL;
	if (paren)
	{
		int			open = i;

		if (t->code[open] != '(')
			return NULL;
		depth = 0;
		for (; i < t->n; i++)
		{
			if (t->code[i] == '(' || t->code[i] == '[')
				depth++;
			else if ((t->code[i] == ')' || t->code[i] == ']') && --depth == 0)
				return text_between(s->sql, t->loc[open] + 1, t->loc[i]);
		}
		return NULL;
	}
	else
	{
		int			begin = t->loc[i];
		int			to = limit;

		depth = 0;
		for (; i < t->n && t->loc[i] < limit; i++)
		{
			int			code = t->code[i];

			if (code == '(' || code == '[')
				depth++;
			else if (code == ')' || code == ']')
			{
				if (--depth < 0)
				{
					to = t->loc[i];
					break;
				}
			}
			else if (depth == 0 && (code == ',' || code == ';'))
			{
				to = t->loc[i];
				break;
			}
		}
		return text_between(s->sql, begin, to);
	}
}

List *
MigSqlItemStarts(const MigSqlStmt *s)
{
	SqlTokens  *t = lex_statement(s->sql, s->start, s->end);
	List	   *result = list_make1_int(s->start);
	int			depth = 0;
	int			i;

	for (i = 0; i < t->n; i++)
	{
		int			code = t->code[i];

		if (code == '(' || code == '[')
			depth++;
		else if (code == ')' || code == ']')
			depth--;
		else if (depth == 0 && code == ',' && i + 1 < t->n)
			result = lappend_int(result, t->loc[i + 1]);
	}
	return result;
}

char *
MigTypeNameText(TypeName *tn, Oid *typid, int32 *typmod)
{
	Type		typ;
	StringInfoData buf;
	ListCell   *lc;

	*typid = InvalidOid;
	*typmod = -1;
	if (tn->pct_type || tn->setof)
		return NULL;

	typ = LookupTypeName(NULL, tn, typmod, true);
	if (typ != NULL)
	{
		*typid = typeTypeId(typ);
		ReleaseSysCache(typ);
		return format_type_with_typemod(*typid, *typmod);
	}

	/* a type that does not exist (yet): written out from the tree */
	*typmod = -1;
	initStringInfo(&buf);
	appendStringInfoString(&buf, NameListToQuotedString(tn->names));
	if (tn->typmods != NIL)
	{
		appendStringInfoChar(&buf, '(');
		foreach(lc, tn->typmods)
		{
			Node	   *m = lfirst(lc);

			if (!IsA(m, A_Const) || !IsA(&((A_Const *) m)->val, Integer))
				return NULL;
			if (foreach_current_index(lc) > 0)
				appendStringInfoString(&buf, ", ");
			appendStringInfo(&buf, "%d", intVal(&((A_Const *) m)->val));
		}
		appendStringInfoChar(&buf, ')');
	}
	MigAppendArrayBounds(&buf, tn);
	return buf.data;
}

void
MigAppendArrayBounds(StringInfo buf, TypeName *tn)
{
	ListCell   *lc;

	foreach(lc, tn->arrayBounds)
	{
		int			bound = intVal(lfirst(lc));

		if (bound < 0)
			appendStringInfoString(buf, "[]");
		else
			appendStringInfo(buf, "[%d]", bound);
	}
}

bool
MigTypeNameIsSerial(TypeName *tn)
{
	const char *name;

	if (list_length(tn->names) != 1 || tn->arrayBounds != NIL)
		return false;
	name = strVal(linitial(tn->names));
	return strcmp(name, "serial") == 0 || strcmp(name, "serial4") == 0 ||
		strcmp(name, "bigserial") == 0 || strcmp(name, "serial8") == 0 ||
		strcmp(name, "smallserial") == 0 || strcmp(name, "serial2") == 0;
}
