/*-------------------------------------------------------------------------
 *
 * model.c
 *		Read a base schema's tables from the catalogs into a MigModel, and
 *		look things up in it.
 *
 *		Objects whose names start with "_mig_" are the extension's own
 *		(shadow columns, soft-dropped tables) and are never part of a
 *		version.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "model.h"
#include "names.h"
#include "state.h"

static void model_load_columns(MigModelTable *table);
static void model_order_as_version(MigModelTable *table, Oid version_nsp);

/*
 * Read the ordinary and partitioned tables of a schema.  Raises an error if
 * the schema does not exist.
 */
MigModel *
MigModelLoad(const char *schema)
{
	MigModel   *model = palloc0(sizeof(MigModel));
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	List	   *relids = NIL;
	ListCell   *lc;
	char	   *latest;

	model->schema = pstrdup(schema);
	model->schema_oid = get_namespace_oid(schema, true);
	if (!OidIsValid(model->schema_oid))
		ereport(ERROR,
				errcode(ERRCODE_INVALID_SCHEMA_NAME),
				errmsg("schema \"%s\" does not exist", schema));

	rel = table_open(RelationRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_class_relnamespace, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(model->schema_oid));
	scan = systable_beginscan(rel, ClassNameNspIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_class form = (Form_pg_class) GETSTRUCT(tup);

		if (form->relkind != RELKIND_RELATION &&
			form->relkind != RELKIND_PARTITIONED_TABLE)
			continue;
		if (MigIsInternalName(NameStr(form->relname)))
			continue;
		relids = lappend_oid(relids, form->oid);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);

		MigModelAddTable(model, relid, get_rel_name(relid));
	}

	/*
	 * A version shows its columns in the order of the version before it,
	 * not in the table's physical order (complete leaves a changed column at
	 * the end of the table).
	 */
	latest = MigStateLatestVersion(schema);
	if (strcmp(latest, schema) != 0)
	{
		Oid			version_nsp = get_namespace_oid(latest, true);

		if (OidIsValid(version_nsp))
			foreach(lc, model->tables)
				model_order_as_version(lfirst(lc), version_nsp);
	}
	return model;
}

/*
 * Order a table's columns as the view of the same name in a version schema
 * has them; columns the view does not have follow, in their own order.
 */
static void
model_order_as_version(MigModelTable *table, Oid version_nsp)
{
	Oid			viewid = get_relname_relid(table->name, version_nsp);
	List	   *ordered = NIL;
	ListCell   *lc;
	HeapTuple	tup;
	AttrNumber	attnum;
	int			natts;

	if (!OidIsValid(viewid) || get_rel_relkind(viewid) != RELKIND_VIEW)
		return;
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(viewid));
	if (!HeapTupleIsValid(tup))
		return;
	natts = ((Form_pg_class) GETSTRUCT(tup))->relnatts;
	ReleaseSysCache(tup);
	for (attnum = 1; attnum <= natts; attnum++)
	{
		char	   *name = get_attname(viewid, attnum, true);

		if (name == NULL)
			continue;
		foreach(lc, table->columns)
		{
			MigModelColumn *col = lfirst(lc);

			if (strcmp(col->name, name) == 0 && !list_member_ptr(ordered, col))
			{
				ordered = lappend(ordered, col);
				break;
			}
		}
	}
	foreach(lc, table->columns)
	{
		if (!list_member_ptr(ordered, lfirst(lc)))
			ordered = lappend(ordered, lfirst(lc));
	}
	table->columns = ordered;
}

/* Add a physical table to the model, with its current columns. */
MigModelTable *
MigModelAddTable(MigModel *model, Oid relid, const char *name)
{
	MigModelTable *table = palloc0(sizeof(MigModelTable));

	table->relid = relid;
	table->name = pstrdup(name);
	model_load_columns(table);
	model->tables = lappend(model->tables, table);
	return table;
}

static void
model_load_columns(MigModelTable *table)
{
	HeapTuple	tup;
	int			natts;
	AttrNumber	attnum;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(table->relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", table->relid);
	natts = ((Form_pg_class) GETSTRUCT(tup))->relnatts;
	ReleaseSysCache(tup);

	for (attnum = 1; attnum <= natts; attnum++)
	{
		HeapTuple	atup;
		Form_pg_attribute att;

		atup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(table->relid),
							   Int16GetDatum(attnum));
		if (!HeapTupleIsValid(atup))
			continue;
		att = (Form_pg_attribute) GETSTRUCT(atup);
		if (!att->attisdropped && !MigIsInternalName(NameStr(att->attname)))
			MigModelAddColumn(table, attnum, NameStr(att->attname));
		ReleaseSysCache(atup);
	}
}

/*
 * Add a column to a table of the model: before the first column with a
 * higher attnum (a new column, whose attnum is the table's highest, goes
 * last).
 */
MigModelColumn *
MigModelAddColumn(MigModelTable *table, AttrNumber attnum, const char *name)
{
	MigModelColumn *col = palloc0(sizeof(MigModelColumn));
	ListCell   *lc;
	int			pos = 0;

	col->name = pstrdup(name);
	col->attnum = attnum;
	foreach(lc, table->columns)
	{
		if (((MigModelColumn *) lfirst(lc))->attnum > attnum)
			break;
		pos++;
	}
	table->columns = list_insert_nth(table->columns, pos, col);
	return col;
}

MigModelTable *
MigModelFindTable(MigModel *model, const char *name)
{
	ListCell   *lc;

	foreach(lc, model->tables)
	{
		MigModelTable *table = lfirst(lc);

		if (!table->hidden && strcmp(table->name, name) == 0)
			return table;
	}
	return NULL;
}

MigModelColumn *
MigModelFindColumn(MigModelTable *table, const char *name)
{
	ListCell   *lc;

	foreach(lc, table->columns)
	{
		MigModelColumn *col = lfirst(lc);

		if (!col->hidden && strcmp(col->name, name) == 0)
			return col;
	}
	return NULL;
}

MigModelTable *
MigModelGetTable(MigModel *model, const char *name)
{
	MigModelTable *table = MigModelFindTable(model, name);

	if (table == NULL)
		ereport(ERROR,
				errcode(ERRCODE_UNDEFINED_TABLE),
				errmsg("table \"%s\" does not exist in schema \"%s\"",
					   name, model->schema));
	return table;
}

MigModelColumn *
MigModelGetColumn(MigModelTable *table, const char *name)
{
	MigModelColumn *col = MigModelFindColumn(table, name);

	if (col == NULL)
		ereport(ERROR,
				errcode(ERRCODE_UNDEFINED_COLUMN),
				errmsg("column \"%s\" of table \"%s\" does not exist",
					   name, table->name));
	return col;
}

/* Add a column to a table of the model right after another one. */
MigModelColumn *
MigModelAddColumnAfter(MigModelTable *table, MigModelColumn *after,
					   AttrNumber attnum, const char *name)
{
	MigModelColumn *col = palloc0(sizeof(MigModelColumn));
	ListCell   *lc;
	int			pos = 0;

	col->name = pstrdup(name);
	col->attnum = attnum;
	foreach(lc, table->columns)
	{
		pos++;
		if (lfirst(lc) == after)
			break;
	}
	table->columns = list_insert_nth(table->columns, pos, col);
	return col;
}
