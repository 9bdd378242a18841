/*
 * tests/test_sync.c: mproc_lock, mproc_sem and mproc_event across real
 * processes.  test_<object>_<situation>_<expected result>.
 *
 * The objects live in one MAP_SHARED|MAP_ANONYMOUS mapping made by the
 * fixture and shared with children over fork().  Children report only by
 * exit status.  Signals for the EINTR tests come from a POSIX timer that
 * sends SIGUSR1 to a handler installed without SA_RESTART (SIGALRM is
 * test_deadline()'s).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <mproc.h>
#include "util.h"

#define NPROC 4		/* processes in the contention tests */
#define NWAITERS 8	/* processes waiting on one event */
/* When the EINTR tests' first signal comes. */
#define SIGNAL_MS 150

/* What the tests share with their children. */
struct shared {
	mproc_lock lock;
	mproc_sem sem;
	mproc_event event;
	int64_t counter;	/* protected by lock */
	int32_t inside;		/* __atomic: processes inside the semaphore */
	int32_t max_inside;	/* __atomic: the most ever seen inside */
	int32_t ready;		/* __atomic: children ready to block */
	int32_t stop;		/* __atomic: workers should finish */
	int64_t a, b;		/* protected by lock: a == b between holders */
	int64_t recovered;	/* protected by lock: EOWNERDEADs repaired */
};

struct fixture {
	struct shared *sh;
	int go[2];		/* a held-lock child waits for EOF on go[0] */
	pid_t child;		/* the holder, or -1 */
};

static int
setup(void **state)
{
	static struct fixture f;

	test_deadline(20);
	f.sh = mmap(NULL, sizeof(*f.sh), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f.sh == MAP_FAILED)
		return -1;
	f.go[0] = f.go[1] = -1;
	f.child = -1;
	*state = &f;
	if (mproc_lock_init(&f.sh->lock) != 0 ||
	    mproc_sem_init(&f.sh->sem, 2) != 0 ||
	    mproc_event_init(&f.sh->event) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (f->go[1] >= 0)
		close(f->go[1]);
	if (f->child > 0)
		test_reap(f->child, 5);
	if (f->go[0] >= 0)
		close(f->go[0]);
	munmap(f->sh, sizeof(*f->sh));
	signal(SIGUSR1, SIG_DFL);
	test_deadline(0);
	assert_true(test_no_children());
	return 0;
}

/* Milliseconds on CLOCK_MONOTONIC since an arbitrary point. */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Waits (bounded) until n children have said they are about to block,
 * then gives them time to fall asleep. */
static void
wait_ready(struct shared *sh, int n)
{
	int64_t end = now_ms() + 5000;

	while (__atomic_load_n(&sh->ready, __ATOMIC_SEQ_CST) < n &&
	       now_ms() < end)
		sleep_ms(1);
	assert_int_equal(__atomic_load_n(&sh->ready, __ATOMIC_SEQ_CST), n);
	sleep_ms(50);
}

/* 0 when every child in pids[0..n) exits 0 within seconds. */
static void
reap_all_ok(const pid_t *pids, int n, unsigned seconds)
{
	int i, bad = 0;

	for (i = 0; i < n; i++)
		bad += test_reap(pids[i], seconds) != 0;
	assert_int_equal(bad, 0);
}

/*
 * fork(), asserting it worked.  The child dies with the test program, so
 * a failed assertion that leaves a child blocked (FOREVER) leaks nothing
 * once the program exits.
 */
static pid_t
fork_checked(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 ||
			 getppid() != parent))
		_exit(99);
	return pid;
}

/*
 * Starts a child that takes the lock and holds it until the parent
 * closes f->go[1] (or, with die, kills itself while holding it).
 * Returns once the child holds the lock.
 */
