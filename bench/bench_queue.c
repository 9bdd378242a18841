/*
 * bench/bench_queue.c - mproc_queue against its peers, measured in the
 * same run: each round runs every transport once, in turn (interleaved),
 * and the table shows medians over the rounds and mproc's ratio to each.
 *
 *	bench/bench_queue [-c SLOTS] [-p] [-r ROUNDS] [-s TENTHS] [-w WORKLOADS]
 *			  [-z SIZES]
 *
 * -r: rounds (default 5); -s: message counts in tenths of the defaults
 * (default 10); -w: a comma-separated subset, e.g. -w T64,LAT (default
 * all but SWEEP); -p: pin the LAT pair to two CPUs; -z: the SWEEP's
 * message sizes in bytes, K for KiB (default 16,64,256,1K,4K,16K,64K);
 * -c: the messages every queue holds (default 256), where the kernel
 * lets a peer hold that many.
 *
 * Workloads (all between real processes):
 *   T64   1 producer -> 1 consumer, 64-byte messages       (messages/s)
 *   T4K   the same with 4 KiB messages
 *   MP2   2 producers -> 2 consumers, 64 bytes
 *   MP4   4 producers -> 4 consumers, 64 bytes
 *   LAT   ping-pong round trip, 64 bytes: p50 and p99   (lower is better);
 *         with -p the two processes are pinned to two different CPUs
 *   ZC    64 KiB messages, mproc reserve/commit + acquire/release against
 *         mproc put/get (the producer stamps 8 bytes of a message that is
 *         already in place; the consumer reads them)
 *   SWEEP 1 producer -> 1 consumer at each size of -z, every transport,
 *         in columns (transport, bytes, msgs/s, MB/s, mproc/this) that
 *         bench/plot.sh draws; a transport is skipped, with a # line
 *         saying why, at a size it cannot carry on this machine
 * Peers: POSIX mq, System V msg, a pipe carrying length-prefixed frames,
 * libmproc's own simplex Pipe (mproc_pipe), a textbook ring guarded by
 * two process-shared semaphores and a mutex, and Boost.Interprocess
 * message_queue when configure found Boost.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mproc.h>

#include "util.h"

#define MAX_CAPACITY 1024
#define MSG_MIN	 8		/* a message carries its 8-byte stamp */
#define MSG_MAX	 (64 * 1024)	/* the largest message a workload sends */
#define STOP	 UINT64_MAX	/* first 8 bytes of a message: consumer, exit */

static unsigned capacity = 256;	/* -c: messages every queue, ring and pipe holds */

static void
die(const char *what)
{
	perror(what);
	exit(2);
}

static void *
shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

/* --- transports ---------------------------------------------------------- */

struct semring {		/* the textbook bounded buffer */
	sem_t empty, full;
	pthread_mutex_t lock;
	uint32_t head, tail;
	unsigned char data[];
};

struct chan {
	const struct transport *t;
	size_t msg_size;
	char name[64];
	mproc_queue *q;
	mqd_t mq;
	int msqid;
	struct { long mtype; unsigned char text[]; } *msgbuf;
	int fd[2];
	unsigned char *frame;		/* pipe: this process's frame buffer */
	mproc_conn *rx, *tx;
	struct semring *ring;
	void *boost;
};

struct transport {
	const char *name;
	size_t (*max_msg)(void);	/* the longest message here; NULL: any */
	const char *limit;		/* what sets max_msg */
	void (*open)(struct chan *c);
	void (*attach)(struct chan *c);		/* in each child; may be NULL */
	void (*send)(struct chan *c, const void *msg);	/* msg_size bytes */
	void (*recv)(struct chan *c, void *buf);
	void (*close)(struct chan *c);
};

static unsigned name_counter;

static void
unique_name(struct chan *c, const char *prefix)
{
	snprintf(c->name, sizeof(c->name), "%smproc-bench-%ld-%u", prefix,
		 (long)getpid(), ++name_counter);
}

