/*-------------------------------------------------------------------------
 *
 * model.h
 *		The schema a migration works on: the tables of one base schema as
 *		the new version will see them.
 *
 *		The model is read from the catalogs when a migration starts and then
 *		changed by each operation in turn (a rename changes a virtual name, a
 *		drop hides an object), so that later operations of the same
 *		migration see the effects of earlier ones.  The version schema's
 *		views are built from the final model.  Physical objects are named by
 *		OID and attribute number, which no rename changes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_MODEL_H
#define MIG_MODEL_H

#include "access/attnum.h"
#include "nodes/pg_list.h"

typedef struct MigModelColumn
{
	char	   *name;			/* name in the new version */
	AttrNumber	attnum;			/* physical column */
	bool		hidden;			/* not part of the new version */
} MigModelColumn;

typedef struct MigModelTable
{
	Oid			relid;			/* physical table */
	char	   *name;			/* name in the new version */
	bool		hidden;			/* not part of the new version */
	bool		created;		/* created by this migration: no version
								 * but the new one has seen it */
	List	   *columns;		/* MigModelColumn *, in the order the new
								 * version shows them */
} MigModelTable;

typedef struct MigModel
{
	char	   *schema;			/* base schema */
	Oid			schema_oid;
	List	   *tables;			/* MigModelTable * */
} MigModel;

extern MigModel *MigModelLoad(const char *schema);
extern MigModelTable *MigModelFindTable(MigModel *model, const char *name);
extern MigModelColumn *MigModelAddColumnAfter(MigModelTable *table,
											  MigModelColumn *after,
											  AttrNumber attnum,
											  const char *name);
extern MigModelColumn *MigModelFindColumn(MigModelTable *table, const char *name);
extern MigModelTable *MigModelAddTable(MigModel *model, Oid relid, const char *name);
extern MigModelColumn *MigModelAddColumn(MigModelTable *table, AttrNumber attnum,
										 const char *name);

/* lookups that raise the user-facing "does not exist" errors */
extern MigModelTable *MigModelGetTable(MigModel *model, const char *name);
extern MigModelColumn *MigModelGetColumn(MigModelTable *table, const char *name);


#endif							/* MIG_MODEL_H */