static void
spawn_holder(struct fixture *f, bool die)
{
	int held[2];
	char c;

	assert_int_equal(pipe(held), 0);
	assert_int_equal(pipe(f->go), 0);
	f->child = fork_checked();
	if (f->child == 0) {
		close(held[0]);
		close(f->go[1]);
		if (mproc_lock_acquire(&f->sh->lock, MPROC_FOREVER) != 0)
			_exit(1);
		if (die)
			raise(SIGKILL);
		if (write(held[1], "h", 1) != 1)
			_exit(2);
		while (read(f->go[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(mproc_lock_release(&f->sh->lock) == 0 ? 0 : 3);
	}
	close(held[1]);
	if (die) {
		assert_int_equal(test_reap(f->child, 5), 128 + SIGKILL);
		f->child = -1;
	} else {
		assert_int_equal(read(held[0], &c, 1), 1);
	}
	close(held[0]);
}

/* Lets the holder of spawn_holder(f, false) release and exit 0. */
static void
finish_holder(struct fixture *f)
{
	close(f->go[1]);
	f->go[1] = -1;
	assert_int_equal(test_reap(f->child, 5), 0);
	f->child = -1;
}

static void
on_signal(int sig)
{
	(void)sig;
}

/*
 * Sends SIGUSR1 to this process in ms milliseconds and every 50 ms
 * after that, to a handler installed with sa_flags (0: without
 * SA_RESTART).  Repeated because a signal that comes while the caller
 * is not asleep (preempted on a loaded machine just before its sleep)
 * cannot interrupt it, as with any call that reports EINTR.  Returns the
 * timer to delete.
 */
static timer_t
signal_after(int ms, int sa_flags)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = sa_flags };
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL,
				.sigev_signo = SIGUSR1 };
	struct itimerspec when = {
		.it_value = { ms / 1000, (long)(ms % 1000) * 1000000 },
		.it_interval = { 0, 50 * 1000000 },
	};
	timer_t timer;

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
	assert_int_equal(timer_create(CLOCK_MONOTONIC, &sev, &timer), 0);
	assert_int_equal(timer_settime(timer, 0, &when, NULL), 0);
	return timer;
}

