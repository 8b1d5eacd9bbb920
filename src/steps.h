/*-------------------------------------------------------------------------
 *
 * steps.h
 *		Contract (complete) and undo (rollback) steps, recorded at start in
 *		mig.steps and run by complete or rollback.
 *
 *		A step names tables by OID and columns by attribute number and
 *		resolves the current names only when it runs, so the steps of one
 *		migration stay right whatever order its renames run in.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_STEPS_H
#define MIG_STEPS_H

#include "access/attnum.h"
#include "ops.h"

typedef enum MigPhase
{
	MIG_PHASE_COMPLETE,
	MIG_PHASE_ROLLBACK
} MigPhase;

typedef enum MigStepKind
{
	MIG_STEP_SQL,
	MIG_STEP_DROP_TABLE,
	MIG_STEP_RENAME_TABLE,
	MIG_STEP_DROP_COLUMN,
	MIG_STEP_RENAME_COLUMN,
	MIG_STEP_RENAME_CONSTRAINT,
	MIG_STEP_VALIDATE_CONSTRAINT,
	MIG_STEP_SET_NOT_NULL,
	MIG_STEP_DROP_CONSTRAINT,
	MIG_STEP_REPLICA_IDENTITY,
	MIG_STEP_RENAME_INDEX,
	MIG_STEP_CONSTRAINT_USING_INDEX,
	MIG_STEP_SEQUENCE_OWNER,
	MIG_STEP_DROP_INDEX,
	MIG_STEP_DROP_INDEX_CONCURRENTLY,
	MIG_NUM_STEP_KINDS
} MigStepKind;

/*
 * Step kinds and the fields each uses:
 *	sql					text (user SQL, run as is)
 *	drop_table			relid
 *	rename_table		relid, name
 *	drop_column			relid, attnum
 *	rename_column		relid, attnum, name
 *	rename_constraint	relid, objid (constraint), name
 *	validate_constraint relid, objid
 *	set_not_null		relid, attnum
 *	drop_constraint		relid, objid
 *	replica_identity	relid, name (FULL, DEFAULT, NOTHING or INDEX), objid (index)
 *	rename_index		relid, objid (index), name
 *	constraint_using_index relid, objid (index), name (constraint),
 *						text ("UNIQUE" or "PRIMARY KEY", then DEFERRABLE ...)
 *	sequence_owner		relid, attnum (new owner), objid (sequence)
 *	drop_index			relid, objid (index)
 *	drop_index_concurrently relid, objid (index): dropped by a job once
 *						complete has committed
 */
extern void MigStepAdd(MigPlan *plan, MigPhase phase, MigStepKind kind,
					   Oid relid, AttrNumber attnum, Oid objid,
					   const char *name, const char *text);

/* Run the recorded steps of a phase; complete in order, rollback reversed. */
extern bool MigStepsRun(const char *schema, const char *migration, MigPhase phase);

/*
 * A declared index was rebuilt under a new OID (REINDEX at complete): the
 * steps that name the old one name the new one.  name is the index's, for
 * the error.
 */
extern void MigStepsIndexMoved(const char *schema, const char *migration,
							   Oid oldoid, Oid newoid, const char *name);

#endif							/* MIG_STEPS_H */
