/*-------------------------------------------------------------------------
 *
 * ddl_capture.c
 *		DDL run outside migrations (by hand, by an ORM) recorded in the
 *		history as inferred migrations, as pgroll's raw_migration() records
 *		it, but from a ProcessUtility hook: no event trigger, so no
 *		superuser is needed, and the row is written as the extension's
 *		owner, whoever ran the statement.
 *
 *		What is recorded: each top-level DDL statement (one a client sent;
 *		each statement of a multi-statement string on its own) that
 *		creates, alters, renames, comments on or drops a table, view,
 *		index, sequence, column, constraint, trigger, rule, policy,
 *		function or type, in a schema that migrate_ext manages: one that
 *		has a history in mig.migrations, and no migration in progress.  The
 *		object's schema comes from the parse tree, resolved in the catalogs
 *		(before the statement for objects it drops, renames or moves, after
 *		it for objects it creates).  One row per schema the statement
 *		changed, after it succeeded:
 *
 *			name		<latest non-inferred migration>_<YYYYMMDDHH24MISSUS>,
 *						or 00000_initial_<...> if there is none
 *			parent		the latest migration (inferred or not)
 *			migration	{"operations": [{"sql": {"up": "<the statement>"}}]}
 *			migration_type	'inferred', status 'complete',
 *			resulting_schema	mig.read_schema(schema)
 *
 *		What is not: statements run inside functions, procedures and DO
 *		blocks (so nothing the extension's functions run, nor a migration's
 *		"sql" operation); anything run while the extension runs DDL of its
 *		own (MigOwnDdlEnter, the background worker); temporary objects;
 *		objects in schema mig or in a schema without history (version
 *		schemas included); CREATE/ALTER/DROP EXTENSION and whatever an
 *		extension script runs; a schema with a migration in progress (a
 *		row there would become the child of the active migration and break
 *		its history chain: pgroll skips it too); statements that changed
 *		nothing (CREATE ... IF NOT EXISTS of an existing relation); and a
 *		session with migrate_ext.infer_migrations off.
 *
 *		Recording never makes the statement fail: it runs in a
 *		subtransaction, and an error there (a lock timeout on the schema's
 *		lock, say) becomes a WARNING; only a cancel is passed on.
 *		Recording takes the schema's advisory lock only if it is free (it
 *		serializes recording with start, complete, rollback and other
 *		sessions' recording): DDL never waits or deadlocks on it.
 *
 *	IDENTIFICATION
 *		src/ddl_capture.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_func.h"
#include "parser/parse_type.h"
#include "parser/scansup.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

#include "compat.h"
#include "ddl_capture.h"
#include "security.h"
#include "settings.h"
#include "subxact.h"
#include "spi_exec.h"

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* the extension is running DDL of its own */
static bool own_ddl = false;
static bool own_ddl_process = false;

/*
 * The extension in the current database, cached: looked up again after
 * any invalidation while it is absent or not yet updated, and after an
 * invalidation of mig.migrations (DROP EXTENSION drops it, ALTER EXTENSION
 * UPDATE alters it) while it is present.
 */
static bool cache_valid = false;
static bool cache_recordable = false;	/* installed, with migration_type */
static Oid	cache_namespace = InvalidOid;	/* schema mig */
static Oid	cache_migrations = InvalidOid;	/* mig.migrations */

static void capture_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
								   bool readOnlyTree,
								   ProcessUtilityContext context,
								   ParamListInfo params,
								   QueryEnvironment *queryEnv,
								   DestReceiver *dest, QueryCompletion *qc);
static void capture_cache_invalidate(Datum arg, Oid relid);
static bool capture_extension_ready(void);
static bool capture_statement_kind(Node *stmt);
static List *capture_add_schema(List *schemas, Oid nspid);
static Oid	relation_schema(const RangeVar *rv);
static Oid	object_schema(ObjectType type, Node *object);
static Oid	creation_schema(List *names);
static Oid	existing_relation(Node *stmt);
static List *schemas_before(Node *stmt);
static List *schemas_after(Node *stmt, List *schemas);
static char *statement_text(PlannedStmt *pstmt, const char *queryString);
static void capture_record(PlannedStmt *pstmt, const char *queryString,
						   Node *stmt, List *schemas, Oid existing);
