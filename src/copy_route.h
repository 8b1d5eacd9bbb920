/*-------------------------------------------------------------------------
 *
 * copy_route.h
 *		COPY ... FROM into a version's view, through a temporary table.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_COPY_ROUTE_H
#define MIG_COPY_ROUTE_H

/* Install the ProcessUtility hook (from _PG_init). */
extern void MigCopyRouteInit(void);

#endif							/* MIG_COPY_ROUTE_H */
