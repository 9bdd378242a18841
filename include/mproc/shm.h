/*
 * mproc/shm.h - named and anonymous shared memory segments.
 * Python: multiprocessing.shared_memory.SharedMemory.  See mproc_shm_create(3).
 */
#ifndef MPROC_SHM_H
#define MPROC_SHM_H

#include <mproc/common.h>

MPROC_BEGIN_DECLS

typedef struct mproc_shm mproc_shm;

/* Pair create/open with mproc_shm_close(); the name with mproc_shm_unlink().
 * create: zero-filled; name NULL: anonymous (shared with children forked
 * afterwards); mode 0: 0600, exactly, whatever the umask.  The name
 * appears only once the segment is complete. */
MPROC_API mproc_shm  *mproc_shm_create(const char *name, size_t size, mode_t mode);
MPROC_API mproc_shm  *mproc_shm_open(const char *name);
MPROC_API void       *mproc_shm_addr(const mproc_shm *s);
MPROC_API size_t      mproc_shm_size(const mproc_shm *s);
MPROC_API const char *mproc_shm_name(const mproc_shm *s);
MPROC_API int         mproc_shm_close(mproc_shm *s);
MPROC_API int         mproc_shm_unlink(const char *name);

MPROC_END_DECLS

#endif /* MPROC_SHM_H */
