/* tests/test_pool.c: test_<object>_<situation>_<expected result> */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <mproc.h>
#include "util.h"

#define MAP_ITEMS 200
#define STRESS_ITEMS 20000

/* Memory shared with the workers: counters the tasks bump. */
struct shared {
	int runs[STRESS_ITEMS];		/* runs of each map item / task */
	pid_t sleeper;			/* pid of a worker inside task_sleep */
	int running;			/* tasks inside task_rendezvous */
	int scribbled;			/* mappings task_scribble overwrote */
	int slept;			/* task_sleep calls that returned */
};

static struct shared *sh;
static int init_value;		/* set in each worker by the initializer */

/* --- tasks (they run in the workers) --------------------------------- */

/* int[2] -> their sum */
static ssize_t
task_add(const void *arg, size_t len, void *out, size_t cap)
{
	int v[2], sum;

	if (len != sizeof(v) || cap < sizeof(sum))
		return errno = EINVAL, -1;
	memcpy(v, arg, sizeof(v));
	sum = v[0] + v[1];
	memcpy(out, &sum, sizeof(sum));
	return sizeof(sum);
}

/* Returns its argument unchanged. */
static ssize_t
task_echo(const void *arg, size_t len, void *out, size_t cap)
{
	if (len > cap)
		return errno = EMSGSIZE, -1;
	memcpy(out, arg, len);
	return (ssize_t)len;
}

/* Fails with the errno given as its int argument. */
static ssize_t
task_fail(const void *arg, size_t len, void *out, size_t cap)
{
	int err;

	(void)out, (void)cap;
	memcpy(&err, arg, len < sizeof(err) ? len : sizeof(err));
	errno = err;
	return -1;
}

/* Claims one byte more than the buffer it was given. */
static ssize_t
task_overflow(const void *arg, size_t len, void *out, size_t cap)
{
	(void)arg, (void)len, (void)out;
	return (ssize_t)cap + 1;
}

/* Returns the worker's pid. */
static ssize_t
task_getpid(const void *arg, size_t len, void *out, size_t cap)
{
	pid_t pid = getpid();

	(void)arg, (void)len, (void)cap;
	memcpy(out, &pid, sizeof(pid));
	return sizeof(pid);
}

/* Returns the value the initializer left in this worker. */
static ssize_t
task_init_value(const void *arg, size_t len, void *out, size_t cap)
{
	(void)arg, (void)len, (void)cap;
	memcpy(out, &init_value, sizeof(init_value));
	return sizeof(init_value);
}

