/* conn-lock.c - sender and receiver locks of a connection (see conn-lock.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/file.h>
#include <urcu/arch.h>
#include <urcu/uatomic.h>

#include <mproc/common.h>

#include "conn-lock.h"
#include "futex.h"

int
mproc__conn_lock_init(struct conn_lock *l)
{
	pthread_mutexattr_t attr;
	int rc;

	rc = pthread_mutexattr_init(&attr);
	if (rc != 0)
		return -rc;
	rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	if (rc == 0)
		rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	if (rc == 0)
		rc = pthread_mutex_init(&l->cl_mutex, &attr);
	pthread_mutexattr_destroy(&attr);
	l->cl_seq = 0;
	l->cl_waiters = 0;
	return -rc;
}

void
mproc__conn_lock_destroy(struct conn_lock *l)
{
	pthread_mutex_destroy(&l->cl_mutex);
}

/* 0 taken, 1 taken from a dead holder, -EBUSY held by a live one. */
static int
try_lock(struct conn_lock *l)
{
	int rc = pthread_mutex_trylock(&l->cl_mutex);

	if (rc == EOWNERDEAD) {
		pthread_mutex_consistent(&l->cl_mutex);
		return 1;
	}
	/* ENOTRECOVERABLE cannot happen: we always make it consistent. */
	return -rc;
}

/* A deadline of at most CONN_LOCK_SLICE_MS within d. */
static int
slice_of(const struct mproc__deadline *d, struct mproc__deadline *slice)
{
	int left = mproc__deadline_ms_left(d);

	if (left == 0)
		return mproc__deadline_error(d);
	if (left < 0 || left > CONN_LOCK_SLICE_MS)
		left = CONN_LOCK_SLICE_MS;
	return mproc__deadline_start(slice, left);
}

/* Sleeps until an unlock changes cl_seq from seq, or a slice passes. */
static int
sleep_on(struct conn_lock *l, int32_t seq, const struct mproc__deadline *d)
{
	struct mproc__deadline slice;
	int rc = slice_of(d, &slice);

	if (rc < 0)
		return rc;
	/* [W1] waiters before the futex re-reads cl_seq.  Pairs with [U1]. */
	uatomic_add_return(&l->cl_waiters, 1);
	rc = mproc__futex_wait(&l->cl_seq, seq, &slice);
	uatomic_add_return(&l->cl_waiters, -1);
	return rc == -ETIMEDOUT ? 0 : rc;	/* a slice ran out: try again */
}

int
mproc__conn_lock(struct conn_lock *l, const struct mproc__deadline *d)
{
	int rc = try_lock(l);

	while (rc == -EBUSY) {
		int32_t seq = uatomic_read(&l->cl_seq);

		/* [W0] Read seq before trying again, so an unlock between the
		 * two is seen as a changed seq.  Pairs with [U1]. */
		cmm_smp_mb();
		rc = try_lock(l);
		if (rc != -EBUSY)
			break;
		rc = sleep_on(l, seq, d);
		if (rc < 0)
			return rc;
		rc = try_lock(l);
	}
	return rc;
}

void
mproc__conn_unlock(struct conn_lock *l)
{
	pthread_mutex_unlock(&l->cl_mutex);
	/*
	 * [U1] The unlock before the seq bump, and the bump before reading
	 * cl_waiters (a full barrier).  Pairs with [W0] and [W1]: either the
	 * waiter sees the new seq (its futex wait returns at once) or we see
	 * it counted and wake it.
	 */
	uatomic_add_return(&l->cl_seq, 1);
	if (uatomic_read(&l->cl_waiters) > 0)
		mproc__futex_wake(&l->cl_seq, 1);
}

/*
 * Kernel locks for FIFOs.  Forever: the blocking call, which a signal
 * handler interrupts (EINTR).  A finite deadline: the non-blocking call,
 * retried after short sleeps, since neither fcntl nor flock takes one.
 */
typedef int (*xlock_fn)(int fd, bool wait);

static int
record_lock(int fd, bool wait)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = 0, .l_len = 1 };

	if (fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl) == 0)
		return 0;
	return errno == EACCES ? -EAGAIN : -errno;
}

static int
file_lock(int fd, bool wait)
{
	if (flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) == 0)
		return 0;
	return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

static int
xlock(xlock_fn fn, int fd, const struct mproc__deadline *d)
{
	int pause_ms = 1;
	int rc;

	if (d->timeout_ms == MPROC_FOREVER)
		return fn(fd, true);
	while ((rc = fn(fd, false)) == -EAGAIN) {
		int left = mproc__deadline_ms_left(d);

		if (left == 0)
			return mproc__deadline_error(d);
		if (poll(NULL, 0, left < pause_ms ? left : pause_ms) < 0)
			return -errno;
		if (pause_ms < 16)
			pause_ms *= 2;
	}
	return rc;
}

int
mproc__fifo_send_lock(int fd, const struct mproc__deadline *d)
{
	return xlock(record_lock, fd, d);
}

void
mproc__fifo_send_unlock(int fd)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET,
			    .l_start = 0, .l_len = 1 };

	fcntl(fd, F_SETLK, &fl);
}

int
mproc__fifo_recv_lock(int lock_fd, const struct mproc__deadline *d)
{
	return xlock(file_lock, lock_fd, d);
}

void
mproc__fifo_recv_unlock(int lock_fd)
{
	flock(lock_fd, LOCK_UN);
}
