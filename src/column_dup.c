/*-------------------------------------------------------------------------
 *
 * column_dup.c
 *		Column duplication (see column_dup.h).
 *
 *		Everything is carried over by attribute number and OID: the shadow
 *		of a column is found by attnum, constraints and indexes touching it
 *		by pg_constraint.conkey, pg_index.indkey and pg_depend, and their
 *		expressions are rewritten through the parser's column references
 *		(MigRewriteColumnRefs), never by replacing text.
 *
 *		A constraint or index that cannot apply to a column's new type (a
 *		check calling a function the new type has not, an operator class of
 *		the old type) is not carried over, with a WARNING that names it, as
 *		in pgroll; everything else that fails fails start.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"

#include "column_dup.h"
#include "ddl.h"
#include "dup_carry.h"
#include "dup_final.h"
#include "index_declare.h"
#include "jobs.h"
#include "names.h"
#include "ops_lib.h"
#include "spi_exec.h"
#include "steps.h"

static void check_supported(MigPlan *plan, MigDup *dup);
static bool column_not_null(Oid relid, AttrNumber attnum);
static void add_shadow(MigPlan *plan, MigDup *dup, MigDupColumn *dc);
static void carry_default(MigDup *dup, MigDupColumn *dc, const char *qtable);
static void carry_comment(MigDupColumn *dc, Oid relid, const char *qtable);
static void carry_grants(MigDupColumn *dc, Oid relid, const char *qtable);

/* Refuse what duplication cannot carry over, before anything changes. */
static void
check_supported(MigPlan *plan, MigDup *dup)
{
	Oid			relid = dup->table->relid;
	Oid			argtypes[2] = {OIDOID, INT2VECTOROID};
	Datum		values[2];
	ListCell   *lc;

	foreach(lc, dup->columns)
	{
		MigDupColumn *dc = lfirst(lc);
		HeapTuple	tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid),
										  Int16GetDatum(dc->col->attnum));
		Form_pg_attribute att;

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for attribute %d of relation %u",
				 dc->col->attnum, relid);
		att = (Form_pg_attribute) GETSTRUCT(tup);
		if (att->attidentity != '\0' || att->attgenerated != '\0')
			ereport(ERROR,
					errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					errmsg("column \"%s\" of table \"%s\" is %s column and cannot be changed by this operation",
						   dc->col->name, dup->table->name,
						   att->attidentity != '\0' ? "an identity" : "a generated"),
					errdetail("The operation copies the column into a new one, and an identity or generated column cannot be copied."));
		ReleaseSysCache(tup);
	}

	values[0] = ObjectIdGetDatum(relid);
	values[1] = PointerGetDatum(MigDupAttnums(dup));
	MigSpiExec("SELECT c.conname::text, c.conrelid, c.contype"
			   " FROM pg_catalog.pg_constraint c"
			   " WHERE (c.confrelid = $1 AND c.confkey && $2::int2[])"
			   "    OR (c.conrelid = $1 AND c.contype = 'x' AND c.conkey && $2::int2[])"
			   " ORDER BY 1 LIMIT 1",
			   2, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the constraints of relation %u", relid);
	if (SPI_processed > 0)
	{
		char	   *conname = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		bool		isnull;
		char	   *onrel = MigQuoteTable(DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
																		 SPI_tuptable->tupdesc,
																		 2, &isnull)));
		char	   *contype = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);

		if (contype[0] == 'f')
			ereport(ERROR,
					errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					errmsg("cannot change a column of table \"%s\" that foreign key \"%s\" of table %s references",
						   dup->table->name, conname, onrel),
					errdetail("The operation copies the column into a new one and drops the old one at complete, which the foreign key depends on."),
					errhint("Drop the foreign key first, and add it again after the migration."));
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("cannot change a column of table \"%s\" that exclusion constraint \"%s\" covers",
					   dup->table->name, conname),
				errhint("Drop the exclusion constraint first, and add it again after the migration."));
	}
	MigCheckColumnDependents(plan, dup->table, MigDupAttnums(dup), false);
}

