/*-------------------------------------------------------------------------
 *
 * ops.c
 *		Expand a migration's operations in order: the dispatcher.  The
 *		operations themselves are in ops_*.c, the helpers they share in
 *		ops_lib.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "compat.h"
#include "ops.h"

static void ops_error_context(void *arg);

/*
 * Every error raised while an operation is planned says which operation of
 * which migration it belongs to.
 */
static void
ops_error_context(void *arg)
{
	MigPlan    *plan = (MigPlan *) arg;

	if (plan->op != NULL)
		errcontext("operations[%d] (%s) of migration \"%s\"",
				   plan->op->index, MigOpKindName(plan->op->kind),
				   plan->migration->name);
}

void
MigExpandOperations(MigPlan *plan)
{
	ErrorContextCallback errcallback;
	ListCell   *lc;

	errcallback.callback = ops_error_context;
	errcallback.arg = plan;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	foreach(lc, plan->migration->operations)
	{
		MigOperation *op = lfirst(lc);

		plan->op = op;
		switch (op->kind)
		{
			case MIG_OP_CREATE_TABLE:
				MigOpCreateTable(plan, op);
				break;
			case MIG_OP_RENAME_TABLE:
				MigOpRenameTable(plan, op);
				break;
			case MIG_OP_DROP_TABLE:
				MigOpDropTable(plan, op);
				break;
			case MIG_OP_ADD_COLUMN:
				MigOpAddColumn(plan, op);
				break;
			case MIG_OP_DROP_COLUMN:
				MigOpDropColumn(plan, op);
				break;
			case MIG_OP_RENAME_COLUMN:
				MigOpRenameColumn(plan, op);
				break;
			case MIG_OP_RENAME_CONSTRAINT:
				MigOpRenameConstraint(plan, op);
				break;
			case MIG_OP_SET_REPLICA_IDENTITY:
				MigOpSetReplicaIdentity(plan, op);
				break;
			case MIG_OP_SQL:
				MigOpSql(plan, op);
				break;
			case MIG_OP_ALTER_COLUMN:
				MigOpAlterColumn(plan, op);
				break;
			case MIG_OP_CREATE_CONSTRAINT:
				MigOpCreateConstraint(plan, op);
				break;
			case MIG_OP_DROP_CONSTRAINT:
				MigOpDropConstraint(plan, op);
				break;
			case MIG_OP_DROP_MULTICOLUMN_CONSTRAINT:
				MigOpDropMulticolumnConstraint(plan, op);
				break;
			case MIG_OP_CREATE_INDEX:
				MigOpCreateIndex(plan, op);
				break;
			case MIG_OP_DROP_INDEX:
				MigOpDropIndex(plan, op);
				break;
		}
	}
	plan->op = NULL;
	error_context_stack = errcallback.previous;
}
