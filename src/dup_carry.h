/*-------------------------------------------------------------------------
 *
 * dup_carry.h
 *		Column duplication's shared structs (MigDup, MigDupColumn), and the
 *		carrying of constraints and indexes over to the shadow columns
 *		(dup_carry.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_DUP_CARRY_H
#define MIG_DUP_CARRY_H

#include "dup_final.h"
#include "ops.h"

typedef struct MigDupColumn
{
	/* set by the caller */
	MigModelColumn *col;		/* the column being duplicated */
	const char *type;			/* the shadow's type, or NULL: the column's */
	bool		drop_not_null;	/* the shadow may be null */
	bool		set_not_null;	/* the shadow must not be null */
	bool		has_default;	/* default_expr replaces the column's default */
	const char *default_expr;	/* (NULL: none) */
	bool		has_comment;	/* comment replaces the column's comment */
	const char *comment;		/* (NULL: none) */
	const char *up;				/* old -> new (NULL: the column's value) */
	const char *down;			/* new -> old (NULL: the column's value) */
	/* set by MigDupStart */
	char	   *name;			/* name in the new version */
	AttrNumber	old_attnum;
	AttrNumber	attnum;			/* the shadow column */
	MigModelColumn *shadow;		/* the shadow in the model */
} MigDupColumn;

typedef struct MigDup
{
	MigModelTable *table;
	List	   *columns;		/* MigDupColumn * */
	Oid			skip_conoid;	/* a constraint not carried over, or InvalidOid */
	List	   *pending;		/* what complete renames or turns into constraints */
} MigDup;


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
