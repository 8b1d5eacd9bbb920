/*-------------------------------------------------------------------------
 *
 * expr_precheck.h
 *		Check a migration's expressions and types before any strong lock.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_EXPR_PRECHECK_H
#define MIG_EXPR_PRECHECK_H

#include "ops.h"

extern void MigPrecheckExpressions(MigPlan *plan);

#endif							/* MIG_EXPR_PRECHECK_H */
