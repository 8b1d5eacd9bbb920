/*-------------------------------------------------------------------------
 *
 * lint.c
 *		mig.lint(sql text): the statements of a piece of SQL that are unsafe
 *		while applications run, each with its rule, why, and the operation
 *		of migrate_ext that makes the change safely; and the same lint of a
 *		migration's "sql" operations when mig.start begins.
 *
 *		The rules are those of squawk that matter for changes without
 *		downtime (and squawk's names where it has the rule): a statement
 *		that rewrites a table or scans it under an ACCESS EXCLUSIVE lock, an
 *		index built or dropped without CONCURRENTLY, a constraint validated
 *		at once, a column added NOT NULL without a default, renames and
 *		drops that break the applications still running, and a statement
 *		that reads or writes rows while an earlier one of the same
 *		transaction holds an ACCESS EXCLUSIVE lock.
 *
 *		The lint reads the raw parse tree.  It takes no lock: the catalogs
 *		are read only to tell a type change that rewrites from one that
 *		does not, and a volatile default from another.  A table (or index)
 *		the same SQL, or the same migration, created before has no rows
 *		anyone else sees yet, and no application uses it: statements on it
 *		are never reported.
 *
 *	IDENTIFICATION
 *		src/lint.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "funcapi.h"
#include "nodes/nodeFuncs.h"
#include "parser/parse_coerce.h"
#include "parser/parse_type.h"
#include "storage/lockdefs.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/lsyscache.h"
#include "utils/guc.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"
#include "utils/varlena.h"

#include "compat.h"
#include "lint.h"
#include "settings.h"
#include "sql_text.h"

PG_FUNCTION_INFO_V1(mig_lint);
PG_FUNCTION_INFO_V1(mig_lint_rules);

typedef enum LintRuleId
{
	LINT_INDEX_CREATE,
	LINT_INDEX_DROP,
	LINT_REQUIRED_FIELD,
	LINT_FIELD_DEFAULT,
	LINT_TYPE_CHANGE,
	LINT_NOT_VALID,
	LINT_UNIQUE,
	LINT_SET_NOT_NULL,
	LINT_DROP_NOT_NULL,
	LINT_RENAME_TABLE,
	LINT_RENAME_COLUMN,
	LINT_DROP_COLUMN,
	LINT_DROP_TABLE,
	LINT_REWRITE,
	LINT_LOCK_SCAN
} LintRuleId;

typedef struct LintRule
{
	const char *name;
	const char *message;
	const char *hint;
} LintRule;

static const LintRule lint_rules[] = {
	[LINT_INDEX_CREATE] = {
		"require-concurrent-index-creation",
		"CREATE INDEX without CONCURRENTLY blocks writes to the table until the index is built",
		"Use a create_index operation: it builds the index concurrently, in the background."
	},
	[LINT_INDEX_DROP] = {
		"require-concurrent-index-deletion",
		"DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table",
		"Use a drop_index operation: it drops the index concurrently when the migration completes."
	},
	[LINT_REQUIRED_FIELD] = {
		"adding-required-field",
		"adding a NOT NULL column without a default fails on a table with rows and breaks inserts of applications that do not know the column",
		"Use an add_column operation with \"up\": existing rows get their value from the background backfill and old applications keep working."
	},
	[LINT_FIELD_DEFAULT] = {
		"adding-field-with-default",
		"adding a column with a volatile default, or a serial, identity or stored generated column, rewrites the table under an ACCESS EXCLUSIVE lock",
		"Use an add_column operation with \"up\": existing rows get their value from the background backfill, in small batches."
	},
	[LINT_TYPE_CHANGE] = {
		"changing-column-type",
		"changing the type of a column rewrites the table under an ACCESS EXCLUSIVE lock and breaks applications that use the old type",
		"Use an alter_column operation with \"type\", \"up\" and \"down\": the new column is filled in the background and both versions keep working."
	},
	[LINT_NOT_VALID] = {
		"constraint-missing-not-valid",
		"adding a CHECK or FOREIGN KEY constraint that is valid at once scans the whole table while holding its lock",
		"Use a create_constraint operation (or alter_column with \"check\" or \"references\"): the constraint is added NOT VALID and validated in the background."
	},
	[LINT_UNIQUE] = {
		"disallowed-unique-constraint",
		"adding a UNIQUE, PRIMARY KEY or EXCLUDE constraint builds its index under an ACCESS EXCLUSIVE lock",
		"Use a create_constraint operation of type unique or primary_key (or alter_column with \"unique\"): its index is built concurrently."
	},
	[LINT_SET_NOT_NULL] = {
		"setting-not-nullable-field",
		"SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock and breaks applications that write NULL",
		"Use an alter_column operation with \"nullable\": false and \"up\": a NOT VALID check is validated in the background and old applications keep working."
	},
	[LINT_DROP_NOT_NULL] = {
		"ban-drop-not-null",
		"DROP NOT NULL lets NULLs reach applications that do not expect them",
		"Use an alter_column operation with \"nullable\": true and \"down\": the old version keeps a column without NULLs."
	},
	[LINT_RENAME_TABLE] = {
		"renaming-table",
		"renaming a table breaks applications that still use its old name",
		"Use a rename_table operation: each version sees the name it knows."
	},
	[LINT_RENAME_COLUMN] = {
		"renaming-column",
		"renaming a column breaks applications that still use its old name",
		"Use a rename_column operation: each version sees the name it knows."
	},
	[LINT_DROP_COLUMN] = {
		"ban-drop-column",
		"dropping a column breaks applications that still read or write it",
		"Use a drop_column operation: the old version keeps the column until the migration completes."
	},
	[LINT_DROP_TABLE] = {
		"ban-drop-table",
		"dropping a table breaks applications that still use it",
		"Use a drop_table operation: the old version keeps the table until the migration completes."
	},
	[LINT_REWRITE] = {
		"table-rewrite",
		"the statement rewrites the whole table under an ACCESS EXCLUSIVE lock",
		"No operation of migrate_ext rewrites a table under a lock: change columns with alter_column, whose backfill writes rows in small batches."
	},
	[LINT_LOCK_SCAN] = {
		"lock-held-across-scan",
		"the statement reads or writes rows while an earlier statement of the same transaction holds an ACCESS EXCLUSIVE lock",
		"Move the data change into the \"up\" of an add_column or alter_column operation: the backfill writes rows in small batches and holds no strong lock."
	},
};

typedef struct LintState
{
	List	   *created;		/* tables, indexes and columns ("table"."col")
								 * created before */
	List	   *allowed;		/* rule names never reported */
	List	   *findings;		/* List of MigLintFinding */
	bool		held_ael;		/* an earlier statement holds ACCESS
								 * EXCLUSIVE on an existing table */
	const MigSqlStmt *s;		/* the statement being linted */
} LintState;

