/*-------------------------------------------------------------------------
 *
 * dup_final.c
 *		Column duplication: the plan-wide registry of the final names of
 *		carried-over constraints and indexes, and the search for a free
 *		internal name.
 *
 *	IDENTIFICATION
 *		src/dup_final.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_constraint.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "dup_final.h"
#include "names.h"
#include "steps.h"

/*
 * prefix + name, or prefix with a number when that is taken (a column
 * changed twice in one migration has two shadows).
 */
char *
MigDupFreeName(NameKind kind, Oid relid, const char *prefix, const char *name)
{
	int			n;

	for (n = 1;; n++)
	{
		char	   *p = n == 1 ? pstrdup(prefix) :
			psprintf("%.*s%d_", (int) strlen(prefix) - 1, prefix, n);
		char	   *candidate = MigInternalName(p, name);
		bool		taken;

		if (kind == NAME_COLUMN)
			taken = get_attnum(relid, candidate) != InvalidAttrNumber;
		else if (kind == NAME_CONSTRAINT)
			taken = OidIsValid(get_relation_constraint_oid(relid, candidate, true));
		else
			taken = OidIsValid(get_relname_relid(candidate, get_rel_namespace(relid)));
		if (!taken)
			return candidate;
	}
}

void
MigDupRemember(MigPlan *plan, Oid objid, const char *name, char contype,
			   bool deferrable, bool deferred)
{
	MigFinal   *final = palloc0(sizeof(MigFinal));

	final->objid = objid;
	final->name = pstrdup(name);
	final->contype = contype;
	final->deferrable = deferrable;
	final->deferred = deferred;
	plan->finals = lappend(plan->finals, final);
}

/*
 * rename_constraint of a constraint this migration made or carried over:
 * the new version knows it by its name to be, and the physical object
 * under another name.  The rename happens at complete, after the object
 * got its name to be; later duplications carry the new name.  Returns
 * false when no such constraint of the table has the name.
 */
bool
MigDupRenameFinal(MigPlan *plan, Oid relid, const char *from, const char *to)
{
	ListCell   *lc;

	foreach(lc, plan->finals)
	{
		MigFinal   *final = lfirst(lc);
		HeapTuple	tup;

		if (strcmp(final->name, from) != 0)
			continue;
		tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(final->objid));
		if (HeapTupleIsValid(tup))
		{
			bool		mine = ((Form_pg_constraint) GETSTRUCT(tup))->conrelid == relid;

			ReleaseSysCache(tup);
			if (!mine)
				continue;
			MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_RENAME_CONSTRAINT, relid,
					   InvalidAttrNumber, final->objid, to, NULL);
		}
		else if ((final->contype == 'u' || final->contype == 'p') &&
				 IndexGetRelation(final->objid, true) == relid)
		{
			/* renaming the index renames the constraint made from it */
			MigStepAdd(plan, MIG_PHASE_COMPLETE, MIG_STEP_RENAME_INDEX, relid,
					   InvalidAttrNumber, final->objid, to, NULL);
		}
		else
			continue;
		final->name = pstrdup(to);
		return true;
	}
	return false;
}

MigFinal *
MigDupFindFinal(MigPlan *plan, Oid objid)
{
	ListCell   *lc;

	foreach(lc, plan->finals)
	{
		MigFinal   *final = lfirst(lc);

		if (final->objid == objid)
			return final;
	}
	return NULL;
}
