/*-------------------------------------------------------------------------
 *
 * migration_parse.c
 *		Parse and validate a migration document (pgroll's format) into the
 *		structs of migration.h.
 *
 *		The document is walked straight from its jsonb containers.  Every
 *		object is first checked against the list of keys it may contain
 *		(pgroll decodes with DisallowUnknownFields, so an unknown key is an
 *		error, not something to ignore), then each field is read with a type
 *		check, and finally the rules pgroll's Validate methods apply that need
 *		no database are enforced: required fields, identifier lengths, the
 *		combinations of fields each constraint type allows, "up" for a new
 *		NOT NULL column, and so on.  Rules that need the catalogs (does the
 *		table exist?) are left to the operations' planning code.
 *
 *		Every error is raised with ereport on the first problem found.  The
 *		primary message always has the shape
 *
 *			invalid migration "NAME": operations[I] (KIND): PROBLEM
 *
 *		or, for problems outside any operation,
 *
 *			invalid migration "NAME": PROBLEM
 *
 *		where PROBLEM names the offending key by its path inside the
 *		operation, e.g. "column.references.on_delete" or "columns[2].name".
 *
 *		Where pgroll cannot tell an empty string from an absent one (plain Go
 *		strings with omitempty), "" is taken as absent.  JSON null is accepted
 *		only where it means something: the "default" and "comment" of
 *		alter_column.  Object keys come back in jsonb's storage order, which
 *		is not the document's; nothing here depends on it.
 *
 *		Helpers are prefixed mp_ ("migration parse").  The typed readers
 *		are in migration_read.c, the shared parts in migration_parts.c.
 *
 *	IDENTIFICATION
 *		src/migration_parse.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "compat.h"
#include "migration.h"
#include "migration_read.h"
#include "sql_check.h"

typedef void (*MigOpParser) (MigParseContext *cxt, JsonbContainer *body,
							 MigOperation *op);

/* one operation kind: its keys and its parser (its name: mp_op_kind_names) */
typedef struct MigOpKindInfo
{
	const char *const *keys;
	MigOpParser parse;
} MigOpKindInfo;

static void mp_parse_create_table(MigParseContext *cxt, JsonbContainer *body,
								  MigOperation *op);
static void mp_parse_rename_table(MigParseContext *cxt, JsonbContainer *body,
								  MigOperation *op);
static void mp_parse_named(MigParseContext *cxt, JsonbContainer *body,
						   MigOperation *op);
static void mp_parse_add_column(MigParseContext *cxt, JsonbContainer *body,
								MigOperation *op);
static void mp_parse_drop_column(MigParseContext *cxt, JsonbContainer *body,
								 MigOperation *op);
static void mp_parse_alter_column(MigParseContext *cxt, JsonbContainer *body,
								  MigOperation *op);
static void mp_parse_table_rename(MigParseContext *cxt, JsonbContainer *body,
								  MigOperation *op);
static void mp_parse_create_index(MigParseContext *cxt, JsonbContainer *body,
								  MigOperation *op);
static void mp_parse_create_constraint(MigParseContext *cxt,
									   JsonbContainer *body,
									   MigOperation *op);
static void mp_parse_drop_constraint(MigParseContext *cxt,
									 JsonbContainer *body, MigOperation *op);
static void mp_parse_drop_multicolumn_constraint(MigParseContext *cxt,
												 JsonbContainer *body,
												 MigOperation *op);
static void mp_parse_set_replica_identity(MigParseContext *cxt,
										  JsonbContainer *body,
										  MigOperation *op);
static void mp_parse_sql(MigParseContext *cxt, JsonbContainer *body,
						 MigOperation *op);
static MigOperation *mp_parse_operation(MigParseContext *cxt,
										JsonbContainer *obj, int index);

