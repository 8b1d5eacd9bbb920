/*-------------------------------------------------------------------------
 *
 * dual_write.c
 *		The dual-write trigger (mig.dual_write) and its compiled rules.
 *
 *		One BEFORE INSERT OR UPDATE row trigger per migrated table.  For a
 *		writer of the old version it computes every new column from its
 *		"up" expression; for a writer of the new version it computes every
 *		old column from its "down" expression.
 *
 *		The rules are read from mig.dual_writes and compiled once per
 *		backend and table: each expression is parsed, its column references
 *		resolved by the parser against the columns as the version names them
 *		(an alias list on the table's range table entry, so a column "path"
 *		never touches a function "subpath"), coerced to the target column's
 *		type, planned and turned into an ExprState.  The compiled rules are
 *		kept until the relation changes (relcache invalidation), so the
 *		per-row path does no catalog lookup, no SPI call and no string work:
 *		it evaluates the expressions over the new row and replaces the target
 *		columns.
 *
 *		Which version is writing: the version schema of the view the
 *		statement writes the table through (write_route.c), whatever the
 *		session's settings say; for a write to the table itself,
 *		migrate_ext.version when set (a name that is neither version of the
 *		table's migration nor its base schema is an error: its writes would
 *		be routed by a guess), otherwise the session's search_path, parsed
 *		(the first entry that is the new version, the old version or the
 *		base schema decides), so "public_02_x, public" and "\"public_02_x\""
 *		are the new version.  The parsed answer is cached against the
 *		search_path string.  A write to the table itself made as the new
 *		version is refused when the table has down rules: the table has the
 *		old version's columns, and down would replace what such a writer
 *		put in them (the new version's values live in internal columns it
 *		does not write).
 *
 *		The function is executable by PUBLIC (mig.start creates the trigger
 *		as the migrating role, and PostgreSQL checks EXECUTE only when a
 *		trigger is created), so anyone may attach it to a table of their
 *		own: on a relation with no dual-write state, fired at another time
 *		or with arguments, it raises an error and changes nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_relation.h"
#include "parser/parser.h"
#include "rewrite/rewriteManip.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "dual_write.h"
#include "names.h"
#include "rule_compile.h"
#include "settings.h"
#include "spi_exec.h"
#include "version_ready.h"
#include "write_route.h"

PG_FUNCTION_INFO_V1(mig_dual_write);

bool		MigBackfillWriting = false;

/*
 * The rules of one direction, in the order they run.  A rule that reads a
 * column an earlier rule writes (a column changed twice in one migration,
 * or an added column computed from an altered one) starts a new stage: it
 * sees the row as the rules before it left it.
 */
typedef struct DualWriteRules
{
	bool		compiled;
	int			count;
	List	   *names;			/* per rule: List of column names by attnum */
	int		   *targets;		/* columns the rules write */
	MigCompiledRule *rules;
	bool	   *new_stage;		/* rule i reads what an earlier one wrote */
	char	  **sources;		/* expression text, for error context */
	Datum	   *values;			/* room for one row's results */
	bool	   *nulls;
} DualWriteRules;

typedef struct DualWriteEntry
{
	Oid			relid;			/* hash key */
	bool		valid;
	MemoryContext cxt;			/* everything below lives here */
	char	   *base_schema;
	char	   *old_version;
	char	   *new_version;
	DualWriteRules up;
	DualWriteRules down;
	ExprContext *econtext;
	TupleDesc	desc;			/* a copy of the table's descriptor */
	TupleTableSlot *slot;		/* the row between stages */
	ParamListInfo params;		/* the row's columns, for rules with a query */
	List	   *deps;			/* other relations the rules' queries read */
	char	   *path;			/* search_path the answer below is for */
	bool		path_is_new;
	int			busy;			/* rules running: no reload under them */
} DualWriteEntry;

typedef struct RuleErrorContext
{
	Relation	rel;
	const char *direction;
	const char *source;
	AttrNumber	target;
} RuleErrorContext;

static HTAB *dual_write_cache = NULL;

