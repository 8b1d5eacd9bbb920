/*-------------------------------------------------------------------------
 *
 * convert.h
 *		mig.convert: SQL DDL to a migration document.  convert.c does the
 *		statements, convert_alter.c ALTER TABLE; this header is what they
 *		share.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_CONVERT_H
#define MIG_CONVERT_H

#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"

#include "sql_text.h"

/* what a value that must be written by hand says, as pgroll's convert */
#define MIG_CONVERT_PLACEHOLDER "TODO: Implement SQL data migration"

/*
 * JSON writing: a key (with the comma before it when needed), then its
 * value.  Values are escaped by escape_json; nothing is pasted in raw.
 */
extern void MigJsonKey(StringInfo b, const char *key);
extern void MigJsonStr(StringInfo b, const char *key, const char *value);
extern void MigJsonBool(StringInfo b, const char *key, bool value);
extern void MigJsonElem(StringInfo b);
extern void MigJsonStrList(StringInfo b, const char *key, List *names);

/*
 * One column (create_table's columns[], add_column's column) as JSON, or
 * false if the column can't be written exactly.  limit is where the
 * column's text ends at the latest (-1: the statement's end).  Named
 * column UNIQUE / PRIMARY KEY constraints go to constraints (create_table)
 * if it is not NULL.  *needs_up is set when a value for existing rows must
 * be given by hand (NOT NULL without a default).
 */
extern bool MigConvertColumn(StringInfo b, const MigSqlStmt *s,
							 const char *table, ColumnDef *cd, int limit,
							 StringInfo constraints, bool *needs_up);

/* a foreign key's actions and match type as pgroll names them */
extern const char *MigConvertFkAction(char action);
extern void MigConvertFkReferences(StringInfo b, Constraint *con);
extern const char *MigConvertFkMatch(char match);

/* ALTER TABLE: its operations appended to ops, or false */
extern bool MigConvertAlterTable(StringInfo ops, const MigSqlStmt *s,
								 AlterTableStmt *stmt);

#endif							/* MIG_CONVERT_H */
