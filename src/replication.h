/*-------------------------------------------------------------------------
 *
 * replication.h
 *		Logical replication of what a migration does to published tables:
 *		the layout changes start, complete and rollback make are recorded
 *		as an event (mig.replication_events) that subscribers with the
 *		extension apply at the same point of the replicated stream.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_REPLICATION_H
#define MIG_REPLICATION_H

#include "nodes/pg_list.h"

/*
 * The published tables of a schema and their columns, before a phase
 * changes them; NULL when the database has no publication.  SPI connected.
 */
extern char *MigReplicationBefore(const char *schema);

/*
 * Compare the published tables of the schema with "before" and, if the
 * phase ("start", "complete" or "rollback") changed any, record the
 * changes as an event in the phase's transaction.  Refuses (0A000) a start
 * or complete whose changed table is published without the events table,
 * or with a column list or row filter.  SPI connected.
 */
extern void MigReplicationRecord(const char *schema, const char *migration,
								 const char *phase, const char *before);

/*
 * A table whose replica identity is an index on a column that complete
 * replaces (alter_column and the constraint operations carry the index to
 * the new column) would be left with REPLICA IDENTITY USING INDEX and no
 * such index: published, it refuses every UPDATE and DELETE.  Remember
 * the schema's identity indexes by name before complete's steps and put
 * back the ones they lost, on the carried index of the same name.  SPI
 * connected.
 */
extern List *MigReplicaIdentityRemember(const char *schema);
extern void MigReplicaIdentityRestore(List *remembered);

/*
 * Refuse (0A000) a migration whose dual-written tables this database
 * receives through a subscription: the dual-write trigger would run for
 * the replicated rows, and the publisher's migrations change the same
 * tables.  SPI connected.
 */
extern void MigReplicationRefuseSubscribed(const char *schema,
										   const char *migration);

#endif							/* MIG_REPLICATION_H */
