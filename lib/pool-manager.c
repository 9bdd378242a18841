/*
 * pool-manager.c - the manager thread of a pool.  Each pass it takes the
 * new submissions, reads every worker's results, hands out tasks, and
 * sleeps in poll(2) on the doorbell eventfd and the workers' pidfds only
 * when nothing is left to do.  A worker that dies is reaped and replaced;
 * see pool.h for what becomes of its tasks.
 *
 * Sleeping without lost wake-ups (a Dekker pair):
 *   manager: mgr_sleeping = 1; [M1] full barrier; re-check the rings and
 *            the queue; poll() only if both are empty.
 *   others:  publish (a result frame, or a task on the queue);
 *            [N1] full barrier; if mgr_sleeping: clear it, ring the bell.
 * [M1] pairs with [N1]: either the manager sees the new work, or the
 * other side sees mgr_sleeping == 1 and writes the eventfd.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "pool.h"

/*
 * A slot whose worker could not be started (fork failed), or whose
 * worker died before taking any task (its initializer crashed, say), is
 * refilled after this pause, so that a worker that cannot run does not
 * turn into a storm of forks.
 */
#define RESPAWN_PAUSE_MS 100

struct manager {
	mproc_pool *p;
	struct task_list queue;		/* taken from p->queue, in order */
	size_t open;			/* tasks assigned, without result */
	bool closed, terminating, exiting;
	struct pollfd *fds;		/* p->pollfds */
};

/* Appends the pool's queue to ours and reads the flags, under the lock. */
static void
take_submissions(struct manager *m)
{
	mproc_pool *p = m->p;

	pthread_mutex_lock(&p->lock);
	mproc__pool_list_prepend(&p->queue, &m->queue);	/* ours go first */
	m->queue = p->queue;
	p->queue = (struct task_list){ NULL, NULL, 0 };
	m->closed = p->closed;
	m->terminating = p->terminating;
	pthread_mutex_unlock(&p->lock);
}

/* Kills a worker that broke the protocol; its death is handled later. */
static void
worker_broken(struct pool_worker *w)
{
	w->broken = true;
	mproc__pool_worker_kill(w);
}

/* Copies one result frame's bytes into r (under the lock). */
static int
take_result_bytes(struct pool_worker *w, struct mproc_result *r, uint32_t pos,
		  uint32_t len)
{
	r->data = len <= sizeof(r->small) ? r->small : malloc(len);
	if (r->data == NULL)
		return -ENOMEM;
	ring_read(w->results, w->pool->result_ring_size, pos, r->data, len);
	r->len = len;
	return 0;
}

/* True if rf, found with used bytes published, is the result of r: a
 * worker's lengths and errno values are checked, never trusted. */
static bool
frame_valid(const mproc_pool *p, const struct result_frame *rf,
	    const struct mproc_result *r, uint32_t used)
{
	return r != NULL && rf->id == r->id && rf->err >= 0 &&
	       rf->err <= 4095 && rf->len <= p->max_result &&
	       rf->len <= used - sizeof(*rf);
}

/*
 * Reads every complete result frame of worker w and completes its open
 * tasks, in order, under one lock.  A frame that does not match the
 * oldest open task, or runs past what was published, marks the worker
 * broken.  Returns the results taken.
 */
static size_t
collect(struct manager *m, struct pool_worker *w)
{
	uint32_t size = m->p->result_ring_size, head = w->result_head;
	uint32_t used = ring_used(w->results, head);
	size_t taken = 0;

	if (w->proc == NULL || w->broken || used == 0)
		return 0;
	pthread_mutex_lock(&m->p->lock);
	while (used >= sizeof(struct result_frame) && used <= size) {
		struct result_frame rf;
		struct mproc_result *r = w->open.head;

		ring_read(w->results, size, head, &rf, sizeof(rf));
		if (!frame_valid(m->p, &rf, r, used))
			break;
		mproc__pool_list_pop(&w->open);
		mproc__pool_complete_locked(m->p, r, rf.err ? rf.err :
			-take_result_bytes(w, r, head + sizeof(rf), rf.len));
		head += sizeof(rf) + rf.len;
		used -= sizeof(rf) + rf.len;
		taken++;
	}
	pthread_mutex_unlock(&m->p->lock);
	if (used > 0)
		worker_broken(w);
	m->open -= taken;
	if (taken > 0 && w->open.n == 0)	/* it ran dry */
		w->window = m->queue.n == 0 ? WINDOW_MIN :
			    w->window < WINDOW_MAX ? 2 * w->window : WINDOW_MAX;
	w->result_head = head;
	ring_release(w->results, head);
	ring_wake(&w->results->prod_waiting, &w->results->head);
	return taken;
}

