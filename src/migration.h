/*-------------------------------------------------------------------------
 *
 * migration.h
 *		A migration document (pgroll's format) parsed into C structs: by
 *		migration_parse.c (the document and its operations), with
 *		migration_read.c (typed readers) and migration_parts.c (shared parts).
 *
 *		MigParseMigration turns the jsonb a user passes to mig.start into a
 *		MigMigration.  Parsing is pure: it reads no catalog, and every rule
 *		that can be checked without the database (keys, types, required
 *		fields, identifier lengths, combinations of fields) is checked here,
 *		so that an invalid document fails before anything changes.  Rules
 *		that need the database (does the table exist?) belong to the
 *		operations' planning code.
 *
 *		Strings are palloc'd in the caller's memory context.  Optional
 *		string fields that are absent are NULL.  Lists are pg_list Lists.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_MIGRATION_H
#define MIG_MIGRATION_H

#include "nodes/pg_list.h"
#include "utils/jsonb.h"

typedef enum MigOpKind
{
	MIG_OP_CREATE_TABLE,
	MIG_OP_RENAME_TABLE,
	MIG_OP_DROP_TABLE,
	MIG_OP_ADD_COLUMN,
	MIG_OP_DROP_COLUMN,
	MIG_OP_ALTER_COLUMN,
	MIG_OP_RENAME_COLUMN,
	MIG_OP_CREATE_INDEX,
	MIG_OP_DROP_INDEX,
	MIG_OP_CREATE_CONSTRAINT,
	MIG_OP_DROP_CONSTRAINT,
	MIG_OP_DROP_MULTICOLUMN_CONSTRAINT,
	MIG_OP_RENAME_CONSTRAINT,
	MIG_OP_SET_REPLICA_IDENTITY,
	MIG_OP_SQL
} MigOpKind;

#define MIG_NUM_OP_KINDS (MIG_OP_SQL + 1)

/* CheckConstraint */
typedef struct MigCheck
{
	char	   *name;			/* required */
	char	   *constraint;		/* required: SQL boolean expression */
	bool		no_inherit;
} MigCheck;

/*
 * ForeignKeyReference (column level).  match_type, on_delete and on_update
 * are upper-cased and validated; they default to "SIMPLE", "NO ACTION" and
 * "NO ACTION".
 */
typedef struct MigForeignKey
{
	char	   *name;			/* required */
	char	   *table;			/* required */
	char	   *column;			/* required */
	char	   *match_type;
	char	   *on_delete;
	char	   *on_update;
	bool		deferrable;
	bool		initially_deferred;
} MigForeignKey;

/* Column */
typedef struct MigColumn
{
	char	   *name;			/* required, at most NAMEDATALEN - 1 bytes */
	char	   *type;			/* required: SQL type text */
	bool		nullable;		/* default false */
	bool		pk;
	bool		unique;
	char	   *default_expr;	/* SQL expression or NULL */
	char	   *comment;
	MigCheck   *check;
	MigForeignKey *references;
	/* generated: at most one of the two forms */
	char	   *generated_expression;	/* GENERATED ALWAYS AS (expr) STORED */
	bool		is_identity;	/* GENERATED ... AS IDENTITY */
	char	   *identity_sequence_options;	/* or NULL */
	char	   *identity_user_specified_values; /* "ALWAYS" or "BY DEFAULT" */
} MigColumn;

/* TableForeignKeyReference (create_table constraints, create_constraint) */
typedef struct MigTableForeignKey
{
	char	   *table;			/* required */
	List	   *columns;		/* required: List of char * */
	char	   *match_type;		/* as in MigForeignKey */
	char	   *on_delete;
	char	   *on_update;
	List	   *on_delete_set_columns;	/* List of char *, or NIL */
} MigTableForeignKey;

typedef enum MigConstraintType
{
	MIG_CONSTRAINT_UNIQUE,
	MIG_CONSTRAINT_CHECK,
	MIG_CONSTRAINT_PRIMARY_KEY,
	MIG_CONSTRAINT_FOREIGN_KEY,
	MIG_CONSTRAINT_EXCLUDE
} MigConstraintType;

