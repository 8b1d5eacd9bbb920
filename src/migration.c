/*-------------------------------------------------------------------------
 *
 * migration.c
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
 *		Static helpers are prefixed mp_ ("migration parse").
 *
 *	IDENTIFICATION
 *		src/migration.c
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
#include "sql_check.h"

/* flags for mp_get_string and mp_get_string_list */
#define MP_REQUIRED			0x01	/* error if the key is absent */
#define MP_NOT_EMPTY		0x02	/* error if "" (or an empty array) */
#define MP_EMPTY_IS_ABSENT	0x04	/* "" counts as absent */
#define MP_NULL_OK			0x08	/* JSON null allowed, read as NULL */
#define MP_IDENT			0x10	/* an identifier: not empty, < NAMEDATALEN */
/* SQL that goes into a statement, checked to be only what it says */
#define MP_EXPR				0x20	/* one SQL expression */
#define MP_TYPE				0x40	/* a type name (rewritten from its parse) */
#define MP_STORAGE			0x80	/* storage parameters */
#define MP_EXCLUDE			0x100	/* exclusion constraint elements */
#define MP_SEQ_OPTIONS		0x200	/* identity sequence options */

/*
 * The fields of a constraint whose presence depends on its type, as bits in
 * the order of mp_constraint_fields.
 */
#define MP_CON_COLUMNS				0x0001
#define MP_CON_CHECK				0x0002
#define MP_CON_NO_INHERIT			0x0004
#define MP_CON_REFERENCES			0x0008
#define MP_CON_EXCLUDE				0x0010
#define MP_CON_INDEX_PARAMETERS		0x0020
#define MP_CON_DEFERRABLE			0x0040
#define MP_CON_INITIALLY_DEFERRED	0x0080
#define MP_CON_NULLS_NOT_DISTINCT	0x0100

/* where we are in the document, for error messages */
typedef struct MigParseContext
{
	const char *name;			/* the migration's name */
	int			index;			/* operation index, or -1 outside any */
	MigOpKind	kind;			/* that operation's kind */
} MigParseContext;

/* the fields a constraint type requires and those it does not allow */
typedef struct MigConstraintRule
{
	int			required;		/* MP_CON_* bits */
	int			forbidden;		/* MP_CON_* bits */
} MigConstraintRule;

typedef void (*MigOpParser) (MigParseContext *cxt, JsonbContainer *body,
							 MigOperation *op);

/* one operation kind: its name, its keys and its parser */
typedef struct MigOpKindInfo
{
	const char *name;
	const char *const *keys;
	MigOpParser parse;
} MigOpKindInfo;

static char *mp_prefix(MigParseContext *cxt);
static char *mp_check_sql(MigParseContext *cxt, const char *path, char *s,
						  int flags);
MIG_NORETURN static void mp_error(MigParseContext *cxt, const char *detail,
								  const char *hint, const char *fmt,...)
			pg_attribute_printf(4, 5);
static char *mp_path(const char *path, const char *key);
static char *mp_word_list(const char *const *words, const char *conj);
static const char *mp_type_name(JsonbValue *v);
static void mp_check_keys(MigParseContext *cxt, JsonbContainer *obj,
						  const char *path, const char *const *allowed);
static void mp_check_ident(MigParseContext *cxt, const char *path,
						   const char *ident);
static void mp_require(MigParseContext *cxt, const char *path,
					   const char *key, bool given, const char *reason);
static void mp_forbid(MigParseContext *cxt, const char *path,
					  const char *key, bool given, const char *reason);
static bool mp_get_value(MigParseContext *cxt, JsonbContainer *obj,
						 const char *path, const char *key, bool required,
						 JsonbValue *val);
static char *mp_get_string(MigParseContext *cxt, JsonbContainer *obj,
						   const char *path, const char *key, int flags,
						   bool *present);
static char *mp_get_ident(MigParseContext *cxt, JsonbContainer *obj,
						  const char *path, const char *key);
static bool mp_get_bool(MigParseContext *cxt, JsonbContainer *obj,
						const char *path, const char *key, bool *present);
static JsonbContainer *mp_get_container(MigParseContext *cxt,
										JsonbContainer *obj, const char *path,
										const char *key, bool required,
										bool array);
static JsonbContainer *mp_get_element_object(MigParseContext *cxt,
											 JsonbContainer *array,
											 const char *path, int i);
static int	mp_get_enum(MigParseContext *cxt, JsonbContainer *obj,
						const char *path, const char *key,
						const char *const *values, bool required);
static char *mp_get_enum_string(MigParseContext *cxt, JsonbContainer *obj,
								const char *path, const char *key,
								const char *const *values,
								const char *default_value);
static List *mp_get_string_list(MigParseContext *cxt, JsonbContainer *obj,
								const char *path, const char *key, int flags);
static List *mp_get_column_sql_map(MigParseContext *cxt, JsonbContainer *obj,
								   const char *key, bool required);
static void mp_check_constraint_fields(MigParseContext *cxt,
									   const char *path,
									   MigConstraintType type, int given);
static bool mp_string_in_list(List *list, const char *s);
static bool mp_map_has_column(List *map, const char *column);

static MigColumn *mp_parse_column(MigParseContext *cxt, JsonbContainer *obj,
								  const char *path);
static void mp_parse_generated(MigParseContext *cxt, JsonbContainer *obj,
							   const char *path, MigColumn *col);
static MigCheck *mp_parse_check(MigParseContext *cxt, JsonbContainer *obj,
								const char *path);
static MigForeignKey *mp_parse_foreign_key(MigParseContext *cxt,
										   JsonbContainer *obj,
										   const char *path);
