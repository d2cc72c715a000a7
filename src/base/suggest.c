/* suggest.c — closest-candidate lookup for "did you mean" hints. */
#include "base/suggest.h"
#include "base/mem.h"

#include <stdlib.h>
#include <string.h>

/* distance is the optimal string alignment distance, case-insensitive. */
static size_t
distance(const char *a, const char *b)
{
	size_t		la = strlen(a),
				lb = strlen(b);
	size_t	   *d;
	size_t		result;

	if (la > 64 || lb > 64)
		return (size_t) -1;
	d = trk_malloc((la + 1) * (lb + 1) * sizeof(size_t));
#define D(i, j) d[(i) * (lb + 1) + (j)]
	for (size_t i = 0; i <= la; i++)
		D(i, 0) = i;
	for (size_t j = 0; j <= lb; j++)
		D(0, j) = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++)
		{
			char		ca = (char) (a[i - 1] | 0x20),
						cb = (char) (b[j - 1] | 0x20);
			size_t		cost = ca == cb ? 0 : 1;
			size_t		best = D(i - 1, j) + 1;

			if (D(i, j - 1) + 1 < best)
				best = D(i, j - 1) + 1;
			if (D(i - 1, j - 1) + cost < best)
				best = D(i - 1, j - 1) + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
				&& D(i - 2, j - 2) + 1 < best)
				best = D(i - 2, j - 2) + 1;
			D(i, j) = best;
		}
	result = D(la, lb);
#undef D
	free(d);
	return result;
}

const char *
trk_suggest(const char *word, const char *const *candidates, size_t n)
{
	size_t		len = strlen(word);
	size_t		limit = len <= 4 ? 1 : len / 3;
	const char *best = NULL;
	size_t		bestd = (size_t) -1;

	if (limit < 1)
		limit = 1;
	for (size_t i = 0; i < n; i++)
	{
		size_t		dist = distance(word, candidates[i]);

		if (dist < bestd)
		{
			bestd = dist;
			best = candidates[i];
		}
	}
	return bestd <= limit ? best : NULL;
}