/* mproc */
static void
mp_open(struct chan *c)
{
	struct mproc_queue_attr attr = { capacity, c->msg_size, 0 };

	if ((c->q = mproc_queue_create(NULL, &attr)) == NULL)
		die("mproc_queue_create");
}

static void
mp_send(struct chan *c, const void *msg)
{
	if (mproc_queue_put(c->q, msg, c->msg_size, MPROC_FOREVER) < 0)
		die("mproc_queue_put");
}

static void
mp_recv(struct chan *c, void *buf)
{
	if (mproc_queue_get(c->q, buf, c->msg_size, MPROC_FOREVER) < 0)
		die("mproc_queue_get");
}

static void
mp_close(struct chan *c)
{
	mproc_queue_close(c->q);
}

/* A number from /proc/sys, or fallback. */
static long
sysctl_long(const char *path, long fallback)
{
	FILE *f = fopen(path, "r");
	long v;

	if (f == NULL)
		return fallback;
	if (fscanf(f, "%ld", &v) != 1)
		v = fallback;
	fclose(f);
	return v;
}

/* POSIX mq, capacity messages unless fs.mqueue.msg_max is lower (raising
 * it past that needs CAP_SYS_RESOURCE).  Unlinked at once; the
 * descriptors keep it alive. */
static long
mq_capacity(void)
{
	long max = sysctl_long("/proc/sys/fs/mqueue/msg_max", 10);

	return max < capacity ? max : capacity;
}

/* fs.mqueue.msgsize_max: the longest POSIX mq message without
 * CAP_SYS_RESOURCE. */
static size_t
mq_max_msg(void)
{
	return (size_t)sysctl_long("/proc/sys/fs/mqueue/msgsize_max", 8192);
}

