/*-------------------------------------------------------------------------
 *
 * commands.c
 *		The commands of the migrate_ext client.
 *
 *		Each command calls the extension's SQL functions (mig.start,
 *		mig.complete, mig.status, mig.history, mig.validate, ...); no
 *		migration logic is repeated here.  Names and documents are always
 *		passed as parameters.
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client.h"

typedef struct FileList
{
	char	  **names;			/* file names (no directory), sorted */
	int			n;
} FileList;

static int	cmp_str(const void *a, const void *b);
static bool list_dir(const char *dir, FileList *fl);
static bool has_migration_file(const char *dir, const char *name);
static char *dir_path(const char *dir, const char *file);
static bool start_one(PGconn *conn, MigFile *mf);
static bool complete_active(PGconn *conn);

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static char *
dir_path(const char *dir, const char *file)
{
	size_t		n = strlen(dir);

	return xasprintf("%s%s%s", dir, (n > 0 && dir[n - 1] == '/') ? "" : "/", file);
}

/* The migration files of a directory, in file-name order. */
static bool
list_dir(const char *dir, FileList *fl)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	int			i;

	fl->names = NULL;
	fl->n = 0;
	if (d == NULL)
	{
		fprintf(stderr, "migrate_ext: error: cannot read directory \"%s\": %s\n",
				dir, strerror(errno));
		return false;
	}
	while ((de = readdir(d)) != NULL)
	{
		if (de->d_name[0] == '.' || !migfile_is_migration(de->d_name))
			continue;
		fl->names = realloc(fl->names, (fl->n + 1) * sizeof(char *));
		if (fl->names == NULL)
		{
			fprintf(stderr, "migrate_ext: out of memory\n");
			exit(EXIT_ERROR);
		}
		fl->names[fl->n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (fl->n > 0)
		qsort(fl->names, fl->n, sizeof(char *), cmp_str);
	for (i = 1; i < fl->n; i++)
	{
		char	   *a = migfile_name(fl->names[i - 1]);
		char	   *b = migfile_name(fl->names[i]);
		bool		same = strcmp(a, b) == 0;

		free(a);
		free(b);
		if (same)
		{
			fprintf(stderr, "migrate_ext: error: directory \"%s\" has two files for one migration: \"%s\" and \"%s\"\n",
					dir, fl->names[i - 1], fl->names[i]);
			return false;
		}
	}
	return true;
}

int
cmd_init(void)
{
	PGconn	   *conn = client_connect(false);
	PGresult   *res;
	bool		preloaded;

	res = client_exec(conn, "CREATE EXTENSION IF NOT EXISTS migrate_ext", 0, NULL);
	if (res == NULL)
	{
		fprintf(stderr, "HINT: Install migrate_ext on the database server (make install), add shared_preload_libraries = 'migrate_ext' to its postgresql.conf and restart it; CREATE EXTENSION needs a superuser.\n");
		PQfinish(conn);
		return EXIT_ERROR;
	}
	PQclear(res);
	res = client_exec(conn,
					  "SELECT 'migrate_ext' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ','))",
					  0, NULL);
	if (res == NULL)
	{
		PQfinish(conn);
		return EXIT_ERROR;
	}
	preloaded = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!opts.quiet)
		printf("migrate_ext is installed in database \"%s\" (schema mig)\n", PQdb(conn));
	if (!preloaded)
		fprintf(stderr, "migrate_ext: warning: the server does not preload the library migrate_ext\n"
				"DETAIL: Migrations work, but background jobs that a server restart interrupts are restarted only by the next \"migrate_ext status\", \"wait\", \"complete\" or \"resume\".\n"
				"HINT: Add shared_preload_libraries = 'migrate_ext' to postgresql.conf and restart the server.\n");
	PQfinish(conn);
	return EXIT_OK;
}

