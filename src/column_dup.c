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
#include "index_declare.h"
#include "jobs.h"
#include "names.h"
#include "ops_lib.h"
#include "steps.h"

/* an index or constraint made by this migration, and its name to be */
typedef struct MigFinal
{
	Oid			objid;
	char	   *name;
	char		contype;		/* index becomes a 'u' or 'p' constraint, or 0 */
	bool		deferrable;
	bool		deferred;
} MigFinal;

/* what complete does to one carried-over object */
typedef struct DupPending
{
	Oid			objid;
	bool		is_index;
	char	   *name;			/* the name it takes */
	char		contype;		/* for an index: 'u' or 'p' constraint, or 0 */
	bool		deferrable;
	bool		deferred;
} DupPending;

typedef enum NameKind
{
	NAME_COLUMN,
	NAME_CONSTRAINT,
	NAME_RELATION
} NameKind;

static char *free_name(NameKind kind, Oid relid, const char *prefix,
					   const char *name);
static MigFinal *find_final(MigPlan *plan, Oid objid);
static bool type_changed(MigDup *dup);
static char *retyped_columns(MigDup *dup);
static bool exec_optional(const char *sql, Oid relid, const char *what,
						  const char *column, bool declare_index);
static void check_supported(MigPlan *plan, MigDup *dup);
static bool column_not_null(Oid relid, AttrNumber attnum);
static void add_shadow(MigPlan *plan, MigDup *dup, MigDupColumn *dc);
static void carry_default(MigDup *dup, MigDupColumn *dc, const char *qtable);
static void carry_comment(MigDupColumn *dc, Oid relid, const char *qtable);
static void carry_grants(MigDupColumn *dc, Oid relid, const char *qtable);
static char *fk_references_clause(const char *def, const char *conname);
static MigModelTable *physical_model(MigDup *dup);
static int2vector *dup_attnums(MigDup *dup);
static Oid	attcollation(Oid relid, AttrNumber attnum);
static const char *mapped_column(MigDup *dup, AttrNumber attnum);
static void add_pending(MigDup *dup, Oid objid, bool is_index, const char *name,
						char contype, bool deferrable, bool deferred);
static List *parse_attnums(const char *text);
static bool touches_superseded(MigDup *dup, List *attnums);
static void carry_constraints(MigPlan *plan, MigDup *dup);
static void carry_indexes(MigPlan *plan, MigDup *dup);
static void carry_index(MigPlan *plan, MigDup *dup, Oid indexoid);

/*
 * prefix + name, or prefix with a number when that is taken (a column
 * changed twice in one migration has two shadows).
 */
static char *
free_name(NameKind kind, Oid relid, const char *prefix, const char *name)
{
	int			n;

	for (n = 1;; n++)
	{
		char	   *p = n == 1 ? pstrdup(prefix) :
			psprintf("%.*s%d_", (int) strlen(prefix) - 1, prefix, n);
		char	   *candidate = MigInternalName(p, name);
		bool		taken;

		if (kind == NAME_COLUMN)
			taken = get_attnum(relid, candidate) != InvalidAttrNumber;
		else if (kind == NAME_CONSTRAINT)
			taken = OidIsValid(get_relation_constraint_oid(relid, candidate, true));
		else
			taken = OidIsValid(get_relname_relid(candidate, get_rel_namespace(relid)));
		if (!taken)
			return candidate;
	}
}

void
MigDupRemember(MigPlan *plan, Oid objid, const char *name, char contype,
			   bool deferrable, bool deferred)
{
	MigFinal   *final = palloc0(sizeof(MigFinal));

	final->objid = objid;
	final->name = pstrdup(name);
	final->contype = contype;
	final->deferrable = deferrable;
	final->deferred = deferred;
	plan->finals = lappend(plan->finals, final);
}