/* Publishes its pid in sh->sleeper, then sleeps the ms of its int arg. */
static ssize_t
task_sleep(const void *arg, size_t len, void *out, size_t cap)
{
	int ms;

	(void)len, (void)out, (void)cap;
	memcpy(&ms, arg, sizeof(ms));
	__atomic_store_n(&sh->sleeper, getpid(), __ATOMIC_SEQ_CST);
	usleep((useconds_t)ms * 1000);
	__atomic_add_fetch(&sh->slept, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/* Kills its own worker process. */
static ssize_t
task_suicide(const void *arg, size_t len, void *out, size_t cap)
{
	(void)arg, (void)len, (void)out, (void)cap;
	raise(SIGKILL);
	return 0;
}

/* An item: an int, i | flags.  Counts the run of item i; with ITEM_FAILS
 * fails with EDOM when i % 7 == 3; with ITEM_CRASHES kills its own
 * worker when i % 50 == 20, with ITEM_CRASHES_RARELY when i % 1000 == 500;
 * else returns i * i. */
#define ITEM_FAILS 0x10000
#define ITEM_CRASHES 0x20000
#define ITEM_CRASHES_RARELY 0x40000

static ssize_t
task_item(const void *arg, size_t len, void *out, size_t cap)
{
	int a, i, sq;

	(void)len, (void)cap;
	memcpy(&a, arg, sizeof(a));
	i = a & 0xffff;
	__atomic_add_fetch(&sh->runs[i], 1, __ATOMIC_SEQ_CST);
	if ((a & ITEM_FAILS) && i % 7 == 3)
		return errno = EDOM, -1;
	if (((a & ITEM_CRASHES) && i % 50 == 20) ||
	    ((a & ITEM_CRASHES_RARELY) && i % 1000 == 500))
		raise(SIGKILL);
	sq = i * i;
	memcpy(out, &sq, sizeof(sq));
	return sizeof(sq);
}

/* Overwrites its worker's channel (with the default limits, the only
 * shared mapping over 256 KiB in /proc/self/maps) with garbage, then
 * kills its worker. */
static ssize_t
task_scribble(const void *arg, size_t len, void *out, size_t cap)
{
	char line[256];
	FILE *maps = fopen("/proc/self/maps", "r");

	(void)arg, (void)len, (void)out, (void)cap;
	while (maps != NULL && fgets(line, sizeof(line), maps) != NULL) {
		unsigned long lo, hi;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 &&
		    strcmp(perms, "rw-s") == 0 && hi - lo > 256 * 1024 &&
		    strstr(line, "/dev/zero") != NULL) {
			/* First: the manager may kill us mid-memset. */
			__atomic_add_fetch(&sh->scribbled, 1, __ATOMIC_SEQ_CST);
			memset((void *)lo, 0xa5, hi - lo);
		}
	}
	raise(SIGKILL);
	return 0;
}

/* Waits (up to 5 s) until sh->running reaches its int argument. */
static ssize_t
task_rendezvous(const void *arg, size_t len, void *out, size_t cap)
{
	int want;

	(void)len, (void)out, (void)cap;
	memcpy(&want, arg, sizeof(want));
	__atomic_add_fetch(&sh->running, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 5000; i++) {
		if (__atomic_load_n(&sh->running, __ATOMIC_SEQ_CST) >= want)
			return 0;
		usleep(1000);
	}
	return errno = ETIMEDOUT, -1;
}

/* Returns the worker's process name (mproc_current_name). */
static ssize_t
task_name(const void *arg, size_t len, void *out, size_t cap)
{
	const char *name = mproc_current_name();
	size_t n = strlen(name) + 1;

	(void)arg, (void)len;
	if (n > cap)
		return errno = EMSGSIZE, -1;
	memcpy(out, name, n);
	return (ssize_t)n;
}

static int
child_noop(void *arg)
{
	(void)arg;
	return 0;
}

/* Tries to start a process from the worker: returns 0, or fails with
 * the errno of mproc_process_start. */
static ssize_t
task_start_process(const void *arg, size_t len, void *out, size_t cap)
{
	mproc_process *p = mproc_process_new(child_noop, NULL, NULL);
	int rc, err;

	(void)arg, (void)len, (void)out, (void)cap;
	if (p == NULL)
		return -1;
	rc = mproc_process_start(p);
	err = errno;
	if (rc == 0)
		mproc_process_join(p, MPROC_FOREVER);
	mproc_process_free(p);
	errno = err;
	return rc;
}

static void
initializer(void *arg)
{
	init_value = *(int *)arg;
}

static void
initializer_crashes(void *arg)
{
	(void)arg;
	raise(SIGKILL);
}

/* --- fixture ---------------------------------------------------------- */

static int
setup(void **state)
{
	(void)state;
	test_deadline(30);
	memset(sh, 0, sizeof(*sh));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	assert_true(test_no_children());
	test_deadline(0);
	return 0;
}

static mproc_pool *
pool_new(int workers, unsigned max_tasks)
{
	struct mproc_pool_attr a = {
		.workers = workers, .max_tasks_per_child = max_tasks,
	};
	mproc_pool *p = mproc_pool_create(&a);

	assert_non_null(p);
	return p;
}

static mproc_result *
submit_int(mproc_pool *p, mproc_task_fn fn, int v)
{
	mproc_result *r = mproc_pool_submit(p, fn, &v, sizeof(v));

	assert_non_null(r);
	return r;
}

static int
get_int(mproc_result *r)
{
	int v = -1;

	assert_int_equal(mproc_result_get(r, &v, sizeof(v), 10000), sizeof(v));
	return v;
}

static void
assert_get_fails(mproc_result *r, int timeout_ms, int err)
{
	char buf[64];

	assert_int_equal(mproc_result_get(r, buf, sizeof(buf), timeout_ms), -1);
	assert_int_equal(errno, err);
}

/* Waits until a worker has entered task_sleep; returns its pid. */
static pid_t
wait_sleeper(void)
{
	pid_t pid;

	while ((pid = __atomic_load_n(&sh->sleeper, __ATOMIC_SEQ_CST)) == 0)
		usleep(1000);
	return pid;
}

/* --- create ----------------------------------------------------------- */

static void
test_pool_create_negative_workers_fails_einval(void **state)
{
	struct mproc_pool_attr a = { .workers = -1 };

	(void)state;
	assert_null(mproc_pool_create(&a));
	assert_int_equal(errno, EINVAL);
}

static void
test_pool_create_zero_workers_runs_cpu_count_tasks_at_once(void **state)
{
	mproc_pool *p = mproc_pool_create(NULL);
	int n = mproc_cpu_count();
	mproc_result **rs = calloc((size_t)n, sizeof(*rs));

	(void)state;
	assert_non_null(p);
	assert_non_null(rs);
	for (int i = 0; i < n; i++)	/* each waits until all n run */
		rs[i] = submit_int(p, task_rendezvous, n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(mproc_result_get(rs[i], NULL, 0, 10000), 0);
		mproc_result_free(rs[i]);
	}
	free(rs);
	mproc_pool_free(p);
}

static void
test_pool_initializer_runs_in_every_new_worker(void **state)
{
	int seven = 7;
	struct mproc_pool_attr a = {
		.workers = 2, .max_tasks_per_child = 1,
		.initializer = initializer, .initarg = &seven,
	};
	mproc_pool *p = mproc_pool_create(&a);

	(void)state;
	assert_non_null(p);
	assert_int_equal(init_value, 0);	/* not in the parent */
	for (int i = 0; i < 6; i++)
		assert_int_equal(get_int(submit_int(p, task_init_value, 0)), 7);
	mproc_pool_free(p);	/* also frees the results not freed */
}

static void
test_pool_create_oversized_limits_fail_einval(void **state)
{
	struct mproc_pool_attr a = { .workers = 1, .max_arg = SIZE_MAX };
	struct mproc_pool_attr b = { .workers = 1, .max_result = 1u << 30 };

	(void)state;
	assert_null(mproc_pool_create(&a));
	assert_int_equal(errno, EINVAL);
	assert_null(mproc_pool_create(&b));
	assert_int_equal(errno, EINVAL);
}

static void
test_pool_crashing_initializer_fails_tasks_echild_without_hanging(void **state)
{
	struct mproc_pool_attr a = {
		.workers = 2, .initializer = initializer_crashes,
	};
	mproc_pool *p = mproc_pool_create(&a);
	mproc_result *rs[3];

	(void)state;
	assert_non_null(p);
	for (int i = 0; i < 3; i++)
		rs[i] = submit_int(p, task_item, i);
	for (int i = 0; i < 3; i++) {
		assert_get_fails(rs[i], 10000, ECHILD);
		mproc_result_free(rs[i]);
	}
	for (int i = 0; i < 3; i++)
		assert_int_equal(sh->runs[i], 0);
	mproc_pool_free(p);
}

struct creator {
	mproc_pool *p;
	pid_t worker;
};

static void *
create_in_thread(void *arg)
{
	struct creator *c = arg;

	c->p = mproc_pool_create(&(struct mproc_pool_attr){ .workers = 1 });
	if (c->p != NULL &&
	    mproc_pool_apply(c->p, task_getpid, NULL, 0, &c->worker,
			     sizeof(c->worker)) != sizeof(c->worker))
		c->worker = -1;
	return NULL;
}

static void
test_pool_created_by_thread_that_ends_keeps_its_workers(void **state)
{
	struct creator c = { NULL, 0 };
	pthread_t t;
	pid_t pid = 0;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, create_in_thread, &c), 0);
	pthread_join(t, NULL);
	assert_non_null(c.p);
	assert_true(c.worker > 0);
	usleep(100 * 1000);	/* a parent-death signal would have come */
	assert_int_equal(mproc_pool_apply(c.p, task_getpid, NULL, 0, &pid,
					  sizeof(pid)), sizeof(pid));
	assert_int_equal(pid, c.worker);
	mproc_pool_free(c.p);
}

