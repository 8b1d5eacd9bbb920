/*-------------------------------------------------------------------------
 *
 * dup_carry.h
 *		Inside the column duplication (column_dup.c, dup_carry.c): the
 *		objects carried over to a shadow column and what complete does to
 *		them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_DUP_CARRY_H
#define MIG_DUP_CARRY_H

#include "column_dup.h"

/* an index or constraint made by this migration, and its name to be */
typedef struct MigFinal
{
	Oid			objid;
	char	   *name;
	char		contype;		/* index becomes a 'u' or 'p' constraint, or 0 */
	bool		deferrable;
	bool		deferred;
} MigFinal;

/* what complete does to one carried-over object */
typedef struct DupPending
{
	Oid			objid;
	bool		is_index;
	char	   *name;			/* the name it takes */
	char		contype;		/* for an index: 'u' or 'p' constraint, or 0 */
	bool		deferrable;
	bool		deferred;
} DupPending;

typedef enum NameKind
{
	NAME_COLUMN,
	NAME_CONSTRAINT,
	NAME_RELATION
} NameKind;

/* dup_final.c: the final names, and a free internal name */
extern char *MigDupFreeName(NameKind kind, Oid relid, const char *prefix,
							const char *name);
extern MigFinal *MigDupFindFinal(MigPlan *plan, Oid objid);

/* dup_carry.c: carry the constraints and indexes over to the shadows */
extern void MigDupCarryConstraints(MigPlan *plan, MigDup *dup);
extern void MigDupCarryIndexes(MigPlan *plan, MigDup *dup);
extern void MigDupAddPending(MigDup *dup, Oid objid, bool is_index,
							 const char *name, char contype, bool deferrable,
							 bool deferred);
extern const char *MigDupMappedColumn(MigDup *dup, AttrNumber attnum);
extern MigModelTable *MigDupPhysicalModel(MigDup *dup);
extern int2vector *MigDupAttnums(MigDup *dup);
extern bool MigDupTypeChanged(MigDup *dup);
extern char *MigDupRetypedColumns(MigDup *dup);
/* run optional DDL in a subtransaction: false (with a WARNING) if it fails */
extern bool MigDupExecOptional(const char *sql, Oid relid, const char *what,
							   const char *column, bool declare_index);

#endif							/* MIG_DUP_CARRY_H */
