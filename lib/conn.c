/*
 * conn.c - Pipes and FIFOs that carry whole messages (<mproc/conn.h>).
 *
 * This file makes Pipes, takes the locks and holds the public calls;
 * conn-fifo.c opens FIFOs, conn-frame.c moves the frames.
 * Synchronization, per stream (one per direction):
 *
 *	call                  holds
 *	send, send_fd         sender lock (cs_wlock; FIFO: + fcntl lock)
 *	recv, recv_alloc,     receiver lock (cs_rlock; FIFO: + flock)
 *	recv_fd
 *	poll, fd              nothing (a snapshot)
 *	set_max_msg, close    nothing: the caller owns the handle
 *
 * A Pipe's locks live in a page mapped MAP_SHARED by mproc_pipe(), so
 * they also exclude children forked later.  A FIFO is shared by
 * unrelated processes; see conn-lock.h for its kernel locks.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <urcu/uatomic.h>

#include "conn.h"
#include "internal.h"

void
mproc__stream_break(struct conn_stream *s)
{
	uatomic_set(&s->cs_broken, 1);
}

int
mproc__stream_init(struct conn_stream *s)
{
	int rc;

	memset(s, 0, sizeof(*s));
	rc = mproc__conn_lock_init(&s->cs_wlock);
	if (rc == 0)
		rc = mproc__conn_lock_init(&s->cs_rlock);
	return rc;
}

/* --- Pipes ----------------------------------------------------------- */

static int
map_new(struct conn_map **out)
{
	struct conn_map *m = malloc(sizeof(*m));
	int rc = 0, i;

	if (m == NULL)
		return -ENOMEM;
	m->page = mmap(NULL, sizeof(*m->page), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m->page == MAP_FAILED) {
		rc = -errno;
		free(m);
		return rc;
	}
	for (i = 0; i < 2 && rc == 0; i++)
		rc = mproc__stream_init(&m->page->cp_stream[i]);
	if (rc < 0) {
		munmap(m->page, sizeof(*m->page));
		free(m);
		return rc;
	}
	m->refs = 2;
	*out = m;
	return 0;
}

static void
map_free(struct conn_map *m)
{
	munmap(m->page, sizeof(*m->page));
	free(m);
}

static void
map_put(struct conn_map *m)
{
	if (uatomic_add_return(&m->refs, -1) == 0)
		map_free(m);
}

/*
 * True if SIGPIPE is ignored now.  A pipe or FIFO made then needs no
 * guard around its writes (conn-frame.c): a write nobody reads fails
 * with EPIPE and the kernel drops the signal.  Python's interpreter and
 * most servers ignore SIGPIPE from the start; mproc_pipe(3) documents
 * that such a process must keep it ignored while it sends.
 */
static bool
sigpipe_ignored(void)
{
	struct sigaction sa;

	return sigaction(SIGPIPE, NULL, &sa) == 0 &&
	       !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_IGN;
}

struct mproc_conn *
mproc__conn_new(int fd, enum conn_kind kind)
{
	struct mproc_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->fd = fd;
	c->kind = kind;
	c->guard_sigpipe = kind != CONN_SOCKET && !sigpipe_ignored();
	c->max_msg = MPROC_MSG_MAX_DEFAULT;
	c->lock_fd = -1;
	return c;
}

/*
 * True if this kernel's pipes take RWF_NOWAIT (conn-frame.c): an empty
 * pipe then answers EAGAIN; older kernels say EOPNOTSUPP.
 */
static bool
pipe_takes_nowait(int rfd)
{
	char byte;
	struct iovec iov = { &byte, 1 };

	return preadv2(rfd, &iov, 1, -1, RWF_NOWAIT) < 0 && errno == EAGAIN;
}

/*
 * A simplex Pipe asks for a pipe buffer of PIPE_BUFFER_BYTES, twice the
 * kernel's default, so that a 64 KiB message and its frame fit whole:
 * the sender then never sleeps half way through one, and the receiver
 * reads it in one go (bench_conn: 64 KiB messages about 1.5x faster).
 * Best effort: an unprivileged user over fs.pipe-user-pages-soft, or a
 * lower fs.pipe-max-size, keeps the default.  The kernel counts those
 * pages against the user's limit, as mproc_pipe(3) says.
 */
#define PIPE_BUFFER_BYTES (128 * 1024)

