/*
 * conn-fifo.c - opening named FIFOs, and their receivers' kernel lock.
 *
 * Opening waits for the peer within a deadline, which open(2) cannot
 * do: both sides open O_NONBLOCK and look again every
 * FIFO_OPEN_RETRY_MS (a writer gets ENXIO while no reader is there; a
 * reader looks for a writer with tee(2)).  The descriptors stay
 * O_NONBLOCK (see conn-frame.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "internal.h"

/* How often an opening FIFO end looks again for its peer. */
#define FIFO_OPEN_RETRY_MS 10

/*
 * 1 if the FIFO read end fd has a writer or data, 0 if not.  read(2)
 * would tell (EAGAIN: a writer; 0: none) but would consume data; tee(2)
 * into a scratch pipe tells the same without consuming anything.
 */
static int
fifo_has_writer(int fd)
{
	int scratch[2], rc;
	ssize_t n;

	if (pipe2(scratch, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	n = tee(fd, scratch[1], 1, SPLICE_F_NONBLOCK);
	rc = n > 0 || (n < 0 && errno == EAGAIN) ? 1 : n == 0 ? 0 : -errno;
	close(scratch[0]);
	close(scratch[1]);
	return rc;
}

/* Sleeps a retry interval within d: 0, -EINTR or the deadline's error. */
static int
fifo_retry_pause(const struct mproc__deadline *d)
{
	int left = mproc__deadline_ms_left(d);

	if (mproc__deadline_passed(d))
		return mproc__deadline_error(d);
	if (left < 0 || left > FIFO_OPEN_RETRY_MS)
		left = FIFO_OPEN_RETRY_MS;
	return poll(NULL, 0, left) < 0 ? -errno : 0;
}

/* 0 if fd is a FIFO, -ENOTSUP if it is something else. */
static int
check_fifo(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	return S_ISFIFO(st.st_mode) ? 0 : -ENOTSUP;
}

/* Opens the read end at once, then waits for a writer to appear. */
static int
fifo_open_reader(const char *path, const struct mproc__deadline *d)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return errno == ELOOP ? -ENOTSUP : -errno;
	rc = check_fifo(fd);
	while (rc == 0 && (rc = fifo_has_writer(fd)) == 0)
		rc = fifo_retry_pause(d);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* Opens the write end; with no reader yet that is ENXIO: retry. */
static int
fifo_open_writer(const char *path, const struct mproc__deadline *d)
{
	int flags = O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC;
	int fd, rc;

	while ((fd = open(path, flags)) < 0) {
		if (errno != ENXIO)
			return errno == ELOOP ? -ENOTSUP : -errno;
		rc = fifo_retry_pause(d);
		if (rc < 0)
			return rc;
	}
	rc = check_fifo(fd);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/*
 * A receiver's own open file description of the FIFO, to flock(2).
 * The handle's fd will not do: children forked later share its open
 * file description, and flock would not keep them apart.
 */
static int
fifo_lock_fd(int fd)
{
	char proc[64];
	int lock_fd;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	lock_fd = open(proc, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	return lock_fd < 0 ? -errno : lock_fd;
}

static int
fifo_path_check(const char *path, int flags)
{
	struct stat st;

	if ((flags & MPROC_CREAT) && mkfifo(path, 0600) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(path, &st) < 0)
		return -errno;
	return S_ISFIFO(st.st_mode) ? 0 : -ENOTSUP;
}

static int
fifo_new(struct mproc_conn **out, const char *path, int flags,
	 const struct mproc__deadline *d)
{
	bool reader = (flags & MPROC_RDONLY) != 0;
	struct mproc_conn *c;
	int fd, rc;

	rc = fifo_path_check(path, flags);
	if (rc < 0)
		return rc;
	fd = reader ? fifo_open_reader(path, d) : fifo_open_writer(path, d);
	if (fd < 0)
		return fd;
	c = mproc__conn_new(fd, CONN_FIFO);
	rc = c == NULL ? -ENOMEM : mproc__stream_init(&c->local);
	if (rc == 0)
		c->nonblock = true;	/* opened O_NONBLOCK; see conn-frame.c */
	if (rc == 0 && reader) {
		c->rx = &c->local;
		c->lock_pid = getpid();
		c->lock_fd = rc = fifo_lock_fd(fd);
	}
	if (rc < 0) {
		free(c);
		close(fd);
		return rc;
	}
	if (!reader)
		c->tx = &c->local;
	*out = c;
	return 0;
}

mproc_conn *
mproc_fifo_open(const char *path, int flags, int timeout_ms)
{
	int dir = flags & (MPROC_RDONLY | MPROC_WRONLY);
	struct mproc__deadline d;
	mproc_conn *c = NULL;
	int rc;

	if (path == NULL || (flags & ~(MPROC_RDONLY | MPROC_WRONLY | MPROC_CREAT)) ||
	    (dir != MPROC_RDONLY && dir != MPROC_WRONLY) ||
	    mproc__deadline_start(&d, timeout_ms) < 0)
		return fail_null(EINVAL);
	rc = fifo_new(&c, path, flags, &d);
	return rc < 0 ? fail_null(-rc) : c;
}

/*
 * The flock of a FIFO receiver.  A process keeps it while a header it
 * read is pending (the header is in this process's memory only), so
 * other processes cannot read the payload as if it were a header.  A
 * child that inherited the handle opens its own lock file and starts
 * with no pending header: its parent's stays the parent's.
 */
int
mproc__fifo_recv_enter(struct mproc_conn *c, const struct mproc__deadline *d)
{
	pid_t pid = getpid();
	int lock_fd;

	if (c->lock_pid != pid) {
		lock_fd = fifo_lock_fd(c->fd);
		if (lock_fd < 0)
			return lock_fd;
		close(c->lock_fd);
		c->lock_fd = lock_fd;
		c->lock_pid = pid;
		c->lock_kept = false;
		c->local.cs_pending = 0;
	}
	if (c->lock_kept)
		return 0;
	return mproc__fifo_recv_lock(c->lock_fd, d);
}

void
mproc__fifo_recv_leave(struct mproc_conn *c)
{
	c->lock_kept = c->local.cs_pending != 0;
	if (!c->lock_kept)
		mproc__fifo_recv_unlock(c->lock_fd);
}
