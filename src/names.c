/*-------------------------------------------------------------------------
 *
 * names.c
 *		Internal names (the _mig_ prefixes) and the quoting of the physical
 *		names of relations and columns, as they are now.
 *
 *	IDENTIFICATION
 *		src/names.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "names.h"

bool
MigIsInternalName(const char *name)
{
	return strncmp(name, MIG_INTERNAL_PREFIX, strlen(MIG_INTERNAL_PREFIX)) == 0;
}

/* The schema-qualified, quoted current name of a relation. */
char *
MigQuoteTable(Oid relid)
{
	char	   *relname = get_rel_name(relid);

	if (relname == NULL)
		ereport(ERROR,
				errcode(ERRCODE_UNDEFINED_TABLE),
				errmsg("table with OID %u does not exist", relid),
				errdetail("It was dropped while a migration was using it."));
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  relname);
}

/* The quoted current name of a column. */
const char *
MigQuoteColumn(Oid relid, AttrNumber attnum)
{
	return quote_identifier(get_attname(relid, attnum, false));
}

/*
 * A generated internal name: prefix + name, never longer than NAMEDATALEN - 1
 * bytes.  A name that would not fit is cut at a character boundary and
 * given a hash of the whole name, so two long names never end up the same.
 */
char *
MigInternalName(const char *prefix, const char *name)
{
	int			plen = strlen(prefix);
	int			nlen = strlen(name);
	int			keep;
	uint32		hash;

	if (plen + nlen <= NAMEDATALEN - 1)
		return psprintf("%s%s", prefix, name);

	hash = hash_bytes((const unsigned char *) name, nlen);
	/* room for "_" and 8 hex digits */
	keep = pg_mbcliplen(name, nlen, NAMEDATALEN - 1 - plen - 9);
	return psprintf("%s%.*s_%08x", prefix, keep, name, hash);
}
