/*-------------------------------------------------------------------------
 *
 * json_check.c
 *		Syntax check of a JSON migration file, with line and column.
 *
 *		The server parses the document (mig.start takes jsonb); this only
 *		finds a syntax error before anything is sent, to say where it is in
 *		the file.  json_top_string reads one string member of the top-level
 *		object (version_schema, for "latest --local").
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migfile.h"

#define JSON_MAX_DEPTH 1000

typedef struct JsonParser
{
	const char *s;
	size_t		len;
	size_t		pos;
	size_t		line;
	size_t		linestart;
	char	   *err;
	const char *want_key;		/* capture this top-level string member */
	char	   *found;
} JsonParser;

static bool jp_value(JsonParser *jp, int depth, StrBuf *capture);

static bool
jp_fail(JsonParser *jp, const char *what)
{
	if (jp->err == NULL)
	{
		if (jp->pos >= jp->len)
			jp->err = xasprintf("line %zu, column %zu: %s (at the end of the file)",
								jp->line, jp->pos - jp->linestart + 1, what);
		else
			jp->err = xasprintf("line %zu, column %zu: %s",
								jp->line, jp->pos - jp->linestart + 1, what);
	}
	return false;
}

static void
jp_ws(JsonParser *jp)
{
	while (jp->pos < jp->len)
	{
		char		ch = jp->s[jp->pos];

		if (ch == '\n')
		{
			jp->pos++;
			jp->line++;
			jp->linestart = jp->pos;
		}
		else if (ch == ' ' || ch == '\t' || ch == '\r')
			jp->pos++;
		else
			break;
	}
}

