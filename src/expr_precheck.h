/*-------------------------------------------------------------------------
 *
 * expr_precheck.h
 *		Check a migration's up and down expressions before any strong lock.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_EXPR_PRECHECK_H
#define MIG_EXPR_PRECHECK_H

#include "ops.h"

extern void MigPrecheckExpressions(MigPlan *plan);

#endif							/* MIG_EXPR_PRECHECK_H */
