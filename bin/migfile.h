/*-------------------------------------------------------------------------
 *
 * migfile.h
 *		Reading migration files (JSON or YAML) for the migrate_ext client.
 *
 *-------------------------------------------------------------------------
 */
#ifndef MIGFILE_H
#define MIGFILE_H

#include <stdbool.h>
#include <stddef.h>

/* a growable string */
typedef struct StrBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} StrBuf;

extern void sb_init(StrBuf *sb);
extern void sb_append(StrBuf *sb, const char *s);
extern void sb_append_len(StrBuf *sb, const char *s, size_t n);
extern void sb_appendf(StrBuf *sb, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern void sb_json_string(StrBuf *sb, const char *s, size_t n);
extern void sb_free(StrBuf *sb);

/* a migration file: its name (the file name without extension) and JSON */
typedef struct MigFile
{
	char	   *path;
	char	   *name;
	char	   *json;
} MigFile;

extern bool migfile_is_migration(const char *filename);
extern char *migfile_name(const char *path);
extern bool migfile_read(const char *path, MigFile *mf, char **err);
extern void migfile_free(MigFile *mf);

/* yaml_json.c */
extern bool yaml_to_json(const char *text, size_t len, StrBuf *out, char **err);
extern bool json_to_yaml(const char *json, StrBuf *out, char **err);

/* json_check.c */
extern bool json_check(const char *text, size_t len, char **err);
extern char *json_top_string(const char *text, const char *key);

extern char *xstrdup(const char *s);
extern void *xmalloc(size_t n);
extern char *xasprintf(const char *fmt,...)
			__attribute__((format(printf, 1, 2)));

#endif							/* MIGFILE_H */
