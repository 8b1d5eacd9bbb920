/*-------------------------------------------------------------------------
 *
 * lint.h
 *		mig.lint and the lint of a migration's "sql" operations at start:
 *		the statements that are unsafe while applications run.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_LINT_H
#define MIG_LINT_H

#include "nodes/pg_list.h"
#include "utils/guc.h"

#include "migration.h"

/* one finding */
typedef struct MigLintFinding
{
	const char *rule;			/* the rule's name */
	const char *statement;		/* the statement's text */
	const char *message;		/* why it is unsafe */
	const char *hint;			/* the operation that does it safely */
} MigLintFinding;

/*
 * The findings on a piece of SQL (a List of MigLintFinding), leaving out
 * the rules of migrate_ext.lint_allow.  *created names the tables and
 * indexes created before it (by the same migration), and gets those the
 * SQL creates: statements on them are safe.
 */
extern List *MigLintSql(const char *sql, List **created);

/*
 * The lint of a migration's "sql" operations, before mig.start takes any
 * lock, with names resolved in the migrated schema as when they run: a
 * WARNING per finding, or (migrate_ext.lint = error) an ERROR at the first.
 */
extern void MigLintMigration(MigMigration *migration, const char *schema);

/* is name a rule? */
extern bool MigLintIsRule(const char *name);

/* GUC check hook of migrate_ext.lint_allow */
extern bool MigCheckLintAllow(char **newval, void **extra, GucSource source);

#endif							/* MIG_LINT_H */
