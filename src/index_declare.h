/*-------------------------------------------------------------------------
 *
 * index_declare.h
 *		Indexes a migration needs, declared at start and built by a job.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_INDEX_DECLARE_H
#define MIG_INDEX_DECLARE_H

#include "ops.h"

/*
 * Declare the index of a CREATE INDEX statement (no CONCURRENTLY) on a
 * table without building it, and queue the job that builds it
 * concurrently.  The index exists in the catalogs at once, not ready and
 * not valid (the state CREATE INDEX CONCURRENTLY gives it before its
 * build), so the rest of the migration sees it and its name is taken; no
 * write maintains it and no query uses it until the job has built it.
 * Every check CREATE INDEX makes (columns, types, operator classes,
 * privileges) is made here.  Returns the index's OID.
 */
extern Oid	MigIndexDeclare(MigPlan *plan, Oid relid, const char *sql);

/* The same, without queueing a job (the caller decides); see column_dup.c. */
extern Oid	MigIndexDeclareOnly(Oid relid, const char *sql);

#endif							/* MIG_INDEX_DECLARE_H */