static MigTableForeignKey *mp_parse_table_foreign_key(MigParseContext *cxt,
													  JsonbContainer *obj,
													  const char *path,
													  List *fk_columns);
static MigConstraint *mp_parse_constraint(MigParseContext *cxt,
										  JsonbContainer *obj,
										  const char *path);
static void mp_parse_index_parameters(MigParseContext *cxt,
									  JsonbContainer *obj, const char *path,
									  char **tablespace,
									  char **storage_parameters,
									  List **include_columns);
static MigIndexField *mp_parse_index_field(MigParseContext *cxt,
										   JsonbContainer *obj,
										   const char *path);

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

/*
 * The keys each object may contain, NULL-terminated.
 */
static const char *const mp_migration_keys[] =
{"operations", "version_schema", NULL};
static const char *const mp_column_keys[] =
{"name", "type", "nullable", "pk", "unique", "default", "comment", "check",
"references", "generated", NULL};
static const char *const mp_generated_keys[] =
{"expression", "identity", NULL};
static const char *const mp_identity_keys[] =
{"sequence_options", "user_specified_values", NULL};
static const char *const mp_check_keys_list[] =
{"name", "constraint", "no_inherit", NULL};
static const char *const mp_foreign_key_keys[] =
{"name", "table", "column", "match_type", "on_delete", "on_update",
"deferrable", "initially_deferred", NULL};
static const char *const mp_table_foreign_key_keys[] =
{"table", "columns", "match_type", "on_delete", "on_update",
"on_delete_set_columns", NULL};
static const char *const mp_constraint_keys[] =
{"name", "type", "columns", "deferrable", "initially_deferred",
"nulls_not_distinct", "no_inherit", "check", "references", "exclude",
"index_parameters", NULL};
static const char *const mp_exclude_keys[] =
{"index_method", "elements", "predicate", NULL};
static const char *const mp_index_parameters_keys[] =
{"tablespace", "storage_parameters", "include_columns", NULL};
static const char *const mp_index_field_keys[] =
{"column", "collate", "sort", "nulls", "opclass", NULL};
static const char *const mp_opclass_keys[] =
{"name", "params", NULL};
static const char *const mp_unique_keys[] =
{"name", NULL};
static const char *const mp_replica_identity_keys[] =
{"type", "index", NULL};

static const char *const mp_create_table_keys[] =
{"name", "columns", "comment", "constraints", NULL};
static const char *const mp_rename_keys[] =
{"from", "to", NULL};
static const char *const mp_name_keys[] =
{"name", NULL};
static const char *const mp_add_column_keys[] =
{"table", "column", "up", NULL};
static const char *const mp_drop_column_keys[] =
{"table", "column", "down", NULL};
static const char *const mp_alter_column_keys[] =
{"table", "column", "type", "check", "references", "nullable", "unique",
"default", "comment", "up", "down", NULL};
static const char *const mp_table_rename_keys[] =
{"table", "from", "to", NULL};
static const char *const mp_create_index_keys[] =
{"name", "table", "columns", "method", "unique", "predicate",
"storage_parameters", NULL};
static const char *const mp_create_constraint_keys[] =
{"table", "name", "type", "columns", "check", "no_inherit",
"index_parameters", "references", "up", "down", NULL};
static const char *const mp_drop_constraint_keys[] =
{"table", "name", "up", "down", NULL};
static const char *const mp_set_replica_identity_keys[] =
{"table", "identity", NULL};
static const char *const mp_sql_keys[] =
{"up", "down", "onComplete", NULL};

/*
 * The values of enumerated fields, in their stored spelling.  Input is
 * matched case-insensitively.  The constraint type lists follow the order of
 * MigConstraintType.
 */
static const char *const mp_fk_actions[] =
{"NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT", NULL};
static const char *const mp_match_types[] =
{"SIMPLE", "FULL", "PARTIAL", NULL};
static const char *const mp_index_methods[] =
{"btree", "hash", "gist", "spgist", "gin", "brin", NULL};
static const char *const mp_sort_orders[] =
{"ASC", "DESC", NULL};
static const char *const mp_nulls_orders[] =
{"FIRST", "LAST", NULL};
static const char *const mp_constraint_types[] =
{"unique", "check", "primary_key", "foreign_key", "exclude", NULL};
static const char *const mp_create_constraint_types[] =
{"unique", "check", "primary_key", "foreign_key", NULL};
static const char *const mp_replica_identities[] =
{"FULL", "DEFAULT", "NOTHING", "INDEX", NULL};
static const char *const mp_identity_values[] =
{"ALWAYS", "BY DEFAULT", NULL};

/*
 * Which constraint type needs or refuses which field (pgroll.md 1.3; the
 * create_constraint operation has a subset of these fields).
 */
