/* fuzz_wal2json.c — libFuzzer target: arbitrary bytes into the wal2json decoder. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "decode/change.h"
#include "decode/wal2json.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_column touches every byte a caller may read, so ASan sees misuse. */
static void
check_column(const trk_column_t *c)
{
	if (c->name == NULL || (c->value.text == NULL) !=
		(c->value.kind == TRK_V_NULL || c->value.kind == TRK_V_ABSENT))
		abort();
	if (c->value.text != NULL && strlen(c->value.text) != c->value.len)
		abort();				/* decoded text must never hold a NUL */
}

/*
 * One arena lives for the whole run and is reset per input, exactly as the
 * streaming path uses it, so reuse bugs show up too.  The input is copied
 * into a buffer of exactly its size so that any read past the end is caught.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static trk_arena_t arena;
	trk_buf_t	err = {0};
	trk_change_t ch;
	trk_column_t *cols;
	size_t		ncols;
	char	   *copy = malloc(size ? size : 1);

	if (size)
		memcpy(copy, data, size);
	trk_arena_reset(&arena);

	if (trk_wal2json_decode(&arena, copy, size, &ch, &err) == 0)
	{
		if (err.len != 0)
			abort();
		for (size_t i = 0; i < ch.ncolumns; i++)
			check_column(&ch.columns[i]);
		for (size_t i = 0; i < ch.nidentity; i++)
			check_column(&ch.identity[i]);
		for (size_t i = 0; i < ch.npk; i++)
			if (ch.pk[i] == NULL)
				abort();
		if (ch.ncolumns > 0)
			(void) trk_change_column(ch.columns, ch.ncolumns, ch.columns[0].name);
	}
	else if (err.len == 0)
		abort();				/* a failure must say why */

	trk_buf_reset(&err);
	if (trk_wal2json_row_from_object(&arena, copy, size, &cols, &ncols, &err) == 0)
	{
		for (size_t i = 0; i < ncols; i++)
			check_column(&cols[i]);
	}
	else if (err.len == 0)
		abort();

	trk_buf_free(&err);
	free(copy);
	return 0;
}