static const MigOpKindInfo mp_op_kinds[MIG_NUM_OP_KINDS] =
{
	[MIG_OP_CREATE_TABLE] =
	{mp_create_table_keys, mp_parse_create_table},
	[MIG_OP_RENAME_TABLE] =
	{mp_rename_keys, mp_parse_rename_table},
	[MIG_OP_DROP_TABLE] =
	{mp_name_keys, mp_parse_named},
	[MIG_OP_ADD_COLUMN] =
	{mp_add_column_keys, mp_parse_add_column},
	[MIG_OP_DROP_COLUMN] =
	{mp_drop_column_keys, mp_parse_drop_column},
	[MIG_OP_ALTER_COLUMN] =
	{mp_alter_column_keys, mp_parse_alter_column},
	[MIG_OP_RENAME_COLUMN] =
	{mp_table_rename_keys, mp_parse_table_rename},
	[MIG_OP_CREATE_INDEX] =
	{mp_create_index_keys, mp_parse_create_index},
	[MIG_OP_DROP_INDEX] =
	{mp_name_keys, mp_parse_named},
	[MIG_OP_CREATE_CONSTRAINT] =
	{mp_create_constraint_keys,
	mp_parse_create_constraint},
	[MIG_OP_DROP_CONSTRAINT] =
	{mp_drop_constraint_keys, mp_parse_drop_constraint},
	[MIG_OP_DROP_MULTICOLUMN_CONSTRAINT] =
	{mp_drop_constraint_keys,
	mp_parse_drop_multicolumn_constraint},
	[MIG_OP_RENAME_CONSTRAINT] =
	{mp_table_rename_keys, mp_parse_table_rename},
	[MIG_OP_SET_REPLICA_IDENTITY] =
	{mp_set_replica_identity_keys,
	mp_parse_set_replica_identity},
	[MIG_OP_SQL] =
	{mp_sql_keys, mp_parse_sql},
};


/*
 * Parse and validate a migration document; see migration.h.
 */
MigMigration *
MigParseMigration(const char *name, Jsonb *doc)
{
	MigParseContext cxt;
	MigMigration *mig;
	JsonbContainer *root = &doc->root;
	JsonbContainer *ops;
	ListCell   *lc;
	int			nops;
	int			i;

	cxt.name = name;
	cxt.index = -1;
	cxt.kind = MIG_OP_CREATE_TABLE;

	if (!JsonContainerIsObject(root))
	{
		JsonbValue	v;

		if (JsonContainerIsScalar(root))
			JsonbExtractScalar(root, &v);
		else
		{
			v.type = jbvBinary;
			v.val.binary.data = root;
		}
		mp_error(&cxt, NULL, NULL, "the document must be an object, not %s",
				 mp_type_name(&v));
	}

	mp_check_keys(&cxt, root, "", mp_migration_keys);

	mig = palloc0(sizeof(MigMigration));
	mig->name = pstrdup(name);
	mig->version_schema = mp_get_string(&cxt, root, "", "version_schema",
										MP_IDENT, NULL);

	ops = mp_get_container(&cxt, root, "", "operations", true, true);
	nops = JsonContainerSize(ops);
	for (i = 0; i < nops; i++)
	{
		JsonbContainer *obj = mp_get_element_object(&cxt, ops, "operations",
													i);

		mig->operations = lappend(mig->operations,
								  mp_parse_operation(&cxt, obj, i));
	}

	/*
	 * Raw SQL that runs at start changes the schema behind our back, so, as
	 * in pgroll, it must be the migration's only operation.
	 */
	foreach(lc, mig->operations)
	{
		MigOperation *op = (MigOperation *) lfirst(lc);

		if (op->kind == MIG_OP_SQL && !op->on_complete && nops > 1)
		{
			cxt.index = op->index;
			cxt.kind = op->kind;
			mp_error(&cxt,
					 psprintf("The migration has %d operations.", nops),
					 "Move the raw SQL into a migration of its own, or set \"onComplete\" to true.",
					 "a \"sql\" operation without \"onComplete\" must be the only operation in the migration");
		}
	}

	return mig;
}

/* ----------------------------------------------------------------
 *		Operations
 *
 * Each parser gets the operation's body, already checked for unknown keys.
 * ----------------------------------------------------------------
 */

