/*
 * lsn.h — PostgreSQL log sequence numbers as uint64_t, in PostgreSQL's text
 * form "X/X" (upper-case hex, as pg_lsn prints them).
 */
#ifndef TRK_BASE_LSN_H
#define TRK_BASE_LSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t trk_lsn_t;

#define TRK_LSN_INVALID ((trk_lsn_t) 0)
#define TRK_LSN_BUFSIZE 18		/* "FFFFFFFF/FFFFFFFF" + NUL */

/* trk_lsn_parse reads exactly "hex/hex" of n bytes; false on anything else. */
bool		trk_lsn_parse(const char *s, size_t n, trk_lsn_t *out);
/* trk_lsn_format writes "X/X" into buf (TRK_LSN_BUFSIZE) and returns buf. */
char	   *trk_lsn_format(trk_lsn_t lsn, char buf[TRK_LSN_BUFSIZE]);

#endif
