/* diag.c — collecting and printing positioned diagnostics. */
#include "base/diag.h"
#include "base/buf.h"
#include "base/mem.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void
trk_diag_add(trk_diags_t *d, trk_severity_t sev, const char *file,
			 int line, int col, const char *fmt, ...)
{
	trk_buf_t	msg = {0};
	trk_diag_t *diag;
	va_list		ap;

	va_start(ap, fmt);
	trk_buf_vappendf(&msg, fmt, ap);
	va_end(ap);

	/*
	 * A message may quote user input: escape control characters so a value
	 * holding a newline cannot forge a second diagnostic line.
	 */
	for (size_t i = 0; i < msg.len; i++)
		if ((unsigned char) msg.data[i] < 0x20 || msg.data[i] == 0x7F)
		{
			trk_buf_t	safe = {0};

			for (size_t j = 0; j < msg.len; j++)
			{
				unsigned char c = (unsigned char) msg.data[j];

				if (c == '\n')
					trk_buf_append(&safe, "\\n");
				else if (c == '\t')
					trk_buf_append(&safe, "\\t");
				else if (c < 0x20 || c == 0x7F)
					trk_buf_appendf(&safe, "\\x%02X", c);
				else
					trk_buf_appendc(&safe, (char) c);
			}
			trk_buf_free(&msg);
			msg = safe;
			break;
		}

	TRK_GROW(d->items, d->cap, d->n + 1);
	diag = &d->items[d->n++];
	diag->severity = sev;
	diag->file = file ? trk_strdup(file) : NULL;
	diag->line = line;
	diag->col = col;
	diag->message = trk_buf_steal(&msg);
	if (sev == TRK_ERROR)
		d->nerrors++;
}

static int
diag_cmp(const trk_diag_t *a, const trk_diag_t *b)
{
	int			c = strcmp(a->file ? a->file : "", b->file ? b->file : "");

	if (c != 0)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return 0;
}

void
trk_diags_sort(trk_diags_t *d)
{
	/* insertion sort: stable, and lists are short */
	for (size_t i = 1; i < d->n; i++)
	{
		trk_diag_t	x = d->items[i];
		size_t		j = i;

		while (j > 0 && diag_cmp(&d->items[j - 1], &x) > 0)
		{
			d->items[j] = d->items[j - 1];
			j--;
		}
		d->items[j] = x;
	}
}

static const char *
severity_name(trk_severity_t s)
{
	switch (s)
	{
		case TRK_ERROR:
			return "error";
		case TRK_WARNING:
			return "warning";
		case TRK_NOTE:
			return "note";
	}
	return "error";
}

void
trk_diag_format(const trk_diag_t *diag, char *buf, size_t size)
{
	if (diag->file && diag->line > 0 && diag->col > 0)
		snprintf(buf, size, "%s:%d:%d: %s: %s", diag->file, diag->line,
				 diag->col, severity_name(diag->severity), diag->message);
	else if (diag->file && diag->line > 0)
		snprintf(buf, size, "%s:%d: %s: %s", diag->file, diag->line,
				 severity_name(diag->severity), diag->message);
	else if (diag->file)
		snprintf(buf, size, "%s: %s: %s", diag->file,
				 severity_name(diag->severity), diag->message);
	else
		snprintf(buf, size, "%s: %s", severity_name(diag->severity),
				 diag->message);
}

void
trk_diags_print(const trk_diags_t *d, FILE *out)
{
	char		line[4096];

	for (size_t i = 0; i < d->n; i++)
	{
		trk_diag_format(&d->items[i], line, sizeof(line));
		fprintf(out, "%s\n", line);
	}
}

void
trk_diags_move(trk_diags_t *dst, trk_diags_t *src)
{
	for (size_t i = 0; i < src->n; i++)
	{
		TRK_GROW(dst->items, dst->cap, dst->n + 1);
		dst->items[dst->n++] = src->items[i];
		if (src->items[i].severity == TRK_ERROR)
			dst->nerrors++;
	}
	free(src->items);
	memset(src, 0, sizeof(*src));
}

void
trk_diags_free(trk_diags_t *d)
{
	for (size_t i = 0; i < d->n; i++)
	{
		free(d->items[i].file);
		free(d->items[i].message);
	}
	free(d->items);
	memset(d, 0, sizeof(*d));
}
