/*-------------------------------------------------------------------------
 *
 * migrate_ext.h
 *		Module-wide constants and configuration parameters of migrate_ext.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGRATE_EXT_H
#define MIGRATE_EXT_H

/* schema that holds the extension's functions and state tables */
#define MIG_SCHEMA_NAME "mig"

/* prefixes of the physical names the extension generates */
#define MIG_DELETED_TABLE_PREFIX "_mig_del_"
#define MIG_SHADOW_COLUMN_PREFIX "_mig_new_"
#define MIG_DUP_PREFIX "_mig_dup_"	/* a constraint or index carried over */
#define MIG_NOT_NULL_PREFIX "_mig_notnull_"	/* NOT NULL until complete */
#define MIG_INTERNAL_PREFIX "_mig_"
/*
 * The dual-write trigger.  BEFORE ROW triggers of a table fire in the byte
 * order of their names (strcmp), and this one must run last, over the row
 * as the table's own BEFORE triggers leave it: '~' (0x7E) sorts after every
 * ASCII letter, digit and '_'.  A BEFORE INSERT/UPDATE row trigger whose
 * name sorts after it is refused at start (dual_write_setup.c) and while
 * the migration is active (event_guard.c).
 */
#define MIG_TRIGGER_NAME "~mig_dual_write"

#endif							/* MIGRATE_EXT_H */
