/*
 * mproc/sync.h - process-shared Lock, Semaphore and Event.
 * Python: multiprocessing.Lock, Semaphore, Event.  See mproc_lock_init(3).
 *
 * The objects have a fixed public size so they can be embedded in your
 * own structs in shared memory.  Initialise each once, in one process,
 * before others use it; never copy one after that.
 */
#ifndef MPROC_SYNC_H
#define MPROC_SYNC_H

#include <mproc/common.h>

MPROC_BEGIN_DECLS

typedef struct mproc_lock  { union { unsigned char bytes[64]; uint64_t align; } opaque; } mproc_lock;
typedef struct mproc_sem   { union { unsigned char bytes[32]; uint64_t align; } opaque; } mproc_sem;
typedef struct mproc_event { union { unsigned char bytes[32]; uint64_t align; } opaque; } mproc_event;

/* A robust lock: if its holder dies, the next acquire fails with
 * EOWNERDEAD holding it.  Pair acquire with release. */
MPROC_API int mproc_lock_init(mproc_lock *l);
MPROC_API int mproc_lock_acquire(mproc_lock *l, int timeout_ms);
MPROC_API int mproc_lock_release(mproc_lock *l);
MPROC_API int mproc_lock_consistent(mproc_lock *l);

/* A counting semaphore.  Pair acquire with release. */
MPROC_API int mproc_sem_init(mproc_sem *s, unsigned value);
MPROC_API int mproc_sem_acquire(mproc_sem *s, int timeout_ms);
MPROC_API int mproc_sem_release(mproc_sem *s);
MPROC_API int mproc_sem_value(const mproc_sem *s);

/* An event: set wakes every waiter in every process. */
MPROC_API int  mproc_event_init(mproc_event *e);
MPROC_API int  mproc_event_set(mproc_event *e);
MPROC_API int  mproc_event_clear(mproc_event *e);
MPROC_API bool mproc_event_is_set(const mproc_event *e);
MPROC_API int  mproc_event_wait(mproc_event *e, int timeout_ms);

MPROC_END_DECLS

#endif /* MPROC_SYNC_H */
