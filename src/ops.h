/*-------------------------------------------------------------------------
 *
 * ops.h
 *		Operation semantics: what each kind of operation does at start, and
 *		which steps it leaves for complete and rollback.
 *
 *		Planning runs inside an attempt (see ddl.h): each operation checks
 *		itself against the model, runs its expand statements at once, updates
 *		the model and records its contract and undo steps (see steps.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_OPS_H
#define MIG_OPS_H

#include "migration.h"
#include "model.h"

typedef struct MigPlan
{
	MigMigration *migration;
	const char *schema;
	MigModel   *model;
	MigOperation *op;			/* operation being planned */
	int			complete_seq;	/* steps recorded so far, per phase */
	int			rollback_seq;
} MigPlan;

/* Plan (and run the expand statements of) every operation, in order. */
extern void MigPlanOperations(MigPlan *plan);

/* one function per group of operation kinds */
extern void MigOpCreateTable(MigPlan *plan, MigOperation *op);
extern void MigOpRenameTable(MigPlan *plan, MigOperation *op);
extern void MigOpDropTable(MigPlan *plan, MigOperation *op);
extern void MigOpAddColumn(MigPlan *plan, MigOperation *op);
extern void MigOpDropColumn(MigPlan *plan, MigOperation *op);
extern void MigOpRenameColumn(MigPlan *plan, MigOperation *op);
extern void MigOpRenameConstraint(MigPlan *plan, MigOperation *op);
extern void MigOpSetReplicaIdentity(MigPlan *plan, MigOperation *op);
extern void MigOpSql(MigPlan *plan, MigOperation *op);

/* helpers shared by the operations */
extern char *MigInternalName(const char *prefix, const char *name);
extern char *MigRewriteColumnRefs(const char *expr, MigModelTable *table);
extern void MigNotSupportedYet(MigPlan *plan, MigOperation *op, const char *what);
extern char *MigForeignKeyClause(MigPlan *plan, const char *table,
								 List *columns, const char *match_type,
								 const char *on_delete, const char *on_update,
								 List *on_delete_set_columns,
								 bool deferrable, bool initially_deferred);

#endif							/* MIG_OPS_H */
