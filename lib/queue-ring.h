/*
 * queue-ring.h - the queue's shared segment and its lock-free ring.
 *
 * The segment (offsets only, never pointers: each process maps it at its
 * own address):
 *
 *	struct queue_header	magic, layout, shutdown flag, then one cache
 *				line each for producers, consumers, waiting
 *	waiter records		QH_WAITERS words: who sleeps (for stats)
 *	slots			capacity x stride bytes: struct ring_slot,
 *				then the message on the next cache line
 *
 * The ring (after Vyukov's bounded MPMC queue) has exactly `capacity`
 * slots.  Positions are free-running 64-bit counters, never wrapping in
 * practice: qh_tail is the next position a producer claims, qh_head the
 * next a consumer claims.  Position pos lives in slot pos % capacity, in
 * lap pos / capacity.  Each slot has one 64-bit word, changed only by
 * compare-and-swap or by its owner, that says whose turn it is:
 *
 *	FREE(L)			free for the producer of lap L
 *	WRITING(L, pid)		claimed by producer process pid
 *	FULL(L)			holds the message of lap L
 *	FULL(L, TOMB)		a message that was lost: consumers skip it
 *	READING(L, pid)		claimed by consumer process pid
 *	then FREE(L + 1)	for the next lap
 *
 * A slot is claimed by a CAS on its word first; only then is qh_tail
 * (qh_head) moved on, by the claimer or by anyone who finds the slot at
 * qh_tail (qh_head) already claimed ("helping").  So a process killed
 * between the two steps never stalls the ring, and the owner of every
 * claimed slot is written in the same atomic step that claims it.  That
 * is what makes recovery possible (queue-recover.c): a slot stuck in
 * WRITING or READING whose owner process is dead is taken back by CAS.
 *
 * Lap numbers are 32 bits and compared by (int32_t) difference; the word
 * packs lap << 32 | state << 30 | pid (23 bits: Linux pids are < 2^22).
 * The all-zero word is FREE(0), so a zero-filled segment is an empty ring.
 */
#ifndef MPROC_QUEUE_RING_H
#define MPROC_QUEUE_RING_H

#include <stdint.h>
#include <string.h>
#include <urcu/arch.h>
#include <urcu/uatomic.h>

#include "futex.h"
#include "shm.h"

#define QH_MAGIC	0x6d70726f63517565ULL	/* "mprocQue" */
#define QH_VERSION	2
#define QH_WAITERS	256	/* waiter records: blocked threads counted in stats */
#define QH_LINE		CAA_CACHE_LINE_SIZE
#define SLOT_ALIGN	64	/* a slot never shares a line with a neighbour's word */
#define SLOT_DATA	SLOT_ALIGN	/* from a slot to its data: struct ring_slot */

enum slot_state { S_FREE, S_WRITING, S_FULL, S_READING };

#define W_PID_MASK	0x7fffffU
#define W_TOMB		W_PID_MASK	/* "pid" of a lost message: never a real pid */

static inline uint64_t
slot_word(uint32_t lap, enum slot_state st, uint32_t pid)
{
	return (uint64_t)lap << 32 | (uint64_t)st << 30 | (pid & W_PID_MASK);
}

static inline uint32_t w_lap(uint64_t w) { return (uint32_t)(w >> 32); }
static inline enum slot_state w_state(uint64_t w) { return (enum slot_state)((w >> 30) & 3); }
static inline uint32_t w_pid(uint64_t w) { return (uint32_t)w & W_PID_MASK; }

/* Laps of w ahead of lap (negative: behind). */
static inline int32_t
w_ahead(uint64_t w, uint32_t lap)
{
	return (int32_t)(w_lap(w) - lap);
}

/*
 * The header.  Who writes what:
 *   qh_magic .. qh_total_size: the creator, before the segment's name is
 *	linked (shm.h), then constant.  Openers check them, then copy what
 *	they need into their handle and never read them again: a scribbled
 *	header cannot move our reads or writes out of the mapping.
 *   qh_shutdown: 0, then 1 by mproc_queue_shutdown(), never back.
 *   qh_tail: producers (claimers and helpers), by CAS.
 *   qh_head: consumers, by CAS.
 *   qh_tombs_freed: consumers, by add, when they skip a tombstone.
 *	The puts and gets of stats are derived from it and the counters,
 *	so that a put or get adds to no shared counter of its own.
 *   qh_space_seq, qh_data_seq: futex words, bumped by whoever frees a
 *	slot / publishes a message while someone sleeps on them.
 *   qh_put_waiters, qh_get_waiters: how many threads may sleep on each
 *	(an upper bound: see queue-recover.c), read by the wakers.
 *   qh_high_water: raised by producers with CAS.  On the producers'
 *	line: consumers read the sleepers' line on every get, and a raise
 *	there would cost each of them a cache miss.
 */
