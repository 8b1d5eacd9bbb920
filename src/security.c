/*-------------------------------------------------------------------------
 *
 * security.c
 *		Who runs what: switching to the extension's owner around writes to
 *		the mig.* tables, the caller's privilege to migrate a schema, and
 *		the advisory lock that serializes start, complete and rollback on
 *		one schema.
 *
 *	IDENTIFICATION
 *		src/security.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "compat.h"
#include "ddl.h"
#include "security.h"

/* first key of the extension's advisory locks ("mig" in ASCII) */
#define MIG_ADVISORY_LOCK_KEY 0x6d6967

void
MigAsExtensionOwner(MigOwnerSave *save)
{
	Oid			relid = get_relname_relid("migrations", get_namespace_oid("mig", false));
	HeapTuple	tup;
	Oid			owner;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);

	GetUserIdAndSecContext(&save->userid, &save->sec_context);
	SetUserIdAndSecContext(owner,
						   save->sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);

	/*
	 * Nothing the caller put on its search_path (an operator "=" in a
	 * schema listed before pg_catalog, a temporary table) may be found
	 * while we run as the owner: the search path PostgreSQL's own
	 * maintenance commands use.  An error on the way restores it, and the
	 * user, with the (sub)transaction.
	 */
	save->guc_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

void
MigAsCaller(MigOwnerSave *save)
{
	AtEOXact_GUC(false, save->guc_nestlevel);
	SetUserIdAndSecContext(save->userid, save->sec_context);
}

void
MigCheckSchemaPrivilege(Oid schema_oid, const char *schema)
{
	AclResult	result = MigSchemaAclCheck(schema_oid, GetUserId(), ACL_CREATE);

	if (result != ACLCHECK_OK)
		ereport(ERROR,
				errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				errmsg("permission denied to migrate schema \"%s\"", schema),
				errdetail("Migrating a schema requires the CREATE privilege on it."),
				errhint("Run the migration as the schema's owner, or grant CREATE on the schema."));
}

Oid
MigLockSchema(const char *schema)
{
	Oid			schema_oid = get_namespace_oid(schema, true);

	if (!OidIsValid(schema_oid))
		ereport(ERROR,
				errcode(ERRCODE_INVALID_SCHEMA_NAME),
				errmsg("schema \"%s\" does not exist", schema));
	MigExecSchemaLock(psprintf("SELECT pg_catalog.pg_advisory_xact_lock(%d, %d)",
							   MIG_ADVISORY_LOCK_KEY, (int32) schema_oid),
					  schema_oid);

	/*
	 * Whoever held the lock may have just committed catalog changes (a
	 * complete that renamed columns): read the catalogs afresh.
	 */
	AcceptInvalidationMessages();
	InvalidateCatalogSnapshot();
	return schema_oid;
}

bool
MigLockSchemaTry(Oid schema_oid)
{
	return DatumGetBool(DirectFunctionCall2(pg_try_advisory_xact_lock_int4,
											Int32GetDatum(MIG_ADVISORY_LOCK_KEY),
											Int32GetDatum((int32) schema_oid)));
}

void
MigRefuseReadOnly(const char *function, const char *schema)
{
	if (RecoveryInProgress())
		ereport(ERROR,
				errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				errmsg("cannot run %s on schema \"%s\": this server is a read-only standby",
					   function, schema ? schema : "?"),
				errdetail("Migrations and their jobs are changed only on the primary; a standby shows them as the primary recorded them."),
				errhint("Run %s on the primary server.", function));
	if (XactReadOnly)
		ereport(ERROR,
				errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				errmsg("cannot run %s on schema \"%s\" in a read-only transaction",
					   function, schema ? schema : "?"),
				errhint("Run %s in a read-write transaction.", function));
}
