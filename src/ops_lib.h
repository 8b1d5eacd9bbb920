/*-------------------------------------------------------------------------
 *
 * ops_lib.h
 *		Helpers shared by the operations (ops_lib.c, ops_hierarchy.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_OPS_LIB_H
#define MIG_OPS_LIB_H

#include "ops.h"

/* helpers shared by the operations */
extern void MigCheckTableOwner(MigPlan *plan, MigOperation *op, Oid relid,
							   const char *name);
extern MigModelTable *MigPlanGetTable(MigPlan *plan, MigOperation *op,
									   const char *name);
/* Refuse (0A000) an operation on a table in a partition or inheritance hierarchy. */
extern void MigCheckTableHierarchy(MigPlan *plan, MigOperation *op, Oid relid,
								   const char *name);
extern char *MigRewriteColumnRefs(const char *expr, MigModelTable *table);
extern void MigAddRule(MigPlan *plan, MigModelTable *table, bool up,
					   AttrNumber target, const char *target_name,
					   const char *sql);
extern void MigAddNotNullCheck(MigPlan *plan, Oid relid, AttrNumber attnum,
							   const char *name);
extern void MigNotSupportedYet(MigPlan *plan, MigOperation *op, const char *what);
extern char *MigForeignKeyClause(MigPlan *plan, const char *creating,
								 const char *table,
								 List *columns, const char *match_type,
								 const char *on_delete, const char *on_update,
								 List *on_delete_set_columns,
								 bool deferrable, bool initially_deferred);

#endif							/* MIG_OPS_LIB_H */
