/*
 * template.h — SQL templates: compile once, bind values as parameters.
 *
 * A pipeline's transform.sql, insert.sql, update.sql and delete.sql are SQL
 * with two kinds of tags:
 *
 *     {{ new.id }}                       a value: always a bind parameter
 *     {% if operation == 'delete' %} … {% elif … %} … {% else %} … {% endif %}
 *
 * A value from a change is never spliced into SQL text: every {{ reference }}
 * becomes $n, and the same reference reuses its $n.  Literals in {{ }}
 * ('text', numbers, null, true, false) are written into the SQL as properly
 * quoted SQL literals, since the template author wrote them.
 *
 * Compilation checks everything that can be checked without a database and
 * reports every problem with its file:line:col.  Binding evaluates the
 * {% if %} conditions against one change and picks the statement for that
 * combination of branches; each combination is compiled once, on first use,
 * and kept, so the caller can prepare it once per connection.
 */
#ifndef TRK_TEMPLATE_TEMPLATE_H
#define TRK_TEMPLATE_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/diag.h"
#include "base/value.h"

typedef enum trk_root
{
	TRK_ROOT_OPERATION = 0,		/* 'insert', 'update' or 'delete' */
	TRK_ROOT_NEW,				/* new.<column> */
	TRK_ROOT_OLD,				/* old.<column> */
	TRK_ROOT_TRANSFORMED,		/* transformed.<column> */
	TRK_ROOT_META				/* meta.lsn, end_lsn, xid, commit_time, schema,
								 * table */
} trk_root_t;

/* A reference to one variable.  Owned by the template. */
typedef struct trk_ref
{
	trk_root_t	root;
	const char *field;			/* column or meta field; NULL for operation */
	int			line;			/* first use, for diagnostics */
	int			col;
} trk_ref_t;

/* What a template may see; everything not allowed is an "unknown variable". */
typedef struct trk_template_scope
{
	bool		allow_transformed;	/* only in write templates of a pipeline
									 * with a transform.sql */
} trk_template_scope_t;

typedef struct trk_template trk_template_t;

/* One concrete statement: SQL text with $1..$n and what each $i binds. */
typedef struct trk_stmt
{
	int			id;				/* 0, 1, 2…: unique within its template */
	const char *sql;			/* owned by the template */
	int			nparams;
	const trk_ref_t *const *params; /* params[i] is bound to $(i+1) */
	bool		empty;			/* this branch combination holds no SQL (only
								 * space and comments): nothing to execute */
} trk_stmt_t;

/*
 * trk_template_lookup_fn resolves one reference against the change being
 * applied.  It returns 0 and fills *out (borrowed values, valid until the
 * caller is done with the statement), or -1 after writing why into err —
 * e.g. a column left out of an UPDATE because its TOAST value did not change.
 */
typedef int (*trk_template_lookup_fn) (void *ctx, const trk_ref_t *ref,
									   trk_value_t *out, trk_buf_t *err);

/*
 * trk_template_compile parses text (len bytes, need not be NUL-terminated).
 * file names the template in diagnostics.  Returns an owned template, or NULL
 * when it added at least one error to diags.
 */
trk_template_t *trk_template_compile(const char *file, const char *text,
									 size_t len,
									 const trk_template_scope_t *scope,
									 trk_diags_t *diags);

/* Every distinct reference the template can use, in order of first use. */
size_t		trk_template_nrefs(const trk_template_t *t);
const trk_ref_t *trk_template_ref(const trk_template_t *t, size_t i);

/* Upper bound of any statement's nparams: size for the values array. */
int			trk_template_max_params(const trk_template_t *t);

/* True when the template has no {% if %}: exactly one statement. */
bool		trk_template_is_static(const trk_template_t *t);

/*
 * trk_template_bind evaluates the template for one change: picks (compiling
 * on first use) the statement for the branches its conditions select, and
 * fills values[0 .. stmt->nparams-1].  values must hold max_params entries.
 * Returns 0, or -1 with the reason in err (a lookup failure, prefixed with
 * the template's file:line:col).  Each reference is looked up at most once
 * per call, and only when needed ("and"/"or" stop early).  Binding updates
 * the template's statement cache: one thread at a time per template.
 */
int			trk_template_bind(trk_template_t *t, trk_template_lookup_fn lookup,
							  void *ctx, const trk_stmt_t **stmt,
							  trk_value_t *values, trk_buf_t *err);

/*
 * trk_template_each_variant calls fn once for the statement of every
 * combination of branches the template's {% if %} chains can take (compiling
 * and caching each, so ids follow), e.g. to prepare them all when checking a
 * pipeline against a database.  Every combination is visited even after a
 * call fails.  At most TRK_TEMPLATE_MAX_VARIANTS are visited.  Returns 0;
 * -1 when some call returned non-zero; 1 when the limit cut the walk short.
 */
#define TRK_TEMPLATE_MAX_VARIANTS 1024

typedef int (*trk_template_variant_fn) (void *arg, const trk_stmt_t *stmt);

int			trk_template_each_variant(trk_template_t *t,
									  trk_template_variant_fn fn, void *arg);

/*
 * trk_template_sql_position maps pos, a 1-based character position in
 * stmt->sql as PostgreSQL reports it (PG_DIAG_STATEMENT_POSITION), back to
 * the line and column in the template: inside SQL text exactly, inside a
 * {{ }} value to its "{{".  Sets 0, 0 when pos is 0 or past the end.
 */
void		trk_template_sql_position(const trk_stmt_t *stmt, int pos,
									  int *line, int *col);

/*
 * trk_template_write_sql appends stmt's SQL to out with each parameter $n
 * written as before, n, after (b."p and " make $2 b."p2"): the statement
 * reading its values from columns instead, e.g. as a LATERAL subquery.
 */
void		trk_template_write_sql(const trk_stmt_t *stmt, const char *before,
								   const char *after, trk_buf_t *out);

/* trk_template_file is the name given to trk_template_compile (borrowed). */
const char *trk_template_file(const trk_template_t *t);

void		trk_template_free(trk_template_t *t);

/* trk_root_name: "operation", "new", "old", "transformed", "meta". */
const char *trk_root_name(trk_root_t root);

#endif