static void dual_write_invalidate(Datum arg, Oid relid);
static void dual_write_invalidate_all(Datum arg, int cacheid, uint32 hashvalue);
static DualWriteEntry *dual_write_entry(Relation rel);
static void dual_write_load(DualWriteEntry *entry, Relation rel);
static bool writer_is_new(DualWriteEntry *entry, bool *direct);
static void refuse_direct_new_write(DualWriteEntry *entry);
static int	version_writer(DualWriteEntry *entry, const char *schema);
static char *entry_table_name(DualWriteEntry *entry);
static void dual_write_unknown(Relation rel, Trigger *trigger);
static void rule_malformed(Relation rel, const char *what);
static void rule_error_context(void *arg);
static void rules_alloc(DualWriteRules *rules, int n);
static void rules_compile(DualWriteEntry *entry, DualWriteRules *rules,
						  Relation rel, const char *direction);
static HeapTuple apply_rules_now(DualWriteEntry *entry, DualWriteRules *rules,
								 Relation rel, HeapTuple tuple,
								 TupleTableSlot *slot);

void
MigDualWriteInit(void)
{
	HASHCTL		ctl;

	if (dual_write_cache != NULL)
		return;
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(DualWriteEntry);
	ctl.hcxt = CacheMemoryContext;
	dual_write_cache = hash_create("migrate_ext dual-write rules", 16, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	CacheRegisterRelcacheCallback(dual_write_invalidate, (Datum) 0);
	/* a rule may call, or have inlined, a function that is redefined */
	CacheRegisterSyscacheCallback(PROCOID, dual_write_invalidate_all, (Datum) 0);
}

static void
dual_write_invalidate_all(Datum arg, int cacheid, uint32 hashvalue)
{
	dual_write_invalidate(arg, InvalidOid);
}

static void
dual_write_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	DualWriteEntry *entry;

	if (dual_write_cache == NULL)
		return;
	hash_seq_init(&status, dual_write_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (!OidIsValid(relid) || entry->relid == relid ||
			list_member_oid(entry->deps, relid))
			entry->valid = false;
	}
}

static void
rules_alloc(DualWriteRules *rules, int n)
{
	rules->compiled = false;
	rules->count = 0;
	rules->names = NIL;
	rules->targets = palloc0(sizeof(int) * (n + 1));
	rules->rules = palloc0(sizeof(MigCompiledRule) * (n + 1));
	rules->new_stage = palloc0(sizeof(bool) * (n + 1));
	rules->sources = palloc0(sizeof(char *) * (n + 1));
	rules->values = palloc0(sizeof(Datum) * (n + 1));
	rules->nulls = palloc0(sizeof(bool) * (n + 1));
}