static List *allowed_rules(void);
static void report(LintState *st, LintRuleId rule);
static char *column_key(const char *table, const char *column);
static bool is_created(LintState *st, const char *name);
static bool volatile_walker(Node *node, void *context);
static bool type_change_rewrites(RangeVar *rel, AlterTableCmd *cmd);
static void lint_column(LintState *st, ColumnDef *cd);
static void lint_alter_table(LintState *st, AlterTableStmt *stmt);
static void lint_statement(LintState *st, const MigSqlStmt *s);

bool
MigLintIsRule(const char *name)
{
	int			i;

	for (i = 0; i < lengthof(lint_rules); i++)
		if (strcmp(lint_rules[i].name, name) == 0)
			return true;
	return false;
}

/*
 * The check of migrate_ext.lint_allow: a comma-separated list of rule
 * names.
 */
bool
MigCheckLintAllow(char **newval, void **extra, GucSource source)
{
	List	   *names;
	ListCell   *lc;

	if (!SplitIdentifierString(pstrdup(*newval), ',', &names))
	{
		GUC_check_errdetail("List syntax is invalid.");
		return false;
	}
	foreach(lc, names)
	{
		if (!MigLintIsRule(lfirst(lc)))
		{
			GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
			GUC_check_errdetail("\"%s\" is not a lint rule of migrate_ext.",
								(char *) lfirst(lc));
			GUC_check_errhint("The rules are listed by mig.lint_rules().");
			return false;
		}
	}
	return true;
}

