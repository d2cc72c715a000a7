/*
 * mem.h — allocation that never returns NULL.
 *
 * trucker cannot do anything useful after malloc fails, so, like PostgreSQL's
 * frontend pg_malloc, these print one line and exit.  Every other module uses
 * them, which keeps NULL checks for real conditions only.
 */
#ifndef TRK_BASE_MEM_H
#define TRK_BASE_MEM_H

#include <stddef.h>

void *trk_malloc(size_t size);
void *trk_calloc(size_t n, size_t size);
void *trk_realloc(void *ptr, size_t size);
char *trk_strdup(const char *s);
char *trk_strndup(const char *s, size_t n);

/* trk_grow ensures *cap >= need elements of elem bytes, doubling. */
void trk_grow(void **items, size_t *cap, size_t need, size_t elem);

#define TRK_GROW(arr, cap, need) \
	trk_grow((void **) &(arr), &(cap), (need), sizeof(*(arr)))

#endif
