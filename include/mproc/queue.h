/*
 * mproc/queue.h - a bounded many-to-many message queue in POSIX shared
 * memory.  Python: multiprocessing.Queue.  See mproc_queue_create(3).
 *
 * Safe for any number of threads and processes at once, without locks:
 * a lock-free ring of fixed slots, futexes to sleep on.  An uncontended
 * put or get makes no system call.  A process killed inside any call
 * (SIGKILL included) never blocks the others for good: the message in
 * its hands is lost, never duplicated; every other message is kept.
 */
#ifndef MPROC_QUEUE_H
#define MPROC_QUEUE_H

#include <mproc/common.h>

MPROC_BEGIN_DECLS

typedef struct mproc_queue mproc_queue;

struct mproc_queue_attr {
	size_t capacity;	/* messages it holds;   0: 1024 */
	size_t msg_size;	/* longest message;     0: 8192 */
	mode_t mode;		/* named queues;        0: 0600 */
};

struct mproc_queue_stats {
	uint64_t puts, gets;		/* since creation, all processes */
	size_t   depth, high_water;	/* messages now, most ever */
	unsigned putters_waiting, getters_waiting;
	bool     shut_down;
};

/* Pair create/open with mproc_queue_close(); the name with mproc_queue_unlink().
 * name NULL: anonymous, shared with children forked afterwards. */
MPROC_API mproc_queue *mproc_queue_create(const char *name, const struct mproc_queue_attr *attr);
MPROC_API mproc_queue *mproc_queue_open(const char *name);
MPROC_API int     mproc_queue_close(mproc_queue *q);
MPROC_API int     mproc_queue_unlink(const char *name);

/* Copy one message in or out.  A full (empty) queue waits per timeout_ms.
 * get: cap must be >= msg_size; returns the message length. */
MPROC_API int     mproc_queue_put(mproc_queue *q, const void *msg, size_t len, int timeout_ms);
MPROC_API ssize_t mproc_queue_get(mproc_queue *q, void *buf, size_t cap, int timeout_ms);

/* Zero copy.  Pair reserve with commit, acquire with release, through
 * the same handle and process; the slot is msg_size bytes, 16-aligned. */
MPROC_API void       *mproc_queue_reserve(mproc_queue *q, int timeout_ms);
MPROC_API int         mproc_queue_commit(mproc_queue *q, void *slot, size_t len);
MPROC_API const void *mproc_queue_acquire(mproc_queue *q, size_t *len, int timeout_ms);
MPROC_API int         mproc_queue_release(mproc_queue *q, const void *msg);

/* From now on, everywhere: put/reserve fail EPIPE; get/acquire drain
 * what is left, then fail EPIPE instead of waiting. */
MPROC_API int     mproc_queue_shutdown(mproc_queue *q);

/* Snapshots, exact when the queue is quiet; stats come from counters in
 * the shared segment, the same for every process. */
MPROC_API size_t  mproc_queue_size(const mproc_queue *q);
MPROC_API bool    mproc_queue_empty(const mproc_queue *q);
MPROC_API bool    mproc_queue_full(const mproc_queue *q);
MPROC_API size_t  mproc_queue_capacity(const mproc_queue *q);
MPROC_API size_t  mproc_queue_msg_size(const mproc_queue *q);
MPROC_API int     mproc_queue_stats(const mproc_queue *q, struct mproc_queue_stats *st);

MPROC_END_DECLS

#endif /* MPROC_QUEUE_H */
