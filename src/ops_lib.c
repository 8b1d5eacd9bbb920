/*-------------------------------------------------------------------------
 *
 * ops_lib.c
 *		The helpers the operations (ops_*.c) share: dual-write rules, NOT
 *		NULL checks, the owner check, table lookup, the rewriting of column
 *		references and the FOREIGN KEY clause.
 *
 *	IDENTIFICATION
 *		src/ops_lib.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_constraint.h"
#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "nodes/nodeFuncs.h"
#include "parser/parser.h"
#include "parser/scansup.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "compat.h"
#include "ddl.h"
#include "names.h"
#include "ops.h"
#include "ops_lib.h"
#include "steps.h"

/*
 * Record a dual-write rule.  Its expression sees the table's columns under
 * the names the model gives them now, when the operation runs: later
 * operations of the migration do not change what it means.
 */
void
MigAddRule(MigPlan *plan, MigModelTable *table, bool up, AttrNumber target,
		   const char *target_name, const char *sql)
{
	MigRule    *rule = palloc0(sizeof(MigRule));
	AttrNumber	max = 0;
	AttrNumber	attnum;
	ListCell   *lc;

	rule->relid = table->relid;
	rule->op = plan->op;
	rule->up = up;
	rule->target = target;
	rule->target_name = pstrdup(target_name);
	rule->sql = pstrdup(sql);
	foreach(lc, table->columns)
		max = Max(max, ((MigModelColumn *) lfirst(lc))->attnum);
	for (attnum = 1; attnum <= max; attnum++)
	{
		char	   *name = NULL;

		foreach(lc, table->columns)
		{
			MigModelColumn *col = lfirst(lc);

			if (col->attnum == attnum && !col->hidden)
				name = col->name;
		}
		rule->names = lappend(rule->names, name);
	}
	plan->rules = lappend(plan->rules, rule);
}

/*
 * NOT NULL for a column whose existing rows get their values from the
 * backfill: a NOT VALID check enforces it for writes at once, and complete
 * validates the check, sets NOT NULL (which then needs no scan) and drops
 * the check.  name is the column's name in the migration.
 */
void
MigAddNotNullCheck(MigPlan *plan, Oid relid, AttrNumber attnum, const char *name)
{
	char	   *check = MigInternalName(MIG_NOT_NULL_PREFIX, name);
	Oid			conoid;
	int			n;

	for (n = 2; OidIsValid(get_relation_constraint_oid(relid, check, true)); n++)
		check = MigInternalName(psprintf("_mig_notnull%d_", n), name);
	MigExec(psprintf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID",
					 MigQuoteTable(relid), quote_identifier(check),
					 MigQuoteColumn(relid, attnum)),
			relid);
	conoid = get_relation_constraint_oid(relid, check, false);
	MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_VALIDATE_CONSTRAINT, relid,
			   InvalidAttrNumber, conoid, NULL, NULL);
	MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_SET_NOT_NULL, relid,
			   attnum, InvalidOid, NULL, NULL);
	MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_DROP_CONSTRAINT, relid,
			   InvalidAttrNumber, conoid, NULL, NULL);
}

/*
 * What migrate_ext cannot do yet without rewriting or locking a table for
 * long (generated columns, ...) is refused before anything changes.
 */
void
MigNotSupportedYet(MigPlan *plan, MigOperation *op, const char *what)
{
	if (what != NULL)
		ereport(ERROR,
				errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				errmsg("%s of operation %s is not supported yet",
					   what, MigOpKindName(op->kind)),
				errdetail("Migration \"%s\", operations[%d], asks for something this version of migrate_ext cannot do without rewriting or locking the table.",
						  plan->migration->name, op->index));
	ereport(ERROR,
			errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			errmsg("operation %s is not supported yet", MigOpKindName(op->kind)),
			errdetail("Migration \"%s\", operations[%d], asks for something this version of migrate_ext cannot do without rewriting or locking the table.",
					  plan->migration->name, op->index));
}

/*
 * A role may migrate only what it could alter by hand: only the owner of a
 * table (or a member of the owning role) may change it.  Checked before
 * anything changes, also for operations that change nothing physical until
 * complete (renames, drops) and for the steps that bypass ALTER TABLE's own
 * check (an index declared with DefineIndex).
 */
void
MigCheckTableOwner(MigPlan *plan, MigOperation *op, Oid relid, const char *name)
{
	if (MigRelationOwnerCheck(relid, GetUserId()))
		return;
	ereport(ERROR,
			errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			errmsg("permission denied to migrate table \"%s\"", name),
			errdetail("Migration \"%s\", operations[%d] (%s), changes table \"%s\", and only its owner may alter it; role \"%s\" does not own it.",
					  plan->migration->name, op->index, MigOpKindName(op->kind),
					  name, GetUserNameFromId(GetUserId(), false)),
			errhint("Run the migration as the owner of the table, or as a member of the owning role."));
}

/*
 * The table an operation changes, which the caller must own and which must
 * not be in a partition or inheritance hierarchy (ops_hierarchy.c).
 */
MigModelTable *
MigPlanGetTable(MigPlan *plan, MigOperation *op, const char *name)
{
	MigModelTable *table = MigModelGetTable(plan->model, name);

	MigCheckTableOwner(plan, op, table->relid, name);
	MigCheckTableHierarchy(plan, op, table->relid, name);
	return table;
}

typedef struct RewriteRef
{
	int			location;		/* byte offset of the reference */
	AttrNumber	attnum;			/* the column it names */
} RewriteRef;

typedef struct RewriteContext
{
	MigModelTable *table;
	int			offset;			/* bytes the expression was shifted by */
	List	   *refs;			/* RewriteRef * */
} RewriteContext;

