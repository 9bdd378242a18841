/*
 * process_daemon - a daemonic process does not keep the program alive:
 * it is terminated when the main program exits.
 *
 * Python:
 *     def daemon():
 *         print("daemon starting", flush=True)
 *         time.sleep(10)
 *         print("daemon exiting")           # never printed
 *     def worker():
 *         print("worker starting", flush=True)
 *         time.sleep(0.2)
 *         print("worker exiting", flush=True)
 *     d = Process(target=daemon, daemon=True)
 *     w = Process(target=worker)
 *     d.start(); w.start()
 *     w.join()
 *     # the program ends here; the daemon is terminated
 */
#include <err.h>
#include <stdio.h>
#include <time.h>

#include <mproc.h>

/* Prints a line at once: a terminated process never flushes its
 * buffers, so what it printed would be lost. */
static void
say(const char *what)
{
	printf("%s %s\n", mproc_current_name(), what);
	fflush(stdout);
}

static void
sleep_ms(long ms)
{
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000 };

	nanosleep(&t, NULL);
}

static int
daemon_main(void *arg)
{
	(void)arg;
	say("starting");
	sleep_ms(10000);
	say("exiting");		/* never reached: terminated at exit */
	return 0;
}

static int
worker_main(void *arg)
{
	(void)arg;
	say("starting");
	sleep_ms(200);
	say("exiting");
	return 0;
}

static mproc_process *
start(mproc_target_fn target, const char *name, bool daemon)
{
	mproc_process *p = mproc_process_new(target, NULL, name);

	if (p == NULL)
		err(1, "mproc_process_new");
	if (mproc_process_set_daemon(p, daemon) == -1)
		err(1, "mproc_process_set_daemon");
	if (mproc_process_start(p) == -1)
		err(1, "mproc_process_start");
	return p;
}

int
main(void)
{
	mproc_process *d = start(daemon_main, "daemon", true);
	mproc_process *w = start(worker_main, "worker", false);

	if (mproc_process_join(w, MPROC_FOREVER) == -1)
		err(1, "mproc_process_join");
	printf("%s exiting; daemon %ld is terminated\n", mproc_current_name(),
	       (long)mproc_process_pid(d));
	return 0;		/* at exit, the library terminates the daemon */
}
