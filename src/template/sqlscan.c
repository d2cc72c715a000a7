/* sqlscan.c — tracking quotes and comments through PostgreSQL SQL text. */
#include "template/sqlscan.h"

#include <string.h>

static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
		c == '\v';
}

/* PostgreSQL's ident_start: letters, underscore and any non-ASCII byte. */
static bool
is_ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		c >= 0x80;
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* is_dolq_cont: what may follow the first character of a dollar-quote tag. */
static bool
is_dolq_cont(unsigned char c)
{
	return is_ident_start(c) || is_digit(c);
}

/* is_ident_cont adds "$", which PostgreSQL allows inside identifiers. */
static bool
is_ident_cont(unsigned char c)
{
	return is_dolq_cont(c) || c == '$';
}

/*
 * scan_quoted finishes or continues a '…' or "…" token.  A quote that ends
 * the segment is only provisionally the end: the next segment might start
 * with a second quote, which makes the pair an escaped quote.
 */
static size_t
scan_quoted(trk_sqlscan_t *s, const char *text, size_t pos, size_t end,
			char quote)
{
	bool		backslash = s->mode == TRK_SQL_ESTRING;

	while (pos < end)
	{
		char		c = text[pos];

		if (s->escape_pending)
		{
			s->escape_pending = false;
			pos++;
		}
		else if (backslash && c == '\\')
		{
			if (pos + 1 < end)
				pos += 2;
			else
			{
				s->escape_pending = true;
				pos++;
			}
		}
		else if (c == quote)
		{
			if (pos + 1 == end)
			{
				s->quote_pending = true;
				return end;
			}
			if (text[pos + 1] != quote)
			{
				s->mode = TRK_SQL_CODE;
				return pos + 1;
			}
			pos += 2;
		}
		else
			pos++;
	}
	return end;
}

static size_t
scan_dollar(trk_sqlscan_t *s, const char *text, size_t pos, size_t end)
{
	while (pos < end)
	{
		const char *p = memchr(text + pos, '$', end - pos);

		if (p == NULL)
			return end;
		pos = (size_t) (p - text);
		if (end - pos >= s->taglen &&
			memcmp(text + pos, text + s->tag, s->taglen) == 0)
		{
			s->mode = TRK_SQL_CODE;
			return pos + s->taglen;
		}
		pos++;
	}
	return end;
}

static size_t
scan_block_comment(trk_sqlscan_t *s, const char *text, size_t pos,
				   size_t end)
{
	while (pos < end)
	{
		if (text[pos] == '/' && pos + 1 < end && text[pos + 1] == '*')
		{
			s->depth++;
			pos += 2;
		}
		else if (text[pos] == '*' && pos + 1 < end && text[pos + 1] == '/')
		{
			pos += 2;
			if (--s->depth == 0)
			{
				s->mode = TRK_SQL_CODE;
				return pos;
			}
		}
		else
			pos++;
	}
	return end;
}

/*
 * scan_dollar_sign handles "$" in code: a positional parameter, the opening
 * of a dollar quote, or a lone dollar (which PostgreSQL will reject itself).
 */
static size_t
scan_dollar_sign(trk_sqlscan_t *s, const char *text, size_t pos, size_t end,
				 trk_sqltok_t *tok)
{
	size_t		i = pos + 1;

	if (i < end && is_digit((unsigned char) text[i]))
	{
		while (i < end && is_digit((unsigned char) text[i]))
			i++;
		*tok = TRK_SQLTOK_PARAM;
		return i;
	}
	if (i < end && is_ident_start((unsigned char) text[i]))
	{
		while (i < end && is_dolq_cont((unsigned char) text[i]))
			i++;
	}
	*tok = TRK_SQLTOK_TOKEN;
	if (i < end && text[i] == '$')
	{
		s->mode = TRK_SQL_DOLLAR;
		s->open = pos;
		s->tag = pos;
		s->taglen = i + 1 - pos;
		return i + 1;
	}
	return pos + 1;
}

