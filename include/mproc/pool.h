/*
 * mproc/pool.h - a pool of worker processes running tasks of this
 * program on byte arguments.  Python: multiprocessing.Pool and
 * concurrent.futures.ProcessPoolExecutor.  See mproc_pool_create(3).
 *
 * Threads: every call may be made by any number of threads at once,
 * except that a result must not be used once mproc_result_free() or
 * mproc_pool_free() has released it, and the pool not once
 * mproc_pool_free() has.
 * Crashes: a worker that dies is replaced; the task it was running fails
 * with ECHILD and every other task completes exactly once.
 */
#ifndef MPROC_POOL_H
#define MPROC_POOL_H

#include <mproc/common.h>

MPROC_BEGIN_DECLS

/* A task, run in a worker: returns its result length (<= result_cap), or
 * -1 with errno set (mproc_result_get() then fails with that errno). */
typedef ssize_t (*mproc_task_fn)(const void *arg, size_t arg_len,
				 void *result, size_t result_cap);
typedef struct mproc_pool mproc_pool;
typedef struct mproc_result mproc_result;

struct mproc_pool_attr {
	int      workers;		/* 0: mproc_cpu_count() */
	size_t   max_arg;		/* 0: 64 KiB */
	size_t   max_result;		/* 0: 64 KiB */
	unsigned max_tasks_per_child;	/* 0: unlimited */
	void   (*initializer)(void *);	/* run once in each new worker */
	void    *initarg;
};

/* Starts the workers and the manager thread.  Pair with mproc_pool_free(). */
MPROC_API mproc_pool   *mproc_pool_create(const struct mproc_pool_attr *attr);
/* Queues fn on a copy of arg; never waits.  Pair with mproc_result_free(). */
MPROC_API mproc_result *mproc_pool_submit(mproc_pool *p, mproc_task_fn fn, const void *arg, size_t len);
/* Waits per timeout_ms, copies the result out, returns its length; the
 * result stays (get again at will). */
MPROC_API ssize_t mproc_result_get(mproc_result *r, void *out, size_t cap, int timeout_ms);
/* True once the task has completed: get would not wait. */
MPROC_API bool    mproc_result_ready(const mproc_result *r);
/* Releases r; a pending task still runs and its result is dropped. */
MPROC_API void    mproc_result_free(mproc_result *r);
/* submit + get(MPROC_FOREVER) + free. */
MPROC_API ssize_t mproc_pool_apply(mproc_pool *p, mproc_task_fn fn, const void *arg, size_t len, void *out, size_t cap);
/* n tasks, results stored in order; 0, or -1 with the errno of the failed
 * item of lowest index (every item still runs). */
MPROC_API int     mproc_pool_map(mproc_pool *p, mproc_task_fn fn,
				 const void *args, size_t arg_size, size_t n,
				 void *results, size_t result_size);
/* No more submissions (EPIPE); queued tasks still run. */
MPROC_API int     mproc_pool_close(mproc_pool *p);
/* After close or terminate: waits for the queued tasks and the workers. */
MPROC_API int     mproc_pool_join(mproc_pool *p);
/* Kills the workers now; unfinished tasks fail with ECANCELED. */
MPROC_API int     mproc_pool_terminate(mproc_pool *p);
/* Terminates if needed, then frees the pool and the unfreed results. */
MPROC_API void    mproc_pool_free(mproc_pool *p);

MPROC_END_DECLS

#endif /* MPROC_POOL_H */
