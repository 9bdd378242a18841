/*
 * clock.h - deadlines for the `int timeout_ms` of every blocking call.
 *
 * A deadline is fixed once, at the start of a call, on CLOCK_MONOTONIC,
 * so that retries after a spurious wake-up never stretch the wait and a
 * wall-clock jump never shortens or stretches it.
 */
#ifndef MPROC_CLOCK_H
#define MPROC_CLOCK_H

#include <errno.h>
#include <stdbool.h>
#include <time.h>

struct mproc__deadline {
	int timeout_ms;		/* as given: MPROC_FOREVER, 0 or > 0 */
	struct timespec at;	/* CLOCK_MONOTONIC; meaningful when timeout_ms > 0 */
};

/* 0, or -EINVAL for a timeout below MPROC_FOREVER. */
int mproc__deadline_start(struct mproc__deadline *d, int timeout_ms);

/* Milliseconds left, rounded up, for poll(2): -1 forever, 0 when due. */
int mproc__deadline_ms_left(const struct mproc__deadline *d);

/* The absolute CLOCK_MONOTONIC time for futex or clock_nanosleep, or
 * NULL when the wait is forever.  With timeout_ms == 0 it is long past. */
const struct timespec *mproc__deadline_abs(const struct mproc__deadline *d);

/* True once the deadline has passed (always for 0, never for forever). */
bool mproc__deadline_passed(const struct mproc__deadline *d);

/* The error of a wait that ran out: -EAGAIN for 0, -ETIMEDOUT otherwise. */
static inline int
mproc__deadline_error(const struct mproc__deadline *d)
{
	return d->timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
}

/* CLOCK_MONOTONIC now. */
struct timespec mproc__now(void);

#endif /* MPROC_CLOCK_H */
