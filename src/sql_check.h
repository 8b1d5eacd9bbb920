/*-------------------------------------------------------------------------
 *
 * sql_check.h
 *		Check that SQL from a migration document is only what its key says.
 *
 *		Each function returns false (or NULL) and sets *reason (the parser's
 *		message, or a phrase like it) when the text is not of its kind.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_SQL_CHECK_H
#define MIG_SQL_CHECK_H

/* exactly one SQL expression, safe to put inside parentheses */
extern bool MigCheckExpression(const char *expr, char **reason);

/* a type name, written out again from its parse tree */
extern char *MigCanonicalTypeName(const char *type, char **reason);

/* storage parameters, safe inside WITH (...) */
extern bool MigCheckStorageParameters(const char *params, char **reason);

/* exclusion constraint elements, safe inside EXCLUDE USING m (...) */
extern bool MigCheckExcludeElements(const char *elements, char **reason);

/* identity sequence options, safe inside AS IDENTITY (...) */
extern bool MigCheckSequenceOptions(const char *options, char **reason);

#endif							/* MIG_SQL_CHECK_H */
