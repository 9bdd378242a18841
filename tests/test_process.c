/*
 * test_process.c - mproc_process_*: real children, their exit codes,
 * names, joins, signals, the daemon and exit rules, and no zombies.
 *
 * test_<object>_<situation>_<expected result>.  Children report only by
 * exit status or through a pipe.  The test program is a child subreaper,
 * so that a grandchild orphaned by a killed harness is reparented to it
 * and can be reaped here instead of by init.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <mproc.h>
#include "util.h"

/* --- helpers ------------------------------------------------------------- */

static int
setup(void **state)
{
	(void)state;
	test_deadline(30);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	assert_true(test_no_children());
	test_deadline(0);
	return 0;
}

static long
ms_since(struct timespec start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start.tv_sec) * 1000 +
	       (now.tv_nsec - start.tv_nsec) / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Starts a new process running target(arg) (name NULL); fails the test
 * if it cannot. */
static mproc_process *
start(mproc_target_fn target, void *arg, bool daemon)
{
	mproc_process *p = mproc_process_new(target, arg, NULL);

	assert_non_null(p);
	assert_int_equal(mproc_process_set_daemon(p, daemon), 0);
	assert_int_equal(mproc_process_start(p), 0);
	return p;
}

static void
join_and_free(mproc_process *p, int expected_exitcode)
{
	assert_int_equal(mproc_process_join(p, 10000), 0);
	assert_int_equal(mproc_process_exitcode(p), expected_exitcode);
	mproc_process_free(p);
}

/* True if pidfd's process has been reaped (waitid finds no such child). */
static bool
reaped(int pidfd)
{
	siginfo_t info;

	return waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG) < 0 &&
	       errno == ECHILD;
}

static bool
readable_within(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, timeout_ms) == 1;
}

