/*
 * fifo_two_programs - two unrelated programs talk through a named FIFO.
 * Run it twice, in two roles, from two shells:
 *
 *     $ ./fifo_two_programs reader /tmp/chat
 *     $ ./fifo_two_programs writer /tmp/chat
 *
 * Whichever starts first waits for the other (up to 10 s).  The reader
 * prints each message until the writer closes, then removes the FIFO.
 *
 * Python (os.mkfifo + open in each program; libmproc keeps messages whole):
 *     os.mkfifo(path)
 *     with open(path, "w") as f:  f.write("hello\n")      # writer
 *     with open(path) as f:       print(f.read())         # reader
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mproc.h>

static void
writer(const char *path)
{
	mproc_conn *c = mproc_fifo_open(path, MPROC_WRONLY | MPROC_CREAT, 10000);
	char msg[64];

	if (c == NULL)
		err(1, "mproc_fifo_open %s", path);
	for (int i = 1; i <= 3; i++) {
		snprintf(msg, sizeof(msg), "hello %d from process %ld", i,
			 (long)getpid());
		if (mproc_conn_send(c, msg, strlen(msg)) == -1)
			err(1, "mproc_conn_send");
	}
	mproc_conn_close(c);
}

static void
reader(const char *path)
{
	mproc_conn *c = mproc_fifo_open(path, MPROC_RDONLY | MPROC_CREAT, 10000);
	char msg[64];
	ssize_t len;

	if (c == NULL)
		err(1, "mproc_fifo_open %s", path);
	while ((len = mproc_conn_recv(c, msg, sizeof(msg), 10000)) >= 0)
		printf("got: %.*s\n", (int)len, msg);
	if (errno != EPIPE)	/* EPIPE: every writer has closed */
		err(1, "mproc_conn_recv");
	mproc_conn_close(c);
	if (unlink(path) == -1)
		err(1, "unlink %s", path);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "writer") == 0)
		writer(argv[2]);
	else if (argc == 3 && strcmp(argv[1], "reader") == 0)
		reader(argv[2]);
	else
		errx(2, "usage: fifo_two_programs reader|writer PATH");
	return 0;
}