static void
mq_open_chan(struct chan *c)
{
	struct mq_attr attr = { .mq_maxmsg = mq_capacity(), .mq_msgsize = (long)c->msg_size };

	unique_name(c, "/");
	c->mq = mq_open(c->name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
	if (c->mq == (mqd_t)-1)
		die("mq_open (as root, or raise /proc/sys/fs/mqueue limits)");
	mq_unlink(c->name);
}

static void
mq_send_chan(struct chan *c, const void *msg)
{
	while (mq_send(c->mq, msg, c->msg_size, 0) < 0)
		if (errno != EINTR)
			die("mq_send");
}

static void
mq_recv_chan(struct chan *c, void *buf)
{
	while (mq_receive(c->mq, buf, c->msg_size, NULL) < 0)
		if (errno != EINTR)
			die("mq_receive");
}

static void
mq_close_chan(struct chan *c)
{
	mq_close(c->mq);
}

/* System V msg: capacity messages, unless kernel.msgmnb bytes are fewer
 * (raising msg_qbytes past it needs CAP_SYS_RESOURCE). */
static size_t
sysv_bytes(size_t msg_size)
{
	size_t max = (size_t)sysctl_long("/proc/sys/kernel/msgmnb", 16384);

	return capacity * msg_size < max ? capacity * msg_size : max;
}

/* A System V message is at most kernel.msgmax bytes, and must fit the
 * queue's kernel.msgmnb. */
static size_t
sysv_max_msg(void)
{
	size_t msgmax = (size_t)sysctl_long("/proc/sys/kernel/msgmax", 8192);
	size_t msgmnb = (size_t)sysctl_long("/proc/sys/kernel/msgmnb", 16384);

	return msgmax < msgmnb ? msgmax : msgmnb;
}

static void
sysv_open(struct chan *c)
{
	struct msqid_ds ds;

	if ((c->msqid = msgget(IPC_PRIVATE, IPC_CREAT | 0600)) < 0)
		die("msgget");
	if (msgctl(c->msqid, IPC_STAT, &ds) < 0)
		die("msgctl");
	ds.msg_qbytes = sysv_bytes(c->msg_size);
	if (msgctl(c->msqid, IPC_SET, &ds) < 0)
		die("msgctl IPC_SET");
	if ((c->msgbuf = malloc(sizeof(*c->msgbuf) + c->msg_size)) == NULL)
		die("malloc");
	c->msgbuf->mtype = 1;
}

static void
sysv_send(struct chan *c, const void *msg)
{
	memcpy(c->msgbuf->text, msg, c->msg_size);
	while (msgsnd(c->msqid, c->msgbuf, c->msg_size, 0) < 0)
		if (errno != EINTR)
			die("msgsnd");
}

static void
sysv_recv(struct chan *c, void *buf)
{
	while (msgrcv(c->msqid, c->msgbuf, c->msg_size, 0, 0) < 0)
		if (errno != EINTR)
			die("msgrcv");
	memcpy(buf, c->msgbuf->text, c->msg_size);
}

static void
sysv_close(struct chan *c)
{
	msgctl(c->msqid, IPC_RMID, NULL);
	free(c->msgbuf);
}

/*
 * A pipe of frames: a 4-byte length, then the bytes.  A frame of at
 * most PIPE_BUF bytes is written and read whole, so several writers and
 * readers share the pipe safely (the MPMC workloads use 64 bytes).
 * Each process copies through its own frame buffer (the malloc()ed one
 * it inherited).
 */

/* The pipe's buffer: capacity frames, unless fs.pipe-max-size is less
 * (raising it past that needs CAP_SYS_RESOURCE). */
static long
pipe_bytes(size_t msg_size)
{
	long max = sysctl_long("/proc/sys/fs/pipe-max-size", 1 << 20);
	long want = capacity * (4 + (long)msg_size);

	return want < max ? want : max;
}

static void
pipe_open(struct chan *c)
{
	if (pipe(c->fd) < 0)
		die("pipe");
	fcntl(c->fd[1], F_SETPIPE_SZ, (int)pipe_bytes(c->msg_size));
	if ((c->frame = malloc(4 + c->msg_size)) == NULL)
		die("malloc");
}

static void
io_all(int fd, void *p, size_t n, bool out)
{
	while (n > 0) {
		ssize_t k = out ? write(fd, p, n) : read(fd, p, n);

		if (k <= 0) {
			if (k < 0 && errno == EINTR)
				continue;
			die(out ? "write" : "read");
		}
		p = (char *)p + k;
		n -= (size_t)k;
	}
}

static void
pipe_send(struct chan *c, const void *msg)
{
	uint32_t len = (uint32_t)c->msg_size;

	memcpy(c->frame, &len, 4);
	memcpy(c->frame + 4, msg, len);
	io_all(c->fd[1], c->frame, 4 + len, true);
}

static void
pipe_recv(struct chan *c, void *buf)
{
	uint32_t len;

	io_all(c->fd[0], c->frame, 4 + c->msg_size, false);
	memcpy(&len, c->frame, 4);
	memcpy(buf, c->frame + 4, len);
}

static void
pipe_close(struct chan *c)
{
	close(c->fd[0]);
	close(c->fd[1]);
	free(c->frame);
}

/* libmproc's simplex Pipe: the same pipe(2), framed by the library. */
static void
conn_open(struct chan *c)
{
	if (mproc_pipe(&c->rx, &c->tx, false) < 0)
		die("mproc_pipe");
}

static void
conn_send(struct chan *c, const void *msg)
{
	if (mproc_conn_send(c->tx, msg, c->msg_size) < 0)
		die("mproc_conn_send");
}

static void
conn_recv(struct chan *c, void *buf)
{
	if (mproc_conn_recv(c->rx, buf, c->msg_size, MPROC_FOREVER) < 0)
		die("mproc_conn_recv");
}

static void
conn_close(struct chan *c)
{
	mproc_conn_close(c->rx);
	mproc_conn_close(c->tx);
}

/* The textbook ring: wait(empty); lock; copy; unlock; post(full). */
static void
ring_open(struct chan *c)
{
	pthread_mutexattr_t ma;

	c->ring = shared_alloc(sizeof(*c->ring) + capacity * c->msg_size);
	sem_init(&c->ring->empty, 1, capacity);
	sem_init(&c->ring->full, 1, 0);
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&c->ring->lock, &ma);
	pthread_mutexattr_destroy(&ma);
}

