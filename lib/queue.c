/*
 * queue.c - the bounded many-to-many message queue (see queue-ring.h for
 * the shared layout and the ring, queue-recover.c for crash safety).
 *
 * A put claims a slot (one CAS), copies the message into it with no lock
 * held, and publishes it (one xchg); a get mirrors it.  Blocking is a
 * futex per side: a caller that finds the ring full (empty) spins
 * briefly, then counts itself a waiter, re-checks, and sleeps on the
 * side's sequence word; whoever frees a slot (publishes a message) bumps
 * that word and wakes one sleeper, but only when the waiter count says
 * someone may sleep, so an uncontended put or get makes no system call.
 *
 * Planned mproc_queue_fd() (API.md) fits this protocol: the getter side
 * already says, through qh_get_waiters and the waiter records, who waits
 * and wants a wake-up; a record could name a per-process descriptor (a
 * FIFO in /dev/shm beside the segment) that the waker writes a byte to
 * instead of, or besides, the futex wake.  Nothing in the ring changes.
 *
 * Synchronization table (who may run concurrently with whom):
 *   put, get, reserve, acquire, commit, release, shutdown, size, stats:
 *	any number of threads and processes at once, no locks.
 *   close: not concurrently with another call on the same handle.
 */
#include "config.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/arch.h>
#include <urcu/uatomic.h>

#include <mproc/queue.h>

#include "clock.h"
#include "futex.h"
#include "internal.h"
#include "queue-recover.h"
#include "queue-ring.h"
#include "shm.h"

#define DEFAULT_CAPACITY 1024
#define DEFAULT_MSG_SIZE 8192
#define SPIN_LIMIT	 100	/* claim retries spinning, then */
#define YIELD_LIMIT	 16	/* retries yielding the CPU, then sleep */
#define ROOM_AHEAD	 16	/* a full ring: wait for this many free slots */
#define STUCK_POLL_MS	 20	/* sleep bound while a slot's owner may die */
#define IDLE_POLL_MS	 1000	/* sleep bound otherwise */

/* --- layout ----------------------------------------------------------- */

struct layout {
	uint64_t capacity, msg_size, stride, waiters_off, slots_off, total;
};

static uint64_t
round_up(uint64_t n, uint64_t align)
{
	return (n + align - 1) / align * align;
}

/* The segment for capacity x msg_size: 0, -EINVAL or -ENOMEM. */
static int
layout_of(uint64_t capacity, uint64_t msg_size, struct layout *l)
{
	if (capacity == 0 || msg_size == 0 || capacity > SIZE_MAX)
		return -EINVAL;
	if (msg_size > UINT32_MAX - 2 * SLOT_ALIGN)
		return -EINVAL;		/* s_len is 32 bits */
	l->capacity = capacity;
	l->msg_size = msg_size;
	l->stride = round_up(SLOT_DATA + msg_size, SLOT_ALIGN);
	l->waiters_off = round_up(sizeof(struct queue_header), QH_LINE);
	l->slots_off = round_up(l->waiters_off + QH_WAITERS * sizeof(uint32_t), QH_LINE);
	if (capacity > (PTRDIFF_MAX - l->slots_off) / l->stride)
		return -ENOMEM;
	l->total = l->slots_off + capacity * l->stride;
	return 0;
}

/* mproc__shm_init_fn: the header of a new, zero-filled segment (a
 * zero-filled ring is empty: every slot word is FREE(0)). */
static int
init_header(void *addr, size_t size, const void *arg)
{
	const struct layout *l = arg;
	struct queue_header *h = addr;

	(void)size;
	h->qh_magic = QH_MAGIC;
	h->qh_version = QH_VERSION;
	h->qh_nwaiters = QH_WAITERS;
	h->qh_capacity = l->capacity;
	h->qh_msg_size = l->msg_size;
	h->qh_stride = l->stride;
	h->qh_waiters_off = l->waiters_off;
	h->qh_slots_off = l->slots_off;
	h->qh_total_size = l->total;
	return 0;	/* linking the name (a system call) publishes all this */
}