static void record_in_schema(const char *schema, const char *sql, Oid caller);

void
MigDdlCaptureInit(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = capture_ProcessUtility;
	CacheRegisterRelcacheCallback(capture_cache_invalidate, (Datum) 0);
}

bool
MigOwnDdlEnter(void)
{
	bool		previous = own_ddl;

	own_ddl = true;
	return previous;
}

void
MigOwnDdlLeave(bool previous)
{
	own_ddl = previous;
}

void
MigOwnDdlProcess(void)
{
	own_ddl_process = true;
}

static void
capture_cache_invalidate(Datum arg, Oid relid)
{
	if (!cache_recordable || relid == InvalidOid || relid == cache_migrations)
		cache_valid = false;
}

/* Is the extension installed here, at a version with migration_type? */
static bool
capture_extension_ready(void)
{
	if (!cache_valid)
	{
		Oid			nspid = InvalidOid;
		Oid			relid = InvalidOid;
		bool		recordable = false;

		if (OidIsValid(get_extension_oid("migrate_ext", true)))
		{
			nspid = get_namespace_oid("mig", true);
			if (OidIsValid(nspid))
				relid = get_relname_relid("migrations", nspid);
			recordable = OidIsValid(relid) &&
				get_attnum(relid, "migration_type") != InvalidAttrNumber;
		}
		cache_namespace = nspid;
		cache_migrations = relid;
		cache_recordable = recordable;
		cache_valid = true;
	}
	return cache_recordable;
}

/* The statements that can change a schema's objects. */
static bool
capture_statement_kind(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_CreateStmt:
		case T_CreateForeignTableStmt:
		case T_CreateTableAsStmt:
		case T_ViewStmt:
		case T_IndexStmt:
		case T_CreateSeqStmt:
		case T_AlterSeqStmt:
		case T_AlterTableStmt:
		case T_CommentStmt:
		case T_CreateTrigStmt:
		case T_RuleStmt:
		case T_CreatePolicyStmt:
		case T_AlterPolicyStmt:
		case T_CreateFunctionStmt:
		case T_AlterFunctionStmt:
		case T_CompositeTypeStmt:
		case T_CreateEnumStmt:
		case T_AlterEnumStmt:
		case T_CreateDomainStmt:
		case T_AlterDomainStmt:
		case T_DefineStmt:
			return true;
		case T_DropStmt:
			return ((DropStmt *) stmt)->removeType != OBJECT_EXTENSION;
		case T_RenameStmt:
			return ((RenameStmt *) stmt)->renameType != OBJECT_SCHEMA;
		case T_AlterObjectSchemaStmt:
			return ((AlterObjectSchemaStmt *) stmt)->objectType != OBJECT_EXTENSION;
		default:
			return false;
	}
}

static void
capture_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = NULL;
	List	   *schemas = NIL;
	Oid			existing = InvalidOid;

	if (context == PROCESS_UTILITY_TOPLEVEL && mig_infer_migrations &&
		!own_ddl && !own_ddl_process && !creating_extension &&
		!IsBinaryUpgrade && !RecoveryInProgress() && IsTransactionState() &&
		capture_statement_kind(pstmt->utilityStmt) &&
		capture_extension_ready())
	{
		/* the statement may scribble on its tree: keep our own copy */
		stmt = copyObject(pstmt->utilityStmt);
		schemas = schemas_before(stmt);
		existing = existing_relation(stmt);
	}

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
							queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);

	if (stmt != NULL && IsTransactionState() && !XactReadOnly &&
		capture_extension_ready())
		capture_record(pstmt, queryString, stmt, schemas, existing);
}