/* Constraint (create_table.constraints[]) */
typedef struct MigConstraint
{
	char	   *name;			/* required */
	MigConstraintType type;		/* required */
	List	   *columns;		/* List of char * */
	bool		deferrable;
	bool		initially_deferred;
	bool		nulls_not_distinct;
	bool		no_inherit;
	char	   *check;			/* check: required */
	MigTableForeignKey *references; /* foreign_key: required */
	/* exclude: */
	char	   *exclude_index_method;
	char	   *exclude_elements;
	char	   *exclude_predicate;
	/* index_parameters: */
	char	   *index_tablespace;
	char	   *index_storage_parameters;
	List	   *index_include_columns;	/* List of char * */
} MigConstraint;

/* IndexField (create_index.columns[]) */
typedef struct MigIndexField
{
	char	   *column;			/* required */
	char	   *collate;
	char	   *sort;			/* "ASC", "DESC" or NULL */
	char	   *nulls;			/* "FIRST", "LAST" or NULL */
	char	   *opclass_name;	/* or NULL */
	List	   *opclass_params; /* List of char * */
} MigIndexField;

/* one entry of a column -> SQL map (MultiColumnUpSQL / MultiColumnDownSQL) */
typedef struct MigColumnSql
{
	char	   *column;
	char	   *sql;
} MigColumnSql;

/*
 * One operation.  Which fields are meaningful depends on kind; the comment
 * on each field lists the kinds that use it.  Everything not used by the
 * kind is NULL / NIL / false.
 */
typedef struct MigOperation
{
	MigOpKind	kind;
	int			index;			/* position in "operations", from 0 */

	/*
	 * add_column, drop_column, alter_column, rename_column, create_index,
	 * create_constraint, drop_constraint, drop_multicolumn_constraint,
	 * rename_constraint, set_replica_identity
	 */
	char	   *table;

	/*
	 * create_table, drop_table (table); create_index, drop_index (index);
	 * create_constraint, drop_constraint, drop_multicolumn_constraint
	 * (constraint)
	 */
	char	   *name;

	/* rename_table, rename_column, rename_constraint */
	char	   *from;
	char	   *to;

	/* drop_column, alter_column */
	char	   *column;

	/* add_column */
	MigColumn  *column_def;

	/* create_table */
	List	   *table_columns;	/* List of MigColumn * */
	List	   *constraints;	/* List of MigConstraint * */

	/* create_table (table comment) */
	char	   *comment;

	/*
	 * add_column, alter_column, drop_constraint, sql: "up" (NULL if absent
	 * or empty); drop_column, alter_column, drop_constraint, sql: "down".
	 */
	char	   *up;
	char	   *down;

	/* create_constraint, drop_multicolumn_constraint */
	List	   *up_map;			/* List of MigColumnSql * */
	List	   *down_map;		/* List of MigColumnSql * */

	/* alter_column */
	char	   *type;
	MigCheck   *check;
	MigForeignKey *references;
	bool		has_nullable;
	bool		nullable;
	char	   *unique_name;	/* "unique": {"name": ...}, or NULL */
	bool		has_default;	/* "default" present; default_expr NULL */
	char	   *default_expr;	/* means "drop the default" */
	bool		has_comment;	/* "comment" present; comment (above) NULL */
	/* means "remove the comment" */

	/* create_index */
	List	   *index_fields;	/* List of MigIndexField * */
	char	   *method;			/* lower case; default "btree" */
	bool		unique;
	char	   *predicate;
	char	   *storage_parameters;

	/* create_constraint */
	MigConstraintType constraint_type;
	List	   *constraint_columns; /* List of char * */
	char	   *check_expr;
	bool		no_inherit;
	char	   *index_tablespace;
	char	   *index_storage_parameters;
	List	   *index_include_columns;
	MigTableForeignKey *table_references;

	/* set_replica_identity */
	char	   *identity_type;	/* upper case: FULL, DEFAULT, NOTHING, INDEX */
	char	   *identity_index;

	/* sql */
	bool		on_complete;
} MigOperation;

typedef struct MigMigration
{
	char	   *name;			/* the migration's name (not in the document) */
	char	   *version_schema; /* "version_schema", or NULL */
	List	   *operations;		/* List of MigOperation * */
} MigMigration;

/*
 * Parse and validate a migration document.  Raises ERROR (SQLSTATE 22023
 * unless a more specific code applies) on the first problem, with a message
 * that names the operation's index, its kind and the offending key.
 */
extern MigMigration *MigParseMigration(const char *name, Jsonb *doc);

/* "add_column" etc. */
extern const char *MigOpKindName(MigOpKind kind);

#endif							/* MIG_MIGRATION_H */
