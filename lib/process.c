/*
 * process.c - processes you start, join and terminate (Python's
 * multiprocessing.Process, started with fork).  See mproc_process_new(3).
 *
 * A handle's life and locking are described in process.h; the registry,
 * fork handlers and exit rules live in process-registry.c.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "process.h"

/* This process's name and daemon flag: set once, in a child before its
 * target runs, when it is still single-threaded. */
static const char *current_name = "MainProcess";
static bool current_is_daemon;

/* A copy of name, or "Process-N" if it is NULL.  Every new handle takes
 * the next N, named or not, as in Python. */
static char *
copy_name(const char *name)
{
	unsigned long n = mproc__process_next_number();
	char buf[32];

	if (name != NULL)
		return strdup(name);
	snprintf(buf, sizeof(buf), "Process-%lu", n);
	return strdup(buf);
}

mproc_process *
mproc_process_new(mproc_target_fn target, void *arg, const char *name)
{
	struct mproc_process *p;
	int rc;

	if (target == NULL)
		return fail_null(EINVAL);
	rc = mproc__process_init();
	if (rc < 0)
		return fail_null(-rc);
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return fail_null(ENOMEM);
	p->name = copy_name(name);
	if (p->name == NULL) {
		free(p);
		return fail_null(ENOMEM);
	}
	p->target = target;
	p->arg = arg;
	p->state = PROCESS_NEW;
	p->pidfd = -1;
	p->exitcode = MPROC_RUNNING;
	CDS_INIT_LIST_HEAD(&p->node);
	return p;
}

int
mproc_process_set_daemon(mproc_process *p, bool daemon)
{
	int rc = 0;

	if (p == NULL)
		return fail(EINVAL);
	mproc__registry_lock();
	if (p->state == PROCESS_NEW)
		p->daemon = daemon;
	else
		rc = -EBUSY;
	mproc__registry_unlock();
	return result(rc);
}

/* --- start ------------------------------------------------------------- */

/* A daemonic child dies with its parent.  The parent may have died
 * between fork() and prctl(): then getppid() is no longer parent (the
 * orphan has been reparented) and the child must not run at all. */
static int
die_with_parent(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return -errno;
	return getppid() == parent ? 0 : -ESRCH;
}

/* The child side of mproc_process_start(); never returns.  The fork
 * handlers have already emptied the registry. */
static void __attribute__((noreturn))
run_child(struct mproc_process *p, pid_t parent)
{
	int status;

	current_name = p->name;
	current_is_daemon = p->daemon;
	if (p->daemon && die_with_parent(parent) < 0)
		_exit(EXIT_FAILURE);
	status = p->target(p->arg);
	mproc__exit_rules();
	fflush(NULL);
	_exit(status & 0xff);
}

/* NEW -> STARTING, so that no other thread starts p too. */
static int
claim(struct mproc_process *p)
{
	int rc = 0;

	mproc__registry_lock();
	mproc__registry_reap_detached();
	if (p->state == PROCESS_NEW)
		p->state = PROCESS_STARTING;
	else
		rc = -EBUSY;
	mproc__registry_unlock();
	return rc;
}

/* STARTING -> NEW after a failed start; passes err through. */
static int
unclaim(struct mproc_process *p, int err)
{
	mproc__registry_lock();
	p->state = PROCESS_NEW;
	mproc__registry_unlock();
	return err;
}

/* STARTING -> RUNNING: pid and pidfd are published by the lock. */
static void
publish(struct mproc_process *p, pid_t pid, int pidfd)
{
	mproc__registry_lock();
	p->pid = pid;
	p->pidfd = pidfd;
	p->state = PROCESS_RUNNING;
	mproc__registry_add(p);
	mproc__registry_unlock();
}

/* Without a pidfd we could never wait for the child safely: kill it and
 * reap it by pid (it is our unreaped child, so its pid is not recycled). */
static int
abandon(pid_t pid, int err)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return err;
}

static int
fork_and_run(struct mproc_process *p)
{
	pid_t parent = getpid();
	pid_t pid;
	int pidfd;

	fflush(NULL);	/* or the child would write our buffered output again */
	pid = fork();
	if (pid < 0)
		return unclaim(p, -errno);
	if (pid == 0)
		run_child(p, parent);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return unclaim(p, abandon(pid, -errno));
	publish(p, pid, pidfd);
	return 0;
}

int
mproc_process_start(mproc_process *p)
{
	int rc;

	if (p == NULL)
		return fail(EINVAL);
	if (current_is_daemon)
		return fail(EPERM);
	rc = claim(p);
	if (rc == 0)
		rc = fork_and_run(p);
	return result(rc);
}

