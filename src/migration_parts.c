/*-------------------------------------------------------------------------
 *
 * migration_parts.c
 *		The parts of a migration document several operations share: a
 *		column, its generated clause, a check, a foreign key, a constraint,
 *		index parameters and an index field.
 *
 *	IDENTIFICATION
 *		src/migration_parts.c
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

/* ----------------------------------------------------------------
 *		Shared definitions
 * ----------------------------------------------------------------
 */

/*
 * Column (create_table.columns[], add_column.column).
 */
MigColumn *
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
void
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
MigCheck *
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
MigForeignKey *
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
MigTableForeignKey *
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
MigConstraint *
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
	/* the keys the type allows are checked before what is in them */
	con->check = mp_get_string(cxt, obj, path, "check", MP_EMPTY_IS_ABSENT,
							   NULL);
	references = mp_get_container(cxt, obj, path, "references", false, false);
	exclude = mp_get_container(cxt, obj, path, "exclude", false, false);
	params = mp_get_container(cxt, obj, path, "index_parameters", false,
							  false);
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

	if (con->check != NULL)
		con->check = mp_get_string(cxt, obj, path, "check",
								   MP_EXPR | MP_EMPTY_IS_ABSENT, NULL);
	if (references != NULL)
		con->references =
			mp_parse_table_foreign_key(cxt, references,
									   mp_path(path, "references"),
									   con->columns);
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
	if (params != NULL)
		mp_parse_index_parameters(cxt, params,
								  mp_path(path, "index_parameters"),
								  &con->index_tablespace,
								  &con->index_storage_parameters,
								  &con->index_include_columns);
	return con;
}

/*
 * index_parameters of a constraint: tablespace, storage_parameters,
 * include_columns.
 */
void
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
MigIndexField *
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
