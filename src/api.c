/* placeholder, replaced by the real entry points */
#include "postgres.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "migration.h"

PG_FUNCTION_INFO_V1(mig_start);
PG_FUNCTION_INFO_V1(mig_complete);
PG_FUNCTION_INFO_V1(mig_rollback);

Datum
mig_start(PG_FUNCTION_ARGS)
{
	MigParseMigration(text_to_cstring(PG_GETARG_TEXT_PP(0)), PG_GETARG_JSONB_P(1));
	elog(ERROR, "not implemented yet");
	PG_RETURN_NULL();
}

Datum
mig_complete(PG_FUNCTION_ARGS)
{
	elog(ERROR, "not implemented yet");
	PG_RETURN_NULL();
}

Datum
mig_rollback(PG_FUNCTION_ARGS)
{
	elog(ERROR, "not implemented yet");
	PG_RETURN_NULL();
}
