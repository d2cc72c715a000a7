/* rowbatch.c — runs of same-shape inserts, updates or deletes as multi-row statements. */
#include "apply/rowbatch.h"
#include "apply/mirror.h"
#include "base/mem.h"

#include <stdlib.h>
#include <string.h>

static void
free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

void
trk_rowbatch_clear(trk_rowbatch_t *rb)
{
	free(rb->sig);
	free_names(rb->names, rb->nnames);
	free_names(rb->key, rb->nkey);
	free(rb->types);
	rb->sig = NULL;
	rb->names = rb->key = NULL;
	rb->types = NULL;
	rb->nnames = rb->nkey = rb->nset = 0;
	if (rb->nrows > 0)
		memset(rb->keyset, 0, sizeof(rb->keyset));
	rb->nrows = rb->nvalues = rb->bytes = 0;
	trk_buf_reset(&rb->data);
	rb->pipeline = -1;
	rb->expect_rows = false;
}

bool
trk_rowbatch_matches(const trk_rowbatch_t *rb, int pipeline, const char *sig)
{
	return rb->sig != NULL && rb->pipeline == pipeline && strcmp(rb->sig, sig) == 0;
}

static char **
copy_names(const char *const *names, size_t n)
{
	char	  **out = trk_calloc(n + 1, sizeof(char *));

	for (size_t i = 0; i < n; i++)
		out[i] = trk_strdup(names[i]);
	return out;
}

/* keyset_slot: where keyhash is, or the empty slot where it would go */
static size_t
keyset_slot(const trk_rowbatch_t *rb, uint64_t keyhash)
{
	const size_t mask = sizeof(rb->keyset) / sizeof(rb->keyset[0]) - 1;
	size_t		i = (size_t) (keyhash ^ (keyhash >> 29)) & mask;

	while (rb->keyset[i] != 0 && rb->keyset[i] != keyhash)
		i = (i + 1) & mask;
	return i;
}

/* 0 marks an empty slot: a hash of 0 counts as 1 (a false match only ends a run early) */
static uint64_t
nonzero(uint64_t keyhash)
{
	return keyhash ? keyhash : 1;
}

bool
trk_rowbatch_has_key(const trk_rowbatch_t *rb, uint64_t keyhash)
{
	keyhash = nonzero(keyhash);
	return rb->keyset[keyset_slot(rb, keyhash)] == keyhash;
}

void
trk_rowbatch_start(trk_rowbatch_t *rb, int pipeline, trk_action_t action,
				   const trk_table_name_t *out, const char *sig,
				   const char *const *names, size_t nnames, size_t nset,
				   char *const *key, size_t nkey, const uint32_t *types)
{
	trk_rowbatch_clear(rb);
	rb->pipeline = pipeline;
	rb->action = action;
	rb->out = out;
	rb->sig = trk_strdup(sig);
	rb->names = copy_names(names, nnames);
	rb->nnames = nnames;
	rb->nset = nset;
	rb->key = copy_names((const char *const *) key, nkey);
	rb->nkey = nkey;
	rb->types = trk_malloc((nnames + 1) * sizeof(uint32_t));
	memcpy(rb->types, types, nnames * sizeof(uint32_t));
}

void
trk_rowbatch_add(trk_rowbatch_t *rb, const char *const *values, uint64_t keyhash,
				 const trk_dest_tag_t *tag, size_t bytes)
{
	if (rb->nrows >= rb->captags)
	{
		rb->captags = rb->captags ? rb->captags * 2 : 64;
		rb->tags = trk_realloc(rb->tags, rb->captags * sizeof(trk_dest_tag_t));
	}
	keyhash = nonzero(keyhash);
	rb->keyset[keyset_slot(rb, keyhash)] = keyhash;
	rb->tags[rb->nrows] = *tag;
	if (rb->nvalues + rb->nnames > rb->capvalues)
	{
		rb->capvalues = (rb->nvalues + rb->nnames) * 2;
		rb->offs = trk_realloc(rb->offs, rb->capvalues * sizeof(size_t));
	}
	for (size_t i = 0; i < rb->nnames; i++)
	{
		if (values[i] == NULL)
			rb->offs[rb->nvalues++] = SIZE_MAX;
		else
		{
			rb->offs[rb->nvalues++] = rb->data.len;
			trk_buf_appendn(&rb->data, values[i], strlen(values[i]) + 1);
		}
	}
	rb->nrows++;
	rb->bytes += bytes;
}

bool
trk_rowbatch_full(const trk_rowbatch_t *rb)
{
	return rb->nrows >= TRK_ROWBATCH_MAX_ROWS ||
		(rb->nrows + 1) * rb->nnames > TRK_ROWBATCH_MAX_PARAMS;
}

void
trk_rowbatch_flush(trk_rowbatch_t *rb, trk_pgdest_t *pg)
{
	size_t		row = 0;

	if (rb->nrows == 0)
		return;
	if (rb->nvalues > rb->capptrs)
	{
		rb->capptrs = rb->nvalues;
		rb->ptrs = trk_realloc(rb->ptrs, rb->capptrs * sizeof(char *));
		rb->ptypes = trk_realloc(rb->ptypes, rb->capptrs * sizeof(uint32_t));
	}
	for (size_t i = 0; i < rb->nvalues; i++)
	{
		rb->ptrs[i] = rb->offs[i] == SIZE_MAX ? NULL : rb->data.data + rb->offs[i];
		rb->ptypes[i] = rb->types[i % rb->nnames];
	}
	while (row < rb->nrows)
	{
		size_t		left = rb->nrows - row;
		size_t		k = 1;
		size_t		first = row * rb->nnames;
		trk_dest_tag_t tag;

		while (k * 2 <= left)
			k *= 2;
		if (rb->action == TRK_ACT_INSERT)
			trk_mirror_insert_rows(&rb->sql, rb->out, rb->key, rb->nkey, rb->names,
								   rb->nnames, k);
		else if (rb->action == TRK_ACT_UPDATE)
		{
			trk_mirror_update_rows(&rb->sql, rb->out, rb->names, rb->nset,
								   rb->names + rb->nset, rb->nnames - rb->nset, k);
			if (rb->expect_rows)
				trk_mirror_expect_rows(&rb->sql, k);
		}
		else
			trk_mirror_delete_rows(&rb->sql, rb->out, rb->names, rb->nnames, k);
		/* an error points at the chunk's first row and knows its last */
		tag = rb->tags[row];
		tag.last = rb->tags[row + k - 1].lsn;
		if (rb->action == TRK_ACT_UPDATE && rb->expect_rows)
			tag.check = TRK_CHECK_ROWS;
		trk_pgdest_exec(pg, trk_buf_cstr(&rb->sql), (int) (k * rb->nnames), rb->ptrs + first,
						rb->ptypes + first, &tag, rb->bytes * k / rb->nrows, true);
		row += k;
	}
	trk_rowbatch_clear(rb);
}

void
trk_rowbatch_free(trk_rowbatch_t *rb)
{
	trk_rowbatch_clear(rb);
	trk_buf_free(&rb->data);
	trk_buf_free(&rb->sql);
	free(rb->offs);
	free(rb->tags);
	free(rb->ptrs);
	free(rb->ptypes);
	memset(rb, 0, sizeof(*rb));
	rb->pipeline = -1;
}
