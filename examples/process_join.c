/*
 * process_join - wait for a process to end, with or without a timeout,
 * and read its exit code.
 *
 * Python:
 *     def work():
 *         time.sleep(1)
 *         sys.exit(7)
 *     p = Process(target=work)
 *     p.start()
 *     p.join(0.05)
 *     print("still running:", p.is_alive())   # True
 *     p.join()
 *     print("exit code:", p.exitcode)         # 7
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include <mproc.h>

static int
work(void *arg)
{
	struct timespec pause = { .tv_sec = 1 };

	(void)arg;
	nanosleep(&pause, NULL);
	return 7;
}

int
main(void)
{
	mproc_process *p = mproc_process_new(work, NULL, NULL);

	if (p == NULL)
		err(1, "mproc_process_new");
	if (mproc_process_start(p) == -1)
		err(1, "mproc_process_start");

	/* A bounded join fails with ETIMEDOUT while the child runs. */
	if (mproc_process_join(p, 50) == 0)
		errx(1, "the child ended too soon");
	if (errno != ETIMEDOUT)
		err(1, "mproc_process_join");
	printf("after 50 ms: still running: %s\n",
	       mproc_process_is_alive(p) ? "yes" : "no");

	/* An unbounded join returns once it ended, and reaps it. */
	if (mproc_process_join(p, MPROC_FOREVER) == -1)
		err(1, "mproc_process_join");
	printf("joined: exit code %d\n", mproc_process_exitcode(p));
	mproc_process_free(p);
	return 0;
}
