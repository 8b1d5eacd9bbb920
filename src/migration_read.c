/*-------------------------------------------------------------------------
 *
 * migration_read.c
 *		The typed readers of a migration document's fields, with their
 *		checks and error messages, and the lists of keys and values the
 *		document may hold.  See migration_parse.c for the shape of the errors.
 *
 *	IDENTIFICATION
 *		src/migration_read.c
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

/* the operation kinds' names, by MigOpKind */
const char *const mp_op_kind_names[MIG_NUM_OP_KINDS] =
{
	[MIG_OP_CREATE_TABLE] = "create_table",
	[MIG_OP_RENAME_TABLE] = "rename_table",
	[MIG_OP_DROP_TABLE] = "drop_table",
	[MIG_OP_ADD_COLUMN] = "add_column",
	[MIG_OP_DROP_COLUMN] = "drop_column",
	[MIG_OP_ALTER_COLUMN] = "alter_column",
	[MIG_OP_RENAME_COLUMN] = "rename_column",
	[MIG_OP_CREATE_INDEX] = "create_index",
	[MIG_OP_DROP_INDEX] = "drop_index",
	[MIG_OP_CREATE_CONSTRAINT] = "create_constraint",
	[MIG_OP_DROP_CONSTRAINT] = "drop_constraint",
	[MIG_OP_DROP_MULTICOLUMN_CONSTRAINT] = "drop_multicolumn_constraint",
	[MIG_OP_RENAME_CONSTRAINT] = "rename_constraint",
	[MIG_OP_SET_REPLICA_IDENTITY] = "set_replica_identity",
	[MIG_OP_SQL] = "sql",
};

/*
 * The keys each object may contain, NULL-terminated.
 */
const char *const mp_migration_keys[] =
{"operations", "version_schema", NULL};
const char *const mp_column_keys[] =
{"name", "type", "nullable", "pk", "unique", "default", "comment", "check",
"references", "generated", NULL};
const char *const mp_generated_keys[] =
{"expression", "identity", NULL};
const char *const mp_identity_keys[] =
{"sequence_options", "user_specified_values", NULL};
const char *const mp_check_keys_list[] =
{"name", "constraint", "no_inherit", NULL};
const char *const mp_foreign_key_keys[] =
{"name", "table", "column", "match_type", "on_delete", "on_update",
"deferrable", "initially_deferred", NULL};
const char *const mp_table_foreign_key_keys[] =
{"table", "columns", "match_type", "on_delete", "on_update",
"on_delete_set_columns", NULL};
const char *const mp_constraint_keys[] =
{"name", "type", "columns", "deferrable", "initially_deferred",
"nulls_not_distinct", "no_inherit", "check", "references", "exclude",
"index_parameters", NULL};
const char *const mp_exclude_keys[] =
{"index_method", "elements", "predicate", NULL};
const char *const mp_index_parameters_keys[] =
{"tablespace", "storage_parameters", "include_columns", NULL};
const char *const mp_index_field_keys[] =
{"column", "collate", "sort", "nulls", "opclass", NULL};
const char *const mp_opclass_keys[] =
{"name", "params", NULL};
const char *const mp_unique_keys[] =
{"name", NULL};
const char *const mp_replica_identity_keys[] =
{"type", "index", NULL};

const char *const mp_create_table_keys[] =
{"name", "columns", "comment", "constraints", NULL};
const char *const mp_rename_keys[] =
{"from", "to", NULL};
const char *const mp_name_keys[] =
{"name", NULL};
const char *const mp_add_column_keys[] =
{"table", "column", "up", NULL};
const char *const mp_drop_column_keys[] =
{"table", "column", "down", NULL};
const char *const mp_alter_column_keys[] =
{"table", "column", "type", "check", "references", "nullable", "unique",
"default", "comment", "up", "down", NULL};
const char *const mp_table_rename_keys[] =
{"table", "from", "to", NULL};
const char *const mp_create_index_keys[] =
{"name", "table", "columns", "method", "unique", "predicate",
"storage_parameters", NULL};
const char *const mp_create_constraint_keys[] =
{"table", "name", "type", "columns", "check", "no_inherit",
"index_parameters", "references", "up", "down", NULL};
const char *const mp_drop_constraint_keys[] =
{"table", "name", "up", "down", NULL};
const char *const mp_set_replica_identity_keys[] =
{"table", "identity", NULL};
const char *const mp_sql_keys[] =
{"up", "down", "onComplete", NULL};

