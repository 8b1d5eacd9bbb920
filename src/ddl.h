/*-------------------------------------------------------------------------
 *
 * ddl.h
 *		Running a migration's statements with bounded lock waits.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_DDL_H
#define MIG_DDL_H

typedef void (*MigAttemptFn) (void *arg);

/*
 * Run fn(arg) as one attempt inside an internal subtransaction, with
 * lock_timeout = migrate_ext.lock_timeout and search_path = the base schema.
 * If any statement times out waiting for a lock, the attempt is rolled back
 * (releasing every lock it took), and retried after a jittered, doubling
 * backoff, up to migrate_ext.lock_retries times; then it fails with
 * SQLSTATE 55P03 naming the table and the processes that hold locks on it.
 * Any other error rolls the attempt back and is re-thrown.  fn runs with SPI
 * connected.
 */
extern void MigRunAttempts(const char *action, const char *migration,
						   const char *schema, MigAttemptFn fn, void *arg);

/* Run one SQL statement; target is the table it locks (or InvalidOid). */
extern void MigExec(const char *sql, Oid target);

/* Run a statement that takes the advisory lock of a schema (see state.c). */
extern void MigExecSchemaLock(const char *sql, Oid schema_oid);

#endif							/* MIG_DDL_H */
