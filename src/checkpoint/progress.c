/* progress.c — the exactly-once rules on one pipeline's positions. */
#include "checkpoint/progress.h"

#include <string.h>

void
trk_progress_start(trk_progress_t *p, trk_lsn_t stored)
{
	p->stored = p->written = p->seen = stored;
	p->ncommitting = 0;
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
trk_progress_writing(trk_progress_t *p, uint64_t seq, trk_lsn_t *from)
{
	if (p->seen <= p->written || p->ncommitting == TRK_PROGRESS_MAX_COMMITTING)
		return false;
	*from = p->written;
	p->committing[p->ncommitting].seq = seq;
	p->committing[p->ncommitting].lsn = p->seen;
	p->ncommitting++;
	p->written = p->seen;
	return true;
}

void
trk_progress_committed(trk_progress_t *p, uint64_t seq)
{
	size_t		n = 0;

	while (n < p->ncommitting && p->committing[n].seq <= seq)
	{
		if (p->committing[n].lsn > p->stored)
			p->stored = p->committing[n].lsn;
		n++;
	}
	memmove(p->committing, p->committing + n, (p->ncommitting - n) * sizeof(p->committing[0]));
	p->ncommitting -= n;
}