/* --- state ------------------------------------------------------------- */

/* Where p stands, reaping it if it has ended (and any detached handle):
 * 1 ended, 0 running, -EINVAL not started, -ECHILD not our child.
 * *exitcode (if not NULL) gets p's exit code as of now. */
static int
refresh(struct mproc_process *p, int *exitcode)
{
	int rc;

	mproc__registry_lock();
	mproc__registry_reap_detached();
	switch (p->state) {
	case PROCESS_NEW:
	case PROCESS_STARTING:
		rc = -EINVAL;
		break;
	case PROCESS_RUNNING:
		rc = mproc__process_reap(p);
		break;
	case PROCESS_ENDED:
		rc = 1;
		break;
	default:
		rc = -ECHILD;
		break;
	}
	if (exitcode != NULL)
		*exitcode = p->exitcode;
	mproc__registry_unlock();
	return rc;
}

int
mproc_process_join(mproc_process *p, int timeout_ms)
{
	struct mproc__deadline d;
	int rc;

	if (p == NULL || mproc__deadline_start(&d, timeout_ms) < 0)
		return fail(EINVAL);
	/* pidfd is const while p is RUNNING and open until p is freed. */
	while ((rc = refresh(p, NULL)) == 0) {
		rc = mproc__pidfd_wait(p->pidfd, &d);
		if (rc < 0)
			return fail(-rc);
	}
	return rc < 0 ? fail(-rc) : 0;
}

bool
mproc_process_is_alive(mproc_process *p)
{
	return p != NULL && refresh(p, NULL) == 0;
}

int
mproc_process_exitcode(mproc_process *p)
{
	int code;

	if (p == NULL) {
		errno = EINVAL;
		return MPROC_RUNNING;
	}
	refresh(p, &code);
	return code;
}

pid_t
mproc_process_pid(const mproc_process *p)
{
	return p == NULL ? fail(EINVAL) : p->pid;
}

const char *
mproc_process_name(const mproc_process *p)
{
	return p == NULL ? fail_null(EINVAL) : p->name;
}

int
mproc_process_fd(const mproc_process *p)
{
	return p == NULL ? fail(EINVAL) : p->pidfd;
}

/* --- signals ------------------------------------------------------------ */

static int
send_signal(struct mproc_process *p, int sig)
{
	int rc;

	if (p == NULL)
		return -EINVAL;
	mproc__registry_lock();
	switch (p->state) {
	case PROCESS_NEW:
	case PROCESS_STARTING:
		rc = -EINVAL;
		break;
	case PROCESS_RUNNING:	/* the pidfd cannot hit a recycled pid */
		rc = mproc__pidfd_signal(p->pidfd, sig);
		break;
	case PROCESS_ENDED:
		rc = 0;		/* as in Python: nothing left to signal */
		break;
	default:
		rc = -ECHILD;
		break;
	}
	mproc__registry_unlock();
	return rc;
}

int
mproc_process_terminate(mproc_process *p)
{
	return result(send_signal(p, SIGTERM));
}

int
mproc_process_kill(mproc_process *p)
{
	return result(send_signal(p, SIGKILL));
}

/* --- free -------------------------------------------------------------- */

void
mproc_process_free(mproc_process *p)
{
	if (p == NULL)
		return;
	mproc__registry_lock();
	mproc__registry_reap_detached();
	if (p->state == PROCESS_RUNNING && mproc__process_reap(p) == 0)
		p->detached = true;	/* the registry reaps and frees it */
	else
		mproc__process_destroy(p);
	mproc__registry_unlock();
}

/* --- this process ------------------------------------------------------- */

const char *
mproc_current_name(void)
{
	return current_name;
}

int
mproc_cpu_count(void)
{
	/* The kernel's mask may be larger than a cpu_set_t: grow until it fits. */
	for (int ncpu = CPU_SETSIZE; ncpu <= (1 << 20); ncpu *= 2) {
		cpu_set_t *set = CPU_ALLOC(ncpu);
		size_t size = CPU_ALLOC_SIZE(ncpu);
		int rc, err;

		if (set == NULL)
			return fail(ENOMEM);
		rc = sched_getaffinity(0, size, set);
		err = errno;
		if (rc == 0)
			rc = CPU_COUNT_S(size, set);
		CPU_FREE(set);
		if (rc > 0)
			return rc;
		if (err != EINVAL)
			return fail(err);
	}
	return fail(EINVAL);
}
