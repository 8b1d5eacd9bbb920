/*-------------------------------------------------------------------------
 *
 * write_route.h
 *		Which version schema a statement writes a table through.
 *
 *		A write through a version view (INSERT INTO public_02_x.items ...)
 *		is routed by the view's schema, whatever the session's search_path
 *		and migrate_ext.version say.  Executor hooks find, per statement,
 *		the views it writes through (they stay in the range table, after
 *		rewriting, for their permission checks) and the tables behind them;
 *		the dual-write trigger asks for the table it fires on.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_WRITE_ROUTE_H
#define MIG_WRITE_ROUTE_H

#include "utils/guc.h"

/* what the trigger made of a target, cached for the rest of the statement */
#define MIG_WRITER_UNKNOWN	0	/* not looked at yet */
#define MIG_WRITER_OLD		1	/* the view is in the old version */
#define MIG_WRITER_NEW		2	/* the view is in the new version */
#define MIG_WRITER_OTHER	3	/* not a version of the table's migration */

/* a table the running statement writes through a view */
typedef struct MigRouteTarget
{
	Oid			relid;			/* the table */
	Oid			viewid;			/* the view written */
	char	   *schema;			/* the view's schema */
	Oid			other_viewid;	/* another view writing the same table */
	char	   *other_schema;	/* and its schema (NULL if none) */
	int			writer;			/* MIG_WRITER_*, set by the trigger */
} MigRouteTarget;

/* Install the executor hooks (from _PG_init). */
extern void MigWriteRouteInit(void);

/*
 * The view the running statement writes relid through, or NULL when it
 * writes the table directly (or no statement is known: COPY, logical
 * replication).  The result lives until the statement ends.
 */
extern MigRouteTarget *MigWriteRouteTarget(Oid relid);

/* check hook of migrate_ext.version: syntax only (no catalog access) */
extern bool MigCheckVersionName(char **newval, void **extra, GucSource source);

#endif							/* MIG_WRITE_ROUTE_H */
