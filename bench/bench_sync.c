/*
 * bench/bench_sync.c - mproc_lock and mproc_sem against their glibc peers.
 *
 *   bench_sync [rounds]		(default 7)
 *
 * Two measures, each taken in rounds that interleave every contender,
 * reporting the median round and the ratio to the robust pthread mutex:
 *   uncontended: acquire + release by one thread, in ns per pair;
 *   handoff:     two processes passing control back and forth, in round
 *                trips per second.  Semaphores ping-pong through two
 *                semaphores; locks pass through three locks in rotation
 *                (a lock must be released by its holder, so each side
 *                always holds the lock the other will wait for next).
 * The peers: a PTHREAD_PROCESS_SHARED + PTHREAD_MUTEX_ROBUST pthread
 * mutex (lock/unlock) and a pshared sem_t (sem_wait/sem_post).
 */
#define _GNU_SOURCE
#include <err.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mproc.h>

#define UNCONTENDED_OPS 1000000
#define HANDOFF_TRIPS 10000
#define MAX_ROUNDS 31

/* What both processes of a handoff share. */
struct arena {
	pthread_mutex_t pm[3];
	mproc_lock ml[3];
	sem_t ps[2];
	mproc_sem ms[2];
};

/* One contender: acquire/release object i of its kind in the arena. */
struct contender {
	const char *name;
	int nobjects;		/* 3: a lock (rotation), 2: a semaphore */
	void (*acquire)(struct arena *a, int i);
	void (*release)(struct arena *a, int i);
};

static void
check(int rc, const char *what)
{
	if (rc != 0)
		errx(1, "%s failed: %d", what, rc);
}

static void pm_acquire(struct arena *a, int i) { check(pthread_mutex_lock(&a->pm[i]), "pthread_mutex_lock"); }
static void pm_release(struct arena *a, int i) { check(pthread_mutex_unlock(&a->pm[i]), "pthread_mutex_unlock"); }
static void ml_acquire(struct arena *a, int i) { check(mproc_lock_acquire(&a->ml[i], MPROC_FOREVER), "mproc_lock_acquire"); }
static void ml_release(struct arena *a, int i) { check(mproc_lock_release(&a->ml[i]), "mproc_lock_release"); }
static void ps_acquire(struct arena *a, int i) { check(sem_wait(&a->ps[i]), "sem_wait"); }
static void ps_release(struct arena *a, int i) { check(sem_post(&a->ps[i]), "sem_post"); }
static void ms_acquire(struct arena *a, int i) { check(mproc_sem_acquire(&a->ms[i], MPROC_FOREVER), "mproc_sem_acquire"); }
static void ms_release(struct arena *a, int i) { check(mproc_sem_release(&a->ms[i]), "mproc_sem_release"); }

static const struct contender contenders[] = {
	{ "pthread robust mutex", 3, pm_acquire, pm_release },
	{ "mproc_lock", 3, ml_acquire, ml_release },
	{ "sem_t (pshared)", 2, ps_acquire, ps_release },
	{ "mproc_sem", 2, ms_acquire, ms_release },
};
#define NCONTENDERS (int)(sizeof(contenders) / sizeof(contenders[0]))

static struct arena *
arena_new(void)
{
	pthread_mutexattr_t attr;
	struct arena *a = mmap(NULL, sizeof(*a), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int i;

	if (a == MAP_FAILED)
		err(1, "mmap");
	check(pthread_mutexattr_init(&attr), "mutexattr");
	check(pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED), "pshared");
	check(pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST), "robust");
	for (i = 0; i < 3; i++) {
		check(pthread_mutex_init(&a->pm[i], &attr), "pthread_mutex_init");
		check(mproc_lock_init(&a->ml[i]), "mproc_lock_init");
	}
	for (i = 0; i < 2; i++) {
		check(sem_init(&a->ps[i], 1, 0), "sem_init");
		check(mproc_sem_init(&a->ms[i], 0), "mproc_sem_init");
	}
	return a;
}

static double
seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ns per acquire + release pair with nobody else around. */
static double
uncontended(const struct contender *c, struct arena *a)
{
	double start, took;
	int n;

	/* A semaphore needs a unit to take; a lock is simply free. */
	if (c->nobjects == 2)
		c->release(a, 0);
	start = seconds_now();
	for (n = 0; n < UNCONTENDED_OPS; n++) {
		c->acquire(a, 0);
		c->release(a, 0);
	}
	took = seconds_now() - start;
	if (c->nobjects == 2)
		c->acquire(a, 0);	/* leave it empty for the handoff */
	return took * 1e9 / UNCONTENDED_OPS;
}

