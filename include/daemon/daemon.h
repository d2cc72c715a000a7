/*
 * daemon.h — `trucker run`: stream every pipeline of a checked config until
 * SIGTERM or SIGINT.
 *
 * One input per input connection: its replication stream, and one output
 * session per output connection its pipelines write to.  Inputs fail and
 * restart independently; a restart always resumes from the checkpoints
 * stored in the outputs.
 */
#ifndef TRK_DAEMON_DAEMON_H
#define TRK_DAEMON_DAEMON_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "config/config.h"

typedef struct trk_daemon trk_daemon_t;

typedef struct trk_daemon_options
{
	int64_t		shutdown_timeout_ms;	/* commit-or-roll-back limit on exit */
	const char *control_path;	/* the control socket, or NULL for none */
	bool		accept_changed; /* a pipeline changed while trucker was down
								 * runs by its new definition, as is */
	/*
	 * On SIGHUP: the folder loaded and checked again (the daemon owns it),
	 * or NULL when it has errors, which reload has reported.
	 */
	trk_config_t *(*reload) (void *arg);
	void	   *reload_arg;
} trk_daemon_options_t;

/*
 * trk_daemon_run streams until a signal; returns 0 after a clean stop, or 1
 * when no input could stream (each refusal is logged).  cfg is borrowed.
 */
int			trk_daemon_run(const trk_config_t *cfg, const trk_daemon_options_t *opts);

/*
 * trk_input_connect opens a session to a connection's primary or replica,
 * with trucker's session options (exact values: DateStyle, TimeZone, …);
 * replication: a walsender session.  NULL with the reason in err.
 */
PGconn	   *trk_input_connect(const trk_connection_t *c, bool replica, bool replication,
							  trk_buf_t *err);

/*
 * trk_control_default_path: the control socket of the daemon running on
 * DIR, DIR/.trucker.sock.  Owned result.
 */
char	   *trk_control_default_path(const char *dir);

/*
 * trk_control_request sends one command line to the daemon on path and puts
 * its answer in reply (without the newline).  Returns 0 when it answered,
 * 1 when no daemon listens there, -1 on another failure (reply says why).
 */
int			trk_control_request(const char *path, const char *line, trk_buf_t *reply);

#endif
