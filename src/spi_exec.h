/*-------------------------------------------------------------------------
 *
 * spi_exec.h
 *		Run one SPI statement whose failure is an internal error.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIG_SPI_EXEC_H
#define MIG_SPI_EXEC_H

/*
 * SPI_execute_with_args(sql, ...) with no row limit; unless it returns
 * expected (SPI_OK_SELECT, ...), raise an internal error (elog) with the
 * message fmt describes.  SPI connected.
 */
extern void MigSpiExec(const char *sql, int nargs, Oid *argtypes,
					   Datum *values, const char *nulls, bool read_only,
					   int expected, const char *fmt,...) pg_attribute_printf(8, 9);

#endif							/* MIG_SPI_EXEC_H */
