/* lsn.c — parsing and formatting "X/X" log sequence numbers. */
#include "base/lsn.h"

#include <stdio.h>

static bool
parse_hex32(const char *s, size_t n, uint32_t *out)
{
	uint32_t	v = 0;

	if (n == 0 || n > 8)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		char		c = s[i];
		uint32_t	d;

		if (c >= '0' && c <= '9')
			d = (uint32_t) (c - '0');
		else if (c >= 'A' && c <= 'F')
			d = (uint32_t) (c - 'A' + 10);
		else if (c >= 'a' && c <= 'f')
			d = (uint32_t) (c - 'a' + 10);
		else
			return false;
		v = (v << 4) | d;
	}
	*out = v;
	return true;
}

bool
trk_lsn_parse(const char *s, size_t n, trk_lsn_t *out)
{
	size_t		slash = 0;
	uint32_t	hi,
				lo;

	while (slash < n && s[slash] != '/')
		slash++;
	if (slash == n)
		return false;
	if (!parse_hex32(s, slash, &hi) ||
		!parse_hex32(s + slash + 1, n - slash - 1, &lo))
		return false;
	*out = ((uint64_t) hi << 32) | lo;
	return true;
}

char *
trk_lsn_format(trk_lsn_t lsn, char buf[TRK_LSN_BUFSIZE])
{
	snprintf(buf, TRK_LSN_BUFSIZE, "%X/%X", (unsigned) (lsn >> 32),
			 (unsigned) (lsn & 0xFFFFFFFFu));
	return buf;
}