/* One side of the three-lock rotation; see the comment at the top. */
static void
rotate(const struct contender *c, struct arena *a, bool first)
{
	int i;

	for (i = 0; i < HANDOFF_TRIPS; i++) {
		if (first) {
			c->release(a, i % 3);
			c->acquire(a, (i + 2) % 3);
		} else {
			c->acquire(a, i % 3);
			c->release(a, (i + 2) % 3);
		}
	}
}

/* One side of a semaphore ping-pong: object 0 pings, object 1 pongs. */
static void
ping_pong(const struct contender *c, struct arena *a, bool first)
{
	int i;

	for (i = 0; i < HANDOFF_TRIPS; i++) {
		if (first) {
			c->release(a, 0);
			c->acquire(a, 1);
		} else {
			c->acquire(a, 0);
			c->release(a, 1);
		}
	}
}

/* The child's side; it holds lock 2 (if a lock) before saying ready. */
static void
handoff_child(const struct contender *c, struct arena *a, int ready)
{
	if (c->nobjects == 3)
		c->acquire(a, 2);
	if (write(ready, "r", 1) != 1)
		_exit(1);
	if (c->nobjects == 3) {
		rotate(c, a, false);
		c->release(a, (HANDOFF_TRIPS - 1) % 3);
	} else {
		ping_pong(c, a, false);
	}
	_exit(0);
}

/* Round trips per second between this process and a child. */
static double
handoff(const struct contender *c, struct arena *a)
{
	int ready[2], status;
	double start, took;
	pid_t pid;
	char r;

	if (pipe(ready) != 0)
		err(1, "pipe");
	if (c->nobjects == 3) {
		c->acquire(a, 0);
		c->acquire(a, 1);
	}
	pid = fork();
	if (pid < 0)
		err(1, "fork");
	if (pid == 0)
		handoff_child(c, a, ready[1]);
	if (read(ready[0], &r, 1) != 1)
		errx(1, "child failed to start");
	start = seconds_now();
	if (c->nobjects == 3)
		rotate(c, a, true);
	else
		ping_pong(c, a, true);
	took = seconds_now() - start;
	if (c->nobjects == 3) {
		c->release(a, HANDOFF_TRIPS % 3);
		c->release(a, (HANDOFF_TRIPS + 1) % 3);
	}
	if (waitpid(pid, &status, 0) != pid || status != 0)
		errx(1, "handoff child failed");
	close(ready[0]);
	close(ready[1]);
	return HANDOFF_TRIPS / took;
}

static int
by_value(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

static double
median(double *v, int n)
{
	qsort(v, n, sizeof(*v), by_value);
	return v[n / 2];
}

int
main(int argc, char **argv)
{
	static double un[NCONTENDERS][MAX_ROUNDS], ho[NCONTENDERS][MAX_ROUNDS];
	int rounds = argc > 1 ? atoi(argv[1]) : 7;
	struct arena *a = arena_new();
	double un_med[NCONTENDERS], ho_med[NCONTENDERS];
	int r, k, i;

	if (rounds < 1 || rounds > MAX_ROUNDS)
		errx(2, "usage: bench_sync [rounds 1..%d]", MAX_ROUNDS);
	/* Each round starts with a different contender, so none always
	 * runs first (cold) or right after a fork. */
	for (r = 0; r < rounds; r++) {
		for (k = 0; k < NCONTENDERS; k++) {
			i = (r + k) % NCONTENDERS;
			un[i][r] = uncontended(&contenders[i], a);
		}
		for (k = 0; k < NCONTENDERS; k++) {
			i = (r + k) % NCONTENDERS;
			ho[i][r] = handoff(&contenders[i], a);
		}
	}
	for (i = 0; i < NCONTENDERS; i++) {
		un_med[i] = median(un[i], rounds);
		ho_med[i] = median(ho[i], rounds);
	}
	printf("median of %d interleaved rounds; ratio = cost / pthread mutex's "
	       "(<1 is faster)\n", rounds);
	printf("%-22s %12s %7s %16s %7s\n", "", "uncontended", "ratio",
	       "handoff", "ratio");
	printf("%-22s %12s %7s %16s %7s\n", "", "ns/pair", "", "round trips/s", "");
	for (i = 0; i < NCONTENDERS; i++)
		printf("%-22s %12.1f %7.2f %16.0f %7.2f\n", contenders[i].name,
		       un_med[i], un_med[i] / un_med[0], ho_med[i],
		       ho_med[0] / ho_med[i]);
	printf("mproc_sem vs sem_t: uncontended %.2f, handoff %.2f\n",
	       un_med[3] / un_med[2], ho_med[2] / ho_med[3]);
	return 0;
}
