/* arena.c — bump allocation in blocks, released all at once. */
#include "base/arena.h"
#include "base/mem.h"

#include <stdlib.h>
#include <string.h>

#define ALIGN_UP(n) (((n) + (TRK_ARENA_ALIGN - 1)) & ~((size_t) TRK_ARENA_ALIGN - 1))

struct trk_arena_block
{
	trk_arena_block_t *next;
	size_t		size;			/* usable bytes in data */
	max_align_t data[];			/* max_align_t so data is aligned for anything */
};

static size_t
block_size(const trk_arena_t *a)
{
	return a->block_size ? a->block_size : TRK_ARENA_DEFAULT_BLOCK;
}

/*
 * too_big never returns: a request whose size overflows is a bug or hostile
 * input that got past a length check, and trk_malloc's failure path is the
 * one place that knows how to die.
 */
static void
too_big(void)
{
	(void) trk_malloc(SIZE_MAX);
	abort();
}

static trk_arena_block_t *
block_new(size_t size)
{
	trk_arena_block_t *b;

	if (size > SIZE_MAX - sizeof(trk_arena_block_t))
		too_big();
	b = trk_malloc(sizeof(trk_arena_block_t) + size);
	b->next = NULL;
	b->size = size;
	return b;
}

/* use_block makes b the block small requests are bumped from. */
static void
use_block(trk_arena_t *a, trk_arena_block_t *b)
{
	a->retired += (uintptr_t) a->ptr - (uintptr_t) a->base;
	a->cur = b;
	a->base = a->ptr = (char *) b->data;
	a->limit = a->base + b->size;
}

void
trk_arena_init(trk_arena_t *a, size_t size)
{
	memset(a, 0, sizeof(*a));
	a->block_size = size ? ALIGN_UP(size) : 0;
}

void *
trk_arena_alloc_slow(trk_arena_t *a, size_t size)
{
	trk_arena_block_t *b;
	size_t		need;

	if (size == 0)
	{
		/* zero bytes: one, from the current block if it has room */
		size = 1;
		if (a->first != NULL && (uintptr_t) a->limit > (uintptr_t) a->ptr)
			return trk_arena_alloc(a, size);
	}
	if (size > SIZE_MAX - TRK_ARENA_ALIGN)
		too_big();
	need = ALIGN_UP(size);

	if (a->first == NULL)
	{
		a->first = block_new(block_size(a));
		use_block(a, a->first);
		if (need <= a->first->size)
			return trk_arena_alloc(a, size);
	}

	/*
	 * A large request gets a block of exactly its size, linked after the
	 * current one, so the current block keeps serving small requests.
	 */
	if (need > block_size(a) / 4)
	{
		b = block_new(need);
		b->next = a->cur->next;
		a->cur->next = b;
		a->retired += need;
		return b->data;
	}

	/* the rest of the current block is small enough to give up */
	b = block_new(block_size(a));
	b->next = a->cur->next;
	a->cur->next = b;
	use_block(a, b);
	return trk_arena_alloc(a, size);
}

void *
trk_arena_calloc(trk_arena_t *a, size_t n, size_t size)
{
	void	   *p;

	if (size != 0 && n > SIZE_MAX / size)
		too_big();
	p = trk_arena_alloc(a, n * size);
	memset(p, 0, n * size);
	return p;
}

char *
trk_arena_strndup(trk_arena_t *a, const char *s, size_t n)
{
	char	   *p;

	if (n == SIZE_MAX)
		too_big();
	p = trk_arena_alloc(a, n + 1);
	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
trk_arena_reset(trk_arena_t *a)
{
	trk_arena_block_t *b;

	if (a->first == NULL)
		return;
	b = a->first->next;
	while (b != NULL)
	{
		trk_arena_block_t *next = b->next;

		free(b);
		b = next;
	}
	a->first->next = NULL;
	a->cur = a->first;
	a->base = a->ptr = (char *) a->first->data;
	a->limit = a->base + a->first->size;
	a->retired = 0;
}

void
trk_arena_free(trk_arena_t *a)
{
	size_t		size = a->block_size;

	trk_arena_reset(a);
	free(a->first);
	memset(a, 0, sizeof(*a));
	a->block_size = size;
}

size_t
trk_arena_used(const trk_arena_t *a)
{
	return a->retired + ((uintptr_t) a->ptr - (uintptr_t) a->base);
}
