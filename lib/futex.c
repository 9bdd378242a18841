/* futex.c - process-shared futex wait and wake (see futex.h). */
#include "config.h"

#include <errno.h>
#include <linux/futex.h>
#include <urcu/futex.h>

#include "futex.h"

int
mproc__futex_wait(int32_t *word, int32_t expected,
		  const struct mproc__deadline *d)
{
	if (d->timeout_ms == 0)
		return -ETIMEDOUT;
	/*
	 * FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so a
	 * retry after EINTR or a spurious wake never stretches the wait.
	 * A forever wait passes the farthest deadline rather than none: the
	 * kernel silently restarts an untimed wait after a handler installed
	 * with SA_RESTART, but fails a timed one with EINTR, as every
	 * blocking call of the API must.
	 */
	static const struct timespec far_future = { (time_t)1 << 40, 0 };
	const struct timespec *at = mproc__deadline_abs(d);

	if (futex(word, FUTEX_WAIT_BITSET, expected, at ? at : &far_future,
		  NULL, FUTEX_BITSET_MATCH_ANY) == 0)
		return 0;
	/*
	 * EAGAIN: *word had changed already, so the caller re-checks.
	 * ETIMEDOUT and EINTR go back to the caller, as do EFAULT, EINVAL
	 * and ENOSYS, which mean a bug or a kernel without futexes.
	 */
	return errno == EAGAIN ? 0 : -errno;
}

int
mproc__futex_wake(int32_t *word, int32_t n)
{
	int rc = futex(word, FUTEX_WAKE, n, NULL, NULL, 0);

	return rc < 0 ? -errno : rc;
}
