/*
 * control.c — the running daemon's control channel: a Unix socket through
 * which `trucker skip`, `resume` and `backfill` reach it.
 *
 * Protocol: one line in, one line out.
 *
 *     ping\n                          →  ok\n
 *     reload PIPELINE\n              →  ok\n | error <why>\n
 *     backfill PIPELINE [truncate]\n  →  ok\n | error <why>\n
 *     progress PIPELINE\n            →  ok copying ROWS ESTIMATE\n | ok waiting\n |
 *                                       ok parked\n | ok streaming\n | error <why>\n
 *
 * "reload" starts the pipeline's input again, which reads the pipeline's
 * row of trucker.checkpoints afresh: the commands change that row in the
 * output and then ask the daemon to look.  "backfill" has the daemon empty
 * the pipeline's output (truncate) and copy it again (daemon.c).  The socket is created at start
 * (a stale one, left by a daemon that was killed, is replaced; a live one
 * means another daemon runs on the same folder, and this one goes without)
 * and removed at exit.
 */
#include "internal.h"
#include "base/log.h"
#include "base/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define LINE_MAX_BYTES 512

typedef struct client
{
	uv_pipe_t	pipe;
	trk_daemon_t *daemon;
	char		line[LINE_MAX_BYTES];
	size_t		len;
	bool		answered;
	bool		closing;
	struct client *prev;		/* the open clients, for closing at exit */
	struct client *next;
} client_t;

/* one daemon per process: its open clients */
static client_t *clients;

static void on_client_closed(uv_handle_t *h);

static void
client_close(client_t *c)
{
	if (c->closing)
		return;
	c->closing = true;
	if (c->prev)
		c->prev->next = c->next;
	else
		clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	uv_close((uv_handle_t *) &c->pipe, on_client_closed);
}

typedef struct reply
{
	uv_write_t	req;
	client_t   *client;
	char	   *text;
} reply_t;

static void
on_client_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
on_written(uv_write_t *w, int status)
{
	reply_t    *r = w->data;

	(void) status;
	client_close(r->client);
	free(r->text);
	free(r);
}

static void
answer(client_t *c, const char *text)
{
	reply_t    *r = trk_calloc(1, sizeof(*r));
	uv_buf_t	buf;

	c->answered = true;
	uv_read_stop((uv_stream_t *) &c->pipe);
	r->client = c;
	r->text = trk_strdup(text);
	r->req.data = r;
	buf = uv_buf_init(r->text, (unsigned) strlen(r->text));
	if (uv_write(&r->req, (uv_stream_t *) &c->pipe, &buf, 1, on_written) != 0)
	{
		free(r->text);
		free(r);
		client_close(c);
	}
}

static void
handle(client_t *c)
{
	char		reply[LINE_MAX_BYTES + 64];
	const char *name;

	if (strcmp(c->line, "ping") == 0)
	{
		answer(c, "ok\n");
		return;
	}
	if (strncmp(c->line, "progress ", 9) == 0)
	{
		trk_buf_t	what = {0};
		int			r = trk_daemon_backfill_progress(c->daemon, c->line + 9, &what);

		snprintf(reply, sizeof(reply), "%s %s\n", r == 0 ? "ok" : "error", trk_buf_cstr(&what));
		answer(c, reply);
		trk_buf_free(&what);
		return;
	}
	if (strncmp(c->line, "backfill ", 9) == 0)
	{
		trk_buf_t	why = {0};
		char	   *sp = strchr(c->line + 9, ' ');
		bool		truncate = sp != NULL && strcmp(sp, " truncate") == 0;

		if (sp != NULL && !truncate)
			answer(c, "error unknown option\n");
		else
		{
			if (sp)
				*sp = '\0';
			if (trk_daemon_backfill_pipeline(c->daemon, c->line + 9, truncate, &why) == 0)
				answer(c, "ok\n");
			else
			{
				snprintf(reply, sizeof(reply), "error %s\n", trk_buf_cstr(&why));
				answer(c, reply);
			}
		}
		trk_buf_free(&why);
		return;
	}
	if (strncmp(c->line, "reload ", 7) != 0)
	{
		answer(c, "error unknown command\n");
		return;
	}
	name = c->line + 7;
	if (trk_daemon_reload_pipeline(c->daemon, name) != 0)
	{
		snprintf(reply, sizeof(reply), "error this trucker runs no pipeline \"%s\"\n", name);
		answer(c, reply);
		return;
	}
	answer(c, "ok\n");
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	client_t   *c = h->data;

	(void) suggested;
	buf->base = c->line + c->len;
	buf->len = sizeof(c->line) - 1 - c->len;
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	client_t   *c = s->data;
	char	   *nl;

	(void) buf;
	if (c->answered || c->closing)
		return;
	if (n < 0)
	{
		client_close(c);
		return;
	}
	c->len += (size_t) n;
	c->line[c->len] = '\0';
	nl = strchr(c->line, '\n');
	if (nl != NULL)
	{
		*nl = '\0';
		handle(c);
	}
	else if (c->len >= sizeof(c->line) - 1)
		answer(c, "error line too long\n");
}