/* Add a schema (by name) unless it is temporary or the extension's. */
static List *
capture_add_schema(List *schemas, Oid nspid)
{
	char	   *name;
	ListCell   *lc;

	if (!OidIsValid(nspid) || isAnyTempNamespace(nspid) ||
		nspid == cache_namespace)
		return schemas;
	name = get_namespace_name(nspid);
	if (name == NULL)
		return schemas;
	foreach(lc, schemas)
	{
		if (strcmp((char *) lfirst(lc), name) == 0)
			return schemas;
	}
	return lappend(schemas, name);
}

/* The schema of an existing relation, looked up without a lock. */
static Oid
relation_schema(const RangeVar *rv)
{
	Oid			relid;

	if (rv == NULL)
		return InvalidOid;
	relid = RangeVarGetRelid(rv, NoLock, true);
	return OidIsValid(relid) ? get_rel_namespace(relid) : InvalidOid;
}

/* The schema of an existing object, named as DROP, COMMENT, ... name it. */
static Oid
object_schema(ObjectType type, Node *object)
{
	Oid			oid;

	if (object == NULL)
		return InvalidOid;
	switch (type)
	{
		case OBJECT_TABLE:
		case OBJECT_VIEW:
		case OBJECT_MATVIEW:
		case OBJECT_INDEX:
		case OBJECT_SEQUENCE:
		case OBJECT_FOREIGN_TABLE:
			if (!IsA(object, List))
				return InvalidOid;
			return relation_schema(makeRangeVarFromNameList((List *) object));
		case OBJECT_COLUMN:
		case OBJECT_TABCONSTRAINT:
		case OBJECT_TRIGGER:
		case OBJECT_RULE:
		case OBJECT_POLICY:
			{
				/* the table's name, then the object's */
				List	   *names;

				if (!IsA(object, List) || list_length((List *) object) < 2)
					return InvalidOid;
				names = list_copy((List *) object);
				names = list_truncate(names, list_length(names) - 1);
				return relation_schema(makeRangeVarFromNameList(names));
			}
		case OBJECT_FUNCTION:
		case OBJECT_PROCEDURE:
		case OBJECT_ROUTINE:
		case OBJECT_AGGREGATE:
			if (!IsA(object, ObjectWithArgs))
				return InvalidOid;
			oid = LookupFuncWithArgs(type, (ObjectWithArgs *) object, true);
			return OidIsValid(oid) ? get_func_namespace(oid) : InvalidOid;
		case OBJECT_TYPE:
		case OBJECT_DOMAIN:
			{
				TypeName   *typname;
				HeapTuple	tup;
				Oid			nspid = InvalidOid;

				if (IsA(object, TypeName))
					typname = (TypeName *) object;
				else if (IsA(object, List))
					typname = makeTypeNameFromNameList((List *) object);
				else
					return InvalidOid;
				oid = LookupTypeNameOid(NULL, typname, true);
				if (!OidIsValid(oid))
					return InvalidOid;
				tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(oid));
				if (HeapTupleIsValid(tup))
				{
					nspid = ((Form_pg_type) GETSTRUCT(tup))->typnamespace;
					ReleaseSysCache(tup);
				}
				return nspid;
			}
		case OBJECT_SCHEMA:
			if (!IsA(object, String))
				return InvalidOid;
			return get_namespace_oid(strVal(object), true);
		default:
			return InvalidOid;
	}
}

/* The schema a created object (function, type) was created in. */
static Oid
creation_schema(List *names)
{
	char	   *nspname;
	char	   *objname;

	DeconstructQualifiedName(names, &nspname, &objname);
	if (nspname != NULL)
		return get_namespace_oid(nspname, true);
	return QualifiedNameGetCreationNamespace(names, &objname);
}

/*
 * For CREATE ... IF NOT EXISTS, the relation (or index) of that name that
 * exists before the statement: if it still is the one afterwards, the
 * statement changed nothing.
 */
