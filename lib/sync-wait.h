/*
 * sync-wait.h - the sleep shared by mproc_lock, mproc_sem and
 * mproc_event: a futex wait that looks again at least every
 * SYNC_RECHECK_MS.
 *
 * Why look again: a lock release or a semaphore release wakes one
 * sleeper.  If that sleeper is killed before it takes what it was woken
 * for, the wake is lost, and the other sleepers would sleep on while
 * the lock is free or a unit is there, forever for MPROC_FOREVER.
 * Nothing in the kernel covers waiters (its robust list covers lock
 * holders only), so every sleeper re-checks on its own: a killed waiter
 * costs the others at most SYNC_RECHECK_MS, never a hang.
 *
 * A side effect that API.md wants anyway: every sleep has a timeout, so
 * the kernel never restarts it after a signal handler, even one
 * installed with SA_RESTART; the wait fails with -EINTR.
 */
#ifndef MPROC_SYNC_WAIT_H
#define MPROC_SYNC_WAIT_H

#include <errno.h>
#include <stdint.h>

#include "clock.h"
#include "futex.h"

#define SYNC_RECHECK_MS 250

/*
 * Sleeps while *word == expected, until woken, the deadline d, or
 * SYNC_RECHECK_MS, whichever is first.  Returns 0 when the caller should
 * look again (woken, word changed, or a re-check is due), -ETIMEDOUT
 * once d has passed, -EINTR when a signal handler ran.
 */
static inline int
sync_sleep(int32_t *word, int32_t expected, const struct mproc__deadline *d)
{
	struct mproc__deadline recheck;
	int left = mproc__deadline_ms_left(d);	/* -1: forever */
	int rc;

	if (left >= 0 && left <= SYNC_RECHECK_MS)
		return mproc__futex_wait(word, expected, d);
	mproc__deadline_start(&recheck, SYNC_RECHECK_MS);
	rc = mproc__futex_wait(word, expected, &recheck);
	return rc == -ETIMEDOUT ? 0 : rc;
}

#endif /* MPROC_SYNC_WAIT_H */
