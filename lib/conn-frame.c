/*
 * conn-frame.c - writing and reading whole frames (format: conn.h).
 *
 * Callers hold the stream's lock (conn.c).  Descriptors of Pipes are
 * in blocking mode; a call that must not block says so itself
 * (MSG_DONTWAIT on a socket, RWF_NOWAIT on a pipe), so that a sender
 * half way through a frame can sleep in the kernel.  FIFOs do not take
 * RWF_NOWAIT (EOPNOTSUPP), so theirs are O_NONBLOCK (c->nonblock) and
 * every wait is a poll(2).  A wait that needs a deadline or EINTR is a
 * poll(2) in any case.  The fast path is one system call per frame for a
 * sender and two for a receiver, as with a raw length prefix.
 *
 * EINTR and deadlines apply only before a frame's first byte moved.
 * Once a sender wrote a byte it writes the rest, and once a receiver read
 * a byte of a header it reads the whole frame: stopping half way would
 * leave the stream unusable for everyone sharing it.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <urcu/uatomic.h>

#include "conn.h"

/* Skips k bytes of the vector *iov of *n entries. */
static void
iov_advance(struct iovec **iov, int *n, size_t k)
{
	while (*n > 0 && k >= (*iov)->iov_len) {
		k -= (*iov)->iov_len;
		(*iov)++;
		(*n)--;
	}
	if (*n > 0) {
		(*iov)->iov_base = (char *)(*iov)->iov_base + k;
		(*iov)->iov_len -= k;
	}
}

/* Waits for events on fd until d (NULL: forever, signals ignored).
 * 0 when something happened, -EINTR, or the deadline's error. */
static int
wait_fd(int fd, short events, const struct mproc__deadline *d)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int rc = poll(&p, 1, d ? mproc__deadline_ms_left(d) : -1);

		if (rc > 0)
			return 0;
		if (rc == 0)
			return mproc__deadline_error(d);
		if (errno != EINTR)
			return -errno;
		if (d != NULL)
			return -EINTR;
	}
}

/*
 * No MSG_NOSIGNAL for pipes: unless SIGPIPE was ignored when the end was
 * made (c->guard_sigpipe false, see conn.c), block it in this thread
 * around the writes, and take back a SIGPIPE they raised.  That costs
 * two system calls a message on top of the write: the price of not
 * changing the process's signal state.  If SIGPIPE was not
 * blocked before, none could be pending for this thread (it would have
 * been delivered), so sigpending() is needed only when it was.
 */
struct sigpipe_guard {
	sigset_t old;
	bool was_pending;
};

static void
sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
	g->was_pending = false;
	if (sigismember(&g->old, SIGPIPE) && sigpending(&pending) == 0)
		g->was_pending = sigismember(&pending, SIGPIPE);
}

static void
sigpipe_restore(struct sigpipe_guard *g, bool raised)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	if (raised && !g->was_pending) {
		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* One write of iov (and ctl, a control message, when non-NULL); one
 * that would block fails with -EAGAIN if nowait. */
static ssize_t
write_some(struct mproc_conn *c, struct iovec *iov, int n, void *ctl,
	   size_t ctl_len, bool nowait)
{
	ssize_t r;

	if (c->kind == CONN_SOCKET) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n,
				     .msg_control = ctl, .msg_controllen = ctl_len };

		r = sendmsg(c->fd, &mh, MSG_NOSIGNAL | (nowait ? MSG_DONTWAIT : 0));
	} else if (c->nonblock) {
		r = writev(c->fd, iov, n);
	} else {
		r = pwritev2(c->fd, iov, n, -1, nowait ? RWF_NOWAIT : 0);
	}
	return r < 0 ? -errno : r;
}

/*
 * Writes all of iov.  *started says whether any byte of the frame went;
 * cs_sending is 1 from just before each write that may move the first
 * bytes, so a sender killed while it waits leaves the stream usable.
 * Until then a write must not block (it would sleep with cs_sending
 * set): we poll instead.  From then on the writes block in the kernel.
 */
static int
write_iov(struct mproc_conn *c, struct iovec *iov, int n, void *ctl,
	  size_t ctl_len, bool *started)
{
	struct mproc__deadline forever;

	mproc__deadline_start(&forever, MPROC_FOREVER);
	while (n > 0) {
		ssize_t r;
		int rc;

		uatomic_set(&c->tx->cs_sending, 1);
		r = write_some(c, iov, n, ctl, ctl_len, !*started);
		if (r > 0) {
			*started = true;
			ctl = NULL;	/* the descriptor went with those bytes */
			iov_advance(&iov, &n, (size_t)r);
			continue;
		}
		if (*started && r == -EINTR)
			continue;
		if (r != -EAGAIN)
			return (int)r;
		if (!*started)
			uatomic_set(&c->tx->cs_sending, 0);
		rc = wait_fd(c->fd, POLLOUT, *started ? NULL : &forever);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A control message holding one descriptor. */
union conn_cmsg {
	struct cmsghdr hdr;
	char space[CMSG_SPACE(sizeof(int))];
};

static void
cmsg_put_fd(union conn_cmsg *u, int fd)
{
	memset(u, 0, sizeof(*u));
	u->hdr.cmsg_level = SOL_SOCKET;
	u->hdr.cmsg_type = SCM_RIGHTS;
	u->hdr.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&u->hdr), &fd, sizeof(int));
}