/*
 * Complete drops the old column, so anything else that depends on it and
 * is not carried over to the shadow (a generated column, a view, a policy,
 * a trigger's WHEN clause or column list, a statistics object, a function
 * body...) would make complete fail, or be dropped with it.  Carried over
 * or handled are: the table's own check, foreign key, unique and primary
 * key constraints and indexes, the column's own default, sequences it owns,
 * and the old version's views, which complete drops first.  When the column
 * is simply dropped (drop_column), a statistics object going with it is
 * what was asked for.
 */
void
MigCheckColumnDependents(MigPlan *plan, MigModelTable *table,
						 int2vector *attnums, bool dropping)
{
	Oid			relid = table->relid;
	Oid			argtypes[5] = {OIDOID, INT2VECTOROID, TEXTOID, TEXTOID, BOOLOID};
	Datum		values[5];
	HeapTuple	tup;
	TupleDesc	desc;
	char	   *column;
	char	   *object;
	char	   *generated;

	values[0] = ObjectIdGetDatum(relid);
	values[1] = PointerGetDatum(attnums);
	values[2] = CStringGetTextDatum(plan->old_version ? plan->old_version : "");
	values[3] = CStringGetTextDatum(plan->schema);
	values[4] = BoolGetDatum(dropping);
	MigSpiExec("SELECT a.attname::text,"
			   " coalesce((SELECT pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass, r.ev_class, 0)"
			   "   FROM pg_catalog.pg_rewrite r"
			   "  WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
			   "    AND r.oid = d.objid),"
			   "  pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)),"
			   " (SELECT g.attname::text FROM pg_catalog.pg_attrdef ad"
			   "   JOIN pg_catalog.pg_attribute g"
			   "     ON g.attrelid = ad.adrelid AND g.attnum = ad.adnum"
			   "  WHERE d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass"
			   "    AND ad.oid = d.objid AND g.attgenerated <> '')"
			   " FROM pg_catalog.pg_depend d"
			   " JOIN pg_catalog.pg_attribute a"
			   "   ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
			   " WHERE d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
			   "   AND d.refobjid = $1 AND d.refobjsubid = ANY ($2::int2[])"
			   "   AND d.deptype IN ('n', 'a')"
			   "   AND NOT (d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass"
			   "            AND EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c"
			   "                        WHERE c.oid = d.objid AND c.conrelid = $1))"
			   "   AND NOT (d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
			   "            AND EXISTS (SELECT 1 FROM pg_catalog.pg_index i"
			   "                        WHERE i.indexrelid = d.objid AND i.indrelid = $1))"
			   "   AND NOT (d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
			   "            AND EXISTS (SELECT 1 FROM pg_catalog.pg_class s"
			   "                        WHERE s.oid = d.objid AND s.relkind = 'S'))"
			   "   AND NOT (d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass"
			   "            AND EXISTS (SELECT 1 FROM pg_catalog.pg_attrdef ad"
			   "                        WHERE ad.oid = d.objid AND ad.adrelid = $1"
			   "                          AND ad.adnum = d.refobjsubid))"
			   "   AND NOT (d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
			   "            AND EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite r"
			   "                        JOIN pg_catalog.pg_class v ON v.oid = r.ev_class"
			   "                        JOIN pg_catalog.pg_namespace n ON n.oid = v.relnamespace"
			   "                        WHERE r.oid = d.objid AND n.nspname = $3"
			   "                          AND n.nspname <> $4))"
			   "   AND NOT ($5 AND d.classid = 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass)"
			   " ORDER BY d.classid, d.objid LIMIT 1",
			   5, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the dependents of relation %u", relid);
	if (SPI_processed == 0)
		return;

	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	column = SPI_getvalue(tup, desc, 1);
	object = SPI_getvalue(tup, desc, 2);
	generated = SPI_getvalue(tup, desc, 3);
	if (dropping)
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("cannot drop column \"%s\" of table \"%s\": %s depends on it",
					   column, table->name,
					   generated ? psprintf("generated column \"%s\"", generated) : object),
				errdetail("Complete drops the column, which would fail because of that object."),
				errhint("Drop the object, or change it not to use the column, before the migration."));
	if (generated != NULL)
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("cannot change column \"%s\" of table \"%s\": generated column \"%s\" depends on it",
					   column, table->name, generated),
				errdetail("The operation copies the column into a new one and drops the old one at complete, and a generated column cannot be moved onto the new one."),
				errhint("Drop the generated column (or make it a plain column with ALTER COLUMN ... DROP EXPRESSION) before the migration, and add it again after it completes."));
	ereport(ERROR,
			errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			errmsg("cannot change column \"%s\" of table \"%s\": %s depends on it",
				   column, table->name, object),
			errdetail("The operation copies the column into a new one and drops the old one at complete, which would fail or drop that object too."),
			errhint("Drop the object before the migration, and create it again on the new column after the migration completes."));
}

