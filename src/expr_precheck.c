/*-------------------------------------------------------------------------
 *
 * expr_precheck.c
 *		Check a migration's expressions and types before any strong lock.
 *
 *		dual_write_setup.c compiles every up and down expression against
 *		the tables as the migration leaves them, which needs the shadow
 *		columns, so it runs after the operations have taken their ACCESS
 *		EXCLUSIVE locks; the ALTER TABLEs check defaults, checks and types
 *		only once they hold theirs.  A mistake used to cost every lock retry
 *		(and the application's waits behind them) before its error.
 *
 *		So start first walks the operations over a copy of the model read
 *		from the catalogs (no table lock: the model reads pg_class), keeping
 *		each table's columns by name and type as each operation leaves them
 *		(add, drop, rename, retype), resolves the types the operations name
 *		and analyses each expression against the columns it will see: up
 *		and down with the type of the column they compute, as
 *		MigCompileRule does (an error is reported as dual_write_setup.c
 *		reports it), defaults and checks as PostgreSQL's cookDefault and
 *		cookConstraint do (an error is PostgreSQL's own, with the operation
 *		as context).  All before anything is locked or changed.
 *
 *		The walk only checks what it knows for sure: it stops at a raw SQL
 *		operation (which may change anything), skips tables created by the
 *		migration, operations whose table or column it cannot find (their
 *		own errors come from planning) and expressions that refer to the
 *		row in ways only the relation can resolve (a whole-row reference);
 *		all of those are still checked after the locks, as before.  With
 *		migrate_ext.strict_expressions off nothing is checked here: a
 *		mistake is only a warning, later.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "compat.h"
#include "expr_precheck.h"
#include "names.h"
#include "rule_compile.h"
#include "settings.h"
#include "subxact.h"

/*
 * Has an operation walked so far created a table?  Then a relation or type
 * the catalogs do not know yet may be that table.  (Columns an operation
 * adds are physically "_mig_new_*" until complete, so a subquery cannot
 * read them by their names in either check.)
 */
static bool created_table;

/* a table as the operations so far leave it */
typedef struct SimTable
{
	char	   *name;			/* in the new version */
	char	   *relname;		/* physical, as expressions qualify columns */
	bool		unknown;		/* created by the migration, or lost track */
	List	   *columns;		/* MigCheckColumn *, as the version sees them */
} SimTable;

static SimTable *find_table(List *tables, const char *name);
static MigCheckColumn *find_column(SimTable *table, const char *name);
static List *copy_columns(List *columns);
static bool lookup_type(MigPlan *plan, MigOperation *op, const char *type,
						Oid *typid, int32 *typmod);
static void precheck_error_context(void *arg);
static void check_one(MigPlan *plan, MigOperation *op, SimTable *table,
					  bool up, const char *sql, List *columns,
					  Oid type, int32 typmod, const char *target);
static void check_expr(MigPlan *plan, MigOperation *op, SimTable *table,
					   MigExprKind kind, const char *sql, List *columns,
					   Oid type, int32 typmod, const char *target);
static void check_map(MigPlan *plan, MigOperation *op, SimTable *table,
					  bool up, List *map);

static SimTable *
find_table(List *tables, const char *name)
{
	ListCell   *lc;

	foreach(lc, tables)
	{
		SimTable   *t = lfirst(lc);

		if (strcmp(t->name, name) == 0)
			return t;
	}
	return NULL;
}