static void
put_utf8(StrBuf *sb, unsigned long cp)
{
	char		b[4];

	if (cp < 0x80)
	{
		b[0] = (char) cp;
		sb_append_len(sb, b, 1);
	}
	else if (cp < 0x800)
	{
		b[0] = (char) (0xC0 | (cp >> 6));
		b[1] = (char) (0x80 | (cp & 0x3F));
		sb_append_len(sb, b, 2);
	}
	else if (cp < 0x10000)
	{
		b[0] = (char) (0xE0 | (cp >> 12));
		b[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char) (0x80 | (cp & 0x3F));
		sb_append_len(sb, b, 3);
	}
	else
	{
		b[0] = (char) (0xF0 | (cp >> 18));
		b[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
		b[3] = (char) (0x80 | (cp & 0x3F));
		sb_append_len(sb, b, 4);
	}
}

static bool
jp_hex4(JsonParser *jp, unsigned long *cp)
{
	size_t		i;

	*cp = 0;
	for (i = 0; i < 4; i++)
	{
		char		ch = jp->pos < jp->len ? jp->s[jp->pos] : '\0';

		if (!isxdigit((unsigned char) ch))
			return jp_fail(jp, "\\u must be followed by four hexadecimal digits");
		*cp = *cp * 16 + (isdigit((unsigned char) ch) ? ch - '0' : (tolower((unsigned char) ch) - 'a' + 10));
		jp->pos++;
	}
	return true;
}

/* a string; its decoded value is appended to capture if not NULL */
static bool
jp_string(JsonParser *jp, StrBuf *capture)
{
	jp->pos++;					/* the opening quote */
	for (;;)
	{
		unsigned char ch;

		if (jp->pos >= jp->len)
			return jp_fail(jp, "unterminated string");
		ch = (unsigned char) jp->s[jp->pos];
		if (ch == '"')
		{
			jp->pos++;
			return true;
		}
		if (ch < 0x20)
			return jp_fail(jp, ch == '\n' ? "line break inside a string (write it as \\n)"
						   : "control character inside a string");
		if (ch == '\\')
		{
			char		e;

			jp->pos++;
			e = jp->pos < jp->len ? jp->s[jp->pos] : '\0';
			jp->pos++;
			switch (e)
			{
				case '"':
				case '\\':
				case '/':
					if (capture)
						sb_append_len(capture, &e, 1);
					break;
				case 'b':
					if (capture)
						sb_append(capture, "\b");
					break;
				case 'f':
					if (capture)
						sb_append(capture, "\f");
					break;
				case 'n':
					if (capture)
						sb_append(capture, "\n");
					break;
				case 'r':
					if (capture)
						sb_append(capture, "\r");
					break;
				case 't':
					if (capture)
						sb_append(capture, "\t");
					break;
				case 'u':
					{
						unsigned long cp;

						if (!jp_hex4(jp, &cp))
							return false;
						if (cp >= 0xD800 && cp < 0xDC00 &&
							jp->pos + 1 < jp->len && jp->s[jp->pos] == '\\' &&
							jp->s[jp->pos + 1] == 'u')
						{
							unsigned long lo;

							jp->pos += 2;
							if (!jp_hex4(jp, &lo))
								return false;
							cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
						}
						if (capture)
							put_utf8(capture, cp);
					}
					break;
				default:
					jp->pos--;
					return jp_fail(jp, "invalid escape sequence in a string");
			}
			continue;
		}
		if (capture)
			sb_append_len(capture, (const char *) &ch, 1);
		jp->pos++;
	}
}

static bool
jp_number(JsonParser *jp)
{
	size_t		start = jp->pos;

	if (jp->s[jp->pos] == '-')
		jp->pos++;
	if (jp->pos < jp->len && jp->s[jp->pos] == '0')
		jp->pos++;
	else if (jp->pos < jp->len && isdigit((unsigned char) jp->s[jp->pos]))
		while (jp->pos < jp->len && isdigit((unsigned char) jp->s[jp->pos]))
			jp->pos++;
	else
	{
		jp->pos = start;
		return jp_fail(jp, "invalid number");
	}
	if (jp->pos < jp->len && jp->s[jp->pos] == '.')
	{
		jp->pos++;
		if (jp->pos >= jp->len || !isdigit((unsigned char) jp->s[jp->pos]))
			return jp_fail(jp, "invalid number: digits must follow the decimal point");
		while (jp->pos < jp->len && isdigit((unsigned char) jp->s[jp->pos]))
			jp->pos++;
	}
	if (jp->pos < jp->len && (jp->s[jp->pos] == 'e' || jp->s[jp->pos] == 'E'))
	{
		jp->pos++;
		if (jp->pos < jp->len && (jp->s[jp->pos] == '+' || jp->s[jp->pos] == '-'))
			jp->pos++;
		if (jp->pos >= jp->len || !isdigit((unsigned char) jp->s[jp->pos]))
			return jp_fail(jp, "invalid number: digits must follow the exponent");
		while (jp->pos < jp->len && isdigit((unsigned char) jp->s[jp->pos]))
			jp->pos++;
	}
	return true;
}

static bool
jp_value(JsonParser *jp, int depth, StrBuf *capture)
{
	char		ch;

	if (depth > JSON_MAX_DEPTH)
		return jp_fail(jp, "nested too deeply");
	jp_ws(jp);
	if (jp->pos >= jp->len)
		return jp_fail(jp, "expected a value");
	ch = jp->s[jp->pos];
	if (ch == '{')
	{
		jp->pos++;
		jp_ws(jp);
		if (jp->pos < jp->len && jp->s[jp->pos] == '}')
		{
			jp->pos++;
			return true;
		}
		for (;;)
		{
			StrBuf		key;
			bool		want;

			jp_ws(jp);
			if (jp->pos >= jp->len || jp->s[jp->pos] != '"')
				return jp_fail(jp, "expected a member name in double quotes");
			sb_init(&key);
			if (!jp_string(jp, &key))
			{
				sb_free(&key);
				return false;
			}
			want = depth == 0 && jp->want_key && strcmp(key.data, jp->want_key) == 0;
			sb_free(&key);
			jp_ws(jp);
			if (jp->pos >= jp->len || jp->s[jp->pos] != ':')
				return jp_fail(jp, "expected ':' after a member name");
			jp->pos++;
			jp_ws(jp);
			if (want && jp->pos < jp->len && jp->s[jp->pos] == '"')
			{
				StrBuf		val;

				sb_init(&val);
				if (!jp_string(jp, &val))
				{
					sb_free(&val);
					return false;
				}
				free(jp->found);
				jp->found = xstrdup(val.data);
				sb_free(&val);
			}
			else if (!jp_value(jp, depth + 1, NULL))
				return false;
			jp_ws(jp);
			if (jp->pos < jp->len && jp->s[jp->pos] == ',')
			{
				jp->pos++;
				continue;
			}
			if (jp->pos < jp->len && jp->s[jp->pos] == '}')
			{
				jp->pos++;
				return true;
			}
			return jp_fail(jp, "expected ',' or '}' in an object");
		}
	}
	if (ch == '[')
	{
		jp->pos++;
		jp_ws(jp);
		if (jp->pos < jp->len && jp->s[jp->pos] == ']')
		{
			jp->pos++;
			return true;
		}
		for (;;)
		{
			if (!jp_value(jp, depth + 1, NULL))
				return false;
			jp_ws(jp);
			if (jp->pos < jp->len && jp->s[jp->pos] == ',')
			{
				jp->pos++;
				continue;
			}
			if (jp->pos < jp->len && jp->s[jp->pos] == ']')
			{
				jp->pos++;
				return true;
			}
			return jp_fail(jp, "expected ',' or ']' in an array");
		}
	}
	if (ch == '"')
		return jp_string(jp, capture);
	if (ch == '-' || isdigit((unsigned char) ch))
		return jp_number(jp);
	if (jp->len - jp->pos >= 4 && strncmp(jp->s + jp->pos, "true", 4) == 0)
	{
		jp->pos += 4;
		return true;
	}
	if (jp->len - jp->pos >= 5 && strncmp(jp->s + jp->pos, "false", 5) == 0)
	{
		jp->pos += 5;
		return true;
	}
	if (jp->len - jp->pos >= 4 && strncmp(jp->s + jp->pos, "null", 4) == 0)
	{
		jp->pos += 4;
		return true;
	}
	return jp_fail(jp, "expected a value (an object, array, string, number, true, false or null)");
}

static bool
jp_document(JsonParser *jp)
{
	jp->line = 1;
	jp_ws(jp);
	if (jp->pos >= jp->len)
		return jp_fail(jp, "the file is empty");
	if (jp->s[jp->pos] != '{')
		return jp_fail(jp, "a migration must be a JSON object ({\"operations\": [...]})");
	if (!jp_value(jp, 0, NULL))
		return false;
	jp_ws(jp);
	if (jp->pos < jp->len)
		return jp_fail(jp, "unexpected text after the end of the JSON document");
	return true;
}

/* Check the syntax of a JSON migration; on error, *err says where. */
bool
json_check(const char *text, size_t len, char **err)
{
	JsonParser	jp;

	memset(&jp, 0, sizeof(jp));
	jp.s = text;
	jp.len = len;
	if (memchr(text, '\0', len) != NULL)
	{
		*err = xstrdup("the file contains a NUL byte");
		return false;
	}
	if (!jp_document(&jp))
	{
		*err = jp.err;
		return false;
	}
	return true;
}

/* The top-level string member "key" of a JSON object, or NULL. */
char *
json_top_string(const char *text, const char *key)
{
	JsonParser	jp;

	memset(&jp, 0, sizeof(jp));
	jp.s = text;
	jp.len = strlen(text);
	jp.want_key = key;
	if (!jp_document(&jp))
	{
		free(jp.err);
		free(jp.found);
		return NULL;
	}
	return jp.found;
}
