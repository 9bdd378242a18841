/*
 * pool-worker.c - the worker processes of a pool: how they are started,
 * killed and reaped (through the process module, the only place that
 * forks), and the loop a worker runs: take a task frame, run it, publish
 * its result frame.  See pool.h for the design.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "pool.h"

/* In the child: unmap the channels of the other workers, so a task that
 * scribbles on memory can only break its own channel. */
static void
worker_unmap_others(mproc_pool *p, const struct pool_worker *self)
{
	for (int i = 0; i < p->nworkers; i++)
		if (&p->workers[i] != self)
			munmap(p->workers[i].channel, p->channel_size);
}

/* Waits for a frame in the task ring; returns the bytes available. */
static uint32_t
worker_wait_task(struct pool_ring *t, uint32_t head)
{
	uint32_t used;

	while ((used = ring_used(t, head)) == 0)
		ring_sleep(&t->cons_waiting, &t->tail, head);
	return used;
}

/* Waits until need bytes are free in the result ring after tail. */
static void
worker_wait_space(struct pool_ring *r, uint32_t size, uint32_t tail,
		  uint32_t need)
{
	uint32_t head;

	while (ring_free(size, tail, head = ring_head(r)) < need)
		ring_sleep(&r->prod_waiting, &r->head, head);
}

/* Runs one task; fills *rf (its length: the bytes of out to send). */
static void
worker_run(const mproc_pool *p, const struct task_frame *tf, const void *arg,
	   void *out, struct result_frame *rf)
{
	mproc_task_fn fn = (mproc_task_fn)(uintptr_t)tf->fn;
	ssize_t n;

	errno = 0;
	n = fn(arg, tf->len, out, p->max_result);
	rf->id = tf->id;
	rf->err = 0;
	if (n < 0)
		rf->err = errno > 0 ? errno : EIO;	/* -1 without errno */
	else if ((size_t)n > p->max_result)
		rf->err = EOVERFLOW;		/* claims more than it had */
	rf->len = rf->err ? 0 : (uint32_t)n;
}

/*
 * Waits for the next task frame and copies it out, then consumes it (the
 * manager reads the head moving past it as "running").  1: a task; 0:
 * the exit frame; -1: a frame the manager cannot have written.
 */
static int
worker_take(const mproc_pool *p, struct pool_worker *w, uint32_t *head,
	    struct task_frame *tf, void *arg)
{
	uint32_t size = p->task_ring_size;
	uint32_t used = worker_wait_task(w->tasks, *head);

	if (used < sizeof(*tf))
		return -1;
	ring_read(w->tasks, size, *head, tf, sizeof(*tf));
	if (tf->fn == 0)
		return 0;
	if (tf->len > p->max_arg || used - sizeof(*tf) < tf->len)
		return -1;
	ring_read(w->tasks, size, *head + sizeof(*tf), arg, tf->len);
	*head += sizeof(*tf) + tf->len;
	ring_release(w->tasks, *head);
	return 1;
}

/* Publishes one result frame (waiting for room), then wakes the manager
 * if it sleeps. */
static void
worker_put(mproc_pool *p, struct pool_worker *w, uint32_t *tail,
	   const struct result_frame *rf, const void *out)
{
	uint32_t size = p->result_ring_size;

	worker_wait_space(w->results, size, *tail, sizeof(*rf) + rf->len);
	ring_write(w->results, size, *tail, rf, sizeof(*rf));
	ring_write(w->results, size, *tail + sizeof(*rf), out, rf->len);
	*tail += sizeof(*rf) + rf->len;
	ring_publish(w->results, *tail);
	mproc__pool_doorbell(p);
}

/*
 * The worker loop: returns 0 when told to exit or after
 * max_tasks_per_child tasks, 2 on a frame the manager cannot have
 * written.
 */
static int
worker_loop(mproc_pool *p, struct pool_worker *w, void *arg, void *out)
{
	uint32_t head = 0, tail = 0;	/* the rings are fresh */
	unsigned done = 0;
	struct task_frame tf;
	int rc;

	while ((rc = worker_take(p, w, &head, &tf, arg)) > 0) {
		struct result_frame rf;

		worker_run(p, &tf, arg, out, &rf);
		worker_put(p, w, &tail, &rf, out);
		if (p->max_tasks_per_child && ++done == p->max_tasks_per_child)
			return 0;
	}
	return rc < 0 ? 2 : 0;
}

/* The target of each worker process (mproc_process_new). */
static int
worker_main(void *argp)
{
	struct pool_worker *w = argp;
	mproc_pool *p = w->pool;
	void *arg, *out;
	int status;

	worker_unmap_others(p, w);
	pthread_sigmask(SIG_SETMASK, &p->worker_sigmask, NULL);
	if (p->initializer != NULL)
		p->initializer(p->initarg);
	arg = malloc(p->max_arg ? p->max_arg : 1);
	out = malloc(p->max_result ? p->max_result : 1);
	status = arg && out ? worker_loop(p, w, arg, out) : 1;
	free(arg);
	free(out);
	return status;
}

int
mproc__pool_worker_start(mproc_pool *p, struct pool_worker *w)
{
	char name[32];
	mproc_process *proc;
	int err;

	ring_init(w->tasks);
	ring_init(w->results);
	w->task_tail = w->result_head = 0;
	w->assigned = 0;
	w->window = WINDOW_MIN;
	w->stopping = w->broken = false;
	snprintf(name, sizeof(name), "PoolWorker-%u", ++p->spawned);
	proc = mproc_process_new(worker_main, w, name);
	if (proc == NULL)
		return -errno;
	if (mproc_process_set_daemon(proc, true) < 0 ||
	    mproc_process_start(proc) < 0) {
		err = errno;
		mproc_process_free(proc);
		return -err;
	}
	w->proc = proc;
	return 0;
}

void
mproc__pool_worker_kill(struct pool_worker *w)
{
	mproc_process_kill(w->proc);
	w->stopping = true;
}

void
mproc__pool_worker_reap(struct pool_worker *w)
{
	mproc_process_join(w->proc, MPROC_FOREVER);
	mproc_process_free(w->proc);
	w->proc = NULL;
}

int
mproc__pool_worker_fd(const struct pool_worker *w)
{
	return mproc_process_fd(w->proc);
}
