/* log.c — one structured line per event, logfmt or JSON, on stderr. */
#include "base/log.h"
#include "base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static trk_log_format_t log_format = TRK_LOG_LOGFMT;
static trk_log_level_t log_level = TRK_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
trk_log_setup(trk_log_format_t format, trk_log_level_t level)
{
	log_format = format;
	log_level = level;
}

bool
trk_log_parse_level(const char *name, trk_log_level_t *out)
{
	for (int i = 0; i <= TRK_LOG_ERROR; i++)
		if (strcmp(name, level_names[i]) == 0)
		{
			*out = (trk_log_level_t) i;
			return true;
		}
	return false;
}

bool
trk_log_parse_format(const char *name, trk_log_format_t *out)
{
	if (strcmp(name, "logfmt") == 0)
		*out = TRK_LOG_LOGFMT;
	else if (strcmp(name, "json") == 0)
		*out = TRK_LOG_JSON;
	else
		return false;
	return true;
}

bool
trk_log_enabled(trk_log_level_t level)
{
	return level >= log_level;
}

/* logfmt_value quotes a value when it holds a space, '=', '"' or a control. */
static void
logfmt_value(trk_buf_t *b, const char *v)
{
	bool		quote = *v == '\0';

	for (const unsigned char *p = (const unsigned char *) v; *p && !quote; p++)
		quote = *p <= ' ' || *p == '=' || *p == '"' || *p == 0x7f;
	if (!quote)
	{
		trk_buf_append(b, v);
		return;
	}
	trk_buf_appendc(b, '"');
	for (const unsigned char *p = (const unsigned char *) v; *p; p++)
	{
		if (*p == '"' || *p == '\\')
		{
			trk_buf_appendc(b, '\\');
			trk_buf_appendc(b, (char) *p);
		}
		else if (*p == '\n')
			trk_buf_append(b, "\\n");
		else if (*p == '\t')
			trk_buf_append(b, "\\t");
		else if (*p < ' ' || *p == 0x7f)
			trk_buf_appendf(b, "\\x%02x", *p);
		else
			trk_buf_appendc(b, (char) *p);
	}
	trk_buf_appendc(b, '"');
}

static void
json_string(trk_buf_t *b, const char *v)
{
	trk_buf_appendc(b, '"');
	for (const unsigned char *p = (const unsigned char *) v; *p; p++)
	{
		if (*p == '"' || *p == '\\')
		{
			trk_buf_appendc(b, '\\');
			trk_buf_appendc(b, (char) *p);
		}
		else if (*p == '\n')
			trk_buf_append(b, "\\n");
		else if (*p == '\t')
			trk_buf_append(b, "\\t");
		else if (*p < ' ' || *p == 0x7f)
			trk_buf_appendf(b, "\\u%04x", *p);
		else
			trk_buf_appendc(b, (char) *p);
	}
	trk_buf_appendc(b, '"');
}

static void
field(trk_buf_t *b, const char *key, const char *value, bool first)
{
	if (log_format == TRK_LOG_JSON)
	{
		if (!first)
			trk_buf_appendc(b, ',');
		json_string(b, key);
		trk_buf_appendc(b, ':');
		json_string(b, value);
	}
	else
	{
		if (!first)
			trk_buf_appendc(b, ' ');
		trk_buf_append(b, key);
		trk_buf_appendc(b, '=');
		logfmt_value(b, value);
	}
}

void
trk_log(trk_log_level_t level, const char *msg, ...)
{
	trk_buf_t	b = {0};
	struct timeval tv;
	struct tm	tm;
	char		ts[64];
	va_list		ap;
	const char *k;

	if (level < log_level)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, (int) (tv.tv_usec / 1000));
	if (log_format == TRK_LOG_JSON)
		trk_buf_appendc(&b, '{');
	field(&b, "ts", ts, true);
	field(&b, "level", level_names[level], false);
	field(&b, "msg", msg, false);
	va_start(ap, msg);
	while ((k = va_arg(ap, const char *)) != NULL)
	{
		const char *v = va_arg(ap, const char *);

		if (v != NULL)
			field(&b, k, v, false);
	}
	va_end(ap);
	if (log_format == TRK_LOG_JSON)
		trk_buf_appendc(&b, '}');
	trk_buf_appendc(&b, '\n');
	/* one write per line: lines from two threads never interleave */
	for (size_t off = 0; off < b.len;)
	{
		ssize_t		n = write(STDERR_FILENO, b.data + off, b.len - off);

		if (n <= 0)
			break;
		off += (size_t) n;
	}
	trk_buf_free(&b);
}