static const char *const mp_constraint_fields[] =
{"columns", "check", "no_inherit", "references", "exclude",
"index_parameters", "deferrable", "initially_deferred", "nulls_not_distinct",
NULL};
static const MigConstraintRule mp_constraint_rules[] =
{
	[MIG_CONSTRAINT_UNIQUE] = {
		MP_CON_COLUMNS,
		MP_CON_CHECK | MP_CON_NO_INHERIT | MP_CON_REFERENCES | MP_CON_EXCLUDE
	},
	[MIG_CONSTRAINT_CHECK] = {
		MP_CON_CHECK,
		MP_CON_REFERENCES | MP_CON_EXCLUDE | MP_CON_INDEX_PARAMETERS |
		MP_CON_DEFERRABLE | MP_CON_INITIALLY_DEFERRED | MP_CON_NULLS_NOT_DISTINCT
	},
	[MIG_CONSTRAINT_PRIMARY_KEY] = {
		MP_CON_COLUMNS,
		MP_CON_CHECK | MP_CON_NO_INHERIT | MP_CON_REFERENCES | MP_CON_EXCLUDE |
		MP_CON_NULLS_NOT_DISTINCT
	},
	[MIG_CONSTRAINT_FOREIGN_KEY] = {
		MP_CON_COLUMNS | MP_CON_REFERENCES,
		MP_CON_CHECK | MP_CON_NO_INHERIT | MP_CON_EXCLUDE |
		MP_CON_INDEX_PARAMETERS | MP_CON_NULLS_NOT_DISTINCT
	},
	[MIG_CONSTRAINT_EXCLUDE] = {
		MP_CON_EXCLUDE,
		MP_CON_COLUMNS | MP_CON_CHECK | MP_CON_NO_INHERIT | MP_CON_REFERENCES |
		MP_CON_NULLS_NOT_DISTINCT
	},
};

/* types that give a column an implicit default (pgroll: HasImplicitDefault) */
static const char *const mp_serial_types[] =
{"smallserial", "serial", "bigserial", "serial2", "serial4", "serial8", NULL};

/* the sub-changes of alter_column, for the "no change" hint */
static const char *const mp_alter_column_changes[] =
{"type", "check", "references", "nullable", "unique", "default", "comment",
NULL};

static const MigOpKindInfo mp_op_kinds[MIG_NUM_OP_KINDS] =
{
	[MIG_OP_CREATE_TABLE] =
	{"create_table", mp_create_table_keys, mp_parse_create_table},
	[MIG_OP_RENAME_TABLE] =
	{"rename_table", mp_rename_keys, mp_parse_rename_table},
	[MIG_OP_DROP_TABLE] =
	{"drop_table", mp_name_keys, mp_parse_named},
	[MIG_OP_ADD_COLUMN] =
	{"add_column", mp_add_column_keys, mp_parse_add_column},
	[MIG_OP_DROP_COLUMN] =
	{"drop_column", mp_drop_column_keys, mp_parse_drop_column},
	[MIG_OP_ALTER_COLUMN] =
	{"alter_column", mp_alter_column_keys, mp_parse_alter_column},
	[MIG_OP_RENAME_COLUMN] =
	{"rename_column", mp_table_rename_keys, mp_parse_table_rename},
	[MIG_OP_CREATE_INDEX] =
	{"create_index", mp_create_index_keys, mp_parse_create_index},
	[MIG_OP_DROP_INDEX] =
	{"drop_index", mp_name_keys, mp_parse_named},
	[MIG_OP_CREATE_CONSTRAINT] =
	{"create_constraint", mp_create_constraint_keys,
	mp_parse_create_constraint},
	[MIG_OP_DROP_CONSTRAINT] =
	{"drop_constraint", mp_drop_constraint_keys, mp_parse_drop_constraint},
	[MIG_OP_DROP_MULTICOLUMN_CONSTRAINT] =
	{"drop_multicolumn_constraint", mp_drop_constraint_keys,
	mp_parse_drop_multicolumn_constraint},
	[MIG_OP_RENAME_CONSTRAINT] =
	{"rename_constraint", mp_table_rename_keys, mp_parse_table_rename},
	[MIG_OP_SET_REPLICA_IDENTITY] =
	{"set_replica_identity", mp_set_replica_identity_keys,
	mp_parse_set_replica_identity},
	[MIG_OP_SQL] =
	{"sql", mp_sql_keys, mp_parse_sql},
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

/*
 * "add_column" etc.
 */
const char *
MigOpKindName(MigOpKind kind)
{
	if ((int) kind < 0 || kind >= MIG_NUM_OP_KINDS)
		elog(ERROR, "unrecognized migration operation kind: %d", (int) kind);
	return mp_op_kinds[kind].name;
}


/* ----------------------------------------------------------------
 *		Generic helpers: errors, paths, field access
 * ----------------------------------------------------------------
 */

/*
 * The start of every error message: the migration and, inside an operation,
 * its index and kind.
 */
static char *
mp_prefix(MigParseContext *cxt)
{
	if (cxt->index < 0)
		return psprintf("invalid migration \"%s\"", cxt->name);
	return psprintf("invalid migration \"%s\": operations[%d] (%s)",
					cxt->name, cxt->index, mp_op_kinds[cxt->kind].name);
}

/*
 * Raise the error for an invalid document.  detail and hint are complete
 * sentences, or NULL.
 */
static void
mp_error(MigParseContext *cxt, const char *detail, const char *hint,
		 const char *fmt,...)
{
	StringInfoData problem;

	initStringInfo(&problem);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&problem, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&problem, needed);
	}

	ereport(ERROR,
			errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			errmsg("%s: %s", mp_prefix(cxt), problem.data),
			detail ? errdetail("%s", detail) : 0,
			hint ? errhint("%s", hint) : 0);
	pg_unreachable();
}

/*
 * The path of key inside the object at path ("" for an operation's body).
 */
static char *
mp_path(const char *path, const char *key)
{
	if (path[0] == '\0')
		return pstrdup(key);
	return psprintf("%s.%s", path, key);
}

/*
 * "a", "b", and "c" (conj being "and" or "or") from a NULL-terminated list,
 * for hints.
 */
static char *
mp_word_list(const char *const *words, const char *conj)
{
	StringInfoData buf;
	int			n = 0;
	int			i;

	while (words[n] != NULL)
		n++;

	initStringInfo(&buf);
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, n > 2 ? ", " : " ");
		if (i > 0 && i == n - 1)
			appendStringInfo(&buf, "%s ", conj);
		appendStringInfo(&buf, "\"%s\"", words[i]);
	}
	return buf.data;
}