/* The layout a segment claims, checked against its real size: -EPROTO
 * unless it is a queue of this version, consistent in every field.
 * Each field is read once, so a writer racing us cannot slip past. */
static int
check_header(const struct mproc_shm *shm, struct layout *l)
{
	const struct queue_header *h = shm->addr;

	if (shm->size < sizeof(*h) || h->qh_magic != QH_MAGIC ||
	    h->qh_version != QH_VERSION || h->qh_nwaiters != QH_WAITERS)
		return -EPROTO;
	if (layout_of(h->qh_capacity, h->qh_msg_size, l) < 0)
		return -EPROTO;
	if (h->qh_stride != l->stride || h->qh_waiters_off != l->waiters_off ||
	    h->qh_slots_off != l->slots_off || h->qh_total_size != l->total ||
	    shm->size != l->total)
		return -EPROTO;
	return 0;
}

static void
attach(struct mproc_queue *q, struct mproc_shm *shm, const struct layout *l)
{
	unsigned char *base = shm->addr;

	q->shm = shm;
	q->h = shm->addr;
	q->waiters = (uint32_t *)(base + l->waiters_off);
	q->slots = base + l->slots_off;
	q->capacity = l->capacity;
	q->msg_size = l->msg_size;
	q->stride = l->stride;
	q->seen_head = 0;
}

/* --- claiming a slot, blocking ---------------------------------------- */

/* A producer claimed a slot but may not use it: leave a tombstone that
 * consumers skip, and wake one so that it does. */
static void
abandon(struct mproc_queue *q, const struct ring_view *v)
{
	/* Full barrier; pairs with [G1] like a publish. */
	uatomic_xchg(&v->slot->s_word, slot_word(w_lap(v->word), S_FULL, W_TOMB));
	queue_wake(q, GETTER, 1);
}

/*
 * After shutdown, the ring is drained when the slot at head is FREE and
 * stays FREE after we have seen the flag.  [S2] pairs with [P1]: a
 * producer whose claim comes after our re-read sees the flag (its claim
 * is a full barrier before its flag read) and abandons its slot; one
 * whose claim comes before it shows as WRITING, and we wait for it.
 */
static bool
drained(const struct mproc_queue *q, const struct ring_view *v)
{
	if (!uatomic_read(&q->h->qh_shutdown))
		return false;
	cmm_smp_mb();	/* [S2] */
	return w_state(v->word) == S_FREE &&
	       uatomic_read(&v->slot->s_word) == v->word;
}

/* One non-blocking try for side: 0 (claimed), -EAGAIN, -EPIPE, -EPROTO. */
static int
claim(struct mproc_queue *q, enum queue_side side, uint32_t me,
      struct ring_view *v)
{
	int rc;

	if (side == GETTER) {
		rc = ring_claim_get(q, me, v);
		if (rc == -EAGAIN && drained(q, v))
			rc = -EPIPE;
		return rc;
	}
	if (uatomic_read(&q->h->qh_shutdown))
		return -EPIPE;
	rc = ring_claim_put(q, me, v);
	/* The claim's full barrier orders this read after it: see [S2]. */
	if (rc == 0 && uatomic_read(&q->h->qh_shutdown)) {
		abandon(q, v);
		return -EPIPE;
	}
	return rc;
}

/*
 * How long to sleep: until d, but at most STUCK_POLL_MS while the slot in
 * our way is held by a process that could die without waking us, and at
 * most IDLE_POLL_MS otherwise: a full (empty) slot can be claimed by a
 * peer that then dies, with no wake-up for us (queue-recover.c).
 */
static const struct mproc__deadline *
sleep_deadline(const struct mproc__deadline *d, const struct ring_view *v,
	       struct mproc__deadline *poll)
{
	(void)mproc__deadline_start(poll, ring_owner(v->word) != 0 ?
					  STUCK_POLL_MS : IDLE_POLL_MS);
	if (d->timeout_ms != MPROC_FOREVER &&
	    (d->at.tv_sec < poll->at.tv_sec ||
	     (d->at.tv_sec == poll->at.tv_sec && d->at.tv_nsec < poll->at.tv_nsec)))
		return d;
	return poll;
}

