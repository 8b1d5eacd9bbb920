/*-------------------------------------------------------------------------
 *
 * version_ready.h
 *		The new version shows and writes a row only once the backfill has
 *		given it its new columns: before, a read would show the row without
 *		them and a write would compute the old columns from that.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_VERSION_READY_H
#define MIG_VERSION_READY_H

#include "access/htup.h"
#include "utils/relcache.h"

/*
 * The WHERE clause (" WHERE mig.version_ready(..., xmin, cmin)") that
 * guards the view "version_schema"."view_name" of a table while the table
 * has an unfinished backfill with rows to write, or "" when it has none:
 * it refuses (55000) a row the backfill has not reached.  SPI connected.
 */
extern char *MigVersionReadyGuard(Oid relid, const char *version_schema,
								  const char *view_name);

/* Is this function OID the guard's function (mig.version_ready)? */
extern bool MigVersionReadyIsGuard(Oid funcid);

/*
 * For the dual-write trigger, on an UPDATE by a writer of the new version:
 * raise "not ready" if the row being updated predates the table's
 * unfinished backfill (the backfill has not written its new columns yet,
 * so the new version would compute the old ones from nothing), or for
 * every row when the rows' xmins say nothing (the table restored from a
 * dump, or rewritten, while its backfill was unfinished).  What it needs is
 * read once per statement; the per-row test is the backfill's.
 */
extern void MigVersionReadyCheckRow(Relation rel, HeapTuple oldtup,
									const char *version);

#endif							/* MIG_VERSION_READY_H */