/*
 * The JSON type of a value, with its article, for messages.
 */
static const char *
mp_type_name(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ?
				"an array" : "an object";
		default:
			return "an unexpected value";
	}
}

/*
 * Reject any key of obj that is not in allowed.
 */
static void
mp_check_keys(MigParseContext *cxt, JsonbContainer *obj, const char *path,
			  const char *const *allowed)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbIteratorToken tok;
	JsonbValue	v;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		int			i;

		if (tok != WJB_KEY)
			continue;

		key = pnstrdup(v.val.string.val, v.val.string.len);
		for (i = 0; allowed[i] != NULL; i++)
		{
			if (strcmp(key, allowed[i]) == 0)
				break;
		}
		if (allowed[i] == NULL)
			mp_error(cxt, NULL,
					 allowed[1] == NULL ?
					 psprintf("The only valid key is \"%s\".", allowed[0]) :
					 psprintf("Valid keys are %s.",
							  mp_word_list(allowed, "and")),
					 "unrecognized key \"%s\"", mp_path(path, key));
	}
}

/*
 * An identifier must be non-empty and fit in a Name.  It is never truncated.
 */
static void
mp_check_ident(MigParseContext *cxt, const char *path, const char *ident)
{
	size_t		len = strlen(ident);

	if (len == 0)
		mp_error(cxt, NULL, NULL, "key \"%s\" must not be empty", path);

	if (len >= NAMEDATALEN)
		ereport(ERROR,
				errcode(ERRCODE_NAME_TOO_LONG),
				errmsg("%s: key \"%s\" is too long", mp_prefix(cxt), path),
				errdetail("Identifier \"%s\" is %d bytes long, but the maximum is %d bytes.",
						  ident, (int) len, NAMEDATALEN - 1));
}

/*
 * A field that a combination of other fields makes required ...
 */
static void
mp_require(MigParseContext *cxt, const char *path, const char *key,
		   bool given, const char *reason)
{
	if (!given)
		mp_error(cxt, NULL, NULL, "key \"%s\" is required %s",
				 mp_path(path, key), reason);
}

/*
 * ... or not allowed.  A false boolean or an empty string counts as not
 * given, as in pgroll.
 */
static void
mp_forbid(MigParseContext *cxt, const char *path, const char *key,
		  bool given, const char *reason)
{
	if (given)
		mp_error(cxt, NULL, NULL, "key \"%s\" is not allowed %s",
				 mp_path(path, key), reason);
}

/*
 * SQL that a statement will contain must be only what its key says: one
 * expression, not "1); DROP TABLE t; --" (see sql_check.c).  A type name is
 * replaced by the same name written out from its parse tree.
 */
static char *
mp_check_sql(MigParseContext *cxt, const char *path, char *s, int flags)
{
	char	   *reason = NULL;
	const char *what;
	char	   *shown;

	if (flags & MP_TYPE)
	{
		char	   *type = MigCanonicalTypeName(s, &reason);

		if (type != NULL)
			return type;
		what = "a type name";
	}
	else if (flags & MP_EXPR)
	{
		if (MigCheckExpression(s, &reason))
			return s;
		what = "one SQL expression";
	}
	else if (flags & MP_STORAGE)
	{
		if (MigCheckStorageParameters(s, &reason))
			return s;
		what = "a list of storage parameters";
	}
	else if (flags & MP_EXCLUDE)
	{
		if (MigCheckExcludeElements(s, &reason))
			return s;
		what = "a list of exclusion constraint elements";
	}
	else
	{
		if (MigCheckSequenceOptions(s, &reason))
			return s;
		what = "a list of sequence options";
	}

	/* a huge value is shown by its beginning */
	shown = strlen(s) > 200 ?
		psprintf("%.*s...", pg_mbcliplen(s, strlen(s), 200), s) : s;
	ereport(ERROR,
			errcode(ERRCODE_SYNTAX_ERROR),
			errmsg("%s: key \"%s\" must be %s", mp_prefix(cxt), path, what),
			errdetail("The value \"%s\" was rejected: %s.", shown, reason),
			errhint("Put SQL statements in a \"sql\" operation."));
	pg_unreachable();
}

/*
 * Look up key in obj.  Returns false if it is absent, which is an error if
 * required.
 */
static bool
mp_get_value(MigParseContext *cxt, JsonbContainer *obj, const char *path,
			 const char *key, bool required, JsonbValue *val)
{
	if (getKeyJsonValueFromContainer(obj, key, strlen(key), val) != NULL)
		return true;
	if (required)
		mp_error(cxt, NULL, NULL, "missing required key \"%s\"",
				 mp_path(path, key));
	return false;
}

/*
 * A string field; see the MP_* flags.  Returns NULL if absent (or null, or
 * "" with MP_EMPTY_IS_ABSENT).  *present, if given, tells whether the key was
 * there at all, null included.
 */
