/*
 * pool.c - the public calls of mproc_pool and mproc_result: creating and
 * ending a pool, submitting tasks, waiting for results.  The manager
 * thread is in pool-manager.c, the worker processes in pool-worker.c;
 * pool.h describes the design.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "pool.h"

#define POOL_DEFAULT_BYTES (64 * 1024)
/* Largest max_arg/max_result: frames and rings stay far below 2^32. */
#define POOL_MAX_BYTES (64u * 1024 * 1024)
/* Smallest ring: room for many tiny frames. */
#define POOL_MIN_RING (64u * 1024)

/* --- lists ---------------------------------------------------------- */

void
mproc__pool_list_push(struct task_list *l, struct mproc_result *r)
{
	r->next = NULL;
	if (l->tail != NULL)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
	l->n++;
}

struct mproc_result *
mproc__pool_list_pop(struct task_list *l)
{
	struct mproc_result *r = l->head;

	if (r == NULL)
		return NULL;
	l->head = r->next;
	if (l->head == NULL)
		l->tail = NULL;
	l->n--;
	return r;
}

/* l becomes front followed by l; front is left as it was (do not reuse). */
void
mproc__pool_list_prepend(struct task_list *l, struct task_list *front)
{
	if (front->head == NULL)
		return;
	front->tail->next = l->head;
	if (l->head == NULL)
		l->tail = front->tail;
	l->head = front->head;
	l->n += front->n;
}

static void
live_insert(mproc_pool *p, struct mproc_result *r)
{
	r->live_prev = NULL;
	r->live_next = p->live;
	if (p->live != NULL)
		p->live->live_prev = r;
	p->live = r;
}

static void
live_unlink(mproc_pool *p, struct mproc_result *r)
{
	if (r->live_prev != NULL)
		r->live_prev->live_next = r->live_next;
	else
		p->live = r->live_next;
	if (r->live_next != NULL)
		r->live_next->live_prev = r->live_prev;
}

void
mproc__pool_result_data_free(struct mproc_result *r)
{
	if (r->data != r->small)
		free(r->data);
}

static void
result_destroy(struct mproc_result *r)
{
	mproc__pool_result_data_free(r);
	free(r);
}

/* --- completion and wake-ups ------------------------------------------ */

void
mproc__pool_complete_locked(mproc_pool *p, struct mproc_result *r, int err)
{
	r->err = err;
	if (r->batch != NULL) {
		mproc__pool_batch_complete_locked(r->batch);
		return;
	}
	if (r->detached) {	/* the caller freed it already */
		live_unlink(p, r);
		result_destroy(r);
		return;
	}
	/*
	 * [D1] err, len and data before state: uatomic_xchg is a full
	 * barrier.  Pairs with [G1] in mproc_result_get().
	 */
	if (uatomic_xchg(&r->state, RESULT_DONE) == RESULT_WAITED)
		mproc__futex_wake(&r->state, INT32_MAX);
}

void
mproc__pool_doorbell(mproc_pool *p)
{
	uint64_t one = 1;

	cmm_smp_mb();	/* [N1] pairs with [M1] in pool-manager.c */
	if (uatomic_read(&p->shared->mgr_sleeping) &&
	    uatomic_cmpxchg(&p->shared->mgr_sleeping, 1, 0) == 1)
		(void)!write(p->doorbell, &one, sizeof(one));
}

/* For close and terminate: wake the manager whatever it is doing. */
static void
doorbell_force(mproc_pool *p)
{
	uint64_t one = 1;

	(void)!write(p->doorbell, &one, sizeof(one));
}

/* --- create and free -------------------------------------------------- */

static uint32_t
ring_size_for(size_t frame)
{
	uint32_t size = POOL_MIN_RING;

	while (size < 2 * frame)	/* two frames of the largest kind */
		size *= 2;
	return size;
}

static int
attr_load(mproc_pool *p, const struct mproc_pool_attr *attr)
{
	struct mproc_pool_attr a = { 0 };

	if (attr != NULL)
		a = *attr;
	if (a.workers < 0 || a.max_arg > POOL_MAX_BYTES ||
	    a.max_result > POOL_MAX_BYTES)
		return -EINVAL;
	p->nworkers = a.workers ? a.workers : mproc_cpu_count();
	if (p->nworkers < 1)
		p->nworkers = 1;
	p->max_arg = a.max_arg ? a.max_arg : POOL_DEFAULT_BYTES;
	p->max_result = a.max_result ? a.max_result : POOL_DEFAULT_BYTES;
	p->max_tasks_per_child = a.max_tasks_per_child;
	p->initializer = a.initializer;
	p->initarg = a.initarg;
	p->task_ring_size = ring_size_for(sizeof(struct task_frame) + p->max_arg);
	p->result_ring_size =
		ring_size_for(sizeof(struct result_frame) + p->max_result);
	p->channel_size = 2 * sizeof(struct pool_ring) + p->task_ring_size +
			  p->result_ring_size;
	return 0;
}

