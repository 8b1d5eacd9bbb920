/*-------------------------------------------------------------------------
 *
 * state.c
 *		Read and write the history of migrations (mig.migrations).
 *
 *		History is one linear chain per schema.  The database itself keeps
 *		at most one migration in progress per schema (a partial unique
 *		index); start, complete and rollback of one schema also take a
 *		transaction-level advisory lock, so that of two sessions starting at
 *		once, the second waits (within the lock timeout) and then sees the
 *		first one's migration and gets a clear error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "compat.h"
#include "security.h"
#include "spi_exec.h"
#include "state.h"

static Datum
name_datum(const char *name)
{
	return DirectFunctionCall1(namein, CStringGetDatum(name));
}

MigActive *
MigStateGetActive(const char *schema)
{
	Oid			argtypes[1] = {NAMEOID};
	Datum		values[1] = {name_datum(schema)};
	MigActive  *active;
	int			rc;

	rc = SPI_execute_with_args("SELECT m.name,"
							   " mig.version_schema_name(m.schema, m.name, m.migration),"
							   " (SELECT p.version_schema FROM mig.history($1) p"
							   "  WHERE p.depth >= 1 AND EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n"
							   "  WHERE n.nspname = p.version_schema)"
							   "  ORDER BY p.depth LIMIT 1)"
							   " FROM mig.migrations m"
							   " WHERE m.schema = $1 AND m.status = 'in_progress'",
							   1, argtypes, values, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read migration state: SPI code %d", rc);
	if (SPI_processed == 0)
		return NULL;

	active = palloc0(sizeof(MigActive));
	active->name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	active->version_schema = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	active->previous_version_schema = SPI_getvalue(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 3);
	return active;
}

char *
MigStateLatest(const char *schema)
{
	Oid			argtypes[1] = {NAMEOID};
	Datum		values[1] = {name_datum(schema)};
	int			rc;

	rc = SPI_execute_with_args("SELECT name FROM mig.history($1) WHERE depth = 0",
							   1, argtypes, values, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read migration state: SPI code %d", rc);
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

char *
MigStateLatestVersion(const char *schema)
{
	Oid			argtypes[1] = {NAMEOID};
	Datum		values[1] = {name_datum(schema)};
	char	   *version;

	MigSpiExec("SELECT mig.latest_version($1)",
			   1, argtypes, values, NULL, false, SPI_OK_SELECT,
			   "could not read migration state");
	version = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	return version ? version : pstrdup(schema);
}

bool
MigStateExists(const char *schema, const char *name)
{
	Oid			argtypes[2] = {NAMEOID, TEXTOID};
	Datum		values[2] = {name_datum(schema), CStringGetTextDatum(name)};
	int			rc;

	rc = SPI_execute_with_args("SELECT 1 FROM mig.migrations WHERE schema = $1 AND name = $2",
							   2, argtypes, values, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read migration state: SPI code %d", rc);
	return SPI_processed > 0;
}

void
MigStateInsert(const char *schema, const char *name, const char *parent,
			   Jsonb *migration)
{
	Oid			argtypes[5] = {NAMEOID, TEXTOID, TEXTOID, JSONBOID, REGROLEOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	int			rc;
	MigOwnerSave save;

	values[0] = name_datum(schema);
	values[1] = CStringGetTextDatum(name);
	values[2] = parent ? CStringGetTextDatum(parent) : (Datum) 0;
	nulls[2] = parent ? ' ' : 'n';
	values[3] = JsonbPGetDatum(migration);
	/* the worker runs the jobs as this role: the caller, not the owner below */
	values[4] = ObjectIdGetDatum(GetUserId());
	MigAsExtensionOwner(&save);
	rc = SPI_execute_with_args("INSERT INTO mig.migrations (schema, name, parent, migration, started_by)"
							   " VALUES ($1, $2, $3, $4, $5)",
							   5, argtypes, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not record migration: SPI code %d", rc);
	MigAsCaller(&save);
}

void
MigStateMarkComplete(const char *schema, const char *name)
{
	Oid			argtypes[2] = {NAMEOID, TEXTOID};
	Datum		values[2] = {name_datum(schema), CStringGetTextDatum(name)};
	int			rc;
	MigOwnerSave save;

	MigAsExtensionOwner(&save);
	rc = SPI_execute_with_args("UPDATE mig.migrations"
							   " SET status = 'complete', updated_at = pg_catalog.now(),"
							   "     resulting_schema = mig.read_schema($1)"
							   " WHERE schema = $1 AND name = $2",
							   2, argtypes, values, NULL, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "could not record migration: SPI code %d", rc);
	rc = SPI_execute_with_args("DELETE FROM mig.steps WHERE schema = $1 AND migration = $2",
							   2, argtypes, values, NULL, false, 0);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "could not record migration: SPI code %d", rc);
	MigAsCaller(&save);
}

void
MigStateDelete(const char *schema, const char *name)
{
	Oid			argtypes[2] = {NAMEOID, TEXTOID};
	Datum		values[2] = {name_datum(schema), CStringGetTextDatum(name)};
	int			rc;
	MigOwnerSave save;

	MigAsExtensionOwner(&save);
	rc = SPI_execute_with_args("DELETE FROM mig.migrations WHERE schema = $1 AND name = $2",
							   2, argtypes, values, NULL, false, 0);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "could not record migration: SPI code %d", rc);
	MigAsCaller(&save);
}

bool
MigStateStartedHere(const char *schema, const char *migration)
{
	Oid			argtypes[2] = {NAMEOID, TEXTOID};
	Datum		values[2] = {name_datum(schema), CStringGetTextDatum(migration)};
	bool		isnull;
	TransactionId xmin;

	if (SPI_execute_with_args("SELECT xmin FROM mig.migrations WHERE schema = $1 AND name = $2",
							  2, argtypes, values, NULL, false, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read migration \"%s\"", migration);
	xmin = DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1, &isnull));
	return TransactionIdIsCurrentTransactionId(xmin);
}