/* Read and compile the rules of a table. */
static void
dual_write_load(DualWriteEntry *entry, Relation rel)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(RelationGetRelid(rel))};
	MemoryContext oldcxt;
	uint64		i;
	uint64		n;

	if (entry->cxt != NULL)
		MemoryContextDelete(entry->cxt);
	entry->cxt = AllocSetContextCreate(CacheMemoryContext,
									   "migrate_ext dual-write rules",
									   ALLOCSET_SMALL_SIZES);
	MemoryContextSetIdentifier(entry->cxt, RelationGetRelationName(rel));
	entry->up.count = entry->down.count = 0;
	entry->path = NULL;
	entry->deps = NIL;
	entry->base_schema = entry->old_version = entry->new_version = NULL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MigSpiExec("SELECT d.schema::text, d.old_version, d.new_version,"
			   " r->>'direction', (r->>'target')::int4, r->>'sql',"
			   " ARRAY(SELECT pg_catalog.jsonb_array_elements_text(r->'names')),"
			   " NOT EXISTS (SELECT 1"
			   "     FROM pg_catalog.jsonb_array_elements(d.rules) u,"
			   "     LATERAL (SELECT (u->>'target')::int4 AS attnum"
			   "       UNION ALL SELECT o.n::int4"
			   "       FROM pg_catalog.jsonb_array_elements(u->'names') WITH ORDINALITY AS o(v, n)"
			   "       WHERE pg_catalog.jsonb_typeof(o.v) <> 'null') x"
			   "     WHERE d.columns IS NOT NULL"
			   "       AND d.columns->>(x.attnum - 1) IS DISTINCT FROM"
			   "         (SELECT a.attname::text FROM pg_catalog.pg_attribute a"
			   "          WHERE a.attrelid = $1 AND a.attnum = x.attnum AND NOT a.attisdropped))"
			   " FROM mig.dual_writes d,"
			   " pg_catalog.jsonb_array_elements(d.rules) WITH ORDINALITY AS e(r, n)"
			   " WHERE d.relid = $1"
			   " ORDER BY e.n",
			   1, argtypes, values, NULL, true, SPI_OK_SELECT,
			   "could not read the dual-write rules of relation %u",
			   RelationGetRelid(rel));
	n = SPI_processed;

	oldcxt = MemoryContextSwitchTo(entry->cxt);
	entry->econtext = CreateStandaloneExprContext();
	/*
	 * With its constraints: they hold the values of columns added with a
	 * default after a row was written (attmissingval), which the row does
	 * not store; a copy without them reads such columns as NULL, and every
	 * row the trigger or the backfill writes would store NULL there.
	 */
	entry->desc = CreateTupleDescCopyConstr(RelationGetDescr(rel));
	entry->slot = MakeSingleTupleTableSlot(entry->desc, &TTSOpsHeapTuple);
	entry->params = makeParamList(entry->desc->natts);
	for (i = 0; i < entry->desc->natts; i++)
	{
		entry->params->params[i].ptype = TupleDescAttr(entry->desc, i)->atttypid;
		entry->params->params[i].pflags = PARAM_FLAG_CONST;
		entry->params->params[i].isnull = true;
	}
	rules_alloc(&entry->up, n);
	rules_alloc(&entry->down, n);

	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *direction = SPI_getvalue(tup, desc, 4);
		Datum		target_datum = SPI_getbinval(tup, desc, 5, &isnull);
		int32		target = isnull ? 0 : DatumGetInt32(target_datum);
		char	   *sql = SPI_getvalue(tup, desc, 6);
		Datum		names_datum = SPI_getbinval(tup, desc, 7, &isnull);
		ArrayType  *arr;
		Datum	   *elems;
		bool	   *elemnulls;
		int			nelems;
		List	   *names = NIL;
		int			j;
		DualWriteRules *rules;

		if (i == 0)
		{
			entry->base_schema = SPI_getvalue(tup, desc, 1);
			entry->old_version = SPI_getvalue(tup, desc, 2);
			entry->new_version = SPI_getvalue(tup, desc, 3);
			if (entry->base_schema == NULL || entry->old_version == NULL ||
				entry->new_version == NULL)
				rule_malformed(rel, "names no schema or version");
		}

		/* the state is data: nothing in it is trusted to be well-formed */
		if (direction == NULL ||
			(strcmp(direction, "up") != 0 && strcmp(direction, "down") != 0))
			rule_malformed(rel, "has no direction \"up\" or \"down\"");
		if (sql == NULL)
			rule_malformed(rel, "has no expression");
		if (isnull)
			rule_malformed(rel, "has no column names");
		if (target < 1 || target > entry->desc->natts ||
			TupleDescAttr(entry->desc, target - 1)->attisdropped)
			ereport(ERROR,
					errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					errmsg("dual-write rule \"%s\" of table \"%s\" computes column number %d, which the table does not have",
						   sql, RelationGetRelationName(rel), target),
					errdetail("The column was dropped, or the rules in mig.dual_writes do not belong to this table."),
					errhint("Roll the migration back with mig.rollback()."));
		rules = strcmp(direction, "up") == 0 ? &entry->up : &entry->down;
		arr = DatumGetArrayTypeP(names_datum);
		deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &elemnulls, &nelems);
		for (j = 0; j < nelems; j++)
			names = lappend(names, elemnulls[j] ? NULL : TextDatumGetCString(elems[j]));

		rules->names = lappend(rules->names, names);
		rules->targets[rules->count] = target;
		rules->sources[rules->count] = pstrdup(sql);
		rules->count++;

		/*
		 * Rules name columns by number: they apply only while the columns
		 * at those numbers have the names recorded with them at start (a
		 * restore whose OIDs coincide renumbers columns).
		 */
		if (!DatumGetBool(SPI_getbinval(tup, desc, 8, &isnull)))
			ereport(ERROR,
					errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					errmsg("dual-write rules of table \"%s\" do not match its columns",
						   RelationGetRelationName(rel)),
					errdetail("The rules name columns by number, and the columns at those numbers no longer have the names recorded when the migration started: the table was restored from a dump or changed by hand."),
					errhint("Roll the migration back with mig.rollback(), then start it again."));
	}
	MemoryContextSwitchTo(oldcxt);
	SPI_finish();
	/* no state: the caller says so; look again next time, it may appear */
	entry->valid = n > 0;
}

