/*-------------------------------------------------------------------------
 *
 * migrate_ext.c
 *		The migrate_ext command-line client: main, options and connection.
 *
 *		A client for migration files, with pgroll's commands (init, start,
 *		complete, rollback, status, migrate, latest, pull, ...).  It reads
 *		JSON and YAML files and calls the extension's SQL functions; every
 *		check and every change is the server's.  It connects by libpq's
 *		usual means: -d (a conninfo string or URL), --postgres-url, -h, -p,
 *		-U and the PG* environment variables.
 *
 *-------------------------------------------------------------------------
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define CLIENT_VERSION "0.1.0"

ClientOptions opts;

static void usage(FILE *out);
static bool set_session_option(PGconn *conn, const char *guc, const char *value);

static void
usage(FILE *out)
{
	fprintf(out,
			"migrate_ext: zero-downtime schema migrations from files (pgroll's format, JSON or YAML)\n"
			"\n"
			"Usage: migrate_ext [OPTION]... COMMAND [ARG]...\n"
			"\n"
			"Commands:\n"
			"  init                      create the extension in the database\n"
			"  start FILE [--complete]   start the migration in FILE (complete it too)\n"
			"  complete                  complete the active migration\n"
			"  rollback                  roll back the active migration\n"
			"  status                    print the schema's status as JSON\n"
			"  pause, resume             pause or resume the active migration's jobs\n"
			"  wait [--timeout SECONDS]  wait for the active migration's jobs, showing progress\n"
			"  migrate DIR [--complete] [--expect-one]\n"
			"                            apply the files of DIR not yet in the history\n"
			"  latest schema|migration|url [URL] [--local DIR]\n"
			"                            print the latest version schema, migration or a URL using it\n"
			"  pull DIR [--json]         write the history's migrations missing from DIR\n"
			"  validate FILE             check FILE against the live schema, changing nothing\n"
			"  convert [FILE] [--json]   print the SQL in FILE (or standard input) as a migration\n"
			"\n"
			"Connection options:\n"
			"  -d, --dbname=CONNINFO     database name, conninfo string or URL\n"
			"      --postgres-url=URL    the same (pgroll's name)\n"
			"  -h, --host=HOST           server host or socket directory\n"
			"  -p, --port=PORT           server port\n"
			"  -U, --username=USER       user name\n"
			"  (and libpq's PG* environment variables)\n"
			"\n"
			"Options:\n"
			"      --schema=SCHEMA       the schema to migrate (default: public)\n"
			"      --lock-timeout=MS     migrate_ext.lock_timeout for this session\n"
			"      --backfill-batch-size=N   migrate_ext.backfill_batch_size for this session\n"
			"      --backfill-batch-delay=D  migrate_ext.backfill_delay for this session (e.g. 10ms)\n"
			"      --complete            start, migrate: complete the last migration too\n"
			"      --expect-one          migrate: refuse if more than one migration is pending\n"
			"      --timeout=SECONDS     wait: give up after this long (exit code 3)\n"
			"      --local=DIR           latest: read the latest migration from DIR, not the database\n"
			"      --json                pull, convert: write JSON instead of YAML\n"
			"  -q, --quiet               print only errors and requested output\n"
			"      --help, --version\n"
			"\n"
			"Exit codes: 0 success, 1 error, 2 usage error, 3 wait timed out.\n");
}

/*
 * Print a server error with its SQLSTATE, detail and hint, or libpq's
 * message when there is no result.
 */
void
client_report(PGconn *conn, PGresult *res)
{
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (msg)
	{
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);

		fprintf(stderr, "migrate_ext: error: %s (SQLSTATE %s)\n", msg,
				state ? state : "?");
		if (detail)
			fprintf(stderr, "DETAIL: %s\n", detail);
		if (hint)
			fprintf(stderr, "HINT: %s\n", hint);
	}
	else
		fprintf(stderr, "migrate_ext: error: %s", PQerrorMessage(conn));
	if (connection_lost(conn))
		fprintf(stderr, "migrate_ext: the connection to the server was lost\n");
}

bool
connection_lost(PGconn *conn)
{
	return PQstatus(conn) == CONNECTION_BAD;
}

