/*
 * pool-map.c - mproc_pool_map(): n items submitted as one batch under one
 * lock, run as n ordinary tasks (so a crash costs one item, as for any
 * task), and waited for on one futex word rather than one per item.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pool.h"

static void
batch_free(struct pool_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		mproc__pool_result_data_free(&b->items[i]);
	free(b->items);
	free(b->args);
	free(b);
}

static struct pool_batch *
batch_new(mproc_pool *p, mproc_task_fn fn, const void *args, size_t arg_size,
	  size_t n)
{
	struct pool_batch *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->n = n;
	b->left = (int32_t)n;
	b->items = calloc(n, sizeof(*b->items));
	b->args = malloc(n * arg_size + 1);
	if (b->items == NULL || b->args == NULL) {
		batch_free(b);
		return NULL;
	}
	if (n * arg_size > 0)
		memcpy(b->args, args, n * arg_size);
	for (size_t i = 0; i < n; i++)
		b->items[i] = (struct mproc_result){
			.data = b->items[i].small, .pool = p, .batch = b,
			.fn = fn, .arg = b->args + i * arg_size,
			.arg_len = arg_size,
		};
	return b;
}

/* Queues every item at once; -EPIPE if the pool is closed. */
static int
batch_submit(mproc_pool *p, struct pool_batch *b)
{
	pthread_mutex_lock(&p->lock);
	if (p->closed) {
		pthread_mutex_unlock(&p->lock);
		return -EPIPE;
	}
	for (size_t i = 0; i < b->n; i++) {
		b->items[i].id = ++p->next_id;
		mproc__pool_list_push(&p->queue, &b->items[i]);
	}
	pthread_mutex_unlock(&p->lock);
	mproc__pool_doorbell(p);
	return 0;
}

void
mproc__pool_batch_complete_locked(struct pool_batch *b)
{
	/*
	 * [D2] The item's err, len and data before left: uatomic_sub_return
	 * is a full barrier.  Pairs with [G2] in batch_wait().
	 */
	if (uatomic_sub_return(&b->left, 1) != 0)
		return;
	if (b->detached)
		batch_free(b);
	else
		mproc__futex_wake(&b->left, INT32_MAX);
}

/* Waits until every item is complete: 0, or -EINTR. */
static int
batch_wait(struct pool_batch *b)
{
	struct mproc__deadline forever = { .timeout_ms = MPROC_FOREVER };
	int32_t left;

	/* Only the last item wakes us: the word is compared once, at sleep. */
	while ((left = uatomic_read(&b->left)) != 0) {
		int rc = mproc__futex_wait(&b->left, left, &forever);

		if (rc < 0)
			return rc;
	}
	cmm_smp_rmb();	/* [G2] left before the items; pairs with [D2] */
	return 0;
}

/*
 * The caller is done with b: frees it if every item is complete, else
 * leaves it to the last item.  Under the lock, so the manager has also
 * finished its wake-up call on b->left.
 */
static void
batch_release(mproc_pool *p, struct pool_batch *b)
{
	bool done;

	pthread_mutex_lock(&p->lock);
	done = uatomic_read(&b->left) == 0;
	b->detached = !done;
	pthread_mutex_unlock(&p->lock);
	if (done)
		batch_free(b);
}

/* Stores the results in order; returns 0 or -errno of the first failed
 * item.  A failed item's slot is left as it was; a short result is
 * padded with zero bytes. */
static int
batch_collect(const struct pool_batch *b, unsigned char *results,
	      size_t result_size)
{
	int first_err = 0;

	for (size_t i = 0; i < b->n; i++) {
		const struct mproc_result *r = &b->items[i];
		unsigned char *out = results + i * result_size;
		int err = r->err ? r->err : r->len > result_size ? EMSGSIZE : 0;

		if (err != 0) {
			first_err = first_err ? first_err : err;
			continue;
		}
		if (r->len > 0)
			memcpy(out, r->data, r->len);
		if (r->len < result_size)
			memset(out + r->len, 0, result_size - r->len);
	}
	return -first_err;
}

static bool
map_args_valid(const mproc_pool *p, mproc_task_fn fn, const void *args,
	       size_t arg_size, size_t n, const void *results,
	       size_t result_size)
{
	return p != NULL && fn != NULL &&
	       (n == 0 || arg_size == 0 || args != NULL) &&
	       (n == 0 || result_size == 0 || results != NULL) &&
	       n <= INT32_MAX &&
	       (arg_size == 0 || n <= SIZE_MAX / arg_size) &&
	       (result_size == 0 || n <= SIZE_MAX / result_size);
}

int
mproc_pool_map(mproc_pool *p, mproc_task_fn fn, const void *args,
	       size_t arg_size, size_t n, void *results, size_t result_size)
{
	struct pool_batch *b;
	int rc;

	if (!map_args_valid(p, fn, args, arg_size, n, results, result_size))
		return fail(EINVAL);
	if (arg_size > p->max_arg)
		return fail(EMSGSIZE);
	if (n == 0)
		return 0;
	b = batch_new(p, fn, args, arg_size, n);
	if (b == NULL)
		return fail(ENOMEM);
	rc = batch_submit(p, b);
	if (rc < 0) {
		batch_free(b);
		return fail(-rc);
	}
	rc = batch_wait(b);
	if (rc == 0)
		rc = batch_collect(b, results, result_size);
	batch_release(p, b);
	return result(rc);
}