static size_t
scan_code(trk_sqlscan_t *s, const char *text, size_t pos, size_t end,
		  trk_sqltok_t *tok)
{
	unsigned char c = (unsigned char) text[pos];
	size_t		i;

	*tok = TRK_SQLTOK_TOKEN;
	if (is_space(c))
	{
		for (i = pos; i < end && is_space((unsigned char) text[i]); i++)
			;
		*tok = TRK_SQLTOK_SPACE;
		return i;
	}
	if (c == '-' && pos + 1 < end && text[pos + 1] == '-')
	{
		s->mode = TRK_SQL_LINE_COMMENT;
		s->open = pos;
		*tok = TRK_SQLTOK_COMMENT;
		return pos + 2;
	}
	if (c == '/' && pos + 1 < end && text[pos + 1] == '*')
	{
		s->mode = TRK_SQL_BLOCK_COMMENT;
		s->depth = 1;
		s->open = pos;
		*tok = TRK_SQLTOK_COMMENT;
		return pos + 2;
	}
	if (c == '\'' || c == '"')
	{
		s->mode = c == '\'' ? TRK_SQL_STRING : TRK_SQL_IDENT;
		s->open = pos;
		return pos + 1;
	}
	if (c == ';')
	{
		*tok = TRK_SQLTOK_SEMICOLON;
		return pos + 1;
	}
	if (c == '$')
		return scan_dollar_sign(s, text, pos, end, tok);
	if (is_ident_start(c))
	{
		/* consume the whole word, so that x$1 stays an identifier */
		for (i = pos + 1; i < end && is_ident_cont((unsigned char) text[i]); i++)
			;
		if (i == pos + 1 && (c == 'E' || c == 'e') && i < end &&
			text[i] == '\'')
		{
			s->mode = TRK_SQL_ESTRING;
			s->open = pos;
			return i + 1;
		}
		return i;
	}
	if (is_digit(c))
	{
		/* a number, including a decimal point, an exponent or junk after it */
		for (i = pos + 1; i < end && (is_dolq_cont((unsigned char) text[i]) ||
									  text[i] == '.'); i++)
			;
		return i;
	}
	return pos + 1;
}

size_t
trk_sqlscan_next(trk_sqlscan_t *s, const char *text, size_t pos, size_t end,
				 trk_sqltok_t *tok)
{
	const char *nl;

	if (s->quote_pending)
	{
		char		quote = s->mode == TRK_SQL_IDENT ? '"' : '\'';

		s->quote_pending = false;
		if (text[pos] == quote)
		{
			/* the pending quote and this one are an escaped quote */
			*tok = TRK_SQLTOK_QUOTED;
			return scan_quoted(s, text, pos + 1, end, quote);
		}
		s->mode = TRK_SQL_CODE;
	}

	switch (s->mode)
	{
		case TRK_SQL_CODE:
			return scan_code(s, text, pos, end, tok);
		case TRK_SQL_STRING:
		case TRK_SQL_ESTRING:
			*tok = TRK_SQLTOK_QUOTED;
			return scan_quoted(s, text, pos, end, '\'');
		case TRK_SQL_IDENT:
			*tok = TRK_SQLTOK_QUOTED;
			return scan_quoted(s, text, pos, end, '"');
		case TRK_SQL_DOLLAR:
			*tok = TRK_SQLTOK_QUOTED;
			return scan_dollar(s, text, pos, end);
		case TRK_SQL_LINE_COMMENT:
			*tok = TRK_SQLTOK_COMMENT;
			for (nl = text + pos; nl < text + end; nl++)
			{
				if (*nl == '\n' || *nl == '\r')
				{
					s->mode = TRK_SQL_CODE;
					return (size_t) (nl - text) + 1;
				}
			}
			return end;
		case TRK_SQL_BLOCK_COMMENT:
			*tok = TRK_SQLTOK_COMMENT;
			return scan_block_comment(s, text, pos, end);
	}
	*tok = TRK_SQLTOK_TOKEN;
	return pos + 1;
}

void
trk_sqlscan_boundary(trk_sqlscan_t *s)
{
	/* a quote followed by a tag cannot be doubled: it closed its token */
	if (s->quote_pending)
	{
		s->quote_pending = false;
		s->mode = TRK_SQL_CODE;
	}
}

bool
trk_sqlscan_inside(const trk_sqlscan_t *s)
{
	return s->mode != TRK_SQL_CODE && !s->quote_pending;
}

const char *
trk_sqlscan_where(const trk_sqlscan_t *s)
{
	switch (s->mode)
	{
		case TRK_SQL_CODE:
			return "SQL code";
		case TRK_SQL_STRING:
		case TRK_SQL_ESTRING:
			return "a SQL string literal";
		case TRK_SQL_IDENT:
			return "a SQL quoted identifier";
		case TRK_SQL_DOLLAR:
			return "a dollar-quoted string";
		case TRK_SQL_LINE_COMMENT:
		case TRK_SQL_BLOCK_COMMENT:
			return "a SQL comment";
	}
	return "SQL code";
}