static void *
map_shared(size_t size)
{
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return m == MAP_FAILED ? NULL : m;
}

/* The memory and descriptors of a pool; undone by pool_release(). */
static int
pool_alloc(mproc_pool *p)
{
	p->doorbell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->doorbell < 0)
		return -errno;
	p->shared = map_shared(sizeof(*p->shared));
	p->workers = calloc((size_t)p->nworkers, sizeof(*p->workers));
	p->pollfds = calloc(1 + (size_t)p->nworkers, sizeof(*p->pollfds));
	if (p->shared == NULL || p->workers == NULL || p->pollfds == NULL)
		return -ENOMEM;
	for (int i = 0; i < p->nworkers; i++) {
		struct pool_worker *w = &p->workers[i];
		unsigned char *ch = map_shared(p->channel_size);

		if (ch == NULL)
			return -ENOMEM;
		w->pool = p;
		w->channel = ch;
		w->tasks = (struct pool_ring *)ch;
		w->results = (struct pool_ring *)(ch + sizeof(struct pool_ring) +
						  p->task_ring_size);
	}
	return 0;
}

static void
pool_release(mproc_pool *p)
{
	for (int i = 0; p->workers != NULL && i < p->nworkers; i++)
		if (p->workers[i].channel != NULL)
			munmap(p->workers[i].channel, p->channel_size);
	if (p->shared != NULL)
		munmap(p->shared, sizeof(*p->shared));
	if (p->doorbell >= 0)
		close(p->doorbell);
	free(p->workers);
	free(p->pollfds);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->join_lock);
	free(p);
}

/*
 * Starts the manager with every signal blocked, so that signal handlers
 * run in the caller's threads (where a wait can report EINTR), never in
 * the manager; workers restore the caller's mask.  The manager forks the
 * first workers itself (see mproc__pool_manager_main) and reports how that
 * went in start_err.
 */
static int
pool_start(mproc_pool *p)
{
	struct mproc__deadline forever = { .timeout_ms = MPROC_FOREVER };
	sigset_t all;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &p->worker_sigmask);
	rc = -pthread_create(&p->manager, NULL, mproc__pool_manager_main, p);
	pthread_sigmask(SIG_SETMASK, &p->worker_sigmask, NULL);
	if (rc < 0)
		return rc;
	while (!uatomic_read(&p->started))
		mproc__futex_wait(&p->started, 0, &forever);
	cmm_smp_rmb();	/* [S3] started before start_err; pairs with [S2] */
	if (p->start_err == 0)
		return 0;
	pthread_join(p->manager, NULL);
	return -p->start_err;
}

mproc_pool *
mproc_pool_create(const struct mproc_pool_attr *attr)
{
	mproc_pool *p = calloc(1, sizeof(*p));
	int rc;

	if (p == NULL)
		return fail_null(ENOMEM);
	p->doorbell = -1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->join_lock, NULL);
	rc = attr_load(p, attr);
	if (rc == 0)
		rc = pool_alloc(p);
	if (rc == 0)
		rc = pool_start(p);
	if (rc < 0) {
		pool_release(p);
		return fail_null(-rc);
	}
	rc = mproc__pool_registry_add(p);
	if (rc < 0) {
		mproc_pool_free(p);
		return fail_null(-rc);
	}
	return p;
}

/*
 * Waits until the manager thread has ended, then joins it (once, however
 * many threads wait).  -EINTR if interruptible and a signal handler ran.
 */
static int
manager_wait(mproc_pool *p, bool interruptible)
{
	struct mproc__deadline forever = { .timeout_ms = MPROC_FOREVER };

	while (!uatomic_read(&p->manager_done)) {
		int rc = mproc__futex_wait(&p->manager_done, 0, &forever);

		if (rc == -EINTR && interruptible)
			return rc;
	}
	pthread_mutex_lock(&p->join_lock);
	if (!p->manager_joined)
		pthread_join(p->manager, NULL);
	p->manager_joined = true;
	pthread_mutex_unlock(&p->join_lock);
	return 0;
}

/* Sets the closing flags under the lock and wakes the manager. */
static void
pool_stop(mproc_pool *p, bool terminate)
{
	pthread_mutex_lock(&p->lock);
	p->closed = true;
	p->terminating |= terminate;
	pthread_mutex_unlock(&p->lock);
	doorbell_force(p);
}

int
mproc_pool_close(mproc_pool *p)
{
	if (p == NULL)
		return fail(EINVAL);
	pool_stop(p, false);
	return 0;
}

