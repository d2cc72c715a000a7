/*
 * diag.h — diagnostics with a source position.
 *
 * Pure modules (config, template, wal2json) never print: they add one entry
 * per problem here and keep going where they can, so that `trucker check`
 * reports every error in a folder at once.  The caller prints them as
 *
 *     file:line:col: error: message
 *
 * Lines and columns are 1-based; 0 means "unknown" and is left out.
 */
#ifndef TRK_BASE_DIAG_H
#define TRK_BASE_DIAG_H

#include <stdio.h>
#include <stddef.h>

typedef enum trk_severity
{
	TRK_ERROR = 0,
	TRK_WARNING,
	TRK_NOTE
} trk_severity_t;

typedef struct trk_diag
{
	trk_severity_t severity;
	char	   *file;			/* owned; may be NULL */
	int			line;
	int			col;
	char	   *message;		/* owned */
} trk_diag_t;

typedef struct trk_diags
{
	trk_diag_t *items;			/* owned */
	size_t		n;
	size_t		cap;
	size_t		nerrors;
} trk_diags_t;

void		trk_diag_add(trk_diags_t *d, trk_severity_t sev, const char *file,
						 int line, int col, const char *fmt, ...)
			__attribute__((format(printf, 6, 7)));
#define trk_diag_error(d, file, line, col, ...) \
	trk_diag_add((d), TRK_ERROR, (file), (line), (col), __VA_ARGS__)
#define trk_diag_warning(d, file, line, col, ...) \
	trk_diag_add((d), TRK_WARNING, (file), (line), (col), __VA_ARGS__)

/* trk_diags_sort orders by file, then line, then column (stable). */
void		trk_diags_sort(trk_diags_t *d);
/* trk_diag_format writes one line, without the newline, into buf. */
void		trk_diag_format(const trk_diag_t *diag, char *buf, size_t size);
void		trk_diags_print(const trk_diags_t *d, FILE *out);
void		trk_diags_move(trk_diags_t *dst, trk_diags_t *src);
void		trk_diags_free(trk_diags_t *d);

#endif
