/*
 * zombie_reaped - a child that has ended stays a zombie ("<defunct>" in
 * ps) until its parent collects its exit status; join does that.
 *
 * Python:
 *     p = Process(target=lambda: None)
 *     p.start()
 *     time.sleep(0.5)         # ps now shows the child as <defunct>
 *     p.join()                # reaped: gone from the process table
 */
#include <err.h>
#include <poll.h>
#include <stdio.h>

#include <mproc.h>

/* The state letter in /proc/PID/stat ('Z': zombie), or '-' when there
 * is no such process any more. */
static char
state_of(pid_t pid)
{
	char path[64], state = '-';
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return state;
	if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
		state = '?';
	fclose(f);
	return state;
}

static int
nothing(void *arg)
{
	(void)arg;
	return 0;
}

int
main(void)
{
	mproc_process *p = mproc_process_new(nothing, NULL, NULL);
	struct pollfd pfd;
	pid_t pid;

	if (p == NULL)
		err(1, "mproc_process_new");
	if (mproc_process_start(p) == -1)
		err(1, "mproc_process_start");
	pid = mproc_process_pid(p);

	/* The process descriptor polls readable once the child has ended,
	 * without reaping it. */
	pfd = (struct pollfd){ .fd = mproc_process_fd(p), .events = POLLIN };
	if (poll(&pfd, 1, 10000) != 1)
		err(1, "poll");
	printf("child %ld ended, not yet joined: state %c\n", (long)pid,
	       state_of(pid));
	if (mproc_process_join(p, MPROC_FOREVER) == -1)
		err(1, "mproc_process_join");
	printf("after join: state %c (no such process: reaped)\n",
	       state_of(pid));
	mproc_process_free(p);
	return 0;
}