/* mig.start for one file; prints the new version schema */
static bool
start_one(PGconn *conn, MigFile *mf)
{
	const char *params[3] = {mf->name, mf->json, opts.schema};
	PGresult   *res;

	res = client_exec(conn, "SELECT mig.start($1, $2::jsonb, $3)", 3, params);
	if (res == NULL)
	{
		fprintf(stderr, "migrate_ext: migration \"%s\" (%s) was not started; nothing was changed\n",
				mf->name, mf->path);
		return false;
	}
	if (!opts.quiet)
		printf("started migration \"%s\": new version of the schema available under search_path %s\n",
			   mf->name, PQgetvalue(res, 0, 0));
	PQclear(res);
	return true;
}

/* wait for the jobs, then mig.complete */
static bool
complete_active(PGconn *conn)
{
	const char *params[1] = {opts.schema};
	PGresult   *res;

	if (wait_for_jobs(conn, false) != EXIT_OK)
		return false;
	res = client_exec(conn, "SELECT mig.complete($1)", 1, params);
	if (res == NULL)
		return false;
	if (!opts.quiet)
		printf("completed: %s is the current version of schema \"%s\"\n",
			   PQgetvalue(res, 0, 0), opts.schema);
	PQclear(res);
	return true;
}

int
cmd_start(const char *path)
{
	MigFile		mf;
	char	   *err;
	PGconn	   *conn;
	bool		ok;

	if (!migfile_read(path, &mf, &err))
	{
		fprintf(stderr, "migrate_ext: error: %s\n", err);
		return EXIT_ERROR;
	}
	conn = client_connect(true);
	ok = start_one(conn, &mf) && (!opts.complete || complete_active(conn));
	migfile_free(&mf);
	PQfinish(conn);
	return ok ? EXIT_OK : EXIT_ERROR;
}

/* complete, rollback, pause, resume */
int
cmd_simple(const char *command)
{
	PGconn	   *conn = client_connect(true);
	const char *params[1] = {opts.schema};
	char	   *sql = xasprintf("SELECT mig.%s($1)", command);
	PGresult   *res = client_exec(conn, sql, 1, params);

	free(sql);
	if (res == NULL)
	{
		PQfinish(conn);
		return EXIT_ERROR;
	}
	if (!opts.quiet)
	{
		const char *v = PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0);

		if (strcmp(command, "complete") == 0)
			printf("completed: %s is the current version of schema \"%s\"\n", v, opts.schema);
		else if (strcmp(command, "rollback") == 0)
			printf("rolled back: %s\n", *v ? v : "the base schema is the current version");
		else
			printf("%s\n", v);
	}
	PQclear(res);
	PQfinish(conn);
	return EXIT_OK;
}

static void
print_json_member(const char *key, PGresult *res, int col, bool last)
{
	StrBuf		sb;

	sb_init(&sb);
	if (PQgetisnull(res, 0, col))
		sb_append(&sb, "null");
	else
		sb_json_string(&sb, PQgetvalue(res, 0, col), strlen(PQgetvalue(res, 0, col)));
	printf("  \"%s\": %s%s\n", key, sb.data, last ? "" : ",");
	sb_free(&sb);
}

int
cmd_status(void)
{
	PGconn	   *conn = client_connect(true);
	const char *params[1] = {opts.schema};
	PGresult   *res = client_exec(conn, "SELECT schema, version, status, migration, phase, jobs FROM mig.status($1)", 1, params);

	if (res == NULL)
	{
		PQfinish(conn);
		return EXIT_ERROR;
	}
	printf("{\n");
	print_json_member("Schema", res, 0, false);
	print_json_member("Version", res, 1, false);
	print_json_member("Status", res, 2, false);
	print_json_member("Migration", res, 3, false);
	print_json_member("Phase", res, 4, false);
	print_json_member("Jobs", res, 5, true);
	printf("}\n");
	PQclear(res);
	PQfinish(conn);
	return EXIT_OK;
}

int
cmd_wait(void)
{
	PGconn	   *conn = client_connect(true);
	int			rc = wait_for_jobs(conn, true);

	PQfinish(conn);
	return rc;
}