static bool
worker_usable(const mproc_pool *p, const struct pool_worker *w)
{
	return w->proc != NULL && !w->stopping &&
	       (p->max_tasks_per_child == 0 ||
		w->assigned < p->max_tasks_per_child);
}

/* Writes task r into w's ring if it fits; false when the ring is full. */
static bool
assign(struct manager *m, struct pool_worker *w, struct mproc_result *r)
{
	struct task_frame tf = {
		.id = r->id, .fn = (uint64_t)(uintptr_t)r->fn,
		.len = (uint32_t)r->arg_len,
	};
	uint32_t size = m->p->task_ring_size, need = sizeof(tf) + tf.len;
	uint32_t head = ring_head(w->tasks);

	if (w->task_tail - head > size) {
		worker_broken(w);	/* it moved head past our tail */
		return false;
	}
	if (ring_free(size, w->task_tail, head) < need)
		return false;
	ring_write(w->tasks, size, w->task_tail, &tf, sizeof(tf));
	ring_write(w->tasks, size, w->task_tail + sizeof(tf), r->arg, tf.len);
	w->task_tail += need;
	r->task_end = w->task_tail;
	mproc__pool_list_push(&w->open, mproc__pool_list_pop(&m->queue));
	w->assigned++;
	m->open++;
	return true;
}

/*
 * Hands out queued tasks.  Each worker gets up to an even share of all
 * the work (queued plus open), at most its window (see pool.h).  One
 * publish and at most one futex wake per worker.
 */
static void
dispatch(struct manager *m)
{
	mproc_pool *p = m->p;
	size_t live = 0, share;

	for (int i = 0; i < p->nworkers; i++)
		live += worker_usable(p, &p->workers[i]);
	if (live == 0 || m->queue.n == 0)
		return;
	share = (m->queue.n + m->open + live - 1) / live;
	for (int i = 0; i < p->nworkers && m->queue.n > 0; i++) {
		struct pool_worker *w = &p->workers[i];
		uint32_t tail = w->task_tail;

		while (m->queue.n > 0 && worker_usable(p, w) &&
		       w->open.n < share && w->open.n < w->window &&
		       assign(m, w, m->queue.head))
			;
		if (w->task_tail != tail) {
			ring_publish(w->tasks, w->task_tail);
			ring_wake(&w->tasks->cons_waiting, &w->tasks->tail);
		}
	}
}

/* Tells every worker to exit once the pool is closed and drained. */
static void
begin_exit(struct manager *m)
{
	struct task_frame bye = { 0 };

	m->exiting = true;
	for (int i = 0; i < m->p->nworkers; i++) {
		struct pool_worker *w = &m->p->workers[i];

		if (w->proc == NULL || w->stopping)
			continue;
		w->stopping = true;
		if (ring_free(m->p->task_ring_size, w->task_tail,
			      ring_head(w->tasks)) < sizeof(bye)) {
			worker_broken(w);	/* idle, so its ring is empty */
			continue;
		}
		ring_write(w->tasks, m->p->task_ring_size, w->task_tail, &bye,
			   sizeof(bye));
		w->task_tail += sizeof(bye);
		ring_publish(w->tasks, w->task_tail);
		ring_wake(&w->tasks->cons_waiting, &w->tasks->tail);
	}
}

/* Where the oldest open task of w starts in its task ring. */
static uint32_t
first_start(const struct pool_worker *w)
{
	const struct mproc_result *r = w->open.head;

	return r->task_end - (uint32_t)(sizeof(struct task_frame) + r->arg_len);
}

