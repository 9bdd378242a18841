/*
 * pool-ring.h - a single-producer single-consumer byte ring in shared
 * memory, carrying whole frames between the pool's manager thread and one
 * worker process.  Each worker has two: tasks (manager -> worker) and
 * results (worker -> manager).
 *
 * Layout: struct pool_ring, then `size` bytes of data.
 * head and tail are free-running byte counts; tail - head is the number
 * of bytes in the ring.  Compare them only through that unsigned
 * difference.
 *   tail          written by the producer only, published by [P1]
 *   head          written by the consumer only, published by [C2]
 *   cons_waiting  set by a consumer about to sleep on tail; cleared by
 *                 the producer that wakes it (or by the consumer itself)
 *   prod_waiting  likewise for a producer about to sleep on head
 * The size (a power of two) is not stored here: each side keeps its own
 * copy, so a corrupted ring can never make a copy run out of bounds.
 * A producer publishes only whole frames, so a consumer that finds a
 * frame running past tail, or tail - head > size, is reading a corrupted
 * ring: the worker side is not trusted (a task may scribble on memory),
 * so the manager checks every length it reads here.
 *
 * Barriers:
 *   [P1] producer: frame bytes before the tail that publishes them.
 *        Pairs with [C1].
 *   [C1] consumer: the tail read before the frame bytes.  Pairs with [P1].
 *   [C2] consumer: frame reads before the head store that hands the
 *        space back (a load->store order, so a full barrier).  Pairs
 *        with [P0].
 *   [P0] producer: the head read before writing into the freed space.
 *        Pairs with [C2].
 */
#ifndef MPROC_POOL_RING_H
#define MPROC_POOL_RING_H

#include <stdint.h>
#include <string.h>
#include <urcu/arch.h>
#include <urcu/uatomic.h>

#include "futex.h"

struct pool_ring {
	uint32_t head;
	int32_t prod_waiting;
	char pad0[CAA_CACHE_LINE_SIZE - 2 * sizeof(uint32_t)];
	uint32_t tail;
	int32_t cons_waiting;
	char pad1[CAA_CACHE_LINE_SIZE - 2 * sizeof(uint32_t)];
	unsigned char data[];
};

static inline void
ring_init(struct pool_ring *r)
{
	memset(r, 0, sizeof(*r));
}

/* Producer: the consumer's head, read before the caller writes into the
 * space it frees; [P0] orders the two. */
static inline uint32_t
ring_head(struct pool_ring *r)
{
	uint32_t head = uatomic_read(&r->head);

	cmm_smp_mb();	/* [P0] pairs with [C2] */
	return head;
}

/* Producer: bytes free for a producer at tail, given the head it read
 * (0 when the consumer has corrupted head). */
static inline uint32_t
ring_free(uint32_t size, uint32_t tail, uint32_t head)
{
	uint32_t used = tail - head;

	return used > size ? 0 : size - used;
}

/* Bytes published and not yet consumed, as of the tail read; [C1]. */
static inline uint32_t
ring_used(struct pool_ring *r, uint32_t head)
{
	uint32_t used = uatomic_read(&r->tail) - head;

	cmm_smp_rmb();	/* [C1] pairs with [P1] */
	return used;
}

/* Copies len <= size bytes into the ring at byte position pos (wrapping). */
static inline void
ring_write(struct pool_ring *r, uint32_t size, uint32_t pos, const void *src,
	   size_t len)
{
	uint32_t off = pos & (size - 1);
	size_t first = size - off < len ? size - off : len;

	memcpy(r->data + off, src, first);
	memcpy(r->data, (const unsigned char *)src + first, len - first);
}

/* Copies len <= size bytes out of the ring from position pos (wrapping). */
static inline void
ring_read(const struct pool_ring *r, uint32_t size, uint32_t pos, void *dst,
	  size_t len)
{
	uint32_t off = pos & (size - 1);
	size_t first = size - off < len ? size - off : len;

	memcpy(dst, r->data + off, first);
	memcpy((unsigned char *)dst + first, r->data, len - first);
}

/* Producer: makes every byte before tail visible to the consumer. */
static inline void
ring_publish(struct pool_ring *r, uint32_t tail)
{
	cmm_smp_wmb();	/* [P1] pairs with [C1] */
	uatomic_set(&r->tail, tail);
}

/* Consumer: hands every byte before head back to the producer. */
static inline void
ring_release(struct pool_ring *r, uint32_t head)
{
	cmm_smp_mb();	/* [C2] pairs with [P0] */
	uatomic_set(&r->head, head);
}

/*
 * Wakes a peer sleeping on *word whose flag says it is (or is about to
 * be) asleep.  The caller has just published with ring_publish() or
 * ring_release(); the full barrier orders that store before the flag
 * read, pairing with the barrier in ring_sleep() between the flag store
 * and the re-check.  Whoever clears the flag makes the system call, so a
 * busy ring costs none.
 */
static inline void
ring_wake(int32_t *flag, uint32_t *word)
{
	cmm_smp_mb();	/* [W1] pairs with [S1] */
	if (uatomic_read(flag) && uatomic_cmpxchg(flag, 1, 0) == 1)
		mproc__futex_wake((int32_t *)word, 1);
}

/*
 * Sleeps (forever) while *word == seen: announces itself in flag, then
 * re-checks, so a publish between the caller's check and the futex wait
 * is never lost.  Returns when *word may have changed; the caller
 * re-checks its condition.
 */
static inline void
ring_sleep(int32_t *flag, uint32_t *word, uint32_t seen)
{
	struct mproc__deadline forever = { .timeout_ms = -1 };

	uatomic_set(flag, 1);
	cmm_smp_mb();	/* [S1] pairs with [W1] */
	if (uatomic_read(word) == seen)
		mproc__futex_wait((int32_t *)word, (int32_t)seen, &forever);
	uatomic_set(flag, 0);
}

#endif /* MPROC_POOL_RING_H */
