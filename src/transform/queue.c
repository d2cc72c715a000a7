/* queue.c — the stream's messages waiting for their transforms, in order. */
#include "transform/queue.h"
#include "base/mem.h"

#include <stdlib.h>
#include <string.h>

void
trk_xq_init(trk_xq_t *q, void (*free_rows) (void *rows))
{
	memset(q, 0, sizeof(*q));
	q->next_id = 1;
	q->free_rows = free_rows;
}

static trk_xq_entry_t *
at(const trk_xq_t *q, size_t i)
{
	return &q->ring[(q->head + i) & (q->cap - 1)];
}

uint64_t
trk_xq_push(trk_xq_t *q, trk_lsn_t lsn, const char *data, size_t len, void *decoded,
			size_t decoded_size)
{
	trk_xq_entry_t *e;

	if (q->count == q->cap)
	{
		size_t		ncap = q->cap ? q->cap * 2 : 256;
		trk_xq_entry_t *n = trk_malloc(ncap * sizeof(trk_xq_entry_t));

		for (size_t i = 0; i < q->count; i++)
			n[i] = *at(q, i);
		free(q->ring);
		q->ring = n;
		q->cap = ncap;
		q->head = 0;
	}
	e = &q->ring[(q->head + q->count) & (q->cap - 1)];
	q->count++;
	memset(e, 0, sizeof(*e));
	e->id = q->next_id++;
	e->lsn = lsn;
	if (data != NULL)
	{
		e->data = trk_malloc(len + 1);
		memcpy(e->data, data, len);
		e->data[len] = '\0';
		e->len = len;
		e->decoded = decoded;
		e->bytes = len + decoded_size;
		q->bytes += e->bytes;
	}
	else
		e->keepalive = true;
	return e->id;
}

trk_xq_entry_t *
trk_xq_entry(trk_xq_t *q, uint64_t id)
{
	uint64_t	first;

	if (q->count == 0)
		return NULL;
	first = at(q, 0)->id;
	if (id < first || id - first >= q->count)
		return NULL;
	return at(q, (size_t) (id - first));
}

void
trk_xq_expect(trk_xq_t *q, uint64_t id)
{
	trk_xq_entry_t *e = trk_xq_entry(q, id);

	if (e != NULL)
		e->waiting++;
}

int
trk_xq_answer(trk_xq_t *q, uint64_t id, int pipeline, void *rows, int first, int count)
{
	trk_xq_entry_t *e = trk_xq_entry(q, id);
	trk_xq_rows_t *a;

	if (e == NULL || e->waiting == 0)
	{
		if (rows != NULL && q->free_rows != NULL)
			q->free_rows(rows);
		return -1;
	}
	if (e->nrows == 0)
		a = &e->one;
	else
	{
		TRK_GROW(e->more, e->capmore, e->nrows);
		a = &e->more[e->nrows - 1];
	}
	a->pipeline = pipeline;
	a->rows = rows;
	a->first = first;
	a->count = count;
	e->nrows++;
	e->waiting--;
	return 0;
}

trk_xq_entry_t *
trk_xq_ready(trk_xq_t *q)
{
	if (q->count == 0 || at(q, 0)->waiting > 0)
		return NULL;
	return at(q, 0);
}

static trk_xq_rows_t *
answer_at(const trk_xq_entry_t *e, size_t i)
{
	return i == 0 ? (trk_xq_rows_t *) &e->one : &e->more[i - 1];
}

const trk_xq_rows_t *
trk_xq_rows(const trk_xq_entry_t *e, int pipeline)
{
	for (size_t i = 0; i < e->nrows; i++)
		if (answer_at(e, i)->pipeline == pipeline)
			return answer_at(e, i);
	return NULL;
}

static void
entry_free(trk_xq_t *q, trk_xq_entry_t *e)
{
	for (size_t i = 0; i < e->nrows; i++)
		if (answer_at(e, i)->rows != NULL && q->free_rows != NULL)
			q->free_rows(answer_at(e, i)->rows);
	free(e->more);
	free(e->data);
	free(e->decoded);
	q->bytes -= e->bytes;
}

void
trk_xq_pop(trk_xq_t *q)
{
	if (q->count == 0)
		return;
	entry_free(q, at(q, 0));
	q->head = (q->head + 1) & (q->cap - 1);
	q->count--;
}

void
trk_xq_clear(trk_xq_t *q)
{
	while (q->count > 0)
		trk_xq_pop(q);
}

void
trk_xq_free(trk_xq_t *q)
{
	trk_xq_clear(q);
	free(q->ring);
	q->ring = NULL;
	q->cap = 0;
}
