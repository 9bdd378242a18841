/*
 * process.h - the process module's internals, shared by process.c (the
 * handles and the public calls) and process-registry.c (the registry of
 * started children, fork and exit rules).
 *
 * Every started handle of this process that has not been freed sits in
 * one process-global registry, protected by one mutex.  Each field of a
 * handle says who writes it and under what.
 */
#ifndef MPROC_LIB_PROCESS_H
#define MPROC_LIB_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>
#include <urcu/list.h>

#include <mproc/process.h>

#include "clock.h"

/*
 * NEW -> STARTING -> RUNNING -> ENDED        (the usual life)
 *           \-> NEW                          (fork or pidfd_open failed)
 * RUNNING -> FOREIGN                         (seen from a forked child, whose
 *                                             parent's children are not its own;
 *                                             or reaped behind our back: ECHILD)
 */
enum process_state {
	PROCESS_NEW,
	PROCESS_STARTING,	/* a thread is between fork and registration */
	PROCESS_RUNNING,	/* our child, not yet reaped */
	PROCESS_ENDED,		/* reaped; exitcode is final */
	PROCESS_FOREIGN,	/* not (or no longer) a child we can wait for */
};

struct mproc_process {
	/* Written by mproc_process_new(), then const. */
	mproc_target_fn target;
	void *arg;
	char *name;

	/*
	 * Written under the registry lock (state, detached, exitcode) or by
	 * the thread that moved state to STARTING (pid, pidfd, daemon), which
	 * publishes them by setting RUNNING under the lock.  pidfd stays open
	 * until the handle is freed (or the process forks: the child closes
	 * it), so a thread may poll it without the lock while another reaps.
	 */
	enum process_state state;
	bool daemon;
	bool detached;		/* freed while running: the registry owns it */
	pid_t pid;		/* 0 before start */
	int pidfd;		/* -1 before start */
	int exitcode;		/* MPROC_RUNNING until reaped */

	struct cds_list_head node;	/* in the registry while started */
};

/* The registry lock.  Taken for short, non-blocking sections only, except
 * by the exit rules, which hold it while they wait (see process-registry.c). */
void mproc__registry_lock(void);
void mproc__registry_unlock(void);

/* The next N of "Process-N", counting from 1 in each process. */
unsigned long mproc__process_next_number(void);

/* Adds a handle that has just become RUNNING; lock held. */
void mproc__registry_add(struct mproc_process *p);

/* Takes a handle out and frees it (closes its pidfd); lock held. */
void mproc__process_destroy(struct mproc_process *p);

/* Reaps p if it has ended: 1 if it has (state now ENDED), 0 while it is
 * still running, -ECHILD if it is not our child (state now FOREIGN).
 * Lock held; never blocks. */
int mproc__process_reap(struct mproc_process *p);

/* Frees every detached handle whose process has ended; lock held. */
void mproc__registry_reap_detached(void);

/* 0 once pidfd polls readable (the process ended), else
 * mproc__deadline_error(d), or -EINTR if a signal handler ran. */
int mproc__pidfd_wait(int pidfd, const struct mproc__deadline *d);

/* Sends sig through the pidfd: 0, or 0 if the process has been reaped
 * already (ESRCH), or -errno. */
int mproc__pidfd_signal(int pidfd, int sig);

/* Called by mproc_process_new(), so before the first start and before
 * any fork that must restart the "Process-N" counter: registers the fork
 * handlers and the at-exit rules, once.  0 or -errno. */
int mproc__process_init(void);

/* Python's exit rules for this process's children: terminate daemonic
 * ones (SIGTERM, then SIGKILL after a grace period), wait for the rest. */
void mproc__exit_rules(void);

#endif /* MPROC_LIB_PROCESS_H */
