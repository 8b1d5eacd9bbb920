/*-------------------------------------------------------------------------
 *
 * state.h
 *		The history of migrations in mig.migrations.
 *
 *		All functions run SPI queries; the caller is connected.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_STATE_H
#define MIG_STATE_H

#include "utils/jsonb.h"

typedef struct MigActive
{
	char	   *name;			/* the migration in progress */
	char	   *version_schema; /* its version schema */
	char	   *previous_version_schema;	/* the one before, if it exists */
} MigActive;

/* The migration in progress in a schema, or NULL. */
extern MigActive *MigStateGetActive(const char *schema);

/* The latest migration's name, or NULL if the schema has no history. */
extern char *MigStateLatest(const char *schema);
/* The schema the current version reads through: latest version schema, or the base schema. */
extern char *MigStateLatestVersion(const char *schema);
extern bool MigStateExists(const char *schema, const char *name);

extern void MigStateInsert(const char *schema, const char *name,
						   const char *parent, Jsonb *migration);
extern void MigStateMarkComplete(const char *schema, const char *name);
extern void MigStateDelete(const char *schema, const char *name);

/* Was the migration started in the current transaction? */
extern bool MigStateStartedHere(const char *schema, const char *migration);

#endif							/* MIG_STATE_H */