static void
mp_parse_create_table(MigParseContext *cxt, JsonbContainer *body,
					  MigOperation *op)
{
	JsonbContainer *columns;
	JsonbContainer *constraints;
	char	   *pk_column = NULL;
	int			pk_constraint = -1;
	int			n;
	int			i;

	op->name = mp_get_ident(cxt, body, "", "name");
	op->comment = mp_get_string(cxt, body, "", "comment", 0, NULL);

	columns = mp_get_container(cxt, body, "", "columns", true, true);
	n = JsonContainerSize(columns);
	for (i = 0; i < n; i++)
	{
		char	   *path = psprintf("columns[%d]", i);
		MigColumn  *col;

		col = mp_parse_column(cxt,
							  mp_get_element_object(cxt, columns, "columns", i),
							  path);
		if (col->pk && pk_column == NULL)
			pk_column = col->name;
		op->table_columns = lappend(op->table_columns, col);
	}

	constraints = mp_get_container(cxt, body, "", "constraints", false, true);
	n = constraints ? JsonContainerSize(constraints) : 0;
	for (i = 0; i < n; i++)
	{
		char	   *path = psprintf("constraints[%d]", i);
		MigConstraint *con;

		con = mp_parse_constraint(cxt,
								  mp_get_element_object(cxt, constraints,
														"constraints", i),
								  path);
		if (con->type == MIG_CONSTRAINT_PRIMARY_KEY)
		{
			/* a table has one primary key: "pk" columns or one constraint */
			if (pk_column != NULL)
				mp_error(cxt,
						 psprintf("Column \"%s\" already has \"pk\": true.",
								  pk_column),
						 "Mark the primary key columns with \"pk\" or list them in a \"primary_key\" constraint, not both.",
						 "key \"%s\" defines a second primary key", path);
			if (pk_constraint >= 0)
				mp_error(cxt,
						 psprintf("The primary key is already defined by constraints[%d].",
								  pk_constraint),
						 NULL,
						 "key \"%s\" defines a second primary key", path);
			pk_constraint = i;
		}
		op->constraints = lappend(op->constraints, con);
	}
}

static void
mp_parse_rename_table(MigParseContext *cxt, JsonbContainer *body,
					  MigOperation *op)
{
	op->from = mp_get_ident(cxt, body, "", "from");
	op->to = mp_get_ident(cxt, body, "", "to");
}

/*
 * drop_table and drop_index: just a name.
 */
static void
mp_parse_named(MigParseContext *cxt, JsonbContainer *body, MigOperation *op)
{
	op->name = mp_get_ident(cxt, body, "", "name");
}

static void
mp_parse_add_column(MigParseContext *cxt, JsonbContainer *body,
					MigOperation *op)
{
	MigColumn  *col;
	int			i;

	op->table = mp_get_ident(cxt, body, "", "table");
	col = mp_parse_column(cxt,
						  mp_get_container(cxt, body, "", "column", true,
										   false),
						  "column");
	op->column_def = col;
	op->up = mp_get_string(cxt, body, "", "up", MP_EMPTY_IS_ABSENT, NULL);

	if (col->pk)
		mp_error(cxt, NULL,
				 "Add the column first, then make it the primary key with a \"create_constraint\" operation of type \"primary_key\".",
				 "key \"column.pk\": adding primary key columns is not supported");

	/*
	 * Existing rows need a value for a new NOT NULL column: from its default,
	 * from a serial type's implicit default, from generation, or from "up".
	 */
	if (!col->nullable && col->default_expr == NULL && op->up == NULL &&
		col->generated_expression == NULL && !col->is_identity)
	{
		for (i = 0; mp_serial_types[i] != NULL; i++)
		{
			if (pg_strcasecmp(col->type, mp_serial_types[i]) == 0)
				break;
		}
		if (mp_serial_types[i] == NULL)
			mp_error(cxt,
					 psprintf("Column \"%s\" is NOT NULL and has no default, so existing rows need a value computed by \"up\".",
							  col->name),
					 "Provide \"up\", give the column a \"default\", or make it \"nullable\".",
					 "missing required key \"up\"");
	}
}

static void
mp_parse_drop_column(MigParseContext *cxt, JsonbContainer *body,
					 MigOperation *op)
{
	op->table = mp_get_ident(cxt, body, "", "table");
	op->column = mp_get_ident(cxt, body, "", "column");
	op->down = mp_get_string(cxt, body, "", "down", MP_EMPTY_IS_ABSENT, NULL);
}

/*
 * alter_column: one or more sub-changes of one column.  As in pgroll, "up"
 * and "down" are required by the sub-changes that rewrite the column's values
 * in a way the other version cannot infer.
 */
