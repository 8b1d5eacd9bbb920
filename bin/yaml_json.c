/*-------------------------------------------------------------------------
 *
 * yaml_json.c
 *		YAML to JSON, and JSON to YAML, with libyaml's event API.
 *
 *		A YAML migration file converts to exactly the JSON document that
 *		the same migration has in JSON form.  Plain scalars are resolved by
 *		YAML 1.2's core schema: null (~, null, empty), booleans (true,
 *		false), integers and floats become JSON null, true/false and
 *		numbers; every other scalar, and every quoted or block scalar (| >),
 *		is a string.  So "0.00" or 'true' stay strings, as they must for a
 *		default or an up expression.  Anchors, aliases and tags other than
 *		the core schema's are refused, as is a second document.
 *
 *		JSON to YAML (migrate_ext pull) goes the other way: the server's
 *		JSON text is itself YAML, so it is parsed with the same parser and
 *		re-emitted in block style; a string that would read back as another
 *		type is quoted, and one with line breaks is written as a literal
 *		block.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "migfile.h"

typedef enum YamlKind
{
	YK_STRING,
	YK_NULL,
	YK_BOOL,
	YK_NUMBER,
	YK_UNREPRESENTABLE
} YamlKind;

typedef struct Conv
{
	yaml_parser_t parser;
	StrBuf	   *out;
	char	   *err;
} Conv;

static YamlKind resolve_plain(const char *s, StrBuf *number);
static bool conv_node(Conv *c, yaml_event_t *ev);
static bool conv_next(Conv *c, yaml_event_t *ev);
static void conv_parser_error(Conv *c);
static int	sb_write_handler(void *data, unsigned char *buffer, size_t size);

/*
 * Resolve a plain scalar by YAML 1.2's core schema.  For a number, the JSON
 * form of it is appended to *number (when number is not NULL).
 */
static YamlKind
resolve_plain(const char *s, StrBuf *number)
{
	const char *p;
	const char *intstart;
	size_t		intlen;
	const char *frac = NULL;
	size_t		fraclen = 0;
	const char *exp = NULL;
	bool		neg = false;

	if (*s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
		strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
		return YK_NULL;
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 ||
		strcmp(s, "TRUE") == 0 || strcmp(s, "false") == 0 ||
		strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
		return YK_BOOL;

	/* 0o17, 0x1F */
	if (s[0] == '0' && (s[1] == 'o' || s[1] == 'x') && s[2] != '\0')
	{
		int			base = s[1] == 'o' ? 8 : 16;
		char	   *end;
		unsigned long long v;

		for (p = s + 2; *p; p++)
			if (base == 8 ? (*p < '0' || *p > '7') : !isxdigit((unsigned char) *p))
				return YK_STRING;
		errno = 0;
		v = strtoull(s + 2, &end, base);
		if (errno != 0)
			return YK_UNREPRESENTABLE;
		if (number)
			sb_appendf(number, "%llu", v);
		return YK_NUMBER;
	}

	p = s;
	if (*p == '-' || *p == '+')
	{
		neg = (*p == '-');
		p++;
	}
	if ((strcmp(p, ".inf") == 0 || strcmp(p, ".Inf") == 0 ||
		 strcmp(p, ".INF") == 0) ||
		(p == s && (strcmp(p, ".nan") == 0 || strcmp(p, ".NaN") == 0 ||
					strcmp(p, ".NAN") == 0)))
		return YK_UNREPRESENTABLE;

	/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
	intstart = p;
	while (isdigit((unsigned char) *p))
		p++;
	intlen = p - intstart;
	if (*p == '.')
	{
		p++;
		frac = p;
		while (isdigit((unsigned char) *p))
			p++;
		fraclen = p - frac;
		if (intlen == 0 && fraclen == 0)
			return YK_STRING;
	}
	else if (intlen == 0)
		return YK_STRING;
	if (*p == 'e' || *p == 'E')
	{
		const char *q = p + 1;

		if (*q == '-' || *q == '+')
			q++;
		if (!isdigit((unsigned char) *q))
			return YK_STRING;
		while (isdigit((unsigned char) *q))
			q++;
		if (*q != '\0')
			return YK_STRING;
		exp = p;
	}
	else if (*p != '\0')
		return YK_STRING;

	if (number)
	{
		/* JSON: no '+', no leading zeros, digits on both sides of '.' */
		if (neg)
			sb_append(number, "-");
		while (intlen > 1 && *intstart == '0')
		{
			intstart++;
			intlen--;
		}
		if (intlen == 0)
			sb_append(number, "0");
		else
			sb_append_len(number, intstart, intlen);
		if (fraclen > 0)
		{
			sb_append(number, ".");
			sb_append_len(number, frac, fraclen);
		}
		if (exp)
			sb_append(number, exp);
	}
	return YK_NUMBER;
}

static void
conv_error_at(Conv *c, yaml_mark_t mark, const char *what)
{
	if (c->err == NULL)
		c->err = xasprintf("line %zu, column %zu: %s",
						   mark.line + 1, mark.column + 1, what);
}

static void
conv_parser_error(Conv *c)
{
	yaml_parser_t *p = &c->parser;

	if (c->err)
		return;
	if (p->error == YAML_READER_ERROR)
		c->err = xasprintf("byte %zu: %s", p->problem_offset,
						   p->problem ? p->problem : "cannot read the file");
	else if (p->error == YAML_MEMORY_ERROR)
		c->err = xstrdup("out of memory");
	else if (p->context)
		c->err = xasprintf("line %zu, column %zu: %s (%s, at line %zu, column %zu)",
						   p->problem_mark.line + 1, p->problem_mark.column + 1,
						   p->problem ? p->problem : "syntax error",
						   p->context, p->context_mark.line + 1,
						   p->context_mark.column + 1);
	else
		c->err = xasprintf("line %zu, column %zu: %s",
						   p->problem_mark.line + 1, p->problem_mark.column + 1,
						   p->problem ? p->problem : "syntax error");
}

static bool
conv_next(Conv *c, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&c->parser, ev))
	{
		conv_parser_error(c);
		return false;
	}
	return true;
}