/* Asserts that a wait with timeout 100 ms failed ETIMEDOUT in bounds. */
static void
assert_timed_out(int rc, int64_t start)
{
	int64_t took = now_ms() - start;

	assert_int_equal(rc, -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_true(took >= 100);
	assert_true(took < 2000);
}

/* ---- bad arguments ------------------------------------------------- */

static void
test_sync_null_object_fails_einval(void **state)
{
	(void)state;
	errno = 0;
	assert_int_equal(mproc_lock_init(NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_lock_acquire(NULL, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_lock_release(NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_lock_consistent(NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_sem_init(NULL, 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_sem_acquire(NULL, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_sem_release(NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_sem_value(NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_event_init(NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_event_set(NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_event_clear(NULL), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_false(mproc_event_is_set(NULL));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_event_wait(NULL, 0), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_sync_timeout_below_forever_fails_einval_unchanged(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mproc_lock_acquire(&f->sh->lock, -2), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_lock_release(&f->sh->lock), -1);
	assert_int_equal(errno, EPERM);		/* it was not taken */
	assert_int_equal(mproc_sem_acquire(&f->sh->sem, -5), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_sem_value(&f->sh->sem), 2);
	assert_int_equal(mproc_event_wait(&f->sh->event, -100), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_sem_init_above_int32_max_fails_einval(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mproc_sem_init(&f->sh->sem, 0x80000000u), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_sem_value(&f->sh->sem), 2);
}

/* ---- lock ---------------------------------------------------------- */

static void
test_lock_relock_fails_edeadlk_or_eagain_for_zero(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mproc_lock_acquire(&f->sh->lock, MPROC_FOREVER), 0);
	assert_int_equal(mproc_lock_acquire(&f->sh->lock, MPROC_FOREVER), -1);
	assert_int_equal(errno, EDEADLK);
	assert_int_equal(mproc_lock_acquire(&f->sh->lock, 100), -1);
	assert_int_equal(errno, EDEADLK);
	assert_int_equal(mproc_lock_acquire(&f->sh->lock, 0), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(mproc_lock_release(&f->sh->lock), 0);
	assert_int_equal(mproc_lock_release(&f->sh->lock), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(mproc_lock_acquire(&f->sh->lock, 0), 0);
	assert_int_equal(mproc_lock_release(&f->sh->lock), 0);
}

static void *
release_in_thread(void *arg)
{
	int rc = mproc_lock_release(arg);

	return (void *)(intptr_t)(rc == -1 ? errno : 0);
}

static void
test_lock_release_by_other_thread_fails_eperm(void **state)
{
	struct fixture *f = *state;
	pthread_t thread;
	void *err;

	assert_int_equal(mproc_lock_acquire(&f->sh->lock, 0), 0);
	assert_int_equal(pthread_create(&thread, NULL, release_in_thread,
					&f->sh->lock), 0);
	assert_int_equal(pthread_join(thread, &err), 0);
	assert_int_equal((intptr_t)err, EPERM);
	assert_int_equal(mproc_lock_release(&f->sh->lock), 0);
}

static void
test_lock_release_by_other_process_fails_eperm(void **state)
{
	struct fixture *f = *state;
	pid_t pid;

	spawn_holder(f, false);
	assert_int_equal(mproc_lock_release(&f->sh->lock), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(mproc_lock_acquire(&f->sh->lock, 0), -1);
	assert_int_equal(errno, EAGAIN);
	finish_holder(f);

	/* ...and the other way round: the parent holds it. */
	assert_int_equal(mproc_lock_acquire(&f->sh->lock, 0), 0);
	pid = fork_checked();
	if (pid == 0)
		_exit(mproc_lock_release(&f->sh->lock) == -1 &&
		      errno == EPERM ? 0 : 1);
	assert_int_equal(test_reap(pid, 5), 0);
	assert_int_equal(mproc_lock_release(&f->sh->lock), 0);
}

static void
test_lock_held_elsewhere_times_out_within_bounds(void **state)
{
	struct fixture *f = *state;
	int64_t start;

	spawn_holder(f, false);
	start = now_ms();
	assert_timed_out(mproc_lock_acquire(&f->sh->lock, 100), start);
	finish_holder(f);
	assert_int_equal(mproc_lock_acquire(&f->sh->lock, 100), 0);
	assert_int_equal(mproc_lock_release(&f->sh->lock), 0);
}

static void
test_lock_acquire_interrupted_by_handler_fails_eintr(void **state)
{
	struct fixture *f = *state;
	int64_t start;
	timer_t timer;

	spawn_holder(f, false);
	start = now_ms();
	timer = signal_after(SIGNAL_MS, 0);
	assert_int_equal(mproc_lock_acquire(&f->sh->lock, MPROC_FOREVER), -1);
	assert_int_equal(errno, EINTR);
	assert_true(now_ms() - start < 2000);
	timer_delete(timer);
	finish_holder(f);
}

static void
test_lock_holder_killed_next_acquire_eownerdead_then_consistent(void **state)
{
	struct fixture *f = *state;
	pid_t pid;

	spawn_holder(f, true);
	assert_int_equal(mproc_lock_acquire(&f->sh->lock, 1000), -1);
	assert_int_equal(errno, EOWNERDEAD);
	/* We hold it: another process cannot take it. */
	pid = fork_checked();
	if (pid == 0)
		_exit(mproc_lock_acquire(&f->sh->lock, 0) == -1 &&
		      errno == EAGAIN ? 0 : 1);
	assert_int_equal(test_reap(pid, 5), 0);
	assert_int_equal(mproc_lock_consistent(&f->sh->lock), 0);
	assert_int_equal(mproc_lock_consistent(&f->sh->lock), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_lock_release(&f->sh->lock), 0);
	assert_int_equal(mproc_lock_acquire(&f->sh->lock, 0), 0);
	assert_int_equal(mproc_lock_release(&f->sh->lock), 0);
}

static void *
acquire_in_thread(void *arg)
{
	return (void *)(intptr_t)mproc_lock_acquire(arg, 0);
}

static void
test_lock_holder_thread_exits_next_acquire_eownerdead(void **state)
{
	struct fixture *f = *state;
	pthread_t thread;
	void *rc;

	assert_int_equal(pthread_create(&thread, NULL, acquire_in_thread,
					&f->sh->lock), 0);
	assert_int_equal(pthread_join(thread, &rc), 0);
	assert_int_equal((intptr_t)rc, 0);
	assert_int_equal(mproc_lock_acquire(&f->sh->lock, 100), -1);
	assert_int_equal(errno, EOWNERDEAD);
	assert_int_equal(mproc_lock_consistent(&f->sh->lock), 0);
	assert_int_equal(mproc_lock_release(&f->sh->lock), 0);
}

/*
 * Puts the calling process on cpu alone, in the SCHED_IDLE class, so it
 * runs only when nothing else on that CPU wants to (see wake_then_kill).
 * cpu -1 changes nothing.
 */
static bool
become_idle_on(int cpu)
{
	struct sched_param param = { 0 };
	cpu_set_t set;

	if (cpu < 0)
		return true;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0 &&
	       sched_setscheduler(0, SCHED_IDLE, &param) == 0;
}

/* A child that sleeps in acquire(FOREVER) and must get want; with cpu
 * >= 0, as become_idle_on(cpu). */
static pid_t
spawn_lock_waiter(struct shared *sh, int want, int cpu)
{
	pid_t pid = fork_checked();
	int rc;

	if (pid == 0) {
		if (!become_idle_on(cpu))
			_exit(4);
		__atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
		rc = mproc_lock_acquire(&sh->lock, MPROC_FOREVER);
		if (rc == 0 ? want != 0 : errno != want)
			_exit(1);
		if (want == EOWNERDEAD && mproc_lock_consistent(&sh->lock) != 0)
			_exit(2);
		_exit(rc == 0 || want == EOWNERDEAD ?
		      (mproc_lock_release(&sh->lock) == 0 ? 0 : 3) : 0);
	}
	return pid;
}

static void
test_lock_holder_killed_sleeping_waiter_gets_eownerdead(void **state)
{
	struct fixture *f = *state;
	int dead[2];
	pid_t holder, waiter;
	char c;

	/* The holder dies only once the waiter sleeps on the lock. */
	assert_int_equal(pipe(dead), 0);
	holder = fork_checked();
	if (holder == 0) {
		close(dead[1]);
		if (mproc_lock_acquire(&f->sh->lock, MPROC_FOREVER) != 0)
			_exit(1);
		__atomic_add_fetch(&f->sh->ready, 1, __ATOMIC_SEQ_CST);
		while (read(dead[0], &c, 1) < 0 && errno == EINTR)
			;
		raise(SIGKILL);
	}
	close(dead[0]);
	wait_ready(f->sh, 1);
	waiter = spawn_lock_waiter(f->sh, EOWNERDEAD, -1);
	wait_ready(f->sh, 2);
	assert_int_equal(write(dead[1], "d", 1), 1);	/* not EOF: the waiter has dead[1] too */
	close(dead[1]);
	assert_int_equal(test_reap(holder, 5), 128 + SIGKILL);
	assert_int_equal(test_reap(waiter, 5), 0);
	assert_int_equal(mproc_lock_acquire(&f->sh->lock, 0), 0);
	assert_int_equal(mproc_lock_release(&f->sh->lock), 0);
}

static void
test_lock_released_inconsistent_is_enotrecoverable_for_all(void **state)
{
	struct fixture *f = *state;
	pid_t waiters[2];
	int i;

	spawn_holder(f, true);
	assert_int_equal(mproc_lock_acquire(&f->sh->lock, 0), -1);
	assert_int_equal(errno, EOWNERDEAD);
	for (i = 0; i < 2; i++)
		waiters[i] = spawn_lock_waiter(f->sh, ENOTRECOVERABLE, -1);
	wait_ready(f->sh, 2);
	assert_int_equal(mproc_lock_release(&f->sh->lock), 0);
	reap_all_ok(waiters, 2, 5);
	assert_int_equal(mproc_lock_acquire(&f->sh->lock, 0), -1);
	assert_int_equal(errno, ENOTRECOVERABLE);
	assert_int_equal(mproc_lock_release(&f->sh->lock), -1);
	assert_int_equal(errno, EPERM);
	/* A new init makes the memory a fresh lock. */
	assert_int_equal(mproc_lock_init(&f->sh->lock), 0);
	assert_int_equal(mproc_lock_acquire(&f->sh->lock, 0), 0);
	assert_int_equal(mproc_lock_release(&f->sh->lock), 0);
}

static void
test_lock_consistent_by_non_holder_fails_eperm(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mproc_lock_consistent(&f->sh->lock), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(mproc_lock_acquire(&f->sh->lock, 0), 0);
	assert_int_equal(mproc_lock_consistent(&f->sh->lock), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mproc_lock_release(&f->sh->lock), 0);
}

#define COUNT_EACH 100000

static void
test_lock_four_processes_count_to_exactly_400000(void **state)
{
	struct fixture *f = *state;
	pid_t pids[NPROC];
	int i, n;

	for (i = 0; i < NPROC; i++) {
		pids[i] = fork_checked();
		if (pids[i] != 0)
			continue;
		for (n = 0; n < COUNT_EACH; n++) {
			if (mproc_lock_acquire(&f->sh->lock, 10000) != 0)
				_exit(1);
			f->sh->counter++;	/* a plain, racy add */
			if (mproc_lock_release(&f->sh->lock) != 0)
				_exit(2);
		}
		_exit(0);
	}
	reap_all_ok(pids, NPROC, 15);
	assert_int_equal(f->sh->counter, NPROC * COUNT_EACH);
}

/*
 * A worker of the kill test: under the lock, a and b step apart and
 * together again, so a holder killed in between leaves a != b.  Whoever
 * gets EOWNERDEAD repairs that.  Exits 1 if it ever finds a != b in a
 * lock it got normally, 2 on any other failure.
 */
static void
kill_test_worker(struct shared *sh)
{
	int rc;

	while (!__atomic_load_n(&sh->stop, __ATOMIC_SEQ_CST)) {
		rc = mproc_lock_acquire(&sh->lock, 5000);
		if (rc == -1 && errno == EOWNERDEAD) {
			sh->b = sh->a;
			sh->recovered++;
			if (mproc_lock_consistent(&sh->lock) != 0)
				_exit(2);
		} else if (rc != 0) {
			_exit(2);
		} else if (sh->a != sh->b) {
			_exit(1);
		}
		sh->a++;
		sched_yield();		/* widen the window for a kill */
		sh->b++;
		if (mproc_lock_release(&sh->lock) != 0)
			_exit(2);
	}
	_exit(0);
}

static pid_t
spawn_kill_test_worker(struct shared *sh)
{
	pid_t pid = fork_checked();

	if (pid == 0)
		kill_test_worker(sh);
	return pid;
}

static void
test_lock_holders_killed_at_random_never_wedge_or_tear_it(void **state)
{
	struct fixture *f = *state;
	uint64_t rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	pid_t pids[3];
	int i, k, rc, bad = 0;
	int64_t before;

	for (i = 0; i < 3; i++)
		pids[i] = spawn_kill_test_worker(f->sh);
	for (k = 0; k < 40; k++) {
		sleep_ms(1 + (int)(test_rand(&rng) % 5));
		i = (int)(test_rand(&rng) % 3);
		kill(pids[i], SIGKILL);
		rc = test_reap(pids[i], 5);
		bad += rc != 128 + SIGKILL && rc != 0;
		pids[i] = spawn_kill_test_worker(f->sh);
	}
	/* The survivors still make progress, then stop cleanly. */
	before = __atomic_load_n(&f->sh->a, __ATOMIC_SEQ_CST);
	for (i = 0; i < 5000 && __atomic_load_n(&f->sh->a, __ATOMIC_SEQ_CST) ==
	     before; i++)
		sleep_ms(1);
	__atomic_store_n(&f->sh->stop, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < 3; i++)
		bad += test_reap(pids[i], 10) != 0;
	assert_int_equal(bad, 0);
	rc = mproc_lock_acquire(&f->sh->lock, 0);
	if (rc == -1 && errno == EOWNERDEAD) {	/* the last kill hit a holder */
		f->sh->b = f->sh->a;
		f->sh->recovered++;
		rc = mproc_lock_consistent(&f->sh->lock);
	}
	assert_int_equal(rc, 0);
	assert_true(f->sh->a > before);
	assert_true(f->sh->a == f->sh->b);
	/* A holder is killed about one time in three: (2/3)^40 < 1e-7. */
	assert_true(f->sh->recovered > 0);
	assert_int_equal(mproc_lock_release(&f->sh->lock), 0);
}

/*
 * Makes a release's one wake-up go to a process that dies without using
 * it.  first slept first (the kernel wakes sleepers in FIFO order) and
 * runs SCHED_IDLE on cpu; we move to cpu too, so after release() wakes
 * it, it cannot run before our SIGKILL, which it meets on its way back
 * to user space.  Whoever slept after it must then find the free lock or
 * unit by itself.  On a loaded machine first may still run first and
 * use its wake (then it exits 0 and nothing was lost); returns whether
 * the wake was lost.
 */
static bool
wake_then_kill(pid_t first, int cpu, int (*release)(void *), void *object)
{
	int status;
	cpu_set_t saved, one;

	assert_int_equal(sched_getaffinity(0, sizeof(saved), &saved), 0);
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	assert_int_equal(release(object), 0);
	assert_int_equal(kill(first, SIGKILL), 0);
	assert_int_equal(sched_setaffinity(0, sizeof(saved), &saved), 0);
	status = test_reap(first, 5);
	assert_true(status == 128 + SIGKILL || status == 0);
	return status != 0;
}

/* A CPU this process may run on. */
static int
some_cpu(void)
{
	cpu_set_t set;
	int cpu;

	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	for (cpu = 0; !CPU_ISSET(cpu, &set); cpu++)
		;
	return cpu;
}

static int
release_lock(void *lock)
{
	return mproc_lock_release(lock);
}

static int
release_sem(void *sem)
{
	return mproc_sem_release(sem);
}

static void
test_lock_woken_waiter_killed_never_strands_the_next(void **state)
{
	struct fixture *f = *state;
	int cpu = some_cpu();
	pid_t first, second;

	assert_int_equal(mproc_lock_acquire(&f->sh->lock, 0), 0);
	first = spawn_lock_waiter(f->sh, 0, cpu);
	wait_ready(f->sh, 1);
	second = spawn_lock_waiter(f->sh, 0, -1);
	wait_ready(f->sh, 2);
	/* If first took the lock after all, it released it to second. */
	wake_then_kill(first, cpu, release_lock, &f->sh->lock);
	assert_int_equal(test_reap(second, 3), 0);
}

static void
test_sem_woken_waiter_killed_never_strands_the_next(void **state)
{
	struct fixture *f = *state;
	int cpu = some_cpu();
	pid_t pids[2];
	int i;

	assert_int_equal(mproc_sem_init(&f->sh->sem, 0), 0);
	for (i = 0; i < 2; i++) {
		pids[i] = fork_checked();
		if (pids[i] == 0) {
			if (!become_idle_on(i == 0 ? cpu : -1))
				_exit(4);
			__atomic_add_fetch(&f->sh->ready, 1, __ATOMIC_SEQ_CST);
			_exit(mproc_sem_acquire(&f->sh->sem, MPROC_FOREVER) ? 1 : 0);
		}
		wait_ready(f->sh, i + 1);
	}
	if (!wake_then_kill(pids[0], cpu, release_sem, &f->sh->sem))
		assert_int_equal(mproc_sem_release(&f->sh->sem), 0);
	assert_int_equal(test_reap(pids[1], 3), 0);
	assert_int_equal(mproc_sem_value(&f->sh->sem), 0);
}

/*
 * Waiters that give up (timeouts of 1 ms) must never take with them the
 * wake-up that a sleeping MPROC_FOREVER waiter needs.
 */
static void
test_lock_waiters_timing_out_never_strand_a_sleeper(void **state)
{
	struct fixture *f = *state;
	pid_t pids[NPROC];
	int i, n, rc;

	for (i = 0; i < NPROC; i++) {
		pids[i] = fork_checked();
		if (pids[i] != 0)
			continue;
		for (n = 0; n < 20000; n++) {
			do
				rc = mproc_lock_acquire(&f->sh->lock,
							i == 0 ? MPROC_FOREVER : 1);
			while (rc == -1 && errno == ETIMEDOUT);
			if (rc != 0)
				_exit(1);
			f->sh->counter++;
			if (mproc_lock_release(&f->sh->lock) != 0)
				_exit(2);
		}
		_exit(0);
	}
	reap_all_ok(pids, NPROC, 15);
	assert_int_equal(f->sh->counter, NPROC * 20000);
}

/* ---- semaphore ----------------------------------------------------- */

/* *max = the larger of *max and value, atomically. */
static void
raise_max(int32_t *max, int32_t value)
{
	int32_t seen = __atomic_load_n(max, __ATOMIC_SEQ_CST);

	while (value > seen &&
	       !__atomic_compare_exchange_n(max, &seen, value, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
}

static void
test_sem_of_two_never_lets_three_in(void **state)
{
	struct fixture *f = *state;
	struct shared *sh = f->sh;
	pid_t pids[NPROC];
	int i, n, in;

	for (i = 0; i < NPROC; i++) {
		pids[i] = fork_checked();
		if (pids[i] != 0)
			continue;
		for (n = 0; n < 2000; n++) {
			if (mproc_sem_acquire(&sh->sem, 10000) != 0)
				_exit(1);
			in = __atomic_add_fetch(&sh->inside, 1, __ATOMIC_SEQ_CST);
			raise_max(&sh->max_inside, in);
			if (n % 64 == 0)
				sched_yield();
			__atomic_sub_fetch(&sh->inside, 1, __ATOMIC_SEQ_CST);
			if (mproc_sem_release(&sh->sem) != 0)
				_exit(2);
		}
		_exit(0);
	}
	reap_all_ok(pids, NPROC, 15);
	assert_true(sh->max_inside >= 1 && sh->max_inside <= 2);
	assert_int_equal(mproc_sem_value(&sh->sem), 2);
}

static void
test_sem_empty_zero_timeout_eagain_and_100ms_times_out(void **state)
{
	struct fixture *f = *state;
	int64_t start;

	assert_int_equal(mproc_sem_acquire(&f->sh->sem, 0), 0);
	assert_int_equal(mproc_sem_acquire(&f->sh->sem, 0), 0);
	assert_int_equal(mproc_sem_value(&f->sh->sem), 0);
	assert_int_equal(mproc_sem_acquire(&f->sh->sem, 0), -1);
	assert_int_equal(errno, EAGAIN);
	start = now_ms();
	assert_timed_out(mproc_sem_acquire(&f->sh->sem, 100), start);
	assert_int_equal(mproc_sem_value(&f->sh->sem), 0);
}

static void
test_sem_release_in_child_wakes_waiting_parent(void **state)
{
	struct fixture *f = *state;
	pid_t pid;

	assert_int_equal(mproc_sem_init(&f->sh->sem, 0), 0);
	pid = fork_checked();
	if (pid == 0) {
		sleep_ms(50);
		_exit(mproc_sem_release(&f->sh->sem) == 0 ? 0 : 1);
	}
	assert_int_equal(mproc_sem_acquire(&f->sh->sem, MPROC_FOREVER), 0);
	assert_int_equal(test_reap(pid, 5), 0);
	assert_int_equal(mproc_sem_value(&f->sh->sem), 0);
}

static void
test_sem_units_are_conserved_across_processes(void **state)
{
	struct fixture *f = *state;
	pid_t pids[NPROC];
	int i, n;

	/* Two producers release 5000 units each; two consumers take them. */
	assert_int_equal(mproc_sem_init(&f->sh->sem, 0), 0);
	for (i = 0; i < NPROC; i++) {
		pids[i] = fork_checked();
		if (pids[i] != 0)
			continue;
		for (n = 0; n < 5000; n++) {
			if (i % 2 == 0 ? mproc_sem_release(&f->sh->sem) != 0 :
			    mproc_sem_acquire(&f->sh->sem, 10000) != 0)
				_exit(1);
		}
		_exit(0);
	}
	reap_all_ok(pids, NPROC, 15);
	assert_int_equal(mproc_sem_value(&f->sh->sem), 0);
}

static void
test_sem_release_at_int32_max_fails_eoverflow(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mproc_sem_init(&f->sh->sem, INT32_MAX), 0);
	assert_int_equal(mproc_sem_release(&f->sh->sem), -1);
	assert_int_equal(errno, EOVERFLOW);
	assert_int_equal(mproc_sem_value(&f->sh->sem), INT32_MAX);
	assert_int_equal(mproc_sem_acquire(&f->sh->sem, 0), 0);
	assert_int_equal(mproc_sem_release(&f->sh->sem), 0);
}

static void
test_sem_acquire_interrupted_by_handler_fails_eintr(void **state)
{
	struct fixture *f = *state;
	int64_t start = now_ms();
	timer_t timer;

	assert_int_equal(mproc_sem_init(&f->sh->sem, 0), 0);
	timer = signal_after(SIGNAL_MS, 0);
	assert_int_equal(mproc_sem_acquire(&f->sh->sem, MPROC_FOREVER), -1);
	assert_int_equal(errno, EINTR);
	assert_true(now_ms() - start >= SIGNAL_MS && now_ms() - start < 2000);
	timer_delete(timer);
	assert_int_equal(mproc_sem_value(&f->sh->sem), 0);
}

static void
test_sem_acquire_with_sa_restart_handler_still_fails_eintr(void **state)
{
	struct fixture *f = *state;
	timer_t timer;

	/* The kernel would restart an untimed futex wait; ours never is. */
	assert_int_equal(mproc_sem_init(&f->sh->sem, 0), 0);
	timer = signal_after(SIGNAL_MS, SA_RESTART);
	assert_int_equal(mproc_sem_acquire(&f->sh->sem, MPROC_FOREVER), -1);
	assert_int_equal(errno, EINTR);
	timer_delete(timer);
}

/* ---- event --------------------------------------------------------- */

static void
test_event_set_wakes_eight_waiting_processes(void **state)
{
	struct fixture *f = *state;
	pid_t pids[NWAITERS];
	int i;

	for (i = 0; i < NWAITERS; i++) {
		pids[i] = fork_checked();
		if (pids[i] != 0)
			continue;
		__atomic_add_fetch(&f->sh->ready, 1, __ATOMIC_SEQ_CST);
		_exit(mproc_event_wait(&f->sh->event, MPROC_FOREVER) == 0 &&
		      mproc_event_is_set(&f->sh->event) ? 0 : 1);
	}
	wait_ready(f->sh, NWAITERS);
	assert_int_equal(mproc_event_set(&f->sh->event), 0);
	reap_all_ok(pids, NWAITERS, 5);
}

static void
test_event_set_then_clear_at_once_still_wakes_waiter(void **state)
{
	struct fixture *f = *state;
	pid_t pid = fork_checked();

	if (pid == 0) {
		__atomic_add_fetch(&f->sh->ready, 1, __ATOMIC_SEQ_CST);
		_exit(mproc_event_wait(&f->sh->event, 5000) == 0 ? 0 : 1);
	}
	wait_ready(f->sh, 1);
	assert_int_equal(mproc_event_set(&f->sh->event), 0);
	assert_int_equal(mproc_event_clear(&f->sh->event), 0);
	assert_int_equal(test_reap(pid, 6), 0);
	assert_false(mproc_event_is_set(&f->sh->event));
}

static void
test_event_set_returns_at_once_clear_times_out(void **state)
{
	struct fixture *f = *state;
	int64_t start;

	assert_false(mproc_event_is_set(&f->sh->event));
	assert_int_equal(mproc_event_wait(&f->sh->event, 0), -1);
	assert_int_equal(errno, EAGAIN);
	start = now_ms();
	assert_timed_out(mproc_event_wait(&f->sh->event, 100), start);

	assert_int_equal(mproc_event_set(&f->sh->event), 0);
	assert_int_equal(mproc_event_set(&f->sh->event), 0);
	assert_true(mproc_event_is_set(&f->sh->event));
	assert_int_equal(mproc_event_wait(&f->sh->event, 0), 0);
	assert_int_equal(mproc_event_wait(&f->sh->event, MPROC_FOREVER), 0);

	assert_int_equal(mproc_event_clear(&f->sh->event), 0);
	assert_int_equal(mproc_event_clear(&f->sh->event), 0);
	assert_false(mproc_event_is_set(&f->sh->event));
	assert_int_equal(mproc_event_wait(&f->sh->event, 0), -1);
	assert_int_equal(errno, EAGAIN);
}

static void
test_event_wait_interrupted_by_handler_fails_eintr(void **state)
{
	struct fixture *f = *state;
	int64_t start = now_ms();
	timer_t timer = signal_after(SIGNAL_MS, 0);

	assert_int_equal(mproc_event_wait(&f->sh->event, 5000), -1);
	assert_int_equal(errno, EINTR);
	assert_true(now_ms() - start >= SIGNAL_MS && now_ms() - start < 2000);
	timer_delete(timer);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_sync_null_object_fails_einval),
		T(test_sync_timeout_below_forever_fails_einval_unchanged),
		T(test_sem_init_above_int32_max_fails_einval),
		T(test_lock_relock_fails_edeadlk_or_eagain_for_zero),
		T(test_lock_release_by_other_thread_fails_eperm),
		T(test_lock_release_by_other_process_fails_eperm),
		T(test_lock_held_elsewhere_times_out_within_bounds),
		T(test_lock_acquire_interrupted_by_handler_fails_eintr),
		T(test_lock_holder_killed_next_acquire_eownerdead_then_consistent),
		T(test_lock_holder_killed_sleeping_waiter_gets_eownerdead),
		T(test_lock_holder_thread_exits_next_acquire_eownerdead),
		T(test_lock_released_inconsistent_is_enotrecoverable_for_all),
		T(test_lock_consistent_by_non_holder_fails_eperm),
		T(test_lock_four_processes_count_to_exactly_400000),
		T(test_lock_holders_killed_at_random_never_wedge_or_tear_it),
		T(test_lock_waiters_timing_out_never_strand_a_sleeper),
		T(test_lock_woken_waiter_killed_never_strands_the_next),
		T(test_sem_woken_waiter_killed_never_strands_the_next),
		T(test_sem_of_two_never_lets_three_in),
		T(test_sem_empty_zero_timeout_eagain_and_100ms_times_out),
		T(test_sem_release_in_child_wakes_waiting_parent),
		T(test_sem_units_are_conserved_across_processes),
		T(test_sem_release_at_int32_max_fails_eoverflow),
		T(test_sem_acquire_interrupted_by_handler_fails_eintr),
		T(test_sem_acquire_with_sa_restart_handler_still_fails_eintr),
		T(test_event_set_wakes_eight_waiting_processes),
		T(test_event_set_then_clear_at_once_still_wakes_waiter),
		T(test_event_set_returns_at_once_clear_times_out),
		T(test_event_wait_interrupted_by_handler_fails_eintr),
	};

	return cmocka_run_group_tests_name("sync", tests, NULL, NULL);
}
