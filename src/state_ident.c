/*-------------------------------------------------------------------------
 *
 * state_ident.c
 *		Record the names of the objects a migration's state names by OID,
 *		and find those objects again by OID and name.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "compat.h"
#include "security.h"
#include "spi_exec.h"
#include "state_ident.h"

PG_FUNCTION_INFO_V1(mig_origin);

/* a relation's schema-qualified quoted name, in SQL */
#define QUALIFIED_NAME_SQL(oidexpr) \
	"(SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)" \
	" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace" \
	" WHERE c.oid = " oidexpr ")"

char *
MigOrigin(void)
{
	return psprintf(UINT64_FORMAT "/%u", GetSystemIdentifier(), MyDatabaseId);
}

/* mig.origin() */
Datum
mig_origin(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(MigOrigin()));
}

void
MigIdentRecord(const char *schema, const char *migration)
{
	Oid			argtypes[3] = {NAMEOID, TEXTOID, TEXTOID};
	Datum		values[3];
	MigOwnerSave save;

	values[0] = DirectFunctionCall1(namein, CStringGetDatum(schema));
	values[1] = CStringGetTextDatum(migration);
	values[2] = CStringGetTextDatum(MigOrigin());

	MigAsExtensionOwner(&save);
	if (SPI_execute_with_args("UPDATE mig.migrations SET origin = $3"
							  " WHERE schema = $1 AND name = $2 AND origin IS NULL",
							  3, argtypes, values, NULL, false, 0) < 0 ||
		SPI_execute_with_args("UPDATE mig.steps s SET step = s.step"
							  " || pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object("
							  "  'table', " QUALIFIED_NAME_SQL("(s.step->>'relid')::oid") ","
							  "  'column', (SELECT a.attname::text FROM pg_catalog.pg_attribute a"
							  "   WHERE a.attrelid = (s.step->>'relid')::oid"
							  "     AND a.attnum = (s.step->>'attnum')::int2 AND NOT a.attisdropped),"
							  "  'object', CASE"
							  "   WHEN s.step->>'kind' IN ('rename_constraint', 'validate_constraint', 'drop_constraint')"
							  "   THEN (SELECT co.conname::text FROM pg_catalog.pg_constraint co"
							  "         WHERE co.oid = (s.step->>'objid')::oid)"
							  "   WHEN s.step->>'kind' = 'sequence_owner'"
							  "   THEN " QUALIFIED_NAME_SQL("(s.step->>'objid')::oid")
							  "   ELSE (SELECT c.relname::text FROM pg_catalog.pg_class c"
							  "         WHERE c.oid = (s.step->>'objid')::oid) END))"
							  " WHERE s.schema = $1 AND s.migration = $2"
							  "   AND s.step ? 'relid' AND NOT s.step ? 'table'",
							  2, argtypes, values, NULL, false, 0) < 0 ||
		SPI_execute_with_args("UPDATE mig.dual_writes d"
							  " SET relname = " QUALIFIED_NAME_SQL("d.relid") ","
							  "  columns = (SELECT pg_catalog.jsonb_agg(CASE WHEN a.attisdropped THEN NULL"
							  "   ELSE a.attname::text END ORDER BY a.attnum)"
							  "   FROM pg_catalog.pg_attribute a WHERE a.attrelid = d.relid AND a.attnum > 0)"
							  " WHERE d.schema = $1 AND d.migration = $2 AND d.relname IS NULL",
							  2, argtypes, values, NULL, false, 0) < 0 ||
		SPI_execute_with_args("UPDATE mig.job_queue j"
							  " SET relname = " QUALIFIED_NAME_SQL("j.relid") ","
							  "  objname = CASE WHEN j.kind = 'validate'"
							  "   THEN (SELECT co.conname::text FROM pg_catalog.pg_constraint co"
							  "         WHERE co.oid = j.objid)"
							  "   ELSE (SELECT c.relname::text FROM pg_catalog.pg_class c"
							  "         WHERE c.oid = j.objid) END"
							  " WHERE j.schema = $1 AND j.migration = $2"
							  "   AND j.relname IS NULL AND j.objname IS NULL",
							  2, argtypes, values, NULL, false, 0) < 0)
		elog(ERROR, "could not record the names of the objects of migration \"%s\"",
			 migration);
	MigAsCaller(&save);
}