static bool
collect_column_refs(Node *node, RewriteContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, ColumnRef))
	{
		ColumnRef  *ref = (ColumnRef *) node;
		MigModelColumn *col;

		if (list_length(ref->fields) == 1 && IsA(linitial(ref->fields), String) &&
			ref->location >= ctx->offset &&
			(col = MigModelFindColumn(ctx->table, strVal(linitial(ref->fields)))) != NULL)
		{
			RewriteRef *r = palloc(sizeof(RewriteRef));

			r->location = ref->location - ctx->offset;
			r->attnum = col->attnum;
			ctx->refs = lappend(ctx->refs, r);
		}
		return false;
	}
	return raw_expression_tree_walker(node, collect_column_refs, ctx);
}

static int
rewrite_ref_cmp(const ListCell *a, const ListCell *b)
{
	return ((RewriteRef *) lfirst(a))->location - ((RewriteRef *) lfirst(b))->location;
}

/* Length of the identifier token that starts at s. */
static int
quoted_length(const char *s)
{
	const char *p = s + 1;

	while (*p)
	{
		if (*p == '"')
		{
			if (p[1] != '"')
				return p - s + 1;
			p += 2;
		}
		else
			p++;
	}
	return p - s;
}

/*
 * The length of the identifier token at s: a plain identifier, a quoted one,
 * or a Unicode one (U&"...", with an optional UESCAPE 'c' after it).
 */
static int
identifier_length(const char *s)
{
	const char *p = s;

	if (*p == '"')
		return quoted_length(p);
	if ((*p == 'U' || *p == 'u') && p[1] == '&' && p[2] == '"')
	{
		const char *q;

		p += 2;
		p += quoted_length(p);
		for (q = p; scanner_isspace(*q); q++)
			;
		if (pg_strncasecmp(q, "uescape", 7) == 0 && scanner_isspace(q[7]))
		{
			for (q += 7; scanner_isspace(*q); q++)
				;
			if (q[0] == '\'' && q[1] != '\0' && q[2] == '\'')
				p = q + 3;
			else if (q[0] == '\'' && q[1] == '\'' && q[2] == '\'' && q[3] == '\'')
				p = q + 4;
		}
		return p - s;
	}
	while (*p && (isalnum((unsigned char) *p) || *p == '_' || *p == '$' ||
				  IS_HIGHBIT_SET(*p)))
		p++;
	return p - s;
}

/*
 * Rewrite a user's SQL expression over a table of the new version so that
 * its column references name the physical columns.  The expression is
 * parsed and only the tokens the parser reads as a reference to a column of
 * the table are replaced: a function or a string that happens to contain a
 * column's name is left alone (pgroll's textual replacement is not).
 */
char *
MigRewriteColumnRefs(const char *expr, MigModelTable *table)
{
	char	   *query = psprintf("SELECT (%s)", expr);
	List	   *parsetree;
	RewriteContext ctx = {table, strlen("SELECT ("), NIL};
	StringInfoData out;
	ListCell   *lc;
	int			pos = 0;

	parsetree = raw_parser(query, RAW_PARSE_DEFAULT);
	foreach(lc, parsetree)
		(void) raw_expression_tree_walker(((RawStmt *) lfirst(lc))->stmt,
										  collect_column_refs, &ctx);
	list_sort(ctx.refs, rewrite_ref_cmp);

	initStringInfo(&out);
	foreach(lc, ctx.refs)
	{
		RewriteRef *ref = lfirst(lc);

		if (ref->location < pos)
			continue;
		appendBinaryStringInfo(&out, expr + pos, ref->location - pos);
		appendStringInfoString(&out, MigQuoteColumn(table->relid, ref->attnum));
		pos = ref->location + identifier_length(expr + ref->location);
	}
	appendStringInfoString(&out, expr + pos);
	return out.data;
}

/*
 * " REFERENCES schema.table (columns) MATCH ... ON DELETE ... ON UPDATE ...",
 * with the referenced table and columns mapped to their physical names.
 * creating names the table create_table is making, which may reference
 * itself before it is in the model.
 */
char *
MigForeignKeyClause(MigPlan *plan, const char *creating, const char *table,
					List *columns, const char *match_type,
					const char *on_delete, const char *on_update,
					List *on_delete_set_columns,
					bool deferrable, bool initially_deferred)
{
	bool		self = creating != NULL && strcmp(table, creating) == 0;
	MigModelTable *ref = self ? NULL : MigModelGetTable(plan->model, table);
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfo(&buf, " REFERENCES %s (",
					 self ? quote_qualified_identifier(plan->schema, table) :
					 MigQuoteTable(ref->relid));
	foreach(lc, columns)
		appendStringInfo(&buf, "%s%s", foreach_current_index(lc) > 0 ? ", " : "",
						 self ? quote_identifier(lfirst(lc)) :
						 MigQuoteColumn(ref->relid,
										MigModelGetColumn(ref, lfirst(lc))->attnum));
	appendStringInfoChar(&buf, ')');
	if (match_type)
		appendStringInfo(&buf, " MATCH %s", match_type);
	if (on_delete)
	{
		appendStringInfo(&buf, " ON DELETE %s", on_delete);
		if (on_delete_set_columns != NIL)
		{
			appendStringInfoString(&buf, " (");
			foreach(lc, on_delete_set_columns)
				appendStringInfo(&buf, "%s%s", foreach_current_index(lc) > 0 ? ", " : "",
								 quote_identifier(lfirst(lc)));
			appendStringInfoChar(&buf, ')');
		}
	}
	if (on_update)
		appendStringInfo(&buf, " ON UPDATE %s", on_update);
	if (deferrable)
		appendStringInfoString(&buf, " DEFERRABLE");
	if (initially_deferred)
		appendStringInfoString(&buf, " INITIALLY DEFERRED");
	return buf.data;
}