/*
 * Is the column NOT NULL, or about to be (a NOT NULL check an earlier
 * operation of this migration added, see MIG_NOT_NULL_PREFIX)?
 */
static bool
column_not_null(Oid relid, AttrNumber attnum)
{
	Oid			argtypes[3] = {OIDOID, INT2OID, TEXTOID};
	Datum		values[3];
	HeapTuple	tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid),
									  Int16GetDatum(attnum));
	bool		notnull;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for attribute %d of relation %u",
			 attnum, relid);
	notnull = ((Form_pg_attribute) GETSTRUCT(tup))->attnotnull;
	ReleaseSysCache(tup);
	if (notnull)
		return true;
	values[0] = ObjectIdGetDatum(relid);
	values[1] = Int16GetDatum(attnum);
	values[2] = CStringGetTextDatum(MIG_NOT_NULL_PREFIX "%");
	MigSpiExec("SELECT 1 FROM pg_catalog.pg_constraint"
			   " WHERE conrelid = $1 AND contype = 'c'"
			   "   AND conkey = ARRAY[$2] AND conname LIKE $3",
			   3, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the constraints of relation %u", relid);
	return SPI_processed > 0;
}

/* Add the shadow of one column, with its default, comment, grants, NOT NULL. */
static void
add_shadow(MigPlan *plan, MigDup *dup, MigDupColumn *dc)
{
	Oid			relid = dup->table->relid;
	char	   *qtable = MigQuoteTable(relid);
	char	   *shadow = MigDupFreeName(NAME_COLUMN, relid, MIG_SHADOW_COLUMN_PREFIX,
								   dc->col->name);
	char	   *type;

	dc->name = pstrdup(dc->col->name);
	dc->old_attnum = dc->col->attnum;
	if (dc->type != NULL)
		type = pstrdup(dc->type);
	else
	{
		Oid			typid;
		int32		typmod;
		Oid			collid;

		get_atttypetypmodcoll(relid, dc->old_attnum, &typid, &typmod, &collid);
		type = format_type_with_typemod(typid, typmod);
		if (OidIsValid(collid) && collid != get_typcollation(typid))
			type = psprintf("%s COLLATE %s", type, generate_collation_name(collid));
	}

	/* no default yet: a volatile one would rewrite the table */
	MigExec(psprintf("ALTER TABLE %s ADD COLUMN %s %s", qtable,
					 quote_identifier(shadow), type), relid);
	dc->attnum = get_attnum(relid, shadow);
	if (dc->attnum == InvalidAttrNumber)
		elog(ERROR, "column \"%s\" was not added", shadow);
	MigStepAdd(plan, MIG_PHASE_ROLLBACK, MIG_STEP_DROP_COLUMN, relid, dc->attnum,
			   InvalidOid, NULL, NULL);

	carry_default(dup, dc, qtable);
	carry_comment(dc, relid, qtable);
	carry_grants(dc, relid, qtable);

	/*
	 * NOT NULL cannot hold for existing rows until the backfill has run: a
	 * NOT VALID check enforces it for writes, and complete validates it and
	 * turns it into NOT NULL without a scan.
	 */
	if (dc->set_not_null ||
		(!dc->drop_not_null && column_not_null(relid, dc->old_attnum)))
		MigAddNotNullCheck(plan, relid, dc->attnum, dc->name);
}

