/*
 * test_conn.c - Pipes and FIFOs: test_<object>_<situation>_<expected>.
 *
 * Every test that forks or blocks sets a deadline; children report only
 * through their exit status (or counters in a shared mapping, which the
 * parent checks).  The raw frame tests write the wire format described
 * in lib/conn.h by hand, as a hostile or broken peer would.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <mproc.h>

#include "conn.h"		/* the wire format, for the raw frame tests */
#include "util.h"

#define DEADLINE_S 30
#define CHILD_S 25

/* --- helpers --------------------------------------------------------- */

typedef int (*child_fn)(void *arg);

/* Runs fn(arg) in a child, whose exit status is fn's return value. */
static pid_t
spawn(child_fn fn, void *arg)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

static void
assert_child_ok(pid_t pid)
{
	assert_int_equal(test_reap(pid, CHILD_S), 0);
}

struct ends {
	mproc_conn *a, *b;
};

static void
close_ends(struct ends *e)
{
	assert_int_equal(mproc_conn_close(e->a), 0);
	assert_int_equal(mproc_conn_close(e->b), 0);
}

/* A FIFO with a reader and a writer end, made in this process. */
struct fifo {
	char path[64];
	mproc_conn *r, *w;
};

static void
fifo_make(struct fifo *f)
{
	int keep;

	test_path(f->path, sizeof(f->path));
	assert_int_equal(mkfifo(f->path, 0600), 0);
	/* A raw O_RDWR descriptor makes both opens find their peer. */
	keep = open(f->path, O_RDWR | O_CLOEXEC);
	assert_true(keep >= 0);
	f->r = mproc_fifo_open(f->path, MPROC_RDONLY, 1000);
	assert_non_null(f->r);
	f->w = mproc_fifo_open(f->path, MPROC_WRONLY, 1000);
	assert_non_null(f->w);
	close(keep);
}

static void
fifo_destroy(struct fifo *f)
{
	assert_int_equal(mproc_conn_close(f->r), 0);
	assert_int_equal(mproc_conn_close(f->w), 0);
	assert_int_equal(unlink(f->path), 0);
}

