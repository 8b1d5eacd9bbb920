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

/* an up or down rule of a table's dual-write trigger, as planned */
typedef struct MigRule
{
	Oid			relid;
	MigOperation *op;			/* the operation it comes from */
	bool		up;				/* up (old -> new) or down (new -> old) */
	AttrNumber	target;			/* column it writes */
	char	   *target_name;	/* that column's name in the migration */
	char	   *sql;			/* the user's expression */
	List	   *names;			/* column names it sees, by attnum (NULL: none) */
} MigRule;

typedef struct MigPlan
{
	MigMigration *migration;
	const char *schema;
	const char *old_version;	/* schema the old version reads through */
	const char *new_version;	/* the version schema being created */
	MigModel   *model;
	List	   *rules;			/* MigRule * */
	MigOperation *op;			/* operation being planned */
	List	   *finals;			/* final names of carried-over objects
								 * (column_dup.c) */
	int			complete_seq;	/* steps recorded so far, per phase */
	int			rollback_seq;
	int			job_seq;		/* background jobs queued so far */
} MigPlan;

/*
 * Expand: run every operation's expand statements, in order, recording its
 * dual-write rules (plan->rules) and its complete and rollback steps.
 */
extern void MigExpandOperations(MigPlan *plan);

/* one function per group of operation kinds */
extern void MigOpCreateTable(MigPlan *plan, MigOperation *op);
extern void MigOpRenameTable(MigPlan *plan, MigOperation *op);
extern void MigOpDropTable(MigPlan *plan, MigOperation *op);
extern void MigOpAddColumn(MigPlan *plan, MigOperation *op);
extern void MigOpDropColumn(MigPlan *plan, MigOperation *op);
extern void MigOpRenameColumn(MigPlan *plan, MigOperation *op);
extern void MigOpAlterColumn(MigPlan *plan, MigOperation *op);
extern void MigOpCreateConstraint(MigPlan *plan, MigOperation *op);
extern void MigOpDropConstraint(MigPlan *plan, MigOperation *op);
extern void MigOpDropMulticolumnConstraint(MigPlan *plan, MigOperation *op);
extern void MigOpRenameConstraint(MigPlan *plan, MigOperation *op);
extern void MigOpSetReplicaIdentity(MigPlan *plan, MigOperation *op);
extern void MigOpSql(MigPlan *plan, MigOperation *op);
extern void MigOpCreateIndex(MigPlan *plan, MigOperation *op);
extern void MigOpDropIndex(MigPlan *plan, MigOperation *op);

#endif							/* MIG_OPS_H */