/* Writes all of buf or returns -1 (children report through this). */
static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
read_exact(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

/* --- targets (run in children) --------------------------------------------- */

static int
return_arg(void *arg)
{
	return (int)(intptr_t)arg;
}

static int
sleep_long(void *arg)
{
	(void)arg;
	sleep_ms(60000);
	return 0;
}

/* arg: a pipe's int fds[2].  Closes its copy of the write end, then waits
 * for EOF: the parent ends the child by closing its own copy. */
static int
wait_for_eof(void *arg)
{
	int *fds = arg;
	char c;

	close(fds[1]);
	while (read(fds[0], &c, 1) != 0)
		;
	return 3;
}

static int
call_abort(void *arg)
{
	(void)arg;
	abort();
}

/* A crash.  SIG_DFL first, so that a sanitizer's SIGSEGV handler does
 * not turn it into an abort. */
static int
crash(void *arg)
{
	(void)arg;
	signal(SIGSEGV, SIG_DFL);
	raise(SIGSEGV);
	return 0;
}

/* --- creation and names ------------------------------------------------- */

static void
test_process_new_null_target_fails_einval(void **state)
{
	(void)state;
	errno = 0;
	assert_null(mproc_process_new(NULL, NULL, "x"));
	assert_int_equal(errno, EINVAL);
}

static void
test_process_new_names_count_named_and_unnamed(void **state)
{
	mproc_process *first = mproc_process_new(return_arg, NULL, NULL);
	pid_t pid;

	(void)state;
	assert_non_null(first);
	pid = fork();	/* a fresh process: its counter starts again at 1 */
	assert_true(pid >= 0);
	if (pid == 0) {
		mproc_process *a = mproc_process_new(return_arg, NULL, NULL);
		mproc_process *b = mproc_process_new(return_arg, NULL, "named");
		mproc_process *c = mproc_process_new(return_arg, NULL, NULL);
		int ok = a && b && c &&
			 strcmp(mproc_process_name(a), "Process-1") == 0 &&
			 strcmp(mproc_process_name(b), "named") == 0 &&
			 strcmp(mproc_process_name(c), "Process-3") == 0;

		_exit(ok ? 0 : 1);
	}
	assert_int_equal(test_reap(pid, 10), 0);
	mproc_process_free(first);
}

static void
test_process_new_copies_name(void **state)
{
	char name[] = "worker";
	mproc_process *p = mproc_process_new(return_arg, NULL, name);

	(void)state;
	assert_non_null(p);
	name[0] = 'X';
	assert_string_equal(mproc_process_name(p), "worker");
	mproc_process_free(p);
}

static void
test_process_current_name_in_main_is_mainprocess(void **state)
{
	(void)state;
	assert_string_equal(mproc_current_name(), "MainProcess");
}

static int
report_current_name(void *arg)
{
	const char *name = mproc_current_name();

	return write_all(*(int *)arg, name, strlen(name) + 1) == 0 ? 0 : 1;
}

static void
test_process_current_name_in_child_is_its_name(void **state)
{
	int fds[2];
	char buf[32];
	mproc_process *p;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	p = mproc_process_new(report_current_name, &fds[1], "worker-7");
	assert_non_null(p);
	assert_int_equal(mproc_process_start(p), 0);
	read_exact(fds[0], buf, sizeof("worker-7"));
	assert_string_equal(buf, "worker-7");
	join_and_free(p, 0);
	assert_string_equal(mproc_current_name(), "MainProcess");
	close(fds[0]);
	close(fds[1]);
}

static int
first_child_name_is_process_1(void *arg)
{
	mproc_process *q = mproc_process_new(return_arg, NULL, NULL);
	int ok = q != NULL && strcmp(mproc_process_name(q), "Process-1") == 0;

	(void)arg;
	mproc_process_free(q);
	return ok ? 0 : 1;
}

static void
test_process_child_first_unnamed_child_is_process_1(void **state)
{
	mproc_process *p, *q;

	(void)state;
	p = mproc_process_new(return_arg, NULL, NULL);
	assert_non_null(p);
	q = start(first_child_name_is_process_1, NULL, false);
	join_and_free(q, 0);
	mproc_process_free(p);
}

/* --- exit codes ----------------------------------------------------------- */

static void
test_process_exitcode_is_target_return_value(void **state)
{
	(void)state;
	join_and_free(start(return_arg, (void *)(intptr_t)7, false), 7);
	join_and_free(start(return_arg, (void *)(intptr_t)0, false), 0);
	join_and_free(start(return_arg, (void *)(intptr_t)255, false), 255);
}

static void
test_process_terminate_exitcode_is_minus_sigterm(void **state)
{
	mproc_process *p;

	(void)state;
	p = start(sleep_long, NULL, false);
	assert_int_equal(mproc_process_exitcode(p), MPROC_RUNNING);
	assert_int_equal(mproc_process_terminate(p), 0);
	join_and_free(p, -SIGTERM);
}

static void
test_process_kill_exitcode_is_minus_sigkill(void **state)
{
	mproc_process *p;

	(void)state;
	p = start(sleep_long, NULL, false);
	assert_int_equal(mproc_process_kill(p), 0);
	join_and_free(p, -SIGKILL);
}

static void
test_process_abort_exitcode_is_minus_sigabrt(void **state)
{
	(void)state;
	join_and_free(start(call_abort, NULL, false), -SIGABRT);
}

static void
test_process_crash_exitcode_is_minus_sigsegv(void **state)
{
	(void)state;
	join_and_free(start(crash, NULL, false), -SIGSEGV);
}

static void
test_process_signal_after_join_is_noop(void **state)
{
	mproc_process *p;

	(void)state;
	p = start(return_arg, (void *)(intptr_t)5, false);
	assert_int_equal(mproc_process_join(p, 10000), 0);
	assert_int_equal(mproc_process_terminate(p), 0);
	assert_int_equal(mproc_process_kill(p), 0);
	assert_int_equal(mproc_process_exitcode(p), 5);
	mproc_process_free(p);
}

/* --- join ------------------------------------------------------------------- */

static void
test_process_join_zero_timeout_running_fails_eagain(void **state)
{
	mproc_process *p;

	(void)state;
	p = start(sleep_long, NULL, false);
	assert_int_equal(mproc_process_join(p, 0), -1);
	assert_int_equal(errno, EAGAIN);
	assert_true(mproc_process_is_alive(p));
	assert_int_equal(mproc_process_kill(p), 0);
	join_and_free(p, -SIGKILL);
}

static void
test_process_join_timeout_running_fails_etimedout(void **state)
{
	struct timespec t0;
	mproc_process *p;
	long ms;

	(void)state;
	p = start(sleep_long, NULL, false);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(mproc_process_join(p, 100), -1);
	assert_int_equal(errno, ETIMEDOUT);
	ms = ms_since(t0);
	assert_true(ms >= 90 && ms < 5000);	/* loose: the machine is shared */
	assert_int_equal(mproc_process_kill(p), 0);
	join_and_free(p, -SIGKILL);
}

static void
test_process_join_interrupted_by_handler_fails_eintr(void **state)
{
	struct test_nagger n;
	mproc_process *p;
	int rc, err;

	(void)state;
	p = start(sleep_long, NULL, false);
	assert_int_equal(test_nag_start(&n, 0), 0);	/* no SA_RESTART */
	rc = mproc_process_join(p, MPROC_FOREVER);
	err = errno;
	test_nag_stop(&n);
	assert_int_equal(rc, -1);
	assert_int_equal(err, EINTR);
	assert_int_equal(mproc_process_terminate(p), 0);
	join_and_free(p, -SIGTERM);
}

static void
test_process_is_alive_reaps_ended_child(void **state)
{
	mproc_process *p;

	(void)state;
	p = start(return_arg, (void *)(intptr_t)9, false);
	assert_true(readable_within(mproc_process_fd(p), 10000));
	assert_false(mproc_process_is_alive(p));
	assert_true(reaped(mproc_process_fd(p)));
	assert_int_equal(mproc_process_exitcode(p), 9);
	assert_int_equal(mproc_process_join(p, 0), 0);
	mproc_process_free(p);
}

static void
test_process_fd_polls_readable_when_child_ends(void **state)
{
	int fds[2];
	mproc_process *p;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	p = mproc_process_new(wait_for_eof, fds, NULL);
	assert_non_null(p);
	assert_int_equal(mproc_process_fd(p), -1);
	assert_int_equal(mproc_process_start(p), 0);
	assert_true(mproc_process_fd(p) >= 0);
	assert_true(mproc_process_pid(p) > 0);
	assert_false(readable_within(mproc_process_fd(p), 50));
	close(fds[1]);
	assert_true(readable_within(mproc_process_fd(p), 10000));
	join_and_free(p, 3);
	close(fds[0]);
}

/* --- stdio and atexit ---------------------------------------------------- */

static FILE *child_out;

static int
print_unflushed(void *arg)
{
	(void)arg;
	fputs("child\n", child_out);	/* flushed by the child's exit */
	return 0;
}

static void
test_process_start_flushes_stdio_once(void **state)
{
	char path[64], buf[64] = "";
	FILE *in;

	(void)state;
	test_path(path, sizeof(path));
	child_out = fopen(path, "w");
	assert_non_null(child_out);
	fputs("parent\n", child_out);	/* buffered when start forks */
	join_and_free(start(print_unflushed, NULL, false), 0);
	assert_int_equal(fclose(child_out), 0);
	in = fopen(path, "r");
	assert_non_null(in);
	assert_int_equal(fread(buf, 1, sizeof(buf) - 1, in), strlen("parent\nchild\n"));
	assert_string_equal(buf, "parent\nchild\n");
	fclose(in);
	unlink(path);
}

static pid_t atexit_owner;
static bool exit_on_purpose;	/* set by a harness that calls exit() */

/* Registered by the parent: if it ran in a started child, the child's
 * exit code would become 99. */
static void
parent_atexit(void)
{
	if (getpid() != atexit_owner && !exit_on_purpose)
		_exit(99);
}

static void
test_process_child_skips_parent_atexit(void **state)
{
	(void)state;
	atexit_owner = getpid();
	assert_int_equal(atexit(parent_atexit), 0);
	join_and_free(start(return_arg, (void *)(intptr_t)0, false), 0);
}

/* --- errors ---------------------------------------------------------------- */

static void
test_process_before_start_reports_not_started(void **state)
{
	mproc_process *p = mproc_process_new(return_arg, NULL, NULL);

	(void)state;
	assert_non_null(p);
	assert_int_equal(mproc_process_pid(p), 0);
	assert_int_equal(mproc_process_fd(p), -1);
	assert_false(mproc_process_is_alive(p));
	assert_int_equal(mproc_process_exitcode(p), MPROC_RUNNING);
	assert_int_equal(mproc_process_join(p, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_process_terminate(p), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_process_kill(p), -1);
	assert_int_equal(errno, EINVAL);
	mproc_process_free(p);
}

static void
test_process_null_handle_fails_einval(void **state)
{
	(void)state;
	assert_int_equal(mproc_process_set_daemon(NULL, true), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_process_start(NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_process_join(NULL, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_false(mproc_process_is_alive(NULL));
	assert_int_equal(mproc_process_exitcode(NULL), MPROC_RUNNING);
	assert_int_equal(mproc_process_pid(NULL), -1);
	assert_null(mproc_process_name(NULL));
	assert_int_equal(mproc_process_fd(NULL), -1);
	assert_int_equal(mproc_process_terminate(NULL), -1);
	assert_int_equal(mproc_process_kill(NULL), -1);
	mproc_process_free(NULL);
}

static void
test_process_join_bad_timeout_fails_einval(void **state)
{
	mproc_process *p;

	(void)state;
	p = start(return_arg, NULL, false);
	assert_int_equal(mproc_process_join(p, -2), -1);
	assert_int_equal(errno, EINVAL);
	join_and_free(p, 0);
}

static void
test_process_start_twice_fails_ebusy(void **state)
{
	mproc_process *p;

	(void)state;
	p = start(return_arg, NULL, false);
	assert_int_equal(mproc_process_start(p), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(mproc_process_join(p, 10000), 0);
	assert_int_equal(mproc_process_start(p), -1);	/* ended: still EBUSY */
	assert_int_equal(errno, EBUSY);
	mproc_process_free(p);
}

static void
test_process_set_daemon_after_start_fails_ebusy(void **state)
{
	mproc_process *p;

	(void)state;
	p = start(return_arg, NULL, true);
	assert_int_equal(mproc_process_set_daemon(p, false), -1);
	assert_int_equal(errno, EBUSY);
	join_and_free(p, 0);
}

static int
start_grandchild(void *arg)
{
	mproc_process *q = mproc_process_new(return_arg, NULL, NULL);
	int rc = mproc_process_start(q);
	int err = errno;

	(void)arg;
	mproc_process_free(q);
	return rc == -1 && err == EPERM ? 0 : 1;
}

static void
test_process_daemon_starting_child_fails_eperm(void **state)
{
	(void)state;
	join_and_free(start(start_grandchild, NULL, true), 0);
	/* A non-daemonic child may. */
	join_and_free(start(start_grandchild, NULL, false), 1);
}

static int
join_inherited(void *arg)
{
	mproc_process *sibling = arg;
	int rc = mproc_process_join(sibling, 0);

	return rc == -1 && errno == ECHILD && mproc_process_fd(sibling) == -1 &&
			       !mproc_process_is_alive(sibling) ? 0 : 1;
}

static void
test_process_inherited_handle_in_child_fails_echild(void **state)
{
	mproc_process *sibling;

	(void)state;
	sibling = start(sleep_long, NULL, false);
	join_and_free(start(join_inherited, sibling, false), 0);
	assert_int_equal(mproc_process_kill(sibling), 0);
	join_and_free(sibling, -SIGKILL);
}

/* --- free --------------------------------------------------------------- */

static void
test_process_free_running_is_reaped_by_later_join(void **state)
{
	int fds[2], pidfd;
	mproc_process *p;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	p = mproc_process_new(wait_for_eof, fds, NULL);
	assert_non_null(p);
	assert_int_equal(mproc_process_start(p), 0);
	pidfd = dup(mproc_process_fd(p));
	assert_true(pidfd >= 0);
	mproc_process_free(p);		/* detached: still running */
	close(fds[1]);
	assert_true(readable_within(pidfd, 10000));
	assert_false(reaped(pidfd));	/* a zombie until someone reaps it */
	join_and_free(start(return_arg, NULL, false), 0);
	assert_true(reaped(pidfd));
	close(pidfd);
	close(fds[0]);
}

/* --- exit rules, seen from a harness process ------------------------------- */

struct harness {
	int report;		/* write end: the harness's children report here */
	char marker[64];	/* the non-daemonic child creates this file */
	bool ignore_sigterm;	/* the daemonic child ignores SIGTERM */
	int ready[2];		/* the daemonic child tells the harness it has
				 * set its SIGTERM disposition */
};

static int report_fd = -1;

static void
report_terminated(int sig)
{
	char c = 'T';

	(void)sig;
	write(report_fd, &c, 1);
	_exit(0);
}

/* The daemonic child: reports its pid, then sleeps until signalled
 * (SIGTERM makes it report 'T'). */
static int
daemon_child(void *arg)
{
	struct harness *h = arg;
	pid_t pid = getpid();

	report_fd = h->report;
	signal(SIGTERM, h->ignore_sigterm ? SIG_IGN : report_terminated);
	if (write_all(h->report, &pid, sizeof(pid)) < 0 ||
	    write_all(h->ready[1], "", 1) < 0)
		return 1;
	for (;;)
		pause();
}

/* The non-daemonic child: outlives its parent's target, then leaves a
 * marker file. */
static int
slow_child(void *arg)
{
	struct harness *h = arg;
	int fd;

	sleep_ms(300);
	fd = open(h->marker, O_WRONLY | O_CREAT | O_EXCL, 0600);
	return fd < 0 ? 1 : close(fd);
}

/* Starts a daemonic child, waits until it is ready for SIGTERM, starts a
 * non-daemonic child and returns at once; the handles are freed while
 * running, so the exit rules also cover detached children. */
static int
harness(void *arg)
{
	mproc_process *d = mproc_process_new(daemon_child, arg, "daemon");
	mproc_process *n = mproc_process_new(slow_child, arg, "slow");
	struct harness *h = arg;
	char c;

	if (d == NULL || n == NULL || pipe(h->ready) < 0 ||
	    mproc_process_set_daemon(d, true) < 0 ||
	    mproc_process_start(d) < 0 || read(h->ready[0], &c, 1) != 1 ||
	    mproc_process_start(n) < 0)
		return 1;
	mproc_process_free(d);
	mproc_process_free(n);
	return 0;
}

/* Runs harness() in a raw fork()ed child that exit()s, or in a started
 * process whose target returns; then checks what the exit rules did. */
static void
check_exit_rules(bool via_exit, bool ignore_sigterm)
{
	struct harness h = { .ignore_sigterm = ignore_sigterm };
	struct timespec t0;
	int fds[2];
	pid_t daemon_pid;
	char c;

	test_path(h.marker, sizeof(h.marker));
	assert_int_equal(pipe(fds), 0);
	h.report = fds[1];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (via_exit) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			exit_on_purpose = true;
			exit(harness(&h));	/* runs the at-exit rules */
		}
		assert_int_equal(test_reap(pid, 20), 0);
	} else {
		join_and_free(start(harness, &h, false), 0);
	}
	close(fds[1]);
	read_exact(fds[0], &daemon_pid, sizeof(daemon_pid));
	/* The non-daemonic child was waited for: its marker exists. */
	assert_int_equal(access(h.marker, F_OK), 0);
	/* The daemonic child was terminated and reaped, not orphaned. */
	assert_int_equal(kill(daemon_pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	if (ignore_sigterm) {
		assert_int_equal(read(fds[0], &c, 1), 0);	/* SIGKILLed */
		assert_true(ms_since(t0) >= 900);	/* after the grace period */
	} else {
		assert_int_equal(read(fds[0], &c, 1), 1);
		assert_int_equal(c, 'T');
	}
	close(fds[0]);
	unlink(h.marker);
}

static void
test_process_exit_terminates_daemon_and_waits_for_others(void **state)
{
	(void)state;
	check_exit_rules(true, false);
}

static void
test_process_target_return_terminates_daemon_and_waits_for_others(void **state)
{
	(void)state;
	check_exit_rules(false, false);
}

static void
test_process_exit_kills_daemon_ignoring_sigterm(void **state)
{
	(void)state;
	check_exit_rules(true, true);
}

/* Starts a daemonic child, reports its pid, and waits to be killed. */
static int
killed_harness(void *arg)
{
	mproc_process *d = mproc_process_new(daemon_child, arg, NULL);
	struct harness *h = arg;

	if (d == NULL || pipe(h->ready) < 0 || mproc_process_set_daemon(d, true) < 0 ||
	    mproc_process_start(d) < 0)
		return 1;
	for (;;)
		pause();
}

static void
test_process_daemon_dies_with_killed_parent(void **state)
{
	struct harness h = { .ignore_sigterm = true };
	int fds[2];
	pid_t pid, daemon_pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	h.report = fds[1];
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(killed_harness(&h));
	close(fds[1]);
	read_exact(fds[0], &daemon_pid, sizeof(daemon_pid));
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(test_reap(pid, 10), 128 + SIGKILL);
	/* Orphaned, the daemon is reparented to us (a subreaper) and must
	 * already be dying of its parent-death signal. */
	assert_int_equal(test_reap(daemon_pid, 10), 128 + SIGKILL);
	close(fds[0]);
}

/* --- many processes, many threads ---------------------------------------- */

/* Starts p in a child whose file descriptors are all taken, so that
 * pidfd_open fails: start must fail with EMFILE, leave no child, and
 * work once a descriptor is free. */
static int
start_without_fds(void *arg)
{
	struct rlimit lim = { 32, 32 };
	mproc_process *p = mproc_process_new(return_arg, (void *)(intptr_t)4, NULL);
	int fd = -1, last = -1, rc, err;

	(void)arg;
	if (p == NULL || setrlimit(RLIMIT_NOFILE, &lim) < 0)
		return 1;
	while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		last = fd;
	rc = mproc_process_start(p);
	err = errno;
	if (rc != -1 || err != EMFILE || !test_no_children() ||
	    mproc_process_fd(p) != -1 || last < 0)
		return 2;
	close(last);
	if (mproc_process_start(p) < 0 || mproc_process_join(p, 10000) < 0 ||
	    mproc_process_exitcode(p) != 4)
		return 3;
	mproc_process_free(p);
	return 0;
}

static void
test_process_start_without_pidfd_fails_emfile_and_leaves_no_child(void **state)
{
	(void)state;
	join_and_free(start(start_without_fds, NULL, false), 0);
}

static void *
join_forever(void *arg)
{
	return (void *)(intptr_t)mproc_process_join(arg, MPROC_FOREVER);
}

static void
test_process_join_from_two_threads_both_return_0(void **state)
{
	pthread_t threads[2];
	void *rc;
	mproc_process *p;

	(void)state;
	p = start(sleep_long, NULL, false);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, join_forever, p), 0);
	sleep_ms(50);
	assert_int_equal(mproc_process_terminate(p), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(threads[i], &rc), 0);
		assert_int_equal((intptr_t)rc, 0);
	}
	join_and_free(p, -SIGTERM);
}


static void
test_process_many_started_some_terminated_all_reaped(void **state)
{
	enum { N = 100 };
	mproc_process *procs[N];

	(void)state;
	for (int i = 0; i < N; i++)
		procs[i] = start(i % 3 == 0 ? return_arg : sleep_long,
				 (void *)(intptr_t)(i % 3 == 0 ? i : 0), false);
	for (int i = 0; i < N; i++)
		if (i % 3 == 1)
			assert_int_equal(mproc_process_terminate(procs[i]), 0);
		else if (i % 3 == 2)
			assert_int_equal(mproc_process_kill(procs[i]), 0);
	for (int i = 0; i < N; i++)
		join_and_free(procs[i], i % 3 == 0 ? i : i % 3 == 1 ? -SIGTERM : -SIGKILL);
	assert_true(test_no_children());
}

enum { THREADS = 4, PER_THREAD = 10 };

static void *
start_and_join_many(void *arg)
{
	intptr_t failures = 0;

	(void)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		mproc_process *p = mproc_process_new(return_arg, (void *)(intptr_t)i, NULL);

		if (p == NULL || mproc_process_start(p) < 0 ||
		    mproc_process_join(p, 10000) < 0 || mproc_process_exitcode(p) != i)
			failures++;
		mproc_process_free(p);
	}
	return (void *)failures;
}

static void
test_process_threads_start_and_join_concurrently(void **state)
{
	pthread_t threads[THREADS];
	void *failures;

	(void)state;
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, start_and_join_many, NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(threads[i], &failures), 0);
		assert_null(failures);
	}
}

