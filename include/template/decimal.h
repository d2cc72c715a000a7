/*
 * decimal.h — exact equality of decimal numbers written as text.
 *
 * Template conditions compare numbers the way PostgreSQL's numeric does:
 * 10 = 10.0 = 1e1 = 0010, -0 = 0.  Values arrive as the exact text wal2json
 * sent, so the comparison is done on the digits, never through a double.
 */
#ifndef TRK_TEMPLATE_DECIMAL_H
#define TRK_TEMPLATE_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A parsed number: value = 0.d1d2…dn × 10^adj, where d1…dn are the digits
 * from the first to the last non-zero one.  Digits are borrowed from the
 * parsed text.
 */
typedef struct trk_decimal
{
	bool		neg;
	bool		zero;
	const char *intpart;		/* digits before the point */
	size_t		intlen;
	const char *fracpart;		/* digits after it */
	size_t		fraclen;
	size_t		first;			/* index of d1 in intpart ‖ fracpart */
	size_t		last;			/* index of dn */
	int64_t		adj;
} trk_decimal_t;

/*
 * trk_decimal_parse accepts [+-]digits[.digits][e[+-]digits], where either
 * side of the point may be empty but not both, and nothing else (no spaces,
 * no NaN or Infinity).  Exponents beyond ±10^15 are rejected rather than
 * guessed at.  Returns false when s is not such a number.
 */
bool		trk_decimal_parse(const char *s, size_t len, trk_decimal_t *d);

/* trk_decimal_equal: whether two parsed numbers have the same value. */
bool		trk_decimal_equal(const trk_decimal_t *a, const trk_decimal_t *b);

#endif