static void
carry_default(MigDup *dup, MigDupColumn *dc, const char *qtable)
{
	Oid			relid = dup->table->relid;
	char	   *expr = NULL;
	char	   *sql;

	if (dc->has_default)
		expr = dc->default_expr ? pstrdup(dc->default_expr) : NULL;
	else
	{
		Oid			argtypes[2] = {OIDOID, INT2OID};
		Datum		values[2] = {ObjectIdGetDatum(relid), Int16GetDatum(dc->old_attnum)};

		MigSpiExec("SELECT pg_catalog.pg_get_expr(adbin, adrelid)"
				   " FROM pg_catalog.pg_attrdef"
				   " WHERE adrelid = $1 AND adnum = $2",
				   2, argtypes, values, NULL, false, SPI_OK_SELECT,
				   "could not read the default of column \"%s\"", dc->name);
		if (SPI_processed > 0)
			expr = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	}
	if (expr == NULL)
		return;

	sql = psprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s", qtable,
				   MigQuoteColumn(relid, dc->attnum), expr);
	if (dc->type != NULL && !dc->has_default)
		(void) MigDupExecOptional(sql, relid, psprintf("default %s", expr),
							 psprintf("column \"%s\"", dc->name), false);
	else
		MigExec(sql, relid);
}

static void
carry_comment(MigDupColumn *dc, Oid relid, const char *qtable)
{
	char	   *comment;

	if (dc->has_comment)
		comment = dc->comment ? pstrdup(dc->comment) : NULL;
	else
	{
		Oid			argtypes[2] = {OIDOID, INT4OID};
		Datum		values[2] = {ObjectIdGetDatum(relid), Int32GetDatum(dc->old_attnum)};

		MigSpiExec("SELECT pg_catalog.col_description($1, $2)",
				   2, argtypes, values, NULL, false, SPI_OK_SELECT,
				   "could not read the comment of column \"%s\"", dc->name);
		comment = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	}
	if (comment != NULL)
		MigExec(psprintf("COMMENT ON COLUMN %s.%s IS %s", qtable,
						 MigQuoteColumn(relid, dc->attnum),
						 quote_literal_cstr(comment)), relid);
}

/* Column privileges of the old column, so the new version's view has them. */
static void
carry_grants(MigDupColumn *dc, Oid relid, const char *qtable)
{
	Oid			argtypes[2] = {OIDOID, INT2OID};
	Datum		values[2] = {ObjectIdGetDatum(relid), Int16GetDatum(dc->old_attnum)};
	List	   *grants = NIL;
	ListCell   *lc;
	uint64		i;

	MigSpiExec("SELECT g.privilege_type, r.rolname, g.is_grantable"
			   " FROM pg_catalog.pg_attribute a,"
			   "      pg_catalog.aclexplode(a.attacl) g"
			   " LEFT JOIN pg_catalog.pg_roles r ON r.oid = g.grantee"
			   " WHERE a.attrelid = $1 AND a.attnum = $2",
			   2, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the privileges of column \"%s\"", dc->name);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *privilege = SPI_getvalue(tup, desc, 1);
		char	   *grantee = SPI_getvalue(tup, desc, 2);
		char	   *grantable = SPI_getvalue(tup, desc, 3);

		grants = lappend(grants,
						 psprintf("GRANT %s (%s) ON %s TO %s%s", privilege,
								  MigQuoteColumn(relid, dc->attnum), qtable,
								  grantee ? quote_identifier(grantee) : "PUBLIC",
								  grantable[0] == 't' ? " WITH GRANT OPTION" : ""));
	}
	foreach(lc, grants)
		MigExec(lfirst(lc), relid);
}

