/*
 * sync-lock.c - mproc_lock: a robust, process-shared lock
 * (see mproc_lock_init(3)).
 *
 * Who does what:
 *
 *  - Acquiring is glibc's.  Robustness needs the kernel's robust futex
 *    list, and that list belongs to glibc, one per thread
 *    (set_robust_list(2)).  Only glibc's own calls may link a lock into
 *    it, so every acquisition goes through pthread_mutex_trylock() on a
 *    PTHREAD_PROCESS_SHARED, PTHREAD_MUTEX_ROBUST, PTHREAD_MUTEX_ERRORCHECK
 *    mutex.  That call records the holder, so the kernel can mark the
 *    lock FUTEX_OWNER_DIED if the holder dies.
 *
 *  - Sleeping is ours.  glibc's pthread_mutex_lock() and _clocklock()
 *    restart their futex wait after a signal handler, so they can never
 *    fail with EINTR, and API.md requires EINTR.  We sleep on the
 *    mutex's own word, following the kernel's robust futex protocol
 *    (<linux/futex.h>, Documentation/locking/robust-futex-ABI.rst).
 *    The word holds the holder's TID, FUTEX_WAITERS when someone may
 *    be sleeping on it, and FUTEX_OWNER_DIED once the kernel has found
 *    its holder dead.  glibc's unlock and the kernel's death handling
 *    both wake one sleeper when FUTEX_WAITERS is set.  glibc's own
 *    waiters sleep in exactly this way.  Ours also look again every
 *    SYNC_RECHECK_MS, so a waiter killed right after that one wake
 *    never strands the others (sync-wait.h).
 *
 *  - Recovery state is ours.  On EOWNERDEAD we make the glibc mutex
 *    consistent at once and keep "inconsistent" in lk_state.  glibc's
 *    own ENOTRECOVERABLE state is never entered.  glibc 2.36's
 *    trylock returns ENOTRECOVERABLE but leaves the mutex locked by the
 *    caller, which would wedge every other process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stddef.h>
#include <unistd.h>
#include <urcu/uatomic.h>

#include <mproc/sync.h>

#include "futex.h"
#include "internal.h"
#include "sync-wait.h"

/* lk_state: what the holder must know about the data the lock protects. */
enum lock_state {
	LOCK_CONSISTENT = 0,	/* normal */
	LOCK_INCONSISTENT,	/* a holder died; not yet mproc_lock_consistent() */
	LOCK_UNRECOVERABLE,	/* released while inconsistent: unusable */
};

/*
 * The lock as it lives in shared memory.  Never holds a pointer.
 * lk_mutex: glibc's robust mutex.  Its word (__data.__lock) is also
 *           our futex word, changed only by atomic operations.
 * lk_state: read and written only by the holder, so the mutex orders it.
 *           It is set to LOCK_UNRECOVERABLE before the unlock that
 *           publishes it.
 */
struct lock_shared {
	pthread_mutex_t lk_mutex;
	int32_t lk_state;
};

_Static_assert(sizeof(struct lock_shared) <= sizeof(mproc_lock),
	       "struct lock_shared must fit in mproc_lock");
_Static_assert(_Alignof(struct lock_shared) <= _Alignof(mproc_lock),
	       "mproc_lock must be aligned for struct lock_shared");
_Static_assert(offsetof(pthread_mutex_t, __data.__lock) == 0 &&
	       sizeof(((pthread_mutex_t *)0)->__data.__lock) == sizeof(int32_t),
	       "the robust futex word is the mutex's first 32-bit int");

static struct lock_shared *
lock_of(mproc_lock *l)
{
	return (struct lock_shared *)(void *)l->opaque.bytes;
}

static int32_t *
lock_word(struct lock_shared *lk)
{
	return (int32_t *)&lk->lk_mutex.__data.__lock;
}

int
mproc_lock_init(mproc_lock *l)
{
	pthread_mutexattr_t attr;
	int rc;

	if (l == NULL)
		return fail(EINVAL);
	*l = (mproc_lock){ { { 0 } } };
	rc = pthread_mutexattr_init(&attr);
	if (rc != 0)
		return fail(rc);
	rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	if (rc == 0)
		rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	if (rc == 0)
		rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	if (rc == 0)
		rc = pthread_mutex_init(&lock_of(l)->lk_mutex, &attr);
	pthread_mutexattr_destroy(&attr);
	return rc == 0 ? 0 : fail(rc);
}

/*
 * Marks the word so that the holder's release wakes a sleeper, then
 * sleeps while the word stays as marked.  Returns 0 when the caller
 * should try again (woken, or the word changed), else -ETIMEDOUT or
 * -EINTR from sync_sleep().
 */
static int
lock_sleep(int32_t *word, const struct mproc__deadline *d)
{
	int32_t seen = uatomic_read(word);

	if (seen == 0 || (seen & FUTEX_OWNER_DIED))
		return 0;	/* free, or its holder died: try again */
	if (!(seen & FUTEX_WAITERS)) {
		/*
		 * [L1] Announce a sleeper.  The unlock's exchange of the word
		 * (glibc, a full barrier) either sees the flag and wakes us,
		 * or happened first and then the cmpxchg fails.  Pairs with
		 * the wake in glibc's unlock and the kernel's death handler.
		 */
		if (uatomic_cmpxchg(word, seen, seen | FUTEX_WAITERS) != seen)
			return 0;
		seen |= FUTEX_WAITERS;
	}
	return sync_sleep(word, seen, d);
}

