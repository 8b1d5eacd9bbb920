/*-------------------------------------------------------------------------
 *
 * backfill_heap.c
 *		One backfill batch written straight to a heap table.
 *
 *		The batch scans its block range (a TID range scan) with a fresh
 *		snapshot, computes each predating row's new columns with the table's
 *		up rules (the dual-write trigger's own compiled rules: up lives in one
 *		place) and writes the row with table_tuple_update, then its index
 *		entries, as logical replication's apply does.  It costs less than
 *		the UPDATE statement it replaces: the executor locks each row before
 *		it calls a BEFORE trigger (one more WAL record per row) and the
 *		trigger copies the row once more; here neither happens, and no
 *		trigger fires at all, the user's included.
 *
 *		Concurrency is the UPDATE's: a row that another transaction is
 *		changing is waited for (within lock_timeout); if that transaction
 *		commits, the row's new version was written through the trigger and
 *		is left alone, as the UPDATE's recheck would leave it; if it aborts,
 *		the row is written.  CHECK and NOT NULL constraints, the NOT VALID
 *		ones a migration adds included, are checked as an UPDATE checks
 *		them; unique and exclusion constraints through the index entries.
 *		Foreign keys are not: they are validated at complete, and the
 *		UPDATE ran as a replica, with their triggers off, too.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "backfill_heap.h"
#include "backfill_snapshot.h"
#include "compat.h"
#include "dual_write.h"

bool
MigBackfillHeapUsable(Relation rel)
{
	TupleConstr *constr = RelationGetDescr(rel)->constr;
	List	   *indexes;
	ListCell   *lc;
	bool		usable = true;

	if (rel->rd_rel->relkind != RELKIND_RELATION ||
		rel->rd_tableam != GetHeapamTableAmRoutine())
		return false;
	if (constr != NULL && constr->has_generated_stored)
		return false;

	/* a deferred constraint's recheck would need the after-trigger queue */
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		HeapTuple	tup = SearchSysCache1(INDEXRELID,
										  ObjectIdGetDatum(lfirst_oid(lc)));

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for index %u", lfirst_oid(lc));
		if (!((Form_pg_index) GETSTRUCT(tup))->indimmediate)
			usable = false;
		ReleaseSysCache(tup);
	}
	list_free(indexes);
	return usable;
}

int64
MigBackfillHeapRange(Relation rel, MigPredateSnapshot *snap,
					 BlockNumber first, BlockNumber last)
{
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *oldslot;
	TupleTableSlot *newslot;
	TableScanDesc scan;
	Snapshot	snapshot;
	CommandId	cid;
	ItemPointerData mintid;
	ItemPointerData maxtid;
	MemoryContext rowcxt;
	MemoryContext oldcxt;
	bool		check = RelationGetDescr(rel)->constr != NULL;
	int64		rows = 0;
	AclResult	aclresult;

	/* the UPDATE it replaces would have needed this privilege */
	aclresult = pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_UPDATE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, RelationGetRelationName(rel));

	if (first >= last)
		return 0;

	estate = CreateExecutorState();
	rri = makeNode(ResultRelInfo);
	InitResultRelInfo(rri, rel, 0, NULL, 0);
	ExecOpenIndices(rri, false);

	PushActiveSnapshot(GetTransactionSnapshot());
	snapshot = GetActiveSnapshot();
	cid = GetCurrentCommandId(true);

	oldslot = table_slot_create(rel, NULL);
	newslot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext,
								   "migrate_ext backfill row",
								   ALLOCSET_DEFAULT_SIZES);

	ItemPointerSet(&mintid, first, FirstOffsetNumber);
	ItemPointerSet(&maxtid, last - 1, MaxOffsetNumber);
	scan = table_beginscan_tidrange(rel, snapshot, &mintid, &maxtid);
	while (table_scan_getnextslot_tidrange(scan, ForwardScanDirection, oldslot))
	{
		HeapTuple	oldtup;
		HeapTuple	newtup;
		bool		should_free;
		TM_Result	result;
		TM_FailureData tmfd;
		LockTupleMode lockmode;
		MigUpdateIndexes update_indexes;

		CHECK_FOR_INTERRUPTS();
		oldtup = ExecFetchSlotHeapTuple(oldslot, false, &should_free);
		/*
		 * The raw xmin, as the xmin column reads: a frozen row version (by
		 * VACUUM FREEZE, or by a VACUUM FULL or CLUSTER, which freeze by
		 * setting infomask bits only) still says who wrote it, and one
		 * written through the trigger must not be taken for an old one.
		 */
		if (!MigBackfillRowPredates(snap, HeapTupleHeaderGetRawXmin(oldtup->t_data),
									HeapTupleHeaderGetRawCommandId(oldtup->t_data)))
			continue;

		MemoryContextReset(rowcxt);
		oldcxt = MemoryContextSwitchTo(rowcxt);
		newtup = MigDualWriteUp(rel, oldtup, oldslot);
		ExecStoreHeapTuple(newtup, newslot, false);
		if (check)
			ExecConstraints(rri, newslot, estate);

		result = table_tuple_update(rel, &oldslot->tts_tid, newslot, cid,
									snapshot, InvalidSnapshot, true,
									&tmfd, &lockmode, &update_indexes);
		switch (result)
		{
			case TM_Ok:
				rows++;
				if (rri->ri_NumIndices > 0 && MigUpdateNeedsIndexes(update_indexes))
					list_free(MigInsertIndexTuples(rri, newslot, estate,
												   update_indexes));
				break;

			case TM_Updated:
			case TM_Deleted:
				/* changed through a version since the scan: not ours */
				break;

			case TM_SelfModified:
				/* written by this transaction through the trigger */
				break;

			default:
				elog(ERROR, "unexpected result %d updating a row of relation \"%s\" in its backfill",
					 (int) result, RelationGetRelationName(rel));
		}
		MemoryContextSwitchTo(oldcxt);
		ExecClearTuple(newslot);
		ResetPerTupleExprContext(estate);
		if (should_free)
			heap_freetuple(oldtup);
	}
	table_endscan(scan);

	ExecDropSingleTupleTableSlot(oldslot);
	ExecDropSingleTupleTableSlot(newslot);
	MemoryContextDelete(rowcxt);
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
	PopActiveSnapshot();
	CommandCounterIncrement();
	return rows;
}