/* append one scalar as JSON */
static bool
conv_scalar(Conv *c, yaml_event_t *ev)
{
	const char *value = (const char *) ev->data.scalar.value;
	size_t		len = ev->data.scalar.length;
	const char *tag = (const char *) ev->data.scalar.tag;
	bool		plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	StrBuf		num;
	YamlKind	kind;

	if (tag && strcmp(tag, "!") != 0)
	{
		if (strcmp(tag, YAML_STR_TAG) == 0)
			plain = false;
		else if (strcmp(tag, YAML_NULL_TAG) != 0 &&
				 strcmp(tag, YAML_BOOL_TAG) != 0 &&
				 strcmp(tag, YAML_INT_TAG) != 0 &&
				 strcmp(tag, YAML_FLOAT_TAG) != 0)
		{
			char	   *msg = xasprintf("tag \"%s\" is not supported in a migration file", tag);

			conv_error_at(c, ev->start_mark, msg);
			free(msg);
			return false;
		}
		else
			plain = true;
	}
	else if (tag)
		plain = false;			/* "!" forces a string */

	if (!plain || strlen(value) != len)
	{
		sb_json_string(c->out, value, len);
		return true;
	}
	sb_init(&num);
	kind = resolve_plain(value, &num);
	switch (kind)
	{
		case YK_STRING:
			sb_json_string(c->out, value, len);
			break;
		case YK_NULL:
			sb_append(c->out, "null");
			break;
		case YK_BOOL:
			sb_append(c->out, (value[0] == 't' || value[0] == 'T') ? "true" : "false");
			break;
		case YK_NUMBER:
			sb_append(c->out, num.data);
			break;
		case YK_UNREPRESENTABLE:
			{
				char	   *msg = xasprintf("the number \"%s\" cannot be represented in JSON (quote it to make it a string)", value);

				conv_error_at(c, ev->start_mark, msg);
				free(msg);
				sb_free(&num);
				return false;
			}
	}
	sb_free(&num);
	return true;
}

