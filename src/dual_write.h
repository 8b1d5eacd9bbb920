/*-------------------------------------------------------------------------
 *
 * dual_write.h
 *		The dual-write trigger: keeps the old and new versions' columns of a
 *		migrated table in step.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_DUAL_WRITE_H
#define MIG_DUAL_WRITE_H

#include "access/attnum.h"
#include "nodes/execnodes.h"
#include "utils/relcache.h"

/* true while the backfill writes: it always writes as the old version */
extern bool MigBackfillWriting;

/*
 * Compile a rule's expression against a relation whose columns are named,
 * by attribute number, as in names (a List of char *, NULL where a column
 * has no name in that version).  Raises the parser's error if it does not
 * compile, or if its type does not fit the target column.
 */
extern ExprState *MigCompileRule(Relation rel, const char *sql, List *names,
								 AttrNumber target);

/* Register the relcache callback that invalidates compiled rules. */
extern void MigDualWriteInit(void);

#endif							/* MIG_DUAL_WRITE_H */
