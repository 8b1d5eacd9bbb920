/*-------------------------------------------------------------------------
 *
 * dup_carry.c
 *		Column duplication: carrying a table's constraints and indexes over
 *		to the shadow columns, each rewritten through the parser's column
 *		references, and noting what complete does to each (see
 *		column_dup.c).
 *
 *	IDENTIFICATION
 *		src/dup_carry.c
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

#include "ddl.h"
#include "dup_carry.h"
#include "dup_final.h"
#include "index_declare.h"
#include "jobs.h"
#include "names.h"
#include "ops_lib.h"
#include "spi_exec.h"
#include "steps.h"
#include "subxact.h"

static Oid	attcollation(Oid relid, AttrNumber attnum);
static List *parse_attnums(const char *text);
static bool touches_superseded(MigDup *dup, List *attnums);
static void carry_index(MigPlan *plan, MigDup *dup, Oid indexoid);
static char *fk_references_clause(const char *def, const char *conname);

/*
 * The table's live columns under their physical names, with each
 * duplicated column pointing at its shadow: rewriting an expression through
 * it moves the expression onto the shadows.
 */
MigModelTable *
MigDupPhysicalModel(MigDup *dup)
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

int2vector *
MigDupAttnums(MigDup *dup)
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
const char *
MigDupMappedColumn(MigDup *dup, AttrNumber attnum)
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

void
MigDupAddPending(MigDup *dup, Oid objid, bool is_index, const char *name,
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
void
MigDupCarryConstraints(MigPlan *plan, MigDup *dup)
{
	Oid			relid = dup->table->relid;
	char	   *qtable = MigQuoteTable(relid);
	Oid			argtypes[2] = {OIDOID, INT2VECTOROID};
	Datum		values[2];
	MigModelTable *phys = MigDupPhysicalModel(dup);
	List	   *cons = NIL;
	ListCell   *lc;
	uint64		i;

	values[0] = ObjectIdGetDatum(relid);
	values[1] = PointerGetDatum(MigDupAttnums(dup));
	MigSpiExec("SELECT c.oid, c.conname::text, c.contype, c.connoinherit,"
			   " pg_catalog.pg_get_expr(c.conbin, c.conrelid),"
			   " pg_catalog.pg_get_constraintdef(c.oid),"
			   " c.conkey::int2[]"
			   " FROM pg_catalog.pg_constraint c"
			   " WHERE c.conrelid = $1 AND c.contype IN ('c', 'f')"
			   "   AND c.conkey && $2::int2[]"
			   " ORDER BY c.oid",
			   2, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the constraints of relation %u", relid);
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
		MigFinal   *final = MigDupFindFinal(plan, conoid);
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

		dupname = MigDupFreeName(NAME_CONSTRAINT, relid, MIG_DUP_PREFIX, name);
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
								 MigDupMappedColumn(dup, (AttrNumber) lfirst_int(kc)));
			appendStringInfo(&sql, ")%s NOT VALID", refs);
			what = psprintf("foreign key \"%s\"", name);
		}

		if (MigDupTypeChanged(dup))
		{
			if (!MigDupExecOptional(sql.data, relid, what,
							   psprintf("column %s", MigDupRetypedColumns(dup)), false))
				continue;
		}
		else
			MigExec(sql.data, relid);

		dupoid = get_relation_constraint_oid(relid, dupname, false);
		MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_VALIDATE_CONSTRAINT, relid,
				   InvalidAttrNumber, dupoid, NULL, NULL);
		MigDupAddPending(dup, dupoid, false, name, 0, false, false);
		MigDupRemember(plan, dupoid, name, 0, false, false);
	}
}

/* Indexes (and the unique and primary key constraints they back). */
void
MigDupCarryIndexes(MigPlan *plan, MigDup *dup)
{
	Oid			relid = dup->table->relid;
	Oid			argtypes[2] = {OIDOID, INT2VECTOROID};
	Datum		values[2];
	List	   *indexes = NIL;
	ListCell   *lc;
	uint64		i;

	values[0] = ObjectIdGetDatum(relid);
	values[1] = PointerGetDatum(MigDupAttnums(dup));
	MigSpiExec("SELECT i.indexrelid, ARRAY(SELECT pg_catalog.unnest(i.indkey::int2[])"
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
			   2, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the indexes of relation %u", relid);
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
	MigModelTable *phys = MigDupPhysicalModel(dup);
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

	final = MigDupFindFinal(plan, indexoid);
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

	dupname = MigDupFreeName(NAME_RELATION, relid, MIG_DUP_PREFIX, name);
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
			appendStringInfoString(&sql, MigDupMappedColumn(dup, attnum));
		else
		{
			Oid			eargtypes[2] = {OIDOID, INT4OID};
			Datum		evalues[2] = {ObjectIdGetDatum(indexoid), Int32GetDatum(k + 1)};

			MigSpiExec("SELECT pg_catalog.pg_get_indexdef($1, $2, false)",
					   2, eargtypes, evalues, NULL, false, SPI_OK_SELECT,
					   "could not read index %u", indexoid);
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

	if (MigDupTypeChanged(dup))
	{
		if (!MigDupExecOptional(sql.data, relid, psprintf("index \"%s\"", name),
						   psprintf("column %s", MigDupRetypedColumns(dup)), true))
			return;
	}
	else
		(void) MigIndexDeclareOnly(relid, sql.data);

	{
		Oid			dupoid = get_relname_relid(dupname, get_rel_namespace(relid));

		MigJobAddIndex(plan, relid, dupoid, dupname);

		MigDupAddPending(dup, dupoid, true, name, contype, deferrable, deferred);
		MigDupRemember(plan, dupoid, name, contype, deferrable, deferred);
	}
}

bool
MigDupTypeChanged(MigDup *dup)
{
	return MigDupRetypedColumns(dup) != NULL;
}

/* "a", "b": the columns whose type changes, for messages; NULL if none */
char *
MigDupRetypedColumns(MigDup *dup)
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
typedef struct ExecOptionalArgs
{
	const char *sql;
	Oid			relid;
	bool		declare_index;
} ExecOptionalArgs;

static void
exec_optional_run(void *arg)
{
	ExecOptionalArgs *args = (ExecOptionalArgs *) arg;

	if (args->declare_index)
		(void) MigIndexDeclareOnly(args->relid, args->sql);
	else
		MigExec(args->sql, args->relid);
}

bool
MigDupExecOptional(const char *sql, Oid relid, const char *what, const char *column,
				   bool declare_index)
{
	ExecOptionalArgs args;
	ErrorData  *edata;

	args.sql = sql;
	args.relid = relid;
	args.declare_index = declare_index;
	edata = MigSubxactRun(exec_optional_run, &args);
	if (edata == NULL)
		return true;

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
	return false;
}