static char *
mp_get_string(MigParseContext *cxt, JsonbContainer *obj, const char *path,
			  const char *key, int flags, bool *present)
{
	JsonbValue	v;
	char	   *s;

	if (present)
		*present = false;
	if (!mp_get_value(cxt, obj, path, key, (flags & MP_REQUIRED) != 0, &v))
		return NULL;

	if (v.type == jbvNull && (flags & MP_NULL_OK))
	{
		if (present)
			*present = true;
		return NULL;
	}
	if (v.type != jbvString)
		mp_error(cxt, NULL, NULL, "key \"%s\" must be a string, not %s",
				 mp_path(path, key), mp_type_name(&v));

	if (v.val.string.len == 0 && (flags & MP_EMPTY_IS_ABSENT))
	{
		if (flags & MP_REQUIRED)
			mp_error(cxt, NULL, NULL, "missing required key \"%s\"",
					 mp_path(path, key));
		return NULL;
	}
	if (v.val.string.len == 0 && (flags & MP_NOT_EMPTY))
		mp_error(cxt, NULL, NULL, "key \"%s\" must not be empty",
				 mp_path(path, key));

	s = pnstrdup(v.val.string.val, v.val.string.len);
	if (flags & MP_IDENT)
		mp_check_ident(cxt, mp_path(path, key), s);
	if (flags & (MP_EXPR | MP_TYPE | MP_STORAGE | MP_EXCLUDE | MP_SEQ_OPTIONS))
		s = mp_check_sql(cxt, mp_path(path, key), s, flags);
	if (present)
		*present = true;
	return s;
}

/*
 * A required identifier.
 */
static char *
mp_get_ident(MigParseContext *cxt, JsonbContainer *obj, const char *path,
			 const char *key)
{
	return mp_get_string(cxt, obj, path, key, MP_REQUIRED | MP_IDENT, NULL);
}

/*
 * A boolean field; absent means false.
 */
static bool
mp_get_bool(MigParseContext *cxt, JsonbContainer *obj, const char *path,
			const char *key, bool *present)
{
	JsonbValue	v;

	if (present)
		*present = false;
	if (!mp_get_value(cxt, obj, path, key, false, &v))
		return false;
	if (v.type != jbvBool)
		mp_error(cxt, NULL, NULL, "key \"%s\" must be a boolean, not %s",
				 mp_path(path, key), mp_type_name(&v));
	if (present)
		*present = true;
	return v.val.boolean;
}

/*
 * An object (or, if array, an array) field.  Returns NULL if absent.
 */
static JsonbContainer *
mp_get_container(MigParseContext *cxt, JsonbContainer *obj, const char *path,
				 const char *key, bool required, bool array)
{
	JsonbValue	v;

	if (!mp_get_value(cxt, obj, path, key, required, &v))
		return NULL;
	if (v.type != jbvBinary ||
		(array ? !JsonContainerIsArray(v.val.binary.data) :
		 !JsonContainerIsObject(v.val.binary.data)))
		mp_error(cxt, NULL, NULL, "key \"%s\" must be %s, not %s",
				 mp_path(path, key), array ? "an array" : "an object",
				 mp_type_name(&v));
	return v.val.binary.data;
}

/*
 * Element i of the array at path, which must be an object.
 */
static JsonbContainer *
mp_get_element_object(MigParseContext *cxt, JsonbContainer *array,
					  const char *path, int i)
{
	JsonbValue *v = getIthJsonbValueFromContainer(array, i);

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		mp_error(cxt, NULL, NULL, "key \"%s[%d]\" must be an object, not %s",
				 path, i, mp_type_name(v));
	return v->val.binary.data;
}

/*
 * An enumerated string field, matched case-insensitively.  Returns the index
 * of the value in values, or -1 if absent (or "").
 */
static int
mp_get_enum(MigParseContext *cxt, JsonbContainer *obj, const char *path,
			const char *key, const char *const *values, bool required)
{
	char	   *s;
	int			i;

	s = mp_get_string(cxt, obj, path, key,
					  MP_EMPTY_IS_ABSENT | (required ? MP_REQUIRED : 0),
					  NULL);
	if (s == NULL)
		return -1;

	for (i = 0; values[i] != NULL; i++)
	{
		if (pg_strcasecmp(s, values[i]) == 0)
			return i;
	}
	mp_error(cxt, NULL,
			 psprintf("Valid values are %s.", mp_word_list(values, "and")),
			 "invalid value \"%s\" for key \"%s\"", s, mp_path(path, key));
	return -1;					/* keep compiler quiet */
}

/*
 * An optional enumerated field as its stored spelling, or default_value.
 */
static char *
mp_get_enum_string(MigParseContext *cxt, JsonbContainer *obj,
				   const char *path, const char *key,
				   const char *const *values, const char *default_value)
{
	int			i = mp_get_enum(cxt, obj, path, key, values, false);

	if (i < 0)
		return default_value ? pstrdup(default_value) : NULL;
	return pstrdup(values[i]);
}

/*
 * An array of strings, as a List of char *.  With MP_IDENT each element is an
 * identifier; with MP_NOT_EMPTY the array must have an element.
 */
static List *
mp_get_string_list(MigParseContext *cxt, JsonbContainer *obj,
				   const char *path, const char *key, int flags)
{
	JsonbContainer *array;
	char	   *arraypath = mp_path(path, key);
	List	   *result = NIL;
	int			n;
	int			i;

	array = mp_get_container(cxt, obj, path, key, flags & MP_REQUIRED, true);
	if (array == NULL)
		return NIL;

	n = JsonContainerSize(array);
	if (n == 0 && (flags & MP_NOT_EMPTY))
		mp_error(cxt, NULL, NULL, "key \"%s\" must not be empty", arraypath);

	for (i = 0; i < n; i++)
	{
		JsonbValue *v = getIthJsonbValueFromContainer(array, i);
		char	   *s;

		if (v->type != jbvString)
			mp_error(cxt, NULL, NULL, "key \"%s[%d]\" must be a string, not %s",
					 arraypath, i, mp_type_name(v));
		s = pnstrdup(v->val.string.val, v->val.string.len);
		if (flags & MP_IDENT)
			mp_check_ident(cxt, psprintf("%s[%d]", arraypath, i), s);
		result = lappend(result, s);
	}
	return result;
}