static Oid
existing_relation(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_CreateStmt:
		case T_CreateForeignTableStmt:
			if (((CreateStmt *) stmt)->if_not_exists)
				return RangeVarGetRelid(((CreateStmt *) stmt)->relation, NoLock, true);
			break;
		case T_CreateTableAsStmt:
			if (((CreateTableAsStmt *) stmt)->if_not_exists)
				return RangeVarGetRelid(((CreateTableAsStmt *) stmt)->into->rel, NoLock, true);
			break;
		case T_CreateSeqStmt:
			if (((CreateSeqStmt *) stmt)->if_not_exists)
				return RangeVarGetRelid(((CreateSeqStmt *) stmt)->sequence, NoLock, true);
			break;
		case T_IndexStmt:
			{
				IndexStmt  *index = (IndexStmt *) stmt;
				Oid			nspid;

				if (!index->if_not_exists || index->idxname == NULL)
					break;
				nspid = relation_schema(index->relation);
				if (OidIsValid(nspid))
					return get_relname_relid(index->idxname, nspid);
				break;
			}
		default:
			break;
	}
	return InvalidOid;
}

/* The schemas of the objects the statement alters, drops, renames or moves. */
static List *
schemas_before(Node *stmt)
{
	List	   *schemas = NIL;
	ListCell   *lc;

	switch (nodeTag(stmt))
	{
		case T_IndexStmt:
			schemas = capture_add_schema(schemas, relation_schema(((IndexStmt *) stmt)->relation));
			break;
		case T_AlterTableStmt:
			schemas = capture_add_schema(schemas, relation_schema(((AlterTableStmt *) stmt)->relation));
			break;
		case T_AlterSeqStmt:
			schemas = capture_add_schema(schemas, relation_schema(((AlterSeqStmt *) stmt)->sequence));
			break;
		case T_CreateTrigStmt:
			schemas = capture_add_schema(schemas, relation_schema(((CreateTrigStmt *) stmt)->relation));
			break;
		case T_RuleStmt:
			schemas = capture_add_schema(schemas, relation_schema(((RuleStmt *) stmt)->relation));
			break;
		case T_CreatePolicyStmt:
			schemas = capture_add_schema(schemas, relation_schema(((CreatePolicyStmt *) stmt)->table));
			break;
		case T_AlterPolicyStmt:
			schemas = capture_add_schema(schemas, relation_schema(((AlterPolicyStmt *) stmt)->table));
			break;
		case T_RenameStmt:
			{
				RenameStmt *rename = (RenameStmt *) stmt;

				if (rename->relation != NULL)
					schemas = capture_add_schema(schemas, relation_schema(rename->relation));
				else
					schemas = capture_add_schema(schemas, object_schema(rename->renameType,
																		rename->object));
				break;
			}
		case T_AlterObjectSchemaStmt:
			{
				AlterObjectSchemaStmt *move = (AlterObjectSchemaStmt *) stmt;

				if (move->relation != NULL)
					schemas = capture_add_schema(schemas, relation_schema(move->relation));
				else
					schemas = capture_add_schema(schemas, object_schema(move->objectType,
																		move->object));
				/* the object leaves one schema for another: both change */
				schemas = capture_add_schema(schemas,
											 get_namespace_oid(move->newschema, true));
				break;
			}
		case T_DropStmt:
			{
				DropStmt   *drop = (DropStmt *) stmt;

				foreach(lc, drop->objects)
					schemas = capture_add_schema(schemas, object_schema(drop->removeType,
																		lfirst(lc)));
				break;
			}
		case T_CommentStmt:
			schemas = capture_add_schema(schemas, object_schema(((CommentStmt *) stmt)->objtype,
																((CommentStmt *) stmt)->object));
			break;
		case T_AlterFunctionStmt:
			schemas = capture_add_schema(schemas, object_schema(((AlterFunctionStmt *) stmt)->objtype,
																(Node *) ((AlterFunctionStmt *) stmt)->func));
			break;
		case T_AlterEnumStmt:
			schemas = capture_add_schema(schemas, object_schema(OBJECT_TYPE,
																(Node *) ((AlterEnumStmt *) stmt)->typeName));
			break;
		case T_AlterDomainStmt:
			schemas = capture_add_schema(schemas, object_schema(OBJECT_DOMAIN,
																(Node *) ((AlterDomainStmt *) stmt)->typeName));
			break;
		default:
			break;
	}
	return schemas;
}