struct queue_header {
	uint64_t qh_magic;
	uint32_t qh_version;
	uint32_t qh_nwaiters;
	uint64_t qh_capacity;		/* as asked: also the number of slots */
	uint64_t qh_msg_size;		/* as asked */
	uint64_t qh_stride;		/* bytes per slot */
	uint64_t qh_waiters_off;	/* offset of the waiter records */
	uint64_t qh_slots_off;		/* offset of slot 0 */
	uint64_t qh_total_size;		/* of the segment */
	int32_t qh_shutdown;

	/* Producers' line: written on every put. */
	uint64_t qh_tail __attribute__((aligned(QH_LINE)));
	uint64_t qh_high_water;

	/* Consumers' line: written on every get. */
	uint64_t qh_head __attribute__((aligned(QH_LINE)));

	/* Sleepers' line: written only when someone sleeps or is woken. */
	int32_t qh_space_seq __attribute__((aligned(QH_LINE)));
	int32_t qh_data_seq;
	int32_t qh_put_waiters;
	int32_t qh_get_waiters;
	uint64_t qh_tombs_freed;
} __attribute__((aligned(QH_LINE)));

/*
 * The head of a slot.  Its msg_size bytes of data start on the next
 * cache line (SLOT_DATA), never beside the word: a consumer waiting for
 * a message reads the word again and again, and were the data on the
 * word's line, every read would take that line from the producer half
 * way through its copy (bench_queue T64, on the slower vCPU placement:
 * 1.5x for 64 B messages, 1.3x for 16 B, for 64 more bytes a slot).
 */
struct ring_slot {
	uint64_t s_word;	/* see above; CAS, or a store by its owner */
	uint32_t s_len;		/* written by the WRITING owner only */
	uint32_t s_pad;
};
_Static_assert(sizeof(struct ring_slot) <= SLOT_DATA, "slot head fits before the data");

/*
 * This process's handle.  Everything here is private to the process, and
 * the sizes are copies checked once on open: indices and lengths are
 * bounded by these, never by what the segment says later.
 */
struct mproc_queue {
	struct mproc_shm *shm;
	struct queue_header *h;
	uint32_t *waiters;		/* QH_WAITERS records */
	unsigned char *slots;		/* slot 0 */
	uint64_t capacity;		/* == number of slots */
	size_t msg_size;
	size_t stride;
	uint64_t seen_head;		/* a recent qh_head (high-water estimate) */
};

/* Which side of the queue a caller waits on. */
enum queue_side { PUTTER, GETTER };

/*
 * Wakes one thread sleeping on side's futex word, if any may be.  The
 * caller has just changed a slot with a full barrier (a cmpxchg or
 * xchg): that orders the change before the read of the waiter count,
 * and pairs with the waiter's [W1], so either the waiter sees the change
 * when it re-checks or we see it counted and wake it.  The seq bump
 * makes its futex_wait() return if it has not slept yet.
 */
static inline void
queue_wake(struct mproc_queue *q, enum queue_side side, int32_t n)
{
	int32_t *waiters = side == PUTTER ? &q->h->qh_put_waiters : &q->h->qh_get_waiters;
	int32_t *seq = side == PUTTER ? &q->h->qh_space_seq : &q->h->qh_data_seq;

	if (uatomic_read(waiters) <= 0)
		return;
	uatomic_add(seq, 1);
	(void)mproc__futex_wake(seq, n);
}

/* What a claim found: the slot at pos and the word it read there. */
struct ring_view {
	struct ring_slot *slot;
	uint64_t pos;
	uint64_t word;
};

static inline struct ring_slot *
ring_slot_at(const struct mproc_queue *q, uint64_t pos)
{
	return (struct ring_slot *)(q->slots + (pos % q->capacity) * q->stride);
}

static inline uint32_t
ring_lap(const struct mproc_queue *q, uint64_t pos)
{
	return (uint32_t)(pos / q->capacity);
}

static inline unsigned char *
ring_data(struct ring_slot *s)
{
	return (unsigned char *)s + SLOT_DATA;
}

/*
 * The data's lines come from the peer's cache apart from the slot word's:
 * asking for the first while we read the word overlaps the two misses,
 * instead of paying for the second when the copy reaches it.
 */
static inline void
ring_prefetch_data(struct ring_slot *s)
{
	__builtin_prefetch(ring_data(s));
}

/* Moves *counter from pos to pos + 1 unless someone did already. */
static inline void
ring_advance(uint64_t *counter, uint64_t pos)
{
	(void)uatomic_cmpxchg(counter, pos, pos + 1);
}

/*
 * The slot word at pos looked impossible for this position (a lap
 * behind or ahead where the protocol forbids it).  Either counter moved
 * on meanwhile (our pos is stale: retry at the new one) or the segment
 * was scribbled on: -EPROTO rather than spinning forever.
 */
static inline int
ring_stale(uint64_t *counter, const struct ring_view *v, uint64_t *pos)
{
	uint64_t now;

	cmm_smp_rmb();	/* word read before counter re-read; pairs with [P1]/[G1] */
	now = uatomic_read(counter);
	if (now == v->pos && uatomic_read(&v->slot->s_word) == v->word)
		return -EPROTO;
	*pos = now;
	return 0;
}

