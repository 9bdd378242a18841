/*
 * shm.h - shared memory segments, and what the queue needs beyond the
 * public calls: a segment that is initialised before its name appears.
 *
 * A segment is a file in /dev/shm (named) or a memfd (anonymous), mapped
 * MAP_SHARED once per handle.  The descriptor is closed once mapped: the
 * mapping alone keeps the memory.
 */
#ifndef MPROC_SHM_PRIVATE_H
#define MPROC_SHM_PRIVATE_H

#include <stddef.h>
#include <sys/types.h>

#include <mproc/shm.h>

struct mproc_shm {
	void *addr;		/* the mapping: size bytes, MAP_SHARED */
	size_t size;
	char *name;		/* malloc'd; NULL for an anonymous segment */
};

/*
 * Called on the mapped, zero-filled segment before anyone else can see
 * it (before its name is linked).  Returns 0 or -errno.
 */
typedef int mproc__shm_init_fn(void *addr, size_t size, const void *arg);

/* Flags of mproc__shm_create(). */
#define MPROC__SHM_RESERVE 0x1	/* allocate all pages now (ENOMEM, not SIGBUS later) */

/*
 * Creates a segment of size bytes (name NULL: anonymous), mode 0 meaning
 * 0600, runs init (may be NULL) on it, and only then makes the name
 * visible: -EEXIST if it is taken.  On failure nothing is left behind.
 * Returns 0 and *out, or -errno.
 */
int mproc__shm_create(const char *name, size_t size, mode_t mode, int flags,
		      mproc__shm_init_fn *init, const void *arg,
		      struct mproc_shm **out);

/* Maps the whole of an existing named segment: 0 and *out, or -errno
 * (-ENOENT; -EPROTO for an empty object). */
int mproc__shm_open(const char *name, struct mproc_shm **out);

/* Unmaps and frees s.  Never fails for a valid handle. */
void mproc__shm_close(struct mproc_shm *s);

/* shm_unlink(name) with the name checked: 0 or -errno. */
int mproc__shm_unlink(const char *name);

#endif /* MPROC_SHM_PRIVATE_H */
