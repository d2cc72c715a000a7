/* expand.c — {{ env() }} and {{ file() }} in trucker.yml, expanded safely. */
#include "config/expand.h"
#include "base/file.h"
#include "base/mem.h"
#include "base/suggest.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Where a tag sits in the surrounding YAML, which decides how to quote it. */
typedef enum
{
	CTX_PLAIN,					/* outside any quoted scalar */
	CTX_SINGLE,					/* inside '…' */
	CTX_DOUBLE					/* inside "…" */
} quote_ctx_t;

typedef struct expander
{
	const char *file;
	const char *basedir;
	trk_buf_t  *out;
	trk_srcmap_t *map;
	trk_diags_t *diags;
	int			nerrors;
	int			line;
} expander_t;

static bool
is_cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

/* chars counts the UTF-8 characters of s[0..n). */
static int
chars(const char *s, size_t n)
{
	int			c = 0;

	for (size_t i = 0; i < n; i++)
		if (!is_cont((unsigned char) s[i]))
			c++;
	return c;
}

static void
error_at(expander_t *x, int col, const char *msg, const char *arg)
{
	if (arg)
		trk_diag_error(x->diags, x->file, x->line, col, msg, arg);
	else
		trk_diag_error(x->diags, x->file, x->line, col, "%s", msg);
	x->nerrors++;
}

void
trk_secret_trim(trk_buf_t *b)
{
	if (b->len > 0 && b->data[b->len - 1] == '\n')
	{
		b->len--;
		if (b->len > 0 && b->data[b->len - 1] == '\r')
			b->len--;
		b->data[b->len] = '\0';
	}
}

/*
 * A tag's argument list: up to two string literals.  parse_args reads
 * `("a")` or `("a", "b")` from p and returns the position after `)`, or NULL.
 */
typedef struct
{
	int			n;
	trk_buf_t	v[2];
} args_t;

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static const char *
parse_string(const char *p, const char *end, trk_buf_t *v)
{
	char		q = *p++;

	while (p < end)
	{
		if (*p == q)
		{
			if (q == '\'' && p + 1 < end && p[1] == '\'')
			{
				trk_buf_appendc(v, '\'');
				p += 2;
				continue;
			}
			return p + 1;
		}
		if (q == '"' && *p == '\\' && p + 1 < end)
		{
			trk_buf_appendc(v, p[1]);
			p += 2;
			continue;
		}
		trk_buf_appendc(v, *p++);
	}
	return NULL;
}

/*
 * yaml_break_len: YAML also breaks lines at U+0085, U+2028 and U+2029; a
 * value holding one must be escaped, or libyaml folds it and every later
 * line number shifts.  Returns the UTF-8 length of such a character at s, 0
 * for anything else.
 */
static size_t
yaml_break_len(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *) s;

	if (n >= 2 && u[0] == 0xC2 && u[1] == 0x85)
		return 2;
	if (n >= 3 && u[0] == 0xE2 && u[1] == 0x80 && (u[2] == 0xA8 || u[2] == 0xA9))
		return 3;
	return 0;
}

/* escape_double writes v as the inside of a YAML double-quoted scalar. */
static void
escape_double(trk_buf_t *out, const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) v[i];

		switch (c)
		{
			case '"':
				trk_buf_append(out, "\\\"");
				break;
			case '\\':
				trk_buf_append(out, "\\\\");
				break;
			case '\n':
				trk_buf_append(out, "\\n");
				break;
			case '\r':
				trk_buf_append(out, "\\r");
				break;
			case '\t':
				trk_buf_append(out, "\\t");
				break;
			default:
				if (c < 0x20 || c == 0x7F)
					trk_buf_appendf(out, "\\x%02X", c);
				else if (yaml_break_len(v + i, n - i) == 2)
				{
					trk_buf_append(out, "\\N");	/* U+0085 */
					i += 1;
				}
				else if (yaml_break_len(v + i, n - i) == 3)
				{
					trk_buf_append(out, v[i + 2] == '\xA8' ? "\\L" : "\\P");
					i += 2;
				}
				else
					trk_buf_appendc(out, (char) c);
		}
	}
}

/*
 * value_of evaluates one tag's function.  Returns 0 and fills val, or -1
 * after reporting at col.
 */