/*
 * The values of enumerated fields, in their stored spelling.  Input is
 * matched case-insensitively.  The constraint type lists follow the order of
 * MigConstraintType.
 */
const char *const mp_fk_actions[] =
{"NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT", NULL};
const char *const mp_match_types[] =
{"SIMPLE", "FULL", "PARTIAL", NULL};
const char *const mp_index_methods[] =
{"btree", "hash", "gist", "spgist", "gin", "brin", NULL};
const char *const mp_sort_orders[] =
{"ASC", "DESC", NULL};
const char *const mp_nulls_orders[] =
{"FIRST", "LAST", NULL};
const char *const mp_constraint_types[] =
{"unique", "check", "primary_key", "foreign_key", "exclude", NULL};
const char *const mp_create_constraint_types[] =
{"unique", "check", "primary_key", "foreign_key", NULL};
const char *const mp_replica_identities[] =
{"FULL", "DEFAULT", "NOTHING", "INDEX", NULL};
const char *const mp_identity_values[] =
{"ALWAYS", "BY DEFAULT", NULL};

/*
 * Which constraint type needs or refuses which field (pgroll.md 1.3; the
 * create_constraint operation has a subset of these fields).
 */
const char *const mp_constraint_fields[] =
{"columns", "check", "no_inherit", "references", "exclude",
"index_parameters", "deferrable", "initially_deferred", "nulls_not_distinct",
NULL};
const MigConstraintRule mp_constraint_rules[] =
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
const char *const mp_serial_types[] =
{"smallserial", "serial", "bigserial", "serial2", "serial4", "serial8", NULL};

/* the sub-changes of alter_column, for the "no change" hint */
const char *const mp_alter_column_changes[] =
{"type", "check", "references", "nullable", "unique", "default", "comment",
NULL};

/* ----------------------------------------------------------------
 *		Generic helpers: errors, paths, field access
 * ----------------------------------------------------------------
 */

/*
 * The start of every error message: the migration and, inside an operation,
 * its index and kind.
 */
char *
mp_prefix(MigParseContext *cxt)
{
	if (cxt->index < 0)
		return psprintf("invalid migration \"%s\"", cxt->name);
	return psprintf("invalid migration \"%s\": operations[%d] (%s)",
					cxt->name, cxt->index, MigOpKindName(cxt->kind));
}

/*
 * Raise the error for an invalid document.  detail and hint are complete
 * sentences, or NULL.
 */
void
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
char *
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
char *
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
const char *
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
void
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
void
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
void
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
void
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
char *
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
bool
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
char *
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
char *
mp_get_ident(MigParseContext *cxt, JsonbContainer *obj, const char *path,
			 const char *key)
{
	return mp_get_string(cxt, obj, path, key, MP_REQUIRED | MP_IDENT, NULL);
}

/*
 * A boolean field; absent means false.
 */
bool
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
JsonbContainer *
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
JsonbContainer *
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
int
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
char *
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
List *
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
List *
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
void
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

bool
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

bool
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

/*
 * "add_column" etc.
 */
const char *
MigOpKindName(MigOpKind kind)
{
	if ((int) kind < 0 || kind >= MIG_NUM_OP_KINDS)
		elog(ERROR, "unrecognized migration operation kind: %d", (int) kind);
	return mp_op_kind_names[kind];
}