/*
 * A column -> SQL map of the operation's body (MultiColumnUpSQL and
 * MultiColumnDownSQL), as a List of MigColumnSql *.  An empty SQL string is
 * stored as NULL: the entry exists but gives no expression.
 */
static List *
mp_get_column_sql_map(MigParseContext *cxt, JsonbContainer *obj,
					  const char *key, bool required)
{
	JsonbContainer *map;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	List	   *result = NIL;
	char	   *column = NULL;

	map = mp_get_container(cxt, obj, "", key, required, false);
	if (map == NULL)
		return NIL;

	it = JsonbIteratorInit(map);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			column = pnstrdup(v.val.string.val, v.val.string.len);
			mp_check_ident(cxt, psprintf("%s.%s", key, column), column);
		}
		else if (tok == WJB_VALUE)
		{
			MigColumnSql *entry = palloc0(sizeof(MigColumnSql));

			if (v.type != jbvString)
				mp_error(cxt, NULL, NULL,
						 "key \"%s.%s\" must be a string, not %s",
						 key, column, mp_type_name(&v));
			entry->column = column;
			if (v.val.string.len > 0)
				entry->sql = pnstrdup(v.val.string.val, v.val.string.len);
			result = lappend(result, entry);
		}
	}
	return result;
}

/*
 * Apply mp_constraint_rules to a constraint of the given type, given being
 * the MP_CON_* bits of the fields it has.
 */
static void
mp_check_constraint_fields(MigParseContext *cxt, const char *path,
						   MigConstraintType type, int given)
{
	const MigConstraintRule *rule = &mp_constraint_rules[type];
	char	   *reason = psprintf("for a constraint of type \"%s\"",
								  mp_constraint_types[type]);
	int			i;

	for (i = 0; mp_constraint_fields[i] != NULL; i++)
	{
		int			bit = 1 << i;

		mp_require(cxt, path, mp_constraint_fields[i],
				   (given & bit) || !(rule->required & bit), reason);
		mp_forbid(cxt, path, mp_constraint_fields[i],
				  (given & bit) && (rule->forbidden & bit), reason);
	}
}

static bool
mp_string_in_list(List *list, const char *s)
{
	ListCell   *lc;

	foreach(lc, list)
	{
		if (strcmp((char *) lfirst(lc), s) == 0)
			return true;
	}
	return false;
}

static bool
mp_map_has_column(List *map, const char *column)
{
	ListCell   *lc;

	foreach(lc, map)
	{
		if (strcmp(((MigColumnSql *) lfirst(lc))->column, column) == 0)
			return true;
	}
	return false;
}


/* ----------------------------------------------------------------
 *		Shared definitions
 * ----------------------------------------------------------------
 */

/*
 * Column (create_table.columns[], add_column.column).
 */
static MigColumn *
mp_parse_column(MigParseContext *cxt, JsonbContainer *obj, const char *path)
{
	MigColumn  *col = palloc0(sizeof(MigColumn));
	JsonbContainer *sub;

	mp_check_keys(cxt, obj, path, mp_column_keys);

	col->name = mp_get_ident(cxt, obj, path, "name");
	col->type = mp_get_string(cxt, obj, path, "type",
							  MP_TYPE | MP_REQUIRED | MP_NOT_EMPTY, NULL);
	col->nullable = mp_get_bool(cxt, obj, path, "nullable", NULL);
	col->pk = mp_get_bool(cxt, obj, path, "pk", NULL);
	col->unique = mp_get_bool(cxt, obj, path, "unique", NULL);
	col->default_expr = mp_get_string(cxt, obj, path, "default",
									  MP_EXPR | MP_NOT_EMPTY, NULL);
	col->comment = mp_get_string(cxt, obj, path, "comment", 0, NULL);

	sub = mp_get_container(cxt, obj, path, "check", false, false);
	if (sub != NULL)
		col->check = mp_parse_check(cxt, sub, mp_path(path, "check"));

	sub = mp_get_container(cxt, obj, path, "references", false, false);
	if (sub != NULL)
		col->references = mp_parse_foreign_key(cxt, sub,
											   mp_path(path, "references"));

	sub = mp_get_container(cxt, obj, path, "generated", false, false);
	if (sub != NULL)
		mp_parse_generated(cxt, sub, mp_path(path, "generated"), col);

	return col;
}

/*
 * Column.generated: {"expression": ...} or {"identity": {...}}, not both.
 */
static void
mp_parse_generated(MigParseContext *cxt, JsonbContainer *obj,
				   const char *path, MigColumn *col)
{
	JsonbContainer *identity;

	mp_check_keys(cxt, obj, path, mp_generated_keys);

	col->generated_expression = mp_get_string(cxt, obj, path, "expression",
											  MP_EXPR | MP_EMPTY_IS_ABSENT, NULL);
	identity = mp_get_container(cxt, obj, path, "identity", false, false);

	if (col->generated_expression != NULL && identity != NULL)
		mp_error(cxt, NULL, NULL,
				 "key \"%s\" must have either \"expression\" or \"identity\", not both",
				 path);
	if (col->generated_expression == NULL && identity == NULL)
		mp_error(cxt, NULL, NULL,
				 "key \"%s\" must have \"expression\" or \"identity\"",
				 path);

	if (identity != NULL)
	{
		char	   *idpath = mp_path(path, "identity");

		mp_check_keys(cxt, identity, idpath, mp_identity_keys);
		col->is_identity = true;
		col->identity_sequence_options =
			mp_get_string(cxt, identity, idpath, "sequence_options",
						  MP_SEQ_OPTIONS | MP_EMPTY_IS_ABSENT, NULL);
		col->identity_user_specified_values =
			mp_get_enum_string(cxt, identity, idpath, "user_specified_values",
							   mp_identity_values, "ALWAYS");
	}
}

