/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Every PostgreSQL-version difference migrate_ext cares about.
 *
 *		The extension supports PostgreSQL 15, 17 and 18 (tested) and 16
 *		(built in principle, untested: Debian has no package for it).  Code
 *		elsewhere uses the names defined here and tests PG_VERSION_NUM
 *		itself only where a header cannot hide the difference.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_COMPAT_H
#define MIG_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "migrate_ext requires PostgreSQL 15 or later"
#endif

#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/rel.h"

#if PG_VERSION_NUM >= 160000
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_namespace.h"
#include "utils/acl.h"
#include "utils/guc_hooks.h"
#endif

/*
 * A function that does not return is marked before its declaration from
 * PostgreSQL 18 on (pg_noreturn, C11's _Noreturn), after it before.
 */
#ifdef pg_noreturn
#define MIG_NORETURN pg_noreturn
#else
#define MIG_NORETURN pg_attribute_noreturn()
#endif

/*
 * NOT NULL is a pg_constraint row (contype 'n', with a name) from
 * PostgreSQL 18 on; before, only pg_attribute.attnotnull.
 */
#if PG_VERSION_NUM >= 180000
#define MIG_NOT_NULL_IS_CONSTRAINT true
#else
#define MIG_NOT_NULL_IS_CONSTRAINT false
#endif

/* RelFileNode became RelFileLocator in PostgreSQL 16 */
#if PG_VERSION_NUM >= 160000
#define MigRelationFileNumber(rel) ((Oid) (rel)->rd_locator.relNumber)
#else
#define MigRelationFileNumber(rel) ((rel)->rd_node.relNode)
#endif

/* IsBackgroundWorker became AmBackgroundWorkerProcess() in PostgreSQL 17 */
#if PG_VERSION_NUM >= 170000
#define MigIsBackgroundWorker() AmBackgroundWorkerProcess()
#else
#define MigIsBackgroundWorker() IsBackgroundWorker
#endif

/* a backend's local transaction id moved into PGPROC.vxid in PostgreSQL 17 */
#if PG_VERSION_NUM >= 170000
#define MigMyLocalTransactionId() (MyProc->vxid.lxid)
#else
#define MigMyLocalTransactionId() (MyProc->lxid)
#endif

/* ExecutorRun lost its execute_once argument in PostgreSQL 18 */
#if PG_VERSION_NUM >= 180000
#define MigExecutorRun(qd, dir, count) ExecutorRun(qd, dir, count)
#else
#define MigExecutorRun(qd, dir, count) ExecutorRun(qd, dir, count, true)
#endif

/*
 * DefineIndex gained a total_parts argument in PostgreSQL 16.  Define an
 * index as a top-level CREATE INDEX would, optionally without building it.
 */
#if PG_VERSION_NUM >= 160000
#define MigDefineIndex(relid, stmt, skip_build) \
	DefineIndex((relid), (stmt), InvalidOid, InvalidOid, InvalidOid, -1, \
				false, true, false, (skip_build), false)
#else
#define MigDefineIndex(relid, stmt, skip_build) \
	DefineIndex((relid), (stmt), InvalidOid, InvalidOid, InvalidOid, \
				false, true, false, (skip_build), false)
#endif

/*
 * A background worker can connect only as a role with LOGIN before
 * PostgreSQL 17 (BGWORKER_BYPASS_ROLELOGINCHECK).
 */
#if PG_VERSION_NUM < 170000
#define MIG_WORKER_NEEDS_LOGIN 1
#define MIG_WORKER_CONNECT_FLAGS 0
#else
#define MIG_WORKER_NEEDS_LOGIN 0
#define MIG_WORKER_CONNECT_FLAGS BGWORKER_BYPASS_ROLELOGINCHECK
#endif

/*
 * The per-object-type ACL and ownership checks became object_aclcheck and
 * object_ownercheck in PostgreSQL 16.
 */
#if PG_VERSION_NUM >= 160000
#define MigSchemaAclCheck(nspoid, roleid, mode) \
	object_aclcheck(NamespaceRelationId, (nspoid), (roleid), (mode))
#define MigRelationOwnerCheck(relid, roleid) \
	object_ownercheck(RelationRelationId, (relid), (roleid))
#define MigSchemaOwnerCheck(nspoid, roleid) \
	object_ownercheck(NamespaceRelationId, (nspoid), (roleid))
#define MigExtensionOwnerCheck(extoid, roleid) \
	object_ownercheck(ExtensionRelationId, (extoid), (roleid))
#define MigDatabaseAclCheck(dboid, roleid, mode) \
	object_aclcheck(DatabaseRelationId, (dboid), (roleid), (mode))
