/* template.c — SQL templates: tags → a checked tree → one cached statement per branch choice. */
#include "template/template.h"
#include "template/decimal.h"
#include "template/sqlscan.h"
#include "base/mem.h"
#include "base/suggest.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * Limits that keep hostile input from exhausting the stack (compiling, binding
 * and building recurse once per level) or flooding the caller with errors.
 */
#define MAX_NESTING		32		/* {% if %} inside {% if %} */
#define MAX_EXPR_DEPTH	32		/* parentheses and "not" in one condition */
#define MAX_ERRORS		50		/* per template; then stop */

#define NO_OFFSET		SIZE_MAX

/* ----------------------------------------------------------------
 * The compiled form
 * ----------------------------------------------------------------
 */

typedef enum expr_kind
{
	E_LIT,						/* a literal: vkind, text/len in the pool */
	E_REF,						/* a reference: ref */
	E_NOT,						/* not a */
	E_AND,						/* a and …: operands chained through next */
	E_OR,						/* a or … */
	E_EQ,						/* a == b */
	E_NE,						/* a != b */
	E_ISNULL,					/* a is null */
	E_ISNOTNULL					/* a is not null */
} expr_kind_t;

typedef struct expr
{
	expr_kind_t kind;
	trk_value_kind_t vkind;		/* E_LIT */
	size_t		text;			/* E_LIT: offset of the value in the pool */
	size_t		len;
	int			ref;			/* E_REF: index into refs */
	size_t		off;			/* where it starts in the template */
	int			line;			/* E_REF: position, for lookup errors */
	int			col;
	int			a;				/* first operand, or -1 */
	int			b;				/* second operand of == and !=, or -1 */
	int			next;			/* next operand of an enclosing and/or */
} expr_t;

typedef enum node_kind
{
	N_TEXT,						/* SQL text, copied through */
	N_VALUE,					/* {{ expr }} */
	N_IF						/* {% if %} … {% endif %} */
} node_kind_t;

typedef struct node
{
	node_kind_t kind;
	int			next;			/* next sibling, or -1 */
	int			next_if;		/* N_IF: next N_IF sibling, or -1 */
	size_t		start;			/* N_TEXT: its bytes; N_IF: its "{%" */
	size_t		end;
	size_t		semi;			/* N_TEXT: the statement's ";" or NO_OFFSET */
	bool		sep;			/* N_TEXT: follows a tag, in SQL code */
	bool		sql;			/* N_TEXT: holds more than space/comments */
	int			expr;			/* N_VALUE: E_REF or E_LIT; start is its "{{" */
	size_t		lit;			/* N_VALUE of a literal: its SQL in the pool */
	size_t		litlen;
	int			branch;			/* N_IF: first branch */
	int			nbranches;
} node_t;

typedef struct branch
{
	int			cond;			/* expr, or -1 for else */
	int			body;			/* first node, or -1 */
	int			body_if;		/* first N_IF of the body, or -1 */
	int			next;			/* next branch of the chain, or -1 */
} branch_t;

/*
 * Where a run of a statement's SQL came from: SQL text maps byte for byte,
 * a {{ }} value to its tag.  Bytes the builder inserted belong to the run
 * before them.
 */
typedef struct span
{
	size_t		out;			/* first byte in the statement's sql */
	size_t		src;			/* its origin in the template text */
	bool		exact;			/* SQL text, not a value */
} span_t;

/*
 * One statement: the public part, first so that a trk_stmt_t * converts
 * back, plus what binding and position mapping need.
 */
typedef struct stmt
{
	trk_stmt_t	pub;
	const struct trk_template *owner;
	int		   *refidx;			/* owned: params' indices into refs */
	int		   *line;			/* owned: each param's first use here */
	int		   *col;
	span_t	   *spans;			/* owned, by out */
	size_t		nspans;
	size_t		capspans;
} stmt_t;

/*
 * The statement cache is a trie over the sequence of branches taken, one
 * level per {% if %} chain met on the way: binding walks it while evaluating,
 * so a hit costs no hashing and no allocation.  child[nbranches] is "no
 * branch taken".
 */
typedef struct choice
{
	struct choice **child;		/* owned array; entries owned via all */
	stmt_t	   *stmt;			/* borrowed from stmts */
	struct choice *all;			/* next allocated choice, for freeing */
} choice_t;

/* A reference's value for the bind in progress (gen), looked up once. */
typedef struct refval
{
	uint64_t	gen;
	trk_value_t value;
} refval_t;

struct trk_template
{
	char	   *file;			/* owned */
	char	   *text;			/* owned copy: statements are built lazily */
	size_t		len;

	node_t	   *nodes;			/* owned; everything links by index */
	size_t		nnodes;
	size_t		capnodes;
	branch_t   *branches;
	size_t		nbranches;
	size_t		capbranches;
	expr_t	   *exprs;
	size_t		nexprs;
	size_t		capexprs;
	trk_buf_t	pool;			/* literal values and literal SQL */
	trk_ref_t  *refs;			/* owned, fields owned */
	size_t		nrefs;
	size_t		caprefs;
	int			root;			/* first top-level node */
	int			root_if;		/* first top-level N_IF */
	int			nifs;
	int			max_params;

	/* binding */
	refval_t   *cache;			/* owned, nrefs entries */
	uint64_t	gen;
	int		   *choices;		/* owned, nifs entries: the current path */
	choice_t	trie;
	choice_t   *all_choices;	/* owned list of every trie node but trie */
	stmt_t	  **stmts;			/* owned, by id */
	size_t		nstmts;
	size_t		capstmts;
	trk_buf_t	lookup_err;		/* scratch for the lookup's message */
};

/* ----------------------------------------------------------------
 * Characters and positions
 * ----------------------------------------------------------------
 */

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
		c == '\v';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
is_ident_cont(char c)
{
	return is_ident_start(c) || is_digit(c) || c == '$';
}

/* A position cursor: line and column (in characters) of off. */
typedef struct poscur
{
	size_t		off;
	int			line;
	int			col;
} poscur_t;

/*
 * position moves cur to off and reports where that is.  Moving forward costs
 * the distance; moving back restarts from the top, which only diagnostics
 * do, and there are at most MAX_ERRORS of them.
 */
static void
position(const char *text, size_t off, poscur_t *cur, int *line, int *col)
{
	if (off < cur->off || cur->line == 0)
	{
		cur->off = 0;
		cur->line = 1;
		cur->col = 1;
	}
	for (; cur->off < off; cur->off++)
	{
		unsigned char ch = (unsigned char) text[cur->off];

		if (ch == '\n')
		{
			cur->line++;
			cur->col = 1;
		}
		else if ((ch & 0xC0) != 0x80)
			cur->col++;
	}
	*line = cur->line;
	*col = cur->col;
}

/* ----------------------------------------------------------------
 * The compiler's state
 * ----------------------------------------------------------------
 */

/* Where the SQL text stands along the branch being compiled. */
typedef struct path
{
	trk_sqlscan_t scan;
	bool		ended;			/* a ";" ended the statement */
} path_t;

/* The node list being appended to: top level (branch -1) or a branch. */
typedef struct list
{
	int			branch;
	int			tail;
	int			tail_if;
} list_t;

/* An open {% if %}. */
typedef struct frame
{
	int			node;
	size_t		off;			/* its "{%" */
	int			branch;			/* the last branch so far */
	bool		has_else;
	path_t		start;			/* every branch starts from here */
	path_t		first_end;		/* where the first branch ended */
	bool		have_end;
	bool		ended;			/* some branch ended the statement */
	list_t		outer;
} frame_t;

typedef enum tok_kind
{
	T_END,
	T_IDENT,
	T_QIDENT,					/* "…" */
	T_STRING,					/* '…' */
	T_NUMBER,
	T_DOT,
	T_EQ,
	T_NE,
	T_LPAREN,
	T_RPAREN,
	T_BAD
} tok_kind_t;

typedef struct token
{
	tok_kind_t	kind;
	size_t		off;
	size_t		len;
} token_t;

typedef struct compiler
{
	trk_template_t *t;
	const trk_template_scope_t *scope;
	trk_diags_t *diags;
	const char *text;			/* t->text */
	size_t		len;
	int			nerrors;
	bool		fatal;			/* stop: nothing after this can be trusted */
	poscur_t	diagpos;
	poscur_t	refpos;
	path_t		path;
	bool		any_sql;
	bool		multi_reported;
	size_t		quote_reported; /* opener of the quote already reported */
	list_t		list;
	frame_t		stack[MAX_NESTING];
	int			depth;

	/* the tag being parsed */
	size_t		tagpos;
	size_t		tagend;
	token_t		tok;
	bool		quiet;			/* parse only to see whether it parses */
	bool		failed;			/* quiet parse hit an error */
} compiler_t;