/*
 * Settles the open tasks of a dead worker: the ones it consumed (by the
 * protocol, at most the one it was running) fail with ECHILD; the rest
 * go back to the front of the queue.  The oldest fails with ECHILD also
 * when the worker consumed nothing at all (its initializer crashed, say)
 * or left its head outside its open tasks (it scribbled on its ring), so
 * that a task that kills every worker it meets fails instead of being
 * retried for ever.
 */
static void
settle_open(struct manager *m, struct pool_worker *w)
{
	uint32_t head = uatomic_read(&w->tasks->head);
	struct task_list requeue = { NULL, NULL, 0 };
	struct mproc_result *r;
	bool sane, fail_first;

	if (w->open.head == NULL)
		return;
	sane = w->task_tail - head <= w->task_tail - first_start(w);
	fail_first = !sane || (head == 0 && first_start(w) == 0);
	pthread_mutex_lock(&m->p->lock);
	while ((r = mproc__pool_list_pop(&w->open)) != NULL) {
		bool consumed = sane && (int32_t)(head - r->task_end) >= 0;

		m->open--;
		if (consumed || fail_first)
			mproc__pool_complete_locked(m->p, r, ECHILD);
		else
			mproc__pool_list_push(&requeue, r);
		fail_first = false;
	}
	pthread_mutex_unlock(&m->p->lock);
	mproc__pool_list_prepend(&m->queue, &requeue);
}

/* True while the pool still needs workers. */
static bool
work_left(const struct manager *m)
{
	return !m->closed || m->queue.n > 0 || m->open > 0;
}

