/*
 * sync-event.c - mproc_event: a flag whose setting wakes every waiter
 * in every process (see mproc_event_init(3)).
 *
 * One 32-bit futex word: bit 0 is the flag, the other bits count the
 * sets (a generation).  Every set of a clear event changes the
 * generation, so a waiter that slept on a clear word and finds any other
 * value knows a set happened, even if a clear followed at once: set
 * always wakes every waiter, as threading.Event does.  A clear of a
 * clear event changes nothing, so the word changes only by a set.
 *
 * The generation wraps after 2^31 sets.  A waiter could miss a set only
 * if exactly a multiple of 2^31 set/clear pairs ran while it slept.
 */
#include <errno.h>
#include <stdint.h>
#include <urcu/arch.h>
#include <urcu/uatomic.h>

#include <mproc/sync.h>

#include "futex.h"
#include "internal.h"
#include "sync-wait.h"

#define EVENT_SET 1u		/* bit 0 of ev_word */
#define EVENT_GENERATION 2u	/* what one set adds to ev_word */

/*
 * The event as it lives in shared memory.
 * ev_word: flag and generation, changed only by cmpxchg; the futex word.
 */
struct event_shared {
	int32_t ev_word;
};

_Static_assert(sizeof(struct event_shared) <= sizeof(mproc_event),
	       "struct event_shared must fit in mproc_event");

static struct event_shared *
event_of(mproc_event *e)
{
	return (struct event_shared *)(void *)e->opaque.bytes;
}

static bool
word_is_set(int32_t word)
{
	return ((uint32_t)word & EVENT_SET) != 0;
}

int
mproc_event_init(mproc_event *e)
{
	if (e == NULL)
		return fail(EINVAL);
	*e = (mproc_event){ { { 0 } } };
	return 0;
}

int
mproc_event_set(mproc_event *e)
{
	struct event_shared *ev;
	int32_t seen, was;

	if (e == NULL)
		return fail(EINVAL);
	ev = event_of(e);
	seen = uatomic_read(&ev->ev_word);
	while (!word_is_set(seen)) {
		/*
		 * [E1] Set the flag and start a generation.  The cmpxchg is a
		 * full barrier: our writes before it are visible to every
		 * waiter that sees the new word (release).  Pairs with [E2].
		 */
		uint32_t next = ((uint32_t)seen + EVENT_GENERATION) | EVENT_SET;

		was = uatomic_cmpxchg(&ev->ev_word, seen, (int32_t)next);
		if (was == seen) {
			/* No count of sleepers: a set is rare, one syscall. */
			mproc__futex_wake(&ev->ev_word, INT32_MAX);
			break;
		}
		seen = was;
	}
	return 0;
}

int
mproc_event_clear(mproc_event *e)
{
	struct event_shared *ev;
	int32_t seen;

	if (e == NULL)
		return fail(EINVAL);
	ev = event_of(e);
	seen = uatomic_read(&ev->ev_word);
	/* Keep the generation: a clear must not look like a set. */
	while (word_is_set(seen)) {
		int32_t was = uatomic_cmpxchg(&ev->ev_word, seen,
					      (int32_t)((uint32_t)seen & ~EVENT_SET));

		if (was == seen)
			break;
		seen = was;
	}
	return 0;
}

/*
 * [E2] The caller is about to rely on what was written before the set
 * it saw: order its later loads and stores after our read of the word
 * (acquire).  Pairs with [E1].
 */
static void
event_seen_set(void)
{
	cmm_smp_mb();
}

bool
mproc_event_is_set(const mproc_event *e)
{
	const struct event_shared *ev;
	bool set;

	if (e == NULL) {
		fail(EINVAL);
		return false;
	}
	ev = (const struct event_shared *)(const void *)e->opaque.bytes;
	set = word_is_set(uatomic_read(&ev->ev_word));
	if (set)
		event_seen_set();
	return set;
}

/* Sleeps until the word leaves seen (a set), the deadline or a signal. */
static int
event_sleep(struct event_shared *ev, int32_t seen, int timeout_ms)
{
	struct mproc__deadline d;
	int rc = mproc__deadline_start(&d, timeout_ms);

	while (rc == 0) {
		rc = sync_sleep(&ev->ev_word, seen, &d);
		/* A set that raced with a timeout or signal still counts. */
		if (uatomic_read(&ev->ev_word) != seen)
			return 0;
	}
	return rc == -ETIMEDOUT ? mproc__deadline_error(&d) : rc;
}

int
mproc_event_wait(mproc_event *e, int timeout_ms)
{
	struct event_shared *ev;
	int32_t seen;
	int rc;

	if (e == NULL || timeout_ms < MPROC_FOREVER)
		return fail(EINVAL);
	ev = event_of(e);
	seen = uatomic_read(&ev->ev_word);
	if (word_is_set(seen))
		rc = 0;
	else if (timeout_ms == 0)
		rc = -EAGAIN;
	else
		rc = event_sleep(ev, seen, timeout_ms);
	if (rc == 0)
		event_seen_set();
	return result(rc);
}