static void
test_process_cpu_count_matches_affinity(void **state)
{
	cpu_set_t set;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	assert_int_equal(mproc_cpu_count(), CPU_COUNT(&set));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_process_new_null_target_fails_einval),
		T(test_process_new_names_count_named_and_unnamed),
		T(test_process_new_copies_name),
		T(test_process_current_name_in_main_is_mainprocess),
		T(test_process_current_name_in_child_is_its_name),
		T(test_process_child_first_unnamed_child_is_process_1),
		T(test_process_exitcode_is_target_return_value),
		T(test_process_terminate_exitcode_is_minus_sigterm),
		T(test_process_kill_exitcode_is_minus_sigkill),
		T(test_process_abort_exitcode_is_minus_sigabrt),
		T(test_process_crash_exitcode_is_minus_sigsegv),
		T(test_process_signal_after_join_is_noop),
		T(test_process_join_zero_timeout_running_fails_eagain),
		T(test_process_join_timeout_running_fails_etimedout),
		T(test_process_join_interrupted_by_handler_fails_eintr),
		T(test_process_is_alive_reaps_ended_child),
		T(test_process_fd_polls_readable_when_child_ends),
		T(test_process_start_flushes_stdio_once),
		T(test_process_child_skips_parent_atexit),
		T(test_process_before_start_reports_not_started),
		T(test_process_null_handle_fails_einval),
		T(test_process_join_bad_timeout_fails_einval),
		T(test_process_start_twice_fails_ebusy),
		T(test_process_set_daemon_after_start_fails_ebusy),
		T(test_process_daemon_starting_child_fails_eperm),
		T(test_process_inherited_handle_in_child_fails_echild),
		T(test_process_free_running_is_reaped_by_later_join),
		T(test_process_exit_terminates_daemon_and_waits_for_others),
		T(test_process_target_return_terminates_daemon_and_waits_for_others),
		T(test_process_exit_kills_daemon_ignoring_sigterm),
		T(test_process_daemon_dies_with_killed_parent),
		T(test_process_start_without_pidfd_fails_emfile_and_leaves_no_child),
		T(test_process_join_from_two_threads_both_return_0),
		T(test_process_many_started_some_terminated_all_reaped),
		T(test_process_threads_start_and_join_concurrently),
		T(test_process_cpu_count_matches_affinity),
	};

	/* Orphaned grandchildren come to us, not to init: see the file comment. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return 1;
	return cmocka_run_group_tests_name("process", tests, NULL, NULL);
}
