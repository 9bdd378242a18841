/*
 * process_terminate - stop a running process, and watch is_alive and
 * exitcode change.
 *
 * Python:
 *     p = Process(target=time.sleep, args=(1000,))
 *     print("before start:", p.is_alive())     # False
 *     p.start()
 *     print("running:", p.is_alive())          # True
 *     p.terminate()
 *     p.join()
 *     print("joined:", p.is_alive())           # False
 *     print("exit code:", p.exitcode)          # -15 (-SIGTERM)
 */
#include <err.h>
#include <stdio.h>
#include <unistd.h>

#include <mproc.h>

static int
sleep_forever(void *arg)
{
	(void)arg;
	pause();		/* until a signal ends this process */
	return 0;
}

static const char *
yes_no(bool b)
{
	return b ? "yes" : "no";
}

int
main(void)
{
	mproc_process *p = mproc_process_new(sleep_forever, NULL, NULL);

	if (p == NULL)
		err(1, "mproc_process_new");
	printf("before start: alive %s\n", yes_no(mproc_process_is_alive(p)));
	if (mproc_process_start(p) == -1)
		err(1, "mproc_process_start");
	printf("running: alive %s\n", yes_no(mproc_process_is_alive(p)));

	/* terminate() only sends SIGTERM; join() waits for it to work. */
	if (mproc_process_terminate(p) == -1)
		err(1, "mproc_process_terminate");
	if (mproc_process_join(p, MPROC_FOREVER) == -1)
		err(1, "mproc_process_join");
	printf("joined: alive %s, exit code %d\n",
	       yes_no(mproc_process_is_alive(p)), mproc_process_exitcode(p));
	mproc_process_free(p);
	return 0;
}
