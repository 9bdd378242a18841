/* clock.c - deadlines on CLOCK_MONOTONIC (see clock.h). */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include <mproc/common.h>

#include "clock.h"

#define NSEC_PER_SEC  1000000000L
#define NSEC_PER_MSEC 1000000L

struct timespec
mproc__now(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

int
mproc__deadline_start(struct mproc__deadline *d, int timeout_ms)
{
	if (timeout_ms < MPROC_FOREVER)
		return -EINVAL;
	d->timeout_ms = timeout_ms;
	/*
	 * Only a positive timeout reads the clock: 0 and MPROC_FOREVER are
	 * the fast paths of every call, and a clock read costs there.  For
	 * 0 the deadline is the epoch of CLOCK_MONOTONIC: long past.
	 */
	d->at = (struct timespec){ 0, 0 };
	if (timeout_ms > 0) {
		d->at = mproc__now();
		d->at.tv_sec += timeout_ms / 1000;
		d->at.tv_nsec += (long)(timeout_ms % 1000) * NSEC_PER_MSEC;
		if (d->at.tv_nsec >= NSEC_PER_SEC) {
			d->at.tv_sec++;
			d->at.tv_nsec -= NSEC_PER_SEC;
		}
	}
	return 0;
}

const struct timespec *
mproc__deadline_abs(const struct mproc__deadline *d)
{
	return d->timeout_ms == MPROC_FOREVER ? NULL : &d->at;
}

/* Nanoseconds from now to the deadline; <= 0 once it has passed. */
static int64_t
ns_left(const struct mproc__deadline *d)
{
	struct timespec now = mproc__now();

	return (int64_t)(d->at.tv_sec - now.tv_sec) * NSEC_PER_SEC +
	       (d->at.tv_nsec - now.tv_nsec);
}

int
mproc__deadline_ms_left(const struct mproc__deadline *d)
{
	int64_t ns;

	if (d->timeout_ms == MPROC_FOREVER)
		return -1;
	if (d->timeout_ms == 0)
		return 0;
	ns = ns_left(d);
	if (ns <= 0)
		return 0;
	/* Round up, so a wait never ends just before its deadline. */
	return (int)((ns + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC);
}

bool
mproc__deadline_passed(const struct mproc__deadline *d)
{
	if (d->timeout_ms == MPROC_FOREVER)
		return false;
	if (d->timeout_ms == 0)
		return true;
	return ns_left(d) <= 0;
}