MigDup *
MigDupStart(MigPlan *plan, MigModelTable *table, List *columns, Oid skip_conoid)
{
	MigDup	   *dup = palloc0(sizeof(MigDup));
	ListCell   *lc;

	dup->table = table;
	dup->columns = columns;
	dup->skip_conoid = skip_conoid;
	check_supported(plan, dup);

	foreach(lc, columns)
	{
		MigDupColumn *dc = lfirst(lc);

		add_shadow(plan, dup, dc);
		/* up sees the old version's columns */
		MigAddRule(plan, table, true, dc->attnum, dc->name,
				   dc->up ? dc->up : quote_identifier(dc->name));
	}
	foreach(lc, columns)
	{
		MigDupColumn *dc = lfirst(lc);

		dc->col->hidden = true;
		dc->shadow = MigModelAddColumnAfter(table, dc->col, dc->attnum, dc->name);
	}
	/* down sees the new version's */
	foreach(lc, columns)
	{
		MigDupColumn *dc = lfirst(lc);

		MigAddRule(plan, table, false, dc->old_attnum, dc->name,
				   dc->down ? dc->down : quote_identifier(dc->name));
	}

	MigDupCarryConstraints(plan, dup);
	MigDupCarryIndexes(plan, dup);
	return dup;
}

void
MigDupFinish(MigPlan *plan, MigDup *dup)
{
	Oid			relid = dup->table->relid;
	ListCell   *lc;

	/* sequences owned by an old column (serial) move to its shadow */
	foreach(lc, dup->columns)
	{
		MigDupColumn *dc = lfirst(lc);
		Oid			argtypes[2] = {OIDOID, INT4OID};
		Datum		values[2] = {ObjectIdGetDatum(relid), Int32GetDatum(dc->old_attnum)};
		List	   *seqs = NIL;
		ListCell   *sc;
		uint64		i;

		MigSpiExec("SELECT d.objid FROM pg_catalog.pg_depend d"
				   " JOIN pg_catalog.pg_class s ON s.oid = d.objid"
				   " WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
				   "   AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
				   "   AND d.refobjid = $1 AND d.refobjsubid = $2"
				   "   AND d.deptype = 'a' AND s.relkind = 'S'",
				   2, argtypes, values, NULL, false, SPI_OK_SELECT,
				   "could not read the sequences of column \"%s\"", dc->name);
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;

			seqs = lappend_oid(seqs, DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
																	SPI_tuptable->tupdesc,
																	1, &isnull)));
		}
		foreach(sc, seqs)
			MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_SEQUENCE_OWNER, relid,
					   dc->attnum, lfirst_oid(sc), NULL, NULL);
	}
	foreach(lc, dup->columns)
	{
		MigDupColumn *dc = lfirst(lc);

		MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_DROP_COLUMN, relid,
				   dc->old_attnum, InvalidOid, NULL, NULL);
	}
	foreach(lc, dup->columns)
	{
		MigDupColumn *dc = lfirst(lc);

		MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_RENAME_COLUMN, relid,
				   dc->attnum, InvalidOid, dc->name, NULL);
	}
	foreach(lc, dup->pending)
	{
		DupPending *p = lfirst(lc);

		if (!p->is_index)
			MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_RENAME_CONSTRAINT, relid,
					   InvalidAttrNumber, p->objid, p->name, NULL);
		else if (p->contype == 'u' || p->contype == 'p')
			MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_CONSTRAINT_USING_INDEX, relid,
					   InvalidAttrNumber, p->objid, p->name,
					   psprintf("%s%s%s", p->contype == 'p' ? "PRIMARY KEY" : "UNIQUE",
								p->deferrable ? " DEFERRABLE" : "",
								p->deferred ? " INITIALLY DEFERRED" : ""));
		else
			MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_RENAME_INDEX, relid,
					   InvalidAttrNumber, p->objid, p->name, NULL);
	}
}