static int
value_of(expander_t *x, int col, const char *fn, size_t fnlen, args_t *a,
		 trk_buf_t *val)
{
	static const char *const fns[] = {"env", "file"};

	if (fnlen == 3 && memcmp(fn, "env", 3) == 0)
	{
		const char *v;

		if (a->n < 1 || a->n > 2)
		{
			error_at(x, col, "env() takes a variable name and an optional default", NULL);
			return -1;
		}
		v = getenv(trk_buf_cstr(&a->v[0]));
		if (v == NULL && a->n == 1)
		{
			trk_diag_error(x->diags, x->file, x->line, col,
						   "environment variable \"%s\" is not set (give a default: env(\"%s\", \"value\"))",
						   trk_buf_cstr(&a->v[0]), trk_buf_cstr(&a->v[0]));
			x->nerrors++;
			return -1;
		}
		trk_buf_append(val, v ? v : trk_buf_cstr(&a->v[1]));
		return 0;
	}
	if (fnlen == 4 && memcmp(fn, "file", 4) == 0)
	{
		char	   *path;

		if (a->n != 1)
		{
			error_at(x, col, "file() takes exactly one path", NULL);
			return -1;
		}
		path = trk_path_join(x->basedir, trk_buf_cstr(&a->v[0]));
		if (trk_file_read(path, val) != 0)
		{
			trk_diag_error(x->diags, x->file, x->line, col,
						   "could not read file \"%s\": %s", path, strerror(errno));
			x->nerrors++;
			free(path);
			return -1;
		}
		free(path);
		if (memchr(val->data, '\0', val->len) != NULL)
		{
			error_at(x, col, "file() read a file that contains a NUL byte", NULL);
			return -1;
		}
		trk_secret_trim(val);
		return 0;
	}
	{
		char	   *name = trk_strndup(fn, fnlen);
		const char *s = trk_suggest(name, fns, 2);

		if (s)
			trk_diag_error(x->diags, x->file, x->line, col,
						   "unknown function \"%s\"; did you mean \"%s\"?", name, s);
		else
			trk_diag_error(x->diags, x->file, x->line, col,
						   "unknown function \"%s\" (env and file exist)", name);
		x->nerrors++;
		free(name);
	}
	return -1;
}

/*
 * value_start reports whether a scalar may start here: at the start of the
 * line's content or after an indicator that introduces a value.
 */
static bool
value_start(const char *line, const char *p)
{
	const char *q = p;

	while (q > line && (q[-1] == ' ' || q[-1] == '\t'))
		q--;
	if (q == line)
		return true;
	/* "key: v", "- v" and "? v" need the space; flow indicators do not */
	if (q[-1] == ':' || q[-1] == '-' || q[-1] == '?')
		return q != p;
	return q[-1] == '[' || q[-1] == '{' || q[-1] == ',';
}

/* value_end reports whether a whole plain value ends at p. */
static bool
value_end(const char *p, const char *end)
{
	p = skip_ws(p, end);
	if (p == end || *p == ',' || *p == ']' || *p == '}' || *p == '\r')
		return true;
	return *p == '#' && (p[-1] == ' ' || p[-1] == '\t');
}

/* find_close finds the "}}" that ends a tag, skipping quoted arguments. */
static const char *
find_close(const char *p, const char *end)
{
	char		quote = 0;

	for (; p + 1 < end; p++)
	{
		if (quote)
		{
			if (quote == '"' && *p == '\\' && p + 2 < end)
				p++;
			else if (*p == quote)
				quote = 0;
		}
		else if (*p == '"' || *p == '\'')
			quote = *p;
		else if (p[0] == '}' && p[1] == '}')
			return p;
	}
	return NULL;
}

/*
 * parse_tag reads "fn(args)" between the braces into fn/fnlen and a, or
 * reports at the offending column and returns -1.
 */
static int
parse_tag(expander_t *x, const char *p, const char *close, int tagcol,
		  const char **fn, size_t *fnlen, args_t *a)
{
	const char *q = skip_ws(p + 2, close);

#define COL_AT(ptr) (tagcol + chars(p, (size_t) ((ptr) - p)))
	*fn = q;
	while (q < close && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || *q == '_'))
		q++;
	*fnlen = (size_t) (q - *fn);
	if (*fnlen == 0)
	{
		error_at(x, COL_AT(q), "expected env(\"NAME\") or file(\"path\") inside \"{{ }}\"", NULL);
		return -1;
	}
	q = skip_ws(q, close);
	if (q == close || *q != '(')
	{
		error_at(x, COL_AT(q), "expected \"(\" after the function name", NULL);
		return -1;
	}
	q = skip_ws(q + 1, close);
	while (q < close && *q != ')')
	{
		if (a->n == 2)
		{
			error_at(x, COL_AT(q), "too many arguments", NULL);
			return -1;
		}
		if (*q != '"' && *q != '\'')
		{
			error_at(x, COL_AT(q), "expected a quoted string argument", NULL);
			return -1;
		}
		q = parse_string(q, close, &a->v[a->n]);
		if (q == NULL)
		{
			error_at(x, tagcol, "unterminated string in \"{{ }}\"", NULL);
			return -1;
		}
		a->n++;
		q = skip_ws(q, close);
		if (q < close && *q == ',')
			q = skip_ws(q + 1, close);
		else if (q < close && *q != ')')
		{
			error_at(x, COL_AT(q), "expected \",\" or \")\"", NULL);
			return -1;
		}
	}
	if (q == close)
	{
		error_at(x, COL_AT(q), "expected \")\"", NULL);
		return -1;
	}
	q = skip_ws(q + 1, close);
	if (q != close)
	{
		error_at(x, COL_AT(q), "unexpected text before \"}}\"", NULL);
		return -1;
	}
