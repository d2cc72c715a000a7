/*
 * buf.h — a growable byte string, always NUL-terminated.
 *
 * The caller owns the struct (usually on the stack or embedded) and frees the
 * data with trk_buf_free.  A zeroed trk_buf_t is a valid empty buffer.
 */
#ifndef TRK_BASE_BUF_H
#define TRK_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct trk_buf
{
	char	   *data;			/* owned; NULL until the first append */
	size_t		len;
	size_t		cap;
} trk_buf_t;

void		trk_buf_append(trk_buf_t *b, const char *s);
void		trk_buf_appendn(trk_buf_t *b, const char *s, size_t n);
void		trk_buf_appendc(trk_buf_t *b, char c);
void		trk_buf_appendf(trk_buf_t *b, const char *fmt, ...)
			__attribute__((format(printf, 2, 3)));
void		trk_buf_vappendf(trk_buf_t *b, const char *fmt, va_list ap);
void		trk_buf_reset(trk_buf_t *b);
const char *trk_buf_cstr(trk_buf_t *b);	/* "" when empty, never NULL */
char	   *trk_buf_steal(trk_buf_t *b);	/* returns owned data, resets b */
void		trk_buf_free(trk_buf_t *b);

#endif