/* The rules of a table in mig.dual_writes are not what the trigger wrote. */
static void
rule_malformed(Relation rel, const char *what)
{
	ereport(ERROR,
			errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			errmsg("dual-write state of table \"%s\" is malformed: a rule %s",
				   RelationGetRelationName(rel), what),
			errdetail("The row of the table in mig.dual_writes was not written by mig.start."),
			errhint("Roll the migration back with mig.rollback()."));
}

/*
 * The trigger fired on a relation no active migration writes: one it was
 * attached to by hand, a partition that cloned its parent's trigger, a
 * table restored without its state.
 */
static void
dual_write_unknown(Relation rel, Trigger *trigger)
{
	char	   *table = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												   RelationGetRelationName(rel));

	if (rel->rd_rel->relispartition && trigger != NULL)
		ereport(ERROR,
				errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				errmsg("table \"%s\" has no dual-write state", table),
				errdetail("Table \"%s\" is a partition: trigger \"%s\" was cloned from its partitioned table, and migrate_ext keeps no dual-write state for partitions.",
						  table, trigger->tgname),
				errhint("Partitioned tables cannot be migrated; drop the trigger if migrate_ext did not create it."));
	ereport(ERROR,
			errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			errmsg("table \"%s\" has no dual-write state", table),
			trigger != NULL ?
			errdetail("Trigger \"%s\" runs mig.dual_write(), but no active migration writes this table (mig.dual_writes has no rules for it).",
					  trigger->tgname) :
			errdetail("No active migration writes this table (mig.dual_writes has no rules for it)."),
			errhint("A table restored from a dump of its schema alone, taken in the middle of a migration, has the migration's trigger and columns without the migration: run SELECT mig.discard_restored('%s') to take it back to the version it was dumped at.  Otherwise drop the trigger: mig.dual_write() is the trigger mig.start installs.", table));
}

/*
 * Compile one direction's rules on first use: a rule that does not compile
 * (accepted with migrate_ext.strict_expressions off) then fails only the
 * writes that need it, as in pgroll.
 */
static void
rules_compile(DualWriteEntry *entry, DualWriteRules *rules, Relation rel,
			  const char *direction)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(entry->cxt);
	Bitmapset  *written = NULL;
	int			i;

	for (i = 0; i < rules->count; i++)
	{
		RuleErrorContext ectx = {rel, direction, rules->sources[i], rules->targets[i]};
		ErrorContextCallback errcallback;
		MigCompiledRule *rule = &rules->rules[i];

		errcallback.callback = rule_error_context;
		errcallback.arg = &ectx;
		errcallback.previous = error_context_stack;
		error_context_stack = &errcallback;
		MigCompileRule(rel, entry->base_schema, rules->sources[i],
					   list_nth(rules->names, i),
					   rules->targets[i], rule);
		error_context_stack = errcallback.previous;

		if (rule->plan != NULL)
		{
			ListCell   *lc;

			foreach(lc, rule->plan->relationOids)
				entry->deps = list_append_unique_oid(entry->deps, lfirst_oid(lc));
		}
		rules->new_stage[i] = bms_overlap(rule->reads, written);
		if (rules->new_stage[i])
			written = NULL;
		written = bms_add_member(written, rules->targets[i]);
	}
	MemoryContextSwitchTo(oldcxt);
	rules->compiled = true;
}

