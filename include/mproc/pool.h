/*
 * mproc/pool.h - a pool of worker processes running tasks of this
 * program on byte arguments.  Python: multiprocessing.Pool and
 * concurrent.futures.ProcessPoolExecutor.  See mproc_pool_create(3).
 */
#ifndef MPROC_POOL_H
#define MPROC_POOL_H

#include <mproc/common.h>

MPROC_BEGIN_DECLS

/* A task: returns its result length (<= result_cap), or -1 with errno set. */
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

/* Pair with mproc_pool_free(). */
MPROC_API mproc_pool   *mproc_pool_create(const struct mproc_pool_attr *attr);
/* Pair with mproc_result_free(). */
MPROC_API mproc_result *mproc_pool_submit(mproc_pool *p, mproc_task_fn fn, const void *arg, size_t len);
MPROC_API ssize_t mproc_result_get(mproc_result *r, void *out, size_t cap, int timeout_ms);
MPROC_API bool    mproc_result_ready(const mproc_result *r);
MPROC_API void    mproc_result_free(mproc_result *r);
MPROC_API ssize_t mproc_pool_apply(mproc_pool *p, mproc_task_fn fn, const void *arg, size_t len, void *out, size_t cap);
MPROC_API int     mproc_pool_map(mproc_pool *p, mproc_task_fn fn,
				 const void *args, size_t arg_size, size_t n,
				 void *results, size_t result_size);
MPROC_API int     mproc_pool_close(mproc_pool *p);
MPROC_API int     mproc_pool_join(mproc_pool *p);
MPROC_API int     mproc_pool_terminate(mproc_pool *p);
MPROC_API void    mproc_pool_free(mproc_pool *p);

MPROC_END_DECLS

#endif /* MPROC_POOL_H */
