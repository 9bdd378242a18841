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

/* Fills buf with a pattern derived from seed; test_check() verifies it. */
void test_fill(void *buf, size_t len, uint64_t seed);
int test_check(const void *buf, size_t len, uint64_t seed);

/* A 64-bit FNV-1a checksum. */
uint64_t test_checksum(const void *buf, size_t len);

/* A small fast PRNG (xorshift64*); *state must start non-zero. */
uint64_t test_rand(uint64_t *state);

#endif /* MPROC_TEST_UTIL_H */
