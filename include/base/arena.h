/*
 * arena.h — a bump allocator for memory that dies all at once.
 *
 * The decoder puts every string, node and array of one message in an arena
 * and the stream resets it before the next message: allocation is a pointer
 * bump, freeing is free, and after warm-up a message costs no malloc at all
 * (the first block is kept across resets).  Requests larger than a quarter of
 * the block size get a block of their own so they do not waste the current
 * one.
 *
 * The caller owns the trk_arena_t (usually embedded or on the stack); a
 * zeroed struct is a valid empty arena with the default block size.  Memory
 * from trk_arena_alloc is owned by the arena: never free it, and do not use
 * it after trk_arena_reset or trk_arena_free.  Allocation never returns NULL
 * (it exits like trk_malloc on exhaustion).
 */
#ifndef TRK_BASE_ARENA_H
#define TRK_BASE_ARENA_H

#include <stddef.h>
#include <stdint.h>

#define TRK_ARENA_DEFAULT_BLOCK ((size_t) 64 * 1024)
#define TRK_ARENA_ALIGN _Alignof(max_align_t)

typedef struct trk_arena_block trk_arena_block_t;

typedef struct trk_arena
{
	char	   *ptr;			/* next free byte of the current block */
	char	   *limit;			/* end of the current block */
	char	   *base;			/* start of the current block */
	trk_arena_block_t *first;	/* owned; the keeper, survives resets */
	trk_arena_block_t *cur;		/* block small requests are bumped from */
	size_t		block_size;		/* 0 means TRK_ARENA_DEFAULT_BLOCK */
	size_t		retired;		/* bytes handed out from other blocks */
} trk_arena_t;

/* trk_arena_init sets up an empty arena; block_size 0 picks the default. */
void		trk_arena_init(trk_arena_t *a, size_t block_size);

/* trk_arena_alloc_slow is trk_arena_alloc when the current block is full. */
void	   *trk_arena_alloc_slow(trk_arena_t *a, size_t size);

/*
 * trk_arena_alloc returns size bytes aligned for any type (max_align_t).
 *
 * The fast path is inline because the decoder calls it for every JSON
 * value: ptr and limit stay multiples of the alignment apart, so a request
 * that fits before rounding still fits after it.  (Integer arithmetic, so
 * that the empty arena's two NULLs are not subtracted as pointers.)
 */
static inline void *
trk_arena_alloc(trk_arena_t *a, size_t size)
{
	if (size != 0 && size <= (uintptr_t) a->limit - (uintptr_t) a->ptr)
	{
		char	   *p = a->ptr;

		a->ptr += (size + TRK_ARENA_ALIGN - 1) & ~((size_t) TRK_ARENA_ALIGN - 1);
		return p;
	}
	return trk_arena_alloc_slow(a, size);
}

/* trk_arena_calloc is trk_arena_alloc of n * size zeroed bytes. */
void	   *trk_arena_calloc(trk_arena_t *a, size_t n, size_t size);

/* trk_arena_strndup copies n bytes of s and adds a NUL. */
char	   *trk_arena_strndup(trk_arena_t *a, const char *s, size_t n);

/*
 * trk_arena_reset forgets everything allocated, keeps the first block for
 * reuse and frees the others.
 */
void		trk_arena_reset(trk_arena_t *a);

/* trk_arena_free releases every block; the arena can be used again. */
void		trk_arena_free(trk_arena_t *a);

/* trk_arena_used is the number of bytes handed out since the last reset. */
size_t		trk_arena_used(const trk_arena_t *a);

#endif
