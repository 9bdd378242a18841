/*
 * bench_conn.c - libmproc Pipes against raw pipe(2) and socketpair(2).
 *
 *	bench/bench_conn [rounds]	(default 5)
 *
 * One sender process, one receiver process.  Throughput: the receiver
 * times N messages of 64 B and of 64 KiB.  Ping-pong: the parent times N
 * round trips of a 64 B message through a child that echoes it.  The
 * raw peers frame messages with a 4-byte length prefix (writev, then
 * two reads) on blocking descriptors.  The rounds interleave all
 * transports; each cell is the median of the rounds, and each libmproc
 * row has its ratio to the raw transport of the same kind
 * (simplex Pipe vs pipe(2), duplex Pipe vs socketpair(2)).
 *
 * The program ignores SIGPIPE, as a raw pipe(2) user who wants EPIPE
 * rather than death must (and as Python does).  A simplex Pipe made then
 * needs no SIGPIPE guard; the "guarded" row is one made while SIGPIPE
 * was at its default, as in a program that leaves it there.  A simplex
 * Pipe asks for a 128 KiB pipe buffer; "raw pipe(2) 128 KiB" is the raw
 * peer given the same, to tell the framing's cost from the buffer's gain.
 */
#include "config.h"

#include <err.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mproc.h>

#include "util.h"

#define MAX_ROUNDS 15

/* One end of a transport, and how to move a message through it. */
struct end {
	mproc_conn *conn;
	int fd;
};

struct transport {
	const char *name;
	bool duplex;
	void (*make)(struct end *rx, struct end *tx, bool duplex);
	void (*send)(struct end *e, const void *buf, size_t len);
	size_t (*recv)(struct end *e, void *buf, size_t cap);
	void (*close)(struct end *e);
};

/* --- libmproc -------------------------------------------------------- */

static void
mproc_make(struct end *rx, struct end *tx, bool duplex)
{
	if (mproc_pipe(&rx->conn, &tx->conn, duplex) != 0)
		err(1, "mproc_pipe");
}

/* A Pipe made while SIGPIPE is at its default: its sends keep the guard. */
static void
mproc_make_guarded(struct end *rx, struct end *tx, bool duplex)
{
	signal(SIGPIPE, SIG_DFL);
	mproc_make(rx, tx, duplex);
	signal(SIGPIPE, SIG_IGN);
}

static void
mproc_send(struct end *e, const void *buf, size_t len)
{
	if (mproc_conn_send(e->conn, buf, len) != 0)
		err(1, "mproc_conn_send");
}

static size_t
mproc_recv(struct end *e, void *buf, size_t cap)
{
	ssize_t n = mproc_conn_recv(e->conn, buf, cap, MPROC_FOREVER);

	if (n < 0)
		err(1, "mproc_conn_recv");
	return (size_t)n;
}

static void
mproc_close(struct end *e)
{
	mproc_conn_close(e->conn);
}

/* --- raw descriptors with a 4-byte length prefix ---------------------- */

static void
raw_make(struct end *rx, struct end *tx, bool duplex)
{
	int fds[2];

	if (duplex ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds)
		   : pipe2(fds, O_CLOEXEC))
		err(1, "pipe");
	rx->fd = fds[0];
	tx->fd = fds[1];
}

/* A pipe(2) with the buffer a simplex Pipe asks for (lib/conn.c). */
static void
raw_make_128k(struct end *rx, struct end *tx, bool duplex)
{
	raw_make(rx, tx, duplex);
	if (fcntl(tx->fd, F_SETPIPE_SZ, 128 * 1024) < 0)
		err(1, "F_SETPIPE_SZ");
}

static void
raw_send(struct end *e, const void *buf, size_t len)
{
	uint32_t prefix = (uint32_t)len;
	struct iovec iov[2] = { { &prefix, 4 }, { (void *)buf, len } };
	struct iovec *v = iov;
	int n = 2;

	while (n > 0) {
		ssize_t r = writev(e->fd, v, n);

		if (r < 0)
			err(1, "writev");
		while (n > 0 && (size_t)r >= v->iov_len) {
			r -= (ssize_t)v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (char *)v->iov_base + r;
			v->iov_len -= (size_t)r;
		}
	}
}

static void
read_exact(int fd, void *buf, size_t len)
{
	while (len > 0) {
		ssize_t r = read(fd, buf, len);

		if (r <= 0)
			err(1, "read");
		buf = (char *)buf + r;
		len -= (size_t)r;
	}
}

static size_t
raw_recv(struct end *e, void *buf, size_t cap)
{
	uint32_t len;

	read_exact(e->fd, &len, 4);
	if (len > cap)
		errx(1, "raw message too long");
	read_exact(e->fd, buf, len);
	return len;
}

static void
raw_close(struct end *e)
{
	close(e->fd);
}

static const struct transport transports[] = {
	{ "mproc Pipe simplex", false, mproc_make, mproc_send, mproc_recv, mproc_close },
	{ "mproc simplex guarded", false, mproc_make_guarded, mproc_send, mproc_recv,
	  mproc_close },
	{ "raw pipe(2)", false, raw_make, raw_send, raw_recv, raw_close },
	{ "raw pipe(2) 128 KiB", false, raw_make_128k, raw_send, raw_recv, raw_close },
	{ "mproc Pipe duplex", true, mproc_make, mproc_send, mproc_recv, mproc_close },
	{ "raw socketpair(2)", true, raw_make, raw_send, raw_recv, raw_close },
};
#define N_TRANSPORTS (sizeof(transports) / sizeof(transports[0]))