static void
test_pool_workers_are_daemonic_named_poolworker(void **state)
{
	mproc_pool *p = pool_new(1, 0);
	char name[64];

	(void)state;
	assert_int_equal(mproc_pool_apply(p, task_name, NULL, 0, name,
					  sizeof(name)), 13);
	assert_string_equal(name, "PoolWorker-1");
	assert_int_equal(mproc_pool_apply(p, task_start_process, NULL, 0,
					  NULL, 0), -1);
	assert_int_equal(errno, EPERM);
	mproc_pool_free(p);
}

/* --- submit, get, apply ------------------------------------------------ */

static void
test_pool_apply_adds_two_ints(void **state)
{
	mproc_pool *p = pool_new(2, 0);
	int v[2] = { 40, 2 }, sum = 0;

	(void)state;
	assert_int_equal(mproc_pool_apply(p, task_add, v, sizeof(v), &sum,
					  sizeof(sum)), sizeof(sum));
	assert_int_equal(sum, 42);
	mproc_pool_free(p);
}

static void
test_pool_submit_arg_over_max_arg_fails_emsgsize(void **state)
{
	struct mproc_pool_attr a = { .workers = 1, .max_arg = 100 };
	mproc_pool *p = mproc_pool_create(&a);
	char arg[101], out[101];

	(void)state;
	assert_non_null(p);
	test_fill(arg, sizeof(arg), 1);
	assert_null(mproc_pool_submit(p, task_echo, arg, 101));
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(mproc_pool_apply(p, task_echo, arg, 100, out,
					  sizeof(out)), 100);
	assert_true(test_check(out, 100, 1) == test_check(arg, 100, 1));
	assert_memory_equal(out, arg, 100);
	mproc_pool_free(p);
}

static void
test_pool_submit_bad_arguments_fails_einval(void **state)
{
	mproc_pool *p = pool_new(1, 0);

	(void)state;
	assert_null(mproc_pool_submit(NULL, task_echo, "x", 1));
	assert_int_equal(errno, EINVAL);
	assert_null(mproc_pool_submit(p, NULL, "x", 1));
	assert_int_equal(errno, EINVAL);
	assert_null(mproc_pool_submit(p, task_echo, NULL, 1));
	assert_int_equal(errno, EINVAL);
	mproc_pool_free(p);
}