static void
ring_send(struct chan *c, const void *msg)
{
	struct semring *r = c->ring;

	while (sem_wait(&r->empty) < 0)
		;
	pthread_mutex_lock(&r->lock);
	memcpy(r->data + (r->tail++ % capacity) * c->msg_size, msg, c->msg_size);
	pthread_mutex_unlock(&r->lock);
	sem_post(&r->full);
}

static void
ring_recv(struct chan *c, void *buf)
{
	struct semring *r = c->ring;

	while (sem_wait(&r->full) < 0)
		;
	pthread_mutex_lock(&r->lock);
	memcpy(buf, r->data + (r->head++ % capacity) * c->msg_size, c->msg_size);
	pthread_mutex_unlock(&r->lock);
	sem_post(&r->empty);
}

static void
ring_close(struct chan *c)
{
	munmap(c->ring, sizeof(*c->ring) + capacity * c->msg_size);
}

#ifdef HAVE_BOOST_IPC
#include "bench_queue_boost.h"

static void
boost_open(struct chan *c)
{
	unique_name(c, "");
	if ((c->boost = bench_boost_create(c->name, capacity, c->msg_size)) == NULL)
		die("boost message_queue");
}

static void
boost_attach(struct chan *c)
{
	if ((c->boost = bench_boost_open(c->name)) == NULL)
		die("boost message_queue open");
}

static void
boost_send(struct chan *c, const void *msg)
{
	if (bench_boost_send(c->boost, msg, c->msg_size) < 0)
		die("boost send");
}

static void
boost_recv(struct chan *c, void *buf)
{
	if (bench_boost_recv(c->boost, buf, c->msg_size) < 0)
		die("boost receive");
}

static void
boost_close(struct chan *c)
{
	bench_boost_close(c->boost);
	bench_boost_remove(c->name);
}
#endif


static const struct transport transports[] = {
	{ "mproc", NULL, NULL, mp_open, NULL, mp_send, mp_recv, mp_close },
	{ "posix-mq", mq_max_msg, "fs.mqueue.msgsize_max",
	  mq_open_chan, NULL, mq_send_chan, mq_recv_chan, mq_close_chan },
	{ "sysv-msg", sysv_max_msg, "kernel.msgmax, kernel.msgmnb",
	  sysv_open, NULL, sysv_send, sysv_recv, sysv_close },
	{ "pipe", NULL, NULL, pipe_open, NULL, pipe_send, pipe_recv, pipe_close },
	{ "mproc-pipe", NULL, NULL, conn_open, NULL, conn_send, conn_recv, conn_close },
	{ "sem-ring", NULL, NULL, ring_open, NULL, ring_send, ring_recv, ring_close },
#ifdef HAVE_BOOST_IPC
	{ "boost-ipc", NULL, NULL, boost_open, boost_attach, boost_send,
	  boost_recv, boost_close },
#endif
};
#define NTRANSPORTS ((int)(sizeof(transports) / sizeof(transports[0])))

/* --- workloads ------------------------------------------------------------- */

static void
chan_open(struct chan *c, const struct transport *t, size_t msg_size)
{
	memset(c, 0, sizeof(*c));
	c->t = t;
	c->msg_size = msg_size;
	t->open(c);
}

static void
chan_attach(struct chan *c)
{
	if (c->t->attach != NULL)
		c->t->attach(c);
}

static void
reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_queue: a child failed (status %d)\n", status);
		exit(2);
	}
}

/* Forks a child that waits for the start gun (EOF on gun[0], once the
 * parent closes gun[1]), then runs fn. */