bool
MigIdentNative(const char *schema, const char *migration)
{
	Oid			argtypes[3] = {NAMEOID, TEXTOID, TEXTOID};
	Datum		values[3];

	values[0] = DirectFunctionCall1(namein, CStringGetDatum(schema));
	values[1] = CStringGetTextDatum(migration);
	values[2] = CStringGetTextDatum(MigOrigin());
	MigSpiExec("SELECT 1 FROM mig.migrations"
			   " WHERE schema = $1 AND name = $2"
			   "   AND (origin IS NULL OR origin = $3)",
			   3, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read migration \"%s\"", migration);
	return SPI_processed > 0;
}

char *
MigIdentRelationName(Oid relid)
{
	char	   *relname = get_rel_name(relid);

	if (relname == NULL)
		return NULL;
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  relname);
}

Oid
MigIdentRelation(Oid relid, const char *qname, bool native, const char *what,
				 const char *migration)
{
	char	   *current;
	Oid			found;

	if (qname == NULL)
		return native ? relid : InvalidOid;
	current = OidIsValid(relid) ? MigIdentRelationName(relid) : NULL;
	if (current != NULL && strcmp(current, qname) == 0)
		return relid;
	found = RangeVarGetRelid(makeRangeVarFromNameList(MigStringToQualifiedNameList(qname)),
							 NoLock, true);
	if (OidIsValid(found))
		return found;

	/*
	 * In the database the state was written in, the OID is still the
	 * object's: it was renamed behind the migration's back.  Elsewhere the
	 * OID is another object's, and the recorded one does not exist.
	 */
	if (current != NULL && native)
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("%s %s of migration \"%s\" was renamed to %s",
					   what, qname, migration, current),
				errdetail("The migration identifies its objects by their names as they were when it started."),
				errhint("Rename it back to %s.", qname));
	return InvalidOid;
}

Oid
MigIdentIndex(Oid indexoid, const char *name, Oid namespace, bool native,
			  const char *migration)
{
	char	   *current;

	if (name == NULL)
		return native ? indexoid : InvalidOid;
	current = OidIsValid(indexoid) ? get_rel_name(indexoid) : NULL;
	if (current != NULL && strcmp(current, name) == 0 &&
		get_rel_namespace(indexoid) == namespace)
		return indexoid;
	if (OidIsValid(namespace))
		return get_relname_relid(name, namespace);
	return InvalidOid;
}

AttrNumber
MigIdentColumn(Oid relid, Oid recorded_relid, AttrNumber attnum,
			   const char *attname, bool native, const char *migration,
			   bool missing_ok)
{
	char	   *current;
	AttrNumber	found;

	if (attname == NULL)
	{
		if (native && relid == recorded_relid)
			return attnum;
		if (missing_ok)
			return InvalidAttrNumber;
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("column %d of table %s of migration \"%s\" cannot be identified",
					   attnum, MigIdentRelationName(relid), migration),
				errdetail("The migration recorded no name for it, and its state was not written in this database."));
	}
	current = get_attname(relid, attnum, true);
	if (current != NULL && strcmp(current, attname) == 0)
		return attnum;
	found = get_attnum(relid, attname);
	if (found == InvalidAttrNumber && !missing_ok)
		ereport(ERROR,
				errcode(ERRCODE_UNDEFINED_COLUMN),
				errmsg("column \"%s\" of table %s of migration \"%s\" does not exist",
					   attname, MigIdentRelationName(relid), migration),
				errdetail("It was dropped or renamed while the migration was in progress."));
	return found;
}

Oid
MigIdentConstraint(Oid relid, Oid recorded_relid, Oid conoid,
				   const char *conname, bool native)
{
	HeapTuple	tup;
	bool		same = false;

	if (conname == NULL)
		return (native && relid == recorded_relid) ? conoid : InvalidOid;
	tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid));
	if (HeapTupleIsValid(tup))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);

		same = con->conrelid == relid && strcmp(NameStr(con->conname), conname) == 0;
		ReleaseSysCache(tup);
	}
	if (same)
		return conoid;
	return get_relation_constraint_oid(relid, conname, true);
}
