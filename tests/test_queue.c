/* tests/test_queue.c: test_<object>_<situation>_<expected result> */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <mproc.h>
#include "util.h"

struct fixture {
	char name[64];
	mproc_queue *q;
};

/* A small queue by default: tests that need another make their own. */
static const struct mproc_queue_attr small = { 4, 128, 0 };

static int
setup(void **state)
{
	static struct fixture f;

	test_deadline(20);
	test_name(f.name, sizeof(f.name));
	f.q = mproc_queue_create(f.name, &small);
	*state = &f;
	return f.q == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mproc_queue_close(f->q), 0);
	assert_int_equal(mproc_queue_unlink(f->name), 0);
	assert_true(test_no_children());
	test_deadline(0);
	return 0;
}

/* --- helpers ---------------------------------------------------------- */

typedef int child_fn(mproc_queue *q, void *arg);

/* Runs fn(q, arg) in a child that reports only by its exit status. */
static pid_t
spawn(child_fn *fn, mproc_queue *q, void *arg)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(q, arg));
	assert_true(pid > 0);
	return pid;
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Waits (at most 5 s) until stats show `putters` and `getters` blocked. */
static void
wait_for_waiters(mproc_queue *q, unsigned putters, unsigned getters)
{
	struct mproc_queue_stats st;

	for (int i = 0; i < 5000; i++) {
		assert_int_equal(mproc_queue_stats(q, &st), 0);
		if (st.putters_waiting == putters && st.getters_waiting == getters)
			return;
		sleep_ms(1);
	}
	fail_msg("waiters: %u putters, %u getters", st.putters_waiting,
		 st.getters_waiting);
}

static void
fill_queue(mproc_queue *q)
{
	size_t n = mproc_queue_capacity(q);

	for (size_t i = 0; i < n; i++)
		assert_int_equal(mproc_queue_put(q, &i, sizeof(i), 0), 0);
}

/* --- create, open, close, unlink -------------------------------------- */

static void
test_queue_create_defaults_are_1024_by_8192(void **state)
{
	struct fixture *f = *state;
	char name[64];
	mproc_queue *q;

	test_name(name, sizeof(name));
	q = mproc_queue_create(name, NULL);
	assert_non_null(q);
	assert_int_equal(mproc_queue_capacity(q), 1024);
	assert_int_equal(mproc_queue_msg_size(q), 8192);
	assert_int_equal(mproc_queue_close(q), 0);
	assert_int_equal(mproc_queue_unlink(name), 0);
	(void)f;
}