static void
mp_parse_alter_column(MigParseContext *cxt, JsonbContainer *body,
					  MigOperation *op)
{
	JsonbContainer *sub;

	op->table = mp_get_ident(cxt, body, "", "table");
	op->column = mp_get_ident(cxt, body, "", "column");
	op->type = mp_get_string(cxt, body, "", "type", MP_TYPE | MP_NOT_EMPTY, NULL);

	sub = mp_get_container(cxt, body, "", "check", false, false);
	if (sub != NULL)
		op->check = mp_parse_check(cxt, sub, "check");

	sub = mp_get_container(cxt, body, "", "references", false, false);
	if (sub != NULL)
		op->references = mp_parse_foreign_key(cxt, sub, "references");

	op->nullable = mp_get_bool(cxt, body, "", "nullable", &op->has_nullable);

	sub = mp_get_container(cxt, body, "", "unique", false, false);
	if (sub != NULL)
	{
		mp_check_keys(cxt, sub, "unique", mp_unique_keys);
		op->unique_name = mp_get_ident(cxt, sub, "unique", "name");
	}

	op->default_expr = mp_get_string(cxt, body, "", "default",
									 MP_EXPR | MP_NULL_OK | MP_NOT_EMPTY,
									 &op->has_default);
	op->comment = mp_get_string(cxt, body, "", "comment", MP_NULL_OK,
								&op->has_comment);
	op->up = mp_get_string(cxt, body, "", "up", MP_EMPTY_IS_ABSENT, NULL);
	op->down = mp_get_string(cxt, body, "", "down", MP_EMPTY_IS_ABSENT, NULL);

	if (op->type == NULL && op->check == NULL && op->references == NULL &&
		!op->has_nullable && op->unique_name == NULL && !op->has_default &&
		!op->has_comment)
		mp_error(cxt, NULL,
				 psprintf("Give at least one of %s.",
						  mp_word_list(mp_alter_column_changes, "or")),
				 "no change requested for column \"%s\"", op->column);

	if (op->type != NULL)
	{
		mp_require(cxt, "", "up", op->up != NULL, "when \"type\" is given");
		mp_require(cxt, "", "down", op->down != NULL,
				   "when \"type\" is given");
	}
	if (op->check != NULL)
	{
		mp_require(cxt, "", "up", op->up != NULL, "when \"check\" is given");
		mp_require(cxt, "", "down", op->down != NULL,
				   "when \"check\" is given");
	}
	if (op->references != NULL)
	{
		mp_require(cxt, "", "up", op->up != NULL,
				   "when \"references\" is given");
		mp_require(cxt, "", "down", op->down != NULL,
				   "when \"references\" is given");
	}
	if (op->has_nullable && !op->nullable)
		mp_require(cxt, "", "up", op->up != NULL,
				   "when \"nullable\" is false");
	if (op->has_nullable && op->nullable)
		mp_require(cxt, "", "down", op->down != NULL,
				   "when \"nullable\" is true");
}

/*
 * rename_column and rename_constraint: a table, and from and to.
 */
static void
mp_parse_table_rename(MigParseContext *cxt, JsonbContainer *body,
					  MigOperation *op)
{
	op->table = mp_get_ident(cxt, body, "", "table");
	op->from = mp_get_ident(cxt, body, "", "from");
	op->to = mp_get_ident(cxt, body, "", "to");
}

static void
mp_parse_create_index(MigParseContext *cxt, JsonbContainer *body,
					  MigOperation *op)
{
	JsonbContainer *columns;
	int			n;
	int			i;

	op->name = mp_get_ident(cxt, body, "", "name");
	op->table = mp_get_ident(cxt, body, "", "table");

	columns = mp_get_container(cxt, body, "", "columns", true, true);
	n = JsonContainerSize(columns);
	if (n == 0)
		mp_error(cxt, NULL, NULL, "key \"columns\" must not be empty");
	for (i = 0; i < n; i++)
		op->index_fields =
			lappend(op->index_fields,
					mp_parse_index_field(cxt,
										 mp_get_element_object(cxt, columns,
															   "columns", i),
										 psprintf("columns[%d]", i)));

	op->method = mp_get_enum_string(cxt, body, "", "method",
									mp_index_methods, "btree");
	op->unique = mp_get_bool(cxt, body, "", "unique", NULL);
	op->predicate = mp_get_string(cxt, body, "", "predicate",
								  MP_EXPR | MP_EMPTY_IS_ABSENT, NULL);
	op->storage_parameters = mp_get_string(cxt, body, "",
										   "storage_parameters",
										   MP_STORAGE | MP_EMPTY_IS_ABSENT, NULL);
}