int
cmd_migrate(const char *dir)
{
	FileList	fl;
	PGconn	   *conn;
	PGresult   *hist;
	const char *params[1] = {opts.schema};
	int			nhist;
	int			i;
	int			npending;
	MigFile    *files;
	int			rc = EXIT_OK;

	if (!list_dir(dir, &fl))
		return EXIT_ERROR;
	conn = client_connect(true);
	/* the type column is 0.3.0's: an older history has no inferred rows */
	hist = client_exec(conn, "SELECT h.name, h.status,"
					   " COALESCE(pg_catalog.to_jsonb(h) OPERATOR(pg_catalog.->>) 'migration_type', 'pgroll')"
					   " FROM mig.history($1) h ORDER BY h.depth DESC", 1, params);
	if (hist == NULL)
	{
		PQfinish(conn);
		return EXIT_ERROR;
	}

	/*
	 * The history must be a prefix of the directory, leaving out inferred
	 * migrations (DDL run outside migrations) that have no file there;
	 * "pull" writes them, and then they must be in their place.  nhist
	 * counts the files the history accounts for.
	 */
	nhist = 0;
	for (i = 0; i < PQntuples(hist); i++)
	{
		const char *applied = PQgetvalue(hist, i, 0);
		char	   *name = nhist < fl.n ? migfile_name(fl.names[nhist]) : NULL;

		if (name != NULL && strcmp(name, applied) == 0)
		{
			nhist++;
			free(name);
			continue;
		}
		if (strcmp(PQgetvalue(hist, i, 2), "inferred") == 0 &&
			!has_migration_file(dir, applied))
		{
			free(name);
			continue;
		}
		if (name == NULL)
			fprintf(stderr, "migrate_ext: error: directory \"%s\" does not match the history of schema \"%s\": migration %d of the history, \"%s\", has no file in the directory (it has %d migration files)\n",
					dir, opts.schema, i + 1, applied, fl.n);
		else
			fprintf(stderr, "migrate_ext: error: directory \"%s\" does not match the history of schema \"%s\": migration %d of the history is \"%s\", but file %d of the directory is \"%s\"\n",
					dir, opts.schema, i + 1, applied, nhist + 1, fl.names[nhist]);
		fprintf(stderr, "HINT: The directory must hold the migrations already applied first, in the order they were applied (file-name order); \"migrate_ext pull\" writes them.\n");
		free(name);
		PQclear(hist);
		PQfinish(conn);
		return EXIT_ERROR;
	}
	i = PQntuples(hist) - 1;
	if (i >= 0 && strcmp(PQgetvalue(hist, i, 1), "in_progress") == 0)
	{
		if (!opts.quiet)
			printf("migration \"%s\" is in progress in schema \"%s\": nothing to do until it is completed (migrate_ext complete) or rolled back (migrate_ext rollback)\n",
				   PQgetvalue(hist, i, 0), opts.schema);
		PQclear(hist);
		PQfinish(conn);
		return EXIT_OK;
	}
	PQclear(hist);

	npending = fl.n - nhist;
	if (npending == 0)
	{
		if (!opts.quiet)
			printf("schema \"%s\" is up to date: all %d migrations of \"%s\" are applied\n",
				   opts.schema, nhist, dir);
		PQfinish(conn);
		return EXIT_OK;
	}
	if (opts.expect_one && npending > 1)
	{
		fprintf(stderr, "migrate_ext: error: %d migrations are pending in \"%s\" (the first is \"%s\"), but --expect-one allows one; nothing was applied\n",
				npending, dir, fl.names[nhist]);
		PQfinish(conn);
		return EXIT_ERROR;
	}

	/* read every pending file before changing anything */
	files = calloc(npending, sizeof(MigFile));
	for (i = 0; i < npending; i++)
	{
		char	   *path = dir_path(dir, fl.names[nhist + i]);
		char	   *err;

		if (!migfile_read(path, &files[i], &err))
		{
			fprintf(stderr, "migrate_ext: error: %s\nmigrate_ext: nothing was applied\n", err);
			PQfinish(conn);
			return EXIT_ERROR;
		}
		free(path);
	}
	for (i = 0; i < npending; i++)
	{
		bool		last = (i == npending - 1);

		if (!start_one(conn, &files[i]) ||
			((!last || opts.complete) && !complete_active(conn)))
		{
			rc = EXIT_ERROR;
			break;
		}
	}
	for (i = 0; i < npending; i++)
		migfile_free(&files[i]);
	free(files);
	PQfinish(conn);
	return rc;
}

