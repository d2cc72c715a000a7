/*
 * file.h — small file-system helpers for configuration loading.
 */
#ifndef TRK_BASE_FILE_H
#define TRK_BASE_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

/* Configuration files and secrets larger than this are refused. */
#define TRK_FILE_MAX ((size_t) 16 * 1024 * 1024)

/*
 * trk_file_read reads a whole file into out (replacing its contents).
 * Returns 0, or -1 with errno set (EFBIG past TRK_FILE_MAX).
 */
int			trk_file_read(const char *path, trk_buf_t *out);

/* trk_path_join: base + "/" + rel, or rel alone when it is absolute.  Owned. */
char	   *trk_path_join(const char *base, const char *rel);

/* trk_path_dirname: the directory part of path ("." if none).  Owned. */
char	   *trk_path_dirname(const char *path);

bool		trk_path_is_dir(const char *path);
bool		trk_path_exists(const char *path);
/* trk_path_lexists: true for a symbolic link too, even a dangling one. */
bool		trk_path_lexists(const char *path);

#endif
