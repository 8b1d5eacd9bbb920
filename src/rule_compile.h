/*-------------------------------------------------------------------------
 *
 * rule_compile.h
 *		Compile an up or down expression of the dual-write trigger, and
 *		evaluate it for one row.
 *
 *		An expression sees the table's columns under the names one version
 *		gives them.  A plain expression becomes an ExprState over the row; an
 *		expression with a subquery (pgroll's "SELECT CASE WHEN EXISTS (SELECT
 *		... FROM users WHERE users.id = user_id) ..." form) becomes a planned
 *		query whose references to the row are parameters.  Either way its
 *		column references are resolved by the parser, never by text
 *		substitution, and its result is coerced to the target column's type
 *		as an assignment would.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_RULE_COMPILE_H
#define MIG_RULE_COMPILE_H

#include "access/attnum.h"
#include "nodes/bitmapset.h"
#include "nodes/execnodes.h"
#include "nodes/params.h"
#include "nodes/plannodes.h"
#include "utils/relcache.h"

typedef struct MigCompiledRule
{
	ExprState  *expr;			/* a plain expression over the row, or */
	PlannedStmt *plan;			/* a query with the row's columns as $attnum */
	const char *query;			/* that query's text, for the executor */
	Bitmapset  *reads;			/* attnums of the columns it reads */
	Oid			type;			/* the target column's type */
	int16		typlen;
	bool		typbyval;
} MigCompiledRule;

/*
 * Compile a rule's expression against a relation whose columns are named,
 * by attribute number, as in names (a List of char *, NULL where a column
 * has no name in that version), into *rule, in the current memory context.
 * Raises the parser's error if it does not compile, or if its type does not
 * fit the target column.  Names the expression does not qualify resolve in
 * the base schema first, then along the session's search_path, whoever
 * writes: a table or function it names means the same for every writer.
 */
extern void MigCompileRule(Relation rel, const char *schema, const char *sql,
						   List *names, AttrNumber target,
						   MigCompiledRule *rule);

/*
 * Evaluate a rule compiled to a query over the row in slot; params has one
 * entry per column of the relation, with its type set.  The result is
 * allocated in the current memory context.
 */
extern Datum MigRunRuleQuery(MigCompiledRule *rule, TupleTableSlot *slot,
							 ParamListInfo params, bool *isnull);

/* a column an expression checked by MigCheckRuleExpression may read */
typedef struct MigCheckColumn
{
	char	   *name;
	Oid			type;
	int32		typmod;
	Oid			collation;
} MigCheckColumn;

/* what an expression checked by MigCheckRuleExpression is */
typedef enum MigExprKind
{
	MIG_EXPR_RULE,				/* up or down, as MigCompileRule compiles it */
	MIG_EXPR_CHECK,				/* a check constraint, as cookConstraint */
	MIG_EXPR_DEFAULT			/* a column default, as cookDefault */
} MigExprKind;

/*
 * Analyse an expression as MigCompileRule (or PostgreSQL, for a check or a
 * default) would, but against columns given by name and type rather than a
 * relation's, so that it can be checked before the table is locked.  A
 * reference only the relation could resolve (a whole-row reference, a
 * field of a composite column) sets *unsure before the error it then
 * raises.
 */
extern void MigCheckRuleExpression(MigExprKind kind, const char *schema,
								   const char *relname, const char *sql,
								   List *columns, Oid target_type,
								   int32 target_typmod,
								   const char *target_name, bool *unsure);

#endif							/* MIG_RULE_COMPILE_H */
