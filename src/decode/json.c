/* json.c — strict single-pass JSON parsing into an arena tree with exact text. */
#include "decode/json.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct parser
{
	trk_arena_t *arena;
	const unsigned char *p;		/* next byte to read */
	const unsigned char *end;
	const unsigned char *line_start;	/* first byte of the current line */
	int			line;
	int			depth;
	trk_buf_t  *err;
} parser_t;

/*
 * plain[c] is 1 for bytes a string can hold as they are without a second
 * look: printable ASCII other than '"' and '\\'.  The string scanner runs
 * over these in a tight loop; everything else (quote, escape, control
 * character, the lead byte of a UTF-8 sequence) takes the slow path.
 */
static const unsigned char plain[256] = {
	[0x20] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x22 '"' */
	[0x30] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x40] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x50] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,	/* 0x5C '\\' */
	[0x60] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x70] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/*
 * word_is_plain says whether all 8 bytes at p are plain, testing them at
 * once (the has-zero-byte trick): no '"', no '\\', nothing below 0x20 and
 * nothing from 0x80 up.  A false "no" only sends the caller to the byte
 * loop, which finds the byte that matters.
 */
static inline bool
word_is_plain(const unsigned char *p)
{
	const uint64_t ones = 0x0101010101010101u;
	const uint64_t highs = 0x8080808080808080u;
	uint64_t	w,
				quote,
				bslash;

	memcpy(&w, p, sizeof(w));
	quote = w ^ (ones * '"');
	bslash = w ^ (ones * '\\');
	return ((((quote - ones) & ~quote) | ((bslash - ones) & ~bslash) |
			 (w - ones * 0x20) | w) & highs) == 0;
}

static int
column_of(const parser_t *ps, const unsigned char *at)
{
	ptrdiff_t	col = at - ps->line_start + 1;

	return col > INT_MAX ? INT_MAX : (int) col;
}

/* fail_at records one error at byte position at and returns NULL. */
static void *fail_at(parser_t *ps, const unsigned char *at, const char *fmt, ...)
			__attribute__((format(printf, 3, 4)));

static void *
fail_at(parser_t *ps, const unsigned char *at, const char *fmt, ...)
{
	va_list		ap;

	trk_buf_appendf(ps->err, "line %d, column %d: ", ps->line,
					column_of(ps, at));
	va_start(ap, fmt);
	trk_buf_vappendf(ps->err, fmt, ap);
	va_end(ap);
	return NULL;
}

/* describe names the byte at p for an error message. */
static const char *
describe(const parser_t *ps, const unsigned char *p, char *buf, size_t size)
{
	if (p >= ps->end)
		snprintf(buf, size, "end of input");
	else if (*p > 0x20 && *p < 0x7f)
		snprintf(buf, size, "character '%c'", *p);
	else
		snprintf(buf, size, "byte 0x%02X", *p);
	return buf;
}

