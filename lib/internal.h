/*
 * internal.h - what every module of libmproc shares.
 *
 * Errors: only the API boundary writes errno.  Internal helpers return 0
 * (or a count) on success and a negated errno on failure, so that the
 * close() or munmap() of a cleanup path cannot clobber the error.
 * Cross-file internal functions are named mproc__x; they are hidden by
 * -fvisibility=hidden and absent from lib/mproc.map.
 */
#ifndef MPROC_INTERNAL_H
#define MPROC_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

/* Sets errno to err (a positive errno value) and returns -1. */
static inline int
fail(int err)
{
	errno = err;
	return -1;
}

/* As fail(), for calls that return a pointer. */
static inline void *
fail_null(int err)
{
	errno = err;
	return NULL;
}

/* For calls that return 0 or -errno internally: -1 with errno, or rc. */
static inline int
result(int rc)
{
	return rc < 0 ? fail(-rc) : rc;
}

/* The longest name after the leading '/' (API.md: 1..250 characters). */
#define MPROC_NAME_MAX 250

/* 0 if name follows shm_open(3)'s rules as API.md states them: a leading
 * '/', no other '/', 1..MPROC_NAME_MAX characters after it; else -EINVAL. */
int mproc__name_check(const char *name);

#endif /* MPROC_INTERNAL_H */