static MigCheckColumn *
find_column(SimTable *table, const char *name)
{
	ListCell   *lc;

	foreach(lc, table->columns)
	{
		MigCheckColumn *c = lfirst(lc);

		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

/* a copy an operation can change without changing what earlier ones saw */
static List *
copy_columns(List *columns)
{
	List	   *copy = NIL;
	ListCell   *lc;

	foreach(lc, columns)
	{
		MigCheckColumn *c = palloc(sizeof(MigCheckColumn));

		memcpy(c, lfirst(lc), sizeof(MigCheckColumn));
		copy = lappend(copy, c);
	}
	return copy;
}

/* a check's or default's error says which operation, as planning does */
static void
precheck_error_context(void *arg)
{
	MigPlan    *plan = (MigPlan *) arg;

	errcontext("operations[%d] (%s) of migration \"%s\"",
			   plan->op->index, MigOpKindName(plan->op->kind),
			   plan->migration->name);
}

/* the work of lookup_type that may fail, in a subtransaction */
typedef struct LookupTypeArgs
{
	const char *type;
	Oid		   *typid;
	int32	   *typmod;
	bool	   *serial;
} LookupTypeArgs;

static void
lookup_type_run(void *arg)
{
	LookupTypeArgs *args = (LookupTypeArgs *) arg;
	TypeName   *typename = MigTypeStringToTypeName(args->type);

	/* as transformColumnDefinition recognises them */
	if (list_length(typename->names) == 1 && !typename->pct_type &&
		typename->arrayBounds == NIL)
	{
		const char *name = strVal(linitial(typename->names));

		*args->serial = strcmp(name, "smallserial") == 0 ||
			strcmp(name, "serial2") == 0 ||
			strcmp(name, "serial") == 0 ||
			strcmp(name, "serial4") == 0 ||
			strcmp(name, "bigserial") == 0 ||
			strcmp(name, "serial8") == 0;
	}
	if (!*args->serial)
		typenameTypeIdAndMod(NULL, typename, args->typid, args->typmod);
}

/* MigCheckRuleExpression, in a subtransaction */
typedef struct CheckExpressionArgs
{
	MigExprKind kind;
	const char *schema;
	const char *relname;
	const char *sql;
	List	   *columns;
	Oid			type;
	int32		typmod;
	const char *target;
	bool	   *unsure;
} CheckExpressionArgs;

static void
check_expression_run(void *arg)
{
	CheckExpressionArgs *args = (CheckExpressionArgs *) arg;

	MigCheckRuleExpression(args->kind, args->schema, args->relname, args->sql,
						   args->columns, args->type, args->typmod,
						   args->target, args->unsure);
}

/*
 * A type named in the migration; false if it cannot be resolved now (a
 * serial pseudo-type, or a type a table created by the migration may be).
 * A type that does not exist fails start here with PostgreSQL's error, as
 * the ALTER TABLE would once the table is locked.
 */
static bool
lookup_type(MigPlan *plan, MigOperation *op, const char *type, Oid *typid,
			int32 *typmod)
{
	LookupTypeArgs targs;
	ErrorContextCallback errcallback;
	ErrorData  *edata = NULL;
	bool		serial = false;

	plan->op = op;
	errcallback.callback = precheck_error_context;
	errcallback.arg = plan;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	targs.type = type;
	targs.typid = typid;
	targs.typmod = typmod;
	targs.serial = &serial;
	edata = MigSubxactRun(lookup_type_run, &targs);
	error_context_stack = errcallback.previous;
	plan->op = NULL;

	if (edata == NULL)
		return !serial;
	if (edata->sqlerrcode == ERRCODE_UNDEFINED_OBJECT && !created_table)
	{
		edata->cursorpos = 0;
		ReThrowError(edata);
	}
	FreeErrorData(edata);
	return false;
}

/*
 * A check constraint's or a default's expression; its error is the one
 * PostgreSQL would raise for it once the table is locked.
 */
static void
check_expr(MigPlan *plan, MigOperation *op, SimTable *table, MigExprKind kind,
		   const char *sql, List *columns, Oid type, int32 typmod,
		   const char *target)
{
	CheckExpressionArgs eargs;
	ErrorContextCallback errcallback;
	bool		unsure = false;
	ErrorData  *edata = NULL;

	plan->op = op;
	errcallback.callback = precheck_error_context;
	errcallback.arg = plan;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	eargs.kind = kind;
	eargs.schema = plan->schema;
	eargs.relname = table->relname;
	eargs.sql = sql;
	eargs.columns = columns;
	eargs.type = type;
	eargs.typmod = typmod;
	eargs.target = target;
	eargs.unsure = &unsure;
	edata = MigSubxactRun(check_expression_run, &eargs);
	error_context_stack = errcallback.previous;
	plan->op = NULL;

	if (edata == NULL)
		return;
	if (created_table && (edata->sqlerrcode == ERRCODE_UNDEFINED_TABLE ||
						  edata->sqlerrcode == ERRCODE_UNDEFINED_OBJECT))
		unsure = true;
	if (unsure && edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE &&
		edata->sqlerrcode != ERRCODE_QUERY_CANCELED && edata->elevel <= ERROR)
	{
		FreeErrorData(edata);
		return;
	}
	/* a position would point into the caller's query, not the expression */
	edata->cursorpos = 0;
	ReThrowError(edata);
}

/*
 * Analyse one up or down expression; its error is reported as check_rule
 * (dual_write_setup.c) reports it.
 */
static void
check_one(MigPlan *plan, MigOperation *op, SimTable *table, bool up,
		  const char *sql, List *columns, Oid type, int32 typmod,
		  const char *target)
{
	CheckExpressionArgs eargs;
	bool		unsure = false;
	ErrorData  *edata = NULL;

	eargs.kind = MIG_EXPR_RULE;
	eargs.schema = plan->schema;
	eargs.relname = table->relname;
	eargs.sql = sql;
	eargs.columns = columns;
	eargs.type = type;
	eargs.typmod = typmod;
	eargs.target = target;
	eargs.unsure = &unsure;
	edata = MigSubxactRun(check_expression_run, &eargs);

	if (edata == NULL)
		return;
	if (created_table && (edata->sqlerrcode == ERRCODE_UNDEFINED_TABLE ||
						  edata->sqlerrcode == ERRCODE_UNDEFINED_OBJECT))
		unsure = true;
	/* a lock timeout (a subquery's table) is retried; a cancel is a cancel */
	if (edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
		edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
		edata->elevel > ERROR)
		ReThrowError(edata);
	if (unsure)
	{
		/* only the relation can tell: checked after the locks */
		FreeErrorData(edata);
		return;
	}
	ereport(ERROR,
			errcode(edata->sqlerrcode),
			errmsg("invalid %s expression \"%s\" in operations[%d] (%s) of migration \"%s\": %s",
				   up ? "up" : "down", sql, op->index, MigOpKindName(op->kind),
				   plan->migration->name, edata->message),
			errdetail("The expression computes column \"%s\" of table \"%s\".",
					  target, table->relname),
			errhint("Fix the expression, or set \"%s\" to off to accept it as pgroll does; writes that need it will then fail.",
					"migrate_ext.strict_expressions"));
}

/* create_constraint, drop_multicolumn_constraint: column -> expression */
static void
check_map(MigPlan *plan, MigOperation *op, SimTable *table, bool up, List *map)
{
	ListCell   *lc;

	foreach(lc, map)
	{
		MigColumnSql *entry = lfirst(lc);
		MigCheckColumn *col = find_column(table, entry->column);

		if (col != NULL && entry->sql != NULL)
			check_one(plan, op, table, up, entry->sql, table->columns,
					  col->type, col->typmod, col->name);
	}
}

void
MigPrecheckExpressions(MigPlan *plan)
{
	List	   *tables = NIL;
	ListCell   *lc;

	if (!mig_strict_expressions)
		return;
	created_table = false;

	foreach(lc, plan->model->tables)
	{
		MigModelTable *mt = lfirst(lc);
		SimTable   *t;
		ListCell   *cc;

		if (mt->hidden)
			continue;
		t = palloc0(sizeof(SimTable));
		t->name = pstrdup(mt->name);
		t->relname = get_rel_name(mt->relid);
		t->unknown = t->relname == NULL;
		foreach(cc, mt->columns)
		{
			MigModelColumn *mc = lfirst(cc);
			MigCheckColumn *c;

			if (mc->hidden)
				continue;
			c = palloc0(sizeof(MigCheckColumn));
			c->name = pstrdup(mc->name);
			get_atttypetypmodcoll(mt->relid, mc->attnum, &c->type, &c->typmod,
								  &c->collation);
			t->columns = lappend(t->columns, c);
		}
		tables = lappend(tables, t);
	}

	foreach(lc, plan->migration->operations)
	{
		MigOperation *op = lfirst(lc);
		SimTable   *t = NULL;
		MigCheckColumn *col = NULL;
		Oid			typid;
		int32		typmod;

		switch (op->kind)
		{
			case MIG_OP_SQL:
				/* may change anything: what follows is checked later */
				return;
			case MIG_OP_CREATE_TABLE:
				created_table = true;
				t = palloc0(sizeof(SimTable));
				t->name = pstrdup(op->name);
				t->unknown = true;
				tables = lappend(tables, t);
				continue;
			case MIG_OP_RENAME_TABLE:
				if ((t = find_table(tables, op->from)) != NULL)
					t->name = pstrdup(op->to);
				continue;
			case MIG_OP_DROP_TABLE:
				if ((t = find_table(tables, op->name)) != NULL)
					tables = list_delete_ptr(tables, t);
				continue;
			default:
				break;
		}

		if (op->table == NULL || (t = find_table(tables, op->table)) == NULL ||
			t->unknown)
			continue;

		switch (op->kind)
		{
			case MIG_OP_ADD_COLUMN:
				if (find_column(t, op->column_def->name) != NULL ||
					!lookup_type(plan, op, op->column_def->type, &typid, &typmod))
				{
					t->unknown = true;
					break;
				}
				if (op->up != NULL)
					check_one(plan, op, t, true, op->up, t->columns,
							  typid, typmod, op->column_def->name);
				col = palloc0(sizeof(MigCheckColumn));
				col->name = pstrdup(op->column_def->name);
				col->type = typid;
				col->typmod = typmod;
				col->collation = get_typcollation(typid);
				t->columns = lappend(copy_columns(t->columns), col);
				if (op->column_def->default_expr != NULL)
					check_expr(plan, op, t, MIG_EXPR_DEFAULT,
							   op->column_def->default_expr, NIL,
							   typid, typmod, col->name);
				if (op->column_def->check != NULL)
					check_expr(plan, op, t, MIG_EXPR_CHECK,
							   op->column_def->check->constraint, t->columns,
							   BOOLOID, -1, col->name);
				break;

			case MIG_OP_DROP_COLUMN:
				if ((col = find_column(t, op->column)) == NULL)
				{
					t->unknown = true;
					break;
				}
				t->columns = copy_columns(t->columns);
				t->columns = list_delete_ptr(t->columns,
											 find_column(t, op->column));
				if (op->down != NULL)
					check_one(plan, op, t, false, op->down, t->columns,
							  col->type, col->typmod, col->name);
				break;

			case MIG_OP_RENAME_COLUMN:
				t->columns = copy_columns(t->columns);
				if ((col = find_column(t, op->from)) == NULL)
					t->unknown = true;
				else
					col->name = pstrdup(op->to);
				break;

			case MIG_OP_ALTER_COLUMN:
				{
					MigCheckColumn *old;

					if ((old = find_column(t, op->column)) == NULL)
					{
						t->unknown = true;
						break;
					}
					typid = old->type;
					typmod = old->typmod;
					if (op->type != NULL &&
						!lookup_type(plan, op, op->type, &typid, &typmod))
					{
						t->unknown = true;
						break;
					}
					/* up sees the old version; down the new one */
					if (op->up != NULL)
						check_one(plan, op, t, true, op->up, t->columns,
								  typid, typmod, old->name);
					t->columns = copy_columns(t->columns);
					col = find_column(t, op->column);
					if (op->type != NULL)
					{
						col->type = typid;
						col->typmod = typmod;
						col->collation = get_typcollation(typid);
					}
					if (op->down != NULL)
						check_one(plan, op, t, false, op->down, t->columns,
								  old->type, old->typmod, old->name);
					if (op->has_default && op->default_expr != NULL)
						check_expr(plan, op, t, MIG_EXPR_DEFAULT,
								   op->default_expr, NIL,
								   col->type, col->typmod, col->name);
					if (op->check != NULL)
						check_expr(plan, op, t, MIG_EXPR_CHECK,
								   op->check->constraint, t->columns,
								   BOOLOID, -1, col->name);
				}
				break;

			case MIG_OP_CREATE_CONSTRAINT:
			case MIG_OP_DROP_MULTICOLUMN_CONSTRAINT:
				check_map(plan, op, t, true, op->up_map);
				check_map(plan, op, t, false, op->down_map);
				if (op->kind == MIG_OP_CREATE_CONSTRAINT &&
					op->constraint_type == MIG_CONSTRAINT_CHECK &&
					op->check_expr != NULL)
					check_expr(plan, op, t, MIG_EXPR_CHECK, op->check_expr,
							   t->columns, BOOLOID, -1, op->name);
				break;

			default:
				break;
		}
	}
}