static pid_t
spawn(const int gun[2], void (*fn)(struct chan *, uint64_t), struct chan *c,
      uint64_t n)
{
	pid_t pid = fork();
	char b;

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(gun[1]);
		chan_attach(c);
		while (read(gun[0], &b, 1) < 0 && errno == EINTR)
			;
		fn(c, n);
		_exit(0);
	}
	return pid;
}

static void
produce(struct chan *c, uint64_t n)
{
	static uint64_t msg[MSG_MAX / 8];

	for (uint64_t i = 0; i < n; i++) {
		msg[0] = i;
		c->t->send(c, msg);
	}
}

static void
consume(struct chan *c, uint64_t unused)
{
	static uint64_t msg[MSG_MAX / 8];

	(void)unused;
	do
		c->t->recv(c, msg);
	while (msg[0] != STOP);
}

/* Messages per second from np producers to nc consumers, n messages. */
static double
throughput(const struct transport *t, size_t msg_size, int np, int nc, uint64_t n)
{
	static uint64_t stop[MSG_MAX / 8] = { STOP };
	struct chan c;
	pid_t pids[8];
	int gun[2];
	double t0, t1;

	chan_open(&c, t, msg_size);
	if (pipe(gun) < 0)
		die("pipe");
	for (int i = 0; i < np + nc; i++)
		pids[i] = spawn(gun, i < np ? produce : consume, &c, n / np);
	close(gun[0]);
	t0 = bench_now();
	close(gun[1]);			/* go */
	for (int i = 0; i < np; i++)
		reap(pids[i]);
	for (int i = 0; i < nc; i++)
		t->send(&c, stop);
	for (int i = np; i < np + nc; i++)
		reap(pids[i]);
	t1 = bench_now();
	t->close(&c);
	return (double)(n / np * np) / (t1 - t0);
}

static void
echo(struct chan *pair, uint64_t unused)
{
	uint64_t msg[8];

	(void)unused;
	for (;;) {
		pair[0].t->recv(&pair[0], msg);
		if (msg[0] == STOP)
			return;
		pair[1].t->send(&pair[1], msg);
	}
}

/*
 * -p: pins the calling process to the which-th CPU it may use (0 or 1),
 * so that the ping-pong measures a hand-off between two CPUs for every
 * transport alike, rather than wherever the scheduler puts the pair (on
 * one CPU every transport pays two context switches per round trip).
 * On a busy machine pinning also costs the sleeping transports their
 * escape to an idle CPU.  Returns the old mask in *old.
 */
static void
pin_to(int which, cpu_set_t *old)
{
	cpu_set_t one;
	int seen = 0;

	if (sched_getaffinity(0, sizeof(*old), old) < 0)
		die("sched_getaffinity");
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, old) || seen++ != which)
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		sched_setaffinity(0, sizeof(one), &one);
		return;
	}
}

static bool pin_latency;	/* -p */

/* Round trips of a 64-byte ping-pong: p50 and p99 in microseconds. */
static void
latency(const struct transport *t, uint64_t n, double *p50, double *p99)
{
	uint64_t msg[8] = { 0 };
	double *lat = malloc(n * sizeof(double));
	struct chan pair[2];
	cpu_set_t mask;
	pid_t pid;

	if (lat == NULL)
		die("malloc");
	chan_open(&pair[0], t, 64);
	chan_open(&pair[1], t, 64);
	pid = fork();
	if (pid == 0) {
		if (pin_latency)
			pin_to(1, &mask);
		chan_attach(&pair[0]);
		chan_attach(&pair[1]);
		echo(pair, 0);
		_exit(0);
	}
	if (pin_latency)
		pin_to(0, &mask);
	for (uint64_t i = 0; i < n + n / 10; i++) {	/* the first n/10 warm up */
		double t0 = bench_now();

		msg[0] = i;
		t->send(&pair[0], msg);
		t->recv(&pair[1], msg);
		if (i >= n / 10)
			lat[i - n / 10] = (bench_now() - t0) * 1e6;
	}
	msg[0] = STOP;
	t->send(&pair[0], msg);
	if (pin_latency)
		sched_setaffinity(0, sizeof(mask), &mask);
	reap(pid);
	t->close(&pair[0]);
	t->close(&pair[1]);
	bench_sort(lat, n);
	*p50 = lat[n / 2];
	*p99 = lat[n * 99 / 100];
	free(lat);
}