/* migrate_ext.lint_allow as a List of names (checked when it was set) */
static List *
allowed_rules(void)
{
	List	   *names = NIL;

	if (mig_lint_allow == NULL ||
		!SplitIdentifierString(pstrdup(mig_lint_allow), ',', &names))
		return NIL;
	return names;
}

static void
report(LintState *st, LintRuleId rule)
{
	MigLintFinding *f;
	ListCell   *lc;

	foreach(lc, st->allowed)
		if (strcmp(lfirst(lc), lint_rules[rule].name) == 0)
			return;
	f = palloc(sizeof(MigLintFinding));
	f->rule = lint_rules[rule].name;
	f->statement = st->s->text;
	f->message = lint_rules[rule].message;
	f->hint = lint_rules[rule].hint;
	st->findings = lappend(st->findings, f);
}

/* the name of a column in LintState.created */
static char *
column_key(const char *table, const char *column)
{
	return psprintf("%s.%s", quote_identifier(table), quote_identifier(column));
}

static bool
is_created(LintState *st, const char *name)
{
	ListCell   *lc;

	foreach(lc, st->created)
		if (strcmp(lfirst(lc), name) == 0)
			return true;
	return false;
}

/*
 * Does a default call a volatile function (or one that can't be found)?
 * Any function of the name being volatile is enough.
 */
static bool
volatile_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncCall))
	{
		FuncCall   *fc = (FuncCall *) node;
		char	   *name = strVal(llast(fc->funcname));
		CatCList   *procs;
		bool		found = false;
		bool		is_volatile = false;
		int			i;

		procs = SearchSysCacheList1(PROCNAMEARGSNSP, CStringGetDatum(name));
		for (i = 0; i < procs->n_members; i++)
		{
			Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(&procs->members[i]->tuple);

			found = true;
			if (proc->provolatile == PROVOLATILE_VOLATILE)
				is_volatile = true;
		}
		ReleaseSysCacheList(procs);
		if (is_volatile || !found)
			return true;
	}
	if (IsA(node, SubLink))
		return true;
	return raw_expression_tree_walker(node, volatile_walker, context);
}

/*
 * Does ALTER COLUMN ... TYPE rewrite the table (or scan it)?  It does not
 * when the new type is binary coercible without a length check: varchar(n)
 * to text or to a longer varchar, numeric(p,s) to numeric.  When the table
 * or a type is not known, it is taken to rewrite.
 */
static bool
type_change_rewrites(RangeVar *rel, AlterTableCmd *cmd)
{
	ColumnDef  *def = castNode(ColumnDef, cmd->def);
	Oid			relid;
	AttrNumber	attnum;
	Oid			oldtyp;
	int32		oldmod;
	Oid			coll;
	Type		typ;
	Oid			newtyp;
	int32		newmod;

	if (def->raw_default != NULL || def->collClause != NULL)
		return true;
	relid = RangeVarGetRelid(rel, NoLock, true);
	if (!OidIsValid(relid))
		return true;
	attnum = get_attnum(relid, cmd->name);
	if (attnum <= 0)
		return true;
	get_atttypetypmodcoll(relid, attnum, &oldtyp, &oldmod, &coll);
	typ = LookupTypeName(NULL, def->typeName, &newmod, true);
	if (typ == NULL)
		return true;
	newtyp = typeTypeId(typ);
	ReleaseSysCache(typ);

	if (newmod == -1 && (oldtyp == newtyp || IsBinaryCoercible(oldtyp, newtyp)))
		return false;
	if (oldtyp == newtyp && oldmod == newmod)
		return false;
	if (oldtyp == newtyp && (newtyp == VARCHAROID || newtyp == VARBITOID) &&
		oldmod != -1 && newmod >= oldmod)
		return false;
	return true;
}