/*
 * Convert the node whose first event is *ev (consumed here), with all its
 * children, appending its JSON to c->out.
 */
static bool
conv_node(Conv *c, yaml_event_t *ev)
{
	yaml_event_t child;
	bool		ok = true;
	bool		first = true;

	switch (ev->type)
	{
		case YAML_SCALAR_EVENT:
			ok = conv_scalar(c, ev);
			break;
		case YAML_ALIAS_EVENT:
			conv_error_at(c, ev->start_mark, "aliases (*name) are not supported in a migration file");
			ok = false;
			break;
		case YAML_SEQUENCE_START_EVENT:
			sb_append(c->out, "[");
			for (;;)
			{
				if (!conv_next(c, &child))
				{
					ok = false;
					break;
				}
				if (child.type == YAML_SEQUENCE_END_EVENT)
				{
					yaml_event_delete(&child);
					break;
				}
				if (!first)
					sb_append(c->out, ",");
				first = false;
				if (!conv_node(c, &child))
				{
					ok = false;
					break;
				}
			}
			sb_append(c->out, "]");
			break;
		case YAML_MAPPING_START_EVENT:
			{
				char	  **keys = NULL;
				size_t		nkeys = 0;
				size_t		i;

				sb_append(c->out, "{");
				for (;;)
				{
					const char *key;

					if (!conv_next(c, &child))
					{
						ok = false;
						break;
					}
					if (child.type == YAML_MAPPING_END_EVENT)
					{
						yaml_event_delete(&child);
						break;
					}
					if (child.type != YAML_SCALAR_EVENT)
					{
						conv_error_at(c, child.start_mark, "a mapping key must be a plain string");
						yaml_event_delete(&child);
						ok = false;
						break;
					}
					key = (const char *) child.data.scalar.value;
					for (i = 0; i < nkeys; i++)
						if (strcmp(keys[i], key) == 0)
							break;
					if (i < nkeys)
					{
						char	   *msg = xasprintf("duplicate key \"%s\"", key);

						conv_error_at(c, child.start_mark, msg);
						free(msg);
						yaml_event_delete(&child);
						ok = false;
						break;
					}
					keys = realloc(keys, (nkeys + 1) * sizeof(char *));
					if (keys == NULL)
					{
						fprintf(stderr, "migrate_ext: out of memory\n");
						exit(1);
					}
					keys[nkeys++] = xstrdup(key);
					if (!first)
						sb_append(c->out, ",");
					first = false;
					sb_json_string(c->out, key, child.data.scalar.length);
					sb_append(c->out, ":");
					yaml_event_delete(&child);
					if (!conv_next(c, &child) || !conv_node(c, &child))
					{
						ok = false;
						break;
					}
				}
				sb_append(c->out, "}");
				for (i = 0; i < nkeys; i++)
					free(keys[i]);
				free(keys);
			}
			break;
		default:
			conv_error_at(c, ev->start_mark, "unexpected YAML event");
			ok = false;
			break;
	}
	yaml_event_delete(ev);
	return ok;
}

/*
 * Convert a YAML document to JSON.  On error, returns false with *err set
 * to a message that gives the line and column.
 */
bool
yaml_to_json(const char *text, size_t len, StrBuf *out, char **err)
{
	Conv		c;
	yaml_event_t ev;
	bool		ok = false;
	bool		have_doc = false;

	memset(&c, 0, sizeof(c));
	c.out = out;
	if (!yaml_parser_initialize(&c.parser))
	{
		*err = xstrdup("cannot initialize the YAML parser");
		return false;
	}
	yaml_parser_set_input_string(&c.parser, (const unsigned char *) text, len);

	for (;;)
	{
		if (!conv_next(&c, &ev))
			break;
		if (ev.type == YAML_STREAM_END_EVENT)
		{
			yaml_event_delete(&ev);
			if (!have_doc)
				c.err = xstrdup("the file holds no YAML document");
			else
				ok = true;
			break;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT)
		{
			if (have_doc)
			{
				conv_error_at(&c, ev.start_mark, "a migration file must hold one YAML document, not several");
				yaml_event_delete(&ev);
				break;
			}
			have_doc = true;
			yaml_event_delete(&ev);
			if (!conv_next(&c, &ev))
				break;
			if (ev.type != YAML_MAPPING_START_EVENT)
			{
				conv_error_at(&c, ev.start_mark, "a migration must be a mapping (operations: ...)");
				yaml_event_delete(&ev);
				break;
			}
			if (!conv_node(&c, &ev))
				break;
			continue;
		}
		/* STREAM_START, DOCUMENT_END */
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&c.parser);
	if (!ok)
		*err = c.err ? c.err : xstrdup("invalid YAML");
	else
		free(c.err);
	return ok;
}