#undef COL_AT
	return 0;
}

/* write_value writes val for its quoting context; -1 when it cannot. */
static int
write_value(expander_t *x, quote_ctx_t ctx, int tagcol, const trk_buf_t *val)
{
	switch (ctx)
	{
		case CTX_PLAIN:
			trk_buf_appendc(x->out, '"');
			escape_double(x->out, val->data, val->len);
			trk_buf_appendc(x->out, '"');
			return 0;
		case CTX_DOUBLE:
			escape_double(x->out, val->data, val->len);
			return 0;
		case CTX_SINGLE:
			for (size_t i = 0; i < val->len; i++)
			{
				unsigned char c = (unsigned char) val->data[i];

				if ((c < 0x20 && c != '\t') || c == 0x7F || yaml_break_len(val->data + i, val->len - i))
				{
					error_at(x, tagcol, "this value holds a line break or control character: "
							 "put the tag in a double-quoted string, or leave it unquoted", NULL);
					return -1;
				}
				if (c == '\'')
					trk_buf_appendc(x->out, '\'');
				trk_buf_appendc(x->out, (char) c);
			}
			return 0;
	}
	return -1;
}

/*
 * expand_tag handles one {{ … }} starting at p (the first '{') and returns
 * the position after it.  After an error, what it leaves in the text is
 * chosen so YAML parsing can go on and report the rest of the file: a whole
 * plain value becomes "", a tag inside quotes becomes nothing (so the quote
 * still closes), and an unterminated tag leaves the rest of the line as is.
 */
static const char *
expand_tag(expander_t *x, const char *line, const char *p, const char *end,
		   quote_ctx_t ctx, bool in_block, int ocol, int *ecol)
{
	const char *close = find_close(p + 2, end);
	const char *fn;
	size_t		fnlen;
	args_t		a = {0};
	trk_buf_t	val = {0};
	int			ecol0 = *ecol;
	size_t		before = x->out->len;
	bool		whole = ctx == CTX_PLAIN && value_start(line, p);
	bool		ok = false;

	if (close == NULL)
	{
		/*
		 * Keep what lets YAML go on: an empty value, or inside quotes the
		 * rest of the line from its last quote, which closes the scalar.
		 */
		const char *keep = end;

		error_at(x, ocol, "unterminated \"{{\" (a tag must end on the same line)", NULL);
		if (ctx == CTX_PLAIN)
			trk_buf_append(x->out, "\"\"");
		else
			for (const char *q = end; q > p + 2; q--)
				if (q[-1] == (ctx == CTX_DOUBLE ? '"' : '\''))
				{
					keep = q - 1;
					break;
				}
		trk_buf_appendn(x->out, keep, (size_t) (end - keep));
		*ecol += chars(x->out->data + before, x->out->len - before);
		return end;
	}
	whole = whole && value_end(close + 2, end);
	if (in_block)
		error_at(x, ocol, "\"{{\" inside a block scalar is not supported: write the value on one line", NULL);
	else if (parse_tag(x, p, close, ocol, &fn, &fnlen, &a) != 0)
		;
	else if (ctx == CTX_PLAIN && !whole)
		error_at(x, ocol,
				 "\"{{ }}\" that is only part of a value must sit inside a double-quoted string, "
				 "e.g. host: \"db-{{ env('N') }}.example.org\"", NULL);
	else if (value_of(x, ocol, fn, fnlen, &a, &val) == 0)
		ok = write_value(x, ctx, ocol, &val) == 0;

	if (!ok)
	{
		x->out->len = before;
		if (in_block || (ctx == CTX_PLAIN && !whole))
			trk_buf_appendn(x->out, p, (size_t) (close + 2 - p));
		else if (ctx == CTX_PLAIN)
			trk_buf_append(x->out, "\"\"");
		else
			trk_buf_appendn(x->out, "", 0);
	}
	*ecol += chars(x->out->data + before, x->out->len - before);
	TRK_GROW(x->map->segs, x->map->cap, x->map->n + 1);
	x->map->segs[x->map->n++] = (trk_srcmap_seg_t) {
		.line = x->line,.ecol = ecol0,.ecol_end = *ecol,
		.ocol = ocol,.ocol_end = ocol + chars(p, (size_t) (close + 2 - p))
	};
	trk_buf_free(&val);
	trk_buf_free(&a.v[0]);
	trk_buf_free(&a.v[1]);
	return close + 2;
}