int
mproc__frame_send(struct mproc_conn *c, const void *msg, size_t len, int fd)
{
	struct conn_hdr h = { CONN_MAGIC, fd >= 0 ? CONN_F_FD : 0, len };
	uint64_t trailer = (uint64_t)len ^ CONN_TRAILER_KEY;
	struct iovec iov[3] = {
		{ &h, sizeof(h) }, { (void *)msg, len }, { &trailer, sizeof(trailer) },
	};
	struct sigpipe_guard guard;
	union conn_cmsg ctl;
	bool started = false;
	int rc;

	if (c->guard_sigpipe)
		sigpipe_block(&guard);
	if (fd < 0) {
		rc = write_iov(c, iov, 3, NULL, 0, &started);
	} else {
		/* The header alone first: reading it never receives the fd. */
		cmsg_put_fd(&ctl, fd);
		rc = write_iov(c, iov, 1, NULL, 0, &started);
		if (rc == 0)
			rc = write_iov(c, iov + 1, 2, &ctl, sizeof(ctl), &started);
	}
	if (c->guard_sigpipe)
		sigpipe_restore(&guard, rc == -EPIPE);
	if (rc < 0 && started)
		mproc__stream_break(c->tx);	/* a torn frame is in the stream */
	uatomic_set(&c->tx->cs_sending, 0);
	return rc;
}

/*
 * Keeps the first descriptor of mh in *fd (if *fd is still -1) and
 * closes any other.  The kernel sets MSG_CTRUNC when it could not
 * install one (EMFILE) and discards it: *fd is then -EMFILE.
 */
static void
cmsg_take_fds(struct msghdr *mh, int *fd)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		size_t i, nfds;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfds; i++) {
			int got;

			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (*fd == -1)
				*fd = got;
			else
				close(got);
		}
	}
	if (*fd == -1 && (mh->msg_flags & MSG_CTRUNC))
		*fd = -EMFILE;
}

/*
 * One read into iov that never blocks.  With fd non-NULL, descriptors
 * that come with the bytes are kept in *fd (close-on-exec); without, the
 * kernel discards any (a read without room for them installs none), so
 * none leaks.
 */
static ssize_t
read_some(struct mproc_conn *c, struct iovec *iov, int n, int *fd)
{
	union conn_cmsg ctl;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n };
	ssize_t r;

	if (fd != NULL) {
		mh.msg_control = &ctl;
		mh.msg_controllen = sizeof(ctl);
	}
	if (c->kind == CONN_SOCKET)
		r = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	else if (c->nonblock)
		r = readv(c->fd, iov, n);
	else
		r = preadv2(c->fd, iov, n, -1, RWF_NOWAIT);
	if (r < 0)
		return -errno;
	if (fd != NULL)
		cmsg_take_fds(&mh, fd);
	return r;
}

/*
 * In the middle of a frame, with nothing to read: wait for more.  A
 * Pipe's sender that died half way leaves its lock marked; look at it
 * now and then, else a receiver would wait forever for the rest.
 */
static int
wait_mid_frame(struct mproc_conn *c)
{
	struct mproc__deadline slice, now;
	struct conn_stream *s = c->rx;
	int rc;

	mproc__deadline_start(&slice, CONN_LOCK_SLICE_MS);
	if (wait_fd(c->fd, POLLIN, &slice) == 0 || c->kind == CONN_FIFO)
		return 0;
	mproc__deadline_start(&now, 0);
	rc = mproc__conn_lock(&s->cs_wlock, &now);
	if (rc >= 0) {
		if (rc == 1 && uatomic_read(&s->cs_sending))
			mproc__stream_break(s);
		mproc__conn_unlock(&s->cs_wlock);
	}
	return uatomic_read(&s->cs_broken) ? -EPROTO : 0;
}

/*
 * Reads all of iov.  Before the first byte (*started false) a wait
 * honours d and signals; the end of the stream there is EPIPE.  After
 * it, a wait is forever and the end of the stream is EPROTO.  A short
 * read means the stream is drained for now: wait before the next one.
 */