static int
sb_write_handler(void *data, unsigned char *buffer, size_t size)
{
	sb_append_len((StrBuf *) data, (const char *) buffer, size);
	return 1;
}

/*
 * Convert JSON text (as the server prints jsonb) to a YAML document in
 * block style that yaml_to_json converts back to the same JSON.
 */
bool
json_to_yaml(const char *json, StrBuf *out, char **err)
{
	yaml_parser_t parser;
	yaml_emitter_t emitter;
	yaml_event_t ev;
	bool		ok = true;
	bool		done = false;

	if (!yaml_parser_initialize(&parser))
	{
		*err = xstrdup("cannot initialize the YAML parser");
		return false;
	}
	if (!yaml_emitter_initialize(&emitter))
	{
		yaml_parser_delete(&parser);
		*err = xstrdup("cannot initialize the YAML emitter");
		return false;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *) json, strlen(json));
	yaml_emitter_set_output(&emitter, sb_write_handler, out);
	yaml_emitter_set_unicode(&emitter, 1);
	yaml_emitter_set_width(&emitter, -1);
	yaml_emitter_set_indent(&emitter, 2);

	while (ok && !done)
	{
		if (!yaml_parser_parse(&parser, &ev))
		{
			*err = xasprintf("cannot read the server's JSON: %s",
							 parser.problem ? parser.problem : "syntax error");
			ok = false;
			break;
		}
		switch (ev.type)
		{
			case YAML_STREAM_END_EVENT:
				done = true;
				break;
			case YAML_DOCUMENT_START_EVENT:
				ev.data.document_start.implicit = 1;
				break;
			case YAML_DOCUMENT_END_EVENT:
				ev.data.document_end.implicit = 1;
				break;
			case YAML_MAPPING_START_EVENT:
				ev.data.mapping_start.style = YAML_BLOCK_MAPPING_STYLE;
				ev.data.mapping_start.implicit = 1;
				break;
			case YAML_SEQUENCE_START_EVENT:
				ev.data.sequence_start.style = YAML_BLOCK_SEQUENCE_STYLE;
				ev.data.sequence_start.implicit = 1;
				break;
			case YAML_SCALAR_EVENT:
				if (ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
				{
					/* a JSON string */
					const char *v = (const char *) ev.data.scalar.value;
					bool		as_string = strlen(v) == ev.data.scalar.length &&
						resolve_plain(v, NULL) == YK_STRING;

					ev.data.scalar.plain_implicit = as_string;
					ev.data.scalar.quoted_implicit = 1;
					if (strchr(v, '\n') != NULL)
						ev.data.scalar.style = YAML_LITERAL_SCALAR_STYLE;
					else
						ev.data.scalar.style = as_string ?
							YAML_PLAIN_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE;
				}
				else
				{
					ev.data.scalar.plain_implicit = 1;
					ev.data.scalar.quoted_implicit = 0;
				}
				break;
			default:
				break;
		}
		if (!yaml_emitter_emit(&emitter, &ev))
		{
			*err = xasprintf("cannot write YAML: %s",
							 emitter.problem ? emitter.problem : "emitter error");
			ok = false;
		}
	}
	yaml_emitter_delete(&emitter);
	yaml_parser_delete(&parser);
	return ok;
}