/* line_indent counts leading spaces. */
static int
line_indent(const char *p, const char *end)
{
	int			n = 0;

	while (p < end && *p == ' ')
	{
		p++;
		n++;
	}
	return n;
}

/* opens_block reports whether a line's value is a block scalar indicator. */
static bool
opens_block(const char *line, const char *end)
{
	const char *p = end;

	/* drop a trailing comment, roughly: " #" outside quotes is rare here */
	for (const char *s = line; s + 1 < end; s++)
		if ((s[0] == ' ' || s[0] == '\t') && s[1] == '#')
		{
			p = s;
			break;
		}
	while (p > line && (p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\r'))
		p--;
	while (p > line && (p[-1] == '-' || p[-1] == '+' || (p[-1] >= '1' && p[-1] <= '9')))
		p--;
	if (p == line || (p[-1] != '|' && p[-1] != '>'))
		return false;
	p--;
	return value_start(line, p);
}

int
trk_expand(const char *file, const char *text, size_t len, const char *basedir,
		   trk_buf_t *out, trk_srcmap_t *map, trk_diags_t *diags)
{
	expander_t	x = {.file = file,.basedir = basedir,.out = out,.map = map,.diags = diags};
	const char *p = text;
	const char *end = text + len;
	quote_ctx_t ctx = CTX_PLAIN;
	int			block_indent = -1;	/* indentation of a block scalar's parent */

	trk_buf_reset(out);
	trk_buf_appendn(out, "", 0);
	x.line = 0;
	while (p < end)
	{
		const char *line = p;
		const char *eol = memchr(p, '\n', (size_t) (end - p));
		int			ocol = 1;
		int			ecol = 1;
		bool		in_block = false;

		if (eol == NULL)
			eol = end;
		x.line++;

		if (block_indent >= 0)
		{
			const char *s = skip_ws(line, eol);

			if (s == eol || (s < eol && *s == '\r') || line_indent(line, eol) > block_indent)
				in_block = true;
			else
				block_indent = -1;
		}

		while (p < eol)
		{
			char		c = *p;

			if (!in_block && ctx == CTX_PLAIN && c == '#' &&
				(p == line || p[-1] == ' ' || p[-1] == '\t'))
			{
				/* a comment: copied as is, never expanded */
				trk_buf_appendn(out, p, (size_t) (eol - p));
				p = eol;
				break;
			}
			if (c == '{' && p + 1 < eol && p[1] == '{')
			{
				const char *next = expand_tag(&x, line, p, eol, ctx, in_block, ocol, &ecol);

				ocol += chars(p, (size_t) (next - p));
				p = next;
				continue;
			}
			if (!in_block)
			{
				if (ctx == CTX_PLAIN && (c == '"' || c == '\'') && value_start(line, p))
					ctx = c == '"' ? CTX_DOUBLE : CTX_SINGLE;
				else if (ctx == CTX_DOUBLE && c == '\\' && p + 1 < eol)
				{
					trk_buf_appendn(out, p, 2);
					ocol += 2;
					ecol += 2;
					p += 2;
					continue;
				}
				else if (ctx == CTX_DOUBLE && c == '"')
					ctx = CTX_PLAIN;
				else if (ctx == CTX_SINGLE && c == '\'')
				{
					if (p + 1 < eol && p[1] == '\'')
					{
						trk_buf_appendn(out, p, 2);
						ocol += 2;
						ecol += 2;
						p += 2;
						continue;
					}
					ctx = CTX_PLAIN;
				}
			}
			trk_buf_appendc(out, c);
			if (!is_cont((unsigned char) c))
			{
				ocol++;
				ecol++;
			}
			p++;
		}
		if (!in_block && block_indent < 0 && ctx == CTX_PLAIN && opens_block(line, eol))
			block_indent = line_indent(line, eol);
		if (eol < end)
		{
			trk_buf_appendc(out, '\n');
			p = eol + 1;
		}
		else
			p = eol;
	}
	return x.nerrors;
}

int
trk_srcmap_col(const trk_srcmap_t *map, int line, int col)
{
	int			shift = 0;

	for (size_t i = 0; i < map->n; i++)
	{
		const trk_srcmap_seg_t *s = &map->segs[i];

		if (s->line < line)
			continue;
		if (s->line > line || col < s->ecol)
			break;
		if (col < s->ecol_end)
			return s->ocol;
		shift = s->ocol_end - s->ecol_end;
	}
	return col + shift;
}

bool
trk_srcmap_is_tag(const trk_srcmap_t *map, int line, int col)
{
	for (size_t i = 0; i < map->n; i++)
		if (map->segs[i].line == line && map->segs[i].ocol == col)
			return true;
	return false;
}

void
trk_srcmap_free(trk_srcmap_t *map)
{
	free(map->segs);
	memset(map, 0, sizeof(*map));
}
