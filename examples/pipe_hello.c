/*
 * pipe_hello.c - Python's classic Pipe example, in C:
 *
 *	parent_conn, child_conn = Pipe()
 *	p = Process(target=f, args=(child_conn,))   # sends "hello father"
 *	print(parent_conn.recv())
 *
 * and back the other way: the parent answers "hi son".
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mproc.h>

static int
child(mproc_conn *conn)
{
	char buf[64];
	ssize_t n;

	if (mproc_conn_send(conn, "hello father", 12) < 0)
		return 1;
	n = mproc_conn_recv(conn, buf, sizeof(buf), 5000);
	if (n < 0)
		return 1;
	printf("child got:  %.*s\n", (int)n, buf);
	return 0;
}

int
main(void)
{
	mproc_conn *parent_conn, *child_conn;
	char buf[64];
	int status;
	ssize_t n;
	pid_t pid;

	if (mproc_pipe(&parent_conn, &child_conn, true) < 0)
		err(1, "mproc_pipe");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		err(1, "fork");
	if (pid == 0) {
		mproc_conn_close(parent_conn);
		status = child(child_conn);
		mproc_conn_close(child_conn);
		fflush(stdout);
		_exit(status);
	}
	mproc_conn_close(child_conn);
	n = mproc_conn_recv(parent_conn, buf, sizeof(buf), 5000);
	if (n < 0)
		err(1, "mproc_conn_recv");
	printf("parent got: %.*s\n", (int)n, buf);
	fflush(stdout);
	if (mproc_conn_send(parent_conn, "hi son", 6) < 0)
		err(1, "mproc_conn_send");
	if (waitpid(pid, &status, 0) != pid)
		err(1, "waitpid");
	mproc_conn_close(parent_conn);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
