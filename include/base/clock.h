/* clock.h — seconds on the monotonic clock, for durations and rates. */
#ifndef TRK_BASE_CLOCK_H
#define TRK_BASE_CLOCK_H

#include <time.h>

static inline double
trk_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

#endif
