/*
 * pool.h - the insides of mproc_pool, shared by pool.c (the public
 * calls), pool-map.c (mproc_pool_map), pool-manager.c (the manager
 * thread), pool-worker.c (worker processes) and pool-registry.c (pools
 * terminated at exit).
 *
 * Design.  mproc_pool_create() starts one manager thread, which forks the
 * workers (through the process module, as daemonic children
 * "PoolWorker-N").  Each worker has a channel: two single-producer single-consumer
 * rings in shared memory (pool-ring.h), tasks down and results up.
 * Callers append tasks to the pool's queue under the lock; the manager
 * moves them into the workers' task rings, up to a window of tasks
 * outstanding per worker, and reads the results back, many per pass.
 * Nobody makes a system call while the other side is awake: a sleeping
 * worker waits on a futex in its task ring, and the sleeping manager
 * waits in poll(2) on an eventfd (the doorbell, rung only when
 * shared->mgr_sleeping says it sleeps) and on the workers' pidfds.
 *
 * A worker runs its tasks in the order it received them, and consumes a
 * task frame (moves the ring's head past it) just before it runs it.  So
 * when a worker dies, the tasks assigned to it without a result are: at
 * most one consumed task, the one it was running (it fails with ECHILD),
 * then tasks it never began (requeued to the other workers).  Nothing a
 * worker writes in its channel is trusted: the manager checks every id
 * and length, and kills a worker that writes a malformed frame.
 *
 * Fork: only mproc__pool_worker_start() creates processes, and only the
 * manager thread calls it, the first workers included: PR_SET_PDEATHSIG
 * (daemonic children) fires when the forking *thread* ends, and the
 * manager outlives its workers.  The worker table and channels change
 * only in that thread, so a child's copy of them is consistent; the
 * child never takes the pool lock (another thread may hold it at the
 * fork).
 */
#ifndef MPROC_POOL_INTERNAL_H
#define MPROC_POOL_INTERNAL_H

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <mproc/pool.h>
#include <mproc/process.h>

#include "pool-ring.h"

/*
 * Tasks outstanding per worker: each worker's window starts at
 * WINDOW_MIN and doubles, up to WINDOW_MAX, whenever the manager finds
 * that it has finished everything it was given while tasks wait; it
 * drops back to WINDOW_MIN when the worker runs dry with nothing queued.
 * Tiny tasks thus go out in batches of hundreds, while slow tasks stay
 * spread over the workers instead of queueing up behind one.
 */
#define WINDOW_MIN 4
#define WINDOW_MAX 1024

/* The frames in the rings.  A task frame with fn == 0 tells the worker
 * to exit. */
struct task_frame {
	uint64_t id;
	uint64_t fn;		/* mproc_task_fn: same program, same address */
	uint32_t len;		/* argument bytes that follow, <= max_arg */
	uint32_t unused;
};

struct result_frame {
	uint64_t id;		/* the id of the worker's oldest open task */
	int32_t err;		/* 0, or the errno the task failed with */
	uint32_t len;		/* result bytes that follow, <= max_result */
};

/* Values of mproc_result.state, the futex word mproc_result_get waits on. */
enum { RESULT_PENDING, RESULT_WAITED, RESULT_DONE };

struct task_list {
	struct mproc_result *head, *tail;
	size_t n;
};

/*
 * A submitted task and, later, its result.  The caller owns it until
 * mproc_result_free(); the pool keeps it on its live list until then so
 * mproc_pool_free() can free what the caller did not.  An item of
 * mproc_pool_map() is one too, but lives in its batch's array, off the
 * live list, and signals its batch instead of its state word.
 *   state                futex word; set to RESULT_DONE last, under lock
 *   err, len, data       written once, under the lock, before state
 *                        becomes RESULT_DONE (or batch->left drops)
 *   next                 the list it is on: the pool's queue (lock), or
 *                        the manager's queue or a worker's open list
 *                        (manager thread only)
 *   live_prev/next, detached   under the pool lock
 *   task_end             manager only: the end of its frame in the task
 *                        ring of the worker it was assigned to
 *   the rest             set before submission, then constant
 */
struct mproc_result {
	int32_t state;
	int err;
	size_t len;
	unsigned char *data;		/* small[] or malloc'ed */
	unsigned char small[16];
	mproc_pool *pool;
	struct pool_batch *batch;	/* NULL unless a map item */
	mproc_task_fn fn;
	const unsigned char *arg;	/* after the struct, or in the batch */
	size_t arg_len;
	uint64_t id;
	uint32_t task_end;
	bool detached;
	struct mproc_result *next;
	struct mproc_result *live_prev, *live_next;
};

