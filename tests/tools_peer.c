/*
 * tools_peer - the C side of tests/test_tools.sh: makes the objects the
 * mproc command has no verb for, and puts and gets from C, so the test
 * can check that a message crosses between a shell and a C program.
 *
 *   tools_peer queue /name CAPACITY MSG_SIZE   create a named queue
 *   tools_peer segment /name SIZE              create a named segment
 *   tools_peer put /name MESSAGE...            put each MESSAGE
 *   tools_peer get /name N TIMEOUT_MS          get N, print one a line
 *
 * Exit status 0 on success, 1 with a message on stderr otherwise.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mproc.h>

static size_t
number(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s || *end != '\0')
		errx(1, "not a number: %s", s);
	return v;
}

static void
make_queue(const char *name, size_t capacity, size_t msg_size)
{
	struct mproc_queue_attr attr = { .capacity = capacity, .msg_size = msg_size };
	mproc_queue *q = mproc_queue_create(name, &attr);

	if (q == NULL)
		err(1, "mproc_queue_create %s", name);
	if (mproc_queue_close(q) == -1)
		err(1, "mproc_queue_close %s", name);
}

static void
make_segment(const char *name, size_t size)
{
	mproc_shm *s = mproc_shm_create(name, size, 0);

	if (s == NULL)
		err(1, "mproc_shm_create %s", name);
	if (mproc_shm_close(s) == -1)
		err(1, "mproc_shm_close %s", name);
}

static void
put(const char *name, int n, char **msgs)
{
	mproc_queue *q = mproc_queue_open(name);

	if (q == NULL)
		err(1, "mproc_queue_open %s", name);
	for (int i = 0; i < n; i++)
		if (mproc_queue_put(q, msgs[i], strlen(msgs[i]), 5000) == -1)
			err(1, "mproc_queue_put %s", name);
	mproc_queue_close(q);
}

static void
get(const char *name, size_t n, int timeout_ms)
{
	mproc_queue *q = mproc_queue_open(name);
	size_t cap;
	char *buf;

	if (q == NULL)
		err(1, "mproc_queue_open %s", name);
	cap = mproc_queue_msg_size(q);
	if ((buf = malloc(cap)) == NULL)
		err(1, "malloc");
	for (size_t i = 0; i < n; i++) {
		ssize_t len = mproc_queue_get(q, buf, cap, timeout_ms);

		if (len == -1)
			err(1, "mproc_queue_get %s", name);
		printf("%.*s\n", (int)len, buf);
	}
	free(buf);
	mproc_queue_close(q);
}

int
main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "queue") == 0)
		make_queue(argv[2], number(argv[3]), number(argv[4]));
	else if (argc == 4 && strcmp(argv[1], "segment") == 0)
		make_segment(argv[2], number(argv[3]));
	else if (argc >= 3 && strcmp(argv[1], "put") == 0)
		put(argv[2], argc - 3, argv + 3);
	else if (argc == 5 && strcmp(argv[1], "get") == 0)
		get(argv[2], number(argv[3]), (int)number(argv[4]));
	else
		errx(1, "usage: tools_peer queue|segment|put|get /name ...");
	return 0;
}
