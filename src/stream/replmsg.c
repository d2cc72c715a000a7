/* replmsg.c — parse XLogData and keepalives; build standby status updates. */
#include "stream/replmsg.h"

#include <sys/time.h>

/* seconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch */
#define PG_EPOCH_OFFSET_SECS INT64_C(946684800)

static uint64_t
get64(const char *p)
{
	const unsigned char *u = (const unsigned char *) p;
	uint64_t	v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | u[i];
	return v;
}

static void
put64(char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--)
	{
		p[i] = (char) (v & 0xff);
		v >>= 8;
	}
}

int
trk_replmsg_parse(const char *buf, size_t len, trk_replmsg_t *out)
{
	*out = (trk_replmsg_t) {0};
	if (len < 1)
		return -1;
	out->kind = buf[0];
	if (buf[0] == 'w')
	{
		if (len < 25)
			return -1;
		out->start = get64(buf + 1);
		out->walend = get64(buf + 9);
		out->sendtime = (int64_t) get64(buf + 17);
		out->data = buf + 25;
		out->len = len - 25;
		return 0;
	}
	if (buf[0] == 'k')
	{
		if (len < 18)
			return -1;
		out->walend = get64(buf + 1);
		out->sendtime = (int64_t) get64(buf + 9);
		out->reply = buf[17] != 0;
		return 0;
	}
	return -1;
}

void
trk_replmsg_status(char out[TRK_REPL_STATUS_SIZE], trk_lsn_t write,
				   trk_lsn_t flush, trk_lsn_t apply, int64_t now, bool reply)
{
	out[0] = 'r';
	put64(out + 1, write);
	put64(out + 9, flush);
	put64(out + 17, apply);
	put64(out + 25, (uint64_t) now);
	out[33] = reply ? 1 : 0;
}

int64_t
trk_repl_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return ((int64_t) tv.tv_sec - PG_EPOCH_OFFSET_SECS) * INT64_C(1000000) + tv.tv_usec;
}