static void
test_pool_large_results_arrive_whole(void **state)
{
	mproc_pool *p = pool_new(2, 0);
	static char arg[64 * 1024], out[64 * 1024];
	mproc_result *rs[16];

	(void)state;
	for (int i = 0; i < 16; i++) {
		test_fill(arg, sizeof(arg), (uint64_t)i + 1);
		rs[i] = mproc_pool_submit(p, task_echo, arg, sizeof(arg));
		assert_non_null(rs[i]);
	}
	for (int i = 0; i < 16; i++) {
		assert_int_equal(mproc_result_get(rs[i], out, sizeof(out),
						  10000), sizeof(out));
		assert_true(test_check(out, sizeof(out), (uint64_t)i + 1));
		mproc_result_free(rs[i]);
	}
	mproc_pool_free(p);
}

static void
test_result_get_task_errno_comes_back(void **state)
{
	mproc_pool *p = pool_new(1, 0);
	mproc_result *r = submit_int(p, task_fail, ENOENT);

	(void)state;
	assert_get_fails(r, 10000, ENOENT);
	assert_get_fails(r, 0, ENOENT);		/* and stays */
	mproc_result_free(r);
	mproc_pool_free(p);
}

static void
test_result_get_task_lying_or_without_errno_fails_eoverflow_eio(void **state)
{
	mproc_pool *p = pool_new(1, 0);
	mproc_result *big = mproc_pool_submit(p, task_overflow, NULL, 0);
	mproc_result *noerr = submit_int(p, task_fail, 0);

	(void)state;
	assert_non_null(big);
	assert_get_fails(big, 10000, EOVERFLOW);
	assert_get_fails(noerr, 10000, EIO);
	mproc_result_free(big);
	mproc_result_free(noerr);
	mproc_pool_free(p);
}

static void
test_result_get_pending_times_out_eagain_then_etimedout(void **state)
{
	mproc_pool *p = pool_new(1, 0);
	mproc_result *r = submit_int(p, task_sleep, 2000);
	struct timespec t0, t1;
	long ms;

	(void)state;
	assert_false(mproc_result_ready(r));
	assert_get_fails(r, 0, EAGAIN);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_get_fails(r, 100, ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 90 && ms < 1500);
	assert_int_equal(mproc_result_get(r, NULL, 0, 10000), 0);
	assert_true(mproc_result_ready(r));
	mproc_result_free(r);
	mproc_pool_free(p);
}