int
mproc_pool_terminate(mproc_pool *p)
{
	if (p == NULL)
		return fail(EINVAL);
	pool_stop(p, true);
	return result(manager_wait(p, false));
}

int
mproc_pool_join(mproc_pool *p)
{
	bool closed;

	if (p == NULL)
		return fail(EINVAL);
	pthread_mutex_lock(&p->lock);
	closed = p->closed;
	pthread_mutex_unlock(&p->lock);
	if (!closed)
		return fail(EINVAL);
	return result(manager_wait(p, true));
}

void
mproc_pool_free(mproc_pool *p)
{
	struct mproc_result *r;

	if (p == NULL)
		return;
	mproc__pool_registry_remove(p);
	if (!uatomic_read(&p->manager_done))
		pool_stop(p, true);
	manager_wait(p, false);
	while ((r = p->live) != NULL) {	/* every one is done by now */
		live_unlink(p, r);
		result_destroy(r);
	}
	pool_release(p);
}

/* --- tasks and results ------------------------------------------------ */

mproc_result *
mproc_pool_submit(mproc_pool *p, mproc_task_fn fn, const void *arg, size_t len)
{
	struct mproc_result *r;

	if (p == NULL || fn == NULL || (arg == NULL && len > 0))
		return fail_null(EINVAL);
	if (len > p->max_arg)
		return fail_null(EMSGSIZE);
	r = malloc(sizeof(*r) + len);
	if (r == NULL)
		return fail_null(ENOMEM);
	memset(r, 0, sizeof(*r));
	r->pool = p;
	r->fn = fn;
	r->arg = (unsigned char *)(r + 1);
	r->arg_len = len;
	if (len > 0)
		memcpy(r + 1, arg, len);
	pthread_mutex_lock(&p->lock);
	if (p->closed) {
		pthread_mutex_unlock(&p->lock);
		free(r);
		return fail_null(EPIPE);
	}
	r->id = ++p->next_id;
	mproc__pool_list_push(&p->queue, r);
	live_insert(p, r);
	pthread_mutex_unlock(&p->lock);
	mproc__pool_doorbell(p);
	return r;
}

/* Waits until r is done: 0, or -EAGAIN, -ETIMEDOUT, -EINTR, -EINVAL. */
static int
result_wait(mproc_result *r, int timeout_ms)
{
	struct mproc__deadline d;
	int rc = mproc__deadline_start(&d, timeout_ms);

	while (rc == 0 && uatomic_read(&r->state) != RESULT_DONE) {
		if (timeout_ms == 0)
			return -EAGAIN;
		/* Tell the manager to wake us; it completes with xchg. */
		uatomic_cmpxchg(&r->state, RESULT_PENDING, RESULT_WAITED);
		rc = mproc__futex_wait(&r->state, RESULT_WAITED, &d);
		if (rc == -ETIMEDOUT)
			rc = mproc__deadline_error(&d);
	}
	return rc;
}

ssize_t
mproc_result_get(mproc_result *r, void *out, size_t cap, int timeout_ms)
{
	int rc;

	if (r == NULL || (out == NULL && cap > 0))
		return fail(EINVAL);
	rc = result_wait(r, timeout_ms);
	if (rc < 0)
		return fail(-rc);
	cmm_smp_rmb();	/* [G1] state before err, len, data; pairs with [D1] */
	if (r->err != 0)
		return fail(r->err);
	if (r->len > cap)
		return fail(EMSGSIZE);
	if (r->len > 0)
		memcpy(out, r->data, r->len);
	return (ssize_t)r->len;
}

bool
mproc_result_ready(const mproc_result *r)
{
	return r != NULL && uatomic_read(&r->state) == RESULT_DONE;
}

void
mproc_result_free(mproc_result *r)
{
	mproc_pool *p;
	bool done;

	if (r == NULL)
		return;
	p = r->pool;
	pthread_mutex_lock(&p->lock);
	done = uatomic_read(&r->state) == RESULT_DONE;
	if (done)
		live_unlink(p, r);
	else
		r->detached = true;	/* mproc__pool_complete_locked frees it */
	pthread_mutex_unlock(&p->lock);
	if (done)
		result_destroy(r);
}

ssize_t
mproc_pool_apply(mproc_pool *p, mproc_task_fn fn, const void *arg, size_t len,
		 void *out, size_t cap)
{
	mproc_result *r;
	ssize_t n;
	int err;

	if (out == NULL && cap > 0)
		return fail(EINVAL);
	r = mproc_pool_submit(p, fn, arg, len);
	if (r == NULL)
		return -1;
	n = mproc_result_get(r, out, cap, MPROC_FOREVER);
	err = errno;
	mproc_result_free(r);
	errno = err;
	return n;
}
