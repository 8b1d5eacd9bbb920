/*-------------------------------------------------------------------------
 *
 * migfile.c
 *		Reading a migration file: JSON (.json) or YAML (.yaml, .yml).
 *
 *		The migration's name is the file name without its extension, as
 *		pgroll takes it.  A YAML file is converted to JSON here; a JSON file
 *		is only checked for syntax (to say where an error is), then sent as
 *		it is: every other check is the server's.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migfile.h"

void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
	{
		fprintf(stderr, "migrate_ext: out of memory\n");
		exit(1);
	}
	return p;
}

char *
xstrdup(const char *s)
{
	size_t		n = strlen(s) + 1;
	char	   *p = xmalloc(n);

	memcpy(p, s, n);
	return p;
}

char *
xasprintf(const char *fmt,...)
{
	va_list		ap;
	int			n;
	char	   *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	p = xmalloc(n + 1);
	va_start(ap, fmt);
	vsnprintf(p, n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void
sb_init(StrBuf *sb)
{
	sb->cap = 256;
	sb->len = 0;
	sb->data = xmalloc(sb->cap);
	sb->data[0] = '\0';
}

void
sb_append_len(StrBuf *sb, const char *s, size_t n)
{
	if (sb->len + n + 1 > sb->cap)
	{
		while (sb->len + n + 1 > sb->cap)
			sb->cap *= 2;
		sb->data = realloc(sb->data, sb->cap);
		if (sb->data == NULL)
		{
			fprintf(stderr, "migrate_ext: out of memory\n");
			exit(1);
		}
	}
	memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

void
sb_append(StrBuf *sb, const char *s)
{
	sb_append_len(sb, s, strlen(s));
}

void
sb_appendf(StrBuf *sb, const char *fmt,...)
{
	va_list		ap;
	int			n;
	char	   *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	p = xmalloc(n + 1);
	va_start(ap, fmt);
	vsnprintf(p, n + 1, fmt, ap);
	va_end(ap);
	sb_append_len(sb, p, n);
	free(p);
}

/* append s (n bytes of UTF-8) as a JSON string literal */
void
sb_json_string(StrBuf *sb, const char *s, size_t n)
{
	size_t		i;

	sb_append(sb, "\"");
	for (i = 0; i < n; i++)
	{
		unsigned char ch = (unsigned char) s[i];

		switch (ch)
		{
			case '"':
				sb_append(sb, "\\\"");
				break;
			case '\\':
				sb_append(sb, "\\\\");
				break;
			case '\n':
				sb_append(sb, "\\n");
				break;
			case '\r':
				sb_append(sb, "\\r");
				break;
			case '\t':
				sb_append(sb, "\\t");
				break;
			case '\b':
				sb_append(sb, "\\b");
				break;
			case '\f':
				sb_append(sb, "\\f");
				break;
			default:
				if (ch < 0x20)
					sb_appendf(sb, "\\u%04x", ch);
				else
					sb_append_len(sb, (const char *) &ch, 1);
		}
	}
	sb_append(sb, "\"");
}

void
sb_free(StrBuf *sb)
{
	free(sb->data);
	sb->data = NULL;
	sb->len = sb->cap = 0;
}

static const char *
file_extension(const char *filename)
{
	const char *slash = strrchr(filename, '/');
	const char *dot = strrchr(filename, '.');

	if (dot == NULL || (slash && dot < slash) || dot == (slash ? slash + 1 : filename))
		return "";
	return dot;
}

/* Is this file name one of a migration (.json, .yaml, .yml)? */
bool
migfile_is_migration(const char *filename)
{
	const char *ext = file_extension(filename);

	return strcmp(ext, ".json") == 0 || strcmp(ext, ".yaml") == 0 ||
		strcmp(ext, ".yml") == 0;
}

/* The migration's name: the file name without directory and extension. */
char *
migfile_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *ext = file_extension(base);
	char	   *name = xstrdup(base);

	name[strlen(base) - strlen(ext)] = '\0';
	return name;
}

/*
 * Read a migration file.  On error, returns false with *err set to a
 * message that starts with the file's path.
 */
bool
migfile_read(const char *path, MigFile *mf, char **err)
{
	FILE	   *f;
	StrBuf		text;
	char		buf[8192];
	size_t		n;
	const char *ext = file_extension(path);
	char	   *problem = NULL;

	memset(mf, 0, sizeof(*mf));
	if (!migfile_is_migration(path))
	{
		*err = xasprintf("%s: not a migration file: the name must end in .json, .yaml or .yml", path);
		return false;
	}
	f = fopen(path, "rb");
	if (f == NULL)
	{
		*err = xasprintf("%s: cannot read the file: %s", path, strerror(errno));
		return false;
	}
	sb_init(&text);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_append_len(&text, buf, n);
	if (ferror(f))
	{
		*err = xasprintf("%s: cannot read the file: %s", path, strerror(errno));
		fclose(f);
		sb_free(&text);
		return false;
	}
	fclose(f);

	if (strcmp(ext, ".json") == 0)
	{
		if (!json_check(text.data, text.len, &problem))
		{
			*err = xasprintf("%s: invalid JSON: %s", path, problem);
			free(problem);
			sb_free(&text);
			return false;
		}
		mf->json = text.data;
	}
	else
	{
		StrBuf		json;

		sb_init(&json);
		if (!yaml_to_json(text.data, text.len, &json, &problem))
		{
			*err = xasprintf("%s: invalid YAML: %s", path, problem);
			free(problem);
			sb_free(&json);
			sb_free(&text);
			return false;
		}
		sb_free(&text);
		mf->json = json.data;
	}
	mf->path = xstrdup(path);
	mf->name = migfile_name(path);
	return true;
}

void
migfile_free(MigFile *mf)
{
	free(mf->path);
	free(mf->name);
	free(mf->json);
	memset(mf, 0, sizeof(*mf));
}
