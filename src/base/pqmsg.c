/* pqmsg.c — libpq's error messages on one line. */
#include "base/pqmsg.h"

#include <stdio.h>
#include <string.h>

void
trk_pq_line(char *out, size_t size, const char *what, const char *pqmsg)
{
	size_t		n;

	snprintf(out, size, "%s%s%s", what, *pqmsg ? ": " : "", pqmsg);
	n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	for (char *p = out; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

int
trk_pq_fail(trk_buf_t *err, const char *what, PGconn *pg, PGresult *r)
{
	const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(pg);

	trk_buf_appendf(err, "%s: ", what);
	trk_buf_appendn(err, msg, strcspn(msg, "\n"));
	PQclear(r);
	return -1;
}
