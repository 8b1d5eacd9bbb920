/*-------------------------------------------------------------------------
 *
 * security.h
 *		Running as the extension's owner, the privilege to migrate a
 *		schema, and the per-schema lock.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_SECURITY_H
#define MIG_SECURITY_H

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
extern Oid	MigLockSchema(const char *schema);

/*
 * Take the same lock by the schema's OID if it is free, without waiting;
 * for recording DDL run outside migrations (ddl_capture.c), which must
 * neither wait behind another session's transaction nor deadlock with it.
 */
extern bool MigLockSchemaTry(Oid schema_oid);

/*
 * Refuse a function that writes (mig.start, mig.pause, ...) on a hot
 * standby, with SQLSTATE 25006 and a hint to run it on the primary, or in
 * a read-only transaction.
 */
extern void MigRefuseReadOnly(const char *function, const char *schema);

#endif							/* MIG_SECURITY_H */