/*
 * Sleeps until woken on side, after counting itself a waiter and trying
 * once more.  0 when that try claimed, -EAGAIN to try again, or an error
 * (-ETIMEDOUT, -EINTR, -EPIPE, -EPROTO).
 */
static int
sleep_on(struct mproc_queue *q, enum queue_side side, uint32_t me,
	 struct ring_view *v, const struct mproc__deadline *d)
{
	int32_t *seq = side == PUTTER ? &q->h->qh_space_seq : &q->h->qh_data_seq;
	int32_t seen = uatomic_read(seq);
	int rec = mproc__queue_wait_begin(q, side);	/* [W1] */
	struct mproc__deadline poll;
	int rc = claim(q, side, me, v);

	if (rc == -EAGAIN) {
		rc = mproc__futex_wait(seq, seen, sleep_deadline(d, v, &poll));
		if (rc == 0 || (rc == -ETIMEDOUT && !mproc__deadline_passed(d)))
			rc = -EAGAIN;
	}
	mproc__queue_wait_end(q, side, rec);
	/* We may have taken a wake-up meant for a thread that can use it. */
	if (rc == -ETIMEDOUT || rc == -EINTR)
		queue_wake(q, side, 1);
	return rc;
}

/*
 * Waits a moment before the next try: first by spinning (the peer that
 * will free us is running on another CPU), then by yielding the CPU (it
 * may be waiting for ours: on a busy machine, producer and consumer
 * often share a CPU, and a sleep/wake per message would cost two
 * context switches; after a yield the peer runs on and moves a batch).
 */
static void
pause_briefly(unsigned spins)
{
	if (spins < SPIN_LIMIT)
		caa_cpu_relax();
	else
		sched_yield();
}

/*
 * The ring was full at v.  Rather than poll the slot its consumer is
 * working on (taking away the cache line the consumer is about to write),
 * spin on the slot ROOM_AHEAD positions further, until that one is
 * consumed too: the consumer runs undisturbed, and we then put a batch.
 */
static void
spin_for_room(const struct mproc_queue *q, const struct ring_view *v,
	      unsigned *spins)
{
	uint64_t ahead = q->capacity / 4 < ROOM_AHEAD ? q->capacity / 4 : ROOM_AHEAD;
	uint64_t pos = v->pos + ahead;
	const struct ring_slot *s = ring_slot_at(q, pos);

	do
		caa_cpu_relax();
	while (++*spins < SPIN_LIMIT &&
	       w_ahead(uatomic_read(&s->s_word), ring_lap(q, pos)) < 0);
}

/* Claims a slot for side within deadline d: 0 and *v, or -errno. */
static int
claim_wait(struct mproc_queue *q, enum queue_side side, struct ring_view *v,
	   const struct mproc__deadline *d)
{
	uint32_t me = mproc__queue_me();
	int rc;

	for (unsigned spins = 0;; spins++) {
		rc = claim(q, side, me, v);
		if (rc != -EAGAIN)
			return rc;
		if (d->timeout_ms != 0 && side == PUTTER && spins < SPIN_LIMIT) {
			spin_for_room(q, v, &spins);
			continue;
		}
		if (d->timeout_ms != 0 && spins < SPIN_LIMIT + YIELD_LIMIT) {
			pause_briefly(spins);
			continue;
		}
		if (mproc__queue_unstick(q, v))
			continue;
		if (mproc__deadline_passed(d))
			return mproc__deadline_error(d);
		rc = sleep_on(q, side, me, v, d);
		if (rc != -EAGAIN)
			return rc;
	}
}

/*
 * claim_wait() within timeout_ms.  The first try comes before the clock
 * is read: the fast path makes no clock_gettime() (a real cost on some
 * virtual machines) and no system call.
 */
static int
claim_within(struct mproc_queue *q, enum queue_side side, struct ring_view *v,
	     int timeout_ms)
{
	struct mproc__deadline d;
	int rc;

	if (timeout_ms < MPROC_FOREVER)
		return -EINVAL;
	rc = claim(q, side, mproc__queue_me(), v);
	if (rc != -EAGAIN)
		return rc;
	if ((rc = mproc__deadline_start(&d, timeout_ms)) < 0)
		return rc;
	return claim_wait(q, side, v, &d);
}