static int
read_iov(struct mproc_conn *c, struct iovec *iov, int n,
	 const struct mproc__deadline *d, bool *started, int *fd)
{
	bool drained = false;

	while (n > 0) {
		ssize_t r;
		int rc;

		if (drained) {
			rc = *started ? wait_mid_frame(c) : wait_fd(c->fd, POLLIN, d);
			if (rc < 0)
				return rc;
		}
		uatomic_set(&c->rx->cs_receiving, 1);
		r = read_some(c, iov, n, fd);
		drained = true;
		if (r > 0) {
			*started = true;
			iov_advance(&iov, &n, (size_t)r);
			continue;
		}
		if (!*started)
			uatomic_set(&c->rx->cs_receiving, 0);
		if (r == 0)
			return *started ? -EPROTO : -EPIPE;
		if (r != -EAGAIN && r != -EINTR)
			return (int)r;
	}
	return 0;
}

/* 0 if h is a header this end accepts, else -EPROTO. */
static int
check_header(const struct mproc_conn *c, const struct conn_hdr *h)
{
	if (h->magic != CONN_MAGIC || (h->flags & ~CONN_F_FD) != 0)
		return -EPROTO;
	if (h->len > c->max_msg)
		return -EPROTO;
	if ((h->flags & CONN_F_FD) && (c->kind != CONN_SOCKET || h->len != 1))
		return -EPROTO;
	return 0;
}

/* Reads the next header into the stream's pending slot. */
static int
read_header(struct mproc_conn *c, const struct mproc__deadline *d)
{
	struct conn_stream *s = c->rx;
	struct iovec iov = { &s->cs_pend, sizeof(s->cs_pend) };
	bool started = false;
	int rc = read_iov(c, &iov, 1, d, &started, NULL);

	if (rc == 0)
		rc = check_header(c, &s->cs_pend);
	if (rc < 0 && started)
		mproc__stream_break(s);
	if (rc == 0)
		s->cs_pending = 1;
	/* After cs_pending: a receiver dying here leaves a usable stream. */
	uatomic_set(&s->cs_receiving, 0);
	return rc < 0 && started ? -EPROTO : rc;
}

/* 0 if the pending message suits req, else it stays pending. */
static int
check_wanted(const struct conn_hdr *h, const struct conn_recv_req *req)
{
	if (((h->flags & CONN_F_FD) != 0) != (req->fd != NULL))
		return -EBADMSG;
	if (req->alloc == NULL && req->fd == NULL && h->len > req->cap)
		return -EMSGSIZE;
	return 0;
}

/* Reads the payload and trailer of the pending header into buf. */
static int
read_payload(struct mproc_conn *c, void *buf, int *fd)
{
	struct conn_stream *s = c->rx;
	uint64_t len = s->cs_pend.len, trailer;
	struct iovec iov[2] = { { buf, len }, { &trailer, sizeof(trailer) } };
	bool started = true;
	int rc;

	uatomic_set(&s->cs_receiving, 1);
	rc = read_iov(c, iov, 2, NULL, &started, fd);
	s->cs_pending = 0;
	if (rc < 0 || trailer != (len ^ CONN_TRAILER_KEY))
		rc = -EPROTO;
	else if (fd != NULL && *fd < 0)	/* CONN_F_FD, but no descriptor */
		rc = *fd == -EMFILE ? -EMFILE : -EPROTO;
	if (rc == -EPROTO)
		mproc__stream_break(s);
	/* -EMFILE: the frame was whole, so the stream is still in step. */
	uatomic_set(&s->cs_receiving, 0);
	return rc;
}

ssize_t
mproc__frame_recv(struct mproc_conn *c, struct conn_recv_req *req,
		  const struct mproc__deadline *d)
{
	struct conn_stream *s = c->rx;
	char fd_byte;
	void *buf = req->fd ? &fd_byte : req->buf;
	size_t len;
	int fd = -1, rc;

	if (uatomic_read(&s->cs_broken))
		return -EPROTO;
	if (!s->cs_pending && (rc = read_header(c, d)) < 0)
		return rc;
	rc = check_wanted(&s->cs_pend, req);
	if (rc < 0)
		return rc;
	len = (size_t)s->cs_pend.len;	/* check_header(): <= max_msg */
	if (req->alloc)
		buf = len > 0 ? malloc(len) : NULL;
	if (req->alloc && len > 0 && buf == NULL)
		return -ENOMEM;		/* the message stays pending */
	rc = read_payload(c, buf, req->fd ? &fd : NULL);
	if (rc < 0) {
		if (req->alloc)
			free(buf);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if (req->alloc)
		*req->alloc = buf;
	if (req->fd)
		*req->fd = fd;
	return (ssize_t)len;
}