/*
 * Claims the slot at qh_tail for producer me: 0 and *v (the slot is now
 * WRITING(lap, me)), -EAGAIN with *v the slot still in use a lap behind
 * (the ring is full at this instant, or stuck there), or -EPROTO.
 * Lock-free: a failed CAS means another producer made progress.
 */
static inline int
ring_claim_put(struct mproc_queue *q, uint32_t me, struct ring_view *v)
{
	uint64_t pos = uatomic_read(&q->h->qh_tail);
	int rc;

	for (;;) {
		uint32_t lap = ring_lap(q, pos);
		uint64_t free_word = slot_word(lap, S_FREE, 0);
		int32_t ahead;

		/* [P0] tail before slot: a slot read after a tail of pos shows
		 * at least the claim that made tail pos.  Pairs with [P1]. */
		cmm_smp_rmb();
		v->slot = ring_slot_at(q, pos);
		v->pos = pos;
		ring_prefetch_data(v->slot);
		/*
		 * [P1] Claim pos, expecting it free for this lap (a FREE word
		 * has pid 0).  One cmpxchg fetches the line once, for writing,
		 * where a read and then a cmpxchg would fetch it twice from the
		 * consumer that freed it.  Failed, it is our read of the word.
		 * A successful cmpxchg is a full barrier: our writes to the
		 * slot stay after it, and it saw FREE, which the consumer's
		 * [G2] ordered after its reads.
		 */
		v->word = uatomic_cmpxchg(&v->slot->s_word, free_word,
					  slot_word(lap, S_WRITING, me));
		if (v->word == free_word) {
			ring_advance(&q->h->qh_tail, pos);
			return 0;
		}
		ahead = w_ahead(v->word, lap);
		if (ahead == 0 && w_state(v->word) == S_FREE)
			return -EPROTO;		/* FREE with a pid: scribbled */
		if (ahead == 0) {		/* claimed by a peer: help, move on */
			ring_advance(&q->h->qh_tail, pos);
			pos = uatomic_read(&q->h->qh_tail);
			continue;
		}
		if (ahead == -1 && w_state(v->word) != S_FREE)
			return -EAGAIN;		/* last lap's message still there */
		if ((rc = ring_stale(&q->h->qh_tail, v, &pos)) < 0)
			return rc;
	}
}

/*
 * Claims the message at qh_head for consumer me: 0 and *v (the slot is
 * now READING(lap, me)), -EAGAIN with *v the slot at head: FREE or
 * WRITING (empty at this instant, or a put in progress there), or still
 * READING a lap behind (its consumer is copying out the message of
 * pos - capacity, so no put can have reached pos yet); or -EPROTO.
 * Tombstones met on the way are freed and skipped.
 */
static inline int
ring_claim_get(struct mproc_queue *q, uint32_t me, struct ring_view *v)
{
	uint64_t pos = uatomic_read(&q->h->qh_head);
	int rc;

	for (;;) {
		uint32_t lap = ring_lap(q, pos);
		int32_t ahead;
		enum slot_state st;
		uint64_t want;

		cmm_smp_rmb();	/* [G0] head before slot, as [P0] */
		v->slot = ring_slot_at(q, pos);
		v->pos = pos;
		v->word = uatomic_read(&v->slot->s_word);
		ahead = w_ahead(v->word, lap);
		st = w_state(v->word);
		if (ahead == 0 && st == S_FULL) {
			bool tomb = w_pid(v->word) == W_TOMB;

			if (!tomb)
				ring_prefetch_data(v->slot);
			/*
			 * [G1] Claim pos (or free a tombstone).  The full barrier
			 * of a successful cmpxchg keeps our reads of s_len and
			 * the data after the read that said FULL, which [P2]
			 * ordered after the producer's writes.
			 */
			want = tomb ? slot_word(lap + 1, S_FREE, 0)
				    : slot_word(lap, S_READING, me);
			if (uatomic_cmpxchg(&v->slot->s_word, v->word, want) != v->word)
				continue;
			ring_advance(&q->h->qh_head, pos);
			if (!tomb)
				return 0;
			uatomic_add(&q->h->qh_tombs_freed, 1);
			queue_wake(q, PUTTER, 1);	/* a slot came free */
			pos = uatomic_read(&q->h->qh_head);
			continue;
		}
		/* Empty here: no put yet, a put in progress, or (a lap
		 * behind) the last lap's consumer still reading. */
		if ((ahead == 0 && (st == S_FREE || st == S_WRITING)) ||
		    (ahead == -1 && st == S_READING))
			return -EAGAIN;
		if (ahead == 0 || ahead == 1) {	/* taken by a peer: help */
			ring_advance(&q->h->qh_head, pos);
			pos = uatomic_read(&q->h->qh_head);
			continue;
		}
		if ((rc = ring_stale(&q->h->qh_head, v, &pos)) < 0)
			return rc;
	}
}

#endif /* MPROC_QUEUE_RING_H */
