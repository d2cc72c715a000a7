/*
 * log.h — levelled, structured log lines on stderr: logfmt or JSON.
 *
 *     ts=2026-11-22T03:04:05.123Z level=info msg="streaming started" connection=src lsn=0/16B3748
 *     {"ts":"2026-11-22T03:04:05.123Z","level":"info","msg":"streaming started","connection":"src",…}
 *
 * Only the runtime (daemon, stream, apply) logs; pure modules return errors
 * to their caller.  A line is one write(2), so lines from the setup thread
 * and the loop never interleave.  Fields are key/value string pairs ended by
 * NULL; a NULL value is left out.  Values are quoted and escaped as each
 * format needs: control characters never reach the terminal raw.
 */
#ifndef TRK_BASE_LOG_H
#define TRK_BASE_LOG_H

#include <stdbool.h>

typedef enum trk_log_level
{
	TRK_LOG_DEBUG = 0,
	TRK_LOG_INFO,
	TRK_LOG_WARN,
	TRK_LOG_ERROR
} trk_log_level_t;

typedef enum trk_log_format
{
	TRK_LOG_LOGFMT = 0,
	TRK_LOG_JSON
} trk_log_format_t;

void		trk_log_setup(trk_log_format_t format, trk_log_level_t level);

/* trk_log_parse_level / _format: false on an unknown name. */
bool		trk_log_parse_level(const char *name, trk_log_level_t *out);
bool		trk_log_parse_format(const char *name, trk_log_format_t *out);

bool		trk_log_enabled(trk_log_level_t level);

/* trk_log writes msg and the NULL-terminated key, value, … pairs. */
void		trk_log(trk_log_level_t level, const char *msg, ...)
			__attribute__((sentinel));

#define trk_log_debug(...) trk_log(TRK_LOG_DEBUG, __VA_ARGS__)
#define trk_log_info(...) trk_log(TRK_LOG_INFO, __VA_ARGS__)
#define trk_log_warn(...) trk_log(TRK_LOG_WARN, __VA_ARGS__)
#define trk_log_error(...) trk_log(TRK_LOG_ERROR, __VA_ARGS__)

#endif