/* Writes bytes to fd as a raw peer would. */
static void
raw_write(int fd, const void *buf, size_t len)
{
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

static void
raw_header(int fd, uint32_t magic, uint32_t flags, uint64_t len)
{
	struct conn_hdr h = { magic, flags, len };

	raw_write(fd, &h, sizeof(h));
}

static int sigusr1_count;

static void
on_sigusr1(int sig)
{
	(void)sig;
	sigusr1_count++;
}

/* SIGUSR1 handler without SA_RESTART: blocking calls fail with EINTR. */
static void
catch_sigusr1(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
}

/* Not SIG_DFL: a late SIGUSR1 must not end the test program. */
static void
ignore_sigusr1(void)
{
	signal(SIGUSR1, SIG_IGN);
}

/* --- sizes: 0, 1, around PIPE_BUF, 16 MiB ---------------------------- */

static const size_t edge_sizes[] = {
	0, 1, PIPE_BUF - 1, PIPE_BUF, PIPE_BUF + 1, 65536, 16 << 20,
};
#define N_EDGE (sizeof(edge_sizes) / sizeof(edge_sizes[0]))

static int
send_edge_sizes(void *arg)
{
	mproc_conn *c = arg;
	char *buf = malloc(16 << 20);
	size_t i;

	if (buf == NULL)
		return 2;
	for (i = 0; i < N_EDGE; i++) {
		test_fill(buf, edge_sizes[i], edge_sizes[i]);
		if (mproc_conn_send(c, buf, edge_sizes[i]) != 0)
			return 1;
	}
	free(buf);
	return 0;
}

/* A child sends every edge size on tx; rx receives them whole, in order. */
static void
check_edge_sizes(mproc_conn *tx, mproc_conn *rx)
{
	pid_t pid = spawn(send_edge_sizes, tx);
	size_t i;

	for (i = 0; i < N_EDGE; i++) {
		void *msg = NULL;
		ssize_t n = mproc_conn_recv_alloc(rx, &msg, 10000);

		assert_int_equal(n, (ssize_t)edge_sizes[i]);
		assert_true(test_check(msg, (size_t)n, edge_sizes[i]));
		free(msg);
	}
	assert_child_ok(pid);
}

static void
test_pipe_duplex_edge_sizes_arrive_whole_in_order(void **state)
{
	struct ends e;

	(void)state;
	test_deadline(DEADLINE_S);
	assert_int_equal(mproc_pipe(&e.a, &e.b, true), 0);
	check_edge_sizes(e.a, e.b);
	check_edge_sizes(e.b, e.a);
	close_ends(&e);
}

static void
test_pipe_simplex_edge_sizes_arrive_whole_in_order(void **state)
{
	struct ends e;

	(void)state;
	test_deadline(DEADLINE_S);
	assert_int_equal(mproc_pipe(&e.a, &e.b, false), 0);
	check_edge_sizes(e.b, e.a);
	close_ends(&e);
}

static void
test_fifo_edge_sizes_arrive_whole_in_order(void **state)
{
	struct fifo f;

	(void)state;
	test_deadline(DEADLINE_S);
	fifo_make(&f);
	check_edge_sizes(f.w, f.r);
	fifo_destroy(&f);
}

/* --- arguments and directions ---------------------------------------- */

static void
test_pipe_null_arguments_fail_einval(void **state)
{
	mproc_conn *a;

	(void)state;
	assert_int_equal(mproc_pipe(NULL, &a, true), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_pipe(&a, NULL, false), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_conn_send(NULL, "x", 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_conn_recv(NULL, NULL, 0, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_conn_close(NULL), 0);
}

static void
test_pipe_simplex_wrong_direction_fails_ebadf(void **state)
{
	struct ends e;
	char buf[8];
	void *msg;

	(void)state;
	assert_int_equal(mproc_pipe(&e.a, &e.b, false), 0);
	assert_int_equal(mproc_conn_send(e.a, "x", 1), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(mproc_conn_recv(e.b, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(mproc_conn_recv_alloc(e.b, &msg, 0), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(mproc_conn_poll(e.b, 0), -1);
	assert_int_equal(errno, EBADF);
	close_ends(&e);
}

static void
test_fifo_wrong_direction_fails_ebadf(void **state)
{
	struct fifo f;
	char buf[8];

	(void)state;
	test_deadline(DEADLINE_S);
	fifo_make(&f);
	assert_int_equal(mproc_conn_send(f.r, "x", 1), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(mproc_conn_recv(f.w, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(mproc_conn_poll(f.w, 0), -1);
	assert_int_equal(errno, EBADF);
	fifo_destroy(&f);
}

static void
test_conn_bad_timeout_fails_einval(void **state)
{
	struct ends e;
	char buf[8];

	(void)state;
	assert_int_equal(mproc_pipe(&e.a, &e.b, true), 0);
	assert_int_equal(mproc_conn_recv(e.a, buf, sizeof(buf), -2), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_conn_poll(e.a, -2), -1);
	assert_int_equal(errno, EINVAL);
	close_ends(&e);
}

/* --- recv: timeouts, EMSGSIZE, EPIPE, poll ---------------------------- */

static void
test_conn_recv_empty_times_out_eagain_then_etimedout(void **state)
{
	struct ends e;
	struct timespec t0, t1;
	char buf[8];
	long ms;

	(void)state;
	test_deadline(DEADLINE_S);
	assert_int_equal(mproc_pipe(&e.a, &e.b, false), 0);
	assert_int_equal(mproc_conn_recv(e.a, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, EAGAIN);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(mproc_conn_recv(e.a, buf, sizeof(buf), 100), -1);
	assert_int_equal(errno, ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 90 && ms < 5000);
	close_ends(&e);
}

static int
recv_exact_hello(void *arg)
{
	char buf[16];
	ssize_t n = mproc_conn_recv(arg, buf, sizeof(buf), 10000);

	return n == 5 && memcmp(buf, "hello", 5) == 0 ? 0 : 1;
}

/* A short buffer leaves the message for the next recv, here another
 * process's; then for this process again. */
static void
check_short_buffer_keeps_message(mproc_conn *tx, mproc_conn *rx)
{
	char buf[16];

	assert_int_equal(mproc_conn_send(tx, "hello", 5), 0);
	assert_int_equal(mproc_conn_recv(rx, buf, 4, 1000), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(mproc_conn_poll(rx, 0), 1);
	assert_int_equal(mproc_conn_recv(rx, buf, 4, 1000), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(mproc_conn_recv(rx, buf, sizeof(buf), 1000), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(mproc_conn_send(tx, "hello", 5), 0);
	assert_int_equal(mproc_conn_recv(rx, buf, 4, 1000), -1);
	assert_int_equal(errno, EMSGSIZE);
}

static void
test_pipe_recv_short_buffer_fails_emsgsize_message_stays(void **state)
{
	struct ends e;

	(void)state;
	test_deadline(DEADLINE_S);
	assert_int_equal(mproc_pipe(&e.a, &e.b, false), 0);
	check_short_buffer_keeps_message(e.b, e.a);
	/* The pending header is shared: another process gets the message. */
	assert_child_ok(spawn(recv_exact_hello, e.a));
	close_ends(&e);
}

static void
test_fifo_recv_short_buffer_fails_emsgsize_message_stays(void **state)
{
	struct fifo f;
	char buf[16];

	(void)state;
	test_deadline(DEADLINE_S);
	fifo_make(&f);
	check_short_buffer_keeps_message(f.w, f.r);
	assert_int_equal(mproc_conn_recv(f.r, buf, sizeof(buf), 1000), 5);
	fifo_destroy(&f);
}

static void
test_conn_recv_alloc_returns_copy_and_null_for_empty(void **state)
{
	struct ends e;
	void *msg = NULL;

	(void)state;
	assert_int_equal(mproc_pipe(&e.a, &e.b, true), 0);
	assert_int_equal(mproc_conn_send(e.a, "abc", 3), 0);
	assert_int_equal(mproc_conn_send(e.a, NULL, 0), 0);
	assert_int_equal(mproc_conn_recv_alloc(e.b, &msg, 0), 3);
	assert_memory_equal(msg, "abc", 3);
	free(msg);
	assert_int_equal(mproc_conn_recv_alloc(e.b, &msg, 0), 0);
	assert_null(msg);
	assert_int_equal(mproc_conn_recv_alloc(e.b, NULL, 0), -1);
	assert_int_equal(errno, EINVAL);
	close_ends(&e);
}

static void
test_conn_poll_reports_message_and_end_of_stream(void **state)
{
	struct ends e;
	char buf[8];

	(void)state;
	test_deadline(DEADLINE_S);
	assert_int_equal(mproc_pipe(&e.a, &e.b, false), 0);
	assert_int_equal(mproc_conn_poll(e.a, 0), 0);
	assert_int_equal(mproc_conn_poll(e.a, 20), 0);
	assert_int_equal(mproc_conn_send(e.b, "x", 1), 0);
	assert_int_equal(mproc_conn_poll(e.a, 0), 1);
	assert_int_equal(mproc_conn_recv(e.a, buf, sizeof(buf), 0), 1);
	assert_true(mproc_conn_fd(e.a) >= 0);
	assert_int_equal(mproc_conn_close(e.b), 0);
	assert_int_equal(mproc_conn_poll(e.a, 1000), 1);
	assert_int_equal(mproc_conn_recv(e.a, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(mproc_conn_close(e.a), 0);
}

static void
test_fifo_recv_every_writer_closed_fails_epipe(void **state)
{
	struct fifo f;
	char buf[8];

	(void)state;
	test_deadline(DEADLINE_S);
	fifo_make(&f);
	assert_int_equal(mproc_conn_send(f.w, "last", 4), 0);
	assert_int_equal(mproc_conn_close(f.w), 0);
	f.w = NULL;
	assert_int_equal(mproc_conn_recv(f.r, buf, sizeof(buf), 1000), 4);
	assert_int_equal(mproc_conn_recv(f.r, buf, sizeof(buf), 1000), -1);
	assert_int_equal(errno, EPIPE);
	fifo_destroy(&f);
}

/* --- send: limits and a closed peer ---------------------------------- */

static void
test_conn_max_msg_limits_send_emsgsize_and_recv_eproto(void **state)
{
	struct ends e;
	char buf[64] = { 0 };

	(void)state;
	assert_int_equal(mproc_pipe(&e.a, &e.b, true), 0);
	assert_int_equal(mproc_conn_set_max_msg(e.a, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_conn_set_max_msg(e.a, 16), 0);
	assert_int_equal(mproc_conn_send(e.a, buf, 17), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(mproc_conn_send(e.a, buf, 16), 0);
	assert_int_equal(mproc_conn_send(e.b, buf, 17), 0);
	assert_int_equal(mproc_conn_recv(e.a, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(mproc_conn_recv(e.b, buf, sizeof(buf), 0), 16);
	close_ends(&e);
}

/* In a child with SIGPIPE at its default: EPIPE, and it survives. */
static int
send_to_closed_pipe(void *arg)
{
	bool duplex = arg != NULL;
	static char big[1 << 20];
	mproc_conn *a, *b;
	int ok;

	signal(SIGPIPE, SIG_DFL);
	if (mproc_pipe(&a, &b, duplex) != 0)
		return 2;
	mproc_conn_close(a);
	ok = mproc_conn_send(b, "x", 1) == -1 && errno == EPIPE &&
	     mproc_conn_send(b, big, sizeof(big)) == -1 && errno == EPIPE;
	mproc_conn_close(b);
	return ok ? 0 : 1;
}

static void
test_pipe_send_closed_peer_fails_epipe_without_sigpipe(void **state)
{
	(void)state;
	test_deadline(DEADLINE_S);
	assert_child_ok(spawn(send_to_closed_pipe, NULL));
	assert_child_ok(spawn(send_to_closed_pipe, (void *)1));
}

/*
 * A Pipe made while SIGPIPE is ignored sends without the guard: EPIPE
 * while SIGPIPE stays ignored, and (as mproc_pipe(3) warns) death by
 * SIGPIPE once the process restores the default.
 */
static int
send_unguarded_to_closed_pipe(void *arg)
{
	mproc_conn *a, *b;

	(void)arg;
	signal(SIGPIPE, SIG_IGN);
	if (mproc_pipe(&a, &b, false) != 0)
		return 2;
	mproc_conn_close(a);
	if (mproc_conn_send(b, "x", 1) != -1 || errno != EPIPE)
		return 1;
	signal(SIGPIPE, SIG_DFL);
	mproc_conn_send(b, "x", 1);
	return 3;			/* not reached: SIGPIPE */
}

static void
test_pipe_made_with_sigpipe_ignored_sends_unguarded(void **state)
{
	(void)state;
	test_deadline(DEADLINE_S);
	assert_int_equal(test_reap(spawn(send_unguarded_to_closed_pipe, NULL),
				   CHILD_S), 128 + SIGPIPE);
}

/* A simplex Pipe's buffer holds a 64 KiB message whole: the send
 * returns before anyone receives (lib/conn.c, PIPE_BUFFER_BYTES). */
static void
test_pipe_simplex_holds_64k_message_whole(void **state)
{
	static char out[65536], in[65536];
	struct ends e;

	(void)state;
	test_deadline(DEADLINE_S);
	test_fill(out, sizeof(out), 7);
	assert_int_equal(mproc_pipe(&e.a, &e.b, false), 0);
	assert_true(fcntl(mproc_conn_fd(e.b), F_GETPIPE_SZ) >= 128 * 1024);
	assert_int_equal(mproc_conn_send(e.b, out, sizeof(out)), 0);
	assert_int_equal(mproc_conn_recv(e.a, in, sizeof(in), 0), sizeof(in));
	assert_memory_equal(in, out, sizeof(out));
	close_ends(&e);
}

/* A reader takes part of a big message and goes: the sender, already
 * writing, gets EPIPE and no SIGPIPE. */
static int
send_big_to_fifo(void *arg)
{
	static char big[1 << 20];
	mproc_conn *w;
	int ok;

	signal(SIGPIPE, SIG_DFL);
	w = mproc_fifo_open(arg, MPROC_WRONLY, 5000);
	if (w == NULL)
		return 2;
	ok = mproc_conn_send(w, big, sizeof(big)) == -1 && errno == EPIPE &&
	     mproc_conn_send(w, "x", 1) == -1 && errno == EPROTO;
	mproc_conn_close(w);
	return ok ? 0 : 1;
}

static void
test_fifo_send_reader_gone_mid_message_fails_epipe(void **state)
{
	char path[64], buf[4096];
	pid_t pid;
	int fd;

	(void)state;
	test_deadline(DEADLINE_S);
	test_path(path, sizeof(path));
	assert_int_equal(mkfifo(path, 0600), 0);
	pid = spawn(send_big_to_fifo, path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf)) > 0);
	close(fd);
	assert_child_ok(pid);
	assert_int_equal(unlink(path), 0);
}

/* --- hostile or broken frames ---------------------------------------- */

static void
assert_eproto_twice(mproc_conn *rx)
{
	void *msg = NULL;
	char buf[64];

	assert_int_equal(mproc_conn_recv_alloc(rx, &msg, 1000), -1);
	assert_int_equal(errno, EPROTO);
	assert_null(msg);
	assert_int_equal(mproc_conn_recv(rx, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, EPROTO);
}

static void
test_pipe_header_announcing_a_tebibyte_fails_eproto_at_once(void **state)
{
	struct ends e;

	(void)state;
	test_deadline(DEADLINE_S);
	assert_int_equal(mproc_pipe(&e.a, &e.b, false), 0);
	/* Allocating 1 TiB would fail with ENOMEM, not EPROTO. */
	raw_header(mproc_conn_fd(e.b), CONN_MAGIC, 0, (uint64_t)1 << 40);
	assert_eproto_twice(e.a);
	assert_int_equal(mproc_conn_send(e.b, "x", 1), -1);
	assert_int_equal(errno, EPROTO);
	close_ends(&e);
}

static void
test_pipe_bad_magic_fails_eproto(void **state)
{
	struct ends e;

	(void)state;
	test_deadline(DEADLINE_S);
	assert_int_equal(mproc_pipe(&e.a, &e.b, true), 0);
	raw_header(mproc_conn_fd(e.a), 0xdeadbeef, 0, 4);
	raw_write(mproc_conn_fd(e.a), "abcd", 4);
	assert_eproto_twice(e.b);
	close_ends(&e);
}

static void
test_fifo_truncated_frame_fails_eproto(void **state)
{
	struct fifo f;
	int fd;

	(void)state;
	test_deadline(DEADLINE_S);
	fifo_make(&f);
	fd = open(f.path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	raw_header(fd, CONN_MAGIC, 0, 100);
	raw_write(fd, "0123456789", 10);
	close(fd);
	assert_int_equal(mproc_conn_close(f.w), 0);
	f.w = NULL;
	assert_eproto_twice(f.r);
	fifo_destroy(&f);
}

static void
test_fifo_bad_trailer_fails_eproto(void **state)
{
	struct fifo f;
	uint64_t trailer = 1234;
	int fd = -1;

	(void)state;
	test_deadline(DEADLINE_S);
	fifo_make(&f);
	fd = open(f.path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	raw_header(fd, CONN_MAGIC, 0, 4);
	raw_write(fd, "abcd", 4);
	raw_write(fd, &trailer, sizeof(trailer));
	close(fd);
	assert_eproto_twice(f.r);
	fifo_destroy(&f);
}

/* --- FIFO opening ---------------------------------------------------- */

static void
test_fifo_open_bad_flags_fail_einval(void **state)
{
	char path[64];

	(void)state;
	test_path(path, sizeof(path));
	assert_null(mproc_fifo_open(path, 0, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(mproc_fifo_open(path, MPROC_RDONLY | MPROC_WRONLY, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(mproc_fifo_open(path, MPROC_RDONLY | 0x100, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(mproc_fifo_open(NULL, MPROC_RDONLY, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(mproc_fifo_open(path, MPROC_RDONLY, -2));
	assert_int_equal(errno, EINVAL);
	assert_null(mproc_fifo_open(path, MPROC_RDONLY, 0));
	assert_int_equal(errno, ENOENT);
}

static void
test_fifo_open_not_a_fifo_fails_enotsup(void **state)
{
	char path[64];
	int fd;

	(void)state;
	test_path(path, sizeof(path));
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_null(mproc_fifo_open(path, MPROC_RDONLY | MPROC_CREAT, 0));
	assert_int_equal(errno, ENOTSUP);
	assert_null(mproc_fifo_open(path, MPROC_WRONLY, 0));
	assert_int_equal(errno, ENOTSUP);
	assert_int_equal(unlink(path), 0);
}

static void
test_fifo_open_symlink_is_not_followed(void **state)
{
	char fifo[64], link[64];

	(void)state;
	test_deadline(DEADLINE_S);
	test_path(fifo, sizeof(fifo));
	test_path(link, sizeof(link));
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(symlink(fifo, link), 0);
	assert_null(mproc_fifo_open(link, MPROC_RDONLY, 0));
	assert_int_equal(errno, ENOTSUP);
	assert_null(mproc_fifo_open(link, MPROC_WRONLY | MPROC_CREAT, 0));
	assert_int_equal(errno, ENOTSUP);
	assert_int_equal(unlink(link), 0);
	assert_int_equal(unlink(fifo), 0);
}

static void
test_fifo_open_without_peer_fails_eagain_then_etimedout(void **state)
{
	char path[64];
	struct stat st;

	(void)state;
	test_deadline(DEADLINE_S);
	test_path(path, sizeof(path));
	assert_null(mproc_fifo_open(path, MPROC_RDONLY | MPROC_CREAT, 0));
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(st.st_mode & 0077, 0);
	assert_null(mproc_fifo_open(path, MPROC_WRONLY, 0));
	assert_int_equal(errno, EAGAIN);
	assert_null(mproc_fifo_open(path, MPROC_RDONLY, 50));
	assert_int_equal(errno, ETIMEDOUT);
	assert_null(mproc_fifo_open(path, MPROC_WRONLY, 50));
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(unlink(path), 0);
}

static int
open_writer_and_send(void *arg)
{
	mproc_conn *w = mproc_fifo_open(arg, MPROC_WRONLY, 10000);
	int ok = w != NULL && mproc_conn_send(w, "hello", 5) == 0;

	mproc_conn_close(w);
	return ok ? 0 : 1;
}

static void
test_fifo_open_reader_waits_for_a_writer(void **state)
{
	char path[64], buf[16];
	mproc_conn *r;
	pid_t pid;

	(void)state;
	test_deadline(DEADLINE_S);
	test_path(path, sizeof(path));
	assert_int_equal(mkfifo(path, 0600), 0);
	pid = spawn(open_writer_and_send, path);
	r = mproc_fifo_open(path, MPROC_RDONLY, 10000);
	assert_non_null(r);
	assert_int_equal(mproc_conn_recv(r, buf, sizeof(buf), 10000), 5);
	assert_child_ok(pid);
	assert_int_equal(mproc_conn_close(r), 0);
	assert_int_equal(unlink(path), 0);
}

/* --- descriptors ----------------------------------------------------- */

/* Sends a message, then the write end of a pipe, and reads what the
 * receiver writes into that end. */
static int
send_pipe_fd(void *arg)
{
	mproc_conn *c = arg;
	char buf[8] = "";
	int fds[2], ok;

	if (pipe(fds) != 0)
		return 2;
	ok = mproc_conn_send(c, "plain", 5) == 0 &&
	     mproc_conn_send_fd(c, fds[1]) == 0;
	close(fds[1]);
	ok = ok && read(fds[0], buf, sizeof(buf)) == 7 &&
	     memcmp(buf, "through", 7) == 0;
	close(fds[0]);
	return ok ? 0 : 1;
}

static void
test_pipe_send_fd_passes_descriptor_with_cloexec(void **state)
{
	struct ends e;
	char buf[16];
	pid_t pid;
	int fd;

	(void)state;
	test_deadline(DEADLINE_S);
	assert_int_equal(mproc_pipe(&e.a, &e.b, true), 0);
	pid = spawn(send_pipe_fd, e.a);
	/* The next message carries no descriptor: EBADMSG, it stays. */
	assert_int_equal(mproc_conn_recv_fd(e.b, 10000), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(mproc_conn_recv(e.b, buf, sizeof(buf), 0), 5);
	/* And a descriptor message is not for recv: it stays too. */
	assert_int_equal(mproc_conn_recv(e.b, buf, sizeof(buf), 10000), -1);
	assert_int_equal(errno, EBADMSG);
	fd = mproc_conn_recv_fd(e.b, 0);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	raw_write(fd, "through", 7);	/* the write end of the child's pipe */
	close(fd);
	assert_child_ok(pid);
	close_ends(&e);
}

static void
test_fifo_and_simplex_send_fd_fail_enotsup(void **state)
{
	struct ends e;
	struct fifo f;

	(void)state;
	test_deadline(DEADLINE_S);
	assert_int_equal(mproc_pipe(&e.a, &e.b, false), 0);
	assert_int_equal(mproc_conn_send_fd(e.b, 0), -1);
	assert_int_equal(errno, ENOTSUP);
	assert_int_equal(mproc_conn_recv_fd(e.a, 0), -1);
	assert_int_equal(errno, ENOTSUP);
	close_ends(&e);
	fifo_make(&f);
	assert_int_equal(mproc_conn_send_fd(f.w, 0), -1);
	assert_int_equal(errno, ENOTSUP);
	assert_int_equal(mproc_conn_recv_fd(f.r, 0), -1);
	assert_int_equal(errno, ENOTSUP);
	fifo_destroy(&f);
	assert_int_equal(mproc_pipe(&e.a, &e.b, true), 0);
	assert_int_equal(mproc_conn_send_fd(e.a, -1), -1);
	assert_int_equal(errno, EBADF);
	close_ends(&e);
}

/* The lowest free descriptor number: equal before and after means no
 * descriptor was left open in between. */
static int
lowest_free_fd(void)
{
	int fd = dup(0);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

/* A raw peer attaches descriptors to a plain frame: recv delivers the
 * message and no descriptor stays open in the receiver. */
static void
test_pipe_fd_attached_to_plain_frame_is_not_leaked(void **state)
{
	union {
		struct cmsghdr hdr;
		char space[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	struct conn_hdr h = { CONN_MAGIC, 0, 2 };
	uint64_t trailer = 2 ^ CONN_TRAILER_KEY;
	struct iovec iov[3] = { { &h, sizeof(h) }, { "hi", 2 }, { &trailer, 8 } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 3,
			     .msg_control = &ctl, .msg_controllen = sizeof(ctl) };
	int fds[2] = { 0, 1 }, before;
	struct ends e;
	char buf[8];

	(void)state;
	assert_int_equal(mproc_pipe(&e.a, &e.b, true), 0);
	memset(&ctl, 0, sizeof(ctl));
	ctl.hdr.cmsg_level = SOL_SOCKET;
	ctl.hdr.cmsg_type = SCM_RIGHTS;
	ctl.hdr.cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(&ctl.hdr), fds, sizeof(fds));
	before = lowest_free_fd();
	assert_int_equal(sendmsg(mproc_conn_fd(e.a), &mh, 0), sizeof(h) + 2 + 8);
	assert_int_equal(mproc_conn_recv(e.b, buf, sizeof(buf), 1000), 2);
	assert_memory_equal(buf, "hi", 2);
	assert_int_equal(lowest_free_fd(), before);
	close_ends(&e);
}

/* In a child, with every descriptor slot taken: EMFILE, the message is
 * consumed, and the connection still works. */
static int
recv_fd_without_free_slot(void *arg)
{
	struct rlimit lim = { 64, 64 };
	struct ends *e = arg;
	char buf[8];
	int last = -1, fd, ok;

	if (mproc_conn_send_fd(e->a, 0) != 0 || mproc_conn_send(e->a, "ok", 2) != 0)
		return 2;
	if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
		return 3;
	while ((fd = dup(0)) >= 0)
		last = fd;
	if (last < 0)
		return 4;
	ok = mproc_conn_recv_fd(e->b, 1000) == -1 && errno == EMFILE;
	close(last);
	ok = ok && mproc_conn_recv(e->b, buf, sizeof(buf), 1000) == 2;
	return ok ? 0 : 1;
}

static void
test_pipe_recv_fd_no_free_descriptor_fails_emfile(void **state)
{
	struct ends e;

	(void)state;
	test_deadline(DEADLINE_S);
	assert_int_equal(mproc_pipe(&e.a, &e.b, true), 0);
	assert_child_ok(spawn(recv_fd_without_free_slot, &e));
	close_ends(&e);
}

/* --- many writers, many readers -------------------------------------- */

#define WRITERS 4
#define READERS 2
#define PER_WRITER 40
#define MAX_SIZE (256 << 10)

/* What each message starts with; the rest is test_fill(seed). */
struct stress_head {
	uint32_t writer, seq;
	uint64_t sum;		/* test_checksum of the rest */
};

struct stress {
	mproc_conn *tx, *rx;	/* for Pipes: inherited ends */
	const char *path;	/* for FIFOs: opened by each child */
	int keep_fd;		/* for FIFOs: the parent's O_RDWR fd, or -1 */
	int id;
	uint32_t *seen;		/* shared: [WRITERS][PER_WRITER] counts */
	pthread_t thread;	/* the threads test */
};

static uint64_t
stress_seed(uint32_t writer, uint32_t seq)
{
	return ((uint64_t)writer << 32 | seq) + 1;
}

static int
stress_write(void *arg)
{
	struct stress *s = arg;
	uint64_t rng = stress_seed((uint32_t)s->id, 77);
	char *buf = malloc(MAX_SIZE);
	mproc_conn *tx = s->tx;
	uint32_t seq;

	if (s->path != NULL)
		tx = mproc_fifo_open(s->path, MPROC_WRONLY, 10000);
	if (buf == NULL || tx == NULL)
		return 2;
	for (seq = 0; seq < PER_WRITER; seq++) {
		size_t len = sizeof(struct stress_head) +
			     test_rand(&rng) % (MAX_SIZE - sizeof(struct stress_head));
		struct stress_head h = { (uint32_t)s->id, seq, 0 };
		char *rest = buf + sizeof(h);

		test_fill(rest, len - sizeof(h), stress_seed(h.writer, seq));
		h.sum = test_checksum(rest, len - sizeof(h));
		memcpy(buf, &h, sizeof(h));
		if (mproc_conn_send(tx, buf, len) != 0)
			return 1;
	}
	free(buf);
	return 0;
}

/* 0 if msg is whole and new; counts it in seen. */
static int
stress_check(struct stress *s, const char *msg, size_t len)
{
	struct stress_head h;
	const char *rest = msg + sizeof(h);

	if (len < sizeof(h))
		return 1;
	memcpy(&h, msg, sizeof(h));
	if (h.writer >= WRITERS || h.seq >= PER_WRITER ||
	    h.sum != test_checksum(rest, len - sizeof(h)) ||
	    !test_check(rest, len - sizeof(h), stress_seed(h.writer, h.seq)))
		return 1;
	__atomic_fetch_add(&s->seen[h.writer * PER_WRITER + h.seq], 1,
			   __ATOMIC_SEQ_CST);
	return 0;
}

static int
stress_read(void *arg)
{
	struct stress *s = arg;
	mproc_conn *rx = s->rx;
	ssize_t n;
	void *msg;

	if (s->path != NULL)
		rx = mproc_fifo_open(s->path, MPROC_RDONLY, 10000);
	if (rx == NULL)
		return 2;
	while ((n = mproc_conn_recv_alloc(rx, &msg, 20000)) >= 0) {
		int bad = stress_check(s, msg, (size_t)n);

		free(msg);
		if (bad)
			return 3;
	}
	return errno == EPIPE ? 0 : 4;
}

/* Children of a Pipe run keep only the end they use, so that readers
 * see the end of the stream when the writers are done. */
static int
stress_writer_child(void *arg)
{
	struct stress *s = arg;

	mproc_conn_close(s->rx);
	if (s->keep_fd >= 0)
		close(s->keep_fd);
	return stress_write(s);
}

static int
stress_reader_child(void *arg)
{
	struct stress *s = arg;

	mproc_conn_close(s->tx);
	if (s->keep_fd >= 0)
		close(s->keep_fd);
	return stress_read(s);
}

/* Forks the readers and writers, then checks each message came once. */
static void
run_stress(struct stress *base)
{
	size_t seen_size = WRITERS * PER_WRITER * sizeof(uint32_t);
	uint32_t *seen = mmap(NULL, seen_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct stress s[WRITERS + READERS];
	pid_t pids[WRITERS + READERS];
	int i;

	assert_true(seen != MAP_FAILED);
	for (i = 0; i < WRITERS + READERS; i++) {
		s[i] = *base;
		s[i].id = i < WRITERS ? i : i - WRITERS;
		s[i].seen = seen;
		pids[i] = spawn(i < WRITERS ? stress_writer_child : stress_reader_child,
			       &s[i]);
	}
	for (i = 0; i < WRITERS; i++)
		assert_child_ok(pids[i]);
	if (base->tx != NULL)
		assert_int_equal(mproc_conn_close(base->tx), 0);
	if (base->keep_fd >= 0)
		close(base->keep_fd);
	for (i = WRITERS; i < WRITERS + READERS; i++)
		assert_child_ok(pids[i]);
	for (i = 0; i < WRITERS * PER_WRITER; i++)
		assert_int_equal(seen[i], 1);
	munmap(seen, seen_size);
}

static void
test_pipe_many_writers_many_readers_nothing_lost_or_torn(void **state)
{
	struct stress s = { .keep_fd = -1 };

	(void)state;
	test_deadline(60);
	assert_int_equal(mproc_pipe(&s.rx, &s.tx, false), 0);
	run_stress(&s);
	assert_int_equal(mproc_conn_close(s.rx), 0);
}

static void
test_fifo_many_writers_many_readers_nothing_lost_or_torn(void **state)
{
	char path[64];
	struct stress s = { .path = path };

	(void)state;
	test_deadline(60);
	test_path(path, sizeof(path));
	assert_int_equal(mkfifo(path, 0600), 0);
	/* Both sides present from the start, until every writer is done. */
	s.keep_fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(s.keep_fd >= 0);
	run_stress(&s);
	assert_int_equal(unlink(path), 0);
}

/* Threads of one process share ends with each other and a child. */
static void *
thread_send(void *arg)
{
	return (void *)(intptr_t)stress_write(arg);
}

/* Joins the sender threads, then closes the shared sending end. */
static void *
thread_close_after(void *arg)
{
	struct stress *s = arg;
	intptr_t bad = 0;
	void *rc;
	int i;

	for (i = 1; i <= WRITERS; i++) {
		pthread_join(s[i].thread, &rc);
		bad |= (intptr_t)rc;
	}
	mproc_conn_close(s[0].tx);
	return (void *)bad;
}

/* Sender threads share tx; this thread and a child share rx. */
static void
run_threads(mproc_conn *rx, mproc_conn *tx)
{
	struct stress s[WRITERS + 1] = { { .rx = rx, .tx = tx, .keep_fd = -1 } };
	size_t seen_size = WRITERS * PER_WRITER * sizeof(uint32_t);
	uint32_t *seen = mmap(NULL, seen_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_t closer;
	pid_t reader;
	void *rc;
	int i;

	assert_true(seen != MAP_FAILED);
	s[0].seen = seen;
	reader = spawn(stress_reader_child, &s[0]);
	for (i = 1; i <= WRITERS; i++) {
		s[i] = s[0];
		s[i].id = i - 1;
		assert_int_equal(pthread_create(&s[i].thread, NULL, thread_send,
						&s[i]), 0);
	}
	assert_int_equal(pthread_create(&closer, NULL, thread_close_after, s), 0);
	/* This thread is the second reader, with the child. */
	assert_int_equal(stress_read(&s[0]), 0);
	assert_int_equal(pthread_join(closer, &rc), 0);
	assert_null(rc);
	assert_child_ok(reader);
	for (i = 0; i < WRITERS * PER_WRITER; i++)
		assert_int_equal(seen[i], 1);
	munmap(seen, seen_size);
}

static void
test_pipe_threads_and_processes_share_ends(void **state)
{
	mproc_conn *rx, *tx;

	(void)state;
	test_deadline(60);
	assert_int_equal(mproc_pipe(&rx, &tx, false), 0);
	run_threads(rx, tx);
	assert_int_equal(mproc_conn_close(rx), 0);
}

static void
test_fifo_threads_and_processes_share_ends(void **state)
{
	struct fifo f;

	(void)state;
	test_deadline(60);
	fifo_make(&f);
	run_threads(f.r, f.w);	/* closes f.w */
	f.w = NULL;
	fifo_destroy(&f);
}

/* --- signals and deaths ---------------------------------------------- */

#define SIG_MSGS 60
#define SIG_MAX (1 << 20)

struct sig_run {
	mproc_conn *tx;
	pid_t targets[2];
};

/* Sends SIGUSR1 to the targets every 200 us until killed. */
static int
pester(void *arg)
{
	struct sig_run *r = arg;
	struct timespec pause = { 0, 200000 };

	for (;;) {
		kill(r->targets[0], SIGUSR1);
		kill(r->targets[1], SIGUSR1);
		nanosleep(&pause, NULL);
	}
	return 0;
}

static int
send_through_signals(void *arg)
{
	struct sig_run *r = arg;
	struct timespec gap = { 0, 2000000 };
	uint64_t rng = 99;
	char *buf = malloc(SIG_MAX);
	uint32_t seq;

	catch_sigusr1();
	if (buf == NULL)
		return 2;
	for (seq = 0; seq < SIG_MSGS; seq++) {
		size_t len = 4 + test_rand(&rng) % (SIG_MAX - 4);
		int rc;

		memcpy(buf, &seq, 4);
		test_fill(buf + 4, len - 4, seq + 1);
		while ((rc = mproc_conn_send(r->tx, buf, len)) < 0 && errno == EINTR)
			;
		if (rc != 0)
			return 1;
		/* A pause, so the receiver also waits, and signals hit its wait. */
		nanosleep(&gap, NULL);
	}
	free(buf);
	return 0;
}

static void
test_pipe_signals_during_big_messages_nothing_torn_lost_or_doubled(void **state)
{
	struct sig_run r;
	mproc_conn *rx;
	pid_t sender, pest;
	uint32_t seq;
	int eintr = 0;

	(void)state;
	test_deadline(60);
	catch_sigusr1();
	assert_int_equal(mproc_pipe(&rx, &r.tx, false), 0);
	sender = spawn(send_through_signals, &r);
	r.targets[0] = getpid();
	r.targets[1] = sender;
	pest = spawn(pester, &r);
	for (seq = 0; seq < SIG_MSGS; seq++) {
		void *msg;
		ssize_t n;
		uint32_t got;

		while ((n = mproc_conn_recv_alloc(rx, &msg, 20000)) < 0 &&
		       errno == EINTR)
			eintr++;
		assert_true(n >= 4);
		memcpy(&got, msg, 4);
		assert_int_equal(got, seq);
		assert_true(test_check((char *)msg + 4, (size_t)n - 4, seq + 1));
		free(msg);
	}
	assert_child_ok(sender);
	kill(pest, SIGKILL);
	test_reap(pest, CHILD_S);
	ignore_sigusr1();
	assert_true(eintr > 0);
	assert_int_equal(mproc_conn_poll(rx, 0), 0);
	assert_int_equal(mproc_conn_close(rx), 0);
	assert_int_equal(mproc_conn_close(r.tx), 0);
}

/* A receive waiting forever on a Pipe is interrupted by a handler,
 * installed with sa_flags, and takes nothing. */
static void
assert_recv_forever_fails_eintr(bool duplex, int sa_flags)
{
	struct test_nagger n;
	struct ends e;
	char buf[8];
	int err;

	assert_int_equal(mproc_pipe(&e.a, &e.b, duplex), 0);
	assert_int_equal(test_nag_start(&n, sa_flags), 0);
	assert_int_equal(mproc_conn_recv(e.a, buf, sizeof(buf), MPROC_FOREVER), -1);
	err = errno;
	test_nag_stop(&n);
	assert_int_equal(err, EINTR);
	/* Nothing was consumed: the stream still works. */
	assert_int_equal(mproc_conn_send(e.b, "ok", 2), 0);
	assert_int_equal(mproc_conn_recv(e.a, buf, sizeof(buf), 0), 2);
	close_ends(&e);
}

static void
test_conn_recv_blocked_signal_handler_fails_eintr(void **state)
{
	(void)state;
	test_deadline(DEADLINE_S);
	assert_recv_forever_fails_eintr(true, 0);
	assert_recv_forever_fails_eintr(false, 0);
}

/* As poll(2) would: a duplex Pipe's receive sleeps in recvmsg(2), which
 * only a receive timeout on the socket keeps from being restarted. */
static void
test_conn_recv_blocked_sa_restart_handler_fails_eintr(void **state)
{
	(void)state;
	test_deadline(DEADLINE_S);
	assert_recv_forever_fails_eintr(true, SA_RESTART);
	assert_recv_forever_fails_eintr(false, SA_RESTART);
}

static int
recv_forever(void *arg)
{
	char buf[8];

	mproc_conn_recv(arg, buf, sizeof(buf), MPROC_FOREVER);
	return 1;
}

/* A reader killed while it waits, holding the receiver lock, costs
 * nothing: the next receiver takes the lock over. */
static void
assert_reader_killed_while_waiting_costs_nothing(bool duplex)
{
	struct timespec pause = { 0, 50000000 };
	struct ends e;
	char buf[8];
	pid_t pid;

	assert_int_equal(mproc_pipe(&e.a, &e.b, duplex), 0);
	pid = spawn(recv_forever, e.a);
	nanosleep(&pause, NULL);
	kill(pid, SIGKILL);
	assert_int_equal(test_reap(pid, CHILD_S), 128 + SIGKILL);
	assert_int_equal(mproc_conn_send(e.b, "ok", 2), 0);
	assert_int_equal(mproc_conn_recv(e.a, buf, sizeof(buf), 5000), 2);
	close_ends(&e);
}

static void
test_pipe_reader_killed_while_waiting_stream_still_works(void **state)
{
	(void)state;
	test_deadline(DEADLINE_S);
	assert_reader_killed_while_waiting_costs_nothing(false);
	assert_reader_killed_while_waiting_costs_nothing(true);
}

static int
fifo_recv_forever(void *arg)
{
	mproc_conn *r = mproc_fifo_open(arg, MPROC_RDONLY, 5000);
	char buf[8];

	if (r == NULL)
		return 2;
	mproc_conn_recv(r, buf, sizeof(buf), MPROC_FOREVER);
	return 1;
}

/* A FIFO receiver killed while it waits holds the receivers' flock; the
 * kernel drops it, and the next receiver goes on. */
static void
test_fifo_reader_killed_while_waiting_stream_still_works(void **state)
{
	struct timespec pause = { 0, 100000000 };
	struct fifo f;
	char buf[8];
	pid_t pid;

	(void)state;
	test_deadline(DEADLINE_S);
	fifo_make(&f);
	pid = spawn(fifo_recv_forever, f.path);
	nanosleep(&pause, NULL);
	kill(pid, SIGKILL);
	assert_int_equal(test_reap(pid, CHILD_S), 128 + SIGKILL);
	assert_int_equal(mproc_conn_send(f.w, "ok", 2), 0);
	assert_int_equal(mproc_conn_recv(f.r, buf, sizeof(buf), 5000), 2);
	fifo_destroy(&f);
}

static int
send_huge(void *arg)
{
	static char big[4 << 20];

	mproc_conn_send(arg, big, sizeof(big));
	return 1;
}

/* A writer killed half way through a message, with other writers still
 * around: the reader gets EPROTO, never a torn message. */
static void
test_pipe_writer_killed_mid_message_readers_get_eproto(void **state)
{
	struct timespec pause = { 0, 100000000 };
	struct ends e;
	void *msg = NULL;
	pid_t pid;

	(void)state;
	test_deadline(DEADLINE_S);
	assert_int_equal(mproc_pipe(&e.a, &e.b, false), 0);
	pid = spawn(send_huge, e.b);
	nanosleep(&pause, NULL);	/* it fills the pipe and blocks */
	kill(pid, SIGKILL);
	assert_int_equal(test_reap(pid, CHILD_S), 128 + SIGKILL);
	assert_int_equal(mproc_conn_recv_alloc(e.a, &msg, 5000), -1);
	assert_int_equal(errno, EPROTO);
	assert_null(msg);
	assert_int_equal(mproc_conn_send(e.b, "x", 1), -1);
	assert_int_equal(errno, EPROTO);
	close_ends(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipe_duplex_edge_sizes_arrive_whole_in_order),
		cmocka_unit_test(test_pipe_simplex_edge_sizes_arrive_whole_in_order),
		cmocka_unit_test(test_fifo_edge_sizes_arrive_whole_in_order),
		cmocka_unit_test(test_pipe_null_arguments_fail_einval),
		cmocka_unit_test(test_pipe_simplex_wrong_direction_fails_ebadf),
		cmocka_unit_test(test_fifo_wrong_direction_fails_ebadf),
		cmocka_unit_test(test_conn_bad_timeout_fails_einval),
		cmocka_unit_test(test_conn_recv_empty_times_out_eagain_then_etimedout),
		cmocka_unit_test(test_pipe_recv_short_buffer_fails_emsgsize_message_stays),
		cmocka_unit_test(test_fifo_recv_short_buffer_fails_emsgsize_message_stays),
		cmocka_unit_test(test_conn_recv_alloc_returns_copy_and_null_for_empty),
		cmocka_unit_test(test_conn_poll_reports_message_and_end_of_stream),
		cmocka_unit_test(test_fifo_recv_every_writer_closed_fails_epipe),
		cmocka_unit_test(test_conn_max_msg_limits_send_emsgsize_and_recv_eproto),
		cmocka_unit_test(test_pipe_send_closed_peer_fails_epipe_without_sigpipe),
		cmocka_unit_test(test_pipe_made_with_sigpipe_ignored_sends_unguarded),
		cmocka_unit_test(test_pipe_simplex_holds_64k_message_whole),
		cmocka_unit_test(test_fifo_send_reader_gone_mid_message_fails_epipe),
		cmocka_unit_test(test_pipe_header_announcing_a_tebibyte_fails_eproto_at_once),
		cmocka_unit_test(test_pipe_bad_magic_fails_eproto),
		cmocka_unit_test(test_fifo_truncated_frame_fails_eproto),
		cmocka_unit_test(test_fifo_bad_trailer_fails_eproto),
		cmocka_unit_test(test_fifo_open_bad_flags_fail_einval),
		cmocka_unit_test(test_fifo_open_not_a_fifo_fails_enotsup),
		cmocka_unit_test(test_fifo_open_symlink_is_not_followed),
		cmocka_unit_test(test_fifo_open_without_peer_fails_eagain_then_etimedout),
		cmocka_unit_test(test_fifo_open_reader_waits_for_a_writer),
		cmocka_unit_test(test_pipe_send_fd_passes_descriptor_with_cloexec),
		cmocka_unit_test(test_fifo_and_simplex_send_fd_fail_enotsup),
		cmocka_unit_test(test_pipe_fd_attached_to_plain_frame_is_not_leaked),
		cmocka_unit_test(test_pipe_recv_fd_no_free_descriptor_fails_emfile),
		cmocka_unit_test(test_pipe_many_writers_many_readers_nothing_lost_or_torn),
		cmocka_unit_test(test_fifo_many_writers_many_readers_nothing_lost_or_torn),
		cmocka_unit_test(test_pipe_threads_and_processes_share_ends),
		cmocka_unit_test(test_fifo_threads_and_processes_share_ends),
		cmocka_unit_test(test_pipe_signals_during_big_messages_nothing_torn_lost_or_doubled),
		cmocka_unit_test(test_conn_recv_blocked_signal_handler_fails_eintr),
		cmocka_unit_test(test_conn_recv_blocked_sa_restart_handler_fails_eintr),
		cmocka_unit_test(test_pipe_reader_killed_while_waiting_stream_still_works),
		cmocka_unit_test(test_fifo_reader_killed_while_waiting_stream_still_works),
		cmocka_unit_test(test_pipe_writer_killed_mid_message_readers_get_eproto),
	};
	int rc = cmocka_run_group_tests_name("conn", tests, NULL, NULL);

	test_deadline(0);
	return rc;
}