/* --- zero copy ---------------------------------------------------------- */

#define ZC_SIZE (64 * 1024)

static void
zc_produce_in_place(struct chan *c, uint64_t n)
{
	for (uint64_t i = 0; i <= n; i++) {
		uint64_t *slot = mproc_queue_reserve(c->q, MPROC_FOREVER);

		if (slot == NULL)
			die("mproc_queue_reserve");
		slot[0] = i < n ? i : STOP;
		mproc_queue_commit(c->q, slot, ZC_SIZE);
	}
}

static void
zc_consume_in_place(struct chan *c, uint64_t unused)
{
	uint64_t stamp;
	size_t len;

	(void)unused;
	do {
		const uint64_t *m = mproc_queue_acquire(c->q, &len, MPROC_FOREVER);

		if (m == NULL)
			die("mproc_queue_acquire");
		stamp = m[0];
		mproc_queue_release(c->q, m);
	} while (stamp != STOP);
}

static void
zc_produce_copying(struct chan *c, uint64_t n)
{
	static uint64_t msg[ZC_SIZE / 8];

	for (uint64_t i = 0; i <= n; i++) {
		msg[0] = i < n ? i : STOP;
		mp_send(c, msg);
	}
}

static void
zc_consume_copying(struct chan *c, uint64_t unused)
{
	static uint64_t msg[ZC_SIZE / 8];

	(void)unused;
	do
		mp_recv(c, msg);
	while (msg[0] != STOP);
}

/* 64 KiB messages per second, zero-copy or copying. */
static double
zero_copy(bool zc, uint64_t n)
{
	struct chan c;
	pid_t p, q;
	int gun[2];
	double t0, t1;

	chan_open(&c, &transports[0], ZC_SIZE);
	if (pipe(gun) < 0)
		die("pipe");
	p = spawn(gun, zc ? zc_produce_in_place : zc_produce_copying, &c, n);
	q = spawn(gun, zc ? zc_consume_in_place : zc_consume_copying, &c, 0);
	close(gun[0]);
	t0 = bench_now();
	close(gun[1]);
	reap(p);
	reap(q);
	t1 = bench_now();
	mp_close(&c);
	return (double)n / (t1 - t0);
}

/* --- report ------------------------------------------------------------- */

#define MAX_ROUNDS 15

struct workload {
	const char *name;
	size_t msg_size;
	int np, nc;
	uint64_t msgs;
};

static bool
carries(const struct transport *t, size_t msg_size)
{
	return t->max_msg == NULL || msg_size <= t->max_msg();
}

static void
report_skip(const struct transport *t, size_t msg_size)
{
	printf("# skipped %s at %zu B: it carries at most %zu B here (%s)\n",
	       t->name, msg_size, t->max_msg(), t->limit);
}

/* Each transport's median messages per second over interleaved rounds
 * of w; 0 for one that cannot carry w's messages. */
static void
median_throughput(const struct workload *w, int rounds, uint64_t scale,
		  double med[NTRANSPORTS])
{
	double rate[NTRANSPORTS][MAX_ROUNDS];

	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < NTRANSPORTS; i++)
			rate[i][r] = !carries(&transports[i], w->msg_size) ? 0 :
				throughput(&transports[i], w->msg_size, w->np,
					   w->nc, w->msgs * scale / 10);
	for (int i = 0; i < NTRANSPORTS; i++)
		med[i] = bench_median(rate[i], rounds);
}