/* The schemas of the objects the statement created, once it has. */
static List *
schemas_after(Node *stmt, List *schemas)
{
	switch (nodeTag(stmt))
	{
		case T_CreateStmt:
		case T_CreateForeignTableStmt:
			return capture_add_schema(schemas, relation_schema(((CreateStmt *) stmt)->relation));
		case T_CreateTableAsStmt:
			return capture_add_schema(schemas, relation_schema(((CreateTableAsStmt *) stmt)->into->rel));
		case T_ViewStmt:
			return capture_add_schema(schemas, relation_schema(((ViewStmt *) stmt)->view));
		case T_CreateSeqStmt:
			return capture_add_schema(schemas, relation_schema(((CreateSeqStmt *) stmt)->sequence));
		case T_CompositeTypeStmt:
			return capture_add_schema(schemas, relation_schema(((CompositeTypeStmt *) stmt)->typevar));
		case T_CreateFunctionStmt:
			return capture_add_schema(schemas, creation_schema(((CreateFunctionStmt *) stmt)->funcname));
		case T_CreateEnumStmt:
			return capture_add_schema(schemas, creation_schema(((CreateEnumStmt *) stmt)->typeName));
		case T_CreateDomainStmt:
			return capture_add_schema(schemas, creation_schema(((CreateDomainStmt *) stmt)->domainname));
		case T_DefineStmt:
			return capture_add_schema(schemas, creation_schema(((DefineStmt *) stmt)->defnames));
		default:
			return schemas;
	}
}

/*
 * The statement's own text within the query string (which may hold
 * several), without surrounding white space and semicolons.
 */
static char *
statement_text(PlannedStmt *pstmt, const char *queryString)
{
	size_t		total = strlen(queryString);
	const char *start = queryString;
	size_t		len = total;

	if (pstmt->stmt_location >= 0 && (size_t) pstmt->stmt_location <= total)
	{
		start = queryString + pstmt->stmt_location;
		len = total - pstmt->stmt_location;
		if (pstmt->stmt_len > 0 && (size_t) pstmt->stmt_len < len)
			len = pstmt->stmt_len;
	}
	while (len > 0 && scanner_isspace(*start))
	{
		start++;
		len--;
	}
	while (len > 0 && (scanner_isspace(start[len - 1]) || start[len - 1] == ';'))
		len--;
	return pnstrdup(start, len);
}

/*
 * Record the statement in the history of each managed schema it changed,
 * in a subtransaction whose errors become a WARNING.
 */
typedef struct CaptureArgs
{
	PlannedStmt *pstmt;
	const char *queryString;
	Node	   *stmt;
	List	   *schemas;
	Oid			existing;
	Oid			caller;
} CaptureArgs;

static void
capture_record_now(void *arg)
{
	CaptureArgs *args = (CaptureArgs *) arg;
	ListCell   *lc;
	char	   *sql;
	List	   *targets;

	/* CREATE ... IF NOT EXISTS of what was there already */
	if (OidIsValid(args->existing))
		return;
	targets = schemas_after(args->stmt, args->schemas);
	if (targets == NIL)
		return;
	sql = statement_text(args->pstmt, args->queryString);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	foreach(lc, targets)
		record_in_schema((char *) lfirst(lc), sql, args->caller);
	SPI_finish();
}

static void
capture_record(PlannedStmt *pstmt, const char *queryString, Node *stmt,
			   List *schemas, Oid existing)
{
	CaptureArgs args = {pstmt, queryString, stmt, schemas, existing, GetUserId()};
	ErrorData  *edata = MigSubxactRun(capture_record_now, &args);

	if (edata == NULL)
		return;
	/* a cancel or a timeout of the statement is the statement's */
	if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
		edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
		ReThrowError(edata);
	ereport(WARNING,
			errcode(edata->sqlerrcode),
			errmsg("DDL statement not recorded in the history of migrations: %s",
				   edata->message),
			errdetail("The statement itself succeeded; only its record as an inferred migration is missing."),
			errhint("Set \"%s\" to off to run DDL without recording it.",
					"migrate_ext.infer_migrations"));
	FreeErrorData(edata);
}

