/*-------------------------------------------------------------------------
 *
 * dup_final.h
 *		The plan-wide registry of the names that indexes and constraints
 *		made by a migration take at complete, and the search for a free
 *		internal name (dup_final.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_DUP_FINAL_H
#define MIG_DUP_FINAL_H

#include "ops.h"

/* an index or constraint made by this migration, and its name to be */
typedef struct MigFinal
{
	Oid			objid;
	char	   *name;
	char		contype;		/* index becomes a 'u' or 'p' constraint, or 0 */
	bool		deferrable;
	bool		deferred;
} MigFinal;

typedef enum NameKind
{
	NAME_COLUMN,
	NAME_CONSTRAINT,
	NAME_RELATION
} NameKind;

/*
 * Remember that an index or constraint created (or renamed) by this
 * migration gets another name at complete (or becomes a constraint: contype 'u' or 'p'),
 * so that duplicating its column again in the same migration carries that
 * over too.
 */
extern void MigDupRemember(MigPlan *plan, Oid objid, const char *name,
						   char contype, bool deferrable, bool deferred);

/*
 * rename_constraint of a constraint known in the new version by a name
 * remembered above: rename it at complete.  False when there is none.
 */
extern bool MigDupRenameFinal(MigPlan *plan, Oid relid, const char *from,
							  const char *to);

/* a free name: prefix + name, or prefix with a number when taken */
extern char *MigDupFreeName(NameKind kind, Oid relid, const char *prefix,
							const char *name);
extern MigFinal *MigDupFindFinal(MigPlan *plan, Oid objid);

#endif							/* MIG_DUP_FINAL_H */
