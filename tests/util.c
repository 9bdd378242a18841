/* util.c - helpers shared by the test programs (see util.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static unsigned name_counter;

void
test_name(char *buf, size_t cap)
{
	snprintf(buf, cap, "/mproc-test-%ld-%u", (long)getpid(), ++name_counter);
}

void
test_path(char *buf, size_t cap)
{
	snprintf(buf, cap, "/tmp/mproc-test-%ld-%u", (long)getpid(), ++name_counter);
}

void
test_deadline(unsigned seconds)
{
	alarm(seconds);
}

static int
status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

int
test_reap(pid_t pid, unsigned seconds)
{
	struct timespec pause = { 0, 1000000 };	/* 1 ms */
	long waited_ms = 0;
	int status;

	for (;;) {
		pid_t rc = waitpid(pid, &status, WNOHANG);

		if (rc == pid)
			return status_code(status);
		if (rc < 0 && errno != EINTR)
			return -1;
		if (waited_ms >= (long)seconds * 1000) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return -1;
		}
		nanosleep(&pause, NULL);
		waited_ms++;
	}
}

static void
on_nag(int sig)
{
	(void)sig;
}

static void *
nag(void *arg)
{
	struct test_nagger *n = arg;
	struct timespec pause = { 0, 50000000 };	/* 50 ms */

	while (!__atomic_load_n(&n->stop, __ATOMIC_ACQUIRE)) {
		nanosleep(&pause, NULL);
		pthread_kill(n->target, SIGUSR1);
	}
	return NULL;
}

int
test_nag_start(struct test_nagger *n, int sa_flags)
{
	struct sigaction sa = { .sa_handler = on_nag, .sa_flags = sa_flags };

	sigemptyset(&sa.sa_mask);
	n->target = pthread_self();
	n->stop = 0;
	if (sigaction(SIGUSR1, &sa, &n->old) != 0)
		return -1;
	return pthread_create(&n->thread, NULL, nag, n) == 0 ? 0 : -1;
}

void
test_nag_stop(struct test_nagger *n)
{
	__atomic_store_n(&n->stop, 1, __ATOMIC_RELEASE);
	pthread_join(n->thread, NULL);
	sigaction(SIGUSR1, &n->old, NULL);
}

int
test_no_children(void)
{
	return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

uint64_t
test_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 2685821657736338717ULL;
}

void
test_fill(void *buf, size_t len, uint64_t seed)
{
	uint64_t state = seed | 1;
	unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)test_rand(&state);
}

int
test_check(const void *buf, size_t len, uint64_t seed)
{
	uint64_t state = seed | 1;
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i] != (unsigned char)test_rand(&state))
			return 0;
	return 1;
}

uint64_t
test_checksum(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}
