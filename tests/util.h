/*
 * util.h - what every test program shares: unique names, deadlines,
 * children reaped by exit status, and message patterns that expose a
 * lost, duplicated or torn message.
 *
 * A child must never call a cmocka assertion (it would unwind into its
 * copy of the runner): children report only through their exit status.
 */
#ifndef MPROC_TEST_UTIL_H
#define MPROC_TEST_UTIL_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* "/mproc-test-<pid>-<n>": a fresh shm-style name on every call. */
void test_name(char *buf, size_t cap);

/* "/tmp/mproc-test-<pid>-<n>": a fresh file-system path on every call. */
void test_path(char *buf, size_t cap);

/* Kills the whole test program with SIGALRM (a failure) after seconds;
 * 0 cancels.  Every test that blocks or forks sets one. */
void test_deadline(unsigned seconds);

/* Waits for child pid for at most seconds, killing it with SIGKILL if it
 * is still running then.  Returns its exit status (0..255), 128 + SIGNUM
 * if a signal ended it, or -1 if it could not be waited for. */
int test_reap(pid_t pid, unsigned seconds);

/* True when this process has no children left (none running, no zombie). */
int test_no_children(void);

/*
 * Interrupts the calling thread's waits: installs a no-op SIGUSR1 handler
 * (sa_flags 0 or SA_RESTART) and sends SIGUSR1 to this thread every 50 ms
 * from a helper thread until test_nag_stop(), which restores the old
 * handler.  Repeated, because one signal can land after a call decided
 * to wait but before it entered the kernel: its handler runs and the call
 * goes on waiting, as with any blocking call.
 */
struct test_nagger {
	pthread_t target, thread;
	int stop;
	struct sigaction old;
};
int test_nag_start(struct test_nagger *n, int sa_flags);
void test_nag_stop(struct test_nagger *n);

/* Fills buf with a pattern derived from seed; test_check() verifies it. */
void test_fill(void *buf, size_t len, uint64_t seed);
int test_check(const void *buf, size_t len, uint64_t seed);

/* A 64-bit FNV-1a checksum. */
uint64_t test_checksum(const void *buf, size_t len);

/* A small fast PRNG (xorshift64*); *state must start non-zero. */
uint64_t test_rand(uint64_t *state);

#endif /* MPROC_TEST_UTIL_H */