/*
 * create_constraint: every listed column gets an "up" and a "down"
 * expression, and the maps name no other column.
 */
static void
mp_parse_create_constraint(MigParseContext *cxt, JsonbContainer *body,
						   MigOperation *op)
{
	JsonbContainer *references;
	JsonbContainer *params;
	ListCell   *lc;
	int			m;

	op->table = mp_get_ident(cxt, body, "", "table");
	op->name = mp_get_ident(cxt, body, "", "name");
	op->constraint_type = (MigConstraintType)
		mp_get_enum(cxt, body, "", "type", mp_create_constraint_types, true);
	op->constraint_columns = mp_get_string_list(cxt, body, "", "columns",
												MP_IDENT);
	op->no_inherit = mp_get_bool(cxt, body, "", "no_inherit", NULL);

	/* the keys the type allows are checked before what is in them */
	op->check_expr = mp_get_string(cxt, body, "", "check",
								   MP_EMPTY_IS_ABSENT, NULL);
	params = mp_get_container(cxt, body, "", "index_parameters", false, false);
	references = mp_get_container(cxt, body, "", "references", false, false);
	mp_check_constraint_fields(cxt, "", op->constraint_type,
							   (op->constraint_columns != NIL ?
								MP_CON_COLUMNS : 0) |
							   (op->check_expr ? MP_CON_CHECK : 0) |
							   (op->no_inherit ? MP_CON_NO_INHERIT : 0) |
							   (references ? MP_CON_REFERENCES : 0) |
							   (params ? MP_CON_INDEX_PARAMETERS : 0));

	if (op->check_expr != NULL)
		op->check_expr = mp_get_string(cxt, body, "", "check",
									   MP_EXPR | MP_EMPTY_IS_ABSENT, NULL);
	if (params != NULL)
		mp_parse_index_parameters(cxt, params, "index_parameters",
								  &op->index_tablespace,
								  &op->index_storage_parameters,
								  &op->index_include_columns);
	if (references != NULL)
		op->table_references =
			mp_parse_table_foreign_key(cxt, references, "references",
									   op->constraint_columns);

	op->up_map = mp_get_column_sql_map(cxt, body, "up",
									   op->constraint_columns != NIL);
	op->down_map = mp_get_column_sql_map(cxt, body, "down",
										 op->constraint_columns != NIL);

	foreach(lc, op->constraint_columns)
	{
		char	   *column = (char *) lfirst(lc);

		if (!mp_map_has_column(op->up_map, column))
			mp_error(cxt,
					 "Every column in \"columns\" needs an \"up\" and a \"down\" expression.",
					 NULL,
					 "key \"up\" has no entry for column \"%s\"", column);
		if (!mp_map_has_column(op->down_map, column))
			mp_error(cxt,
					 "Every column in \"columns\" needs an \"up\" and a \"down\" expression.",
					 NULL,
					 "key \"down\" has no entry for column \"%s\"", column);
	}
	for (m = 0; m < 2; m++)
	{
		List	   *map = m == 0 ? op->up_map : op->down_map;

		foreach(lc, map)
		{
			char	   *column = ((MigColumnSql *) lfirst(lc))->column;

			if (!mp_string_in_list(op->constraint_columns, column))
				mp_error(cxt,
						 "Only the columns in \"columns\" are rewritten.",
						 NULL,
						 "key \"%s.%s\" names a column that is not in \"columns\"",
						 m == 0 ? "up" : "down", column);
		}
	}
}

/*
 * drop_constraint (deprecated): "down" is required, "up" defaults to the
 * column itself.
 */
static void
mp_parse_drop_constraint(MigParseContext *cxt, JsonbContainer *body,
						 MigOperation *op)
{
	op->table = mp_get_ident(cxt, body, "", "table");
	op->name = mp_get_ident(cxt, body, "", "name");
	op->up = mp_get_string(cxt, body, "", "up", MP_EMPTY_IS_ABSENT, NULL);
	op->down = mp_get_string(cxt, body, "", "down",
							 MP_REQUIRED | MP_EMPTY_IS_ABSENT, NULL);
}

