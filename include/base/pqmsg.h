/*
 * pqmsg.h — libpq's error messages as trucker reports them: one line,
 * "what: message", without libpq's trailing newline or its indented
 * continuation lines run together.
 */
#ifndef TRK_BASE_PQMSG_H
#define TRK_BASE_PQMSG_H

#include <libpq-fe.h>
#include <stddef.h>

#include "base/buf.h"

/* trk_pq_line writes "what: pqmsg" (or just what) on one line into out. */
void		trk_pq_line(char *out, size_t size, const char *what, const char *pqmsg);

/*
 * trk_pq_fail appends "what: " and the first line of r's error (or pg's,
 * when r is NULL) to err, clears r and returns -1.
 */
int			trk_pq_fail(trk_buf_t *err, const char *what, PGconn *pg, PGresult *r);

#endif
