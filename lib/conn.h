/*
 * conn.h - the private side of <mproc/conn.h>: the wire format, the
 * state a stream shares between processes, and each process's handle.
 *
 * Wire format (one frame per message, native byte order: both ends are
 * on one machine):
 *
 *	struct conn_hdr   16 bytes: magic, flags, payload length
 *	payload           len bytes
 *	trailer           8 bytes: len ^ CONN_TRAILER_KEY
 *
 * A sender writes a frame with one writev(2) (sendmsg(2) on a socket)
 * under the sender lock; a receiver reads the header with one read and
 * the payload and trailer with one readv under the receiver lock, never
 * reading ahead, so several processes can share one descriptor.  The
 * magic catches a stream read from the wrong place; the trailer catches
 * a frame whose writer died half way and that another writer then
 * continued (on a FIFO nothing else can tell).  A frame with CONN_F_FD
 * carries one descriptor (SCM_RIGHTS) on its 1-byte payload, sent apart
 * from the header so that reading the header never receives it.
 */
#ifndef MPROC_CONN_PRIV_H
#define MPROC_CONN_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <urcu/arch.h>

#include <mproc/conn.h>

#include "clock.h"
#include "conn-lock.h"

#define CONN_MAGIC 0x3172706dU		/* "mpr1" in memory on x86 */
#define CONN_F_FD 0x1U			/* the payload carries a descriptor */
#define CONN_TRAILER_KEY UINT64_C(0x6d70726f632d656e)

struct conn_hdr {
	uint32_t magic;
	uint32_t flags;
	uint64_t len;
};

/*
 * One direction of a connection.  For a Pipe it lives in the page
 * mproc_pipe() maps MAP_SHARED (no pointers inside: children see it at
 * the same address, but keep it position-independent anyway); for a
 * FIFO it is in the handle and so only shared by threads.
 *
 * Sending side, written under cs_wlock:
 *   cs_sending  1 from just before a sender's first write of a frame to
 *               its last; a lock taken from a dead holder with it set
 *               means a torn frame is in the stream.
 * Receiving side, written under cs_rlock:
 *   cs_receiving  as cs_sending, for the bytes of a header or of a
 *                 payload being read.
 *   cs_pending, cs_pend  the header of the next message, already read
 *                 from the stream and kept for the next receiver
 *                 (EMSGSIZE, EBADMSG, ENOMEM left it there).
 * Either side:
 *   cs_broken   0, then once 1 for good: the stream is unusable
 *               (EPROTO).  Read without a lock; a stale 0 only delays
 *               the EPROTO to the read that finds the damage itself.
 */
struct conn_stream {
	struct conn_lock cs_wlock;
	int32_t cs_sending;
	char cs_pad[CAA_CACHE_LINE_SIZE];	/* senders apart from receivers */
	struct conn_lock cs_rlock;
	int32_t cs_receiving;
	int32_t cs_pending;
	struct conn_hdr cs_pend;
	int32_t cs_broken;
};

/* The page of a Pipe: stream 0 carries b to a, stream 1 a to b. */
struct conn_page {
	struct conn_stream cp_stream[2];
};

/* A Pipe's page as this process sees it, shared by its two handles. */
struct conn_map {
	struct conn_page *page;
	int refs;		/* handles in this process still open */
};

enum conn_kind {
	CONN_PIPE,		/* pipe2(): one way */
	CONN_SOCKET,		/* socketpair(): both ways, SCM_RIGHTS */
	CONN_FIFO,		/* a named FIFO: one way */
};

struct mproc_conn {
	int fd;
	enum conn_kind kind;
	bool nonblock;			/* fd is O_NONBLOCK: see conn-frame.c */
	bool guard_sigpipe;		/* sends block SIGPIPE: see conn-frame.c */
	size_t max_msg;
	struct conn_stream *tx;		/* the stream we send on, or NULL */
	struct conn_stream *rx;		/* the stream we receive from, or NULL */
	struct conn_map *map;		/* Pipes */
	/* FIFOs only: */
	struct conn_stream local;	/* thread locks and pending header */
	int lock_fd;			/* receivers: own open file for flock */
	pid_t lock_pid;			/* the process lock_fd belongs to */
	bool lock_kept;			/* flock kept over a pending header */
};

/* What a receive wants: a copy into buf, a malloc()ed copy, or a fd. */
struct conn_recv_req {
	void *buf;
	size_t cap;
	void **alloc;		/* non-NULL: malloc() the payload here */
	int *fd;		/* non-NULL: receive a CONN_F_FD frame */
};

/* conn-frame.c: frames on a locked stream.  Both return -errno. */
int mproc__frame_send(struct mproc_conn *c, const void *msg, size_t len,
		      int fd);
ssize_t mproc__frame_recv(struct mproc_conn *c, struct conn_recv_req *req,
			  const struct mproc__deadline *d);

/* conn.c: a handle with the defaults (NULL without memory); a stream's
 * locks (0 or -errno); marking a stream unusable for good. */
struct mproc_conn *mproc__conn_new(int fd, enum conn_kind kind);
int mproc__stream_init(struct conn_stream *s);
void mproc__stream_break(struct conn_stream *s);

/* conn-fifo.c: a FIFO receiver's flock, taken after the thread lock
 * (0 or -errno as mproc__fifo_recv_lock()), and released before it
 * unless a pending header keeps it. */
int mproc__fifo_recv_enter(struct mproc_conn *c,
			   const struct mproc__deadline *d);
void mproc__fifo_recv_leave(struct mproc_conn *c);

#endif /* MPROC_CONN_PRIV_H */
