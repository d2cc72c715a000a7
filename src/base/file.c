/* file.c — reading whole files and joining paths. */
#include "base/file.h"
#include "base/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
trk_file_read(const char *path, trk_buf_t *out)
{
	int			fd;
	int			saved;
	char		chunk[65536];

	trk_buf_reset(out);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;)
	{
		ssize_t		n = read(fd, chunk, sizeof(chunk));

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (n == 0)
			break;
		if (out->len + (size_t) n > TRK_FILE_MAX)
		{
			errno = EFBIG;
			goto fail;
		}
		trk_buf_appendn(out, chunk, (size_t) n);
	}
	close(fd);
	if (out->data == NULL)
		trk_buf_appendn(out, "", 0);
	return 0;

fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

char *
trk_path_join(const char *base, const char *rel)
{
	trk_buf_t	b = {0};

	if (rel[0] == '/' || base == NULL || base[0] == '\0')
		return trk_strdup(rel);
	trk_buf_append(&b, base);
	if (b.len > 0 && b.data[b.len - 1] != '/')
		trk_buf_appendc(&b, '/');
	trk_buf_append(&b, rel);
	return trk_buf_steal(&b);
}

char *
trk_path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return trk_strdup(".");
	if (slash == path)
		return trk_strdup("/");
	return trk_strndup(path, (size_t) (slash - path));
}

bool
trk_path_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool
trk_path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

bool
trk_path_lexists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}