/*
 * CheckConstraint.
 */
static MigCheck *
mp_parse_check(MigParseContext *cxt, JsonbContainer *obj, const char *path)
{
	MigCheck   *check = palloc0(sizeof(MigCheck));

	mp_check_keys(cxt, obj, path, mp_check_keys_list);

	check->name = mp_get_ident(cxt, obj, path, "name");
	check->constraint = mp_get_string(cxt, obj, path, "constraint",
									  MP_EXPR | MP_REQUIRED | MP_NOT_EMPTY, NULL);
	check->no_inherit = mp_get_bool(cxt, obj, path, "no_inherit", NULL);
	return check;
}

/*
 * ForeignKeyReference (column level).
 */
static MigForeignKey *
mp_parse_foreign_key(MigParseContext *cxt, JsonbContainer *obj,
					 const char *path)
{
	MigForeignKey *fk = palloc0(sizeof(MigForeignKey));

	mp_check_keys(cxt, obj, path, mp_foreign_key_keys);

	fk->name = mp_get_ident(cxt, obj, path, "name");
	fk->table = mp_get_ident(cxt, obj, path, "table");
	fk->column = mp_get_ident(cxt, obj, path, "column");
	fk->match_type = mp_get_enum_string(cxt, obj, path, "match_type",
										mp_match_types, "SIMPLE");
	fk->on_delete = mp_get_enum_string(cxt, obj, path, "on_delete",
									   mp_fk_actions, "NO ACTION");
	fk->on_update = mp_get_enum_string(cxt, obj, path, "on_update",
									   mp_fk_actions, "NO ACTION");
	fk->deferrable = mp_get_bool(cxt, obj, path, "deferrable", NULL);
	fk->initially_deferred = mp_get_bool(cxt, obj, path,
										 "initially_deferred", NULL);
	return fk;
}

/*
 * TableForeignKeyReference.  fk_columns are the referencing columns, of which
 * on_delete_set_columns must be a subset.
 */
static MigTableForeignKey *
mp_parse_table_foreign_key(MigParseContext *cxt, JsonbContainer *obj,
						   const char *path, List *fk_columns)
{
	MigTableForeignKey *fk = palloc0(sizeof(MigTableForeignKey));
	char	   *setpath = mp_path(path, "on_delete_set_columns");
	ListCell   *lc;

	mp_check_keys(cxt, obj, path, mp_table_foreign_key_keys);

	fk->table = mp_get_ident(cxt, obj, path, "table");
	fk->columns = mp_get_string_list(cxt, obj, path, "columns",
									 MP_REQUIRED | MP_NOT_EMPTY | MP_IDENT);
	fk->match_type = mp_get_enum_string(cxt, obj, path, "match_type",
										mp_match_types, "SIMPLE");
	fk->on_delete = mp_get_enum_string(cxt, obj, path, "on_delete",
									   mp_fk_actions, "NO ACTION");
	fk->on_update = mp_get_enum_string(cxt, obj, path, "on_update",
									   mp_fk_actions, "NO ACTION");
	fk->on_delete_set_columns = mp_get_string_list(cxt, obj, path,
												   "on_delete_set_columns",
												   MP_IDENT);

	if (fk->on_delete_set_columns != NIL &&
		strcmp(fk->on_delete, "SET NULL") != 0 &&
		strcmp(fk->on_delete, "SET DEFAULT") != 0)
		mp_error(cxt, NULL, NULL,
				 "key \"%s\" is allowed only when \"on_delete\" is \"SET NULL\" or \"SET DEFAULT\"",
				 setpath);

	foreach(lc, fk->on_delete_set_columns)
	{
		char	   *column = (char *) lfirst(lc);

		if (!mp_string_in_list(fk_columns, column))
			mp_error(cxt,
					 "The columns to set must be among the foreign key's own columns.",
					 NULL,
					 "key \"%s\" names column \"%s\", which is not a column of the foreign key",
					 setpath, column);
	}
	return fk;
}

/*
 * Constraint (create_table.constraints[]), with the rules pgroll applies to
 * each constraint type.
 */
