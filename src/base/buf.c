/* buf.c — growable NUL-terminated byte strings. */
#include "base/buf.h"
#include "base/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
reserve(trk_buf_t *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	TRK_GROW(b->data, b->cap, need);
}

void
trk_buf_appendn(trk_buf_t *b, const char *s, size_t n)
{
	reserve(b, n);
	if (n > 0)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
trk_buf_append(trk_buf_t *b, const char *s)
{
	trk_buf_appendn(b, s, strlen(s));
}

void
trk_buf_appendc(trk_buf_t *b, char c)
{
	trk_buf_appendn(b, &c, 1);
}

void
trk_buf_vappendf(trk_buf_t *b, const char *fmt, va_list ap)
{
	va_list		ap2;
	int			n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	reserve(b, (size_t) n);
	vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
	b->len += (size_t) n;
}

void
trk_buf_appendf(trk_buf_t *b, const char *fmt, ...)
{
	va_list		ap;

	va_start(ap, fmt);
	trk_buf_vappendf(b, fmt, ap);
	va_end(ap);
}

void
trk_buf_reset(trk_buf_t *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

const char *
trk_buf_cstr(trk_buf_t *b)
{
	return b->data ? b->data : "";
}

char *
trk_buf_steal(trk_buf_t *b)
{
	char	   *p = b->data ? b->data : trk_strdup("");

	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void
trk_buf_free(trk_buf_t *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
