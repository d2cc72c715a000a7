/* progress.c — the exactly-once rules on one pipeline's positions. */
#include "checkpoint/progress.h"

void
trk_progress_start(trk_progress_t *p, trk_lsn_t stored)
{
	p->stored = p->writing = p->seen = stored;
}

bool
trk_progress_skips(const trk_progress_t *p, trk_lsn_t end)
{
	return end <= p->seen || (p->stop != 0 && end >= p->stop);
}

void
trk_progress_applied(trk_progress_t *p, trk_lsn_t end)
{
	if (end > p->seen)
		p->seen = end;
}

void
trk_progress_keepalive(trk_progress_t *p, trk_lsn_t walend)
{
	if (p->stop == 0 && walend > p->seen)
		p->seen = walend;
}

bool
trk_progress_writing(trk_progress_t *p)
{
	if (p->seen <= p->stored)
		return false;
	p->writing = p->seen;
	return true;
}

void
trk_progress_committed(trk_progress_t *p)
{
	if (p->writing > p->stored)
		p->stored = p->writing;
}