static void
report_throughput(const struct workload *w, int rounds, uint64_t scale)
{
	double med[NTRANSPORTS];

	median_throughput(w, rounds, scale, med);
	for (int i = 1; i < NTRANSPORTS; i++)
		if (med[i] == 0)
			report_skip(&transports[i], w->msg_size);
		else
			printf("%-5s %-10s %10.3f M/s %10.3f M/s %8.1fx\n", w->name,
			       transports[i].name, med[i] / 1e6, med[0] / 1e6,
			       med[0] / med[i]);
	fflush(stdout);
}

/* --- size sweep ---------------------------------------------------------- */

#define MAX_SIZES   16
#define SWEEP_BYTES (128 << 20)	/* what a transport moves per size and round */

/* -z: comma-separated byte counts, K for KiB; the count, or -1. */
static int
parse_sizes(const char *list, size_t sizes[MAX_SIZES])
{
	int n = 0;

	for (const char *p = list; *p != '\0'; n++) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);

		if (*end == 'K')
			v *= 1024, end++;
		if (end == p || (*end != ',' && *end != '\0') || n == MAX_SIZES ||
		    v < MSG_MIN || v > MSG_MAX)
			return -1;
		sizes[n] = v;
		p = *end == ',' ? end + 1 : end;
	}
	return n;
}

/* As many messages as move SWEEP_BYTES, within the bounds that keep a
 * round of small messages short and one of large messages measurable. */
static uint64_t
sweep_msgs(size_t msg_size)
{
	uint64_t n = SWEEP_BYTES / msg_size;

	return n < 2000 ? 2000 : n > 200000 ? 200000 : n;
}

/* 1 producer -> 1 consumer at each size, in columns for plot.sh. */
static void
report_sweep(const size_t *sizes, int nsizes, int rounds, uint64_t scale)
{
	printf("# sweep: 1 producer -> 1 consumer process, medians of %d interleaved rounds\n"
	       "# depth: posix-mq %ld messages; sysv-msg %zu bytes; pipe %ld bytes"
	       " at most (fs.pipe-max-size); the others %u messages\n"
	       "# MB = 10^6 bytes; mproc/this: how many times mproc is faster\n"
	       "#%-11s %8s %12s %10s %10s\n", rounds, mq_capacity(),
	       sysv_bytes(MSG_MAX), pipe_bytes(MSG_MAX), capacity,
	       "transport", "bytes", "msgs/s", "MB/s", "mproc/this");
	for (int s = 0; s < nsizes; s++) {
		struct workload w = { "SWEEP", sizes[s], 1, 1, sweep_msgs(sizes[s]) };
		double med[NTRANSPORTS];

		median_throughput(&w, rounds, scale, med);
		for (int i = 0; i < NTRANSPORTS; i++)
			if (med[i] == 0)
				report_skip(&transports[i], sizes[s]);
			else
				printf("%-12s %8zu %12.0f %10.1f %10.2f\n",
				       transports[i].name, sizes[s], med[i],
				       med[i] * (double)sizes[s] / 1e6, med[0] / med[i]);
		fflush(stdout);
	}
}

static void
report_latency(int rounds, uint64_t scale)
{
	double p50[NTRANSPORTS][MAX_ROUNDS], p99[NTRANSPORTS][MAX_ROUNDS];
	double m50[NTRANSPORTS], m99[NTRANSPORTS];

	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < NTRANSPORTS; i++)
			latency(&transports[i], 20000 * scale / 10, &p50[i][r], &p99[i][r]);
	for (int i = 0; i < NTRANSPORTS; i++) {
		m50[i] = bench_median(p50[i], rounds);
		m99[i] = bench_median(p99[i], rounds);
	}
	for (int i = 1; i < NTRANSPORTS; i++) {
		printf("LAT50 %-10s %10.2f us  %10.2f us  %8.1fx\n", transports[i].name,
		       m50[i], m50[0], m50[i] / m50[0]);
		printf("LAT99 %-10s %10.2f us  %10.2f us  %8.1fx\n", transports[i].name,
		       m99[i], m99[0], m99[i] / m99[0]);
	}
}