static void
append_pct(StrBuf *sb, const char *s)
{
	for (; *s; s++)
	{
		unsigned char ch = (unsigned char) *s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			(ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~')
			sb_append_len(sb, (const char *) &ch, 1);
		else
			sb_appendf(sb, "%%%02X", ch);
	}
}

static bool
is_url(const char *s)
{
	return s && (strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0);
}

int
cmd_latest(const char *what, const char *url)
{
	char	   *migration = NULL;
	char	   *schema = NULL;
	PGconn	   *conn = NULL;
	StrBuf		sb;

	if (url)
		opts.dbname = url;
	if (opts.local)
	{
		FileList	fl;
		MigFile		mf;
		char	   *path;
		char	   *err;
		char	   *vs;

		if (!list_dir(opts.local, &fl))
			return EXIT_ERROR;
		if (fl.n == 0)
		{
			fprintf(stderr, "migrate_ext: error: directory \"%s\" has no migration files\n", opts.local);
			return EXIT_ERROR;
		}
		path = dir_path(opts.local, fl.names[fl.n - 1]);
		if (!migfile_read(path, &mf, &err))
		{
			fprintf(stderr, "migrate_ext: error: %s\n", err);
			return EXIT_ERROR;
		}
		migration = xstrdup(mf.name);
		vs = json_top_string(mf.json, "version_schema");
		schema = xasprintf("%s_%s", opts.schema, vs ? vs : mf.name);
		free(vs);
		migfile_free(&mf);
	}
	else
	{
		const char *params[1] = {opts.schema};
		PGresult   *res;

		conn = client_connect(true);
		/* the latest migration of its own: inferred ones have no version */
		res = client_exec(conn, "SELECT h.name, h.version_schema FROM mig.history($1) h"
						  " WHERE COALESCE(pg_catalog.to_jsonb(h) OPERATOR(pg_catalog.->>) 'migration_type', 'pgroll')"
						  " OPERATOR(pg_catalog.<>) 'inferred'"
						  " ORDER BY h.depth LIMIT 1", 1, params);
		if (res == NULL)
		{
			PQfinish(conn);
			return EXIT_ERROR;
		}
		if (PQntuples(res) == 0)
		{
			fprintf(stderr, "migrate_ext: error: schema \"%s\" has no migrations\n", opts.schema);
			PQclear(res);
			PQfinish(conn);
			return EXIT_ERROR;
		}
		migration = xstrdup(PQgetvalue(res, 0, 0));
		schema = xstrdup(PQgetvalue(res, 0, 1));
		PQclear(res);
	}

	if (strcmp(what, "migration") == 0)
		printf("%s\n", migration);
	else if (strcmp(what, "schema") == 0)
		printf("%s\n", schema);
	else
	{
		sb_init(&sb);
		if (is_url(opts.dbname))
		{
			sb_append(&sb, opts.dbname);
			sb_append(&sb, strchr(opts.dbname, '?') ? "&" : "?");
		}
		else
		{
			const char *host;
			const char *port;
			const char *user;
			const char *db;

			if (conn == NULL)
				conn = client_connect(false);
			host = PQhost(conn);
			port = PQport(conn);
			user = PQuser(conn);
			db = PQdb(conn);
			sb_append(&sb, "postgresql://");
			if (user && *user)
			{
				append_pct(&sb, user);
				sb_append(&sb, "@");
			}
			if (host && *host && host[0] != '/')
			{
				append_pct(&sb, host);
				if (port && *port)
					sb_appendf(&sb, ":%s", port);
			}
			sb_append(&sb, "/");
			append_pct(&sb, db ? db : "");
			sb_append(&sb, "?");
			if (host && host[0] == '/')
			{
				sb_append(&sb, "host=");
				append_pct(&sb, host);
				if (port && *port)
					sb_appendf(&sb, "&port=%s", port);
				sb_append(&sb, "&");
			}
		}
		sb_append(&sb, "options=");
		{
			char	   *opt = xasprintf("-csearch_path=%s", schema);

			append_pct(&sb, opt);
			free(opt);
		}
		printf("%s\n", sb.data);
		sb_free(&sb);
	}
	free(migration);
	free(schema);
	if (conn)
		PQfinish(conn);
	return EXIT_OK;
}

/* Does dir hold a file for this migration, whatever its format? */
static bool
has_migration_file(const char *dir, const char *name)
{
	static const char *const exts[] = {".json", ".yaml", ".yml"};
	int			i;

	for (i = 0; i < 3; i++)
	{
		char	   *path = xasprintf("%s/%s%s", dir, name, exts[i]);
		struct stat st;
		bool		found = stat(path, &st) == 0;

		free(path);
		if (found)
			return true;
	}
	return false;
}

int
cmd_pull(const char *dir)
{
	PGconn	   *conn;
	PGresult   *res;
	const char *params[1] = {opts.schema};
	int			i;
	int			written = 0;
	struct stat st;

	if (stat(dir, &st) != 0)
	{
		if (mkdir(dir, 0777) != 0)
		{
			fprintf(stderr, "migrate_ext: error: cannot create directory \"%s\": %s\n", dir, strerror(errno));
			return EXIT_ERROR;
		}
	}
	else if (!S_ISDIR(st.st_mode))
	{
		fprintf(stderr, "migrate_ext: error: \"%s\" is not a directory\n", dir);
		return EXIT_ERROR;
	}
	conn = client_connect(true);
	res = client_exec(conn,
					  opts.json ?
					  "SELECT h.name, pg_catalog.jsonb_pretty(m.migration) FROM mig.history($1) h"
					  " JOIN mig.migrations m ON m.schema = $1 AND m.name = h.name ORDER BY h.depth DESC"
					  : "SELECT h.name, m.migration::text FROM mig.history($1) h"
					  " JOIN mig.migrations m ON m.schema = $1 AND m.name = h.name ORDER BY h.depth DESC",
					  1, params);
	if (res == NULL)
	{
		PQfinish(conn);
		return EXIT_ERROR;
	}
	for (i = 0; i < PQntuples(res); i++)
	{
		const char *name = PQgetvalue(res, i, 0);
		const char *doc = PQgetvalue(res, i, 1);
		char	   *path;
		FILE	   *f;
		StrBuf		out;
		char	   *err;

		if (strchr(name, '/') != NULL || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		{
			fprintf(stderr, "migrate_ext: warning: migration \"%s\" has a name that cannot be a file name; skipped\n", name);
			continue;
		}
		if (has_migration_file(dir, name))
			continue;
		sb_init(&out);
		if (opts.json)
		{
			sb_append(&out, doc);
			sb_append(&out, "\n");
		}
		else if (!json_to_yaml(doc, &out, &err))
		{
			fprintf(stderr, "migrate_ext: error: migration \"%s\": %s\n", name, err);
			PQclear(res);
			PQfinish(conn);
			return EXIT_ERROR;
		}
		path = xasprintf("%s/%s%s", dir, name, opts.json ? ".json" : ".yaml");
		f = fopen(path, "w");
		if (f == NULL || fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0)
		{
			fprintf(stderr, "migrate_ext: error: cannot write \"%s\": %s\n", path, strerror(errno));
			PQclear(res);
			PQfinish(conn);
			return EXIT_ERROR;
		}
		if (!opts.quiet)
			printf("wrote %s\n", path);
		written++;
		free(path);
		sb_free(&out);
	}
	if (!opts.quiet)
		printf("%d of %d migrations of schema \"%s\" written to %s\n",
			   written, PQntuples(res), opts.schema, dir);
	PQclear(res);
	PQfinish(conn);
	return EXIT_OK;
}

int
cmd_validate(const char *path)
{
	MigFile		mf;
	char	   *err;
	PGconn	   *conn;
	PGresult   *res;
	const char *params[3];
	int			i;
	int			n;

	if (!migfile_read(path, &mf, &err))
	{
		fprintf(stderr, "migrate_ext: error: %s\n", err);
		return EXIT_ERROR;
	}
	conn = client_connect(true);
	params[0] = mf.name;
	params[1] = mf.json;
	params[2] = opts.schema;
	res = client_exec(conn, "SELECT sqlstate, message, detail, hint FROM mig.validate($1, $2::jsonb, $3)", 3, params);
	if (res == NULL)
	{
		migfile_free(&mf);
		PQfinish(conn);
		return EXIT_ERROR;
	}
	n = PQntuples(res);
	for (i = 0; i < n; i++)
	{
		fprintf(stderr, "%s: error %s: %s\n", path, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
		if (!PQgetisnull(res, i, 2))
			fprintf(stderr, "DETAIL: %s\n", PQgetvalue(res, i, 2));
		if (!PQgetisnull(res, i, 3))
			fprintf(stderr, "HINT: %s\n", PQgetvalue(res, i, 3));
	}
	if (n == 0 && !opts.quiet)
		printf("%s: valid: migration \"%s\" can start on schema \"%s\" (checked, then rolled back)\n",
			   path, mf.name, opts.schema);
	PQclear(res);
	migfile_free(&mf);
	PQfinish(conn);
	return n == 0 ? EXIT_OK : EXIT_ERROR;
}

/*
 * convert [FILE]: the SQL in FILE (standard input without one) as a
 * migration document, from mig.convert, in YAML (JSON with --json) on
 * standard output.  The server parses the SQL; the server's warnings (a
 * "sql" operation that can't share its migration) go to standard error.
 */
int
cmd_convert(const char *path)
{
	FILE	   *in = stdin;
	StrBuf		sql;
	StrBuf		out;
	char		chunk[8192];
	size_t		n;
	PGconn	   *conn;
	PGresult   *res;
	const char *params[1];
	char	   *err;

	if (path != NULL && strcmp(path, "-") != 0)
	{
		in = fopen(path, "r");
		if (in == NULL)
		{
			fprintf(stderr, "migrate_ext: error: cannot read \"%s\": %s\n", path, strerror(errno));
			return EXIT_ERROR;
		}
	}
	sb_init(&sql);
	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
		sb_append_len(&sql, chunk, n);
	if (ferror(in))
	{
		fprintf(stderr, "migrate_ext: error: cannot read \"%s\": %s\n",
				path ? path : "standard input", strerror(errno));
		sb_free(&sql);
		return EXIT_ERROR;
	}
	if (in != stdin)
		fclose(in);
	if (strlen(sql.data) != sql.len)
	{
		fprintf(stderr, "migrate_ext: error: \"%s\" contains a zero byte\n",
				path ? path : "standard input");
		sb_free(&sql);
		return EXIT_ERROR;
	}

	conn = client_connect(true);
	params[0] = sql.data;
	res = client_exec(conn, opts.json ?
					  "SELECT pg_catalog.jsonb_pretty(mig.convert($1))" :
					  "SELECT mig.convert($1)::text", 1, params);
	sb_free(&sql);
	if (res == NULL)
	{
		PQfinish(conn);
		return EXIT_ERROR;
	}
	sb_init(&out);
	if (opts.json)
	{
		sb_append(&out, PQgetvalue(res, 0, 0));
		sb_append(&out, "\n");
	}
	else if (!json_to_yaml(PQgetvalue(res, 0, 0), &out, &err))
	{
		fprintf(stderr, "migrate_ext: error: %s\n", err);
		PQclear(res);
		PQfinish(conn);
		return EXIT_ERROR;
	}
	fwrite(out.data, 1, out.len, stdout);
	sb_free(&out);
	PQclear(res);
	PQfinish(conn);
	return EXIT_OK;
}
