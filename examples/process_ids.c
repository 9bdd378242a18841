/*
 * process_ids - every process has its own id; a child's parent id is
 * the id of the process that started it.
 *
 * Python:
 *     def info(title):
 *         print(title, "- process id:", os.getpid(),
 *               "parent process:", os.getppid())
 *     def f(name):
 *         info("function f")
 *         print("hello", name)
 *     info("main line")
 *     p = Process(target=f, args=("bob",))
 *     p.start(); p.join()
 */
#include <err.h>
#include <stdio.h>
#include <unistd.h>

#include <mproc.h>

static void
info(const char *title)
{
	printf("%s (%s): pid %ld, parent %ld\n", title, mproc_current_name(),
	       (long)getpid(), (long)getppid());
}

static int
f(void *arg)
{
	info("function f");
	printf("hello %s\n", (const char *)arg);
	return 0;
}

int
main(void)
{
	mproc_process *p;

	info("main line");
	if ((p = mproc_process_new(f, "bob", NULL)) == NULL)
		err(1, "mproc_process_new");
	if (mproc_process_start(p) == -1)
		err(1, "mproc_process_start");
	printf("started %s: pid %ld\n", mproc_process_name(p),
	       (long)mproc_process_pid(p));
	if (mproc_process_join(p, MPROC_FOREVER) == -1)
		err(1, "mproc_process_join");
	mproc_process_free(p);
	return 0;
}
