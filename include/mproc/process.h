/*
 * mproc/process.h - processes you start, join and terminate.
 * Python: multiprocessing.Process.  See mproc_process_new(3).
 */
#ifndef MPROC_PROCESS_H
#define MPROC_PROCESS_H

#include <limits.h>
#include <mproc/common.h>

MPROC_BEGIN_DECLS

typedef struct mproc_process mproc_process;
typedef int (*mproc_target_fn)(void *arg);

/* mproc_process_exitcode() of a process not started or still running. */
#define MPROC_RUNNING INT_MIN

/* Pair with mproc_process_free(). */
MPROC_API mproc_process *mproc_process_new(mproc_target_fn target, void *arg, const char *name);
MPROC_API int     mproc_process_set_daemon(mproc_process *p, bool daemon);
MPROC_API int     mproc_process_start(mproc_process *p);
MPROC_API int     mproc_process_join(mproc_process *p, int timeout_ms);
MPROC_API bool    mproc_process_is_alive(mproc_process *p);
MPROC_API int     mproc_process_exitcode(mproc_process *p);
MPROC_API pid_t   mproc_process_pid(const mproc_process *p);
MPROC_API const char *mproc_process_name(const mproc_process *p);
MPROC_API int     mproc_process_fd(const mproc_process *p);
MPROC_API int     mproc_process_terminate(mproc_process *p);
MPROC_API int     mproc_process_kill(mproc_process *p);
MPROC_API void    mproc_process_free(mproc_process *p);
MPROC_API const char *mproc_current_name(void);
MPROC_API int     mproc_cpu_count(void);

MPROC_END_DECLS

#endif /* MPROC_PROCESS_H */