/*
 * One inferred migration in a schema's history, if migrate_ext manages the
 * schema (it has a history, and no migration in progress) and it is no
 * version schema.  Written as the extension's owner; the statement's role
 * is recorded as started_by.
 */
static void
record_in_schema(const char *schema, const char *sql, Oid caller)
{
	Oid			argtypes[3] = {NAMEOID, TEXTOID, REGROLEOID};
	Datum		values[3];
	Oid			nspid = get_namespace_oid(schema, true);
	MigOwnerSave save;
	bool		isnull;
	bool		managed;

	/*
	 * Only a role that may migrate the schema (CREATE on it, as mig.start
	 * requires) writes its history: a DROP ... IF EXISTS that found nothing
	 * passes PostgreSQL's checks with no privilege at all.
	 */
	if (OidIsValid(nspid) &&
		MigSchemaAclCheck(nspid, caller, ACL_CREATE) != ACLCHECK_OK)
		return;

	values[0] = DirectFunctionCall1(namein, CStringGetDatum(schema));
	values[1] = CStringGetTextDatum(sql);
	values[2] = ObjectIdGetDatum(caller);

	MigAsExtensionOwner(&save);

	/*
	 * Serialized with start, complete, rollback and other recorders; never
	 * waiting: the lock lasts until the end of the user's transaction, and
	 * a wait could queue DDL behind another session's open transaction or
	 * deadlock with it.  A statement that finds it taken is not recorded
	 * (the caller's WARNING says so).
	 */
	if (OidIsValid(nspid) && !MigLockSchemaTry(nspid))
		ereport(ERROR,
				errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				errmsg("the history of schema \"%s\" is being changed by another session",
					   schema),
				errdetail("A migration is starting, completing or rolling back there, or another transaction has recorded DDL and not ended yet."));

	MigSpiExec("SELECT EXISTS (SELECT FROM mig.migrations m"
			   "               WHERE m.schema OPERATOR(pg_catalog.=) $1)"
			   "   AND NOT EXISTS (SELECT FROM mig.migrations m"
			   "               WHERE m.schema OPERATOR(pg_catalog.=) $1"
			   "                 AND m.status OPERATOR(pg_catalog.=) 'in_progress')"
			   "   AND NOT EXISTS (SELECT FROM mig.migrations m"
			   "               WHERE m.migration_type OPERATOR(pg_catalog.<>) 'inferred'"
			   "                 AND mig.version_schema_name(m.schema, m.name, m.migration)"
			   "                     OPERATOR(pg_catalog.=) $1::pg_catalog.text)",
			   1, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the history of schema \"%s\"", schema);
	managed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
										 SPI_tuptable->tupdesc, 1, &isnull));
	if (managed && !isnull)
		MigSpiExec("INSERT INTO mig.migrations (schema, name, parent, migration,"
				   "  status, resulting_schema, started_by, migration_type)"
				   " SELECT $1,"
				   "  COALESCE((SELECT h.name FROM mig.history($1) h"
				   "            WHERE h.migration_type OPERATOR(pg_catalog.<>) 'inferred'"
				   "            ORDER BY h.depth LIMIT 1), '00000_initial')"
				   "  OPERATOR(pg_catalog.||) '_' OPERATOR(pg_catalog.||)"
				   "  pg_catalog.to_char(pg_catalog.clock_timestamp(), 'YYYYMMDDHH24MISSUS'),"
				   "  (SELECT h.name FROM mig.history($1) h WHERE h.depth OPERATOR(pg_catalog.=) 0),"
				   "  pg_catalog.jsonb_build_object('operations', pg_catalog.jsonb_build_array("
				   "    pg_catalog.jsonb_build_object('sql', pg_catalog.jsonb_build_object('up', $2)))),"
				   "  'complete', mig.read_schema($1), $3, 'inferred'",
				   3, argtypes, values, NULL, false, SPI_OK_INSERT,
				   "could not record an inferred migration in schema \"%s\"", schema);

	MigAsCaller(&save);
}