static uint64_t
now_ms(void)
{
	struct timespec t = mproc__now();

	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void
start_worker(struct manager *m, struct pool_worker *w)
{
	if (mproc__pool_worker_start(m->p, w) == 0)
		m->fds[1 + (w - m->p->workers)].fd = mproc__pool_worker_fd(w);
	else
		w->respawn_ms = now_ms() + RESPAWN_PAUSE_MS;
}

/* Worker w has ended: take its last results, reap it, settle its tasks. */
static void
worker_ended(struct manager *m, struct pool_worker *w)
{
	bool began = uatomic_read(&w->tasks->head) != 0;

	collect(m, w);
	mproc__pool_worker_reap(w);
	m->fds[1 + (w - m->p->workers)].fd = -1;
	settle_open(m, w);
	w->respawn_ms = began ? 0 : now_ms() + RESPAWN_PAUSE_MS;
}

/* Starts workers in the empty slots, while the pool still needs them. */
static void
refill(struct manager *m)
{
	for (int i = 0; i < m->p->nworkers; i++) {
		struct pool_worker *w = &m->p->workers[i];

		if (w->proc == NULL && !m->terminating && work_left(m) &&
		    now_ms() >= w->respawn_ms)
			start_worker(m, w);
	}
}

/* Something to do without sleeping: results, or submissions. */
static bool
work_visible(struct manager *m)
{
	mproc_pool *p = m->p;
	bool queued;

	for (int i = 0; i < p->nworkers; i++) {
		struct pool_worker *w = &p->workers[i];

		if (w->proc != NULL && !w->broken &&
		    ring_used(w->results, w->result_head) != 0)
			return true;
	}
	pthread_mutex_lock(&p->lock);
	queued = p->queue.n > 0 || p->closed != m->closed ||
		 p->terminating != m->terminating;
	pthread_mutex_unlock(&p->lock);
	return queued;
}

/* poll(2) timeout: forever, unless a slot waits for a worker. */
static int
sleep_timeout(struct manager *m)
{
	for (int i = 0; i < m->p->nworkers; i++)
		if (m->p->workers[i].proc == NULL)
			return RESPAWN_PAUSE_MS;
	return -1;
}

/* Sleeps if there is nothing to do; handles the workers that ended. */
static void
wait_events(struct manager *m)
{
	mproc_pool *p = m->p;
	int timeout = 0, ready;
	uint64_t bell;

	uatomic_set(&p->shared->mgr_sleeping, 1);
	cmm_smp_mb();	/* [M1] pairs with [N1] in mproc__pool_doorbell() */
	if (!work_visible(m))
		timeout = sleep_timeout(m);
	/* Even when busy, poll (without sleeping) for workers that died. */
	ready = poll(m->fds, 1 + p->nworkers, timeout);
	uatomic_set(&p->shared->mgr_sleeping, 0);
	if (ready > 0 && (m->fds[0].revents & POLLIN))
		(void)!read(p->doorbell, &bell, sizeof(bell));
	for (int i = 0; ready > 0 && i < p->nworkers; i++)
		if (m->fds[1 + i].fd >= 0 && m->fds[1 + i].revents)
			worker_ended(m, &p->workers[i]);
	refill(m);
}

/* terminate: kill and reap every worker, cancel every unfinished task. */
static void
cancel_all(struct manager *m)
{
	mproc_pool *p = m->p;
	struct mproc_result *r;

	for (int i = 0; i < p->nworkers; i++)
		if (p->workers[i].proc != NULL)
			mproc__pool_worker_kill(&p->workers[i]);
	for (int i = 0; i < p->nworkers; i++) {
		struct pool_worker *w = &p->workers[i];

		if (w->proc != NULL)
			mproc__pool_worker_reap(w);
		mproc__pool_list_prepend(&m->queue, &w->open);
		w->open = (struct task_list){ NULL, NULL, 0 };
	}
	take_submissions(m);
	pthread_mutex_lock(&p->lock);
	while ((r = mproc__pool_list_pop(&m->queue)) != NULL)
		mproc__pool_complete_locked(p, r, ECANCELED);
	pthread_mutex_unlock(&p->lock);
}

static bool
workers_gone(const mproc_pool *p)
{
	for (int i = 0; i < p->nworkers; i++)
		if (p->workers[i].proc != NULL)
			return false;
	return true;
}

/* One pass; false when the manager is done. */
static bool
manage(struct manager *m)
{
	take_submissions(m);
	if (m->terminating)
		return false;
	for (int i = 0; i < m->p->nworkers; i++)
		collect(m, &m->p->workers[i]);
	dispatch(m);
	if (!work_left(m) && !m->exiting)
		begin_exit(m);
	if (m->exiting && workers_gone(m->p))
		return false;
	wait_events(m);
	return true;
}

/* Forks the first workers; on failure, kills and reaps those started. */
static int
start_all(mproc_pool *p)
{
	int rc = 0;

	for (int i = 0; i < p->nworkers && rc == 0; i++)
		rc = mproc__pool_worker_start(p, &p->workers[i]);
	if (rc == 0)
		return 0;
	for (int i = 0; i < p->nworkers; i++)
		if (p->workers[i].proc != NULL)
			mproc__pool_worker_kill(&p->workers[i]);
	for (int i = 0; i < p->nworkers; i++)
		if (p->workers[i].proc != NULL)
			mproc__pool_worker_reap(&p->workers[i]);
	return rc;
}

void *
mproc__pool_manager_main(void *arg)
{
	struct manager m = { .p = arg };
	mproc_pool *p = m.p;
	int rc = start_all(p);

	p->start_err = -rc;
	cmm_smp_wmb();	/* [S2] start_err before started; pairs with [S3] */
	uatomic_set(&p->started, 1);
	mproc__futex_wake(&p->started, INT32_MAX);
	if (rc < 0)
		return NULL;
	m.fds = p->pollfds;
	m.fds[0] = (struct pollfd){ .fd = p->doorbell, .events = POLLIN };
	for (int i = 0; i < p->nworkers; i++)
		m.fds[1 + i] = (struct pollfd){
			.fd = mproc__pool_worker_fd(&p->workers[i]), .events = POLLIN,
		};
	while (manage(&m))
		;
	if (m.terminating)
		cancel_all(&m);
	uatomic_set(&p->manager_done, 1);
	mproc__futex_wake(&p->manager_done, INT32_MAX);
	return NULL;
}
