/*-------------------------------------------------------------------------
 *
 * migration_read.h
 *		Inside the migration parser (migration*.c): where we are in the
 *		document, the typed readers of its fields (migration_read.c), the
 *		parts several operations share (migration_parts.c), and the lists of
 *		keys and values the document may hold.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_MIGRATION_READ_H
#define MIG_MIGRATION_READ_H

#include "utils/jsonb.h"

#include "compat.h"
#include "migration.h"

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

/* the keys each object may contain, and the values of enumerated fields */
extern const char *const mp_op_kind_names[];
extern const char *const mp_migration_keys[];
extern const char *const mp_column_keys[];
extern const char *const mp_generated_keys[];
extern const char *const mp_identity_keys[];
extern const char *const mp_check_keys_list[];
extern const char *const mp_foreign_key_keys[];
extern const char *const mp_table_foreign_key_keys[];
extern const char *const mp_constraint_keys[];
extern const char *const mp_exclude_keys[];
extern const char *const mp_index_parameters_keys[];
extern const char *const mp_index_field_keys[];
extern const char *const mp_opclass_keys[];
extern const char *const mp_unique_keys[];
extern const char *const mp_replica_identity_keys[];
extern const char *const mp_create_table_keys[];
extern const char *const mp_rename_keys[];
extern const char *const mp_name_keys[];
extern const char *const mp_add_column_keys[];
extern const char *const mp_drop_column_keys[];
extern const char *const mp_alter_column_keys[];
extern const char *const mp_table_rename_keys[];
extern const char *const mp_create_index_keys[];
extern const char *const mp_create_constraint_keys[];
extern const char *const mp_drop_constraint_keys[];
extern const char *const mp_set_replica_identity_keys[];
extern const char *const mp_sql_keys[];
extern const char *const mp_fk_actions[];
extern const char *const mp_match_types[];
extern const char *const mp_index_methods[];
extern const char *const mp_sort_orders[];
extern const char *const mp_nulls_orders[];
extern const char *const mp_constraint_types[];
extern const char *const mp_create_constraint_types[];
extern const char *const mp_replica_identities[];
extern const char *const mp_identity_values[];
extern const char *const mp_constraint_fields[];
extern const MigConstraintRule mp_constraint_rules[];
extern const char *const mp_serial_types[];
extern const char *const mp_alter_column_changes[];

extern char *mp_prefix(MigParseContext *cxt);
extern char *mp_check_sql(MigParseContext *cxt, const char *path, char *s,
						  int flags);
MIG_NORETURN extern void mp_error(MigParseContext *cxt, const char *detail,
								  const char *hint, const char *fmt,...)
			pg_attribute_printf(4, 5);
extern char *mp_path(const char *path, const char *key);
extern char *mp_word_list(const char *const *words, const char *conj);
extern const char *mp_type_name(JsonbValue *v);
extern void mp_check_keys(MigParseContext *cxt, JsonbContainer *obj,
						  const char *path, const char *const *allowed);
extern void mp_check_ident(MigParseContext *cxt, const char *path,
						   const char *ident);
extern void mp_require(MigParseContext *cxt, const char *path,
					   const char *key, bool given, const char *reason);
extern void mp_forbid(MigParseContext *cxt, const char *path,
					  const char *key, bool given, const char *reason);
extern bool mp_get_value(MigParseContext *cxt, JsonbContainer *obj,
						 const char *path, const char *key, bool required,
						 JsonbValue *val);
extern char *mp_get_string(MigParseContext *cxt, JsonbContainer *obj,
						   const char *path, const char *key, int flags,
						   bool *present);
extern char *mp_get_ident(MigParseContext *cxt, JsonbContainer *obj,
						  const char *path, const char *key);
extern bool mp_get_bool(MigParseContext *cxt, JsonbContainer *obj,
						const char *path, const char *key, bool *present);
extern JsonbContainer *mp_get_container(MigParseContext *cxt,
										JsonbContainer *obj, const char *path,
										const char *key, bool required,
										bool array);
extern JsonbContainer *mp_get_element_object(MigParseContext *cxt,
											 JsonbContainer *array,
											 const char *path, int i);
extern int	mp_get_enum(MigParseContext *cxt, JsonbContainer *obj,
						const char *path, const char *key,
						const char *const *values, bool required);
extern char *mp_get_enum_string(MigParseContext *cxt, JsonbContainer *obj,
								const char *path, const char *key,
								const char *const *values,
								const char *default_value);
extern List *mp_get_string_list(MigParseContext *cxt, JsonbContainer *obj,
								const char *path, const char *key, int flags);
extern List *mp_get_column_sql_map(MigParseContext *cxt, JsonbContainer *obj,
								   const char *key, bool required);
extern void mp_check_constraint_fields(MigParseContext *cxt,
									   const char *path,
									   MigConstraintType type, int given);
extern bool mp_string_in_list(List *list, const char *s);
extern bool mp_map_has_column(List *map, const char *column);
extern MigColumn *mp_parse_column(MigParseContext *cxt, JsonbContainer *obj,
								  const char *path);
extern void mp_parse_generated(MigParseContext *cxt, JsonbContainer *obj,
							   const char *path, MigColumn *col);
extern MigCheck *mp_parse_check(MigParseContext *cxt, JsonbContainer *obj,
								const char *path);
extern MigForeignKey *mp_parse_foreign_key(MigParseContext *cxt,
										   JsonbContainer *obj,
										   const char *path);
extern MigTableForeignKey *mp_parse_table_foreign_key(MigParseContext *cxt,
													  JsonbContainer *obj,
													  const char *path,
													  List *fk_columns);
extern MigConstraint *mp_parse_constraint(MigParseContext *cxt,
										  JsonbContainer *obj,
										  const char *path);
extern void mp_parse_index_parameters(MigParseContext *cxt,
									  JsonbContainer *obj, const char *path,
									  char **tablespace,
									  char **storage_parameters,
									  List **include_columns);
extern MigIndexField *mp_parse_index_field(MigParseContext *cxt,
										   JsonbContainer *obj,
										   const char *path);

#endif							/* MIG_MIGRATION_READ_H */
