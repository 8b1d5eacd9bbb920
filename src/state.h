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

/*
 * Writes to the state tables run as the extension's owner: roles change
 * them only through the extension's functions.  Nest a pair around SPI
 * calls that write mig.* tables, and around nothing else.
 */
typedef struct MigOwnerSave
{
	Oid			userid;
	int			sec_context;
	int			guc_nestlevel;	/* the safe search_path's */
} MigOwnerSave;

extern void MigAsExtensionOwner(MigOwnerSave *save);
extern void MigAsCaller(MigOwnerSave *save);

/* The caller may migrate this schema: it owns it or may create in it. */
extern void MigCheckSchemaPrivilege(Oid schema_oid, const char *schema);

/*
 * Serialize start, complete and rollback on one schema: take its advisory
 * lock (raising 3F000 if the schema does not exist) and return its OID.
 * Take it before reading anything about the schema.
 */
extern Oid	MigStateLockSchema(const char *schema);

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

#endif							/* MIG_STATE_H */