/* --- handing a slot on ------------------------------------------------- */

/*
 * Raises qh_high_water to the depth now, estimated as tail - head.
 * Reading qh_head costs a cache miss while consumers run, so it is read
 * only when the last head we saw would allow a new high.
 */
static void
note_depth(struct mproc_queue *q)
{
	uint64_t hw = uatomic_read(&q->h->qh_high_water);
	uint64_t tail = uatomic_read(&q->h->qh_tail);
	uint64_t head = uatomic_read(&q->seen_head);
	uint64_t depth;

	if (tail >= head && tail - head <= hw)
		return;
	head = uatomic_read(&q->h->qh_head);
	uatomic_set(&q->seen_head, head);
	depth = tail > head ? tail - head : 0;
	if (depth > q->capacity)
		depth = q->capacity;
	while (depth > hw) {
		uint64_t was = uatomic_cmpxchg(&q->h->qh_high_water, hw, depth);

		if (was == hw)
			break;
		hw = was;
	}
}

/* Makes our WRITING slot a message of len bytes. */
static void
publish(struct mproc_queue *q, struct ring_slot *s, uint32_t lap, size_t len)
{
	s->s_len = (uint32_t)len;
	/*
	 * [P2] The length and bytes before the word that publishes them.
	 * xchg is a full barrier: it also orders the publish before the
	 * waiter-count read in queue_wake().  Pairs with [G1] and [W1].
	 */
	uatomic_xchg(&s->s_word, slot_word(lap, S_FULL, 0));
	note_depth(q);
	queue_wake(q, GETTER, 1);
}

/* Frees our READING slot for the next lap. */
static void
release_slot(struct mproc_queue *q, struct ring_slot *s, uint32_t lap)
{
	/*
	 * [G2] Our reads of the slot before the word that frees it: a load
	 * before a store needs a full barrier (xchg), not a read barrier.
	 * It also orders the store before queue_wake().  Pairs with [P1].
	 */
	uatomic_xchg(&s->s_word, slot_word(lap + 1, S_FREE, 0));
	queue_wake(q, PUTTER, 1);
}

/* The length of the message in our READING slot: -EPROTO (and the slot
 * freed) if a scribbler made it longer than msg_size. */
static ssize_t
claimed_len(struct mproc_queue *q, const struct ring_view *v)
{
	uint32_t len = v->slot->s_len;

	if (len > q->msg_size) {
		release_slot(q, v->slot, w_lap(v->word));
		return -EPROTO;
	}
	return len;
}

/*
 * The slot whose data is p, if this process holds it in state st (a
 * reserve or acquire through this handle); else NULL.
 */
static struct ring_slot *
held_slot(const struct mproc_queue *q, const void *p, enum slot_state st)
{
	const unsigned char *c = p;
	size_t off;
	struct ring_slot *s;
	uint64_t w;

	if (c < q->slots + SLOT_DATA || c >= q->slots + q->capacity * q->stride)
		return NULL;
	off = (size_t)(c - q->slots) - SLOT_DATA;
	if (off % q->stride != 0)
		return NULL;
	s = (struct ring_slot *)(q->slots + off);
	w = uatomic_read(&s->s_word);
	if (w_state(w) != st || w_pid(w) != mproc__queue_me())
		return NULL;
	return s;
}

/* --- the public calls ------------------------------------------------- */

mproc_queue *
mproc_queue_create(const char *name, const struct mproc_queue_attr *attr)
{
	struct mproc_queue_attr a = { 0, 0, 0 };
	struct mproc_queue *q;
	struct mproc_shm *shm;
	struct layout l;
	int rc;

	if (attr != NULL)
		a = *attr;
	rc = layout_of(a.capacity ? a.capacity : DEFAULT_CAPACITY,
		       a.msg_size ? a.msg_size : DEFAULT_MSG_SIZE, &l);
	if (rc < 0)
		return fail_null(-rc);
	/* The handle first: once the name is linked, nothing may fail. */
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return fail_null(ENOMEM);
	rc = mproc__shm_create(name, l.total, a.mode, MPROC__SHM_RESERVE,
			       init_header, &l, &shm);
	if (rc < 0) {
		free(q);
		return fail_null(-rc);
	}
	attach(q, shm, &l);
	return q;
}

