/*
 * sqlscan.h — where a point of PostgreSQL SQL text is: in code, or inside a
 * string, a quoted identifier, a dollar-quoted string or a comment.
 *
 * The template compiler runs the SQL text between tags through this scanner
 * to catch tags written inside quotes or comments, literal $n parameters and
 * a second statement.  The text is scanned one segment (the bytes between two
 * tags) at a time and the state carries over, because a quote opened before a
 * tag and closed after it is exactly what must be caught.
 *
 * A segment's end is a token boundary: the compiler never lets a tag fuse two
 * SQL tokens (it inserts a space where they would), so "--" or "$tag$" split
 * by a tag is not a comment or a dollar quote here either.  Only quoted text
 * and comments continue into the next segment.
 */
#ifndef TRK_TEMPLATE_SQLSCAN_H
#define TRK_TEMPLATE_SQLSCAN_H

#include <stdbool.h>
#include <stddef.h>

typedef enum trk_sqlmode
{
	TRK_SQL_CODE = 0,			/* between tokens, outside any quote */
	TRK_SQL_STRING,				/* '…' ('' is a quote) */
	TRK_SQL_ESTRING,			/* E'…' (backslash escapes, too) */
	TRK_SQL_IDENT,				/* "…" ("" is a quote) */
	TRK_SQL_DOLLAR,				/* $tag$…$tag$ */
	TRK_SQL_LINE_COMMENT,		/* -- … end of line */
	TRK_SQL_BLOCK_COMMENT		/* / * … * /, nested */
} trk_sqlmode_t;

/* The scanner's state.  A zeroed struct is the start of a statement. */
typedef struct trk_sqlscan
{
	trk_sqlmode_t mode;
	bool		quote_pending;	/* the last byte was a quote that closes the
								 * string unless the next byte doubles it */
	bool		escape_pending; /* E string: the last byte was a backslash */
	int			depth;			/* block comment nesting */
	size_t		open;			/* offset of the quote or comment opener */
	size_t		tag;			/* dollar quote: offset of its "$tag$" */
	size_t		taglen;			/* … and length, both dollars included */
} trk_sqlscan_t;

/* What the bytes consumed by one trk_sqlscan_next call were. */
typedef enum trk_sqltok
{
	TRK_SQLTOK_SPACE = 0,		/* whitespace between tokens */
	TRK_SQLTOK_COMMENT,			/* a comment, or part of one */
	TRK_SQLTOK_QUOTED,			/* the inside or the end of a quoted token */
	TRK_SQLTOK_TOKEN,			/* a token, or the opening of a quoted one */
	TRK_SQLTOK_SEMICOLON,		/* ";" outside quotes and comments */
	TRK_SQLTOK_PARAM			/* a positional parameter such as $1 */
} trk_sqltok_t;

/*
 * trk_sqlscan_next consumes at least one byte of text[pos .. end) and
 * returns the offset after it, with what it was in *tok.  Offsets are into
 * text, which must be the same buffer for every call on one scanner (a dollar
 * quote's tag is remembered by offset).
 */
size_t		trk_sqlscan_next(trk_sqlscan_t *s, const char *text, size_t pos,
							 size_t end, trk_sqltok_t *tok);

/* trk_sqlscan_boundary tells the scanner a segment ended at a tag. */
void		trk_sqlscan_boundary(trk_sqlscan_t *s);

/* trk_sqlscan_inside: true when the scanner is inside a quote or comment. */
bool		trk_sqlscan_inside(const trk_sqlscan_t *s);

/* trk_sqlscan_where names the current region: "a SQL string literal", … */
const char *trk_sqlscan_where(const trk_sqlscan_t *s);

#endif
