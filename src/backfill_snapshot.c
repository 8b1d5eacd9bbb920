/*-------------------------------------------------------------------------
 *
 * backfill_snapshot.c
 *		The backfill's snapshot: taken at start, once the table is locked
 *		against writers, with the starting transaction's xids (its own and
 *		its subtransactions') and command; and its test, whether a row
 *		version was written before the dual-write trigger existed
 *		(mig.row_predates, and the heap backfill, the storage check and
 *		the version-ready check in C).  See backfill.c for why this test is
 *		the right one.
 *
 *	IDENTIFICATION
 *		src/backfill_snapshot.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/bufmgr.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rls.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

#include "backfill_snapshot.h"

PG_FUNCTION_INFO_V1(mig_row_predates);

/* a snapshot as the backfill needs it */
struct MigPredateSnapshot
{
	TransactionId xmin;
	TransactionId xmax;
	CommandId	start_cid;		/* the command that created the trigger */
	TransactionId next_xid;		/* a next xid read before, or invalid */
	int			nown;			/* that transaction's xids, top and sub */
	TransactionId *own;
	int			nxip;
	TransactionId xip[FLEXIBLE_ARRAY_MEMBER];	/* in progress, top and sub */
};

/*
 * The snapshot that separates rows that existed before the trigger from
 * rows written through it.  Call it once the table is locked against
 * writers, in the transaction that creates the trigger.
 */
char *
MigBackfillSnapshot(void)
{
	Snapshot	snap = GetLatestSnapshot();
	StringInfoData buf;
	int			i;

	/*
	 * With overflowed subtransactions the snapshot does not list them all;
	 * such a transaction could later write the table under an unlisted
	 * subtransaction.  Treat it like a lock that is not free yet.
	 */
	if (snap->suboverflowed)
		ereport(ERROR,
				errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				errmsg("could not take a complete snapshot for the backfill"),
				errdetail("A transaction with more than %d subtransactions is in progress.",
						  PGPROC_MAX_CACHED_SUBXIDS));

	/*
	 * The starting transaction's own rows are told apart by command: those
	 * written before this point predate the trigger.  Its own rows may
	 * carry the xid of any of its subtransactions (a released savepoint, a
	 * PL/pgSQL exception block): all of them are listed, found among the
	 * xids assigned since its own.
	 */
	initStringInfo(&buf);
	appendStringInfo(&buf, "%u:%u:", snap->xmin, snap->xmax);
	{
		TransactionId top = GetTopTransactionId();
		TransactionId next = XidFromFullTransactionId(ReadNextFullTransactionId());
		TransactionId xid;

		appendStringInfo(&buf, "%u", top);
		xid = top;
		TransactionIdAdvance(xid);
		while (TransactionIdPrecedes(xid, next))
		{
			if (TransactionIdIsCurrentTransactionId(xid))
				appendStringInfo(&buf, ",%u", xid);
			TransactionIdAdvance(xid);
		}
	}
	appendStringInfo(&buf, ":%u:", GetCurrentCommandId(false));
	for (i = 0; i < snap->xcnt; i++)
		appendStringInfo(&buf, "%s%u", buf.data[buf.len - 1] == ':' ? "" : ",",
						 snap->xip[i]);
	for (i = 0; i < snap->subxcnt; i++)
		appendStringInfo(&buf, "%s%u", buf.data[buf.len - 1] == ':' ? "" : ",",
						 snap->subxip[i]);
	return buf.data;
}

MigPredateSnapshot *
MigBackfillParseSnapshot(const char *text)
{
	const char *p = text;
	char	   *end;
	int			n = 1;
	MigPredateSnapshot *snap;

	for (; *p; p++)
		if (*p == ',')
			n++;
	snap = palloc0(offsetof(MigPredateSnapshot, xip) + sizeof(TransactionId) * n);
	snap->own = palloc(sizeof(TransactionId) * n);
	p = text;
	snap->xmin = (TransactionId) strtoul(p, &end, 10);
	if (*end != ':')
		goto bad;
	snap->xmax = (TransactionId) strtoul(end + 1, &end, 10);
	if (*end != ':')
		goto bad;
	do
	{
		snap->own[snap->nown++] = (TransactionId) strtoul(end + 1, &end, 10);
	} while (*end == ',');
	if (*end != ':')
		goto bad;
	snap->start_cid = (CommandId) strtoul(end + 1, &end, 10);
	if (*end != ':')
		goto bad;
	p = end + 1;
	while (*p)
	{
		snap->xip[snap->nxip++] = (TransactionId) strtoul(p, &end, 10);
		if (*end == ',')
			end++;
		else if (*end != '\0')
			goto bad;
		p = end;
	}
	return snap;

bad:
	ereport(ERROR,
			errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			errmsg("invalid backfill snapshot \"%s\"", text));
	return NULL;				/* keep compiler quiet */
}

/*
 * Was this row version written before the trigger existed: by a transaction
 * that had finished when the snapshot was taken, or by the starting
 * transaction before it created the trigger?
 *
 * xid is the raw xmin, also for a frozen row version: VACUUM FREEZE, and
 * VACUUM FULL and CLUSTER (which freeze every row they can), keep it and
 * set infomask bits, so that a row written through the trigger is still
 * known for one.  But the raw xmin of a row frozen more than 2^31 xids ago
 * compares as anything: every xid a row can really carry precedes the next
 * xid to be assigned, read after the row, so one that does not is such an
 * old row.  (One that falls among the xids assigned since the snapshot is
 * taken for a row written through the trigger: a chance of (xids since the
 * start) / 2^32 for a row frozen in an earlier wraparound cycle.)
 */
bool
MigBackfillRowPredates(MigPredateSnapshot *snap, TransactionId xid, CommandId cid)
{
	int			i;

	if (!TransactionIdIsNormal(xid))
		return true;
	for (i = 0; i < snap->nown; i++)
		if (TransactionIdEquals(xid, snap->own[i]))
			return cid < snap->start_cid;
	if (TransactionIdPrecedes(xid, snap->xmin))
		return true;

	/*
	 * The next xid only grows, so one read earlier is a lower bound: an xid
	 * that precedes it precedes the real one; only one that does not needs
	 * the counter read again (once per newer xid, not per row).
	 */
	if (!TransactionIdIsValid(snap->next_xid) ||
		!TransactionIdPrecedes(xid, snap->next_xid))
	{
		snap->next_xid = ReadNextTransactionId();
		if (!TransactionIdPrecedes(xid, snap->next_xid))
			return true;
	}
	if (TransactionIdFollowsOrEquals(xid, snap->xmax))
		return false;
	for (i = 0; i < snap->nxip; i++)
		if (snap->xip[i] == xid)
			return false;
	return true;
}

/*
 * mig.row_predates(xmin, cmin, snapshot): was this row version written
 * before the trigger existed?  The test of the backfill's statement.
 */
Datum
mig_row_predates(PG_FUNCTION_ARGS)
{
	TransactionId xid = DatumGetTransactionId(PG_GETARG_DATUM(0));
	CommandId	cid = DatumGetCommandId(PG_GETARG_DATUM(1));
	MigPredateSnapshot *snap = (MigPredateSnapshot *) fcinfo->flinfo->fn_extra;

	if (snap == NULL)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		snap = MigBackfillParseSnapshot(text_to_cstring(PG_GETARG_TEXT_PP(2)));
		MemoryContextSwitchTo(oldcxt);
		fcinfo->flinfo->fn_extra = snap;
	}
	PG_RETURN_BOOL(MigBackfillRowPredates(snap, xid, cid));
}