/* The descriptors of a Pipe; *nonblock tells how conn-frame.c uses them. */
static int
pipe_fds(int fds[2], bool duplex, bool *nonblock)
{
	*nonblock = false;
	if (duplex)
		return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0
		       ? -errno : 0;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	(void)fcntl(fds[1], F_SETPIPE_SZ, PIPE_BUFFER_BYTES);
	if (pipe_takes_nowait(fds[0]))
		return 0;
	*nonblock = true;
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(fds[1], F_SETFL, O_NONBLOCK) < 0) {
		int rc = -errno;

		close(fds[0]);
		close(fds[1]);
		return rc;
	}
	return 0;
}

/* Wires the two ends to the page's streams; see struct conn_page. */
static void
pipe_wire(struct mproc_conn *a, struct mproc_conn *b, struct conn_map *m,
	  bool duplex)
{
	struct conn_stream *to_a = &m->page->cp_stream[0];
	struct conn_stream *to_b = &m->page->cp_stream[1];

	a->map = b->map = m;
	a->rx = to_a;
	b->tx = to_a;
	if (duplex) {
		a->tx = to_b;
		b->rx = to_b;
	}
}

static int
pipe_new(mproc_conn **a, mproc_conn **b, bool duplex)
{
	enum conn_kind kind = duplex ? CONN_SOCKET : CONN_PIPE;
	struct mproc_conn *ca = NULL, *cb = NULL;
	struct conn_map *m = NULL;
	bool nonblock;
	int fds[2], rc;

	rc = map_new(&m);
	if (rc < 0)
		return rc;
	rc = pipe_fds(fds, duplex, &nonblock);
	if (rc == 0) {
		ca = mproc__conn_new(fds[0], kind);
		cb = mproc__conn_new(fds[1], kind);
	}
	if (rc == 0 && (ca == NULL || cb == NULL)) {
		free(ca);
		free(cb);
		close(fds[0]);
		close(fds[1]);
		rc = -ENOMEM;
	}
	if (rc < 0) {
		map_free(m);
		return rc;
	}
	pipe_wire(ca, cb, m, duplex);
	ca->nonblock = cb->nonblock = nonblock;
	*a = ca;
	*b = cb;
	return 0;
}

int
mproc_pipe(mproc_conn **a, mproc_conn **b, bool duplex)
{
	if (a == NULL || b == NULL)
		return fail(EINVAL);
	return result(pipe_new(a, b, duplex));
}

/* --- Locks ----------------------------------------------------------- */

static int
send_lock(struct mproc_conn *c)
{
	struct mproc__deadline forever;
	int rc;

	mproc__deadline_start(&forever, MPROC_FOREVER);
	rc = mproc__conn_lock(&c->tx->cs_wlock, &forever);
	if (rc < 0)
		return rc;
	if (rc == 1 && uatomic_read(&c->tx->cs_sending))
		mproc__stream_break(c->tx);	/* its holder died mid-frame */
	if (c->kind == CONN_FIFO) {
		rc = mproc__fifo_send_lock(c->fd, &forever);
		if (rc < 0)
			mproc__conn_unlock(&c->tx->cs_wlock);
	}
	return rc < 0 ? rc : 0;
}

static void
send_unlock(struct mproc_conn *c)
{
	if (c->kind == CONN_FIFO)
		mproc__fifo_send_unlock(c->fd);
	mproc__conn_unlock(&c->tx->cs_wlock);
}

static int
recv_lock(struct mproc_conn *c, const struct mproc__deadline *d)
{
	int rc = mproc__conn_lock(&c->rx->cs_rlock, d);

	if (rc < 0)
		return rc;
	if (rc == 1 && uatomic_read(&c->rx->cs_receiving))
		mproc__stream_break(c->rx);	/* its holder died mid-frame */
	if (c->kind == CONN_FIFO) {
		rc = mproc__fifo_recv_enter(c, d);
		if (rc < 0)
			mproc__conn_unlock(&c->rx->cs_rlock);
	}
	return rc < 0 ? rc : 0;
}

static void
recv_unlock(struct mproc_conn *c)
{
	if (c->kind == CONN_FIFO)
		mproc__fifo_recv_leave(c);
	mproc__conn_unlock(&c->rx->cs_rlock);
}

/* --- Messages -------------------------------------------------------- */

