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

#endif							/* MIG_REPLICATION_H */
