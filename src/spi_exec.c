/*-------------------------------------------------------------------------
 *
 * spi_exec.c
 *		The one SPI execute-or-error helper.
 *
 *	IDENTIFICATION
 *		src/spi_exec.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "lib/stringinfo.h"

#include "spi_exec.h"

void
MigSpiExec(const char *sql, int nargs, Oid *argtypes, Datum *values,
		   const char *nulls, bool read_only, int expected, const char *fmt,...)
{
	StringInfoData buf;

	if (SPI_execute_with_args(sql, nargs, argtypes, values, nulls, read_only,
							  0) == expected)
		return;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	elog(ERROR, "%s", buf.data);
}
