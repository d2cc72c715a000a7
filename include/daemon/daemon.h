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

#include <stdint.h>

#include "config/config.h"

typedef struct trk_daemon trk_daemon_t;

typedef struct trk_daemon_options
{
	int64_t		shutdown_timeout_ms;	/* commit-or-roll-back limit on exit */
} trk_daemon_options_t;

/*
 * trk_daemon_run streams until a signal; returns 0 after a clean stop, or 1
 * when no input could stream (each refusal is logged).  cfg is borrowed.
 */
int			trk_daemon_run(const trk_config_t *cfg, const trk_daemon_options_t *opts);

#endif