mproc_queue *
mproc_queue_open(const char *name)
{
	struct mproc_queue *q;
	struct mproc_shm *shm;
	struct layout l;
	int rc = mproc__shm_open(name, &shm);

	if (rc < 0)
		return fail_null(-rc);
	if ((rc = check_header(shm, &l)) < 0 ||
	    (q = calloc(1, sizeof(*q))) == NULL) {
		mproc__shm_close(shm);
		return fail_null(rc < 0 ? -rc : ENOMEM);
	}
	attach(q, shm, &l);
	return q;
}

int
mproc_queue_close(mproc_queue *q)
{
	if (q == NULL)
		return fail(EINVAL);
	mproc__shm_close(q->shm);
	free(q);
	return 0;
}

int
mproc_queue_unlink(const char *name)
{
	return result(mproc__shm_unlink(name));
}

int
mproc_queue_put(mproc_queue *q, const void *msg, size_t len, int timeout_ms)
{
	struct ring_view v;
	int rc;

	if (q == NULL || (msg == NULL && len > 0))
		return fail(EINVAL);
	if (len > q->msg_size)
		return fail(EMSGSIZE);
	if ((rc = claim_within(q, PUTTER, &v, timeout_ms)) < 0)
		return fail(-rc);
	if (len > 0)
		memcpy(ring_data(v.slot), msg, len);
	publish(q, v.slot, w_lap(v.word), len);
	return 0;
}

ssize_t
mproc_queue_get(mproc_queue *q, void *buf, size_t cap, int timeout_ms)
{
	struct ring_view v;
	ssize_t len;
	int rc;

	if (q == NULL || buf == NULL)
		return fail(EINVAL);
	if (cap < q->msg_size)
		return fail(EMSGSIZE);
	if ((rc = claim_within(q, GETTER, &v, timeout_ms)) < 0)
		return fail(-rc);
	if ((len = claimed_len(q, &v)) < 0)
		return fail((int)-len);
	memcpy(buf, ring_data(v.slot), (size_t)len);
	release_slot(q, v.slot, w_lap(v.word));
	return len;
}

void *
mproc_queue_reserve(mproc_queue *q, int timeout_ms)
{
	struct ring_view v;
	int rc;

	if (q == NULL)
		return fail_null(EINVAL);
	if ((rc = claim_within(q, PUTTER, &v, timeout_ms)) < 0)
		return fail_null(-rc);
	return ring_data(v.slot);
}

int
mproc_queue_commit(mproc_queue *q, void *slot, size_t len)
{
	struct ring_slot *s;

	if (q == NULL || (s = held_slot(q, slot, S_WRITING)) == NULL)
		return fail(EINVAL);
	if (len > q->msg_size)
		return fail(EMSGSIZE);
	publish(q, s, w_lap(uatomic_read(&s->s_word)), len);
	return 0;
}

const void *
mproc_queue_acquire(mproc_queue *q, size_t *len, int timeout_ms)
{
	struct ring_view v;
	ssize_t n;
	int rc;

	if (q == NULL || len == NULL)
		return fail_null(EINVAL);
	if ((rc = claim_within(q, GETTER, &v, timeout_ms)) < 0)
		return fail_null(-rc);
	if ((n = claimed_len(q, &v)) < 0)
		return fail_null((int)-n);
	*len = (size_t)n;
	return ring_data(v.slot);
}

int
mproc_queue_release(mproc_queue *q, const void *msg)
{
	struct ring_slot *s;

	if (q == NULL || (s = held_slot(q, msg, S_READING)) == NULL)
		return fail(EINVAL);
	release_slot(q, s, w_lap(uatomic_read(&s->s_word)));
	return 0;
}

