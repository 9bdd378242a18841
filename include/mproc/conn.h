/*
 * mproc/conn.h - Pipes and named FIFOs that carry whole messages.
 *
 * Python: multiprocessing.Pipe() and Connection.  A message is a byte
 * string of 0 bytes up to the connection's limit (default
 * MPROC_MSG_MAX_DEFAULT), delivered whole and in order.  One end may be
 * shared by many threads and processes: each message still reaches
 * exactly one receiver.  See mproc_pipe(3), mproc_fifo_open(3).
 *
 * Synchronization: every call may be made on one end by several threads
 * and processes at once, except set_max_msg and close, which need the
 * handle to themselves.  Senders take turns under a sender lock, and
 * receivers under a receiver lock, which a process that dies holding
 * them does not keep.  A blocking call fails with EINTR when a signal
 * handler runs while it waits, but never half way through a message.
 */
#ifndef MPROC_CONN_H
#define MPROC_CONN_H

#include <mproc/common.h>

MPROC_BEGIN_DECLS

typedef struct mproc_conn mproc_conn;

/* Flags of mproc_fifo_open(); unknown bits are EINVAL. */
#define MPROC_RDONLY 0x1	/* the read end */
#define MPROC_WRONLY 0x2	/* the write end */
#define MPROC_CREAT  0x4	/* mkfifo(path, 0600) if missing */

/* The default longest message of a new connection: 64 MiB. */
#define MPROC_MSG_MAX_DEFAULT ((size_t)64 << 20)

/* A connected pair.  duplex true: a socketpair, both ends send and
 * receive, descriptors can be passed.  duplex false: a pipe, *a only
 * receives, *b only sends.  Share the ends with children forked later.
 * Pair each end with mproc_conn_close(). */
MPROC_API int mproc_pipe(mproc_conn **a, mproc_conn **b, bool duplex);

/* One end of the named FIFO at path (MPROC_RDONLY or MPROC_WRONLY,
 * optionally | MPROC_CREAT); waits up to timeout_ms for a peer (EAGAIN,
 * ETIMEDOUT); a non-FIFO or symlink at path is ENOTSUP.
 * Pair with mproc_conn_close(). */
MPROC_API mproc_conn *mproc_fifo_open(const char *path, int flags, int timeout_ms);

/* Hands the whole message over, or fails having sent none of it
 * (EPIPE: no receiver; EMSGSIZE: over the limit; never SIGPIPE). */
MPROC_API int mproc_conn_send(mproc_conn *c, const void *msg, size_t len);

/* The next message into buf; returns its length.  cap too small:
 * EMSGSIZE, and the message stays.  Every sender gone: EPIPE.
 * A bad or oversized frame: EPROTO, for good. */
MPROC_API ssize_t mproc_conn_recv(mproc_conn *c, void *buf, size_t cap, int timeout_ms);

/* The next message in a malloc()ed buffer the caller frees (NULL for
 * an empty message); returns its length. */
MPROC_API ssize_t mproc_conn_recv_alloc(mproc_conn *c, void **msg, int timeout_ms);

/* 1 when a recv would not block, 0 on timeout; EBADF on a send-only end. */
MPROC_API int mproc_conn_poll(mproc_conn *c, int timeout_ms);

/* The descriptor to poll(2) for readability (do not read it yourself). */
MPROC_API int mproc_conn_fd(const mproc_conn *c);

/* The longest message this end sends or accepts (this handle only). */
MPROC_API int mproc_conn_set_max_msg(mproc_conn *c, size_t max);

/* Pass an open descriptor over a duplex Pipe (SCM_RIGHTS); ENOTSUP on
 * other ends.  recv_fd returns the new descriptor (close-on-exec); when
 * the next message carries none it fails with EBADMSG and leaves it. */
MPROC_API int mproc_conn_send_fd(mproc_conn *c, int fd);
MPROC_API int mproc_conn_recv_fd(mproc_conn *c, int timeout_ms);

/* Release the end and free the handle; NULL is a no-op returning 0. */
MPROC_API int mproc_conn_close(mproc_conn *c);

MPROC_END_DECLS

#endif /* MPROC_CONN_H */