static MigConstraint *
mp_parse_constraint(MigParseContext *cxt, JsonbContainer *obj,
					const char *path)
{
	MigConstraint *con = palloc0(sizeof(MigConstraint));
	JsonbContainer *references;
	JsonbContainer *exclude;
	JsonbContainer *params;

	mp_check_keys(cxt, obj, path, mp_constraint_keys);

	con->name = mp_get_ident(cxt, obj, path, "name");
	con->type = (MigConstraintType) mp_get_enum(cxt, obj, path, "type",
												mp_constraint_types, true);
	con->columns = mp_get_string_list(cxt, obj, path, "columns", MP_IDENT);
	con->deferrable = mp_get_bool(cxt, obj, path, "deferrable", NULL);
	con->initially_deferred = mp_get_bool(cxt, obj, path,
										  "initially_deferred", NULL);
	con->nulls_not_distinct = mp_get_bool(cxt, obj, path,
										  "nulls_not_distinct", NULL);
	con->no_inherit = mp_get_bool(cxt, obj, path, "no_inherit", NULL);
	con->check = mp_get_string(cxt, obj, path, "check",
							   MP_EXPR | MP_EMPTY_IS_ABSENT, NULL);

	references = mp_get_container(cxt, obj, path, "references", false, false);
	if (references != NULL)
		con->references =
			mp_parse_table_foreign_key(cxt, references,
									   mp_path(path, "references"),
									   con->columns);

	exclude = mp_get_container(cxt, obj, path, "exclude", false, false);
	if (exclude != NULL)
	{
		char	   *expath = mp_path(path, "exclude");

		mp_check_keys(cxt, exclude, expath, mp_exclude_keys);
		con->exclude_index_method =
			mp_get_string(cxt, exclude, expath, "index_method",
						  MP_IDENT | MP_EMPTY_IS_ABSENT, NULL);
		con->exclude_elements =
			mp_get_string(cxt, exclude, expath, "elements",
						  MP_EXCLUDE | MP_REQUIRED | MP_NOT_EMPTY, NULL);
		con->exclude_predicate =
			mp_get_string(cxt, exclude, expath, "predicate",
						  MP_EXPR | MP_EMPTY_IS_ABSENT, NULL);
	}

	params = mp_get_container(cxt, obj, path, "index_parameters", false,
							  false);
	if (params != NULL)
		mp_parse_index_parameters(cxt, params,
								  mp_path(path, "index_parameters"),
								  &con->index_tablespace,
								  &con->index_storage_parameters,
								  &con->index_include_columns);

	mp_check_constraint_fields(cxt, path, con->type,
							   (con->columns != NIL ? MP_CON_COLUMNS : 0) |
							   (con->check ? MP_CON_CHECK : 0) |
							   (con->no_inherit ? MP_CON_NO_INHERIT : 0) |
							   (references ? MP_CON_REFERENCES : 0) |
							   (exclude ? MP_CON_EXCLUDE : 0) |
							   (params ? MP_CON_INDEX_PARAMETERS : 0) |
							   (con->deferrable ? MP_CON_DEFERRABLE : 0) |
							   (con->initially_deferred ?
								MP_CON_INITIALLY_DEFERRED : 0) |
							   (con->nulls_not_distinct ?
								MP_CON_NULLS_NOT_DISTINCT : 0));
	return con;
}

/*
 * index_parameters of a constraint: tablespace, storage_parameters,
 * include_columns.
 */
static void
mp_parse_index_parameters(MigParseContext *cxt, JsonbContainer *obj,
						  const char *path, char **tablespace,
						  char **storage_parameters, List **include_columns)
{
	mp_check_keys(cxt, obj, path, mp_index_parameters_keys);

	*tablespace = mp_get_string(cxt, obj, path, "tablespace",
								MP_EMPTY_IS_ABSENT | MP_IDENT, NULL);
	*storage_parameters = mp_get_string(cxt, obj, path, "storage_parameters",
										MP_STORAGE | MP_EMPTY_IS_ABSENT, NULL);
	*include_columns = mp_get_string_list(cxt, obj, path, "include_columns",
										  MP_IDENT);
}

/*
 * IndexField (create_index.columns[]).
 */
static MigIndexField *
mp_parse_index_field(MigParseContext *cxt, JsonbContainer *obj,
					 const char *path)
{
	MigIndexField *field = palloc0(sizeof(MigIndexField));
	JsonbContainer *opclass;

	mp_check_keys(cxt, obj, path, mp_index_field_keys);

	field->column = mp_get_ident(cxt, obj, path, "column");
	field->collate = mp_get_string(cxt, obj, path, "collate",
								   MP_EMPTY_IS_ABSENT, NULL);
	field->sort = mp_get_enum_string(cxt, obj, path, "sort",
									 mp_sort_orders, NULL);
	field->nulls = mp_get_enum_string(cxt, obj, path, "nulls",
									  mp_nulls_orders, NULL);

	opclass = mp_get_container(cxt, obj, path, "opclass", false, false);
	if (opclass != NULL)
	{
		char	   *oppath = mp_path(path, "opclass");

		mp_check_keys(cxt, opclass, oppath, mp_opclass_keys);
		field->opclass_name = mp_get_string(cxt, opclass, oppath, "name",
											MP_REQUIRED | MP_NOT_EMPTY, NULL);
		field->opclass_params = mp_get_string_list(cxt, opclass, oppath,
												   "params", 0);
	}
	return field;
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
	op->check_expr = mp_get_string(cxt, body, "", "check",
								   MP_EXPR | MP_EMPTY_IS_ABSENT, NULL);
	op->no_inherit = mp_get_bool(cxt, body, "", "no_inherit", NULL);

	params = mp_get_container(cxt, body, "", "index_parameters", false, false);
	if (params != NULL)
		mp_parse_index_parameters(cxt, params, "index_parameters",
								  &op->index_tablespace,
								  &op->index_storage_parameters,
								  &op->index_include_columns);

	references = mp_get_container(cxt, body, "", "references", false, false);
	if (references != NULL)
		op->table_references =
			mp_parse_table_foreign_key(cxt, references, "references",
									   op->constraint_columns);

	op->up_map = mp_get_column_sql_map(cxt, body, "up",
									   op->constraint_columns != NIL);
	op->down_map = mp_get_column_sql_map(cxt, body, "down",
										 op->constraint_columns != NIL);

	mp_check_constraint_fields(cxt, "", op->constraint_type,
							   (op->constraint_columns != NIL ?
								MP_CON_COLUMNS : 0) |
							   (op->check_expr ? MP_CON_CHECK : 0) |
							   (op->no_inherit ? MP_CON_NO_INHERIT : 0) |
							   (references ? MP_CON_REFERENCES : 0) |
							   (params ? MP_CON_INDEX_PARAMETERS : 0));

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
		if (strcmp(kind, mp_op_kinds[k].name) == 0)
			break;
	}
	if (k == MIG_NUM_OP_KINDS)
	{
		for (k = 0; k < MIG_NUM_OP_KINDS; k++)
			kinds[k] = mp_op_kinds[k].name;
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