/* a column added to an existing table */
static void
lint_column(LintState *st, ColumnDef *cd)
{
	bool		not_null = false;
	bool		has_default = false;
	bool		rewrites = MigTypeNameIsSerial(cd->typeName);
	ListCell   *lc;

	foreach(lc, cd->constraints)
	{
		Constraint *con = lfirst_node(Constraint, lc);

		switch (con->contype)
		{
			case CONSTR_NOTNULL:
				not_null = true;
				break;
			case CONSTR_DEFAULT:
				has_default = true;
				if (volatile_walker(con->raw_expr, NULL))
					rewrites = true;
				break;
			case CONSTR_IDENTITY:
				rewrites = true;
				break;
			case CONSTR_GENERATED:
				if (MigGeneratedIsStored(con))
					rewrites = true;
				has_default = true;
				break;
			case CONSTR_PRIMARY:
				not_null = true;
				report(st, LINT_UNIQUE);
				break;
			case CONSTR_UNIQUE:
				report(st, LINT_UNIQUE);
				break;
			case CONSTR_CHECK:
			case CONSTR_FOREIGN:
				report(st, LINT_NOT_VALID);
				break;
			default:
				break;
		}
	}
	if (rewrites)
		report(st, LINT_FIELD_DEFAULT);
	else if (not_null && !has_default)
		report(st, LINT_REQUIRED_FIELD);
}

static void
lint_alter_table(LintState *st, AlterTableStmt *stmt)
{
	ListCell   *lc;
	bool		ael = false;

	if (stmt->objtype != OBJECT_TABLE || is_created(st, stmt->relation->relname))
		return;
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
		Constraint *con;

		switch (cmd->subtype)
		{
			case AT_AddColumn:
				lint_column(st, castNode(ColumnDef, cmd->def));
				/* dropping it again (a "down") is safe */
				st->created = lappend(st->created,
									  column_key(stmt->relation->relname,
												 castNode(ColumnDef, cmd->def)->colname));
				break;
			case AT_DropColumn:
				if (!is_created(st, column_key(stmt->relation->relname, cmd->name)))
					report(st, LINT_DROP_COLUMN);
				break;
			case AT_AlterColumnType:
				if (type_change_rewrites(stmt->relation, cmd))
					report(st, LINT_TYPE_CHANGE);
				break;
			case AT_SetNotNull:
				report(st, LINT_SET_NOT_NULL);
				break;
			case AT_DropNotNull:
				report(st, LINT_DROP_NOT_NULL);
				break;
			case AT_AddConstraint:
				con = castNode(Constraint, cmd->def);
				switch (con->contype)
				{
					case CONSTR_CHECK:
					case CONSTR_FOREIGN:
						if (!con->skip_validation)
							report(st, LINT_NOT_VALID);
						break;
					case CONSTR_PRIMARY:
					case CONSTR_UNIQUE:
					case CONSTR_EXCLUSION:
						if (con->indexname == NULL)
							report(st, LINT_UNIQUE);
						break;
					case CONSTR_NOTNULL:
						if (!con->skip_validation)
							report(st, LINT_SET_NOT_NULL);
						break;
					default:
						break;
				}
				/* a foreign key takes SHARE ROW EXCLUSIVE */
				if (con->contype == CONSTR_FOREIGN)
					continue;
				break;
			case AT_SetTableSpace:
			case AT_SetLogged:
			case AT_SetUnLogged:
			case AT_SetAccessMethod:
				report(st, LINT_REWRITE);
				break;
			case AT_ValidateConstraint:
			case AT_SetStatistics:
			case AT_ClusterOn:
			case AT_DropCluster:
			case AT_SetRelOptions:
			case AT_ResetRelOptions:
			case AT_EnableTrig:
			case AT_DisableTrig:
				/* weaker locks */
				continue;
			default:
				break;
		}
		ael = true;
	}
	if (ael)
		st->held_ael = true;
}