int
mproc_queue_shutdown(mproc_queue *q)
{
	if (q == NULL)
		return fail(EINVAL);
	/* [S1] The flag before the seq bumps: a sleeper that read a seq
	 * older than our bump sees the flag when it re-checks (after its
	 * [W1] barrier); pairs with sleep_on().  xchg is a full barrier. */
	uatomic_xchg(&q->h->qh_shutdown, 1);
	uatomic_add(&q->h->qh_space_seq, 1);
	uatomic_add(&q->h->qh_data_seq, 1);
	(void)mproc__futex_wake(&q->h->qh_space_seq, INT32_MAX);
	(void)mproc__futex_wake(&q->h->qh_data_seq, INT32_MAX);
	return 0;
}

/* What the slots from head to tail hold now. */
struct ring_census {
	uint64_t head, tail;
	uint64_t messages;	/* FULL, not tombstones */
	uint64_t tombs;		/* FULL tombstones, not yet skipped */
	uint64_t writing;	/* claimed by producers, not yet published */
};

/*
 * Counts the slots from head to tail (at most capacity of them).  Exact
 * when the queue is quiet, a snapshot while others work.
 */
static void
take_census(const struct mproc_queue *q, struct ring_census *c)
{
	uint64_t n;

	memset(c, 0, sizeof(*c));
	c->head = uatomic_read(&q->h->qh_head);
	cmm_smp_rmb();	/* head before tail, so tail >= head unless scribbled */
	c->tail = uatomic_read(&q->h->qh_tail);
	n = c->tail >= c->head ? c->tail - c->head : 0;
	if (n > q->capacity)
		n = q->capacity;
	for (uint64_t pos = c->head; pos < c->head + n; pos++) {
		uint64_t w = uatomic_read(&ring_slot_at(q, pos)->s_word);

		if (w_ahead(w, ring_lap(q, pos)) != 0)
			continue;
		if (w_state(w) == S_WRITING)
			c->writing++;
		else if (w_state(w) == S_FULL && w_pid(w) == W_TOMB)
			c->tombs++;
		else if (w_state(w) == S_FULL)
			c->messages++;
	}
}

static size_t
count_messages(const struct mproc_queue *q)
{
	struct ring_census c;

	take_census(q, &c);
	return (size_t)c.messages;
}

/* a - b, or 0 where a snapshot taken while others work makes it negative. */
static uint64_t
minus(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

size_t
mproc_queue_size(const mproc_queue *q)
{
	if (q == NULL) {
		errno = EINVAL;
		return 0;
	}
	return count_messages(q);
}

bool
mproc_queue_empty(const mproc_queue *q)
{
	if (q == NULL) {
		errno = EINVAL;
		return false;
	}
	return count_messages(q) == 0;
}

bool
mproc_queue_full(const mproc_queue *q)
{
	if (q == NULL) {
		errno = EINVAL;
		return false;
	}
	return count_messages(q) == q->capacity;
}

size_t
mproc_queue_capacity(const mproc_queue *q)
{
	if (q == NULL) {
		errno = EINVAL;
		return 0;
	}
	return q->capacity;
}

size_t
mproc_queue_msg_size(const mproc_queue *q)
{
	if (q == NULL) {
		errno = EINVAL;
		return 0;
	}
	return q->msg_size;
}

int
mproc_queue_stats(const mproc_queue *q, struct mproc_queue_stats *st)
{
	struct ring_census c;
	uint64_t hw, tombs_freed;

	if (q == NULL || st == NULL)
		return fail(EINVAL);
	tombs_freed = uatomic_read(&q->h->qh_tombs_freed);
	take_census(q, &c);
	/*
	 * Every position below tail was claimed by a put, which published
	 * a message, is still writing it, or left a tombstone (in the ring,
	 * or freed by now); every position below head was taken by a get or
	 * was a tombstone it freed.
	 */
	st->puts = minus(c.tail, tombs_freed + c.tombs + c.writing);
	st->gets = minus(c.head, tombs_freed);
	st->depth = (size_t)c.messages;
	hw = uatomic_read(&q->h->qh_high_water);
	st->high_water = hw > q->capacity ? q->capacity
					  : hw < st->depth ? st->depth : hw;
	mproc__queue_count_waiters(q, &st->putters_waiting, &st->getters_waiting);
	st->shut_down = uatomic_read(&q->h->qh_shutdown) != 0;
	return 0;
}