static void
mp_parse_drop_multicolumn_constraint(MigParseContext *cxt,
									 JsonbContainer *body, MigOperation *op)
{
	op->table = mp_get_ident(cxt, body, "", "table");
	op->name = mp_get_ident(cxt, body, "", "name");
	op->up_map = mp_get_column_sql_map(cxt, body, "up", false);
	op->down_map = mp_get_column_sql_map(cxt, body, "down", true);
}

/*
 * set_replica_identity (deprecated).  pgroll's schema requires "index" even
 * for the types that do not use it, so it is accepted, and dropped, there.
 */
static void
mp_parse_set_replica_identity(MigParseContext *cxt, JsonbContainer *body,
							  MigOperation *op)
{
	JsonbContainer *identity;
	char	   *index;
	int			type;

	op->table = mp_get_ident(cxt, body, "", "table");

	identity = mp_get_container(cxt, body, "", "identity", true, false);
	mp_check_keys(cxt, identity, "identity", mp_replica_identity_keys);
	type = mp_get_enum(cxt, identity, "identity", "type",
					   mp_replica_identities, true);
	op->identity_type = pstrdup(mp_replica_identities[type]);
	index = mp_get_string(cxt, identity, "identity", "index",
						  MP_EMPTY_IS_ABSENT, NULL);
	if (strcmp(op->identity_type, "INDEX") == 0)
	{
		mp_require(cxt, "identity", "index", index != NULL,
				   "when \"type\" is \"index\"");
		mp_check_ident(cxt, "identity.index", index);
		op->identity_index = index;
	}
}

static void
mp_parse_sql(MigParseContext *cxt, JsonbContainer *body, MigOperation *op)
{
	op->up = mp_get_string(cxt, body, "", "up", MP_REQUIRED | MP_NOT_EMPTY,
						   NULL);
	op->down = mp_get_string(cxt, body, "", "down", MP_EMPTY_IS_ABSENT, NULL);
	op->on_complete = mp_get_bool(cxt, body, "", "onComplete", NULL);

	mp_forbid(cxt, "", "down", op->on_complete && op->down != NULL,
			  "when \"onComplete\" is true");
}

/*
 * One element of "operations": an object whose only key is the operation's
 * kind and whose value is the operation's body.
 */
static MigOperation *
mp_parse_operation(MigParseContext *cxt, JsonbContainer *obj, int index)
{
	MigOperation *op;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	JsonbContainer *body;
	const char *kinds[MIG_NUM_OP_KINDS + 1];
	char	   *kind = NULL;
	int			k;

	if (JsonContainerSize(obj) != 1)
		mp_error(cxt, NULL,
				 "Write each operation as {\"<kind>\": {...}}, in an array element of its own.",
				 "key \"operations[%d]\" must have exactly one key, the operation's kind, but has %d",
				 index, (int) JsonContainerSize(obj));

	it = JsonbIteratorInit(obj);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			kind = pnstrdup(v.val.string.val, v.val.string.len);
	}

	for (k = 0; k < MIG_NUM_OP_KINDS; k++)
	{
		if (strcmp(kind, mp_op_kind_names[k]) == 0)
			break;
	}
	if (k == MIG_NUM_OP_KINDS)
	{
		for (k = 0; k < MIG_NUM_OP_KINDS; k++)
			kinds[k] = mp_op_kind_names[k];
		kinds[k] = NULL;
		mp_error(cxt, NULL,
				 psprintf("Valid operations are %s.", mp_word_list(kinds, "and")),
				 "key \"operations[%d]\" has unrecognized operation \"%s\"",
				 index, kind);
	}

	body = mp_get_container(cxt, obj, psprintf("operations[%d]", index),
							kind, true, false);

	op = palloc0(sizeof(MigOperation));
	op->kind = (MigOpKind) k;
	op->index = index;

	cxt->index = index;
	cxt->kind = op->kind;
	mp_check_keys(cxt, body, "", mp_op_kinds[k].keys);
	mp_op_kinds[k].parse(cxt, body, op);
	cxt->index = -1;

	return op;
}