static void
lint_statement(LintState *st, const MigSqlStmt *s)
{
	Node	   *stmt = s->stmt;
	ListCell   *lc;

	st->s = s;
	switch (nodeTag(stmt))
	{
		case T_CreateStmt:
			st->created = lappend(st->created,
								  ((CreateStmt *) stmt)->relation->relname);
			break;
		case T_CreateTableAsStmt:
			if (st->held_ael)
				report(st, LINT_LOCK_SCAN);
			st->created = lappend(st->created,
								  ((CreateTableAsStmt *) stmt)->into->rel->relname);
			break;
		case T_IndexStmt:
			{
				IndexStmt  *idx = (IndexStmt *) stmt;

				if (!is_created(st, idx->relation->relname) && !idx->concurrent)
					report(st, LINT_INDEX_CREATE);
				/* dropping it again (a "down") is safe */
				if (idx->idxname != NULL)
					st->created = lappend(st->created, idx->idxname);
				break;
			}
		case T_DropStmt:
			{
				DropStmt   *drop = (DropStmt *) stmt;

				foreach(lc, drop->objects)
				{
					List	   *names = lfirst(lc);

					if (drop->removeType != OBJECT_TABLE &&
						drop->removeType != OBJECT_INDEX)
						break;
					if (is_created(st, strVal(llast(names))))
						continue;
					if (drop->removeType == OBJECT_TABLE)
					{
						report(st, LINT_DROP_TABLE);
						st->held_ael = true;
					}
					else if (!drop->concurrent)
					{
						report(st, LINT_INDEX_DROP);
						st->held_ael = true;
					}
				}
				break;
			}
		case T_RenameStmt:
			{
				RenameStmt *ren = (RenameStmt *) stmt;

				if (ren->relation == NULL ||
					is_created(st, ren->relation->relname))
				{
					/* a created table renamed is still one */
					if (ren->renameType == OBJECT_TABLE)
						st->created = lappend(st->created, ren->newname);
					break;
				}
				if (ren->renameType == OBJECT_TABLE)
					report(st, LINT_RENAME_TABLE);
				else if (ren->renameType == OBJECT_COLUMN)
					report(st, LINT_RENAME_COLUMN);
				st->held_ael = true;
				break;
			}
		case T_AlterTableStmt:
			lint_alter_table(st, (AlterTableStmt *) stmt);
			break;
		case T_VacuumStmt:
			{
				VacuumStmt *vac = (VacuumStmt *) stmt;

				foreach(lc, vac->options)
				{
					DefElem    *opt = lfirst_node(DefElem, lc);

					if (vac->is_vacuumcmd && strcmp(opt->defname, "full") == 0 &&
						defGetBoolean(opt))
						report(st, LINT_REWRITE);
				}
				break;
			}
		case T_ClusterStmt:
			report(st, LINT_REWRITE);
			break;
		case T_LockStmt:
			{
				LockStmt   *lock = (LockStmt *) stmt;

				if (lock->mode == AccessExclusiveLock)
					st->held_ael = true;
				break;
			}
		case T_TruncateStmt:
			st->held_ael = true;
			break;
		case T_UpdateStmt:
			if (st->held_ael &&
				!is_created(st, ((UpdateStmt *) stmt)->relation->relname))
				report(st, LINT_LOCK_SCAN);
			break;
		case T_DeleteStmt:
			if (st->held_ael &&
				!is_created(st, ((DeleteStmt *) stmt)->relation->relname))
				report(st, LINT_LOCK_SCAN);
			break;
		case T_InsertStmt:
			{
				InsertStmt *ins = (InsertStmt *) stmt;

				if (st->held_ael && ins->selectStmt != NULL &&
					IsA(ins->selectStmt, SelectStmt) &&
					((SelectStmt *) ins->selectStmt)->fromClause != NIL)
					report(st, LINT_LOCK_SCAN);
				break;
			}
		case T_SelectStmt:
			if (st->held_ael && ((SelectStmt *) stmt)->fromClause != NIL)
				report(st, LINT_LOCK_SCAN);
			break;
		default:
			break;
	}
}

