/*-------------------------------------------------------------------------
 *
 * state_ident.h
 *		Identify the objects the state of a migration records by OID and
 *		attribute number, in a way that survives a dump and restore.
 *
 *		mig.steps, mig.job_queue and mig.dual_writes are dumped with the
 *		database (they are extension configuration tables), and a restore
 *		gives every object a new OID and renumbers attributes after dropped
 *		columns.  So the state also records, when start finishes, the names
 *		its objects have then and the database it was written in
 *		(mig.origin()), and every use checks the OID against the name:
 *		an OID that still has its recorded name is used, else the object
 *		of that name; if neither exists the object is gone.  Nothing is
 *		ever done to an object only because it has a recorded OID.
 *
 *		All functions need a transaction; MigIdentRecord runs SPI queries.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_STATE_IDENT_H
#define MIG_STATE_IDENT_H

#include "access/attnum.h"

/* "<system identifier>/<database OID>" of this database */
extern char *MigOrigin(void);

/*
 * Record the current names of the objects the migration's state rows name
 * by OID (rows that have none yet) and the migration's origin.  Called at
 * the end of start, and of complete for the jobs it queues.
 */
extern void MigIdentRecord(const char *schema, const char *migration);

/* The schema-qualified, quoted name of a relation, or NULL. */
extern char *MigIdentRelationName(Oid relid);

/*
 * The relation recorded as relid with name qname (schema-qualified), or
 * InvalidOid if it no longer exists.  native says the state was written in
 * this database (its origin matches): there a relation renamed behind the
 * migration's back is an error, and an OID without a recorded name is
 * trusted.  what ("table", "index", ...) and migration are for messages.
 */
extern Oid	MigIdentRelation(Oid relid, const char *qname, bool native,
							 const char *what, const char *migration);

/* An index recorded as indexoid with name (its table's schema), or InvalidOid. */
extern Oid	MigIdentIndex(Oid indexoid, const char *name, Oid namespace,
						  bool native, const char *migration);

/*
 * The column of relid (already resolved from recorded_relid) recorded as
 * attnum with name attname; if it no longer exists, InvalidAttrNumber when
 * missing_ok, else an error.
 */
extern AttrNumber MigIdentColumn(Oid relid, Oid recorded_relid,
								 AttrNumber attnum, const char *attname,
								 bool native, const char *migration,
								 bool missing_ok);

/* The constraint of relid recorded as conoid with name conname, or InvalidOid. */
extern Oid	MigIdentConstraint(Oid relid, Oid recorded_relid, Oid conoid,
							   const char *conname, bool native);

/* Was the migration's state written in this database? */
extern bool MigIdentNative(const char *schema, const char *migration);

#endif							/* MIG_STATE_IDENT_H */