static inline void
skip_ws(parser_t *ps)
{
	const unsigned char *p = ps->p;

	while (p < ps->end)
	{
		if (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		else if (*p == '\n')
		{
			p++;
			ps->line++;
			ps->line_start = p;
		}
		else
			break;
	}
	ps->p = p;
}

static trk_json_t *
new_node(parser_t *ps, trk_json_kind_t kind)
{
	trk_json_t *n = trk_arena_alloc(ps->arena, sizeof(trk_json_t));

	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->line = ps->line;
	n->col = column_of(ps, ps->p);
	n->src = (const char *) ps->p;
	return n;
}

/* ---------------------------------------------------------------- strings */

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* hex4 reads 4 hex digits at p (bounds checked by the caller); -1 if bad. */
static long
hex4(const unsigned char *p)
{
	int			a = hexval(p[0]),
				b = hexval(p[1]),
				c = hexval(p[2]),
				d = hexval(p[3]);

	if ((a | b | c | d) < 0)
		return -1;
	return (long) ((a << 12) | (b << 8) | (c << 4) | d);
}

/*
 * utf8_len returns the length of the well-formed UTF-8 sequence at p (RFC
 * 3629: no overlong forms, no surrogates, nothing above U+10FFFF), or 0.
 */
static size_t
utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t		avail = (size_t) (end - p);
	unsigned char c = p[0];

	if (c >= 0xC2 && c <= 0xDF)
	{
		if (avail >= 2 && (p[1] & 0xC0) == 0x80)
			return 2;
	}
	else if (c >= 0xE0 && c <= 0xEF)
	{
		unsigned char lo = 0x80,
					hi = 0xBF;

		if (c == 0xE0)
			lo = 0xA0;			/* overlong */
		else if (c == 0xED)
			hi = 0x9F;			/* surrogates */
		if (avail >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80)
			return 3;
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		unsigned char lo = 0x80,
					hi = 0xBF;

		if (c == 0xF0)
			lo = 0x90;			/* overlong */
		else if (c == 0xF4)
			hi = 0x8F;			/* above U+10FFFF */
		if (avail >= 4 && p[1] >= lo && p[1] <= hi &&
			(p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80)
			return 4;
	}
	return 0;
}

static size_t
put_utf8(char *out, unsigned long cp)
{
	if (cp < 0x80)
	{
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (char) (0xC0 | (cp >> 6));
		out[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (char) (0xE0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

/*
 * check_u_escape validates the \u escape at q (q[0] == '\\', q[1] == 'u')
 * and returns its length in the input: 6, or 12 for a surrogate pair.
 * Returns 0 after recording an error.
 */
static size_t
check_u_escape(parser_t *ps, const unsigned char *q)
{
	long		cp,
				lo;

	if (ps->end - q < 6 || (cp = hex4(q + 2)) < 0)
	{
		fail_at(ps, q, "invalid \\u escape: expected 4 hex digits");
		return 0;
	}
	if (cp == 0)
	{
		fail_at(ps, q, "\\u0000 is not allowed: PostgreSQL text cannot hold NUL");
		return 0;
	}
	if (cp >= 0xDC00 && cp <= 0xDFFF)
	{
		fail_at(ps, q, "lone low surrogate \\u%04lX", cp);
		return 0;
	}
	if (cp < 0xD800 || cp > 0xDBFF)
		return 6;
	if (ps->end - q < 12 || q[6] != '\\' || q[7] != 'u' ||
		(lo = hex4(q + 8)) < 0xDC00 || lo > 0xDFFF)
	{
		fail_at(ps, q, "high surrogate \\u%04lX is not followed by a low surrogate",
				cp);
		return 0;
	}
	return 12;
}

/*
 * decode_escaped writes the already validated string body in[0..n) into out,
 * resolving escapes, and returns the decoded length.  Escapes never decode to
 * more bytes than they take, so out needs at most n bytes.
 */
static size_t
decode_escaped(const unsigned char *in, size_t n, char *out)
{
	const unsigned char *p = in;
	const unsigned char *end = in + n;
	char	   *o = out;

	while (p < end)
	{
		const unsigned char *run = p;

		while (p < end && *p != '\\')
			p++;
		if (p > run)
		{
			memcpy(o, run, (size_t) (p - run));
			o += p - run;
		}
		if (p >= end)
			break;
		switch (p[1])
		{
			case 'b':
				*o++ = '\b';
				break;
			case 'f':
				*o++ = '\f';
				break;
			case 'n':
				*o++ = '\n';
				break;
			case 'r':
				*o++ = '\r';
				break;
			case 't':
				*o++ = '\t';
				break;
			case 'u':
				{
					unsigned long cp = (unsigned long) hex4(p + 2);

					if (cp >= 0xD800 && cp <= 0xDBFF)
					{
						unsigned long lo = (unsigned long) hex4(p + 8);

						cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
						p += 6;
					}
					o += put_utf8(o, cp);
					p += 6;
					continue;
				}
			default:			/* '"', '\\', '/' */
				*o++ = (char) p[1];
				break;
		}
		p += 2;
	}
	return (size_t) (o - out);
}

/*
 * parse_string reads the string starting at the opening quote ps->p into the
 * arena.  One pass validates and finds the end; only strings that hold
 * escapes need a second pass to decode them.
 */
static bool
parse_string(parser_t *ps, const char **text, size_t *len)
{
	const unsigned char *open = ps->p;
	const unsigned char *s = open + 1;
	const unsigned char *q = s;
	const unsigned char *end = ps->end;
	bool		escaped = false;

	for (;;)
	{
		unsigned char c;
		const unsigned char *stop;

		/*
		 * Most strings are short names, for which a byte loop is cheapest;
		 * only past 16 plain bytes is it worth testing 8 at a time.
		 */
		stop = end - q > 16 ? q + 16 : end;

		while (q < stop && plain[*q])
			q++;
		if (q == stop && q < end)
		{
			while (end - q >= 8 && word_is_plain(q))
				q += 8;
			while (q < end && plain[*q])
				q++;
		}
		if (q >= end)
		{
			fail_at(ps, open, "unterminated string");
			return false;
		}
		c = *q;
		if (c == '"')
			break;
		if (c == '\\')
		{
			size_t		n = 2;

			escaped = true;
			if (q + 1 >= end)
			{
				fail_at(ps, open, "unterminated string");
				return false;
			}
			switch (q[1])
			{
				case '"':
				case '\\':
				case '/':
				case 'b':
				case 'f':
				case 'n':
				case 'r':
				case 't':
					break;
				case 'u':
					if ((n = check_u_escape(ps, q)) == 0)
						return false;
					break;
				default:
					{
						char		what[32];

						fail_at(ps, q, "invalid escape: backslash followed by %s",
								describe(ps, q + 1, what, sizeof(what)));
						return false;
					}
			}
			q += n;
			continue;
		}
		if (c < 0x20)
		{
			fail_at(ps, q, "control character 0x%02X in a string must be escaped",
					c);
			return false;
		}
		/* c >= 0x80 */
		{
			size_t		n = utf8_len(q, end);

			if (n == 0)
			{
				fail_at(ps, q, "invalid UTF-8 byte sequence");
				return false;
			}
			q += n;
		}
	}

	if (!escaped)
	{
		*len = (size_t) (q - s);
		*text = trk_arena_strndup(ps->arena, (const char *) s, *len);
	}
	else
	{
		char	   *out = trk_arena_alloc(ps->arena, (size_t) (q - s) + 1);

		*len = decode_escaped(s, (size_t) (q - s), out);
		out[*len] = '\0';
		*text = out;
	}
	ps->p = q + 1;
	return true;
}

/* ---------------------------------------------------------------- values */

static trk_json_t *parse_value(parser_t *ps);

#define IS_DIGIT(c) ((unsigned) ((c) - '0') <= 9)

static trk_json_t *
parse_number(parser_t *ps)
{
	trk_json_t *node = new_node(ps, TRK_JSON_NUMBER);
	const unsigned char *s = ps->p;
	const unsigned char *p = s;
	const unsigned char *end = ps->end;
	char		what[32];

	if (*p == '-')
		p++;
	if (p < end && *p == '0')
	{
		p++;
		if (p < end && IS_DIGIT(*p))
			return fail_at(ps, s, "invalid number: leading zeros are not allowed");
	}
	else if (p < end && IS_DIGIT(*p))
	{
		while (p < end && IS_DIGIT(*p))
			p++;
	}
	else
		return fail_at(ps, p, "invalid number: expected a digit, found %s",
					   describe(ps, p, what, sizeof(what)));

	if (p < end && *p == '.')
	{
		p++;
		if (p >= end || !IS_DIGIT(*p))
			return fail_at(ps, p, "invalid number: expected a digit after '.', found %s",
						   describe(ps, p, what, sizeof(what)));
		while (p < end && IS_DIGIT(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E'))
	{
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || !IS_DIGIT(*p))
			return fail_at(ps, p, "invalid number: expected a digit in the exponent, found %s",
						   describe(ps, p, what, sizeof(what)));
		while (p < end && IS_DIGIT(*p))
			p++;
	}

	node->len = (size_t) (p - s);
	node->text = trk_arena_strndup(ps->arena, (const char *) s, node->len);
	ps->p = p;
	return node;
}

static trk_json_t *
parse_literal(parser_t *ps, const char *word, size_t n, trk_json_kind_t kind)
{
	trk_json_t *node;

	if ((size_t) (ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return fail_at(ps, ps->p, "invalid literal, expected \"%s\"", word);
	node = new_node(ps, kind);
	if (kind == TRK_JSON_BOOL)
	{
		node->boolean = (word[0] == 't');
		node->text = word;
		node->len = n;
	}
	ps->p += n;
	return node;
}

static trk_json_t *
parse_array(parser_t *ps)
{
	trk_json_t *node = new_node(ps, TRK_JSON_ARRAY);
	trk_json_t *tail = NULL;
	char		what[32];

	if (++ps->depth > TRK_JSON_MAX_DEPTH)
		return fail_at(ps, ps->p, "nesting is deeper than %d levels",
					   TRK_JSON_MAX_DEPTH);
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == ']')
	{
		ps->p++;
		ps->depth--;
		return node;
	}
	for (;;)
	{
		trk_json_t *item = parse_value(ps);

		if (item == NULL)
			return NULL;
		if (tail == NULL)
			node->child = item;
		else
			tail->next = item;
		tail = item;
		node->n++;

		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',')
		{
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == ']')
		{
			ps->p++;
			break;
		}
		return fail_at(ps, ps->p, "expected ',' or ']' in array, found %s",
					   describe(ps, ps->p, what, sizeof(what)));
	}
	ps->depth--;
	return node;
}

static trk_json_t *
parse_object(parser_t *ps)
{
	trk_json_t *node = new_node(ps, TRK_JSON_OBJECT);
	trk_json_t *tail = NULL;
	char		what[32];

	if (++ps->depth > TRK_JSON_MAX_DEPTH)
		return fail_at(ps, ps->p, "nesting is deeper than %d levels",
					   TRK_JSON_MAX_DEPTH);
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}')
	{
		ps->p++;
		ps->depth--;
		return node;
	}
	for (;;)
	{
		const char *key;
		size_t		keylen;
		trk_json_t *member;

		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != '"')
			return fail_at(ps, ps->p, "expected a string key in object, found %s",
						   describe(ps, ps->p, what, sizeof(what)));
		if (!parse_string(ps, &key, &keylen))
			return NULL;
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != ':')
			return fail_at(ps, ps->p, "expected ':' after object key, found %s",
						   describe(ps, ps->p, what, sizeof(what)));
		ps->p++;
		member = parse_value(ps);
		if (member == NULL)
			return NULL;
		member->key = key;
		member->keylen = keylen;
		if (tail == NULL)
			node->child = member;
		else
			tail->next = member;
		tail = member;
		node->n++;

		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',')
		{
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == '}')
		{
			ps->p++;
			break;
		}
		return fail_at(ps, ps->p, "expected ',' or '}' in object, found %s",
					   describe(ps, ps->p, what, sizeof(what)));
	}
	ps->depth--;
	return node;
}

static trk_json_t *
parse_value(parser_t *ps)
{
	const unsigned char *start;
	trk_json_t *node;
	char		what[32];

	skip_ws(ps);
	start = ps->p;
	if (start >= ps->end)
		return fail_at(ps, start, "unexpected end of input, expected a JSON value");

	switch (*start)
	{
		case '{':
			node = parse_object(ps);
			break;
		case '[':
			node = parse_array(ps);
			break;
		case '"':
			node = new_node(ps, TRK_JSON_STRING);
			if (!parse_string(ps, &node->text, &node->len))
				return NULL;
			break;
		case 't':
			node = parse_literal(ps, "true", 4, TRK_JSON_BOOL);
			break;
		case 'f':
			node = parse_literal(ps, "false", 5, TRK_JSON_BOOL);
			break;
		case 'n':
			node = parse_literal(ps, "null", 4, TRK_JSON_NULL);
			break;
		case '-':
		case '0':
		case '1':
		case '2':
		case '3':
		case '4':
		case '5':
		case '6':
		case '7':
		case '8':
		case '9':
			node = parse_number(ps);
			break;
		default:
			return fail_at(ps, start, "unexpected %s, expected a JSON value",
						   describe(ps, start, what, sizeof(what)));
	}
	if (node != NULL)
		node->srclen = (size_t) (ps->p - start);
	return node;
}

const trk_json_t *
trk_json_parse(trk_arena_t *a, const char *text, size_t len, trk_buf_t *err)
{
	parser_t	ps;
	trk_json_t *root;
	char		what[32];

	ps.arena = a;
	ps.p = (const unsigned char *) text;
	ps.end = ps.p + len;
	ps.line_start = ps.p;
	ps.line = 1;
	ps.depth = 0;
	ps.err = err;

	root = parse_value(&ps);
	if (root == NULL)
		return NULL;
	skip_ws(&ps);
	if (ps.p < ps.end)
		return fail_at(&ps, ps.p, "unexpected %s after the JSON value",
					   describe(&ps, ps.p, what, sizeof(what)));
	return root;
}

const trk_json_t *
trk_json_get(const trk_json_t *obj, const char *key)
{
	size_t		n;

	if (obj == NULL || obj->kind != TRK_JSON_OBJECT)
		return NULL;
	n = strlen(key);
	for (const trk_json_t *m = obj->child; m != NULL; m = m->next)
		if (m->keylen == n && memcmp(m->key, key, n) == 0)
			return m;
	return NULL;
}

const char *
trk_json_kind_name(trk_json_kind_t kind)
{
	switch (kind)
	{
		case TRK_JSON_NULL:
			return "null";
		case TRK_JSON_BOOL:
			return "boolean";
		case TRK_JSON_NUMBER:
			return "number";
		case TRK_JSON_STRING:
			return "string";
		case TRK_JSON_ARRAY:
			return "array";
		case TRK_JSON_OBJECT:
			return "object";
	}
	return "unknown";
}