/* The raw peer each libmproc row is compared with. */
static const int peer_of[N_TRANSPORTS] = { 2, 2, 2, 2, 5, 5 };

static pid_t
fork_or_die(void)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		err(1, "fork");
	return pid;
}

static void
wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		errx(1, "child failed");
}

/* Seconds for n messages of size bytes, sender in a child. */
static double
throughput_run(const struct transport *t, size_t size, long n)
{
	struct end rx, tx;
	char *buf = calloc(1, size);
	double t0;
	pid_t pid;
	long i;

	if (buf == NULL)
		err(1, "calloc");
	t->make(&rx, &tx, t->duplex);
	pid = fork_or_die();
	if (pid == 0) {
		t->close(&rx);
		for (i = 0; i <= n; i++)	/* one more: the warm-up */
			t->send(&tx, buf, size);
		t->close(&tx);
		_exit(0);
	}
	t->close(&tx);
	t->recv(&rx, buf, size);
	t0 = bench_now();
	for (i = 0; i < n; i++)
		t->recv(&rx, buf, size);
	t0 = bench_now() - t0;
	wait_child(pid);
	t->close(&rx);
	free(buf);
	return t0;
}

/* Seconds for n round trips of size bytes through an echoing child. */
static double
pingpong_run(const struct transport *t, size_t size, long n)
{
	struct end a, b;
	char buf[64] = { 0 };
	double t0;
	pid_t pid;
	long i;

	t->make(&a, &b, true);
	pid = fork_or_die();
	if (pid == 0) {
		t->close(&a);
		for (i = 0; i <= n; i++) {
			size_t len = t->recv(&b, buf, sizeof(buf));

			t->send(&b, buf, len);
		}
		t->close(&b);
		_exit(0);
	}
	t->close(&b);
	t->send(&a, buf, size);		/* warm-up */
	t->recv(&a, buf, sizeof(buf));
	t0 = bench_now();
	for (i = 0; i < n; i++) {
		t->send(&a, buf, size);
		t->recv(&a, buf, sizeof(buf));
	}
	t0 = bench_now() - t0;
	wait_child(pid);
	t->close(&a);
	return t0;
}

struct bench {
	const char *what;
	size_t size;
	long n;
	bool pingpong;
	double secs[N_TRANSPORTS][MAX_ROUNDS];
};

static void
bench_round(struct bench *b, int round)
{
	size_t t;

	for (t = 0; t < N_TRANSPORTS; t++) {
		if (b->pingpong && !transports[t].duplex)
			continue;
		b->secs[t][round] = b->pingpong
			? pingpong_run(&transports[t], b->size, b->n)
			: throughput_run(&transports[t], b->size, b->n);
	}
}

static void
bench_print(struct bench *b, int rounds)
{
	double med[N_TRANSPORTS];
	size_t t;

	for (t = 0; t < N_TRANSPORTS; t++)
		med[t] = bench_median(b->secs[t], rounds);
	for (t = 0; t < N_TRANSPORTS; t++) {
		double ratio;

		if (b->pingpong && !transports[t].duplex)
			continue;
		/* Throughput: higher is better; round trip: lower is better. */
		ratio = b->pingpong ? med[t] / med[peer_of[t]]
				    : med[peer_of[t]] / med[t];
		if (b->pingpong)
			printf("%-11s %6zu  %-21s %12.2f us/rt %14s  %5.2f\n",
			       b->what, b->size, transports[t].name,
			       med[t] / b->n * 1e6, "", ratio);
		else
			printf("%-11s %6zu  %-21s %12.0f msg/s %9.1f MB/s  %5.2f\n",
			       b->what, b->size, transports[t].name,
			       b->n / med[t], b->n * (double)b->size / med[t] / 1e6,
			       ratio);
	}
}

int
main(int argc, char **argv)
{
	struct bench benches[] = {
		{ "throughput", 64, 200000, false, { { 0 } } },
		{ "throughput", 65536, 4000, false, { { 0 } } },
		{ "ping-pong", 64, 20000, true, { { 0 } } },
	};
	size_t nb = sizeof(benches) / sizeof(benches[0]), i;
	int rounds = argc > 1 ? atoi(argv[1]) : 5, r;

	if (rounds < 1 || rounds > MAX_ROUNDS)
		errx(2, "usage: bench_conn [rounds 1..%d]", MAX_ROUNDS);
	signal(SIGPIPE, SIG_IGN);
	for (r = 0; r < rounds; r++)
		for (i = 0; i < nb; i++)
			bench_round(&benches[i], r);
	printf("median of %d interleaved rounds; ratio: vs the raw peer of the same kind\n"
	       "(throughput: mproc/raw rate; ping-pong: mproc/raw round-trip time)\n\n",
	       rounds);
	printf("%-11s %6s  %-21s %31s  %5s\n", "test", "bytes", "transport", "", "ratio");
	for (i = 0; i < nb; i++)
		bench_print(&benches[i], rounds);
	return 0;
}
