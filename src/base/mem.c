/* mem.c — allocation that exits on failure instead of returning NULL. */
#include "base/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
out_of_memory(size_t size)
{
	fprintf(stderr, "trucker: fatal: out of memory (%zu bytes)\n", size);
	abort();
}

void *
trk_malloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		out_of_memory(size);
	return p;
}

void *
trk_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		out_of_memory(n * size);
	return p;
}

void *
trk_realloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		out_of_memory(size);
	return p;
}

char *
trk_strdup(const char *s)
{
	return trk_strndup(s, strlen(s));
}

char *
trk_strndup(const char *s, size_t n)
{
	char *p = trk_malloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
trk_grow(void **items, size_t *cap, size_t need, size_t elem)
{
	size_t newcap;

	if (need <= *cap)
		return;
	newcap = *cap ? *cap : 8;
	while (newcap < need)
		newcap *= 2;
	*items = trk_realloc(*items, newcap * elem);
	*cap = newcap;
}
