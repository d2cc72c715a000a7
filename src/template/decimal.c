/* decimal.c — comparing decimal numbers exactly, digit by digit. */
#include "template/decimal.h"

#define MAX_EXPONENT INT64_C(1000000000000000)

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* digit_at: the i-th digit of intpart ‖ fracpart. */
static char
digit_at(const trk_decimal_t *d, size_t i)
{
	return i < d->intlen ? d->intpart[i] : d->fracpart[i - d->intlen];
}

bool
trk_decimal_parse(const char *s, size_t len, trk_decimal_t *d)
{
	size_t		i = 0;
	size_t		ndigits;
	int64_t		exp = 0;
	bool		expneg = false;

	d->neg = false;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		d->neg = s[i++] == '-';
	d->intpart = s + i;
	while (i < len && is_digit(s[i]))
		i++;
	d->intlen = (size_t) (s + i - d->intpart);
	d->fracpart = s + i;
	d->fraclen = 0;
	if (i < len && s[i] == '.')
	{
		i++;
		d->fracpart = s + i;
		while (i < len && is_digit(s[i]))
			i++;
		d->fraclen = (size_t) (s + i - d->fracpart);
	}
	if (d->intlen + d->fraclen == 0)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E'))
	{
		size_t		start;

		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			expneg = s[i++] == '-';
		start = i;
		while (i < len && is_digit(s[i]))
		{
			exp = exp * 10 + (s[i++] - '0');
			if (exp > MAX_EXPONENT)
				return false;
		}
		if (i == start)
			return false;
		if (expneg)
			exp = -exp;
	}
	if (i != len)
		return false;

	ndigits = d->intlen + d->fraclen;
	for (d->first = 0; d->first < ndigits && digit_at(d, d->first) == '0';
		 d->first++)
		;
	d->zero = d->first == ndigits;
	if (d->zero)
	{
		d->last = d->first;
		d->adj = 0;
		return true;
	}
	for (d->last = ndigits - 1; digit_at(d, d->last) == '0'; d->last--)
		;
	/* 0.d1… × 10^adj: the point sits intlen - first digits after d1's left */
	d->adj = (int64_t) d->intlen - (int64_t) d->first + exp;
	return true;
}

bool
trk_decimal_equal(const trk_decimal_t *a, const trk_decimal_t *b)
{
	if (a->zero || b->zero)
		return a->zero && b->zero;
	if (a->neg != b->neg || a->adj != b->adj ||
		a->last - a->first != b->last - b->first)
		return false;
	for (size_t i = 0; i <= a->last - a->first; i++)
	{
		if (digit_at(a, a->first + i) != digit_at(b, b->first + i))
			return false;
	}
	return true;
}