static void
report_zero_copy(int rounds, uint64_t scale)
{
	double zc[MAX_ROUNDS], copy[MAX_ROUNDS], mz, mc;

	for (int r = 0; r < rounds; r++) {
		copy[r] = zero_copy(false, 20000 * scale / 10);
		zc[r] = zero_copy(true, 20000 * scale / 10);
	}
	mz = bench_median(zc, rounds);
	mc = bench_median(copy, rounds);
	printf("ZC64K %-10s %10.3f M/s %10.3f M/s %8.1fx\n", "put/get",
	       mc / 1e6, mz / 1e6, mz / mc);
}

int
main(int argc, char **argv)
{
	static const struct workload workloads[] = {
		{ "T64", 64, 1, 1, 200000 },
		{ "T4K", 4096, 1, 1, 50000 },
		{ "MP2", 64, 2, 2, 200000 },
		{ "MP4", 64, 4, 4, 200000 },
	};
	const char *only = "T64,T4K,MP2,MP4,LAT,ZC";
	size_t sizes[MAX_SIZES];
	int rounds = 5, opt, nsizes = parse_sizes("16,64,256,1K,4K,16K,64K", sizes);
	uint64_t scale = 10;	/* tenths of the default message counts */

	while ((opt = getopt(argc, argv, "c:pr:s:w:z:")) != -1) {
		if (opt == 'c')
			capacity = (unsigned)atoi(optarg);
		else if (opt == 'p')
			pin_latency = true;
		else if (opt == 'r')
			rounds = atoi(optarg);
		else if (opt == 's')
			scale = strtoull(optarg, NULL, 10);
		else if (opt == 'w')
			only = optarg;
		else if (opt == 'z' && (nsizes = parse_sizes(optarg, sizes)) < 0) {
			fprintf(stderr, "bench_queue: -z takes up to %d sizes of %d..%d bytes,"
				" e.g. 64,1K,64K\n", MAX_SIZES, MSG_MIN, MSG_MAX);
			return 2;
		} else if (opt != 'z') {
			fprintf(stderr, "usage: %s [-c SLOTS] [-p] [-r ROUNDS] [-s TENTHS]"
				" [-w T64,T4K,MP2,MP4,LAT,ZC,SWEEP] [-z SIZES]\n", argv[0]);
			return 2;
		}
	}
	if (rounds < 1 || rounds > MAX_ROUNDS || scale < 1 || capacity < 1 ||
	    capacity > MAX_CAPACITY) {
		fprintf(stderr, "bench_queue: 1 <= ROUNDS <= %d, TENTHS >= 1,"
			" 1 <= SLOTS <= %d\n", MAX_ROUNDS, MAX_CAPACITY);
		return 2;
	}
	/* As a raw pipe(2) writer must to survive its reader; a libmproc
	 * Pipe made then also sends without its SIGPIPE guard (bench_conn). */
	signal(SIGPIPE, SIG_IGN);
	printf("# medians of %d interleaved rounds; ratio: how many times mproc is better\n"
	       "# capacity %u messages; posix-mq %ld (fs.mqueue.msg_max); sysv-msg %zu"
	       " bytes at 64 B, %zu at 4 KiB (kernel.msgmnb)\n",
	       rounds, capacity, mq_capacity(), sysv_bytes(64), sysv_bytes(4096));
	if (strcmp(only, "SWEEP") != 0)		/* a sweep alone: columns only */
		printf("%-5s %-10s %14s %14s %9s\n", "load", "peer", "peer", "mproc", "ratio");
	fflush(stdout);
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
		if (strstr(only, workloads[i].name) != NULL)
			report_throughput(&workloads[i], rounds, scale);
	if (strstr(only, "LAT") != NULL)
		report_latency(rounds, scale);
	if (strstr(only, "ZC") != NULL) {
		printf("%-5s %-10s %14s %14s %9s\n", "", "", "copying", "zero-copy", "");
		report_zero_copy(rounds, scale);
	}
	if (strstr(only, "SWEEP") != NULL)
		report_sweep(sizes, nsizes, rounds, scale);
	return 0;
}
