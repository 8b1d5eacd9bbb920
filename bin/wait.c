/*-------------------------------------------------------------------------
 *
 * wait.c
 *		migrate_ext wait: wait for the active migration's jobs.
 *
 *		Polls mig.status (which also starts a worker for jobs that have
 *		none) and mig.jobs.  On a terminal it redraws one progress bar per
 *		job (rows done / estimated total, rate, time left); otherwise it
 *		prints a plain line for each job whose progress changed.  It only
 *		reads: a lost connection changes nothing on the server, and wait
 *		can simply be run again.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
sleep_ms(int ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long) (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

/* one job's progress, as text (without a bar) */
static char *
job_line(PGresult *res, int i)
{
	const char *kind = PQgetvalue(res, i, 0);
	const char *table = PQgetvalue(res, i, 1);
	const char *object = PQgetvalue(res, i, 2);
	const char *state = PQgetvalue(res, i, 3);
	const char *done = PQgetvalue(res, i, 4);
	const char *total = PQgetvalue(res, i, 5);
	const char *rate = PQgetvalue(res, i, 6);
	const char *left = PQgetvalue(res, i, 7);
	StrBuf		sb;

	sb_init(&sb);
	sb_appendf(&sb, "%s %s%s%s: %s", kind, object, *object ? " on " : "", table, state);
	if (!PQgetisnull(res, i, 4) && (strcmp(kind, "backfill") == 0 || !PQgetisnull(res, i, 5)))
	{
		sb_appendf(&sb, ", %s", done);
		if (!PQgetisnull(res, i, 5))
			sb_appendf(&sb, " of about %s", total);
		sb_append(&sb, " rows");
	}
	if (!PQgetisnull(res, i, 6) && strcmp(state, "done") != 0)
		sb_appendf(&sb, ", %s rows/s", rate);
	if (!PQgetisnull(res, i, 7))
		sb_appendf(&sb, ", %s s left", left);
	return sb.data;
}

static void
draw_bar(PGresult *res, int i)
{
	const char *state = PQgetvalue(res, i, 3);
	double		done = atof(PQgetvalue(res, i, 4));
	double		total = PQgetisnull(res, i, 5) ? 0 : atof(PQgetvalue(res, i, 5));
	double		frac;
	int			width = 30;
	int			filled;
	int			k;
	char	   *line = job_line(res, i);

	if (strcmp(state, "done") == 0)
		frac = 1;
	else if (total > 0)
		frac = done / total > 1 ? 1 : done / total;
	else
		frac = 0;
	filled = (int) (frac * width);
	printf("\033[K[");
	for (k = 0; k < width; k++)
		putchar(k < filled ? '#' : '.');
	printf("] %3d%% %s\n", (int) (frac * 100), line);
	free(line);
}

/*
 * Wait until the active migration's jobs are done.  Returns EXIT_OK when
 * they are (or when nothing is in progress), EXIT_ERROR when a job failed,
 * the jobs are paused or the connection was lost, EXIT_TIMEOUT after
 * --timeout.
 */
int
wait_for_jobs(PGconn *conn, bool show_done)
{
	const char *params[2] = {opts.schema, NULL};
	bool		tty = isatty(fileno(stdout)) && !opts.quiet;
	double		started = now_seconds();
	int			drawn = 0;
	char	  **last = NULL;
	int			nlast = 0;
	int			rc = EXIT_ERROR;
	int			k;

	for (;;)
	{
		PGresult   *st;
		PGresult   *jobs;
		const char *phase;
		char	   *migration;
		int			n;
		int			i;

		st = client_exec(conn, "SELECT status, migration, phase FROM mig.status($1)", 1, params);
		if (st == NULL)
			break;
		if (strcmp(PQgetvalue(st, 0, 0), "In progress") != 0)
		{
			if (!opts.quiet)
				printf("no migration in progress in schema \"%s\"\n", opts.schema);
			PQclear(st);
			rc = EXIT_OK;
			break;
		}
		migration = xstrdup(PQgetvalue(st, 0, 1));
		phase = PQgetvalue(st, 0, 2);
		params[1] = migration;
		jobs = client_exec(conn,
						   "SELECT kind, \"table\", coalesce(object, ''), state, rows_done, rows_total,"
						   " rows_per_second, round(extract(epoch FROM time_left)), last_error"
						   " FROM mig.jobs WHERE schema = $1 AND migration = $2 ORDER BY seq",
						   2, params);
		if (jobs == NULL)
		{
			PQclear(st);
			free(migration);
			break;
		}
		n = PQntuples(jobs);
		if (tty)
		{
			if (drawn > 0)
				printf("\033[%dA", drawn);
			for (i = 0; i < n; i++)
				draw_bar(jobs, i);
			drawn = n;
			fflush(stdout);
		}
		else if (!opts.quiet)
		{
			/* a line for each job whose progress changed */
			if (nlast != n)
			{
				for (i = 0; i < nlast; i++)
					free(last[i]);
				free(last);
				last = calloc(n ? n : 1, sizeof(char *));
				nlast = n;
			}
			for (i = 0; i < n; i++)
			{
				char	   *line = job_line(jobs, i);

				if (last[i] == NULL || strcmp(last[i], line) != 0)
				{
					printf("%s\n", line);
					free(last[i]);
					last[i] = line;
				}
				else
					free(line);
			}
			fflush(stdout);
		}

		if (strcmp(phase, "ready to complete") == 0)
		{
			if (show_done && !opts.quiet)
				printf("migration \"%s\": %d of %d jobs done, ready to complete\n",
					   migration, n, n);
			rc = EXIT_OK;
		}
		else if (strcmp(phase, "jobs failed") == 0 || strcmp(phase, "jobs paused") == 0)
		{
			bool		failed = strcmp(phase, "jobs failed") == 0;

			for (i = 0; i < n; i++)
				if (!PQgetisnull(jobs, i, 8) && strcmp(PQgetvalue(jobs, i, 3), "done") != 0)
					fprintf(stderr, "migrate_ext: %s %s: %s\n", PQgetvalue(jobs, i, 0),
							PQgetvalue(jobs, i, 1), PQgetvalue(jobs, i, 8));
			fprintf(stderr, "migrate_ext: error: the jobs of migration \"%s\" %s\n"
					"HINT: %s\n", migration, failed ? "failed" : "are paused",
					failed ? "Fix the cause, then run \"migrate_ext resume\" and \"migrate_ext wait\" again (or \"migrate_ext rollback\")."
					: "Run \"migrate_ext resume\", then \"migrate_ext wait\" again.");
			rc = EXIT_ERROR;
		}
		else if (opts.timeout >= 0 && now_seconds() - started >= opts.timeout)
		{
			fprintf(stderr, "migrate_ext: timed out after %g s waiting for the jobs of migration \"%s\" (%s); nothing was changed\n",
					opts.timeout, migration, phase);
			rc = EXIT_TIMEOUT;
		}
		else
			rc = -1;
		PQclear(st);
		PQclear(jobs);
		free(migration);
		params[1] = NULL;
		if (rc != -1)
			break;
		sleep_ms(tty ? 300 : 1000);
	}
	if (connection_lost(conn))
	{
		fprintf(stderr, "migrate_ext: the connection was lost while waiting; nothing was changed on the server\n"
				"HINT: Run \"migrate_ext wait\" again.\n");
		rc = EXIT_ERROR;
	}
	for (k = 0; k < nlast; k++)
		free(last[k]);
	free(last);
	return rc;
}