/*
 * A thread that slept may have taken the lock with a plain 0 -> TID
 * (trylock does not know about sleepers), which clears FUTEX_WAITERS
 * while others still sleep.  Set it again, as glibc's own lock does,
 * so our release wakes them.  Only we (the holder) and sleepers, who
 * only add the flag, change the word now.
 */
static void
lock_keep_waiters_flag(int32_t *word)
{
	int32_t seen = uatomic_read(word);

	while (!(seen & FUTEX_WAITERS)) {
		int32_t was = uatomic_cmpxchg(word, seen, seen | FUTEX_WAITERS);

		if (was == seen)
			break;
		seen = was;
	}
}

/* pthread_mutex_trylock() as 0 or -errno: -EBUSY, -EOWNERDEAD, -EDEADLK. */
static int
lock_try(struct lock_shared *lk)
{
	return -pthread_mutex_trylock(&lk->lk_mutex);
}

/*
 * Sleeps and retries until lock_try() says anything but -EBUSY, and
 * returns that, or -ETIMEDOUT/-EAGAIN/-EINTR from the wait.
 */
static int
lock_wait(struct lock_shared *lk, int timeout_ms)
{
	struct mproc__deadline d;
	int32_t *word = lock_word(lk);
	int rc = mproc__deadline_start(&d, timeout_ms);

	if (rc < 0)
		return rc;
	do {
		rc = lock_sleep(word, &d);
		if (rc == -ETIMEDOUT)
			return mproc__deadline_error(&d);
		if (rc < 0)
			return rc;
		rc = lock_try(lk);
	} while (rc == -EBUSY);
	if (rc == 0 || rc == -EOWNERDEAD)
		lock_keep_waiters_flag(word);
	return rc;
}

/*
 * Having the glibc mutex (rc is 0 or -EOWNERDEAD), applies our
 * recovery state.  Returns 0, -EOWNERDEAD (held) or -ENOTRECOVERABLE
 * (not held).  An unusable lock stays unusable even if a thread died
 * in the moment it held the mutex to find that out.
 */
static int
lock_taken(struct lock_shared *lk, int rc)
{
	/*
	 * Keep glibc's mutex usable: the inconsistency is ours to track,
	 * and lk_state keeps it even if we die too before consistent().
	 */
	if (rc == -EOWNERDEAD)
		pthread_mutex_consistent(&lk->lk_mutex);
	if (lk->lk_state == LOCK_UNRECOVERABLE) {
		pthread_mutex_unlock(&lk->lk_mutex);
		return -ENOTRECOVERABLE;
	}
	if (rc == -EOWNERDEAD)
		lk->lk_state = LOCK_INCONSISTENT;
	return rc;
}

int
mproc_lock_acquire(mproc_lock *l, int timeout_ms)
{
	struct lock_shared *lk;
	int rc;

	if (l == NULL || timeout_ms < MPROC_FOREVER)
		return fail(EINVAL);
	lk = lock_of(l);
	rc = lock_try(lk);
	if (rc == -EBUSY && timeout_ms != 0)
		rc = lock_wait(lk, timeout_ms);
	if (rc == 0 || rc == -EOWNERDEAD)
		return result(lock_taken(lk, rc));
	/* Held by another thread, or by this one: EAGAIN for timeout 0. */
	if (rc == -EBUSY || (rc == -EDEADLK && timeout_ms == 0))
		return fail(EAGAIN);
	return fail(-rc);
}

/* True when the calling thread holds lk (its TID is in the word). */
static bool
lock_held_by_me(struct lock_shared *lk)
{
	return (uatomic_read(lock_word(lk)) & FUTEX_TID_MASK) == gettid();
}

/*
 * Releasing an inconsistent lock makes it unusable, as with a pthread
 * mutex: every sleeper must learn it.  Each one that wakes takes the
 * mutex, sees LOCK_UNRECOVERABLE and lets go (lock_taken()).
 */
static int
lock_release_unrecoverable(struct lock_shared *lk)
{
	int rc;

	if (!lock_held_by_me(lk))
		return -EPERM;
	lk->lk_state = LOCK_UNRECOVERABLE;
	rc = pthread_mutex_unlock(&lk->lk_mutex);
	if (rc != 0)
		return -rc;
	mproc__futex_wake(lock_word(lk), INT32_MAX);
	return 0;
}

int
mproc_lock_release(mproc_lock *l)
{
	struct lock_shared *lk;
	int rc;

	if (l == NULL)
		return fail(EINVAL);
	lk = lock_of(l);
	/*
	 * lk_state is the holder's; a non-holder may read it here only
	 * because it then fails with EPERM either way: in unlock, or in
	 * lock_release_unrecoverable().  (gettid() is a system call, so
	 * the common path leaves the holder check to glibc's unlock.)
	 */
	if (uatomic_read(&lk->lk_state) != LOCK_CONSISTENT)
		return result(lock_release_unrecoverable(lk));
	rc = pthread_mutex_unlock(&lk->lk_mutex);
	return rc == 0 ? 0 : fail(rc);
}

int
mproc_lock_consistent(mproc_lock *l)
{
	struct lock_shared *lk;

	if (l == NULL)
		return fail(EINVAL);
	lk = lock_of(l);
	if (!lock_held_by_me(lk))
		return fail(EPERM);
	if (lk->lk_state != LOCK_INCONSISTENT)
		return fail(EINVAL);
	lk->lk_state = LOCK_CONSISTENT;
	return 0;
}
