/*
 * sync-sem.c - mproc_sem: a counting semaphore across processes
 * (see mproc_sem_init(3)).
 *
 * The count is a 32-bit futex word.  acquire takes one unit with
 * cmpxchg while the count is positive, else sleeps on the word.
 * release adds one with cmpxchg and wakes one sleeper if any may be
 * sleeping.  A count of sleepers spares release the wake system call
 * when nobody waits.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <urcu/uatomic.h>

#include <mproc/sync.h>

#include "futex.h"
#include "internal.h"
#include "sync-wait.h"

/* The most units a semaphore can hold; one more release is EOVERFLOW. */
#define SEM_MAX INT32_MAX

/*
 * The semaphore as it lives in shared memory.
 * sm_count:   units available, 0..SEM_MAX; changed only by cmpxchg.
 *             The futex word that sleepers wait on.
 * sm_waiters: threads in sem_sleep(), asleep or about to be.  A sleeper
 *             killed while waiting leaves it one too high, which only
 *             costs later releases a wake system call that wakes nobody.
 */
struct sem_shared {
	int32_t sm_count;
	int32_t sm_waiters;
};

_Static_assert(sizeof(struct sem_shared) <= sizeof(mproc_sem),
	       "struct sem_shared must fit in mproc_sem");

static struct sem_shared *
sem_of(mproc_sem *s)
{
	return (struct sem_shared *)(void *)s->opaque.bytes;
}

int
mproc_sem_init(mproc_sem *s, unsigned value)
{
	if (s == NULL || value > SEM_MAX)
		return fail(EINVAL);
	*s = (mproc_sem){ { { 0 } } };
	sem_of(s)->sm_count = (int32_t)value;
	return 0;
}

/*
 * Takes one unit if there is one.  [S1] The successful cmpxchg is a
 * full barrier: what the releaser wrote before [S3] is visible to us
 * after it (acquire semantics).  Pairs with [S3].
 */
static bool
sem_try_take(struct sem_shared *sm)
{
	int32_t seen = uatomic_read(&sm->sm_count);

	while (seen > 0) {
		int32_t was = uatomic_cmpxchg(&sm->sm_count, seen, seen - 1);

		if (was == seen)
			return true;
		seen = was;
	}
	return false;
}

/* Sleeps until a unit is taken, the deadline passes or a signal. */
static int
sem_sleep(struct sem_shared *sm, int timeout_ms)
{
	struct mproc__deadline d;
	int rc = mproc__deadline_start(&d, timeout_ms);

	if (rc < 0)
		return rc;
	/*
	 * [S2] Count ourselves before the last look at sm_count (a full
	 * barrier), so a release either sees us in sm_waiters and wakes us,
	 * or came before and we see its unit.  Pairs with [S4].
	 */
	uatomic_add_return(&sm->sm_waiters, 1);
	while (!sem_try_take(sm)) {
		/* The kernel re-checks sm_count == 0 under its own lock. */
		rc = sync_sleep(&sm->sm_count, 0, &d);
		if (rc < 0)
			break;
	}
	uatomic_add_return(&sm->sm_waiters, -1);
	if (rc == -ETIMEDOUT)
		return mproc__deadline_error(&d);
	return rc;
}

int
mproc_sem_acquire(mproc_sem *s, int timeout_ms)
{
	struct sem_shared *sm;

	if (s == NULL || timeout_ms < MPROC_FOREVER)
		return fail(EINVAL);
	sm = sem_of(s);
	if (sem_try_take(sm))
		return 0;
	if (timeout_ms == 0)
		return fail(EAGAIN);
	return result(sem_sleep(sm, timeout_ms));
}

int
mproc_sem_release(mproc_sem *s)
{
	struct sem_shared *sm;
	int32_t seen, was;

	if (s == NULL)
		return fail(EINVAL);
	sm = sem_of(s);
	seen = uatomic_read(&sm->sm_count);
	for (;;) {
		if (seen >= SEM_MAX)
			return fail(EOVERFLOW);
		/*
		 * [S3] Publish the unit.  The cmpxchg is a full barrier: our
		 * writes before it are visible to whoever takes the unit
		 * (release semantics; pairs with [S1]).  [S4] It also orders
		 * the unit before the sm_waiters read below; pairs with [S2].
		 */
		was = uatomic_cmpxchg(&sm->sm_count, seen, seen + 1);
		if (was == seen)
			break;
		seen = was;
	}
	if (uatomic_read(&sm->sm_waiters) > 0)
		mproc__futex_wake(&sm->sm_count, 1);
	return 0;
}

int
mproc_sem_value(const mproc_sem *s)
{
	if (s == NULL)
		return fail(EINVAL);
	/* A snapshot; no ordering promised (see mproc_sem_value(3)). */
	return uatomic_read(&((const struct sem_shared *)(const void *)
			      s->opaque.bytes)->sm_count);
}
