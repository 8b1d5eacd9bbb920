/*-------------------------------------------------------------------------
 *
 * views.h
 *		Version schemas: one schema of views per version of a base schema.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_VIEWS_H
#define MIG_VIEWS_H

#include "model.h"

/* Create the version schema and one view per visible table of the model. */
extern void MigViewsCreate(MigModel *model, const char *version_schema);

/*
 * Remove from a version schema's views the guards that keep them unusable
 * until their tables' backfills are done (at complete).
 */
extern void MigViewsUnguard(const char *version_schema);

/* The OIDs of every view in a schema, in OID order (SPI connected). */
extern List *MigViewsInSchema(Oid schema_oid);

/*
 * Drop a version schema and its views, if it exists, refusing with 2BP01
 * if anything of the user's depends on it (views_drop.c).
 */
extern void MigViewsDrop(const char *schema, const char *migration,
						 const char *version_schema, const char *call,
						 bool cascade);

/* The check alone: refuse with 2BP01 if MigViewsDrop would refuse. */
extern void MigViewsCheckDrop(const char *schema, const char *migration,
							  const char *version_schema, const char *call);

/* Whether the extension is making version views now (for event_guard.c). */
extern bool MigViewsMaking(void);

#endif							/* MIG_VIEWS_H */
