/*
 * write.h — a pipeline's own write for one change: insert.sql, update.sql or
 * delete.sql, bound to the change's values.
 *
 * The template picks the statement for the branches the change selects and
 * names the variables each $n binds; this module turns them into what the
 * output session sends: the values as text (NULL for SQL NULL), their type
 * OIDs (trk_vars_param_type), and on request a description of the
 * parameters for the log line of a failed statement.
 */
#ifndef TRK_APPLY_WRITE_H
#define TRK_APPLY_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/value.h"
#include "template/template.h"
#include "template/vars.h"

typedef struct trk_write
{
	const trk_stmt_t *stmt;		/* borrowed from the template */
	trk_value_t *values;		/* owned arrays, cap entries each */
	const char **texts;			/* borrowed from the change or row */
	uint32_t   *types;
	size_t		cap;
} trk_write_t;

/*
 * trk_write_bind binds template t for the change in vars into w.  Returns 0,
 * or -1 with the reason in err, prefixed with the template's file:line:col
 * (a column the change does not carry, say).  w->stmt->empty: the branch
 * the change selects holds no SQL, and nothing is to run.
 */
int			trk_write_bind(trk_template_t *t, trk_vars_t *vars, trk_write_t *w,
						   trk_buf_t *err);

/*
 * trk_write_describe appends "$1 new.id = '1002', $2 new.note = NULL" for
 * the bound statement.  Long values are cut to their first bytes and their
 * length, so one huge value cannot flood the log; the value of a column in
 * redact (new.x, old.x or transformed.x) shows as [redacted].
 */
void		trk_write_describe(const trk_write_t *w, char *const *redact, size_t nredact,
							   trk_buf_t *out);

/*
 * trk_write_describe_param appends one "$n label = 'value'" (text NULL: SQL
 * NULL), the way trk_write_describe does; for statements built elsewhere.
 * label is "root.column" or "operation"; its column is redacted as above.
 */
void		trk_write_describe_param(trk_buf_t *out, size_t n, const char *label,
									 const char *text, char *const *redact, size_t nredact);

void		trk_write_free(trk_write_t *w);

#endif
