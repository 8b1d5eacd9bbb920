/*-------------------------------------------------------------------------
 *
 * sql_text.h
 *		SQL given as text, parsed with the backend's raw parser: its
 *		statements, and the exact text of a statement or of an expression
 *		in it, found from the parser's and the lexer's positions.  Shared by
 *		mig.convert (convert.c) and mig.lint (lint.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_SQL_TEXT_H
#define MIG_SQL_TEXT_H

#include "nodes/parsenodes.h"

/* one statement of a piece of SQL */
typedef struct MigSqlStmt
{
	Node	   *stmt;			/* the raw parse tree (RawStmt's stmt) */
	const char *sql;			/* the whole SQL text */
	int			start;			/* byte offset of the statement in sql */
	int			end;			/* byte offset just after it */
	char	   *text;			/* the statement's text, trimmed */
} MigSqlStmt;

/* Parse SQL into a List of MigSqlStmt (the parser's error if it fails). */
extern List *MigSqlStatements(const char *sql);

/*
 * The text of the expression that follows the first depth-0 keyword kw
 * (lower case) at or after offset from, up to the first depth-0 ',', ')'
 * or ';', or to offset limit (-1: the statement's end).  With paren, the
 * expression is the parenthesized one after kw, without its parentheses.
 * NULL if there is no such keyword.
 */
extern char *MigSqlTextAfterKeyword(const MigSqlStmt *s, int from, int limit,
									const char *kw, bool paren);

/*
 * Where each of a statement's depth-0 comma-separated items starts (the
 * commands of an ALTER TABLE): a List of int offsets, the first the
 * statement's start.
 */
extern List *MigSqlItemStarts(const MigSqlStmt *s);

/*
 * A type name as SQL text: format_type's when the type exists, else
 * written out from the parse tree.  NULL if it can't be written (%TYPE,
 * SETOF, a non-constant modifier).
 */
extern char *MigTypeNameText(TypeName *tn, Oid *typid, int32 *typmod);

/* a type name's array bounds ([] or [n] each), as SQL */
extern void MigAppendArrayBounds(StringInfo buf, TypeName *tn);

/* serial, bigserial, smallserial (and serial2/4/8), unqualified */
extern bool MigTypeNameIsSerial(TypeName *tn);

#endif							/* MIG_SQL_TEXT_H */