static int
send_frame(struct mproc_conn *c, const void *msg, size_t len, int fd)
{
	int rc = send_lock(c);

	if (rc < 0)
		return rc;
	if (uatomic_read(&c->tx->cs_broken))
		rc = -EPROTO;
	else
		rc = mproc__frame_send(c, msg, len, fd);
	send_unlock(c);
	return rc;
}

static ssize_t
recv_frame(struct mproc_conn *c, struct conn_recv_req *req, int timeout_ms)
{
	struct mproc__deadline d;
	ssize_t rc;

	if (mproc__deadline_start(&d, timeout_ms) < 0)
		return -EINVAL;
	rc = recv_lock(c, &d);
	if (rc < 0)
		return rc;
	rc = mproc__frame_recv(c, req, &d);
	recv_unlock(c);
	return rc;
}

static ssize_t
ssize_result(ssize_t rc)
{
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return rc;
}

int
mproc_conn_send(mproc_conn *c, const void *msg, size_t len)
{
	if (c == NULL || (msg == NULL && len > 0))
		return fail(EINVAL);
	if (c->tx == NULL)
		return fail(EBADF);
	if (len > c->max_msg)
		return fail(EMSGSIZE);
	return result(send_frame(c, msg, len, -1));
}

ssize_t
mproc_conn_recv(mproc_conn *c, void *buf, size_t cap, int timeout_ms)
{
	struct conn_recv_req req = { .buf = buf, .cap = cap };

	if (c == NULL || (buf == NULL && cap > 0))
		return fail(EINVAL);
	if (c->rx == NULL)
		return fail(EBADF);
	return ssize_result(recv_frame(c, &req, timeout_ms));
}

ssize_t
mproc_conn_recv_alloc(mproc_conn *c, void **msg, int timeout_ms)
{
	struct conn_recv_req req = { .alloc = msg };

	if (c == NULL || msg == NULL)
		return fail(EINVAL);
	if (c->rx == NULL)
		return fail(EBADF);
	return ssize_result(recv_frame(c, &req, timeout_ms));
}

int
mproc_conn_send_fd(mproc_conn *c, int fd)
{
	static const char byte = 0;

	if (c == NULL)
		return fail(EINVAL);
	if (c->kind != CONN_SOCKET)
		return fail(ENOTSUP);
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return fail(EBADF);
	return result(send_frame(c, &byte, 1, fd));
}

int
mproc_conn_recv_fd(mproc_conn *c, int timeout_ms)
{
	int fd = -1;
	struct conn_recv_req req = { .fd = &fd };
	ssize_t rc;

	if (c == NULL)
		return fail(EINVAL);
	if (c->kind != CONN_SOCKET)
		return fail(ENOTSUP);
	rc = recv_frame(c, &req, timeout_ms);
	return rc < 0 ? fail((int)-rc) : fd;
}

/* --- The rest -------------------------------------------------------- */

static int
conn_poll(struct mproc_conn *c, int timeout_ms)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	struct mproc__deadline d;
	int rc;

	if (mproc__deadline_start(&d, timeout_ms) < 0)
		return -EINVAL;
	if (uatomic_read(&c->rx->cs_broken) || uatomic_read(&c->rx->cs_pending))
		return 1;	/* recv answers at once */
	rc = poll(&p, 1, mproc__deadline_ms_left(&d));
	return rc < 0 ? -errno : rc;
}

int
mproc_conn_poll(mproc_conn *c, int timeout_ms)
{
	if (c == NULL)
		return fail(EINVAL);
	if (c->rx == NULL)
		return fail(EBADF);
	return result(conn_poll(c, timeout_ms));
}

int
mproc_conn_fd(const mproc_conn *c)
{
	return c == NULL ? fail(EINVAL) : c->fd;
}

int
mproc_conn_set_max_msg(mproc_conn *c, size_t max)
{
	if (c == NULL || max == 0 || max > SSIZE_MAX)
		return fail(EINVAL);
	c->max_msg = max;
	return 0;
}

int
mproc_conn_close(mproc_conn *c)
{
	if (c == NULL)
		return 0;
	close(c->fd);
	if (c->map != NULL)
		map_put(c->map);
	if (c->kind == CONN_FIFO) {
		if (c->lock_fd >= 0)
			close(c->lock_fd);
		mproc__conn_lock_destroy(&c->local.cs_wlock);
		mproc__conn_lock_destroy(&c->local.cs_rlock);
	}
	free(c);
	return 0;
}