/*
 * rename_constraint of a constraint this migration made or carried over:
 * the new version knows it by its name to be, and the physical object
 * under another name.  The rename happens at complete, after the object
 * got its name to be; later duplications carry the new name.  Returns
 * false when no such constraint of the table has the name.
 */
bool
MigDupRenameFinal(MigPlan *plan, Oid relid, const char *from, const char *to)
{
	ListCell   *lc;

	foreach(lc, plan->finals)
	{
		MigFinal   *final = lfirst(lc);
		HeapTuple	tup;

		if (strcmp(final->name, from) != 0)
			continue;
		tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(final->objid));
		if (HeapTupleIsValid(tup))
		{
			bool		mine = ((Form_pg_constraint) GETSTRUCT(tup))->conrelid == relid;

			ReleaseSysCache(tup);
			if (!mine)
				continue;
			MigStepAdd(plan, MIG_PHASE_COMPLETE, "rename_constraint", relid,
					   InvalidAttrNumber, final->objid, to, NULL);
		}
		else if ((final->contype == 'u' || final->contype == 'p') &&
				 IndexGetRelation(final->objid, true) == relid)
		{
			/* renaming the index renames the constraint made from it */
			MigStepAdd(plan, MIG_PHASE_COMPLETE, "rename_index", relid,
					   InvalidAttrNumber, final->objid, to, NULL);
		}
		else
			continue;
		final->name = pstrdup(to);
		return true;
	}
	return false;
}

static MigFinal *
find_final(MigPlan *plan, Oid objid)
{
	ListCell   *lc;

	foreach(lc, plan->finals)
	{
		MigFinal   *final = lfirst(lc);

		if (final->objid == objid)
			return final;
	}
	return NULL;
}

static bool
type_changed(MigDup *dup)
{
	return retyped_columns(dup) != NULL;
}

/* "a", "b": the columns whose type changes, for messages; NULL if none */
static char *
retyped_columns(MigDup *dup)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, dup->columns)
	{
		MigDupColumn *dc = lfirst(lc);

		if (dc->type != NULL)
			appendStringInfo(&buf, "%s\"%s\"", buf.len > 0 ? ", " : "",
							 dc->col->name);
	}
	return buf.len > 0 ? buf.data : NULL;
}

/*
 * Run a statement that carries something over to a shadow whose type
 * changed.  If it does not apply to the new type, warn and go on; any other
 * error (a lock timeout above all) is raised.
 */