static DualWriteEntry *
dual_write_entry(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	DualWriteEntry *entry;
	bool		found;

	MigDualWriteInit();
	entry = hash_search(dual_write_cache, &relid, HASH_ENTER, &found);
	if (!found)
	{
		entry->cxt = NULL;
		entry->valid = false;
		entry->busy = 0;
	}

	/*
	 * A rule may run a statement that changes what the rules depend on (a
	 * function redefined) and writes the table again: that nested write
	 * uses the rules as they are, which the outer one is still running.
	 */
	if (!entry->valid && entry->busy == 0)
	{
		PG_TRY();
		{
			dual_write_load(entry, rel);
		}
		PG_CATCH();
		{
			entry->valid = false;
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	return entry;
}

/*
 * Is the session writing through the new version?  *direct says whether
 * the write goes to the table itself rather than through a version's view.
 */
static bool
writer_is_new(DualWriteEntry *entry, bool *direct)
{
	char	   *rawpath;
	List	   *elems;
	ListCell   *lc;
	bool		is_new = false;
	MigRouteTarget *target;

	*direct = true;
	if (MigBackfillWriting)
		return false;

	/* a write through a version view is routed by the view */
	target = MigWriteRouteTarget(entry->relid);
	if (target != NULL)
	{
		if (target->writer == MIG_WRITER_UNKNOWN)
		{
			int			writer = version_writer(entry, target->schema);
			int			other = target->other_schema == NULL ? MIG_WRITER_OTHER :
				version_writer(entry, target->other_schema);

			if (writer != MIG_WRITER_OTHER && other != MIG_WRITER_OTHER &&
				writer != other)
				ereport(ERROR,
						errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						errmsg("statement writes table \"%s\" through both version \"%s\" and version \"%s\"",
							   entry_table_name(entry), target->schema,
							   target->other_schema),
						errdetail("The dual-write trigger cannot tell which of its rows were written through which version."),
						errhint("Write the table through one version per statement."));
			target->writer = writer != MIG_WRITER_OTHER ? writer : other;
		}
		if (target->writer != MIG_WRITER_OTHER)
		{
			*direct = false;
			return target->writer == MIG_WRITER_NEW;
		}
	}

	/* a write to the table itself: the session says which version it is */
	if (mig_version != NULL && mig_version[0] != '\0')
	{
		int			writer = version_writer(entry, mig_version);

		if (writer == MIG_WRITER_OTHER && strcmp(mig_version, entry->base_schema) == 0)
			writer = MIG_WRITER_OLD;
		if (writer == MIG_WRITER_OTHER)
			ereport(ERROR,
					errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					errmsg("migrate_ext.version \"%s\" is not a version of table \"%s\"",
						   mig_version, entry_table_name(entry)),
					errdetail("The table is being migrated from version \"%s\" to version \"%s\"; its base schema \"%s\" writes as the old version.",
							  entry->old_version, entry->new_version,
							  entry->base_schema),
					errhint("Set migrate_ext.version to one of those, or reset it to route writes by search_path."));
		return writer == MIG_WRITER_NEW;
	}
	if (entry->path != NULL && strcmp(entry->path, namespace_search_path) == 0)
		return entry->path_is_new;

	rawpath = pstrdup(namespace_search_path);
	if (SplitIdentifierString(rawpath, ',', &elems))
	{
		foreach(lc, elems)
		{
			const char *name = lfirst(lc);

			if (strcmp(name, entry->new_version) == 0)
			{
				is_new = true;
				break;
			}
			if (strcmp(name, entry->old_version) == 0 ||
				strcmp(name, entry->base_schema) == 0)
				break;
		}
	}
	if (entry->path != NULL)
		pfree(entry->path);
	entry->path = MemoryContextStrdup(entry->cxt, namespace_search_path);
	entry->path_is_new = is_new;
	return is_new;
}

/*
 * A write to the table itself routed as the new version, on a table with
 * down rules.  The table has the old version's columns; the new version's
 * values of the columns down computes live in internal columns the writer
 * does not supply, so down would replace what it wrote to the old columns
 * with a value computed from those internal columns' defaults.  Refused
 * before the first row is written.
 */
static void
refuse_direct_new_write(DualWriteEntry *entry)
{
	char	   *table = entry_table_name(entry);
	char	   *relname = get_rel_name(entry->relid);
	Oid			nspid = get_namespace_oid(entry->new_version, true);
	char	   *view;
	char	   *old;

	/* the new version's view of the table, when it keeps the table's name */
	if (relname != NULL && OidIsValid(nspid) &&
		OidIsValid(get_relname_relid(relname, nspid)))
		view = psprintf("view %s",
						quote_qualified_identifier(entry->new_version, relname));
	else
		view = psprintf("view of the table in schema %s",
						quote_identifier(entry->new_version));
	/* without a previous version, the old version is the base schema */
	if (strcmp(entry->old_version, entry->base_schema) == 0)
		old = psprintf("\"%s\"", entry->old_version);
	else
		old = psprintf("\"%s\" or \"%s\"", entry->old_version,
					   entry->base_schema);

	ereport(ERROR,
			errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			errmsg("cannot write table \"%s\" itself as version \"%s\"",
				   table, entry->new_version),
			errdetail("The table has the columns of the old version \"%s\"; the new version's values live in internal columns, so a value written to a column the new version computes with a down expression would be replaced by that expression's result.",
					  entry->old_version),
			errhint("Write through the new version's %s (schema-qualified, or with \"%s\" first on search_path), or write the table as the old version: RESET migrate_ext.version and use a search_path that starts with %s.",
					view, entry->new_version, old));
}

/* Is schema the old or the new version of the table's migration? */
static int
version_writer(DualWriteEntry *entry, const char *schema)
{
	if (strcmp(schema, entry->new_version) == 0)
		return MIG_WRITER_NEW;
	if (strcmp(schema, entry->old_version) == 0)
		return MIG_WRITER_OLD;
	return MIG_WRITER_OTHER;
}

/* the table's qualified name, for an error */
static char *
entry_table_name(DualWriteEntry *entry)
{
	char	   *name = get_rel_name(entry->relid);
	char	   *schema = get_namespace_name(get_rel_namespace(entry->relid));

	if (name == NULL || schema == NULL)
		return psprintf("%u", entry->relid);
	return quote_qualified_identifier(schema, name);
}

static void
rule_error_context(void *arg)
{
	RuleErrorContext *ctx = (RuleErrorContext *) arg;
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(ctx->rel), ctx->target - 1);

	errcontext("%s expression \"%s\" for column \"%s\" of table \"%s\"",
			   ctx->direction, ctx->source, NameStr(att->attname),
			   RelationGetRelationName(ctx->rel));
}

/*
 * Run a direction's rules on a row (slot holds it): the row as they leave
 * it, in the current memory context.  While they run, the entry is busy.
 */
static HeapTuple
apply_rules(DualWriteEntry *entry, DualWriteRules *rules, Relation rel,
			HeapTuple tuple, TupleTableSlot *slot)
{
	HeapTuple	result;

	/* the rules' state (values, expression context, slot) is per table */
	if (entry->busy > 0)
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("an up or down expression of table \"%s\" writes to that table",
					   RelationGetRelationName(rel)),
				errdetail("The dual-write trigger cannot compute a row of a table while it computes another row of the same table."),
				errhint("Write to the table from a trigger of its own, not from a migration's expression."));
	entry->busy++;
	PG_TRY();
	{
		result = apply_rules_now(entry, rules, rel, tuple, slot);
	}
	PG_FINALLY();
	{
		entry->busy--;
	}
	PG_END_TRY();
	return result;
}

