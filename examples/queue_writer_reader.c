/*
 * queue_writer_reader - one process writes messages into a Queue,
 * another reads them.  The writer shuts the queue down when it is done,
 * so the reader needs no "DONE" sentinel.
 *
 * Python:
 *     def writer(q):
 *         for i in range(5):
 *             q.put(f"message {i}")
 *         q.put("DONE")
 *     def reader(q):
 *         while (msg := q.get()) != "DONE":
 *             print("read:", msg)
 *     q = Queue()
 *     r = Process(target=reader, args=(q,)); w = Process(target=writer, args=(q,))
 *     r.start(); w.start(); w.join(); r.join()
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mproc.h>

static int
writer(void *arg)
{
	mproc_queue *q = arg;
	char msg[32];

	for (int i = 0; i < 5; i++) {
		snprintf(msg, sizeof(msg), "message %d", i);
		if (mproc_queue_put(q, msg, strlen(msg), MPROC_FOREVER) == -1) {
			warn("mproc_queue_put");
			return 1;	/* a child returns; it does not exit() */
		}
	}
	/* Readers get what is left, then EPIPE instead of waiting. */
	if (mproc_queue_shutdown(q) == -1) {
		warn("mproc_queue_shutdown");
		return 1;
	}
	return 0;
}

static int
reader(void *arg)
{
	mproc_queue *q = arg;
	char msg[64];		/* at least the queue's msg_size */
	ssize_t len;

	while ((len = mproc_queue_get(q, msg, sizeof(msg), MPROC_FOREVER)) >= 0)
		printf("read: %.*s\n", (int)len, msg);
	if (errno != EPIPE) {
		warn("mproc_queue_get");
		return 1;
	}
	printf("the queue is shut down and empty\n");
	return 0;
}

static mproc_process *
start(mproc_target_fn target, void *arg)
{
	mproc_process *p = mproc_process_new(target, arg, NULL);

	if (p == NULL)
		err(1, "mproc_process_new");
	if (mproc_process_start(p) == -1)
		err(1, "mproc_process_start");
	return p;
}

static void
join(mproc_process *p)
{
	if (mproc_process_join(p, MPROC_FOREVER) == -1)
		err(1, "mproc_process_join");
	if (mproc_process_exitcode(p) != 0)
		errx(1, "%s failed", mproc_process_name(p));
	mproc_process_free(p);
}

int
main(void)
{
	/* Anonymous (name NULL): shared with the children started after. */
	struct mproc_queue_attr attr = { .capacity = 2, .msg_size = 64 };
	mproc_queue *q = mproc_queue_create(NULL, &attr);

	if (q == NULL)
		err(1, "mproc_queue_create");
	mproc_process *r = start(reader, q);
	mproc_process *w = start(writer, q);
	join(w);
	join(r);
	mproc_queue_close(q);
	return 0;
}