static void
test_result_get_small_buffer_fails_emsgsize_and_result_stays(void **state)
{
	mproc_pool *p = pool_new(1, 0);
	mproc_result *r = mproc_pool_submit(p, task_echo, "hello", 6);
	char buf[6];

	(void)state;
	assert_non_null(r);
	assert_int_equal(mproc_result_get(r, buf, 5, 10000), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(mproc_result_get(r, buf, sizeof(buf), 0), 6);
	assert_string_equal(buf, "hello");
	mproc_result_free(r);
	mproc_pool_free(p);
}

static void
result_get_interrupted(int sa_flags, int timeout_ms)
{
	struct test_nagger n;
	mproc_pool *p = pool_new(1, 0);
	mproc_result *r = submit_int(p, task_sleep, 3000);

	assert_int_equal(test_nag_start(&n, sa_flags), 0);
	assert_get_fails(r, timeout_ms, EINTR);
	test_nag_stop(&n);
	mproc_result_free(r);		/* pending: detached */
	mproc_pool_free(p);
}

static void
test_result_get_interrupted_by_handler_fails_eintr(void **state)
{
	(void)state;
	result_get_interrupted(0, 10000);
}

/* SA_RESTART does not make a waiting call go on: API.md asks for EINTR. */
static void
test_result_get_forever_interrupted_by_sa_restart_handler_fails_eintr(void **state)
{
	(void)state;
	result_get_interrupted(SA_RESTART, MPROC_FOREVER);
}

static void
test_result_get_bad_arguments_fail_einval(void **state)
{
	mproc_pool *p = pool_new(1, 0);
	mproc_result *r = submit_int(p, task_item, 1);
	int v;

	(void)state;
	assert_int_equal(mproc_result_get(NULL, &v, sizeof(v), 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_result_get(r, NULL, 4, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_result_get(r, &v, sizeof(v), -2), -1);
	assert_int_equal(errno, EINVAL);
	assert_false(mproc_result_ready(NULL));
	assert_int_equal(get_int(r), 1);
	mproc_result_free(r);
	mproc_pool_free(p);
}

static void *
get_shared(void *arg)
{
	return (void *)(intptr_t)mproc_result_get(arg, NULL, 0, 10000);
}

static void
test_result_get_from_three_threads_wakes_them_all(void **state)
{
	mproc_pool *p = pool_new(1, 0);
	mproc_result *r = submit_int(p, task_sleep, 200);
	pthread_t t[3];

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&t[i], NULL, get_shared, r), 0);
	for (int i = 0; i < 3; i++) {
		void *rc;

		pthread_join(t[i], &rc);
		assert_int_equal((intptr_t)rc, 0);
	}
	mproc_result_free(r);
	mproc_pool_free(p);
}

static void
test_result_free_pending_task_still_runs_once(void **state)
{
	mproc_pool *p = pool_new(1, 0);
	int i = 5;

	(void)state;
	mproc_result_free(mproc_pool_submit(p, task_item, &i, sizeof(i)));
	assert_int_equal(mproc_pool_close(p), 0);
	assert_int_equal(mproc_pool_join(p), 0);
	assert_int_equal(sh->runs[5], 1);
	mproc_pool_free(p);
}

struct submitter {
	mproc_pool *p;
	int base, bad;
};

static void *
submit_many(void *arg)
{
	struct submitter *s = arg;
	mproc_result *rs[300];

	for (int i = 0; i < 300; i++) {
		int v[2] = { s->base, i }, sum = -1;

		rs[i] = mproc_pool_submit(s->p, task_add, v, sizeof(v));
		if (rs[i] == NULL) {
			s->bad++;
			continue;
		}
		if ((i & 7) == 7) {	/* get some while others are queued */
			int j = i - 3;

			if (mproc_result_get(rs[j], &sum, sizeof(sum), 10000) !=
			    sizeof(sum) || sum != s->base + j)
				s->bad++;
		}
	}
	for (int i = 0; i < 300; i++) {
		int sum = -1;

		if (rs[i] != NULL &&
		    (mproc_result_get(rs[i], &sum, sizeof(sum), 10000) !=
		     sizeof(sum) || sum != s->base + i))
			s->bad++;
		mproc_result_free(rs[i]);
	}
	return NULL;
}

static void
test_pool_submit_from_four_threads_all_complete(void **state)
{
	mproc_pool *p = pool_new(2, 0);
	struct submitter s[4];
	pthread_t t[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		s[i] = (struct submitter){ .p = p, .base = 1000 * (i + 1) };
		assert_int_equal(pthread_create(&t[i], NULL, submit_many,
						&s[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(s[i].bad, 0);
	}
	mproc_pool_free(p);
}

/* --- map ---------------------------------------------------------------- */

static void
test_pool_map_keeps_order_and_runs_every_item_when_some_fail(void **state)
{
	mproc_pool *p = pool_new(2, 0);
	int args[MAP_ITEMS], out[MAP_ITEMS];

	(void)state;
	for (int i = 0; i < MAP_ITEMS; i++)
		args[i] = (MAP_ITEMS - 1 - i) | ITEM_FAILS;
	assert_int_equal(mproc_pool_map(p, task_item, args, sizeof(int),
					MAP_ITEMS, out, sizeof(int)), -1);
	assert_int_equal(errno, EDOM);
	for (int i = 0; i < MAP_ITEMS; i++) {
		int v = MAP_ITEMS - 1 - i;	/* item 3 fails, at index 196 */

		assert_int_equal(sh->runs[i], 1);
		if (v % 7 != 3)
			assert_int_equal(out[i], v * v);
	}
	assert_int_equal(mproc_pool_map(p, task_item, args + 2, sizeof(int), 2,
					out, sizeof(int)), 0);
	assert_int_equal(out[1], 196 * 196);
	mproc_pool_free(p);
}

static void
test_pool_map_with_crashing_items_fails_lowest_index_errno(void **state)
{
	mproc_pool *p = pool_new(2, 0);
	int args[MAP_ITEMS], out[MAP_ITEMS];

	(void)state;
	for (int i = 0; i < MAP_ITEMS; i++)	/* 20, 70...: ECHILD */
		args[i] = i | ITEM_CRASHES | (i > 20 ? ITEM_FAILS : 0);
	assert_int_equal(mproc_pool_map(p, task_item, args, sizeof(int),
					MAP_ITEMS, out, sizeof(int)), -1);
	assert_int_equal(errno, ECHILD);
	for (int i = 0; i < MAP_ITEMS; i++) {
		assert_int_equal(sh->runs[i], 1);
		if (i % 50 != 20 && (i < 20 || i % 7 != 3))
			assert_int_equal(out[i], i * i);
	}
	mproc_pool_free(p);
}

/* Tiny tasks fill the workers' windows, so each crash strands hundreds of
 * queued tasks in the dead worker's ring: all must run, exactly once. */
static void
test_pool_map_many_items_with_crashes_runs_each_exactly_once(void **state)
{
	mproc_pool *p = pool_new(3, 0);
	static int args[STRESS_ITEMS], out[STRESS_ITEMS];

	(void)state;
	for (int i = 0; i < STRESS_ITEMS; i++)
		args[i] = i | ITEM_CRASHES_RARELY;
	assert_int_equal(mproc_pool_map(p, task_item, args, sizeof(int),
					STRESS_ITEMS, out, sizeof(int)), -1);
	assert_int_equal(errno, ECHILD);
	for (int i = 0; i < STRESS_ITEMS; i++) {
		assert_int_equal(sh->runs[i], 1);
		if (i % 1000 != 500)
			assert_int_equal(out[i], i * i);
	}
	mproc_pool_free(p);
}

static void
test_pool_map_interrupted_fails_eintr_items_still_run(void **state)
{
	struct test_nagger n;
	mproc_pool *p = pool_new(2, 0);
	int args[4] = { 400, 400, 400, 400 }, out[4];

	(void)state;
	assert_int_equal(test_nag_start(&n, 0), 0);
	assert_int_equal(mproc_pool_map(p, task_sleep, args, sizeof(int), 4,
					out, sizeof(int)), -1);
	assert_int_equal(errno, EINTR);
	test_nag_stop(&n);
	assert_int_equal(mproc_pool_close(p), 0);
	assert_int_equal(mproc_pool_join(p), 0);
	assert_int_equal(sh->slept, 4);		/* all 4 still ran */
	mproc_pool_free(p);
}

static void
test_pool_calls_after_close_fail_epipe(void **state)
{
	mproc_pool *p = pool_new(1, 0);
	int v = 1, out;

	(void)state;
	assert_int_equal(mproc_pool_close(p), 0);
	assert_int_equal(mproc_pool_close(p), 0);
	assert_int_equal(mproc_pool_apply(p, task_item, &v, sizeof(v), &out,
					  sizeof(out)), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(mproc_pool_map(p, task_item, &v, sizeof(v), 1, &out,
					sizeof(out)), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(mproc_pool_join(p), 0);
	mproc_pool_free(p);
}

static void
test_pool_map_bad_arguments_fail_einval(void **state)
{
	mproc_pool *p = pool_new(1, 0);
	int v = 1, out;

	(void)state;
	assert_int_equal(mproc_pool_map(p, NULL, &v, sizeof(v), 1, &out,
					sizeof(out)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_pool_map(p, task_item, NULL, sizeof(v), 1, &out,
					sizeof(out)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_pool_map(p, task_item, &v, sizeof(v), 1, NULL,
					sizeof(out)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_pool_map(p, task_item, &v, sizeof(v), 0, NULL,
					0), 0);
	mproc_pool_free(p);
}

static void
test_pool_map_arg_over_max_arg_fails_emsgsize(void **state)
{
	struct mproc_pool_attr a = { .workers = 1, .max_arg = 4 };
	mproc_pool *p = mproc_pool_create(&a);
	int64_t args[3] = { 1, 2, 3 }, out[3];

	(void)state;
	assert_non_null(p);
	assert_int_equal(mproc_pool_map(p, task_echo, args, sizeof(args[0]), 3,
					out, sizeof(out[0])), -1);
	assert_int_equal(errno, EMSGSIZE);
	mproc_pool_free(p);
}

static void
test_pool_map_result_over_result_size_fails_emsgsize(void **state)
{
	mproc_pool *p = pool_new(1, 0);
	int64_t args[3] = { 1, 2, 3 };
	int32_t out[3];

	(void)state;
	assert_int_equal(mproc_pool_map(p, task_echo, args, sizeof(args[0]), 3,
					out, sizeof(out[0])), -1);
	assert_int_equal(errno, EMSGSIZE);
	mproc_pool_free(p);
}

/* --- crashes ------------------------------------------------------------ */

static void
test_pool_task_killing_its_worker_fails_echild_others_complete(void **state)
{
	mproc_pool *p = pool_new(2, 0);
	mproc_result *rs[40];

	(void)state;
	for (int i = 0; i < 40; i++)
		rs[i] = i == 13 ? submit_int(p, task_suicide, 0)
				: submit_int(p, task_item, i | ITEM_FAILS);
	for (int i = 0; i < 40; i++) {
		if (i == 13)
			assert_get_fails(rs[i], 10000, ECHILD);
		else if (i % 7 == 3)
			assert_get_fails(rs[i], 10000, EDOM);
		else
			assert_int_equal(get_int(rs[i]), i * i);
		mproc_result_free(rs[i]);
	}
	for (int i = 0; i < 40; i++)
		assert_int_equal(sh->runs[i], i == 13 ? 0 : 1);
	assert_int_equal(get_int(submit_int(p, task_item, 9)), 81);
	mproc_pool_free(p);
}

static void
test_pool_worker_killed_from_outside_fails_echild_pool_works(void **state)
{
	mproc_pool *p = pool_new(1, 0);
	mproc_result *slow = submit_int(p, task_sleep, 5000);
	mproc_result *next = submit_int(p, task_item, 4);

	(void)state;
	assert_int_equal(kill(wait_sleeper(), SIGKILL), 0);
	assert_get_fails(slow, 10000, ECHILD);
	assert_int_equal(get_int(next), 16);
	assert_int_equal(sh->runs[4], 1);
	mproc_result_free(slow);
	mproc_result_free(next);
	mproc_pool_free(p);
}

static void
test_pool_worker_scribbling_on_its_channel_fails_echild_only(void **state)
{
	mproc_pool *p = pool_new(1, 0);
	mproc_result *bad = mproc_pool_submit(p, task_scribble, NULL, 0);
	mproc_result *rs[10];

	(void)state;
	assert_non_null(bad);
	for (int i = 0; i < 10; i++)
		rs[i] = submit_int(p, task_item, i);
	assert_get_fails(bad, 10000, ECHILD);
	assert_int_equal(sh->scribbled, 1);	/* its channel, no other */
	for (int i = 0; i < 10; i++) {
		assert_int_equal(get_int(rs[i]), i * i);
		assert_int_equal(sh->runs[i], 1);
		mproc_result_free(rs[i]);
	}
	mproc_result_free(bad);
	mproc_pool_free(p);
}

static void
test_pool_max_tasks_per_child_replaces_workers(void **state)
{
	(void)state;
	for (unsigned k = 1; k <= 3; k++) {
		mproc_pool *p = pool_new(1, k);
		pid_t pids[9];

		for (int i = 0; i < 9; i++)
			pids[i] = get_int(submit_int(p, task_getpid, 0));
		for (int i = 1; i < 9; i++) {
			if (i % (int)k == 0)
				assert_int_not_equal(pids[i], pids[i - 1]);
			else
				assert_int_equal(pids[i], pids[i - 1]);
		}
		mproc_pool_free(p);
	}
}

/* --- close, join, terminate, free ---------------------------------------- */

static void
test_pool_join_waits_for_running_tasks(void **state)
{
	mproc_pool *p = pool_new(2, 0);
	mproc_result *rs[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		rs[i] = submit_int(p, task_sleep, 200);
	assert_int_equal(mproc_pool_close(p), 0);
	assert_int_equal(mproc_pool_join(p), 0);
	for (int i = 0; i < 4; i++) {
		assert_true(mproc_result_ready(rs[i]));
		assert_int_equal(mproc_result_get(rs[i], NULL, 0, 0), 0);
		mproc_result_free(rs[i]);
	}
	mproc_pool_free(p);
}

static void
test_pool_join_before_close_fails_einval(void **state)
{
	mproc_pool *p = pool_new(1, 0);

	(void)state;
	assert_int_equal(mproc_pool_join(p), -1);
	assert_int_equal(errno, EINVAL);
	mproc_pool_free(p);
}

static void
test_pool_close_then_join_finishes_queued_work(void **state)
{
	mproc_pool *p = pool_new(2, 0);
	mproc_result *rs[20];

	(void)state;
	for (int i = 0; i < 20; i++)
		rs[i] = submit_int(p, task_item, i);
	assert_int_equal(mproc_pool_close(p), 0);
	assert_null(mproc_pool_submit(p, task_item, &rs, 4));
	assert_int_equal(errno, EPIPE);
	assert_int_equal(mproc_pool_join(p), 0);
	assert_true(test_no_children());
	for (int i = 0; i < 20; i++) {
		assert_true(mproc_result_ready(rs[i]));
		assert_int_equal(get_int(rs[i]), i * i);
		mproc_result_free(rs[i]);
	}
	assert_int_equal(mproc_pool_join(p), 0);	/* again: at once */
	mproc_pool_free(p);
}

static void
test_pool_terminate_fails_unfinished_results_ecanceled(void **state)
{
	mproc_pool *p = pool_new(1, 0);
	mproc_result *done = submit_int(p, task_item, 2);
	mproc_result *slow, *queued;

	(void)state;
	assert_int_equal(get_int(done), 4);
	slow = submit_int(p, task_sleep, 5000);
	queued = submit_int(p, task_item, 3);
	wait_sleeper();
	assert_int_equal(mproc_pool_terminate(p), 0);
	assert_true(test_no_children());
	assert_get_fails(slow, 0, ECANCELED);
	assert_get_fails(queued, 0, ECANCELED);
	assert_int_equal(get_int(done), 4);		/* done stays done */
	assert_null(mproc_pool_submit(p, task_item, &done, 4));
	assert_int_equal(errno, EPIPE);
	assert_int_equal(mproc_pool_join(p), 0);
	mproc_result_free(slow);
	mproc_result_free(queued);
	mproc_result_free(done);
	mproc_pool_free(p);
}

/* In a child: a pool busy with slow tasks, then exit() without a free. */
static void
exit_with_busy_pool(void)
{
	struct mproc_pool_attr a = { .workers = 2 };
	mproc_pool *p = mproc_pool_create(&a);
	int ms = 2000;

	if (p == NULL)
		_exit(1);
	for (int i = 0; i < 6; i++)
		if (mproc_pool_submit(p, task_sleep, &ms, sizeof(ms)) == NULL)
			_exit(2);
	usleep(50 * 1000);
	exit(0);
}

static void
test_pool_exit_without_free_leaves_no_process(void **state)
{
	pid_t pid;

	(void)state;
	/* Orphaned workers would become our children: test_no_children. */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		exit_with_busy_pool();
	assert_int_equal(test_reap(pid, 10), 0);
	usleep(300 * 1000);	/* time for any orphan to die and be ours */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}

struct racer {
	mproc_pool *p;
	int done, canceled, bad;
};

/* Submits and gets until the pool refuses: each result is right, or
 * canceled by the terminate. */
static void *
race_terminate(void *arg)
{
	struct racer *s = arg;
	mproc_result *r;
	int i = 0;

	while ((r = mproc_pool_submit(s->p, task_add, (int[2]){ i, 1 },
				      2 * sizeof(int))) != NULL) {
		int sum = -1;
		ssize_t n = mproc_result_get(r, &sum, sizeof(sum), 10000);

		if (n == sizeof(sum) && sum == i + 1)
			__atomic_add_fetch(&s->done, 1, __ATOMIC_SEQ_CST);
		else if (n < 0 && errno == ECANCELED)
			s->canceled++;
		else
			s->bad++;
		mproc_result_free(r);
		i++;
	}
	if (errno != EPIPE)
		s->bad++;
	return NULL;
}

static void
test_pool_terminate_while_threads_submit_ends_every_call(void **state)
{
	mproc_pool *p = pool_new(2, 0);
	struct racer s[4];
	pthread_t t[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		s[i] = (struct racer){ .p = p };
		assert_int_equal(pthread_create(&t[i], NULL, race_terminate,
						&s[i]), 0);
	}
	for (int i = 0; i < 4; i++)	/* every thread is under way */
		while (__atomic_load_n(&s[i].done, __ATOMIC_SEQ_CST) == 0)
			usleep(1000);
	assert_int_equal(mproc_pool_terminate(p), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(s[i].bad, 0);
	}
	mproc_pool_free(p);
}

static void
test_pool_free_with_unfreed_results_frees_them(void **state)
{
	mproc_pool *p = pool_new(2, 0);

	(void)state;
	get_int(submit_int(p, task_item, 1));
	submit_int(p, task_sleep, 5000);
	for (int i = 0; i < 50; i++)
		submit_int(p, task_item, i);
	mproc_pool_free(p);	/* ASan: nothing leaks */
	mproc_pool_free(NULL);
	mproc_result_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_pool_create_negative_workers_fails_einval),
		T(test_pool_create_zero_workers_runs_cpu_count_tasks_at_once),
		T(test_pool_initializer_runs_in_every_new_worker),
		T(test_pool_create_oversized_limits_fail_einval),
		T(test_pool_created_by_thread_that_ends_keeps_its_workers),
		T(test_pool_workers_are_daemonic_named_poolworker),
		T(test_pool_crashing_initializer_fails_tasks_echild_without_hanging),
		T(test_pool_apply_adds_two_ints),
		T(test_pool_submit_arg_over_max_arg_fails_emsgsize),
		T(test_pool_submit_bad_arguments_fails_einval),
		T(test_pool_large_results_arrive_whole),
		T(test_result_get_task_errno_comes_back),
		T(test_result_get_task_lying_or_without_errno_fails_eoverflow_eio),
		T(test_result_get_pending_times_out_eagain_then_etimedout),
		T(test_result_get_small_buffer_fails_emsgsize_and_result_stays),
		T(test_result_get_interrupted_by_handler_fails_eintr),
		T(test_result_get_forever_interrupted_by_sa_restart_handler_fails_eintr),
		T(test_result_get_bad_arguments_fail_einval),
		T(test_result_get_from_three_threads_wakes_them_all),
		T(test_result_free_pending_task_still_runs_once),
		T(test_pool_submit_from_four_threads_all_complete),
		T(test_pool_map_keeps_order_and_runs_every_item_when_some_fail),
		T(test_pool_map_with_crashing_items_fails_lowest_index_errno),
		T(test_pool_map_many_items_with_crashes_runs_each_exactly_once),
		T(test_pool_map_interrupted_fails_eintr_items_still_run),
		T(test_pool_calls_after_close_fail_epipe),
		T(test_pool_map_bad_arguments_fail_einval),
		T(test_pool_map_arg_over_max_arg_fails_emsgsize),
		T(test_pool_map_result_over_result_size_fails_emsgsize),
		T(test_pool_task_killing_its_worker_fails_echild_others_complete),
		T(test_pool_worker_killed_from_outside_fails_echild_pool_works),
		T(test_pool_worker_scribbling_on_its_channel_fails_echild_only),
		T(test_pool_max_tasks_per_child_replaces_workers),
		T(test_pool_join_waits_for_running_tasks),
		T(test_pool_join_before_close_fails_einval),
		T(test_pool_close_then_join_finishes_queued_work),
		T(test_pool_terminate_fails_unfinished_results_ecanceled),
		T(test_pool_terminate_while_threads_submit_ends_every_call),
		T(test_pool_free_with_unfreed_results_frees_them),
		T(test_pool_exit_without_free_leaves_no_process),
#undef T
	};

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