static HeapTuple
apply_rules_now(DualWriteEntry *entry, DualWriteRules *rules, Relation rel,
				HeapTuple tuple, TupleTableSlot *slot)
{
	const char *direction = rules == &entry->up ? "up" : "down";
	HeapTuple	result;
	int			first;
	int			i;

	if (!rules->compiled)
		rules_compile(entry, rules, rel, direction);

	result = tuple;
	first = 0;
	entry->econtext->ecxt_scantuple = slot;
	for (i = 0; i < rules->count; i++)
	{
		RuleErrorContext ectx = {rel, direction, rules->sources[i], rules->targets[i]};
		ErrorContextCallback errcallback;
		MigCompiledRule *rule = &rules->rules[i];

		if (rules->new_stage[i])
		{
			/* the rules so far write their columns before this one reads */
			result = heap_modify_tuple_by_cols(result, entry->desc, i - first,
											   rules->targets + first,
											   rules->values + first,
											   rules->nulls + first);
			ExecStoreHeapTuple(result, entry->slot, false);
			entry->econtext->ecxt_scantuple = entry->slot;
			first = i;
		}

		errcallback.callback = rule_error_context;
		errcallback.arg = &ectx;
		errcallback.previous = error_context_stack;
		error_context_stack = &errcallback;
		if (rule->expr != NULL)
			rules->values[i] = ExecEvalExprSwitchContext(rule->expr,
														 entry->econtext,
														 &rules->nulls[i]);
		else
			rules->values[i] = MigRunRuleQuery(rule,
											   entry->econtext->ecxt_scantuple,
											   entry->params, &rules->nulls[i]);
		error_context_stack = errcallback.previous;
	}
	result = heap_modify_tuple_by_cols(result, entry->desc, rules->count - first,
									   rules->targets + first,
									   rules->values + first,
									   rules->nulls + first);
	ExecClearTuple(entry->slot);
	ResetExprContext(entry->econtext);
	return result;
}

