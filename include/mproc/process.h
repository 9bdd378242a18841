/*
 * mproc/process.h - processes you start, join and terminate.
 * Python: multiprocessing.Process, started with fork.  See
 * mproc_process_new(3).
 *
 * A handle is made by mproc_process_new() and freed by
 * mproc_process_free(); in between it is started at most once.  Children
 * are waited for only through their pidfd (mproc_process_fd()): the
 * library installs no SIGCHLD handler and never reaps a child that is not
 * its own.  The program must leave SIGCHLD's disposition alone and must not
 * wait for mproc's children itself (waitpid(-1), SIG_IGN); a child reaped
 * behind mproc's back makes join fail with ECHILD.
 *
 * Thread safety: every call may be made from several threads at once,
 * on the same handle or on different ones (one process-global mutex).
 *
 * Exit rules (Python's): when the main program exits normally, or when a
 * child's target returns, its daemonic children get SIGTERM (SIGKILL
 * after a 1 s grace period) and its other children are waited for.
 * Daemonic children also die (SIGKILL) when the thread that started them
 * dies.  A daemonic process may not start children (EPERM).
 *
 * fork(): a child does not inherit its parent's children.  Handles the
 * parent had started become, in the child, handles of processes it cannot
 * wait for: join fails with ECHILD and fd is -1.
 */
#ifndef MPROC_PROCESS_H
#define MPROC_PROCESS_H

#include <limits.h>
#include <mproc/common.h>

MPROC_BEGIN_DECLS

typedef struct mproc_process mproc_process;

/* Runs in the child; its return value (0..255) is the child's exit status. */
typedef int (*mproc_target_fn)(void *arg);

/* mproc_process_exitcode() of a process not started or still running. */
#define MPROC_RUNNING INT_MIN

/* Pair with mproc_process_free().  name NULL: "Process-N". */
MPROC_API mproc_process *mproc_process_new(mproc_target_fn target, void *arg, const char *name);
/* Before start only (EBUSY after). */
MPROC_API int     mproc_process_set_daemon(mproc_process *p, bool daemon);
/* Once per handle (EBUSY after). */
MPROC_API int     mproc_process_start(mproc_process *p);
/* 0 once the child has ended and been reaped. */
MPROC_API int     mproc_process_join(mproc_process *p, int timeout_ms);
/* Reap an ended child without blocking, then report. */
MPROC_API bool    mproc_process_is_alive(mproc_process *p);
MPROC_API int     mproc_process_exitcode(mproc_process *p);
/* 0 before start. */
MPROC_API pid_t   mproc_process_pid(const mproc_process *p);
MPROC_API const char *mproc_process_name(const mproc_process *p);
/* The child's pidfd (polls readable once it ends), -1 before start.
 * Owned by the handle: valid until mproc_process_free(). */
MPROC_API int     mproc_process_fd(const mproc_process *p);
/* SIGTERM and SIGKILL; return at once.  No-op once reaped. */
MPROC_API int     mproc_process_terminate(mproc_process *p);
MPROC_API int     mproc_process_kill(mproc_process *p);
/* On a running child: detaches it; it is reaped later, never left a
 * zombie for long. */
MPROC_API void    mproc_process_free(mproc_process *p);
/* "MainProcess", or the name of the handle this child was started from. */
MPROC_API const char *mproc_current_name(void);
/* CPUs this process may run on (sched_getaffinity(2)). */
MPROC_API int     mproc_cpu_count(void);

MPROC_END_DECLS

#endif /* MPROC_PROCESS_H */
