/*-------------------------------------------------------------------------
 *
 * ops_misc.c
 *		rename_constraint, set_replica_identity and raw sql.
 *
 *		rename_constraint renames at complete.  set_replica_identity takes
 *		effect at start (it is not versioned) and, unlike pgroll, is undone
 *		by rollback.  Raw sql runs its "up" at start (or at complete with
 *		onComplete) and its "down", if any, on rollback.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"

#include "column_dup.h"
#include "ddl.h"
#include "names.h"
#include "ops.h"
#include "ops_lib.h"
#include "steps.h"

void
MigOpRenameConstraint(MigPlan *plan, MigOperation *op)
{
	MigModelTable *table = MigPlanGetTable(plan, op, op->table);
	Oid			conoid;
	HeapTuple	tup;
	Form_pg_constraint con;

	if (OidIsValid(get_relation_constraint_oid(table->relid, op->to, true)))
		ereport(ERROR,
				errcode(ERRCODE_DUPLICATE_OBJECT),
				errmsg("constraint \"%s\" of table \"%s\" already exists",
					   op->to, op->table));

	/* a constraint an earlier operation carried over to a new column */
	if (MigDupRenameFinal(plan, table->relid, op->from, op->to))
		return;

	conoid = get_relation_constraint_oid(table->relid, op->from, true);
	if (!OidIsValid(conoid))
		ereport(ERROR,
				errcode(ERRCODE_UNDEFINED_OBJECT),
				errmsg("constraint \"%s\" of table \"%s\" does not exist",
					   op->from, op->table));
	if (OidIsValid(get_constraint_index(conoid)) &&
		OidIsValid(get_relname_relid(op->to, plan->model->schema_oid)))
		ereport(ERROR,
				errcode(ERRCODE_DUPLICATE_TABLE),
				errmsg("relation \"%s\" already exists in schema \"%s\"",
					   op->to, plan->schema),
				errdetail("A constraint backed by an index gives its name to the index."));

	MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_RENAME_CONSTRAINT, table->relid,
			   InvalidAttrNumber, conoid, op->to, NULL);

	/*
	 * A later operation of this migration that carries the constraint over
	 * to a new column gives the copy the new name.
	 */
	tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for constraint %u", conoid);
	con = (Form_pg_constraint) GETSTRUCT(tup);
	MigDupRemember(plan, conoid, op->to, 0, false, false);
	if (OidIsValid(con->conindid) && (con->contype == CONSTRAINT_UNIQUE ||
									  con->contype == CONSTRAINT_PRIMARY))
		MigDupRemember(plan, con->conindid, op->to, con->contype,
					   con->condeferrable, con->condeferred);
	ReleaseSysCache(tup);
}

/* The replica identity index of a table, or InvalidOid. */
static Oid
replica_identity_index(Oid relid)
{
	Relation	rel = RelationIdGetRelation(relid);
	Oid			result;

	result = RelationGetReplicaIndex(rel);
	RelationClose(rel);
	return result;
}

void
MigOpSetReplicaIdentity(MigPlan *plan, MigOperation *op)
{
	MigModelTable *table = MigPlanGetTable(plan, op, op->table);
	HeapTuple	tup;
	char		current;
	const char *previous;
	Oid			previous_index = InvalidOid;
	char	   *qtable = MigQuoteTable(table->relid);

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(table->relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", table->relid);
	current = ((Form_pg_class) GETSTRUCT(tup))->relreplident;
	ReleaseSysCache(tup);

	switch (current)
	{
		case REPLICA_IDENTITY_FULL:
			previous = "FULL";
			break;
		case REPLICA_IDENTITY_NOTHING:
			previous = "NOTHING";
			break;
		case REPLICA_IDENTITY_INDEX:
			previous = "INDEX";
			previous_index = replica_identity_index(table->relid);
			break;
		default:
			previous = "DEFAULT";
			break;
	}

	if (strcmp(op->identity_type, "INDEX") == 0)
	{
		Oid			index = get_relname_relid(op->identity_index,
											  plan->model->schema_oid);
		HeapTuple	itup;
		bool		on_table = false;

		if (OidIsValid(index))
		{
			itup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));
			if (HeapTupleIsValid(itup))
			{
				on_table = ((Form_pg_index) GETSTRUCT(itup))->indrelid == table->relid;
				ReleaseSysCache(itup);
			}
		}
		if (!on_table)
			ereport(ERROR,
					errcode(ERRCODE_UNDEFINED_OBJECT),
					errmsg("index \"%s\" of table \"%s\" does not exist",
						   op->identity_index, op->table));
		MigExec(psprintf("ALTER TABLE %s REPLICA IDENTITY USING INDEX %s", qtable,
						 quote_identifier(op->identity_index)), table->relid);
	}
	else
		MigExec(psprintf("ALTER TABLE %s REPLICA IDENTITY %s", qtable,
						 op->identity_type), table->relid);

	MigStepAdd(plan, MIG_PHASE_ROLLBACK, MIG_STEP_REPLICA_IDENTITY, table->relid,
			   InvalidAttrNumber, previous_index, previous, NULL);
}

void
MigOpSql(MigPlan *plan, MigOperation *op)
{
	if (op->on_complete)
	{
		MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_SQL, InvalidOid,
				   InvalidAttrNumber, InvalidOid, NULL, op->up);
		return;
	}

	MigExec(op->up, InvalidOid);
	if (op->down != NULL)
		MigStepAdd(plan, MIG_PHASE_ROLLBACK, MIG_STEP_SQL, InvalidOid,
				   InvalidAttrNumber, InvalidOid, NULL, op->down);

	/* raw SQL is alone in its migration: the new version is what it left */
	plan->model = MigModelLoad(plan->schema);
}
