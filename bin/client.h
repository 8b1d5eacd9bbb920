/*-------------------------------------------------------------------------
 *
 * client.h
 *		The migrate_ext command-line client: options, connection, commands.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <stdbool.h>

#include "libpq-fe.h"
#include "migfile.h"

/* exit codes */
#define EXIT_OK			0
#define EXIT_ERROR		1
#define EXIT_USAGE		2
#define EXIT_TIMEOUT	3

typedef struct ClientOptions
{
	const char *dbname;			/* -d, --postgres-url: conninfo or URL */
	const char *host;
	const char *port;
	const char *user;
	const char *schema;			/* --schema, default public */
	const char *lock_timeout;
	const char *batch_size;
	const char *batch_delay;
	bool		complete;		/* start/migrate --complete */
	bool		expect_one;		/* migrate --expect-one */
	bool		json;			/* pull, convert --json */
	const char *local;			/* latest --local DIR */
	double		timeout;		/* wait --timeout, < 0 for none */
	bool		quiet;
} ClientOptions;

extern ClientOptions opts;

/* migrate_ext.c */
extern PGconn *client_connect(bool need_extension);
extern PGresult *client_exec(PGconn *conn, const char *sql, int nparams,
							 const char *const *params);
extern void client_report(PGconn *conn, PGresult *res);
extern bool connection_lost(PGconn *conn);

/* commands.c */
extern int	cmd_init(void);
extern int	cmd_start(const char *path);
extern int	cmd_simple(const char *command);
extern int	cmd_status(void);
extern int	cmd_migrate(const char *dir);
extern int	cmd_wait(void);
extern int	cmd_latest(const char *what, const char *url);
extern int	cmd_pull(const char *dir);
extern int	cmd_validate(const char *path);
extern int	cmd_convert(const char *path);

/* wait.c */
extern int	wait_for_jobs(PGconn *conn, bool show_done);

#endif							/* CLIENT_H */
