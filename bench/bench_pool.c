/*
 * bench/bench_pool.c - tiny-task throughput of mproc_pool against its
 * peers, measured in the same run: a fork()+waitpid() per task, and
 * Python's multiprocessing.Pool (bench/bench_pool.py, run with python3:
 * imap with chunksize=1, and map with its default chunking).  Rounds are
 * interleaved; each rate is the median over the rounds; the ratios are
 * of medians.  Pool creation is not timed on either side.  Each peer
 * runs in a fresh process of its own (this program with --fork-peer, or
 * python3), so that the pool's memory does not slow its forks down.
 *
 * Usage: bench_pool [ROUNDS]   (default 5; workers: mproc_cpu_count())
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mproc.h>

#ifndef BENCH_POOL_PY
#define BENCH_POOL_PY "bench/bench_pool.py"
#endif

#define TASKS 100000		/* tiny tasks per pool round */
#define PY_TASKS 20000		/* Python's imap(chunksize=1) is slow */
#define FORKS 1000		/* fork+waitpid per task */
#define MAP_ITEMS 100000
#define MAX_ROUNDS 15

enum { POOL_TASKS, POOL_MAP, FORK, PY_CHUNK1, PY_DEFAULT, PY_MAP, NRATES };

static const char *const rate_names[NRATES] = {
	"pool_submit_get", "pool_map_items", "fork_waitpid",
	"py_imap_chunk1", "py_map_default", "py_map_items",
};

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The tiny task: int[2] -> their sum. */
static ssize_t
task_add(const void *arg, size_t len, void *out, size_t cap)
{
	int v[2], sum;

	(void)len, (void)cap;
	memcpy(v, arg, sizeof(v));
	sum = v[0] + v[1];
	memcpy(out, &sum, sizeof(sum));
	return sizeof(sum);
}

/* The map item: i -> i * i. */
static ssize_t
task_square(const void *arg, size_t len, void *out, size_t cap)
{
	long i;

	(void)len, (void)cap;
	memcpy(&i, arg, sizeof(i));
	i *= i;
	memcpy(out, &i, sizeof(i));
	return sizeof(i);
}

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

/* TASKS submits, then TASKS gets: tasks per second. */
static double
bench_pool_tasks(mproc_pool *p)
{
	static mproc_result *rs[TASKS];
	long check = 0;
	double t0 = now();

	for (int i = 0; i < TASKS; i++) {
		int v[2] = { i, 1 };

		if ((rs[i] = mproc_pool_submit(p, task_add, v, sizeof(v))) == NULL)
			die("mproc_pool_submit");
	}
	for (int i = 0; i < TASKS; i++) {
		int sum;

		if (mproc_result_get(rs[i], &sum, sizeof(sum), MPROC_FOREVER) < 0)
			die("mproc_result_get");
		check += sum - i - 1;
		mproc_result_free(rs[i]);
	}
	if (check != 0)
		die("wrong sums");
	return TASKS / (now() - t0);
}

static double
bench_pool_map(mproc_pool *p)
{
	static long in[MAP_ITEMS], out[MAP_ITEMS];
	double t0;

	for (long i = 0; i < MAP_ITEMS; i++)
		in[i] = i;
	t0 = now();
	if (mproc_pool_map(p, task_square, in, sizeof(long), MAP_ITEMS, out,
			   sizeof(long)) < 0)
		die("mproc_pool_map");
	if (out[MAP_ITEMS - 1] != (long)(MAP_ITEMS - 1) * (MAP_ITEMS - 1))
		die("wrong squares");
	return MAP_ITEMS / (now() - t0);
}

/* One fork per task; the sum comes back in the exit status. */
static double
bench_fork(void)
{
	double t0 = now();

	for (int i = 0; i < FORKS; i++) {
		int status;
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0)
			_exit((i + 1) & 0x7f);
		if (waitpid(pid, &status, 0) != pid ||
		    WEXITSTATUS(status) != ((i + 1) & 0x7f))
			die("waitpid");
	}
	return FORKS / (now() - t0);
}

/* Runs a peer command; stores each "name rate" line it prints. */
static void
run_peer(const char *cmd, double *rate)
{
	char name[64];
	double v;
	FILE *f = popen(cmd, "r");

	if (f == NULL)
		die("popen");
	while (fscanf(f, "%63s %lf", name, &v) == 2)
		for (int i = 0; i < NRATES; i++)
			if (strcmp(name, rate_names[i]) == 0)
				rate[i] = v;
	if (pclose(f) != 0)
		die(cmd);
}

/* Runs bench_pool.py once; fills its three rates. */
static void
bench_python(int workers, double *rate)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "python3 %s %d %d %d", BENCH_POOL_PY,
		 workers, PY_TASKS, MAP_ITEMS);
	run_peer(cmd, rate);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 5;
	int workers = mproc_cpu_count();
	static double rate[NRATES][MAX_ROUNDS], med[NRATES];
	struct mproc_pool_attr a = { .workers = workers };
	char self[4096] = "";
	mproc_pool *p;

	if (argc > 1 && strcmp(argv[1], "--fork-peer") == 0) {
		printf("%s %f\n", rate_names[FORK], bench_fork());
		return 0;
	}
	p = mproc_pool_create(&a);
	if (p == NULL)
		die("mproc_pool_create");
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 5;
	if (readlink("/proc/self/exe", self, sizeof(self) - 20) < 0)
		die("readlink /proc/self/exe");
	strcat(self, " --fork-peer");
	for (int r = 0; r < rounds; r++) {
		double peer[NRATES];

		rate[POOL_TASKS][r] = bench_pool_tasks(p);
		run_peer(self, peer);
		bench_python(workers, peer);
		for (int i = FORK; i < NRATES; i++)
			rate[i][r] = peer[i];
		rate[POOL_MAP][r] = bench_pool_map(p);
	}
	mproc_pool_free(p);
	for (int i = 0; i < NRATES; i++) {
		med[i] = median(rate[i], rounds);
		printf("%-18s %12.0f /s (median of %d)\n", rate_names[i], med[i],
		       rounds);
	}
	printf("\nworkers: %d; tiny task = add two ints; map item = square a long\n",
	       workers);
	printf("pool submit+get  / fork+waitpid        %8.1fx\n",
	       med[POOL_TASKS] / med[FORK]);
	printf("pool submit+get  / py imap chunksize=1 %8.1fx\n",
	       med[POOL_TASKS] / med[PY_CHUNK1]);
	printf("pool submit+get  / py map default chunk%8.2fx\n",
	       med[POOL_TASKS] / med[PY_DEFAULT]);
	printf("pool map 100k    / py map 100k default %8.2fx\n",
	       med[POOL_MAP] / med[PY_MAP]);
	return 0;
}
