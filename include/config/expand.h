/*
 * expand.h — the template pass over trucker.yml, before YAML parsing.
 *
 * trucker.yml may hold {{ env("X") }}, {{ env("X", "default") }} and
 * {{ file("path") }}.  Each is replaced by its value written as a YAML
 * scalar that cannot change the document's structure: a whole plain value
 * becomes a double-quoted scalar with every special character escaped, and a
 * tag inside a quoted scalar is escaped for that quoting style.  A secret
 * holding ':', '#', quotes or newlines therefore stays one value.
 *
 * Expansion keeps line breaks where they were, and records where each
 * replacement sits, so trk_srcmap_col maps a column of the expanded text back
 * to the column of the original file: error positions always point into the
 * file the user wrote.  Columns count characters, as libyaml does.
 */
#ifndef TRK_CONFIG_EXPAND_H
#define TRK_CONFIG_EXPAND_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/diag.h"

typedef struct trk_srcmap_seg
{
	int			line;			/* 1-based line, same in both texts */
	int			ecol;			/* expanded columns [ecol, ecol_end) */
	int			ecol_end;
	int			ocol;			/* original columns [ocol, ocol_end) */
	int			ocol_end;
} trk_srcmap_seg_t;

typedef struct trk_srcmap
{
	trk_srcmap_seg_t *segs;		/* owned; ordered by line, then column */
	size_t		n;
	size_t		cap;
} trk_srcmap_t;

/*
 * trk_expand replaces every tag of text (len bytes) into out.  basedir is
 * where file("relative") is read from.  Returns the number of errors added to
 * diags (0 on success).  Comments are not expanded.
 */
int			trk_expand(const char *file, const char *text, size_t len,
					   const char *basedir, trk_buf_t *out, trk_srcmap_t *map,
					   trk_diags_t *diags);

/* trk_srcmap_col maps a 1-based expanded column on line to the original. */
int			trk_srcmap_col(const trk_srcmap_t *map, int line, int col);

/* trk_srcmap_is_tag: whether an original line:col is where a tag started. */
bool		trk_srcmap_is_tag(const trk_srcmap_t *map, int line, int col);

void		trk_srcmap_free(trk_srcmap_t *map);

/*
 * trk_secret_trim strips one trailing newline ("\n" or "\r\n") from a secret
 * read from a file, as *_path keys and file() both do.
 */
void		trk_secret_trim(trk_buf_t *b);

#endif
