/*-------------------------------------------------------------------------
 *
 * migrate_ext.c
 *		Module entry point of migrate_ext: defines the configuration
 *		parameters (settings.c), installs the write routing, the COPY
 *		routing and the recording of DDL run outside migrations, and
 *		registers the launcher.
 *
 *		The library works without being preloaded; preloading it (as the
 *		README recommends) makes its parameters known to the server before
 *		the first session uses them, and starts the launcher that restarts
 *		unfinished background jobs after a server restart (worker.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "compat.h"
#include "copy_route.h"
#include "ddl_capture.h"
#include "names.h"
#include "settings.h"
#include "worker_control.h"
#include "write_route.h"

PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);

void
_PG_init(void)
{
	/* the migrate_ext.* parameters */
	MigSettingsDefine();

	/* writes through a version view are routed by the view */
	MigWriteRouteInit();

	/* COPY ... FROM into a version view goes through a temporary table */
	MigCopyRouteInit();

	/*
	 * DDL run outside migrations is recorded in the history; this hook
	 * runs before the COPY routing's, which it calls
	 */
	MigDdlCaptureInit();

	/* with the library preloaded, a launcher restarts unfinished jobs */
	if (process_shared_preload_libraries_in_progress)
		MigWorkerRegisterLauncher();
}
