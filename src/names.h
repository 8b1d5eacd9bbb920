/*-------------------------------------------------------------------------
 *
 * names.h
 *		The names migrate_ext gives things: its schema, the prefixes of the
 *		physical names it generates, the dual-write trigger's name, the
 *		generation of internal names, and the quoting of physical names.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_NAMES_H
#define MIG_NAMES_H

#include "access/attnum.h"

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

/* Does the name start with the internal prefix (_mig_)? */
extern bool MigIsInternalName(const char *name);

/*
 * A generated internal name: prefix + name, never longer than NAMEDATALEN - 1
 * bytes (a long name is cut and given a hash of the whole name).
 */
extern char *MigInternalName(const char *prefix, const char *name);

/* The schema-qualified, quoted current name of a relation. */
extern char *MigQuoteTable(Oid relid);
/* The quoted current name of a column. */
extern const char *MigQuoteColumn(Oid relid, AttrNumber attnum);

#endif							/* MIG_NAMES_H */
