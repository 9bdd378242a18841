/*
 * queue-recover.h - what keeps a queue usable when processes die in it:
 * the liveness test, taking back stuck slots, and the waiter records
 * that stats count.  See queue-recover.c for the argument.
 */
#ifndef MPROC_QUEUE_RECOVER_H
#define MPROC_QUEUE_RECOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "queue-ring.h"

/* This process's pid, cached (reset in a forked child): no system call. */
uint32_t mproc__queue_me(void);

/* True when process pid is gone: no such process, or a zombie whose
 * threads have all exited.  A system call or two: slow paths only. */
bool mproc__pid_dead(uint32_t pid);

/* The process that holds v's slot (WRITING or READING), else 0. */
static inline uint32_t
ring_owner(uint64_t word)
{
	enum slot_state st = w_state(word);

	if ((st != S_WRITING && st != S_READING) || w_pid(word) == W_TOMB)
		return 0;
	return w_pid(word);
}

/*
 * A claim returned -EAGAIN on v's slot (a claim returned -EAGAIN).  If
 * a dead process holds that slot, takes it back by CAS and returns true
 * (the caller retries at once); otherwise false.
 */
bool mproc__queue_unstick(struct mproc_queue *q, const struct ring_view *v);

/* Registers the calling thread as about to sleep on side: returns a
 * record to pass to mproc__queue_wait_end() (-1 if all are taken). */
int mproc__queue_wait_begin(struct mproc_queue *q, enum queue_side side);
void mproc__queue_wait_end(struct mproc_queue *q, enum queue_side side, int rec);

/* Threads blocked now, in live processes; clears records of dead ones. */
void mproc__queue_count_waiters(const struct mproc_queue *q, unsigned *putters,
				unsigned *getters);

#endif /* MPROC_QUEUE_RECOVER_H */