static void
on_connection(uv_stream_t *server, int status)
{
	trk_daemon_t *d = server->data;
	client_t   *c;

	if (status < 0)
		return;
	c = trk_calloc(1, sizeof(*c));
	c->daemon = d;
	uv_pipe_init(server->loop, &c->pipe, 0);
	c->pipe.data = c;
	c->next = clients;
	if (clients)
		clients->prev = c;
	clients = c;
	if (uv_accept(server, (uv_stream_t *) &c->pipe) != 0 ||
		uv_read_start((uv_stream_t *) &c->pipe, on_alloc, on_read) != 0)
		client_close(c);
}

/* live: something answers on path (another daemon) */
static bool
live(const char *path)
{
	struct sockaddr_un sa;
	int			fd = socket(AF_UNIX, SOCK_STREAM, 0);
	bool		ok;

	if (fd < 0)
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ok = connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

int
trk_control_open(uv_loop_t *loop, uv_pipe_t *server, const char *path, trk_daemon_t *d)
{
	int			r;

	if (strlen(path) >= sizeof(((struct sockaddr_un *) 0)->sun_path))
	{
		trk_log_warn("control socket path too long: `trucker skip` and `resume` will work on "
					 "the outputs only, and take effect at the next start",
					 "path", path, NULL);
		return -1;
	}
	if (live(path))
	{
		trk_log_warn("another trucker answers on the control socket: this one goes without",
					 "path", path, NULL);
		return -1;
	}
	unlink(path);				/* stale, from a daemon that was killed */
	uv_pipe_init(loop, server, 0);
	server->data = d;
	if ((r = uv_pipe_bind(server, path)) != 0 ||
		(r = uv_listen((uv_stream_t *) server, 8, on_connection)) != 0)
	{
		trk_log_warn("cannot open the control socket: `trucker skip` and `resume` will work on "
					 "the outputs only, and take effect at the next start",
					 "path", path, "error", uv_strerror(r), NULL);
		uv_close((uv_handle_t *) server, NULL);
		return -1;
	}
	trk_log_info("control socket open", "path", path, NULL);
	return 0;
}

void
trk_control_close(uv_pipe_t *server, const char *path)
{
	/* a client that never finished its line must not keep the loop alive */
	while (clients)
		client_close(clients);
	uv_close((uv_handle_t *) server, NULL);
	unlink(path);
}

char *
trk_control_default_path(const char *dir)
{
	trk_buf_t	b = {0};

	trk_buf_appendf(&b, "%s/.trucker.sock", dir);
	return trk_buf_steal(&b);
}

int
trk_control_request(const char *path, const char *line, trk_buf_t *reply)
{
	struct sockaddr_un sa;
	struct timeval tv = {10, 0};
	char		buf[LINE_MAX_BYTES];
	size_t		len = 0;
	int			fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return 1;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
	{
		trk_buf_append(reply, "cannot create a socket");
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0)
	{
		close(fd);
		return 1;				/* no daemon there */
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write(fd, line, strlen(line)) != (ssize_t) strlen(line) || write(fd, "\n", 1) != 1)
	{
		close(fd);
		trk_buf_append(reply, "cannot write to the control socket");
		return -1;
	}
	while (len < sizeof(buf) - 1)
	{
		ssize_t		n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t) n;
		if (memchr(buf, '\n', len) != NULL)
			break;
	}
	close(fd);
	buf[len] = '\0';
	if (len == 0 || strchr(buf, '\n') == NULL)
	{
		trk_buf_append(reply, "the daemon did not answer");
		return -1;
	}
	*strchr(buf, '\n') = '\0';
	trk_buf_append(reply, buf);
	return 0;
}