static void error_at(compiler_t *c, size_t off, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

static void
error_at(compiler_t *c, size_t off, const char *fmt,...)
{
	trk_buf_t	msg = {0};
	va_list		ap;
	int			line,
				col;

	if (c->fatal)
		return;
	if (c->quiet)
	{
		c->failed = true;
		return;
	}
	position(c->text, off, &c->diagpos, &line, &col);
	if (c->nerrors == MAX_ERRORS)
	{
		trk_diag_error(c->diags, c->t->file, line, col,
					   "too many errors, stopping");
		c->fatal = true;
		return;
	}
	va_start(ap, fmt);
	trk_buf_vappendf(&msg, fmt, ap);
	va_end(ap);
	trk_diag_error(c->diags, c->t->file, line, col, "%s", trk_buf_cstr(&msg));
	trk_buf_free(&msg);
	c->nerrors++;
}

/* span_is: whether text[off .. off+len) is word. */
static bool
span_is(const compiler_t *c, size_t off, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(c->text + off, word, len) == 0;
}

static bool
tok_is(const compiler_t *c, const char *word)
{
	return c->tok.kind == T_IDENT && span_is(c, c->tok.off, c->tok.len, word);
}

/*
 * clip returns how much of text[off .. off+len) to quote in a message: at
 * most 40 bytes, cut at a character boundary.
 */
static int
clip(const compiler_t *c, size_t off, size_t len)
{
	size_t		n = len;

	if (n > 40)
	{
		n = 40;
		while (n > 0 && ((unsigned char) c->text[off + n] & 0xC0) == 0x80)
			n--;
	}
	return (int) n;
}

/* ----------------------------------------------------------------
 * Building the tree
 * ----------------------------------------------------------------
 */

static int
new_expr(compiler_t *c, expr_kind_t kind, size_t off)
{
	trk_template_t *t = c->t;
	expr_t	   *e;

	TRK_GROW(t->exprs, t->capexprs, t->nexprs + 1);
	e = &t->exprs[t->nexprs];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->off = off;
	e->ref = -1;
	e->a = e->b = e->next = -1;
	return (int) t->nexprs++;
}

static int
new_node(compiler_t *c, node_kind_t kind)
{
	trk_template_t *t = c->t;
	node_t	   *n;

	TRK_GROW(t->nodes, t->capnodes, t->nnodes + 1);
	n = &t->nodes[t->nnodes];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->next = n->next_if = n->expr = n->branch = -1;
	n->semi = NO_OFFSET;
	return (int) t->nnodes++;
}

static int
new_branch(compiler_t *c, int cond)
{
	trk_template_t *t = c->t;
	branch_t   *b;

	TRK_GROW(t->branches, t->capbranches, t->nbranches + 1);
	b = &t->branches[t->nbranches];
	b->cond = cond;
	b->body = b->body_if = b->next = -1;
	return (int) t->nbranches++;
}

/* append_node adds node n at the end of the list being built. */
static void
append_node(compiler_t *c, int n)
{
	trk_template_t *t = c->t;
	list_t	   *l = &c->list;
	int		   *head = l->branch < 0 ? &t->root : &t->branches[l->branch].body;

	if (l->tail < 0)
		*head = n;
	else
		t->nodes[l->tail].next = n;
	l->tail = n;
	if (t->nodes[n].kind == N_IF)
	{
		int		   *head_if = l->branch < 0 ? &t->root_if :
			&t->branches[l->branch].body_if;

		if (l->tail_if < 0)
			*head_if = n;
		else
			t->nodes[l->tail_if].next_if = n;
		l->tail_if = n;
		t->nifs++;
	}
}

/* pool_add copies n bytes into the pool, NUL-terminated, and returns where. */
static size_t
pool_add(trk_template_t *t, const char *s, size_t n)
{
	size_t		off = t->pool.len;

	trk_buf_appendn(&t->pool, s, n);
	trk_buf_appendc(&t->pool, '\0');
	return off;
}

/* ----------------------------------------------------------------
 * Lexing inside a tag
 * ----------------------------------------------------------------
 */

/* lex reads the next token of the current tag into c->tok. */
static void
lex(compiler_t *c)
{
	const char *s = c->text;
	size_t		p = c->tagpos;
	size_t		end = c->tagend;
	size_t		q;
	token_t    *tok = &c->tok;
	char		ch;

	while (p < end && is_space(s[p]))
		p++;
	tok->off = p;
	tok->len = 0;
	if (p >= end)
	{
		tok->kind = T_END;
		c->tagpos = end;
		return;
	}
	ch = s[p];
	q = p + 1;
	if (is_ident_start(ch))
	{
		while (q < end && is_ident_cont(s[q]))
			q++;
		tok->kind = T_IDENT;
	}
	else if (ch == '\'' || ch == '"')
	{
		tok->kind = ch == '\'' ? T_STRING : T_QIDENT;
		for (;;)
		{
			while (q < end && s[q] != ch)
				q++;
			if (q >= end)
			{
				/* cannot happen: the closing tag was searched for outside quotes */
				tok->kind = T_BAD;
				break;
			}
			q++;
			if (q < end && s[q] == ch)
				q++;
			else
				break;
		}
	}
	else if (is_digit(ch) || (ch == '-' && q < end && is_digit(s[q])))
	{
		while (q < end && is_digit(s[q]))
			q++;
		if (q + 1 < end && s[q] == '.' && is_digit(s[q + 1]))
		{
			q++;
			while (q < end && is_digit(s[q]))
				q++;
		}
		if (q < end && (s[q] == 'e' || s[q] == 'E'))
		{
			size_t		e = q + 1;

			if (e < end && (s[e] == '+' || s[e] == '-'))
				e++;
			if (e < end && is_digit(s[e]))
			{
				while (e < end && is_digit(s[e]))
					e++;
				q = e;
			}
		}
		tok->kind = T_NUMBER;
	}
	else if (ch == '.')
		tok->kind = T_DOT;
	else if (ch == '(')
		tok->kind = T_LPAREN;
	else if (ch == ')')
		tok->kind = T_RPAREN;
	else if (ch == '=' && q < end && s[q] == '=')
	{
		q++;
		tok->kind = T_EQ;
	}
	else if (ch == '!' && q < end && s[q] == '=')
	{
		q++;
		tok->kind = T_NE;
	}
	else
	{
		tok->kind = T_BAD;
		if (q < end && ((ch == '&' && s[q] == '&') || (ch == '|' && s[q] == '|') ||
						(ch == '<' && s[q] == '>')))
			q++;
		else
			while (q < end && ((unsigned char) s[q] & 0xC0) == 0x80)
				q++;
	}
	tok->len = q - p;
	c->tagpos = q;
}

/*
 * unexpected reports the current token where something else was needed;
 * where says in what ("in condition"), and common slips get a hint.
 */
static void
unexpected(compiler_t *c, const char *where)
{
	const token_t *tok = &c->tok;
	const char *hint = "";

	if (tok->kind == T_END)
	{
		error_at(c, tok->off, "unexpected end of tag %s", where);
		return;
	}
	if (tok->kind == T_BAD)
	{
		if (span_is(c, tok->off, tok->len, "="))
			hint = "; did you mean \"==\"?";
		else if (span_is(c, tok->off, tok->len, "<>"))
			hint = "; did you mean \"!=\"?";
		else if (span_is(c, tok->off, tok->len, "&&"))
			hint = "; did you mean \"and\"?";
		else if (span_is(c, tok->off, tok->len, "||"))
			hint = "; did you mean \"or\"?";
		else if (span_is(c, tok->off, tok->len, "!"))
			hint = "; did you mean \"not\"?";
	}
	error_at(c, tok->off, "unexpected \"%.*s\" %s%s",
			 clip(c, tok->off, tok->len), c->text + tok->off, where, hint);
}

/* ----------------------------------------------------------------
 * Parsing expressions
 * ----------------------------------------------------------------
 */

static const char *const meta_fields[] = {
	"lsn", "end_lsn", "xid", "commit_time", "schema", "table"
};

#define NMETA (sizeof(meta_fields) / sizeof(meta_fields[0]))

/* decode_quoted returns the text of a '…' or "…" token, quotes undoubled. */
static char *
decode_quoted(const compiler_t *c, const token_t *tok, size_t *len)
{
	char		q = c->text[tok->off];
	const char *s = c->text + tok->off + 1;
	size_t		n = tok->len - 2;
	char	   *out = trk_malloc(n + 1);
	size_t		j = 0;

	for (size_t i = 0; i < n; i++)
	{
		out[j++] = s[i];
		if (s[i] == q)
			i++;				/* the second of a doubled quote */
	}
	out[j] = '\0';
	*len = j;
	return out;
}

static int
make_lit(compiler_t *c, trk_value_kind_t vkind, const char *s, size_t n,
		 size_t off)
{
	int			e = new_expr(c, E_LIT, off);

	c->t->exprs[e].vkind = vkind;
	c->t->exprs[e].text = pool_add(c->t, s, n);
	c->t->exprs[e].len = n;
	return e;
}

/* make_ref interns (root, field) and returns an E_REF to it. */
static int
make_ref(compiler_t *c, trk_root_t root, const char *field, size_t flen,
		 size_t off)
{
	trk_template_t *t = c->t;
	size_t		i;
	int			e;
	int			line,
				col;

	position(c->text, off, &c->refpos, &line, &col);
	for (i = 0; i < t->nrefs; i++)
	{
		const trk_ref_t *r = &t->refs[i];

		if (r->root == root &&
			(field == NULL ? r->field == NULL :
			 (r->field != NULL && strlen(r->field) == flen &&
			  memcmp(r->field, field, flen) == 0)))
			break;
	}
	if (i == t->nrefs)
	{
		TRK_GROW(t->refs, t->caprefs, t->nrefs + 1);
		t->refs[i].root = root;
		t->refs[i].field = field ? trk_strndup(field, flen) : NULL;
		t->refs[i].line = line;
		t->refs[i].col = col;
		t->nrefs++;
	}
	e = new_expr(c, E_REF, off);
	t->exprs[e].ref = (int) i;
	t->exprs[e].line = line;
	t->exprs[e].col = col;
	return e;
}

/* word_dup: a NUL-terminated copy of a token for trk_suggest. */
static char *
word_dup(const compiler_t *c, const token_t *tok)
{
	return trk_strndup(c->text + tok->off, tok->len);
}

static void
unknown_variable(compiler_t *c, const token_t *tok)
{
	static const char *const names[] = {
		"operation", "new", "old", "meta", "null", "true", "false",
		"transformed"
	};
	size_t		n = c->scope->allow_transformed ? 8 : 7;
	char	   *word = word_dup(c, tok);
	const char *hint = trk_suggest(word, names, n);

	if (hint)
		error_at(c, tok->off, "unknown variable \"%s\"; did you mean \"%s\"?",
				 word, hint);
	else
		error_at(c, tok->off,
				 "unknown variable \"%s\"; a value is operation, new.<column>, old.<column>%s, meta.<field> or a literal",
				 word, c->scope->allow_transformed ? ", transformed.<column>" : "");
	free(word);
}

/* parse_ref parses a reference starting at the identifier in c->tok. */
static int
parse_ref(compiler_t *c)
{
	token_t		root = c->tok;
	trk_root_t	r;
	char	   *name = NULL;
	size_t		nlen;
	int			e;

	if (span_is(c, root.off, root.len, "operation"))
	{
		lex(c);
		if (c->tok.kind == T_DOT)
		{
			error_at(c, c->tok.off, "\"operation\" has no fields");
			return -1;
		}
		return make_ref(c, TRK_ROOT_OPERATION, NULL, 0, root.off);
	}
	if (span_is(c, root.off, root.len, "meta"))
	{
		lex(c);
		if (c->tok.kind != T_DOT)
		{
			error_at(c, c->tok.off,
					 "\"meta\" must be followed by a field, as in meta.lsn");
			return -1;
		}
		lex(c);
		if (c->tok.kind != T_IDENT)
		{
			error_at(c, c->tok.off, "expected a field name after \"meta.\"");
			return -1;
		}
		for (size_t i = 0; i < NMETA; i++)
		{
			if (span_is(c, c->tok.off, c->tok.len, meta_fields[i]))
			{
				e = make_ref(c, TRK_ROOT_META, meta_fields[i],
							 strlen(meta_fields[i]), root.off);
				lex(c);
				return e;
			}
		}
		name = word_dup(c, &c->tok);
		if (trk_suggest(name, meta_fields, NMETA))
			error_at(c, c->tok.off,
					 "unknown field \"%s\" of \"meta\"; did you mean \"%s\"?",
					 name, trk_suggest(name, meta_fields, NMETA));
		else
			error_at(c, c->tok.off,
					 "unknown field \"%s\" of \"meta\"; it has lsn, end_lsn, xid, commit_time, schema and table",
					 name);
		free(name);
		return -1;
	}
	if (span_is(c, root.off, root.len, "new"))
		r = TRK_ROOT_NEW;
	else if (span_is(c, root.off, root.len, "old"))
		r = TRK_ROOT_OLD;
	else if (span_is(c, root.off, root.len, "transformed") &&
			 c->scope->allow_transformed)
		r = TRK_ROOT_TRANSFORMED;
	else if (span_is(c, root.off, root.len, "transformed"))
	{
		error_at(c, root.off,
				 "unknown variable \"transformed\"; it exists only in the write templates of a pipeline with a transform.sql");
		return -1;
	}
	else
	{
		unknown_variable(c, &root);
		return -1;
	}

	lex(c);
	if (c->tok.kind != T_DOT)
	{
		error_at(c, c->tok.off,
				 "\"%s\" must be followed by a column name, as in %s.id",
				 trk_root_name(r), trk_root_name(r));
		return -1;
	}
	lex(c);
	if (c->tok.kind == T_IDENT)
		e = make_ref(c, r, c->text + c->tok.off, c->tok.len, root.off);
	else if (c->tok.kind == T_QIDENT)
	{
		name = decode_quoted(c, &c->tok, &nlen);
		if (nlen == 0)
		{
			error_at(c, c->tok.off, "zero-length quoted identifier");
			free(name);
			return -1;
		}
		e = make_ref(c, r, name, nlen, root.off);
		free(name);
	}
	else
	{
		error_at(c, c->tok.off,
				 "expected a column name after \"%s.\" (quote it as %s.\"Name\" if it needs quoting)",
				 trk_root_name(r), trk_root_name(r));
		return -1;
	}
	lex(c);
	return e;
}

/* parse_value: a literal or a reference; what {{ }} holds. */
static int
parse_value(compiler_t *c)
{
	token_t		tok = c->tok;
	char	   *s;
	size_t		n;
	int			e;

	switch (tok.kind)
	{
		case T_STRING:
			s = decode_quoted(c, &tok, &n);
			e = make_lit(c, TRK_V_STRING, s, n, tok.off);
			free(s);
			lex(c);
			return e;
		case T_NUMBER:
			e = make_lit(c, TRK_V_NUMBER, c->text + tok.off, tok.len, tok.off);
			lex(c);
			return e;
		case T_IDENT:
			if (tok_is(c, "null"))
				e = make_lit(c, TRK_V_NULL, "", 0, tok.off);
			else if (tok_is(c, "true"))
				e = make_lit(c, TRK_V_BOOL, "true", 4, tok.off);
			else if (tok_is(c, "false"))
				e = make_lit(c, TRK_V_BOOL, "false", 5, tok.off);
			else if (tok_is(c, "and") || tok_is(c, "or") || tok_is(c, "not") ||
					 tok_is(c, "is") || tok_is(c, "if") || tok_is(c, "elif") ||
					 tok_is(c, "else") || tok_is(c, "endif"))
			{
				error_at(c, tok.off, "expected a value, found \"%.*s\"",
						 (int) tok.len, c->text + tok.off);
				return -1;
			}
			else
				return parse_ref(c);
			lex(c);
			return e;
		case T_END:
			error_at(c, tok.off, "expected a value, found end of tag");
			return -1;
		default:
			unexpected(c, "where a value was expected");
			return -1;
	}
}

static int	parse_or(compiler_t *c, int depth);

static int
parse_primary(compiler_t *c, int depth)
{
	int			e;

	if (c->tok.kind != T_LPAREN)
		return parse_value(c);
	if (depth >= MAX_EXPR_DEPTH)
	{
		error_at(c, c->tok.off, "condition is nested too deeply (at most %d levels)",
				 MAX_EXPR_DEPTH);
		return -1;
	}
	lex(c);
	e = parse_or(c, depth + 1);
	if (e < 0)
		return -1;
	if (c->tok.kind != T_RPAREN)
	{
		unexpected(c, "in condition; expected \")\"");
		return -1;
	}
	lex(c);
	return e;
}

static int
parse_is(compiler_t *c, int depth)
{
	int			e = parse_primary(c, depth);
	int			n;
	size_t		off;
	bool		negated = false;

	if (e < 0 || !tok_is(c, "is"))
		return e;
	off = c->tok.off;
	lex(c);
	if (tok_is(c, "not"))
	{
		negated = true;
		lex(c);
	}
	if (!tok_is(c, "null"))
	{
		error_at(c, c->tok.off, "expected \"null\" or \"not null\" after \"is\"");
		return -1;
	}
	lex(c);
	n = new_expr(c, negated ? E_ISNOTNULL : E_ISNULL, off);
	c->t->exprs[n].a = e;
	return n;
}

/*
 * check_operation rejects comparing operation with a string it can never
 * hold: such a branch would silently never (or always) be taken.
 */
static void
check_operation(compiler_t *c, int a, int b)
{
	static const char *const ops[] = {"insert", "update", "delete"};
	const expr_t *ea = &c->t->exprs[a];
	const expr_t *eb = &c->t->exprs[b];
	const expr_t *lit;
	const char *s;
	const char *hint;

	if (ea->kind == E_REF && c->t->refs[ea->ref].root == TRK_ROOT_OPERATION &&
		eb->kind == E_LIT && eb->vkind == TRK_V_STRING)
		lit = eb;
	else if (eb->kind == E_REF && c->t->refs[eb->ref].root == TRK_ROOT_OPERATION &&
			 ea->kind == E_LIT && ea->vkind == TRK_V_STRING)
		lit = ea;
	else
		return;
	s = c->t->pool.data + lit->text;
	for (size_t i = 0; i < 3; i++)
		if (lit->len == strlen(ops[i]) && memcmp(s, ops[i], lit->len) == 0)
			return;
	hint = trk_suggest(s, ops, 3);
	if (hint)
		error_at(c, lit->off,
				 "operation is never \"%.*s\"; did you mean \"%s\"?",
				 clip(c, lit->off, lit->len), s, hint);
	else
		error_at(c, lit->off,
				 "operation is never \"%.*s\"; it is \"insert\", \"update\" or \"delete\"",
				 clip(c, lit->off, lit->len), s);
}

static int
parse_cmp(compiler_t *c, int depth)
{
	int			a = parse_is(c, depth);
	int			b;
	int			n;
	size_t		off;
	expr_kind_t kind;

	if (a < 0 || (c->tok.kind != T_EQ && c->tok.kind != T_NE))
		return a;
	kind = c->tok.kind == T_EQ ? E_EQ : E_NE;
	off = c->tok.off;
	lex(c);
	b = parse_is(c, depth);
	if (b < 0)
		return -1;
	if (c->tok.kind == T_EQ || c->tok.kind == T_NE)
	{
		error_at(c, c->tok.off,
				 "comparisons cannot be chained; combine them with \"and\"");
		return -1;
	}
	check_operation(c, a, b);
	n = new_expr(c, kind, off);
	c->t->exprs[n].a = a;
	c->t->exprs[n].b = b;
	return n;
}

static int
parse_not(compiler_t *c, int depth)
{
	int			a;
	int			n;
	size_t		off = c->tok.off;

	if (!tok_is(c, "not"))
		return parse_cmp(c, depth);
	if (depth >= MAX_EXPR_DEPTH)
	{
		error_at(c, off, "condition is nested too deeply (at most %d levels)",
				 MAX_EXPR_DEPTH);
		return -1;
	}
	lex(c);
	a = parse_not(c, depth + 1);
	if (a < 0)
		return -1;
	n = new_expr(c, E_NOT, off);
	c->t->exprs[n].a = a;
	return n;
}

/*
 * parse_chain parses operand (word operand)* as one n-ary node, so that a
 * long "a or b or c …" costs a loop, not a recursion level per operand.
 */
static int
parse_chain(compiler_t *c, int depth, const char *word, expr_kind_t kind,
			int (*operand) (compiler_t *, int))
{
	int			first = operand(c, depth);
	int			last = first;
	int			n;

	if (first < 0 || !tok_is(c, word))
		return first;
	n = new_expr(c, kind, c->t->exprs[first].off);
	c->t->exprs[n].a = first;
	while (tok_is(c, word))
	{
		int			e;

		lex(c);
		e = operand(c, depth);
		if (e < 0)
			return -1;
		c->t->exprs[last].next = e;
		last = e;
	}
	return n;
}

static int
parse_and(compiler_t *c, int depth)
{
	return parse_chain(c, depth, "and", E_AND, parse_not);
}

static int
parse_or(compiler_t *c, int depth)
{
	return parse_chain(c, depth, "or", E_OR, parse_and);
}

/* parse_cond parses a whole {% if %} condition after the keyword. */
static int
parse_cond(compiler_t *c, size_t open, const char *keyword)
{
	int			e;

	if (c->tok.kind == T_END)
	{
		error_at(c, open, "missing condition after \"%s\"", keyword);
		return -1;
	}
	e = parse_or(c, 0);
	if (e >= 0 && c->tok.kind != T_END)
	{
		unexpected(c, "in condition");
		return -1;
	}
	return e;
}

/* ----------------------------------------------------------------
 * Tags
 * ----------------------------------------------------------------
 */

/*
 * quote_seen is true when a tag inside this SQL quote or comment was
 * already reported: the next tags in the same string are the same mistake.
 */
static bool
quote_seen(compiler_t *c)
{
	if (c->path.scan.open == c->quote_reported)
		return true;
	c->quote_reported = c->path.scan.open;
	return false;
}

static void
value_inside_quote(compiler_t *c, size_t open, size_t cstart, size_t cend)
{
	const trk_sqlscan_t *s = &c->path.scan;
	const char *where = trk_sqlscan_where(s);
	int			e;

	if (quote_seen(c))
		return;

	/* whether it even is an expression: '{{1,2},{3,4}}' is an array */
	c->quiet = true;
	c->failed = false;
	e = parse_value(c);
	if (e >= 0 && c->tok.kind != T_END)
		c->failed = true;
	c->quiet = false;
	if (c->failed)
	{
		error_at(c, open,
				 "\"{{\" inside %s starts a template tag; to write two braces there, put a space between them",
				 where);
		return;
	}
	while (cstart < cend && is_space(c->text[cstart]))
		cstart++;
	while (cend > cstart && is_space(c->text[cend - 1]))
		cend--;
	switch (s->mode)
	{
		case TRK_SQL_STRING:
		case TRK_SQL_ESTRING:
		case TRK_SQL_DOLLAR:
			error_at(c, open,
					 "template value inside %s: write {{ %.*s }} without quotes, values are sent as bind parameters",
					 where, clip(c, cstart, cend - cstart), c->text + cstart);
			break;
		case TRK_SQL_IDENT:
			error_at(c, open,
					 "template value inside a SQL quoted identifier: values are sent as bind parameters and cannot name a table or column");
			break;
		default:
			error_at(c, open,
					 "template value inside a SQL comment: use {# ... #} to comment out template code");
			break;
	}
}

static void
block_inside_quote(compiler_t *c, size_t open)
{
	const trk_sqlscan_t *s = &c->path.scan;
	const char *where = trk_sqlscan_where(s);
	int			n = c->tok.kind == T_IDENT ? clip(c, c->tok.off, c->tok.len) : 2;
	const char *name = c->tok.kind == T_IDENT ? c->text + c->tok.off : "{%";

	if (quote_seen(c))
		return;
	if (s->mode == TRK_SQL_LINE_COMMENT || s->mode == TRK_SQL_BLOCK_COMMENT)
		error_at(c, open,
				 "template tag \"%.*s\" inside a SQL comment: use {# ... #} to comment out template code",
				 n, name);
	else
		error_at(c, open,
				 "template tag \"%.*s\" inside %s: a branch cannot cut a quoted token in two; repeat the whole token in each branch",
				 n, name, where);
}

static void
second_statement(compiler_t *c, size_t off)
{
	if (c->multi_reported)
		return;
	c->multi_reported = true;
	error_at(c, off, "only one SQL statement is allowed per file");
}

static void
compile_value(compiler_t *c, size_t open, size_t cstart, size_t cend)
{
	int			e;
	int			n;
	const expr_t *x;
	trk_buf_t	sql = {0};

	c->any_sql = true;
	lex(c);
	if (trk_sqlscan_inside(&c->path.scan))
	{
		value_inside_quote(c, open, cstart, cend);
		return;
	}
	if (c->tok.kind == T_END)
	{
		error_at(c, open,
				 "empty \"{{ }}\": write a reference such as {{ new.id }} or a literal");
		return;
	}
	if (c->path.ended)
		second_statement(c, open);
	e = parse_value(c);
	if (e < 0)
		return;
	if (c->tok.kind != T_END)
	{
		unexpected(c, "after the value; \"{{ }}\" holds one reference or literal");
		return;
	}

	n = new_node(c, N_VALUE);
	c->t->nodes[n].expr = e;
	c->t->nodes[n].start = open;
	x = &c->t->exprs[e];
	if (x->kind == E_LIT)
	{
		const char *s = c->t->pool.data + x->text;

		switch (x->vkind)
		{
			case TRK_V_NULL:
			case TRK_V_ABSENT:
				trk_buf_append(&sql, "NULL");
				break;
			case TRK_V_BOOL:
				trk_buf_append(&sql, s[0] == 't' ? "TRUE" : "FALSE");
				break;
			case TRK_V_NUMBER:
				/* (-1): "-1::text" would read as -(1::text) */
				if (s[0] == '-')
					trk_buf_appendc(&sql, '(');
				trk_buf_appendn(&sql, s, x->len);
				if (s[0] == '-')
					trk_buf_appendc(&sql, ')');
				break;
			case TRK_V_STRING:
				/* E'' with doubled backslashes whatever standard_conforming_strings is */
				if (memchr(s, '\\', x->len))
					trk_buf_appendc(&sql, 'E');
				trk_buf_appendc(&sql, '\'');
				for (size_t i = 0; i < x->len; i++)
				{
					if (s[i] == '\'' || s[i] == '\\')
						trk_buf_appendc(&sql, s[i]);
					trk_buf_appendc(&sql, s[i]);
				}
				trk_buf_appendc(&sql, '\'');
				break;
		}
		c->t->nodes[n].lit = pool_add(c->t, trk_buf_cstr(&sql), sql.len);
		c->t->nodes[n].litlen = sql.len;
		trk_buf_free(&sql);
	}
	append_node(c, n);
}

/* end_branch records where the SQL stands at the end of the open branch. */
static void
end_branch(frame_t *f, const path_t *p)
{
	if (!f->have_end)
	{
		f->first_end = *p;
		f->have_end = true;
	}
	f->ended = f->ended || p->ended;
}

/* start_branch begins a new elif/else branch of f with the given condition. */
static void
start_branch(compiler_t *c, frame_t *f, int cond)
{
	int			b = new_branch(c, cond);

	c->t->branches[f->branch].next = b;
	f->branch = b;
	c->t->nodes[f->node].nbranches++;
	c->path = f->start;
	c->list.branch = b;
	c->list.tail = -1;
	c->list.tail_if = -1;
}

static void
compile_if(compiler_t *c, size_t open)
{
	int			cond;
	int			n;
	frame_t    *f;

	lex(c);
	cond = parse_cond(c, open, "if");
	if (c->depth == MAX_NESTING)
	{
		error_at(c, open, "\"if\" is nested too deeply (at most %d levels)",
				 MAX_NESTING);
		c->fatal = true;
		return;
	}
	n = new_node(c, N_IF);
	c->t->nodes[n].start = open;
	append_node(c, n);
	c->t->nodes[n].branch = new_branch(c, cond);
	c->t->nodes[n].nbranches = 1;

	f = &c->stack[c->depth++];
	memset(f, 0, sizeof(*f));
	f->node = n;
	f->off = open;
	f->branch = c->t->nodes[n].branch;
	f->start = c->path;
	f->outer = c->list;
	c->list.branch = f->branch;
	c->list.tail = -1;
	c->list.tail_if = -1;
}

static void
compile_elif(compiler_t *c, size_t open)
{
	frame_t    *f;
	int			cond;

	if (c->depth == 0)
	{
		error_at(c, open, "\"elif\" without \"if\"");
		return;
	}
	f = &c->stack[c->depth - 1];
	if (f->has_else)
		error_at(c, open, "\"elif\" after \"else\"");
	lex(c);
	cond = parse_cond(c, open, "elif");
	end_branch(f, &c->path);
	start_branch(c, f, cond);
}

static void
compile_else(compiler_t *c, size_t open)
{
	frame_t    *f;

	lex(c);
	if (tok_is(c, "if"))
		error_at(c, c->tok.off, "unexpected \"if\" after \"else\"; write \"elif\"");
	else if (c->tok.kind != T_END)
		unexpected(c, "after \"else\"");
	if (c->depth == 0)
	{
		error_at(c, open, "\"else\" without \"if\"");
		return;
	}
	f = &c->stack[c->depth - 1];
	if (f->has_else)
		error_at(c, open, "more than one \"else\" in the same \"if\"");
	f->has_else = true;
	end_branch(f, &c->path);
	start_branch(c, f, -1);
}

static void
compile_endif(compiler_t *c, size_t open)
{
	frame_t    *f;

	lex(c);
	if (c->tok.kind != T_END)
		unexpected(c, "after \"endif\"");
	if (c->depth == 0)
	{
		error_at(c, open, "\"endif\" without \"if\"");
		return;
	}
	f = &c->stack[--c->depth];
	end_branch(f, &c->path);

	/*
	 * Tags may not sit inside quotes, so every branch ends in SQL code (or
	 * an error was reported).  What can differ is whether a branch ended the
	 * statement: then whatever follows is a second statement on that path.
	 */
	c->path = f->first_end;
	c->path.ended = f->ended;
	c->list = f->outer;
}

static void
compile_block(compiler_t *c, size_t open)
{
	static const char *const tags[] = {"if", "elif", "else", "endif"};
	char	   *word;
	const char *hint;

	lex(c);
	if (c->tok.kind == T_END)
	{
		error_at(c, open, "empty \"{%% %%}\" tag");
		return;
	}
	if (trk_sqlscan_inside(&c->path.scan))
		block_inside_quote(c, open);
	if (c->tok.kind != T_IDENT)
	{
		unexpected(c, "after \"{%\"; expected if, elif, else or endif");
		return;
	}
	if (tok_is(c, "if"))
		compile_if(c, open);
	else if (tok_is(c, "elif"))
		compile_elif(c, open);
	else if (tok_is(c, "else"))
		compile_else(c, open);
	else if (tok_is(c, "endif"))
		compile_endif(c, open);
	else
	{
		word = word_dup(c, &c->tok);
		if (strcmp(word, "elseif") == 0 || strcmp(word, "elsif") == 0)
			hint = "elif";
		else
			hint = trk_suggest(word, tags, 4);
		if (hint)
		{
			error_at(c, c->tok.off, "unknown tag \"%s\"; did you mean \"%s\"?",
					 word, hint);
			/* go on as that tag, so its partner tags do not cascade */
			free(word);
			if (strcmp(hint, "if") == 0)
				compile_if(c, open);
			else if (strcmp(hint, "elif") == 0)
				compile_elif(c, open);
			else if (strcmp(hint, "else") == 0)
				compile_else(c, open);
			else
				compile_endif(c, open);
			return;
		}
		else
			error_at(c, c->tok.off,
					 "unknown tag \"%s\"; only if, elif, else and endif exist",
					 word);
		free(word);
	}
}

/* ----------------------------------------------------------------
 * SQL text
 * ----------------------------------------------------------------
 */

/*
 * compile_text scans the SQL between two tags along the current path and
 * adds it as a node.  after_tag: a tag precedes it, so at build time it must
 * not fuse with what that tag left in the output.
 */
static void
compile_text(compiler_t *c, size_t start, size_t end, bool after_tag)
{
	int			n;
	node_t		text;
	size_t		pos = start;

	if (start >= end)
		return;
	memset(&text, 0, sizeof(text));
	text.start = start;
	text.end = end;
	text.semi = NO_OFFSET;
	text.sep = after_tag && !trk_sqlscan_inside(&c->path.scan);

	while (pos < end && !c->fatal)
	{
		trk_sqltok_t tok;
		size_t		next = trk_sqlscan_next(&c->path.scan, c->text, pos, end,
											&tok);

		switch (tok)
		{
			case TRK_SQLTOK_SPACE:
			case TRK_SQLTOK_COMMENT:
			case TRK_SQLTOK_QUOTED:
				break;
			case TRK_SQLTOK_SEMICOLON:
				if (c->path.ended)
					second_statement(c, pos);
				else if (text.semi == NO_OFFSET)
					text.semi = pos;
				c->path.ended = true;
				break;
			case TRK_SQLTOK_PARAM:
				error_at(c, pos,
						 "positional parameter \"%.*s\" written in the template: use {{ new.<column> }} or another reference instead",
						 clip(c, pos, next - pos), c->text + pos);
				/* FALLTHROUGH */
			case TRK_SQLTOK_TOKEN:
				c->any_sql = true;
				text.sql = true;
				if (c->path.ended)
					second_statement(c, pos);
				break;
		}
		pos = next;
	}

	n = new_node(c, N_TEXT);
	text.kind = N_TEXT;
	text.next = text.next_if = text.expr = text.branch = -1;
	c->t->nodes[n] = text;
	append_node(c, n);
}

/* find_opener: the next "{{", "{%" or "{#" at or after pos, or NO_OFFSET. */
static size_t
find_opener(const char *s, size_t pos, size_t len)
{
	while (pos + 1 < len)
	{
		const char *p = memchr(s + pos, '{', len - pos - 1);

		if (p == NULL)
			return NO_OFFSET;
		pos = (size_t) (p - s);
		if (s[pos + 1] == '{' || s[pos + 1] == '%' || s[pos + 1] == '#')
			return pos;
		pos++;
	}
	return NO_OFFSET;
}

/*
 * find_closer finds the "}}", "%}" or "#}" that ends a tag whose content
 * starts at pos.  Quotes inside {{ }} and {% %} are skipped, so '%}' can be
 * a literal.  Returns false when there is none; *badquote is then the offset
 * of an unclosed quote, or NO_OFFSET.
 */
static bool
find_closer(const char *s, size_t len, size_t pos, char kind, size_t *close,
			size_t *badquote)
{
	char		first = kind == '{' ? '}' : kind;

	*badquote = NO_OFFSET;
	for (; pos + 1 < len; pos++)
	{
		char		ch = s[pos];

		if (kind != '#' && (ch == '\'' || ch == '"'))
		{
			const char *q = memchr(s + pos + 1, ch, len - pos - 1);

			if (q == NULL)
			{
				*badquote = pos;
				return false;
			}
			pos = (size_t) (q - s);
		}
		else if (ch == first && s[pos + 1] == '}')
		{
			*close = pos;
			return true;
		}
	}
	return false;
}

static void
strip_right(const char *s, size_t start, size_t *end)
{
	while (*end > start && is_space(s[*end - 1]))
		(*end)--;
}

/* compile_all walks the text: SQL segments and tags, in order. */
static void
compile_all(compiler_t *c)
{
	const char *s = c->text;
	size_t		len = c->len;
	size_t		pos = 0;
	bool		rstrip = false;
	bool		after_tag = false;

	while (!c->fatal)
	{
		size_t		open = find_opener(s, pos, len);
		size_t		tend = open == NO_OFFSET ? len : open;
		size_t		cstart,
					cend,
					close,
					badquote;
		char		kind;

		if (rstrip)
			while (pos < tend && is_space(s[pos]))
				pos++;
		if (open != NO_OFFSET && open + 2 < len && s[open + 2] == '-')
			strip_right(s, pos, &tend);
		if (after_tag)
			trk_sqlscan_boundary(&c->path.scan);
		compile_text(c, pos, tend, after_tag);
		if (open == NO_OFFSET || c->fatal)
			break;

		trk_sqlscan_boundary(&c->path.scan);
		kind = s[open + 1];
		cstart = open + 2;
		if (cstart < len && s[cstart] == '-')
			cstart++;
		if (!find_closer(s, len, cstart, kind, &close, &badquote))
		{
			if (badquote != NO_OFFSET)
				error_at(c, badquote, "unterminated quoted %s in template tag",
						 s[badquote] == '\'' ? "string" : "identifier");
			else
				error_at(c, open, "unterminated template %s \"{%c\": expected \"%c}\"",
						 kind == '#' ? "comment" : "tag", kind,
						 kind == '{' ? '}' : kind);
			c->fatal = true;
			break;
		}
		cend = close;
		rstrip = close > cstart && s[close - 1] == '-';
		if (rstrip)
			cend--;

		c->tagpos = cstart;
		c->tagend = cend;
		if (s[open + 2] == '-' && cstart < cend && s[cstart] >= '0' && s[cstart] <= '9')
			error_at(c, open, "\"%.3s\" trims whitespace; for a negative number write \"%.2s -%c\"",
					 s + open, s + open, s[cstart]);
		if (kind == '{')
			compile_value(c, open, cstart, cend);
		else if (kind == '%')
			compile_block(c, open);
		else if (trk_sqlscan_inside(&c->path.scan) && !quote_seen(c))
		{
			/* removing it would join the text around it inside the quote */
			error_at(c, open, "template comment inside %s: it would cut the %s in two",
					 trk_sqlscan_where(&c->path.scan),
					 c->path.scan.mode == TRK_SQL_LINE_COMMENT ||
					 c->path.scan.mode == TRK_SQL_BLOCK_COMMENT ? "comment" : "quoted text");
		}
		pos = close + 2;
		after_tag = true;
	}
}

/* finish reports what only the end of the text can tell. */
static void
finish(compiler_t *c)
{
	trk_sqlscan_t *s = &c->path.scan;

	if (c->fatal)
		return;
	trk_sqlscan_boundary(s);
	for (int i = 0; i < c->depth; i++)
		error_at(c, c->stack[i].off, "\"if\" without \"endif\"");
	if (trk_sqlscan_inside(s) && s->mode != TRK_SQL_LINE_COMMENT &&
		s->open != c->quote_reported)
	{
		switch (s->mode)
		{
			case TRK_SQL_STRING:
			case TRK_SQL_ESTRING:
				error_at(c, s->open, "unterminated quoted string");
				break;
			case TRK_SQL_IDENT:
				error_at(c, s->open, "unterminated quoted identifier");
				break;
			case TRK_SQL_DOLLAR:
				error_at(c, s->open, "unterminated dollar-quoted string");
				break;
			default:
				error_at(c, s->open, "unterminated /* comment");
				break;
		}
	}
	if (!c->any_sql)
		error_at(c, 0, "template is empty");
}

/* prepare_binding sizes what binding needs, so that it never allocates. */
static void
prepare_binding(trk_template_t *t)
{
	bool	   *param = trk_calloc(t->nrefs, sizeof(bool));

	for (size_t i = 0; i < t->nnodes; i++)
	{
		const node_t *n = &t->nodes[i];

		if (n->kind == N_VALUE && t->exprs[n->expr].kind == E_REF &&
			!param[t->exprs[n->expr].ref])
		{
			param[t->exprs[n->expr].ref] = true;
			t->max_params++;
		}
	}
	free(param);
	t->cache = trk_calloc(t->nrefs, sizeof(refval_t));
	t->choices = trk_calloc((size_t) t->nifs, sizeof(int));
}

trk_template_t *
trk_template_compile(const char *file, const char *text, size_t len,
					 const trk_template_scope_t *scope, trk_diags_t *diags)
{
	static const trk_template_scope_t default_scope = {0};
	trk_template_t *t = trk_calloc(1, sizeof(trk_template_t));
	compiler_t	c;
	const char *nul;

	t->file = trk_strdup(file ? file : "");
	t->text = trk_malloc(len + 1);
	if (len > 0)
		memcpy(t->text, text, len);
	t->text[len] = '\0';
	t->len = len;
	t->root = t->root_if = -1;

	memset(&c, 0, sizeof(c));
	c.t = t;
	c.scope = scope ? scope : &default_scope;
	c.diags = diags;
	c.text = t->text;
	c.len = len;
	c.quote_reported = NO_OFFSET;
	c.list.branch = -1;
	c.list.tail = c.list.tail_if = -1;

	/* the statement is a C string, and PostgreSQL rejects NUL in text anyway */
	nul = len > 0 ? memchr(t->text, '\0', len) : NULL;
	if (nul)
		error_at(&c, (size_t) (nul - t->text), "template contains a NUL byte");
	else
	{
		compile_all(&c);
		finish(&c);
	}
	if (c.nerrors > 0 || c.fatal)
	{
		trk_template_free(t);
		return NULL;
	}
	prepare_binding(t);
	return t;
}

/* ----------------------------------------------------------------
 * Building one statement (on a cache miss)
 * ----------------------------------------------------------------
 */

typedef struct builder
{
	trk_template_t *t;
	trk_buf_t	sql;
	int		   *num;			/* per ref: its $n here, or 0 */
	stmt_t	   *stmt;
	int			nchoice;		/* choices consumed */
	bool		has_sql;
} builder_t;

static bool
is_word_byte(unsigned char c)
{
	return is_ident_cont((char) c) || c >= 0x80;
}

static bool
is_op_byte(unsigned char c)
{
	return c != '\0' && strchr("+-*/<>=~!@#%^&|`?:", c) != NULL;
}

/*
 * fuses: whether PostgreSQL would read bytes a and b, written next to each
 * other, as (part of) one token — x$1, $11, E'…', 'a''b', --, 1.5, ^-.  A tag
 * always separates tokens, so the builder puts a space between such bytes.
 */
static bool
fuses(unsigned char a, unsigned char b)
{
	if (is_word_byte(a) && (is_word_byte(b) || b == '\''))
		return true;
	if (is_op_byte(a) && (is_op_byte(b) || (a == '&' && (b == '\'' || b == '"'))))
		return true;
	if ((a == '\'' || a == '"') && a == b)
		return true;
	return (a == '.' && (is_digit((char) b) || b == '.')) ||
		(is_digit((char) a) && b == '.');
}

/* emit appends n bytes that came from src (exact: byte for byte). */
static void
emit(builder_t *b, const char *s, size_t n, bool separate, size_t src,
	 bool exact)
{
	stmt_t	   *st = b->stmt;

	if (n == 0)
		return;
	if (separate && b->sql.len > 0 &&
		fuses((unsigned char) b->sql.data[b->sql.len - 1], (unsigned char) s[0]))
		trk_buf_appendc(&b->sql, ' ');
	TRK_GROW(st->spans, st->capspans, st->nspans + 1);
	st->spans[st->nspans].out = b->sql.len;
	st->spans[st->nspans].src = src;
	st->spans[st->nspans].exact = exact;
	st->nspans++;
	trk_buf_appendn(&b->sql, s, n);
}

static void
emit_value(builder_t *b, const node_t *n)
{
	trk_template_t *t = b->t;
	const expr_t *x = &t->exprs[n->expr];
	char		param[16];
	stmt_t	   *st = b->stmt;
	int			k;

	b->has_sql = true;
	if (x->kind == E_LIT)
	{
		emit(b, t->pool.data + n->lit, n->litlen, true, n->start, false);
		return;
	}
	k = b->num[x->ref];
	if (k == 0)
	{
		k = ++st->pub.nparams;
		b->num[x->ref] = k;
		st->refidx[k - 1] = x->ref;
		st->line[k - 1] = x->line;
		st->col[k - 1] = x->col;
	}
	snprintf(param, sizeof(param), "$%d", k);
	emit(b, param, strlen(param), true, n->start, false);
}

static void
emit_list(builder_t *b, int first)
{
	const trk_template_t *t = b->t;

	for (int i = first; i >= 0; i = t->nodes[i].next)
	{
		const node_t *n = &t->nodes[i];

		switch (n->kind)
		{
			case N_TEXT:
				b->has_sql = b->has_sql || n->sql;
				if (n->semi == NO_OFFSET)
					emit(b, t->text + n->start, n->end - n->start, n->sep,
						 n->start, true);
				else
				{
					/* a space for the ";", so the neighbours stay apart */
					emit(b, t->text + n->start, n->semi - n->start, n->sep,
						 n->start, true);
					emit(b, " ", 1, false, n->semi, true);
					emit(b, t->text + n->semi + 1, n->end - n->semi - 1, false,
						 n->semi + 1, true);
				}
				break;
			case N_VALUE:
				emit_value(b, n);
				break;
			case N_IF:
				{
					int			k = t->choices[b->nchoice++];
					int			br = n->branch;

					for (; k > 0 && br >= 0; k--)
						br = t->branches[br].next;
					if (br >= 0)
						emit_list(b, t->branches[br].body);
				}
				break;
		}
	}
}

/* build_stmt compiles the statement for the path in t->choices. */
static stmt_t *
build_stmt(trk_template_t *t)
{
	builder_t	b;
	stmt_t	   *st = trk_calloc(1, sizeof(stmt_t));
	const trk_ref_t **params;
	size_t		cap = t->max_params > 0 ? (size_t) t->max_params : 1;

	memset(&b, 0, sizeof(b));
	b.t = t;
	b.stmt = st;
	st->owner = t;
	b.num = trk_calloc(t->nrefs > 0 ? t->nrefs : 1, sizeof(int));
	st->refidx = trk_calloc(cap, sizeof(int));
	st->line = trk_calloc(cap, sizeof(int));
	st->col = trk_calloc(cap, sizeof(int));
	emit_list(&b, t->root);
	free(b.num);

	while (b.sql.len > 0 && is_space(b.sql.data[b.sql.len - 1]))
		b.sql.len--;
	if (!b.has_sql)
		b.sql.len = 0;
	st->pub.empty = !b.has_sql;
	st->pub.sql = trk_strndup(trk_buf_cstr(&b.sql), b.sql.len);
	trk_buf_free(&b.sql);

	params = trk_calloc(cap, sizeof(trk_ref_t *));
	for (int i = 0; i < st->pub.nparams; i++)
		params[i] = &t->refs[st->refidx[i]];
	st->pub.params = params;

	TRK_GROW(t->stmts, t->capstmts, t->nstmts + 1);
	st->pub.id = (int) t->nstmts;
	t->stmts[t->nstmts++] = st;
	return st;
}

/* ----------------------------------------------------------------
 * Binding
 * ----------------------------------------------------------------
 */

typedef struct val
{
	trk_value_kind_t kind;
	const char *text;			/* never NULL */
	size_t		len;
} val_t;

typedef struct binding
{
	trk_template_t *t;
	trk_template_lookup_fn lookup;
	void	   *ctx;
	trk_buf_t  *err;
	choice_t   *cur;
	int			depth;
} binding_t;

static void
ref_name(const trk_ref_t *r, trk_buf_t *out)
{
	trk_buf_append(out, trk_root_name(r->root));
	if (r->field)
		trk_buf_appendf(out, ".%s", r->field);
}

/* resolve looks ref up once per bind; the lookup's error gets a position. */
static int
resolve(binding_t *bd, int ref, int line, int col, const trk_value_t **out)
{
	trk_template_t *t = bd->t;
	refval_t   *rv = &t->cache[ref];

	if (rv->gen != t->gen)
	{
		memset(&rv->value, 0, sizeof(rv->value));
		trk_buf_reset(&t->lookup_err);
		if (bd->lookup(bd->ctx, &t->refs[ref], &rv->value, &t->lookup_err) != 0)
		{
			rv->gen = 0;
			trk_buf_appendf(bd->err, "%s:%d:%d: ", t->file, line, col);
			if (t->lookup_err.len > 0)
				trk_buf_append(bd->err, t->lookup_err.data);
			else
			{
				trk_buf_append(bd->err, "cannot resolve \"");
				ref_name(&t->refs[ref], bd->err);
				trk_buf_append(bd->err, "\"");
			}
			return -1;
		}
		rv->gen = t->gen;
	}
	*out = &rv->value;
	return 0;
}

static const val_t val_true = {TRK_V_BOOL, "true", 4};
static const val_t val_false = {TRK_V_BOOL, "false", 5};

static bool
truthy(const val_t *v)
{
	trk_decimal_t d;

	switch (v->kind)
	{
		case TRK_V_ABSENT:
		case TRK_V_NULL:
			return false;
		case TRK_V_BOOL:
			return v->len > 0 && (v->text[0] == 't' || v->text[0] == 'T');
		case TRK_V_NUMBER:
			if (trk_decimal_parse(v->text, v->len, &d))
				return !d.zero;
			return v->len > 0;
		case TRK_V_STRING:
			return v->len > 0;
	}
	return false;
}

/* pg_bool reads PostgreSQL's spellings of a boolean: 1, 0, or -1. */
static int
pg_bool(const val_t *v)
{
	if ((v->len == 4 && strncasecmp(v->text, "true", 4) == 0) ||
		(v->len == 1 && (v->text[0] == 't' || v->text[0] == 'T')))
		return 1;
	if ((v->len == 5 && strncasecmp(v->text, "false", 5) == 0) ||
		(v->len == 1 && (v->text[0] == 'f' || v->text[0] == 'F')))
		return 0;
	return -1;
}

static bool
numbers_equal(const val_t *a, const val_t *b, bool b_is_string)
{
	trk_decimal_t da,
				db;

	if (!trk_decimal_parse(b->text, b->len, &db))
		return b_is_string ? false :
			(a->len == b->len && memcmp(a->text, b->text, a->len) == 0);
	if (!trk_decimal_parse(a->text, a->len, &da))
		return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
	return trk_decimal_equal(&da, &db);
}

/*
 * values_equal implements ==.  null equals only null, and an absent value
 * (a column the change does not carry) only another absent one.  Numbers
 * compare by exact decimal value; a string against a number compares as
 * a number when its text is one; a string against a boolean compares by
 * meaning when it is one of PostgreSQL's spellings true, false, t or f.
 */
static bool
values_equal(const val_t *a, const val_t *b)
{
	if (a->kind > b->kind)
	{
		const val_t *x = a;

		a = b;
		b = x;
	}
	/* now a->kind <= b->kind: ABSENT < NULL < BOOL < NUMBER < STRING */
	if (a->kind == TRK_V_ABSENT || a->kind == TRK_V_NULL)
		return a->kind == b->kind;
	if (a->kind == b->kind)
	{
		switch (a->kind)
		{
			case TRK_V_BOOL:
				return truthy(a) == truthy(b);
			case TRK_V_NUMBER:
				return numbers_equal(a, b, false);
			default:
				return a->len == b->len &&
					(a->len == 0 || memcmp(a->text, b->text, a->len) == 0);
		}
	}
	if (a->kind == TRK_V_BOOL && b->kind == TRK_V_STRING)
	{
		int			m = pg_bool(b);

		return m >= 0 && (m == 1) == truthy(a);
	}
	if (a->kind == TRK_V_NUMBER && b->kind == TRK_V_STRING)
		return numbers_equal(a, b, true);
	return false;				/* bool against number */
}

static int
eval(binding_t *bd, int e, val_t *out)
{
	const trk_template_t *t = bd->t;
	const expr_t *x = &t->exprs[e];
	const trk_value_t *v;
	val_t		a,
				b;

	switch (x->kind)
	{
		case E_LIT:
			out->kind = x->vkind;
			out->text = t->pool.data + x->text;
			out->len = x->len;
			return 0;
		case E_REF:
			if (resolve(bd, x->ref, x->line, x->col, &v) != 0)
				return -1;
			out->kind = v->kind;
			out->text = v->text ? v->text : "";
			out->len = v->text ? v->len : 0;
			return 0;
		case E_NOT:
			if (eval(bd, x->a, &a) != 0)
				return -1;
			*out = truthy(&a) ? val_false : val_true;
			return 0;
		case E_AND:
		case E_OR:
			/* short-circuit: an operand not needed is not looked up */
			for (int i = x->a; i >= 0; i = t->exprs[i].next)
			{
				if (eval(bd, i, &a) != 0)
					return -1;
				if (truthy(&a) == (x->kind == E_OR))
				{
					*out = x->kind == E_OR ? val_true : val_false;
					return 0;
				}
			}
			*out = x->kind == E_OR ? val_false : val_true;
			return 0;
		case E_EQ:
		case E_NE:
			if (eval(bd, x->a, &a) != 0 || eval(bd, x->b, &b) != 0)
				return -1;
			*out = values_equal(&a, &b) == (x->kind == E_EQ) ? val_true : val_false;
			return 0;
		case E_ISNULL:
		case E_ISNOTNULL:
			if (eval(bd, x->a, &a) != 0)
				return -1;
			*out = (a.kind == TRK_V_NULL) == (x->kind == E_ISNULL) ? val_true : val_false;
			return 0;
	}
	return -1;
}

/*
 * choose evaluates the {% if %} chains of one node list, in order, following
 * (and on a first visit growing) the statement trie.
 */
static int
choose(binding_t *bd, int ifnode)
{
	trk_template_t *t = bd->t;

	for (int i = ifnode; i >= 0; i = t->nodes[i].next_if)
	{
		const node_t *n = &t->nodes[i];
		int			k = 0;
		int			taken = -1;
		choice_t   *next;

		for (int br = n->branch; br >= 0; br = t->branches[br].next, k++)
		{
			val_t		v;

			if (t->branches[br].cond < 0)
			{
				taken = br;
				break;
			}
			if (eval(bd, t->branches[br].cond, &v) != 0)
				return -1;
			if (truthy(&v))
			{
				taken = br;
				break;
			}
		}
		t->choices[bd->depth++] = k;
		if (bd->cur->child == NULL)
			bd->cur->child = trk_calloc((size_t) n->nbranches + 1,
										sizeof(choice_t *));
		next = bd->cur->child[k];
		if (next == NULL)
		{
			next = trk_calloc(1, sizeof(choice_t));
			next->all = t->all_choices;
			t->all_choices = next;
			bd->cur->child[k] = next;
		}
		bd->cur = next;
		if (taken >= 0 && choose(bd, t->branches[taken].body_if) != 0)
			return -1;
	}
	return 0;
}

int
trk_template_bind(trk_template_t *t, trk_template_lookup_fn lookup,
				  void *ctx, const trk_stmt_t **stmt, trk_value_t *values,
				  trk_buf_t *err)
{
	binding_t	bd;
	stmt_t	   *st;

	bd.t = t;
	bd.lookup = lookup;
	bd.ctx = ctx;
	bd.err = err;
	bd.cur = &t->trie;
	bd.depth = 0;
	t->gen++;

	*stmt = NULL;
	if (choose(&bd, t->root_if) != 0)
		return -1;
	if (bd.cur->stmt == NULL)
		bd.cur->stmt = build_stmt(t);
	st = bd.cur->stmt;
	for (int i = 0; i < st->pub.nparams; i++)
	{
		const trk_value_t *v;

		if (resolve(&bd, st->refidx[i], st->line[i], st->col[i], &v) != 0)
			return -1;
		values[i] = *v;
	}
	*stmt = &st->pub;
	return 0;
}

/* ----------------------------------------------------------------
 * Every variant, and positions in a statement
 * ----------------------------------------------------------------
 */

/*
 * replay walks the {% if %} chains of a list in binding order, following
 * t->choices, and returns the chain that needs choice number want, or -1
 * when the path is complete before that.  ifs[i] records the chain of
 * choice i.
 */
static int
replay(const trk_template_t *t, int ifnode, int *level, int want, int *ifs)
{
	for (int i = ifnode; i >= 0; i = t->nodes[i].next_if)
	{
		int			br = t->nodes[i].branch;
		int			r;

		ifs[*level] = i;
		if (*level == want)
			return i;
		for (int k = t->choices[(*level)++]; k > 0 && br >= 0; k--)
			br = t->branches[br].next;
		if (br >= 0 && (r = replay(t, t->branches[br].body_if, level, want, ifs)) >= 0)
			return r;
	}
	return -1;
}

/* choices_max: the last choice chain n allows (none taken only without else). */
static int
choices_max(const trk_template_t *t, int n)
{
	int			br = t->nodes[n].branch;
	bool		has_else = false;

	for (; br >= 0; br = t->branches[br].next)
		has_else = has_else || t->branches[br].cond < 0;
	return has_else ? t->nodes[n].nbranches - 1 : t->nodes[n].nbranches;
}

/* stmt_for_path finds or builds the statement for choices[0 .. len). */
static stmt_t *
stmt_for_path(trk_template_t *t, int len, const int *ifs)
{
	choice_t   *cur = &t->trie;

	for (int i = 0; i < len; i++)
	{
		const node_t *n = &t->nodes[ifs[i]];
		int			k = t->choices[i];

		if (cur->child == NULL)
			cur->child = trk_calloc((size_t) n->nbranches + 1, sizeof(choice_t *));
		if (cur->child[k] == NULL)
		{
			cur->child[k] = trk_calloc(1, sizeof(choice_t));
			cur->child[k]->all = t->all_choices;
			t->all_choices = cur->child[k];
		}
		cur = cur->child[k];
	}
	if (cur->stmt == NULL)
		cur->stmt = build_stmt(t);
	return cur->stmt;
}

int
trk_template_each_variant(trk_template_t *t, trk_template_variant_fn fn,
						  void *arg)
{
	int		   *ifs = trk_calloc((size_t) t->nifs + 1, sizeof(int));
	int		   *max = trk_calloc((size_t) t->nifs + 1, sizeof(int));
	int			len = 0;
	int			visited = 0;
	int			rc = 0;

	/* an odometer over choice paths: extend with 0s, visit, carry */
	for (;;)
	{
		int			level;
		int			n;

		for (;;)
		{
			level = 0;
			n = replay(t, t->root_if, &level, len, ifs);
			if (n < 0)
				break;
			t->choices[len] = 0;
			max[len] = choices_max(t, n);
			len++;
		}
		if (visited == TRK_TEMPLATE_MAX_VARIANTS)
		{
			if (rc == 0)
				rc = 1;
			break;
		}
		if (fn(arg, &stmt_for_path(t, len, ifs)->pub) != 0)
			rc = -1;
		visited++;
		while (len > 0 && t->choices[len - 1] >= max[len - 1])
			len--;
		if (len == 0)
			break;
		t->choices[len - 1]++;
	}
	free(ifs);
	free(max);
	return rc;
}

void
trk_template_sql_position(const trk_stmt_t *stmt, int pos, int *line,
						  int *col)
{
	const stmt_t *st = (const stmt_t *) stmt;
	const span_t *sp = NULL;
	const char *sql = stmt->sql;
	size_t		off = 0;
	size_t		src;
	poscur_t	cur = {0};

	*line = *col = 0;
	if (pos <= 0)
		return;
	/* PostgreSQL counts characters; find the byte where the pos-th starts */
	for (int n = 1; sql[off] != '\0'; off++)
	{
		if (((unsigned char) sql[off] & 0xC0) == 0x80)
			continue;
		if (n++ == pos)
			break;
	}
	if (sql[off] == '\0')
		return;
	for (size_t i = 0; i < st->nspans && st->spans[i].out <= off; i++)
		sp = &st->spans[i];
	if (sp == NULL)
		return;
	src = sp->exact ? sp->src + (off - sp->out) : sp->src;
	if (src > st->owner->len)
		src = st->owner->len;
	position(st->owner->text, src, &cur, line, col);
}

void
trk_template_write_sql(const trk_stmt_t *stmt, const char *before, const char *after,
					   trk_buf_t *out)
{
	const stmt_t *st = (const stmt_t *) stmt;
	size_t		len = strlen(stmt->sql);
	size_t		done = 0;

	for (size_t i = 0; i < st->nspans; i++)
	{
		size_t		at = st->spans[i].out;
		size_t		end = i + 1 < st->nspans ? st->spans[i + 1].out : len;
		size_t		digits;

		/*
		 * A parameter is a value's span starting "$n" — and maybe ending in
		 * the space emit put between it and text that would fuse with it.
		 */
		if (st->spans[i].exact || stmt->sql[at] != '$')
			continue;
		digits = strspn(stmt->sql + at + 1, "0123456789");
		if (digits == 0 || at + 1 + digits > end)
			continue;
		trk_buf_appendn(out, stmt->sql + done, at - done);
		/* a quote beside $n was no problem; beside a quoted name it fuses */
		if (at > 0 && stmt->sql[at - 1] == '"')
			trk_buf_appendc(out, ' ');
		trk_buf_append(out, before);
		trk_buf_appendn(out, stmt->sql + at + 1, digits);
		trk_buf_append(out, after);
		done = at + 1 + digits;
		if (stmt->sql[done] == '"')
			trk_buf_appendc(out, ' ');
	}
	trk_buf_appendn(out, stmt->sql + done, len - done);
}

/* ----------------------------------------------------------------
 * Accessors
 * ----------------------------------------------------------------
 */

size_t
trk_template_nrefs(const trk_template_t *t)
{
	return t->nrefs;
}

const trk_ref_t *
trk_template_ref(const trk_template_t *t, size_t i)
{
	return i < t->nrefs ? &t->refs[i] : NULL;
}

int
trk_template_max_params(const trk_template_t *t)
{
	return t->max_params;
}

bool
trk_template_is_static(const trk_template_t *t)
{
	return t->nifs == 0;
}

const char *
trk_template_file(const trk_template_t *t)
{
	return t->file;
}

const char *
trk_root_name(trk_root_t root)
{
	switch (root)
	{
		case TRK_ROOT_OPERATION:
			return "operation";
		case TRK_ROOT_NEW:
			return "new";
		case TRK_ROOT_OLD:
			return "old";
		case TRK_ROOT_TRANSFORMED:
			return "transformed";
		case TRK_ROOT_META:
			return "meta";
	}
	return "?";
}

void
trk_template_free(trk_template_t *t)
{
	choice_t   *ch;

	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrefs; i++)
		free((char *) t->refs[i].field);
	for (size_t i = 0; i < t->nstmts; i++)
	{
		stmt_t	   *st = t->stmts[i];

		free((char *) st->pub.sql);
		free((void *) st->pub.params);
		free(st->refidx);
		free(st->line);
		free(st->col);
		free(st->spans);
		free(st);
	}
	while ((ch = t->all_choices) != NULL)
	{
		t->all_choices = ch->all;
		free(ch->child);
		free(ch);
	}
	free(t->trie.child);
	free(t->stmts);
	free(t->cache);
	free(t->choices);
	free(t->refs);
	free(t->exprs);
	free(t->branches);
	free(t->nodes);
	trk_buf_free(&t->pool);
	trk_buf_free(&t->lookup_err);
	free(t->text);
	free(t->file);
	free(t);
}