/*
 * The items of one mproc_pool_map() call, submitted under one lock and
 * waited for with one futex word.
 *   left       futex word: items not yet complete; decremented under the
 *              pool lock after an item's fields are written; the last
 *              decrement wakes the waiter
 *   detached   under the pool lock: the caller gave up waiting (EINTR),
 *              so the item that brings left to 0 frees the batch
 */
struct pool_batch {
	int32_t left;
	bool detached;
	size_t n;
	struct mproc_result *items;
	unsigned char *args;		/* a copy of the caller's arguments */
};

/* Shared by the manager and every worker (one anonymous shared page). */
struct pool_shared {
	int32_t mgr_sleeping;	/* 1: the manager sleeps or is about to */
};

/*
 * One worker slot.  Everything here belongs to the manager thread; a
 * worker process sees its fork-time copy and uses only pool, tasks and
 * results.
 */
struct pool_worker {
	mproc_pool *pool;
	mproc_process *proc;		/* NULL: the slot waits for a worker */
	struct pool_ring *tasks;	/* in channel: manager produces */
	struct pool_ring *results;	/* in channel: worker produces */
	void *channel;			/* mmap'ed, channel_size bytes */
	struct task_list open;		/* assigned, no result yet, in order */
	unsigned assigned;		/* tasks given to this process */
	unsigned window;		/* WINDOW_MIN..WINDOW_MAX */
	uint64_t respawn_ms;		/* empty slot: refill from then on */
	uint32_t task_tail;		/* our producer position in tasks */
	uint32_t result_head;		/* our consumer position in results */
	bool stopping;			/* told to exit, or killed */
	bool broken;			/* sent garbage: killed, ring ignored */
};

struct mproc_pool {
	/* Set by create, then constant. */
	int nworkers;
	size_t max_arg, max_result;
	unsigned max_tasks_per_child;
	void (*initializer)(void *);
	void *initarg;
	uint32_t task_ring_size, result_ring_size;
	size_t channel_size;
	struct pool_shared *shared;
	int doorbell;			/* eventfd the manager polls */
	sigset_t worker_sigmask;	/* the creating thread's mask */
	pthread_t manager;

	/* Manager thread only. */
	struct pool_worker *workers;
	struct pollfd *pollfds;		/* [0] doorbell, [1 + i] worker i */
	unsigned spawned;		/* for the names "PoolWorker-N" */

	/* Under lock. */
	pthread_mutex_t lock;
	struct task_list queue;		/* submitted, not yet taken */
	struct mproc_result *live;	/* results not freed by the caller */
	uint64_t next_id;
	bool closed, terminating;

	/* Set to 1 by the manager once it has started the first workers,
	 * after start_err (0 or an errno); create waits on it. */
	int32_t started;
	int start_err;

	/* Set to 1 by the manager when it has ended; joiners wait on it. */
	int32_t manager_done;
	pthread_mutex_t join_lock;	/* guards manager_joined */
	bool manager_joined;

	/* Under the registry's mutex (pool-registry.c). */
	struct mproc_pool *next_pool;
	bool registered;
};

/* Tasks lists (pool.c). */
void mproc__pool_list_push(struct task_list *l, struct mproc_result *r);
struct mproc_result *mproc__pool_list_pop(struct task_list *l);
void mproc__pool_list_prepend(struct task_list *l, struct task_list *front);

/* Completes r with err (or 0) under the pool lock: publishes it, or frees
 * it when the caller has already freed it (pool.c). */
void mproc__pool_complete_locked(mproc_pool *p, struct mproc_result *r, int err);

/* A map item's part of mproc__pool_complete_locked() (pool-map.c). */
void mproc__pool_batch_complete_locked(struct pool_batch *b);

/* Frees r's result bytes (pool.c). */
void mproc__pool_result_data_free(struct mproc_result *r);

/* Rings the manager's doorbell if it sleeps (pool.c); any process. */
void mproc__pool_doorbell(mproc_pool *p);

/* The pools to terminate at exit (pool-registry.c).  add: 0 or -errno;
 * remove: safe on a pool not (or no longer) registered. */
int mproc__pool_registry_add(mproc_pool *p);
void mproc__pool_registry_remove(mproc_pool *p);

/* The manager thread (pool-manager.c). */
void *mproc__pool_manager_main(void *arg);

/* Worker processes (pool-worker.c): the only place that creates them.
 * start: 0 or -errno; kill: SIGKILL, returns at once; reap: waits for the
 * (dead or dying) process and frees it; fd: a pidfd. */
int mproc__pool_worker_start(mproc_pool *p, struct pool_worker *w);
void mproc__pool_worker_kill(struct pool_worker *w);
void mproc__pool_worker_reap(struct pool_worker *w);
int mproc__pool_worker_fd(const struct pool_worker *w);

#endif /* MPROC_POOL_INTERNAL_H */