static bool
exec_optional(const char *sql, Oid relid, const char *what, const char *column,
			  bool declare_index)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	bool		ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		if (declare_index)
			(void) MigIndexDeclareOnly(relid, sql);
		else
			MigExec(sql, relid);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;

		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) !=
			ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION ||
			edata->sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE)
			ReThrowError(edata);
		ereport(WARNING,
				errcode(edata->sqlerrcode),
				errmsg("%s is not carried over to the new type of %s: %s",
					   what, column, edata->message),
				errdetail("The new version of the column does not have it, and it is gone once the migration completes."));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

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
	values[1] = PointerGetDatum(dup_attnums(dup));
	if (SPI_execute_with_args("SELECT c.conname::text, c.conrelid, c.contype"
							  " FROM pg_catalog.pg_constraint c"
							  " WHERE (c.confrelid = $1 AND c.confkey && $2::int2[])"
							  "    OR (c.conrelid = $1 AND c.contype = 'x' AND c.conkey && $2::int2[])"
							  " ORDER BY 1 LIMIT 1",
							  2, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the constraints of relation %u", relid);
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
	MigCheckColumnDependents(plan, dup->table, dup_attnums(dup), false);
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
	if (SPI_execute_with_args("SELECT a.attname::text,"
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
							  5, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the dependents of relation %u", relid);
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
	if (SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_constraint"
							  " WHERE conrelid = $1 AND contype = 'c'"
							  "   AND conkey = ARRAY[$2] AND conname LIKE $3",
							  3, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the constraints of relation %u", relid);
	return SPI_processed > 0;
}

/* Add the shadow of one column, with its default, comment, grants, NOT NULL. */
static void
add_shadow(MigPlan *plan, MigDup *dup, MigDupColumn *dc)
{
	Oid			relid = dup->table->relid;
	char	   *qtable = MigQuoteTable(relid);
	char	   *shadow = free_name(NAME_COLUMN, relid, MIG_SHADOW_COLUMN_PREFIX,
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
	MigStepAdd(plan, MIG_PHASE_ROLLBACK, "drop_column", relid, dc->attnum,
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

		if (SPI_execute_with_args("SELECT pg_catalog.pg_get_expr(adbin, adrelid)"
								  " FROM pg_catalog.pg_attrdef"
								  " WHERE adrelid = $1 AND adnum = $2",
								  2, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the default of column \"%s\"", dc->name);
		if (SPI_processed > 0)
			expr = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	}
	if (expr == NULL)
		return;

	sql = psprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s", qtable,
				   MigQuoteColumn(relid, dc->attnum), expr);
	if (dc->type != NULL && !dc->has_default)
		(void) exec_optional(sql, relid, psprintf("default %s", expr),
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

		if (SPI_execute_with_args("SELECT pg_catalog.col_description($1, $2)",
								  2, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the comment of column \"%s\"", dc->name);
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

	if (SPI_execute_with_args("SELECT g.privilege_type, r.rolname, g.is_grantable"
							  " FROM pg_catalog.pg_attribute a,"
							  "      pg_catalog.aclexplode(a.attacl) g"
							  " LEFT JOIN pg_catalog.pg_roles r ON r.oid = g.grantee"
							  " WHERE a.attrelid = $1 AND a.attnum = $2",
							  2, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the privileges of column \"%s\"", dc->name);
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

/*
 * The table's live columns under their physical names, with each
 * duplicated column pointing at its shadow: rewriting an expression through
 * it moves the expression onto the shadows.
 */
static MigModelTable *
physical_model(MigDup *dup)
{
	MigModelTable *phys = palloc0(sizeof(MigModelTable));
	Relation	rel = relation_open(dup->table->relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	phys->relid = dup->table->relid;
	phys->name = dup->table->name;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		AttrNumber	attnum = att->attnum;
		ListCell   *lc;

		if (att->attisdropped)
			continue;
		foreach(lc, dup->columns)
		{
			MigDupColumn *dc = lfirst(lc);

			if (dc->old_attnum == att->attnum)
				attnum = dc->attnum;
		}
		MigModelAddColumn(phys, attnum, NameStr(att->attname));
	}
	relation_close(rel, AccessShareLock);
	return phys;
}

static int2vector *
dup_attnums(MigDup *dup)
{
	int16	   *attnums = palloc(sizeof(int16) * list_length(dup->columns));
	ListCell   *lc;

	foreach(lc, dup->columns)
		attnums[foreach_current_index(lc)] =
			((MigDupColumn *) lfirst(lc))->col->attnum;
	return buildint2vector(attnums, list_length(dup->columns));
}

static Oid
attcollation(Oid relid, AttrNumber attnum)
{
	Oid			typid;
	int32		typmod;
	Oid			collid;

	get_atttypetypmodcoll(relid, attnum, &typid, &typmod, &collid);
	return collid;
}

/* The quoted physical name a column of a carried-over object refers to. */
static const char *
mapped_column(MigDup *dup, AttrNumber attnum)
{
	ListCell   *lc;

	foreach(lc, dup->columns)
	{
		MigDupColumn *dc = lfirst(lc);

		if (dc->old_attnum == attnum)
			return MigQuoteColumn(dup->table->relid, dc->attnum);
	}
	return MigQuoteColumn(dup->table->relid, attnum);
}

static void
add_pending(MigDup *dup, Oid objid, bool is_index, const char *name,
			char contype, bool deferrable, bool deferred)
{
	DupPending *p = palloc0(sizeof(DupPending));

	p->objid = objid;
	p->is_index = is_index;
	p->name = pstrdup(name);
	p->contype = contype;
	p->deferrable = deferrable;
	p->deferred = deferred;
	dup->pending = lappend(dup->pending, p);
}

/* "{1,2}" (an int2[] as text) as a List of attnums */
static List *
parse_attnums(const char *text)
{
	List	   *attnums = NIL;
	char	   *p = (char *) text + 1;

	while (*p && *p != '}')
	{
		attnums = lappend_int(attnums, (int) strtol(p, &p, 10));
		if (*p == ',')
			p++;
	}
	return attnums;
}

/*
 * The part of a foreign key's definition (pg_get_constraintdef) after its
 * own column list: " REFERENCES ...".  The column list is skipped as the
 * parser would, so a quoted column name containing " REFERENCES " or a
 * parenthesis is no trouble.
 */
static char *
fk_references_clause(const char *def, const char *conname)
{
	const char *prefix = "FOREIGN KEY (";
	const char *p = def;
	bool		quoted = false;

	if (strncmp(p, prefix, strlen(prefix)) == 0)
	{
		for (p += strlen(prefix); *p; p++)
		{
			if (*p == '"')
				quoted = !quoted;	/* a doubled quote toggles twice */
			else if (*p == ')' && !quoted)
				break;
		}
		if (*p == ')' && strncmp(p + 1, " REFERENCES ", 12) == 0)
			return pstrdup(p + 1);
	}
	elog(ERROR, "unexpected definition of foreign key \"%s\": %s", conname, def);
	return NULL;				/* keep compiler quiet */
}

/*
 * Does an object touch a column this migration already replaced or drops
 * (other than the ones being duplicated now)?  It goes with that column at
 * complete; an earlier operation has carried it over where it belongs.
 */
static bool
touches_superseded(MigDup *dup, List *attnums)
{
	ListCell   *lc;

	foreach(lc, attnums)
	{
		AttrNumber	attnum = (AttrNumber) lfirst_int(lc);
		bool		live = attnum <= 0;
		ListCell   *cc;

		foreach(cc, dup->table->columns)
		{
			MigModelColumn *col = lfirst(cc);

			if (col->attnum == attnum && !col->hidden)
				live = true;
		}
		foreach(cc, dup->columns)
			if (((MigDupColumn *) lfirst(cc))->old_attnum == attnum)
				live = true;
		if (!live)
			return true;
	}
	return false;
}

/* Check and foreign key constraints on the duplicated columns. */
static void
carry_constraints(MigPlan *plan, MigDup *dup)
{
	Oid			relid = dup->table->relid;
	char	   *qtable = MigQuoteTable(relid);
	Oid			argtypes[2] = {OIDOID, INT2VECTOROID};
	Datum		values[2];
	MigModelTable *phys = physical_model(dup);
	List	   *cons = NIL;
	ListCell   *lc;
	uint64		i;

	values[0] = ObjectIdGetDatum(relid);
	values[1] = PointerGetDatum(dup_attnums(dup));
	if (SPI_execute_with_args("SELECT c.oid, c.conname::text, c.contype, c.connoinherit,"
							  " pg_catalog.pg_get_expr(c.conbin, c.conrelid),"
							  " pg_catalog.pg_get_constraintdef(c.oid),"
							  " c.conkey::int2[]"
							  " FROM pg_catalog.pg_constraint c"
							  " WHERE c.conrelid = $1 AND c.contype IN ('c', 'f')"
							  "   AND c.conkey && $2::int2[]"
							  " ORDER BY c.oid",
							  2, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the constraints of relation %u", relid);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		List	   *row = NIL;

		row = lappend(row, (void *) (uintptr_t) DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull)));
		row = lappend(row, SPI_getvalue(tup, desc, 2));
		row = lappend(row, SPI_getvalue(tup, desc, 3));
		row = lappend(row, SPI_getvalue(tup, desc, 4));
		row = lappend(row, SPI_getvalue(tup, desc, 5));
		row = lappend(row, SPI_getvalue(tup, desc, 6));
		row = lappend(row, SPI_getvalue(tup, desc, 7));
		cons = lappend(cons, row);
	}

	foreach(lc, cons)
	{
		List	   *row = lfirst(lc);
		Oid			conoid = (Oid) (uintptr_t) linitial(row);
		char	   *conname = lsecond(row);
		char		contype = ((char *) lthird(row))[0];
		bool		noinherit = ((char *) lfourth(row))[0] == 't';
		char	   *expr = list_nth(row, 4);
		char	   *def = list_nth(row, 5);
		MigFinal   *final = find_final(plan, conoid);
		char	   *name = final ? final->name : conname;
		char	   *dupname;
		char	   *what;
		StringInfoData sql;
		Oid			dupoid;

		/* NOT NULL checks are carried over as NOT NULL, by add_shadow */
		if (conoid == dup->skip_conoid ||
			touches_superseded(dup, parse_attnums(list_nth(row, 6))) ||
			strncmp(conname, MIG_NOT_NULL_PREFIX, strlen(MIG_NOT_NULL_PREFIX)) == 0)
			continue;

		dupname = free_name(NAME_CONSTRAINT, relid, MIG_DUP_PREFIX, name);
		initStringInfo(&sql);
		appendStringInfo(&sql, "ALTER TABLE %s ADD CONSTRAINT %s ", qtable,
						 quote_identifier(dupname));
		if (contype == 'c')
		{
			appendStringInfo(&sql, "CHECK (%s)%s NOT VALID",
							 MigRewriteColumnRefs(expr, phys),
							 noinherit ? " NO INHERIT" : "");
			what = psprintf("check constraint \"%s\"", name);
		}
		else
		{
			char	   *refs = fk_references_clause(def, conname);
			char	   *notvalid;
			ListCell   *kc;

			notvalid = strstr(refs, " NOT VALID");
			if (notvalid != NULL && notvalid[strlen(" NOT VALID")] == '\0')
				*notvalid = '\0';
			appendStringInfoString(&sql, "FOREIGN KEY (");
			foreach(kc, parse_attnums(list_nth(row, 6)))
				appendStringInfo(&sql, "%s%s", foreach_current_index(kc) > 0 ? ", " : "",
								 mapped_column(dup, (AttrNumber) lfirst_int(kc)));
			appendStringInfo(&sql, ")%s NOT VALID", refs);
			what = psprintf("foreign key \"%s\"", name);
		}

		if (type_changed(dup))
		{
			if (!exec_optional(sql.data, relid, what,
							   psprintf("column %s", retyped_columns(dup)), false))
				continue;
		}
		else
			MigExec(sql.data, relid);

		dupoid = get_relation_constraint_oid(relid, dupname, false);
		MigStepAdd(plan, MIG_PHASE_COMPLETE, "validate_constraint", relid,
				   InvalidAttrNumber, dupoid, NULL, NULL);
		add_pending(dup, dupoid, false, name, 0, false, false);
		MigDupRemember(plan, dupoid, name, 0, false, false);
	}
}

/* Indexes (and the unique and primary key constraints they back). */
static void
carry_indexes(MigPlan *plan, MigDup *dup)
{
	Oid			relid = dup->table->relid;
	Oid			argtypes[2] = {OIDOID, INT2VECTOROID};
	Datum		values[2];
	List	   *indexes = NIL;
	ListCell   *lc;
	uint64		i;

	values[0] = ObjectIdGetDatum(relid);
	values[1] = PointerGetDatum(dup_attnums(dup));
	if (SPI_execute_with_args("SELECT i.indexrelid, ARRAY(SELECT pg_catalog.unnest(i.indkey::int2[])"
							  "   UNION SELECT d.refobjsubid::int2 FROM pg_catalog.pg_depend d"
							  "   WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
							  "     AND d.objid = i.indexrelid AND d.refobjid = $1)::text"
							  " FROM pg_catalog.pg_index i"
							  " WHERE i.indrelid = $1"
							  "   AND (i.indkey::int2[] && $2::int2[]"
							  "        OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend d"
							  "          WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
							  "            AND d.objid = i.indexrelid"
							  "            AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
							  "            AND d.refobjid = $1"
							  "            AND d.refobjsubid = ANY ($2::int2[])))"
							  " ORDER BY i.indexrelid",
							  2, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the indexes of relation %u", relid);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		if (touches_superseded(dup, parse_attnums(SPI_getvalue(SPI_tuptable->vals[i],
															   SPI_tuptable->tupdesc, 2))))
			continue;
		indexes = lappend_oid(indexes,
							  DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
															 SPI_tuptable->tupdesc,
															 1, &isnull)));
	}
	foreach(lc, indexes)
		carry_index(plan, dup, lfirst_oid(lc));
}

static void
carry_index(MigPlan *plan, MigDup *dup, Oid indexoid)
{
	Oid			relid = dup->table->relid;
	MigModelTable *phys = physical_model(dup);
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(indexoid)};
	HeapTuple	tup;
	Form_pg_index index;
	oidvector  *indclass;
	oidvector  *indcollation;
	int2vector *indoption;
	Datum		d;
	bool		isnull;
	char	   *predicate;
	char	   *reloptions;
	char	   *tablespace;
	char	   *amname;
	char	   *relname;
	Oid			amoid;
	Oid			conoid = InvalidOid;
	char		contype = 0;
	char	   *conname = NULL;
	bool		deferrable = false;
	bool		deferred = false;
	MigFinal   *final;
	char	   *name;
	char	   *dupname;
	StringInfoData sql;
	int			k;

	if (SPI_execute_with_args("SELECT pg_catalog.pg_get_expr(i.indpred, i.indrelid),"
							  " pg_catalog.array_to_string(c.reloptions, ', '),"
							  " t.spcname, am.amname, c.relname,"
							  " con.oid, con.contype, con.conname, con.condeferrable,"
							  " con.condeferred"
							  " FROM pg_catalog.pg_index i"
							  " JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid"
							  " JOIN pg_catalog.pg_am am ON am.oid = c.relam"
							  " LEFT JOIN pg_catalog.pg_tablespace t ON t.oid = c.reltablespace"
							  " LEFT JOIN pg_catalog.pg_constraint con"
							  "   ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid"
							  "  AND con.contype IN ('p', 'u', 'x')"
							  " WHERE i.indexrelid = $1",
							  1, argtypes, values, NULL, false, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read index %u", indexoid);
	{
		HeapTuple	row = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		predicate = SPI_getvalue(row, desc, 1);
		reloptions = SPI_getvalue(row, desc, 2);
		tablespace = SPI_getvalue(row, desc, 3);
		amname = SPI_getvalue(row, desc, 4);
		relname = SPI_getvalue(row, desc, 5);
		d = SPI_getbinval(row, desc, 6, &isnull);
		if (!isnull)
		{
			conoid = DatumGetObjectId(d);
			contype = SPI_getvalue(row, desc, 7)[0];
			conname = SPI_getvalue(row, desc, 8);
			deferrable = SPI_getvalue(row, desc, 9)[0] == 't';
			deferred = SPI_getvalue(row, desc, 10)[0] == 't';
		}
	}
	if (OidIsValid(conoid) && conoid == dup->skip_conoid)
		return;

	final = find_final(plan, indexoid);
	if (final != NULL)
	{
		name = final->name;
		contype = final->contype;
		deferrable = final->deferrable;
		deferred = final->deferred;
	}
	else
		name = contype ? conname : relname;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(indexoid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", indexoid);
	amoid = ((Form_pg_class) GETSTRUCT(tup))->relam;
	ReleaseSysCache(tup);

	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for index %u", indexoid);
	index = (Form_pg_index) GETSTRUCT(tup);
	indclass = (oidvector *) DatumGetPointer(SysCacheGetAttr(INDEXRELID, tup,
															 Anum_pg_index_indclass,
															 &isnull));
	indcollation = (oidvector *) DatumGetPointer(SysCacheGetAttr(INDEXRELID, tup,
																 Anum_pg_index_indcollation,
																 &isnull));
	indoption = (int2vector *) DatumGetPointer(SysCacheGetAttr(INDEXRELID, tup,
															   Anum_pg_index_indoption,
															   &isnull));

	dupname = free_name(NAME_RELATION, relid, MIG_DUP_PREFIX, name);
	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE %sINDEX %s ON %s USING %s (",
					 index->indisunique ? "UNIQUE " : "",
					 quote_identifier(dupname), MigQuoteTable(relid),
					 quote_identifier(amname));
	for (k = 0; k < index->indnatts; k++)
	{
		AttrNumber	attnum = index->indkey.values[k];

		if (k == index->indnkeyatts)
			appendStringInfoString(&sql, ") INCLUDE (");
		else if (k > 0)
			appendStringInfoString(&sql, ", ");

		if (attnum != 0)
			appendStringInfoString(&sql, mapped_column(dup, attnum));
		else
		{
			Oid			eargtypes[2] = {OIDOID, INT4OID};
			Datum		evalues[2] = {ObjectIdGetDatum(indexoid), Int32GetDatum(k + 1)};

			if (SPI_execute_with_args("SELECT pg_catalog.pg_get_indexdef($1, $2, false)",
									  2, eargtypes, evalues, NULL, false, 0) != SPI_OK_SELECT)
				elog(ERROR, "could not read index %u", indexoid);
			appendStringInfo(&sql, "(%s)",
							 MigRewriteColumnRefs(SPI_getvalue(SPI_tuptable->vals[0],
															   SPI_tuptable->tupdesc, 1),
												  phys));
		}
		if (k >= index->indnkeyatts)
			continue;

		/* a collation other than the column's own */
		if (OidIsValid(indcollation->values[k]) &&
			(attnum == 0 ? indcollation->values[k] != DEFAULT_COLLATION_OID :
			 indcollation->values[k] != attcollation(relid, attnum)))
			appendStringInfo(&sql, " COLLATE %s",
							 generate_collation_name(indcollation->values[k]));
		/* an operator class other than the type's default */
		if (GetDefaultOpClass(get_opclass_input_type(indclass->values[k]),
							  amoid) != indclass->values[k])
		{
			HeapTuple	ctup = SearchSysCache1(CLAOID,
											   ObjectIdGetDatum(indclass->values[k]));
			Form_pg_opclass opc;

			if (!HeapTupleIsValid(ctup))
				elog(ERROR, "cache lookup failed for operator class %u",
					 indclass->values[k]);
			opc = (Form_pg_opclass) GETSTRUCT(ctup);
			appendStringInfo(&sql, " %s",
							 quote_qualified_identifier(get_namespace_name(opc->opcnamespace),
														NameStr(opc->opcname)));
			ReleaseSysCache(ctup);
		}
		if (indoption->values[k] & INDOPTION_DESC)
		{
			appendStringInfoString(&sql, " DESC");
			if (!(indoption->values[k] & INDOPTION_NULLS_FIRST))
				appendStringInfoString(&sql, " NULLS LAST");
		}
		else if (indoption->values[k] & INDOPTION_NULLS_FIRST)
			appendStringInfoString(&sql, " NULLS FIRST");
	}
	appendStringInfoChar(&sql, ')');
	if (index->indnullsnotdistinct)
		appendStringInfoString(&sql, " NULLS NOT DISTINCT");
	if (reloptions != NULL && reloptions[0] != '\0')
		appendStringInfo(&sql, " WITH (%s)", reloptions);
	if (tablespace != NULL)
		appendStringInfo(&sql, " TABLESPACE %s", quote_identifier(tablespace));
	if (predicate != NULL)
		appendStringInfo(&sql, " WHERE %s", MigRewriteColumnRefs(predicate, phys));
	ReleaseSysCache(tup);

	if (type_changed(dup))
	{
		if (!exec_optional(sql.data, relid, psprintf("index \"%s\"", name),
						   psprintf("column %s", retyped_columns(dup)), true))
			return;
	}
	else
		(void) MigIndexDeclareOnly(relid, sql.data);

	{
		Oid			dupoid = get_relname_relid(dupname, get_rel_namespace(relid));

		MigJobAddIndex(plan, relid, dupoid, dupname);

		add_pending(dup, dupoid, true, name, contype, deferrable, deferred);
		MigDupRemember(plan, dupoid, name, contype, deferrable, deferred);
	}
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
		dc->shadow = MigModelAddColumn(table, dc->attnum, dc->name);
	}
	/* down sees the new version's */
	foreach(lc, columns)
	{
		MigDupColumn *dc = lfirst(lc);

		MigAddRule(plan, table, false, dc->old_attnum, dc->name,
				   dc->down ? dc->down : quote_identifier(dc->name));
	}

	carry_constraints(plan, dup);
	carry_indexes(plan, dup);
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

		if (SPI_execute_with_args("SELECT d.objid FROM pg_catalog.pg_depend d"
								  " JOIN pg_catalog.pg_class s ON s.oid = d.objid"
								  " WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
								  "   AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
								  "   AND d.refobjid = $1 AND d.refobjsubid = $2"
								  "   AND d.deptype = 'a' AND s.relkind = 'S'",
								  2, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the sequences of column \"%s\"", dc->name);
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;

			seqs = lappend_oid(seqs, DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
																	SPI_tuptable->tupdesc,
																	1, &isnull)));
		}
		foreach(sc, seqs)
			MigStepAdd(plan, MIG_PHASE_COMPLETE, "sequence_owner", relid,
					   dc->attnum, lfirst_oid(sc), NULL, NULL);
	}
	foreach(lc, dup->columns)
	{
		MigDupColumn *dc = lfirst(lc);

		MigStepAdd(plan, MIG_PHASE_COMPLETE, "drop_column", relid,
				   dc->old_attnum, InvalidOid, NULL, NULL);
	}
	foreach(lc, dup->columns)
	{
		MigDupColumn *dc = lfirst(lc);

		MigStepAdd(plan, MIG_PHASE_COMPLETE, "rename_column", relid,
				   dc->attnum, InvalidOid, dc->name, NULL);
	}
	foreach(lc, dup->pending)
	{
		DupPending *p = lfirst(lc);

		if (!p->is_index)
			MigStepAdd(plan, MIG_PHASE_COMPLETE, "rename_constraint", relid,
					   InvalidAttrNumber, p->objid, p->name, NULL);
		else if (p->contype == 'u' || p->contype == 'p')
			MigStepAdd(plan, MIG_PHASE_COMPLETE, "constraint_using_index", relid,
					   InvalidAttrNumber, p->objid, p->name,
					   psprintf("%s%s%s", p->contype == 'p' ? "PRIMARY KEY" : "UNIQUE",
								p->deferrable ? " DEFERRABLE" : "",
								p->deferred ? " INITIALLY DEFERRED" : ""));
		else
			MigStepAdd(plan, MIG_PHASE_COMPLETE, "rename_index", relid,
					   InvalidAttrNumber, p->objid, p->name, NULL);
	}
}
