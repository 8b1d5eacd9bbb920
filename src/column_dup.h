/*-------------------------------------------------------------------------
 *
 * column_dup.h
 *		Column duplication: the way alter_column, create_constraint,
 *		drop_constraint and drop_multicolumn_constraint change a column
 *		whose old and new versions hold different data.
 *
 *		At start each column gets a shadow column (under an internal name,
 *		with the new type if one is given) that takes the column's place in
 *		the new version, and the column's default, comment, column grants,
 *		NOT NULL, check and foreign key constraints, unique and primary key
 *		constraints and indexes are carried over to the shadow (constraints
 *		NOT VALID, validated at complete).  The dual-write trigger keeps the
 *		two in step and the backfill fills the shadow for existing rows.  At
 *		complete the old column is dropped and the shadow and everything
 *		carried over take the old names; at rollback the shadow is dropped,
 *		and everything carried over with it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_COLUMN_DUP_H
#define MIG_COLUMN_DUP_H

#include "dup_carry.h"

/*
 * Duplicate columns of a table (see above).  The model then has each shadow
 * under its column's name and the old columns hidden.  Records the rollback
 * steps and the complete steps that validate what was carried over; the
 * caller adds its own steps and then calls MigDupFinish.
 */
extern MigDup *MigDupStart(MigPlan *plan, MigModelTable *table, List *columns,
						   Oid skip_conoid);

/*
 * Record the last complete steps: move sequences to the shadows, drop the
 * old columns, give the shadows and everything carried over the old names.
 */
extern void MigDupFinish(MigPlan *plan, MigDup *dup);

/*
 * Refuse (0A000) a change of columns (dropping: a drop) that complete could
 * not make because other objects depend on them.
 */
extern void MigCheckColumnDependents(MigPlan *plan, MigModelTable *table,
									 int2vector *attnums, bool dropping);

#endif							/* MIG_COLUMN_DUP_H */