static void
test_queue_create_reports_exactly_what_was_asked(void **state)
{
	struct mproc_queue_attr attr = { 3, 100, 0 };
	char name[64], buf[100];
	mproc_queue *q;

	(void)state;
	test_name(name, sizeof(name));
	q = mproc_queue_create(name, &attr);
	assert_non_null(q);
	assert_int_equal(mproc_queue_capacity(q), 3);
	assert_int_equal(mproc_queue_msg_size(q), 100);
	fill_queue(q);
	assert_true(mproc_queue_full(q));
	assert_int_equal(mproc_queue_put(q, "x", 1, 0), -1);
	assert_int_equal(errno, EAGAIN);
	memset(buf, 'm', sizeof(buf));
	assert_int_equal(mproc_queue_put(q, buf, 101, 0), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(mproc_queue_get(q, buf, sizeof(buf), 0), sizeof(size_t));
	assert_int_equal(mproc_queue_put(q, buf, 100, 0), 0);
	assert_int_equal(mproc_queue_close(q), 0);
	assert_int_equal(mproc_queue_unlink(name), 0);
}

static void
test_queue_create_taken_name_fails_eexist(void **state)
{
	struct fixture *f = *state;

	assert_null(mproc_queue_create(f->name, NULL));
	assert_int_equal(errno, EEXIST);
	assert_int_equal(mproc_queue_capacity(f->q), 4);	/* untouched */
}

static void
test_queue_create_bad_name_fails_einval(void **state)
{
	(void)state;
	assert_null(mproc_queue_create("no-slash", NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(mproc_queue_create("/a/b", NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(mproc_queue_open("/a/b"));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_queue_unlink(""), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_queue_create_too_large_fails_and_leaves_nothing(void **state)
{
	struct mproc_queue_attr huge[] = {
		{ SIZE_MAX, 0, 0 }, { 0, SIZE_MAX, 0 },
		{ (size_t)1 << 40, 8192, 0 }, { 1, (size_t)1 << 40, 0 },
	};
	char name[64];

	(void)state;
	test_name(name, sizeof(name));
	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		assert_null(mproc_queue_create(name, &huge[i]));
		assert_true(errno == EINVAL || errno == ENOMEM);
		assert_null(mproc_queue_open(name));
		assert_int_equal(errno, ENOENT);
	}
	assert_null(mproc_queue_create(NULL, &huge[2]));
	assert_true(errno == EINVAL || errno == ENOMEM);
}

static void
test_queue_open_missing_fails_enoent(void **state)
{
	char name[64];

	(void)state;
	test_name(name, sizeof(name));
	assert_null(mproc_queue_open(name));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(mproc_queue_unlink(name), -1);
	assert_int_equal(errno, ENOENT);
}

/* A segment made by shm_open(), filled with byte, of size bytes. */
static void
make_foreign_segment(const char *name, size_t size, int byte)
{
	int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
	void *p;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	memset(p, byte, size);
	munmap(p, size);
	close(fd);
}

static void
test_queue_open_foreign_segment_fails_eproto(void **state)
{
	char name[64];

	(void)state;
	test_name(name, sizeof(name));
	make_foreign_segment(name, 1 << 20, 0);
	assert_null(mproc_queue_open(name));
	assert_int_equal(errno, EPROTO);
	assert_int_equal(shm_unlink(name), 0);
	make_foreign_segment(name, 16, 0x5a);	/* smaller than a header */
	assert_null(mproc_queue_open(name));
	assert_int_equal(errno, EPROTO);
	assert_int_equal(shm_unlink(name), 0);
}

static void
test_queue_open_segment_of_wrong_size_fails_eproto(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	int fd = shm_open(f->name, O_RDWR, 0);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(ftruncate(fd, st.st_size + 4096), 0);
	assert_null(mproc_queue_open(f->name));
	assert_int_equal(errno, EPROTO);
	assert_int_equal(ftruncate(fd, st.st_size - 64), 0);
	assert_null(mproc_queue_open(f->name));
	assert_int_equal(errno, EPROTO);
	close(fd);
}

static void
test_queue_open_wrong_magic_fails_eproto(void **state)
{
	struct fixture *f = *state;
	int fd = shm_open(f->name, O_RDWR, 0);
	uint64_t word;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &word, sizeof(word), 0), sizeof(word));
	word ^= 1;
	assert_int_equal(pwrite(fd, &word, sizeof(word), 0), sizeof(word));
	close(fd);
	assert_null(mproc_queue_open(f->name));
	assert_int_equal(errno, EPROTO);
}

static void
test_queue_open_shares_messages_and_mode_is_0600(void **state)
{
	struct fixture *f = *state;
	char path[128], buf[128];
	struct stat st;
	mproc_queue *other = mproc_queue_open(f->name);

	assert_non_null(other);
	assert_int_equal(mproc_queue_capacity(other), 4);
	assert_int_equal(mproc_queue_msg_size(other), 128);
	assert_int_equal(mproc_queue_put(f->q, "hi", 3, 0), 0);
	assert_int_equal(mproc_queue_get(other, buf, sizeof(buf), 0), 3);
	assert_string_equal(buf, "hi");
	assert_int_equal(mproc_queue_close(other), 0);
	snprintf(path, sizeof(path), "/dev/shm%s", f->name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void
test_queue_unlink_keeps_open_handles_working(void **state)
{
	struct fixture *f = *state;
	char buf[128];

	assert_int_equal(mproc_queue_unlink(f->name), 0);
	assert_null(mproc_queue_open(f->name));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(mproc_queue_put(f->q, "x", 1, 0), 0);
	assert_int_equal(mproc_queue_get(f->q, buf, sizeof(buf), 0), 1);
	/* teardown unlinks again: give it a name to remove. */
	mproc_queue_close(f->q);
	f->q = mproc_queue_create(f->name, &small);
	assert_non_null(f->q);
}

/* --- put and get ------------------------------------------------------- */

static void
test_queue_put_get_keep_bytes_length_and_fifo_order(void **state)
{
	struct fixture *f = *state;
	char msg[128], buf[128];

	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < 4; i++) {
			test_fill(msg, i * 40, round * 10 + i);
			assert_int_equal(mproc_queue_put(f->q, msg, i * 40, 0), 0);
		}
		for (size_t i = 0; i < 4; i++) {
			assert_int_equal(mproc_queue_get(f->q, buf, sizeof(buf), 0),
					 (ssize_t)(i * 40));
			assert_true(test_check(buf, i * 40, round * 10 + i));
		}
	}
	assert_true(mproc_queue_empty(f->q));
}

static void
test_queue_get_small_buffer_fails_emsgsize_and_consumes_nothing(void **state)
{
	struct fixture *f = *state;
	char buf[128];

	assert_int_equal(mproc_queue_put(f->q, "a", 1, 0), 0);
	assert_int_equal(mproc_queue_get(f->q, buf, 127, 0), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(mproc_queue_size(f->q), 1);
	assert_int_equal(mproc_queue_get(f->q, buf, 128, 0), 1);
}

static void
test_queue_get_empty_zero_timeout_fails_eagain(void **state)
{
	struct fixture *f = *state;
	char buf[128];

	assert_int_equal(mproc_queue_get(f->q, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, EAGAIN);
	assert_null(mproc_queue_acquire(f->q, &(size_t){ 0 }, 0));
	assert_int_equal(errno, EAGAIN);
}

static void
test_queue_get_empty_times_out_etimedout_in_loose_bounds(void **state)
{
	struct fixture *f = *state;
	struct timespec t0;
	char buf[128];
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(mproc_queue_get(f->q, buf, sizeof(buf), 150), -1);
	assert_int_equal(errno, ETIMEDOUT);
	ms = elapsed_ms(&t0);
	assert_true(ms >= 140 && ms < 3000);
}

static void
test_queue_put_full_times_out_etimedout_in_loose_bounds(void **state)
{
	struct fixture *f = *state;
	struct timespec t0;
	long ms;

	fill_queue(f->q);
	assert_int_equal(mproc_queue_put(f->q, "x", 1, 0), -1);
	assert_int_equal(errno, EAGAIN);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(mproc_queue_put(f->q, "x", 1, 150), -1);
	assert_int_equal(errno, ETIMEDOUT);
	ms = elapsed_ms(&t0);
	assert_true(ms >= 140 && ms < 3000);
	assert_null(mproc_queue_reserve(f->q, 0));
	assert_int_equal(errno, EAGAIN);
}

static void
test_queue_bad_arguments_fail_einval(void **state)
{
	struct fixture *f = *state;
	struct mproc_queue_stats st;
	char buf[128];

	assert_int_equal(mproc_queue_put(NULL, "x", 1, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_queue_put(f->q, NULL, 1, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_queue_put(f->q, "x", 1, -2), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_queue_get(NULL, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_queue_get(f->q, NULL, 128, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_queue_get(f->q, buf, sizeof(buf), -7), -1);
	assert_int_equal(errno, EINVAL);
	assert_null(mproc_queue_reserve(NULL, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(mproc_queue_acquire(f->q, NULL, 0));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_queue_stats(f->q, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_queue_stats(NULL, &st), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_queue_shutdown(NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_queue_close(NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_queue_capacity(NULL), 0);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_queue_msg_size(NULL), 0);
	assert_false(mproc_queue_empty(NULL));
	assert_false(mproc_queue_full(NULL));
	assert_int_equal(mproc_queue_size(NULL), 0);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_queue_commit(NULL, NULL, 0), -1);
	assert_int_equal(mproc_queue_release(NULL, NULL), -1);
	assert_int_equal(mproc_queue_size(f->q), 0);	/* nothing changed */
}

static int
put_after_delay(mproc_queue *q, void *arg)
{
	(void)arg;
	sleep_ms(50);
	return mproc_queue_put(q, "ping", 5, 1000) == 0 ? 0 : 1;
}

static void
test_queue_blocked_get_is_woken_by_put_in_child(void **state)
{
	struct fixture *f = *state;
	pid_t pid = spawn(put_after_delay, f->q, NULL);
	char buf[128];

	assert_int_equal(mproc_queue_get(f->q, buf, sizeof(buf), MPROC_FOREVER), 5);
	assert_string_equal(buf, "ping");
	assert_int_equal(test_reap(pid, 5), 0);
}

static int
get_one_from_opened(mproc_queue *q, void *arg)
{
	mproc_queue *mine = mproc_queue_open(arg);
	char buf[128];
	int ok;

	(void)q;
	if (mine == NULL)
		return 2;
	ok = mproc_queue_get(mine, buf, sizeof(buf), 5000) == 3 &&
	     strcmp(buf, "yo") == 0;
	mproc_queue_close(mine);
	return ok ? 0 : 1;
}

static void
test_queue_blocked_put_is_woken_by_get_in_other_process(void **state)
{
	struct fixture *f = *state;
	pid_t pid;

	assert_int_equal(mproc_queue_put(f->q, "yo", 3, 0), 0);
	for (int i = 1; i < 4; i++)
		assert_int_equal(mproc_queue_put(f->q, "zz", 3, 0), 0);
	pid = spawn(get_one_from_opened, NULL, f->name);
	assert_int_equal(mproc_queue_put(f->q, "last", 5, 5000), 0);
	assert_int_equal(test_reap(pid, 5), 0);
	assert_int_equal(mproc_queue_size(f->q), 4);
}

static int
get_sum(mproc_queue *q, void *arg)
{
	uint64_t sum = 0, v;

	for (int i = 0; i < 1000; i++) {
		if (mproc_queue_get(q, &v, sizeof(v), 5000) != sizeof(v))
			return 1;
		sum += v;
	}
	return sum == *(uint64_t *)arg ? 0 : 2;
}

static void
test_queue_anonymous_is_shared_with_forked_child(void **state)
{
	struct mproc_queue_attr attr = { 8, 8, 0 };
	mproc_queue *q = mproc_queue_create(NULL, &attr);
	uint64_t sum = 0, v[8] = { 0 };
	pid_t pid;

	(void)state;
	assert_non_null(q);
	for (uint64_t i = 0; i < 1000; i++)
		sum += i * 7;
	pid = spawn(get_sum, q, &sum);
	for (uint64_t i = 0; i < 1000; i++) {
		uint64_t x = i * 7;

		assert_int_equal(mproc_queue_put(q, &x, sizeof(x), 5000), 0);
	}
	assert_int_equal(test_reap(pid, 10), 0);
	assert_int_equal(mproc_queue_get(q, v, sizeof(v), 0), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(mproc_queue_close(q), 0);
}

/* --- signals ----------------------------------------------------------- */

static void
on_signal(int sig)
{
	(void)sig;
}

/* In a child: blocks in a get (arg NULL) or a put, which SIGUSR1 must
 * interrupt with EINTR. */
static int
wait_expecting_eintr(mproc_queue *q, void *arg)
{
	struct sigaction sa;
	char buf[128];
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);
	if (arg == NULL)
		rc = (int)mproc_queue_get(q, buf, sizeof(buf), MPROC_FOREVER);
	else
		rc = mproc_queue_put(q, arg, strlen(arg) + 1, MPROC_FOREVER);
	if (rc != -1)
		return 1;
	return errno == EINTR ? 0 : 2;
}

/*
 * Sends SIGUSR1 to pid every 20 ms until it exits; returns its status as
 * test_reap() does.  One signal is not enough: one that lands after the
 * child registered as a waiter but before it entered the futex wait runs
 * its handler without interrupting anything, as with any blocking call.
 */
static int
interrupt_until_exit(pid_t pid)
{
	struct timespec pause = { 0, 20000000 };

	for (int i = 0; i < 250; i++) {
		int status;
		pid_t rc = waitpid(pid, &status, WNOHANG);

		if (rc == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		kill(pid, SIGUSR1);
		nanosleep(&pause, NULL);
	}
	return test_reap(pid, 0);
}

static void
test_queue_get_interrupted_by_signal_fails_eintr_and_takes_nothing(void **state)
{
	struct fixture *f = *state;
	pid_t pid = spawn(wait_expecting_eintr, f->q, NULL);
	struct mproc_queue_stats st;
	char buf[128];

	wait_for_waiters(f->q, 0, 1);
	assert_int_equal(interrupt_until_exit(pid), 0);
	assert_int_equal(mproc_queue_put(f->q, "after", 6, 0), 0);
	assert_int_equal(mproc_queue_get(f->q, buf, sizeof(buf), 0), 6);
	assert_int_equal(mproc_queue_stats(f->q, &st), 0);
	assert_int_equal(st.getters_waiting, 0);
}

static void
test_queue_put_interrupted_by_signal_fails_eintr_and_puts_nothing(void **state)
{
	struct fixture *f = *state;
	pid_t pid;
	char buf[128];

	fill_queue(f->q);
	pid = spawn(wait_expecting_eintr, f->q, "interrupted");
	wait_for_waiters(f->q, 1, 0);
	assert_int_equal(interrupt_until_exit(pid), 0);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(mproc_queue_get(f->q, buf, sizeof(buf), 0), sizeof(size_t));
		assert_int_equal(*(size_t *)buf, i);
	}
	assert_int_equal(mproc_queue_get(f->q, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, EAGAIN);
}

/* --- zero copy --------------------------------------------------------- */

static void
test_queue_reserve_commit_acquire_release_round_trip(void **state)
{
	struct fixture *f = *state;
	const char *in;
	size_t len = 0;
	char *slot;

	slot = mproc_queue_reserve(f->q, 0);
	assert_non_null(slot);
	assert_int_equal((uintptr_t)slot % 16, 0);
	assert_int_equal(mproc_queue_size(f->q), 0);	/* not yet committed */
	strcpy(slot, "zero copy");
	assert_int_equal(mproc_queue_commit(f->q, slot, 129), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(mproc_queue_commit(f->q, slot, 10), 0);
	assert_int_equal(mproc_queue_size(f->q), 1);
	in = mproc_queue_acquire(f->q, &len, 0);
	assert_non_null(in);
	assert_int_equal(len, 10);
	assert_string_equal(in, "zero copy");
	assert_int_equal(mproc_queue_size(f->q), 0);	/* acquired: gone */
	assert_int_equal(mproc_queue_release(f->q, in), 0);
	assert_int_equal(mproc_queue_release(f->q, in), -1);	/* twice */
	assert_int_equal(errno, EINVAL);
}

static void
test_queue_commit_or_release_of_foreign_pointer_fails_einval(void **state)
{
	struct fixture *f = *state;
	char local[16], *slot = mproc_queue_reserve(f->q, 0);
	size_t len;
	const char *in;

	assert_non_null(slot);
	assert_int_equal(mproc_queue_commit(f->q, local, 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_queue_commit(f->q, slot + 1, 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_queue_commit(f->q, NULL, 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_queue_release(f->q, slot), -1);	/* not acquired */
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_queue_commit(f->q, slot, 1), 0);
	assert_int_equal(mproc_queue_commit(f->q, slot, 1), -1);	/* twice */
	assert_int_equal(errno, EINVAL);
	in = mproc_queue_acquire(f->q, &len, 0);
	assert_non_null(in);
	assert_int_equal(mproc_queue_commit(f->q, (void *)in, 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_queue_release(f->q, in), 0);
}

/* --- shutdown ---------------------------------------------------------- */

static void
test_queue_shutdown_fails_put_epipe_and_lets_get_drain(void **state)
{
	struct fixture *f = *state;
	struct mproc_queue_stats st;
	char buf[128];

	assert_int_equal(mproc_queue_put(f->q, "a", 2, 0), 0);
	assert_int_equal(mproc_queue_put(f->q, "b", 2, 0), 0);
	assert_int_equal(mproc_queue_shutdown(f->q), 0);
	assert_int_equal(mproc_queue_put(f->q, "c", 2, MPROC_FOREVER), -1);
	assert_int_equal(errno, EPIPE);
	assert_null(mproc_queue_reserve(f->q, MPROC_FOREVER));
	assert_int_equal(errno, EPIPE);
	assert_int_equal(mproc_queue_get(f->q, buf, sizeof(buf), MPROC_FOREVER), 2);
	assert_string_equal(buf, "a");
	assert_int_equal(mproc_queue_get(f->q, buf, sizeof(buf), 0), 2);
	assert_string_equal(buf, "b");
	assert_int_equal(mproc_queue_get(f->q, buf, sizeof(buf), MPROC_FOREVER), -1);
	assert_int_equal(errno, EPIPE);
	assert_null(mproc_queue_acquire(f->q, &(size_t){ 0 }, MPROC_FOREVER));
	assert_int_equal(errno, EPIPE);
	assert_int_equal(mproc_queue_stats(f->q, &st), 0);
	assert_true(st.shut_down);
	assert_int_equal(mproc_queue_shutdown(f->q), 0);	/* twice is fine */
}

static int
put_expecting_epipe(mproc_queue *q, void *arg)
{
	(void)arg;
	if (mproc_queue_put(q, "x", 1, MPROC_FOREVER) != -1)
		return 1;
	return errno == EPIPE ? 0 : 2;
}

static int
get_expecting_epipe(mproc_queue *q, void *arg)
{
	char buf[128];

	(void)arg;
	if (mproc_queue_get(q, buf, sizeof(buf), MPROC_FOREVER) != -1)
		return 1;
	return errno == EPIPE ? 0 : 2;
}

static void
test_queue_shutdown_wakes_blocked_putters_with_epipe(void **state)
{
	struct fixture *f = *state;
	pid_t a, b;
	char buf[128];

	fill_queue(f->q);
	a = spawn(put_expecting_epipe, f->q, NULL);
	b = spawn(put_expecting_epipe, f->q, NULL);
	wait_for_waiters(f->q, 2, 0);
	assert_int_equal(mproc_queue_shutdown(f->q), 0);
	assert_int_equal(test_reap(a, 5), 0);
	assert_int_equal(test_reap(b, 5), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(mproc_queue_get(f->q, buf, sizeof(buf), 0), sizeof(size_t));
	assert_int_equal(mproc_queue_get(f->q, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, EPIPE);
}

static void
test_queue_shutdown_wakes_blocked_getters_with_epipe(void **state)
{
	struct fixture *f = *state;
	pid_t a = spawn(get_expecting_epipe, f->q, NULL);

	wait_for_waiters(f->q, 0, 1);
	assert_int_equal(mproc_queue_shutdown(f->q), 0);
	assert_int_equal(test_reap(a, 5), 0);
}

/* --- stats ------------------------------------------------------------- */

static void
test_queue_stats_count_puts_gets_depth_and_high_water(void **state)
{
	struct fixture *f = *state;
	struct mproc_queue_stats st;
	char buf[128];

	fill_queue(f->q);
	for (int i = 0; i < 3; i++)
		assert_int_equal(mproc_queue_get(f->q, buf, sizeof(buf), 0), sizeof(size_t));
	assert_int_equal(mproc_queue_put(f->q, "x", 1, 0), 0);
	assert_int_equal(mproc_queue_stats(f->q, &st), 0);
	assert_int_equal(st.puts, 5);
	assert_int_equal(st.gets, 3);
	assert_int_equal(st.depth, 2);
	assert_int_equal(st.high_water, 4);
	assert_int_equal(st.putters_waiting, 0);
	assert_int_equal(st.getters_waiting, 0);
	assert_false(st.shut_down);
	assert_int_equal(mproc_queue_size(f->q), 2);
	assert_false(mproc_queue_empty(f->q));
	assert_false(mproc_queue_full(f->q));
}

static int
get_forever(mproc_queue *q, void *arg)
{
	char buf[128];

	(void)arg;
	return mproc_queue_get(q, buf, sizeof(buf), MPROC_FOREVER) < 0;
}

static void
test_queue_stats_forget_waiters_of_killed_process(void **state)
{
	struct fixture *f = *state;
	pid_t a = spawn(get_forever, f->q, NULL), b = spawn(get_forever, f->q, NULL);

	wait_for_waiters(f->q, 0, 2);
	assert_int_equal(kill(a, SIGKILL), 0);
	assert_int_equal(test_reap(a, 5), 128 + SIGKILL);
	wait_for_waiters(f->q, 0, 1);
	assert_int_equal(mproc_queue_put(f->q, "x", 1, 0), 0);
	assert_int_equal(test_reap(b, 5), 0);
	wait_for_waiters(f->q, 0, 0);
}

/* --- many producers and consumers ------------------------------------- */

#define MSGS_PER_PRODUCER 100000

struct msg {
	uint32_t producer, seq;
	uint64_t sum;			/* test_checksum of the payload */
	unsigned char payload[16384];	/* 0..party.max_payload bytes used */
};

struct tally {				/* in a shared anonymous segment */
	uint32_t bad;			/* torn or out-of-order messages */
	uint32_t stop;			/* parent: producers are done */
	uint32_t done[8];		/* kill storm: puts returned per producer */
	uint8_t seen[];			/* per producer x seq: times received */
};

struct party {
	mproc_queue *q;
	struct tally *t;
	uint32_t id, count;
	unsigned delay_us;		/* at most, between calls */
	size_t max_payload;		/* <= sizeof(struct msg.payload) */
};

/* Payload lengths vary from message to message, 0..max. */
static size_t
payload_len(uint32_t producer, uint32_t seq, size_t max)
{
	return (producer * 7919u + seq * 31u) % (max + 1);
}

static size_t
make_msg(struct msg *m, uint32_t producer, uint32_t seq, size_t max)
{
	size_t n = payload_len(producer, seq, max);

	m->producer = producer;
	m->seq = seq;
	test_fill(m->payload, n, (uint64_t)producer << 32 | seq);
	m->sum = test_checksum(m->payload, n);
	return offsetof(struct msg, payload) + n;
}

static bool
msg_ok(const struct msg *m, ssize_t len, uint32_t count, size_t max)
{
	size_t n = (size_t)len - offsetof(struct msg, payload);

	return len >= (ssize_t)offsetof(struct msg, payload) &&
	       m->producer < 8 && m->seq < count &&
	       n == payload_len(m->producer, m->seq, max) &&
	       test_checksum(m->payload, n) == m->sum &&
	       test_check(m->payload, n, (uint64_t)m->producer << 32 | m->seq);
}

static void
random_pause(uint64_t *rng, unsigned max_us)
{
	if (max_us > 0) {
		struct timespec ts = { 0, (long)(test_rand(rng) % max_us) * 1000 };

		nanosleep(&ts, NULL);
	}
}

static int
producer(mproc_queue *q, void *arg)
{
	struct party *p = arg;
	uint64_t rng = p->id * 2654435761u + 1;
	struct msg m;

	for (uint32_t seq = 0; seq < p->count; seq++) {
		size_t len = make_msg(&m, p->id, seq, p->max_payload);

		if (mproc_queue_put(q, &m, len, 20000) < 0)
			return 1;
		__atomic_store_n(&p->t->done[p->id], seq + 1, __ATOMIC_SEQ_CST);
		random_pause(&rng, p->delay_us);
	}
	return 0;
}

/* Gets until the parent says stop and the queue stays empty.  With one
 * consumer (p->id == 0 and ordered), checks per-producer order. */
static int
consumer(mproc_queue *q, void *arg)
{
	struct party *p = arg;
	uint64_t rng = p->id * 40503u + 7;
	uint32_t next[8] = { 0 };
	struct msg m;

	for (;;) {
		ssize_t len = mproc_queue_get(q, &m, sizeof(m), 50);

		if (len < 0) {
			if (errno != ETIMEDOUT)
				return errno;
			if (__atomic_load_n(&p->t->stop, __ATOMIC_SEQ_CST))
				return 0;
			continue;
		}
		if (!msg_ok(&m, len, p->count, p->max_payload) ||
		    (p->delay_us == 1 && m.seq != next[m.producer]++))
			__atomic_add_fetch(&p->t->bad, 1, __ATOMIC_SEQ_CST);
		else
			__atomic_add_fetch(&p->t->seen[m.producer * p->count + m.seq],
					   1, __ATOMIC_SEQ_CST);
		random_pause(&rng, p->delay_us > 1 ? p->delay_us : 0);
	}
}

static struct tally *
new_tally(mproc_shm **shm, uint32_t producers, uint32_t count)
{
	*shm = mproc_shm_create(NULL, sizeof(struct tally) + producers * count, 0);
	assert_non_null(*shm);
	return mproc_shm_addr(*shm);
}

/* Runs np producers and nc consumers of count messages each; a consumer
 * delay_us of 1 means "check per-producer order" (use with nc == 1). */
static void
run_mpmc(mproc_queue *q, uint32_t np, uint32_t nc, uint32_t count,
	 unsigned consumer_delay_us)
{
	mproc_shm *shm;
	struct tally *t = new_tally(&shm, np, count);
	struct party parties[16];
	pid_t pids[16];

	for (uint32_t i = 0; i < np + nc; i++) {
		bool prod = i < np;

		parties[i] = (struct party){ q, t, prod ? i : i - np, count,
					     prod ? 0 : consumer_delay_us,
					     mproc_queue_msg_size(q) - offsetof(struct msg, payload) };
		pids[i] = spawn(prod ? producer : consumer, q, &parties[i]);
	}
	for (uint32_t i = 0; i < np; i++)
		assert_int_equal(test_reap(pids[i], 50), 0);
	__atomic_store_n(&t->stop, 1, __ATOMIC_SEQ_CST);
	for (uint32_t i = np; i < np + nc; i++)
		assert_int_equal(test_reap(pids[i], 50), 0);
	assert_int_equal(t->bad, 0);
	for (size_t i = 0; i < (size_t)np * count; i++)
		if (t->seen[i] != 1)
			fail_msg("producer %zu seq %zu received %u times",
				 i / count, i % count, t->seen[i]);
	assert_true(mproc_queue_empty(q));
	assert_int_equal(mproc_shm_close(shm), 0);
}

static void
test_queue_4_producers_4_consumers_lose_and_duplicate_nothing(void **state)
{
	struct mproc_queue_attr attr = { 64, offsetof(struct msg, payload) + 48, 0 };
	struct mproc_queue_stats st;
	mproc_queue *q = mproc_queue_create(NULL, &attr);

	(void)state;
	test_deadline(60);
	assert_non_null(q);
	run_mpmc(q, 4, 4, MSGS_PER_PRODUCER, 0);
	assert_int_equal(mproc_queue_stats(q, &st), 0);
	assert_int_equal(st.puts, 4 * MSGS_PER_PRODUCER);
	assert_int_equal(st.gets, 4 * MSGS_PER_PRODUCER);
	assert_int_equal(st.depth, 0);
	assert_true(st.high_water >= 1 && st.high_water <= 64);
	assert_int_equal(mproc_queue_close(q), 0);
}

static void
test_queue_one_consumer_gets_each_producers_messages_in_order(void **state)
{
	struct mproc_queue_attr attr = { 16, offsetof(struct msg, payload) + 48, 0 };
	mproc_queue *q = mproc_queue_create(NULL, &attr);

	(void)state;
	test_deadline(60);
	assert_non_null(q);
	run_mpmc(q, 4, 1, 20000, 1);
	assert_int_equal(mproc_queue_close(q), 0);
}

/* --- crash safety ------------------------------------------------------ */

#define STORM_ROUNDS 24
#define STORM_MSGS   2000

/*
 * Checks one kill-storm round: nothing duplicated or torn; every message
 * whose put returned was received, except at most one if the victim was
 * a consumer; a killed producer's message in flight (seq == done) was
 * received at most once.
 */
static void
check_storm_round(const struct tally *t, uint32_t victim, bool killed)
{
	unsigned lost = 0;

	assert_int_equal(t->bad, 0);
	for (uint32_t p = 0; p < 2; p++) {
		uint32_t done = t->done[p];

		for (uint32_t seq = 0; seq < STORM_MSGS; seq++) {
			uint8_t n = t->seen[p * STORM_MSGS + seq];

			assert_true(n <= 1);
			if (seq < done)
				lost += n == 0;
			else if (seq > done || !killed || victim != p)
				assert_int_equal(n, 0);
		}
		if (!killed || victim != p)
			assert_int_equal(done, STORM_MSGS);
	}
	assert_true(lost <= (killed && victim >= 2 ? 1u : 0u));
}

/* One round: 2 producers and 2 consumers, one of them SIGKILLed at a
 * random moment.  All run flat out through a 4-slot queue with messages
 * of up to 16 KiB, so they spend their time inside queue calls: blocked,
 * or copying into or out of a slot they hold.  Returns whether the kill
 * landed (the victim had not finished). */
static bool
storm_round(mproc_queue *q, uint64_t *rng, uint32_t victim)
{
	mproc_shm *shm;
	struct tally *t = new_tally(&shm, 2, STORM_MSGS);
	bool killed;
	struct party parties[4];
	pid_t pids[4];

	for (uint32_t i = 0; i < 4; i++) {
		bool prod = i < 2;

		parties[i] = (struct party){ q, t, prod ? i : i - 2, STORM_MSGS,
					     0,
					     sizeof(((struct msg *)0)->payload) };
		pids[i] = spawn(prod ? producer : consumer, q, &parties[i]);
	}
	usleep(200 + (useconds_t)(test_rand(rng) % 5000));
	kill(pids[victim], SIGKILL);
	killed = test_reap(pids[victim], 5) == 128 + SIGKILL;
	for (uint32_t i = 0; i < 2; i++)
		if (i != victim)
			assert_int_equal(test_reap(pids[i], 20), 0);
	__atomic_store_n(&t->stop, 1, __ATOMIC_SEQ_CST);
	for (uint32_t i = 2; i < 4; i++)
		if (i != victim)
			assert_int_equal(test_reap(pids[i], 20), 0);
	check_storm_round(t, victim, killed);
	assert_int_equal(mproc_shm_close(shm), 0);
	return killed;
}

static void
test_queue_kill_storm_loses_at_most_one_message_per_kill(void **state)
{
	struct mproc_queue_attr attr = { 4, sizeof(struct msg), 0 };
	struct mproc_queue_stats st;
	uint64_t rng = (uint64_t)getpid() * 6364136223846793005u + 1;
	char name[64], buf[sizeof(struct msg)];
	unsigned kills = 0;
	mproc_queue *q;

	(void)state;
	test_deadline(60);
	test_name(name, sizeof(name));
	q = mproc_queue_create(name, &attr);
	assert_non_null(q);
	for (uint32_t round = 0; round < STORM_ROUNDS; round++) {
		/* Alternate sides; pick either process on that side. */
		uint32_t victim = (round % 2) * 2 + (uint32_t)(test_rand(&rng) % 2);

		kills += storm_round(q, &rng, victim);
		assert_int_equal(mproc_queue_size(q), 0);
		assert_int_equal(mproc_queue_stats(q, &st), 0);
		assert_int_equal(st.depth, 0);
		assert_int_equal(st.putters_waiting, 0);
		assert_int_equal(st.getters_waiting, 0);
		/* A kill between a slot step and its counter costs one count. */
		assert_true(st.puts <= st.gets + kills && st.gets <= st.puts + kills);
	}
	assert_true(kills >= STORM_ROUNDS / 2);
	assert_int_equal(mproc_queue_put(q, "alive", 6, 0), 0);
	assert_int_equal(mproc_queue_get(q, buf, sizeof(buf), 0), 6);
	assert_int_equal(mproc_queue_close(q), 0);
	assert_int_equal(mproc_queue_unlink(name), 0);
}

static int
reserve_and_die(mproc_queue *q, void *arg)
{
	(void)arg;
	if (mproc_queue_reserve(q, 0) == NULL)
		return 1;
	raise(SIGKILL);
	return 2;
}

static int
acquire_and_die(mproc_queue *q, void *arg)
{
	size_t len;

	(void)arg;
	if (mproc_queue_acquire(q, &len, 0) == NULL)
		return 1;
	raise(SIGKILL);
	return 2;
}

static void
test_queue_slot_held_by_dead_process_is_taken_back(void **state)
{
	struct fixture *f = *state;
	char buf[128];

	siginfo_t info;
	pid_t pid;

	/* A reservation that will never be committed: consumers skip it,
	 * even while its dead owner is a zombie not yet reaped by us. */
	pid = spawn(reserve_and_die, f->q, NULL);
	assert_int_equal(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT), 0);
	assert_int_equal(mproc_queue_put(f->q, "after", 6, 0), 0);
	assert_int_equal(mproc_queue_get(f->q, buf, sizeof(buf), 1000), 6);
	assert_string_equal(buf, "after");
	assert_int_equal(test_reap(pid, 5), 128 + SIGKILL);
	/* An acquired message never released: lost, and its slot comes back. */
	fill_queue(f->q);
	assert_int_equal(test_reap(spawn(acquire_and_die, f->q, NULL), 5),
			 128 + SIGKILL);
	assert_int_equal(mproc_queue_size(f->q), 3);
	assert_int_equal(mproc_queue_put(f->q, "y", 2, 1000), 0);
	assert_int_equal(mproc_queue_size(f->q), 4);
}

/* A message lost with its dead producer is not a put, and the get that
 * skips its tombstone is not a get. */
static void
test_queue_stats_leave_out_message_lost_with_dead_producer(void **state)
{
	struct fixture *f = *state;
	struct mproc_queue_stats st;
	char buf[128];

	assert_int_equal(mproc_queue_put(f->q, "a", 2, 0), 0);
	assert_int_equal(test_reap(spawn(reserve_and_die, f->q, NULL), 5),
			 128 + SIGKILL);
	assert_int_equal(mproc_queue_put(f->q, "b", 2, 0), 0);
	assert_int_equal(mproc_queue_stats(f->q, &st), 0);
	assert_int_equal(st.puts, 2);
	assert_int_equal(st.gets, 0);
	assert_int_equal(st.depth, 2);
	for (int i = 0; i < 2; i++)
		assert_int_equal(mproc_queue_get(f->q, buf, sizeof(buf), 1000), 2);
	assert_string_equal(buf, "b");
	assert_int_equal(mproc_queue_stats(f->q, &st), 0);
	assert_int_equal(st.puts, 2);
	assert_int_equal(st.gets, 2);
	assert_int_equal(st.depth, 0);
}

static int
put_forever(mproc_queue *q, void *arg)
{
	(void)arg;
	return mproc_queue_put(q, "late", 5, MPROC_FOREVER) == 0 ? 0 : 1;
}

static void
test_queue_putter_asleep_on_message_taken_by_dying_consumer_completes(void **state)
{
	struct mproc_queue_attr attr = { 1, 8, 0 };
	mproc_queue *q = mproc_queue_create(NULL, &attr);
	char buf[8];
	pid_t putter;

	(void)state;
	assert_non_null(q);
	assert_int_equal(mproc_queue_put(q, "first", 6, 0), 0);
	putter = spawn(put_forever, q, NULL);
	wait_for_waiters(q, 1, 0);
	/* The consumer takes the only message and dies: no one wakes the
	 * putter, which must find the slot free again by itself. */
	assert_int_equal(test_reap(spawn(acquire_and_die, q, NULL), 5), 128 + SIGKILL);
	assert_int_equal(test_reap(putter, 10), 0);
	assert_int_equal(mproc_queue_get(q, buf, sizeof(buf), 0), 5);
	assert_string_equal(buf, "late");
	assert_int_equal(mproc_queue_close(q), 0);
}

/* A hostile process scribbles over the segment: calls may fail, but
 * never touch memory outside it (the sanitizer build checks that). */
static void
test_queue_scribbled_segment_fails_calls_but_stays_in_bounds(void **state)
{
	struct fixture *f = *state;
	int fd = shm_open(f->name, O_RDWR, 0);
	uint64_t rng = 0x9e3779b97f4a7c15u;
	struct mproc_queue_stats st;
	char buf[128];
	struct stat sb;
	uint64_t *p;
	size_t len;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	close(fd);
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < (size_t)sb.st_size / 8; i++)
			if (round % 2 == 0 || test_rand(&rng) % 8 == 0)
				p[i] = test_rand(&rng) >> (test_rand(&rng) % 64);
		(void)mproc_queue_put(f->q, "x", 1, 0);
		(void)mproc_queue_get(f->q, buf, sizeof(buf), 0);
		if (mproc_queue_acquire(f->q, &len, 0) != NULL)
			assert_true(len <= 128);
		(void)mproc_queue_reserve(f->q, 0);
		(void)mproc_queue_size(f->q);
		assert_int_equal(mproc_queue_stats(f->q, &st), 0);
		assert_true(st.depth <= 4 && st.high_water <= 4);
	}
	munmap(p, (size_t)sb.st_size);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_queue_create_defaults_are_1024_by_8192),
		T(test_queue_create_reports_exactly_what_was_asked),
		T(test_queue_create_taken_name_fails_eexist),
		T(test_queue_create_bad_name_fails_einval),
		T(test_queue_create_too_large_fails_and_leaves_nothing),
		T(test_queue_open_missing_fails_enoent),
		T(test_queue_open_foreign_segment_fails_eproto),
		T(test_queue_open_segment_of_wrong_size_fails_eproto),
		T(test_queue_open_wrong_magic_fails_eproto),
		T(test_queue_open_shares_messages_and_mode_is_0600),
		T(test_queue_unlink_keeps_open_handles_working),
		T(test_queue_put_get_keep_bytes_length_and_fifo_order),
		T(test_queue_get_small_buffer_fails_emsgsize_and_consumes_nothing),
		T(test_queue_get_empty_zero_timeout_fails_eagain),
		T(test_queue_get_empty_times_out_etimedout_in_loose_bounds),
		T(test_queue_put_full_times_out_etimedout_in_loose_bounds),
		T(test_queue_bad_arguments_fail_einval),
		T(test_queue_blocked_get_is_woken_by_put_in_child),
		T(test_queue_blocked_put_is_woken_by_get_in_other_process),
		T(test_queue_anonymous_is_shared_with_forked_child),
		T(test_queue_get_interrupted_by_signal_fails_eintr_and_takes_nothing),
		T(test_queue_put_interrupted_by_signal_fails_eintr_and_puts_nothing),
		T(test_queue_reserve_commit_acquire_release_round_trip),
		T(test_queue_commit_or_release_of_foreign_pointer_fails_einval),
		T(test_queue_shutdown_fails_put_epipe_and_lets_get_drain),
		T(test_queue_shutdown_wakes_blocked_putters_with_epipe),
		T(test_queue_shutdown_wakes_blocked_getters_with_epipe),
		T(test_queue_stats_count_puts_gets_depth_and_high_water),
		T(test_queue_stats_forget_waiters_of_killed_process),
		T(test_queue_slot_held_by_dead_process_is_taken_back),
		T(test_queue_stats_leave_out_message_lost_with_dead_producer),
		T(test_queue_putter_asleep_on_message_taken_by_dying_consumer_completes),
		T(test_queue_scribbled_segment_fails_calls_but_stays_in_bounds),
		T(test_queue_4_producers_4_consumers_lose_and_duplicate_nothing),
		T(test_queue_one_consumer_gets_each_producers_messages_in_order),
		T(test_queue_kill_storm_loses_at_most_one_message_per_kill),
	};
	return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