/*
 * Run a statement with text parameters.  Returns the result, or NULL after
 * reporting the error.
 */
PGresult *
client_exec(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	PGresult   *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	client_report(conn, res);
	PQclear(res);
	return NULL;
}

static bool
set_session_option(PGconn *conn, const char *guc, const char *value)
{
	const char *params[2] = {guc, value};
	PGresult   *res;

	if (value == NULL)
		return true;
	res = client_exec(conn, "SELECT pg_catalog.set_config($1, $2, false)", 2, params);
	if (res == NULL)
	{
		fprintf(stderr, "migrate_ext: cannot set %s to \"%s\"\n", guc, value);
		return false;
	}
	PQclear(res);
	return true;
}

/*
 * Connect, apply the session options and, when need_extension, check that
 * the database has the extension.  Exits on failure.
 */
PGconn *
client_connect(bool need_extension)
{
	const char *keys[6];
	const char *vals[6];
	int			n = 0;
	PGconn	   *conn;
	PGresult   *res;

	if (opts.dbname)
	{
		keys[n] = "dbname";
		vals[n++] = opts.dbname;
	}
	if (opts.host)
	{
		keys[n] = "host";
		vals[n++] = opts.host;
	}
	if (opts.port)
	{
		keys[n] = "port";
		vals[n++] = opts.port;
	}
	if (opts.user)
	{
		keys[n] = "user";
		vals[n++] = opts.user;
	}
	keys[n] = "fallback_application_name";
	vals[n++] = "migrate_ext";
	keys[n] = NULL;
	vals[n] = NULL;

	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "migrate_ext: error: cannot connect to the server: %s",
				conn ? PQerrorMessage(conn) : "out of memory\n");
		exit(EXIT_ERROR);
	}
	PQclear(PQexec(conn, "SET client_min_messages = warning"));
	/*
	 * Nothing the client runs is DDL outside migrations (pgroll's client
	 * sets pgroll.no_inferred_migrations); a server whose library predates
	 * the setting refuses it, which changes nothing.
	 */
	PQclear(PQexec(conn, "SET migrate_ext.infer_migrations = off"));

	if (need_extension)
	{
		res = client_exec(conn, "SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'migrate_ext'", 0, NULL);
		if (res == NULL)
			exit(EXIT_ERROR);
		if (PQntuples(res) == 0)
		{
			fprintf(stderr, "migrate_ext: error: the extension migrate_ext is not installed in database \"%s\"\n"
					"HINT: Run \"migrate_ext init\" (CREATE EXTENSION migrate_ext) first.\n",
					PQdb(conn));
			exit(EXIT_ERROR);
		}
		PQclear(res);
	}
	if (!set_session_option(conn, "migrate_ext.lock_timeout", opts.lock_timeout) ||
		!set_session_option(conn, "migrate_ext.backfill_batch_size", opts.batch_size) ||
		!set_session_option(conn, "migrate_ext.backfill_delay", opts.batch_delay))
		exit(EXIT_ERROR);
	return conn;
}

static void
need_args(const char *command, int have, int min, int max, const char *what)
{
	if (have < min || have > max)
	{
		fprintf(stderr, "migrate_ext: %s: %s\nTry \"migrate_ext --help\".\n",
				command, what);
		exit(EXIT_USAGE);
	}
}