#else
#define MigSchemaAclCheck(nspoid, roleid, mode) \
	pg_namespace_aclcheck((nspoid), (roleid), (mode))
#define MigRelationOwnerCheck(relid, roleid) \
	pg_class_ownercheck((relid), (roleid))
#define MigSchemaOwnerCheck(nspoid, roleid) \
	pg_namespace_ownercheck((nspoid), (roleid))
#define MigExtensionOwnerCheck(extoid, roleid) \
	pg_extension_ownercheck((extoid), (roleid))
#define MigDatabaseAclCheck(dboid, roleid, mode) \
	pg_database_aclcheck((dboid), (roleid), (mode))
#endif

/*
 * typeStringToTypeName and stringToQualifiedNameList gained an escontext
 * argument in PostgreSQL 16
 */
#if PG_VERSION_NUM >= 160000
#define MigTypeStringToTypeName(str) typeStringToTypeName((str), NULL)
#define MigStringToQualifiedNameList(str) stringToQualifiedNameList((str), NULL)
#else
#define MigTypeStringToTypeName(str) typeStringToTypeName(str)
#define MigStringToQualifiedNameList(str) stringToQualifiedNameList(str)
#endif

/* PortalRun lost its run_once argument in PostgreSQL 18 */
#if PG_VERSION_NUM >= 180000
#define MigPortalRun(portal, count, top, dest, altdest, qc) \
	PortalRun((portal), (count), (top), (dest), (altdest), (qc))
#else
#define MigPortalRun(portal, count, top, dest, altdest, qc) \
	PortalRun((portal), (count), (top), true, (dest), (altdest), (qc))
#endif

/*
 * What table_tuple_update says of the new version's index entries became
 * an enum (TU_UpdateIndexes) in PostgreSQL 16, and ExecInsertIndexTuples
 * gained an argument for the summarizing-only case.  Insert the entries of
 * an updated row, as an UPDATE does.
 */
#if PG_VERSION_NUM >= 160000
typedef TU_UpdateIndexes MigUpdateIndexes;
#define MigUpdateNeedsIndexes(u) ((u) != TU_None)
#define MigInsertIndexTuples(rri, slot, estate, u) \
	ExecInsertIndexTuples((rri), (slot), (estate), true, false, NULL, NIL, \
						  (u) == TU_Summarizing)
#else
typedef bool MigUpdateIndexes;
#define MigUpdateNeedsIndexes(u) (u)
#define MigInsertIndexTuples(rri, slot, estate, u) \
	ExecInsertIndexTuples((rri), (slot), (estate), true, false, NULL, NIL)
#endif

/*
 * The privileges a statement needs on a relation moved from its range table
 * entry to RTEPermissionInfo in PostgreSQL 16; ExecutorRun_hook lost its
 * execute_once argument in PostgreSQL 18.
 */
#if PG_VERSION_NUM >= 160000
#include "parser/parse_relation.h"
#define MigRtePerms(stmt, rte) \
	((rte)->perminfoindex == 0 ? (AclMode) 0 : \
	 getRTEPermissionInfo((stmt)->permInfos, (rte))->requiredPerms)
#else
#define MigRtePerms(stmt, rte) ((rte)->requiredPerms)
#endif
#if PG_VERSION_NUM >= 180000
#define MIG_EXECUTOR_RUN_ARGS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count
#define MIG_EXECUTOR_RUN_PASS queryDesc, direction, count
#else
#define MIG_EXECUTOR_RUN_ARGS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count, bool execute_once
#define MIG_EXECUTOR_RUN_PASS queryDesc, direction, count, execute_once
#endif

/*
 * A constraint in a raw parse tree gained NOT ENFORCED, a generated column
 * VIRTUAL (the default from then on), and temporal keys (WITHOUT OVERLAPS,
 * PERIOD) in PostgreSQL 18.  What mig.convert and mig.lint must not take
 * for the plain forms.  Only a CHECK or a foreign key can be NOT ENFORCED;
 * the parser leaves is_enforced false on the other kinds.
 */
#if PG_VERSION_NUM >= 180000
#define MigConstraintNotEnforced(con) \
	(((con)->contype == CONSTR_CHECK || (con)->contype == CONSTR_FOREIGN) && \
	 !(con)->is_enforced)
#define MigGeneratedIsStored(con) \
	((con)->generated_kind == ATTRIBUTE_GENERATED_STORED)
#define MigConstraintIsTemporal(con) \
	((con)->without_overlaps || (con)->fk_with_period || (con)->pk_with_period)
#else
#define MigConstraintNotEnforced(con) false
#define MigGeneratedIsStored(con) true
#define MigConstraintIsTemporal(con) false
#endif

#endif							/* MIG_COMPAT_H */
