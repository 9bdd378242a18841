/*
 * mproc/sync.h - process-shared Lock, Semaphore and Event.
 * Python: multiprocessing.Lock, Semaphore, Event.  See mproc_lock_init(3),
 * mproc_sem_init(3), mproc_event_init(3).
 *
 * The objects have a fixed public size so they can be embedded in your
 * own structs in shared memory (an mproc_shm segment or any MAP_SHARED
 * mapping): mproc_lock is 64 bytes, mproc_sem and mproc_event 32 bytes,
 * all 8-byte aligned.  They hold no pointers, so each process may map
 * them at a different address.  Initialise each once, in one process,
 * before others use it; never copy one after that.  None needs a
 * destroy call.
 *
 * Blocking calls take `int timeout_ms` (see <mproc/common.h>) and fail
 * with EINTR when a signal handler interrupts their wait.
 *
 * Ordering: release/set have release semantics, a successful
 * acquire/wait (or is_set returning true) has acquire semantics; what
 * one thread wrote before the former is visible to the thread doing
 * the latter, in any process.
 *
 * Synchronization: every call may run in any number of threads and
 * processes at once, except *_init, which must not race with any use
 * of the same object.
 */
#ifndef MPROC_SYNC_H
#define MPROC_SYNC_H

#include <mproc/common.h>

MPROC_BEGIN_DECLS

/*
 * Inside (private, may change): mproc_lock is a glibc robust
 * process-shared mutex (40 bytes) plus a recovery state; mproc_sem is
 * a 32-bit count and a count of sleepers; mproc_event is one 32-bit
 * word, a flag and a generation.  The rest is reserved.
 */
typedef struct mproc_lock  { union { unsigned char bytes[64]; uint64_t align; } opaque; } mproc_lock;
typedef struct mproc_sem   { union { unsigned char bytes[32]; uint64_t align; } opaque; } mproc_sem;
typedef struct mproc_event { union { unsigned char bytes[32]; uint64_t align; } opaque; } mproc_event;

/*
 * A robust lock, held by a thread.  If its holder dies, the next
 * acquire takes it and fails with EOWNERDEAD: repair the data, call
 * mproc_lock_consistent(), then release.  Releasing without that
 * makes the lock unusable (ENOTRECOVERABLE), as a pthread robust
 * mutex does.  Relocking fails EDEADLK (EAGAIN with timeout 0);
 * release by a non-holder fails EPERM.
 * Pair acquire (0 or EOWNERDEAD) with release.
 */
MPROC_API int mproc_lock_init(mproc_lock *l);
MPROC_API int mproc_lock_acquire(mproc_lock *l, int timeout_ms);
MPROC_API int mproc_lock_release(mproc_lock *l);
MPROC_API int mproc_lock_consistent(mproc_lock *l);

/*
 * A counting semaphore of 0..INT32_MAX units, not robust: units have
 * no owner.  Pair acquire with release (from any thread or process);
 * a release beyond INT32_MAX fails EOVERFLOW.  value is a snapshot.
 */
MPROC_API int mproc_sem_init(mproc_sem *s, unsigned value);
MPROC_API int mproc_sem_acquire(mproc_sem *s, int timeout_ms);
MPROC_API int mproc_sem_release(mproc_sem *s);
MPROC_API int mproc_sem_value(const mproc_sem *s);

/*
 * An event: set wakes every waiter in every process (even if a clear
 * follows at once); wait returns 0 at once while it is set.
 * is_set returns false, with errno EINVAL, for NULL.
 */
MPROC_API int  mproc_event_init(mproc_event *e);
MPROC_API int  mproc_event_set(mproc_event *e);
MPROC_API int  mproc_event_clear(mproc_event *e);
MPROC_API bool mproc_event_is_set(const mproc_event *e);
MPROC_API int  mproc_event_wait(mproc_event *e, int timeout_ms);

MPROC_END_DECLS

#endif /* MPROC_SYNC_H */
