/*
 * conn-lock.h - the sender and receiver locks of a connection.
 *
 * struct conn_lock excludes threads and processes that share its memory
 * (the page mproc_pipe() maps, shared with children forked later; or a
 * FIFO handle's private memory, where it only excludes threads).  It is a
 * robust process-shared pthread mutex taken only with trylock, plus a
 * futex word to sleep on, so that:
 *   - an uncontended lock and unlock make no system call;
 *   - a wait honours a deadline and a signal handler ends it (-EINTR),
 *     which pthread_mutex_lock() would not allow;
 *   - a holder that dies never blocks the others for good: the kernel
 *     marks the mutex (robust list) and the next trylock gets it with
 *     EOWNERDEAD.  The dead holder never bumps cl_seq, so sleepers wake
 *     at least every CONN_LOCK_SLICE_MS to try again.
 *
 * FIFOs between unrelated processes have no shared memory: the
 * mproc__fifo_*lock() calls add a kernel lock that the kernel drops
 * when its holder dies.  Senders take a POSIX record lock (fcntl
 * F_SETLK, per process, not inherited by fork) on byte 0 of their
 * write-only descriptor.  Receivers cannot take an exclusive record lock
 * on a read-only descriptor, so they flock(2) an open file description
 * of their own (see conn.c, fifo_lock_fd()).  The two kinds of lock do
 * not interact on Linux, so a blocked receiver never holds up a sender.
 */
#ifndef MPROC_CONN_LOCK_H
#define MPROC_CONN_LOCK_H

#include <pthread.h>
#include <stdint.h>

#include "clock.h"

/* The longest a waiter sleeps before it checks the holder is alive. */
#define CONN_LOCK_SLICE_MS 100

struct conn_lock {
	pthread_mutex_t cl_mutex;	/* robust, process-shared */
	int32_t cl_seq;			/* bumped by every unlock; waiters sleep on it */
	int32_t cl_waiters;		/* callers sleeping on cl_seq now */
};

/* 0 or -errno.  For memory not yet shared with anyone. */
int mproc__conn_lock_init(struct conn_lock *l);

/* Only for a lock in private memory that nobody holds. */
void mproc__conn_lock_destroy(struct conn_lock *l);

/*
 * Takes l, waiting until the deadline.  Returns 0, or 1 when the
 * previous holder died holding it (l is then held and consistent again:
 * the caller repairs or condemns what l protects), or -EAGAIN (timeout
 * 0), -ETIMEDOUT, -EINTR (a signal handler ran while waiting).
 */
int mproc__conn_lock(struct conn_lock *l, const struct mproc__deadline *d);

/* Releases l and wakes one waiter if any. */
void mproc__conn_unlock(struct conn_lock *l);

/* FIFO senders: fcntl write lock on byte 0 of the writable fd.
 * 0, -EAGAIN, -ETIMEDOUT, -EINTR, or another -errno. */
int mproc__fifo_send_lock(int fd, const struct mproc__deadline *d);
void mproc__fifo_send_unlock(int fd);

/* FIFO receivers: flock(LOCK_EX) on lock_fd.  Same returns. */
int mproc__fifo_recv_lock(int lock_fd, const struct mproc__deadline *d);
void mproc__fifo_recv_unlock(int lock_fd);

#endif /* MPROC_CONN_LOCK_H */