List *
MigLintSql(const char *sql, List **created)
{
	LintState	st;
	ListCell   *lc;

	memset(&st, 0, sizeof(st));
	st.created = *created;
	st.allowed = allowed_rules();
	foreach(lc, MigSqlStatements(sql))
		lint_statement(&st, lfirst(lc));
	*created = st.created;
	return st.findings;
}

/* a finding of a sql operation, for MigLintMigration */
typedef struct OpFinding
{
	MigOperation *op;
	bool		down;
	MigLintFinding *finding;
} OpFinding;

void
MigLintMigration(MigMigration *migration, const char *schema)
{
	List	   *created = NIL;
	List	   *found = NIL;
	ListCell   *lc;
	int			nestlevel;

	if (mig_lint_level == MIG_LINT_OFF)
		return;

	/* the tables, indexes and columns the migration's own operations create */
	foreach(lc, migration->operations)
	{
		MigOperation *op = lfirst(lc);

		if (op->kind == MIG_OP_CREATE_TABLE || op->kind == MIG_OP_CREATE_INDEX)
			created = lappend(created, op->name);
		else if (op->kind == MIG_OP_ADD_COLUMN)
			created = lappend(created, column_key(op->table, op->column_def->name));
	}

	/* names resolve as when the operation runs: in the migrated schema */
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", quote_identifier(schema),
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	foreach(lc, migration->operations)
	{
		MigOperation *op = lfirst(lc);
		int			part;

		if (op->kind != MIG_OP_SQL)
			continue;
		/* "up", then "down", which undoes what "up" created */
		for (part = 0; part < 2; part++)
		{
			const char *sql = part == 0 ? op->up : op->down;
			ListCell   *fc;

			if (sql == NULL)
				continue;
			foreach(fc, MigLintSql(sql, &created))
			{
				OpFinding  *of = palloc(sizeof(OpFinding));

				of->op = op;
				of->down = part == 1;
				of->finding = lfirst(fc);
				found = lappend(found, of);
			}
		}
	}
	AtEOXact_GUC(true, nestlevel);

	foreach(lc, found)
	{
		OpFinding  *of = lfirst(lc);
		MigLintFinding *f = of->finding;

		ereport(mig_lint_level == MIG_LINT_ERROR ? ERROR : WARNING,
				errcode(mig_lint_level == MIG_LINT_ERROR ?
						ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION :
						ERRCODE_WARNING),
				errmsg("operations[%d].%s of migration \"%s\" breaks lint rule \"%s\": %s",
					   of->op->index, of->down ? "down" : "up",
					   migration->name, f->rule, f->message),
				errdetail("The statement is: %s", f->statement),
				errhint("%s Or add \"%s\" to migrate_ext.lint_allow.",
						f->hint, f->rule));
	}
}

/*
 * mig.lint(sql text) RETURNS TABLE (rule text, statement text, message
 * text, hint text)
 */
Datum
mig_lint(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	List	   *created = NIL;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	foreach(lc, MigLintSql(sql, &created))
	{
		MigLintFinding *f = lfirst(lc);
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = CStringGetTextDatum(f->rule);
		values[1] = CStringGetTextDatum(f->statement);
		values[2] = CStringGetTextDatum(f->message);
		values[3] = CStringGetTextDatum(f->hint);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}

/* mig.lint_rules() RETURNS TABLE (rule text, message text, hint text) */
Datum
mig_lint_rules(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < lengthof(lint_rules); i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum(lint_rules[i].name);
		values[1] = CStringGetTextDatum(lint_rules[i].message);
		values[2] = CStringGetTextDatum(lint_rules[i].hint);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}