int
main(int argc, char **argv)
{
	static struct option long_options[] = {
		{"dbname", required_argument, NULL, 'd'},
		{"postgres-url", required_argument, NULL, 'P'},
		{"host", required_argument, NULL, 'h'},
		{"port", required_argument, NULL, 'p'},
		{"username", required_argument, NULL, 'U'},
		{"schema", required_argument, NULL, 's'},
		{"lock-timeout", required_argument, NULL, 1},
		{"backfill-batch-size", required_argument, NULL, 2},
		{"backfill-batch-delay", required_argument, NULL, 3},
		{"complete", no_argument, NULL, 4},
		{"expect-one", no_argument, NULL, 5},
		{"json", no_argument, NULL, 6},
		{"local", required_argument, NULL, 7},
		{"timeout", required_argument, NULL, 8},
		{"help", no_argument, NULL, 9},
		{"version", no_argument, NULL, 10},
		{"quiet", no_argument, NULL, 'q'},
		{NULL, 0, NULL, 0}
	};
	int			c;
	const char *command;
	int			nargs;
	char	  **args;
	char	   *end;

	opts.schema = "public";
	opts.timeout = -1;
	while ((c = getopt_long(argc, argv, "d:h:p:U:q", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 'd':
			case 'P':
				opts.dbname = optarg;
				break;
			case 'h':
				opts.host = optarg;
				break;
			case 'p':
				opts.port = optarg;
				break;
			case 'U':
				opts.user = optarg;
				break;
			case 's':
				opts.schema = optarg;
				break;
			case 1:
				opts.lock_timeout = optarg;
				break;
			case 2:
				opts.batch_size = optarg;
				break;
			case 3:
				opts.batch_delay = optarg;
				break;
			case 4:
				opts.complete = true;
				break;
			case 5:
				opts.expect_one = true;
				break;
			case 6:
				opts.json = true;
				break;
			case 7:
				opts.local = optarg;
				break;
			case 8:
				opts.timeout = strtod(optarg, &end);
				if (*optarg == '\0' || *end != '\0' || opts.timeout < 0)
				{
					fprintf(stderr, "migrate_ext: --timeout: \"%s\" is not a number of seconds\n", optarg);
					return EXIT_USAGE;
				}
				break;
			case 9:
				usage(stdout);
				return EXIT_OK;
			case 10:
				printf("migrate_ext (client) %s\n", CLIENT_VERSION);
				return EXIT_OK;
			case 'q':
				opts.quiet = true;
				break;
			default:
				fprintf(stderr, "Try \"migrate_ext --help\".\n");
				return EXIT_USAGE;
		}
	}
	if (optind >= argc)
	{
		usage(stderr);
		return EXIT_USAGE;
	}
	command = argv[optind];
	args = argv + optind + 1;
	nargs = argc - optind - 1;

	if (strcmp(command, "init") == 0)
	{
		need_args(command, nargs, 0, 0, "takes no argument");
		return cmd_init();
	}
	if (strcmp(command, "start") == 0)
	{
		need_args(command, nargs, 1, 1, "needs one migration file");
		return cmd_start(args[0]);
	}
	if (strcmp(command, "complete") == 0 || strcmp(command, "rollback") == 0 ||
		strcmp(command, "pause") == 0 || strcmp(command, "resume") == 0)
	{
		need_args(command, nargs, 0, 0, "takes no argument");
		return cmd_simple(command);
	}
	if (strcmp(command, "status") == 0)
	{
		need_args(command, nargs, 0, 0, "takes no argument");
		return cmd_status();
	}
	if (strcmp(command, "migrate") == 0)
	{
		need_args(command, nargs, 1, 1, "needs one directory");
		return cmd_migrate(args[0]);
	}
	if (strcmp(command, "wait") == 0)
	{
		need_args(command, nargs, 0, 0, "takes no argument");
		return cmd_wait();
	}
	if (strcmp(command, "latest") == 0)
	{
		need_args(command, nargs, 1, 2, "needs one of schema, migration or url");
		if (strcmp(args[0], "schema") != 0 && strcmp(args[0], "migration") != 0 &&
			strcmp(args[0], "url") != 0)
			need_args(command, 0, 1, 1, "needs one of schema, migration or url");
		if (nargs == 2 && strcmp(args[0], "url") != 0)
			need_args(command, 0, 1, 1, "takes a URL only after \"url\"");
		return cmd_latest(args[0], nargs == 2 ? args[1] : NULL);
	}
	if (strcmp(command, "pull") == 0)
	{
		need_args(command, nargs, 1, 1, "needs one directory");
		return cmd_pull(args[0]);
	}
	if (strcmp(command, "validate") == 0)
	{
		need_args(command, nargs, 1, 1, "needs one migration file");
		return cmd_validate(args[0]);
	}
	if (strcmp(command, "convert") == 0)
	{
		need_args(command, nargs, 0, 1, "takes at most one SQL file");
		return cmd_convert(nargs == 1 ? args[0] : NULL);
	}
	fprintf(stderr, "migrate_ext: unknown command \"%s\"\nTry \"migrate_ext --help\".\n",
			command);
	return EXIT_USAGE;
}
