/*
 * futex.h - waiting on a 32-bit word in shared memory, across processes.
 *
 * These use the non-private futex operations through liburcu's futex()
 * (a bare syscall), never futex_noasync()/futex_async(): their ENOSYS
 * fallback is a process-local condition variable that cannot wake
 * another process.  Linux always has futexes; ENOSYS is reported as
 * -ENOSYS rather than papered over.
 *
 * The usual pattern, which tolerates spurious and lost-race wake-ups:
 *
 *	waiter:                               waker:
 *	  v = uatomic_read(word)                change the state
 *	  while (!ready(state)) {               cmm_smp_mb()   (state before word)
 *	      rc = mproc__futex_wait(word, v)   uatomic_inc(word)
 *	      ...                               mproc__futex_wake(word, n)
 *	      v = uatomic_read(word)
 *	  }
 *
 * The kernel compares *word with the expected value under its own lock,
 * so a wake between the waiter's check and its sleep is never lost.
 */
#ifndef MPROC_FUTEX_H
#define MPROC_FUTEX_H

#include <stdint.h>

#include "clock.h"

/*
 * Sleeps while *word == expected, until woken or the deadline passes.
 * Returns 0 when woken or when *word had already changed (the caller
 * re-checks its condition either way), -ETIMEDOUT once the deadline has
 * passed (at once for timeout 0), -EINTR when a signal handler ran
 * (even one installed with SA_RESTART).
 */
int mproc__futex_wait(int32_t *word, int32_t expected,
		      const struct mproc__deadline *d);

/* Wakes up to n waiters of word (INT32_MAX: all).  Returns how many. */
int mproc__futex_wake(int32_t *word, int32_t n);

#endif /* MPROC_FUTEX_H */
