/*
 * process-registry.c - the children a process has started, what fork()
 * does to them, and what happens to them when the process exits.
 *
 * The registry holds every handle this process started and has not freed
 * (RUNNING, ENDED or FOREIGN), plus the detached ones: handles freed while
 * their process was running, which only the registry still references and
 * which it frees once it has reaped them.  One mutex protects the list and
 * the state, detached and exitcode fields of every handle in it.
 *
 * Fork: the child's registry must not hold its parent's children.  The
 * fork handlers take the lock across fork() (so the child's copy of the
 * list is consistent), then the child closes the pidfds of its parent's
 * children, marks the running ones FOREIGN, frees the detached ones,
 * empties the list and restarts the "Process-N" counter.
 *
 * Children are reaped only through their pidfd: no SIGCHLD handler is
 * installed, and waitid(P_PIDFD) can never reap a process that is not
 * ours or a recycled pid.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <urcu/uatomic.h>

#include "internal.h"
#include "process.h"

/* How long daemonic children get between SIGTERM and SIGKILL at exit. */
#define DAEMON_GRACE_MS 1000

static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static CDS_LIST_HEAD(registry);

/* The N of the last "Process-N"; restarts at 0 in every forked child. */
static unsigned long process_counter;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_error;

void
mproc__registry_lock(void)
{
	pthread_mutex_lock(&registry_mutex);
}

void
mproc__registry_unlock(void)
{
	pthread_mutex_unlock(&registry_mutex);
}

unsigned long
mproc__process_next_number(void)
{
	return uatomic_add_return(&process_counter, 1);
}

void
mproc__registry_add(struct mproc_process *p)
{
	cds_list_add_tail(&p->node, &registry);
}

void
mproc__process_destroy(struct mproc_process *p)
{
	/* A handle outside the registry is self-linked: deleting is a no-op. */
	cds_list_del(&p->node);
	if (p->pidfd >= 0)
		close(p->pidfd);
	free(p->name);
	free(p);
}

int
mproc__process_reap(struct mproc_process *p)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));	/* si_pid stays 0 if none ended */
	if (waitid(P_PIDFD, (id_t)p->pidfd, &info, WEXITED | WNOHANG) < 0) {
		/* Only ECHILD is possible here: someone else reaped it (a
		 * SIGCHLD of SIG_IGN, a waitpid(-1) of the program). */
		p->state = PROCESS_FOREIGN;
		return -ECHILD;
	}
	if (info.si_pid == 0)
		return 0;
	p->exitcode = info.si_code == CLD_EXITED ? info.si_status
						 : -info.si_status;
	p->state = PROCESS_ENDED;
	return 1;
}

void
mproc__registry_reap_detached(void)
{
	struct mproc_process *p, *next;

	cds_list_for_each_entry_safe(p, next, &registry, node)
		if (p->detached && mproc__process_reap(p) != 0)
			mproc__process_destroy(p);
}

int
mproc__pidfd_wait(int pidfd, const struct mproc__deadline *d)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	for (;;) {
		int n = poll(&pfd, 1, mproc__deadline_ms_left(d));

		if (n > 0)
			return 0;
		if (n < 0)
			return -errno;	/* EINTR, or ENOMEM */
		if (mproc__deadline_passed(d))
			return mproc__deadline_error(d);
	}
}

int
mproc__pidfd_signal(int pidfd, int sig)
{
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0)
		return 0;
	return errno == ESRCH ? 0 : -errno;	/* ESRCH: reaped already */
}

/* --- fork -------------------------------------------------------------- */

static void
fork_prepare(void)
{
	mproc__registry_lock();
}

static void
fork_parent(void)
{
	mproc__registry_unlock();
}

/* In the child of any fork(), single-threaded: the parent's children are
 * not ours.  Their handles stay valid (the program may still name or free
 * them) but lose their pidfd, and the running ones become FOREIGN. */
static void
fork_child(void)
{
	struct mproc_process *p, *next;

	cds_list_for_each_entry_safe(p, next, &registry, node) {
		if (p->detached) {
			mproc__process_destroy(p);
			continue;
		}
		cds_list_del_init(&p->node);
		close(p->pidfd);
		p->pidfd = -1;
		if (p->state == PROCESS_RUNNING)
			p->state = PROCESS_FOREIGN;
	}
	uatomic_set(&process_counter, 0);
	pthread_mutex_init(&registry_mutex, NULL);
}

/* --- exit -------------------------------------------------------------- */

static void
signal_running(bool daemon, int sig)
{
	struct mproc_process *p;

	cds_list_for_each_entry(p, &registry, node)
		if (p->state == PROCESS_RUNNING && p->daemon == daemon)
			mproc__pidfd_signal(p->pidfd, sig);
}

/* Reaps p if it ends before d; a signal does not cut the wait short. */
static void
wait_reaped(struct mproc_process *p, const struct mproc__deadline *d)
{
	while (mproc__process_reap(p) == 0) {
		int rc = mproc__pidfd_wait(p->pidfd, d);

		if (rc < 0 && rc != -EINTR)
			return;
	}
}

static void
wait_running(bool daemon, int timeout_ms)
{
	struct mproc__deadline d;
	struct mproc_process *p;

	mproc__deadline_start(&d, timeout_ms);
	cds_list_for_each_entry(p, &registry, node)
		if (p->state == PROCESS_RUNNING && p->daemon == daemon)
			wait_reaped(p, &d);
}

/*
 * Holds the lock throughout, waits included: no other thread may start,
 * reap or free a child while we wait for it.  Other threads that call
 * into the module meanwhile block until the rules are done.
 */
void
mproc__exit_rules(void)
{
	mproc__registry_lock();
	signal_running(true, SIGTERM);
	wait_running(true, DAEMON_GRACE_MS);
	signal_running(true, SIGKILL);
	wait_running(true, MPROC_FOREVER);
	wait_running(false, MPROC_FOREVER);
	mproc__registry_reap_detached();
	mproc__registry_unlock();
}

static void
init(void)
{
	int rc = pthread_atfork(fork_prepare, fork_parent, fork_child);

	if (rc != 0)
		init_error = -rc;
	else if (atexit(mproc__exit_rules) != 0)
		init_error = -ENOMEM;
}

int
mproc__process_init(void)
{
	pthread_once(&init_once, init);
	return init_error;
}