HeapTuple
MigDualWriteUp(Relation rel, HeapTuple tuple, TupleTableSlot *slot)
{
	DualWriteEntry *entry = dual_write_entry(rel);

	if (entry->base_schema == NULL)
		dual_write_unknown(rel, NULL);
	if (entry->up.count == 0)
		return tuple;
	return apply_rules(entry, &entry->up, rel, tuple, slot);
}

Datum
mig_dual_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	DualWriteEntry *entry;
	DualWriteRules *rules;
	HeapTuple	tuple;
	TupleTableSlot *slot;
	bool		direct;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				errmsg("function mig.dual_write() can only be called as a trigger"),
				errhint("It is the trigger mig.start installs on the tables a migration changes."));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		ereport(ERROR,
				errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				errmsg("function mig.dual_write() must be fired BEFORE INSERT OR UPDATE FOR EACH ROW"),
				errdetail("Trigger \"%s\" on \"%s\" fired it %s %s FOR EACH %s.",
						  trigdata->tg_trigger->tgname,
						  RelationGetRelationName(trigdata->tg_relation),
						  TRIGGER_FIRED_BEFORE(trigdata->tg_event) ? "BEFORE" :
						  TRIGGER_FIRED_AFTER(trigdata->tg_event) ? "AFTER" : "INSTEAD OF",
						  TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ? "INSERT" :
						  TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? "UPDATE" :
						  TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ? "DELETE" : "TRUNCATE",
						  TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ? "ROW" : "STATEMENT"));
	if (trigdata->tg_trigger->tgnargs != 0)
		ereport(ERROR,
				errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				errmsg("function mig.dual_write() takes no trigger arguments"),
				errdetail("Trigger \"%s\" on \"%s\" passes %d.",
						  trigdata->tg_trigger->tgname,
						  RelationGetRelationName(trigdata->tg_relation),
						  trigdata->tg_trigger->tgnargs));

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		tuple = trigdata->tg_newtuple;
		slot = trigdata->tg_newslot;
	}
	else
	{
		tuple = trigdata->tg_trigtuple;
		slot = trigdata->tg_trigslot;
	}

	entry = dual_write_entry(trigdata->tg_relation);
	if (entry->base_schema == NULL)
		dual_write_unknown(trigdata->tg_relation, trigdata->tg_trigger);
	rules = writer_is_new(entry, &direct) ? &entry->down : &entry->up;

	/* down would overwrite what a new-version writer put in the old columns */
	if (rules == &entry->down && direct && rules->count > 0)
		refuse_direct_new_write(entry);

	/* the new version must not update a row the backfill has not reached */
	if (rules == &entry->down && TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		MigVersionReadyCheckRow(trigdata->tg_relation, trigdata->tg_trigtuple,
								entry->new_version);

	if (rules->count == 0)
		return PointerGetDatum(tuple);
	return PointerGetDatum(apply_rules(entry, rules, trigdata->tg_relation,
									   tuple, slot));
}

/* A column of the table that the backfill sets to itself (an up rule's target). */
AttrNumber
MigDualWriteUpTarget(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	bool		isnull;
	Datum		d;

	MigSpiExec("SELECT (r->>'target')::int4"
			   " FROM mig.dual_writes d, pg_catalog.jsonb_array_elements(d.rules) r"
			   " WHERE d.relid = $1 AND r->>'direction' = 'up' LIMIT 1",
			   1, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read the dual-write rules of relation %u", relid);
	if (SPI_processed == 0)
		return InvalidAttrNumber;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? InvalidAttrNumber : (AttrNumber) DatumGetInt32(d);
}
