/*
 * mproc/common.h - conventions shared by every libmproc module.
 *
 * Errors: calls return 0 (or a count, length or pointer) on success and
 * -1 (or NULL) with errno set on failure.  Nothing prints, aborts or
 * exits on bad input.
 *
 * Timeouts are `int timeout_ms`: MPROC_FOREVER blocks, 0 never blocks
 * (EAGAIN when it would), > 0 waits at most that long on CLOCK_MONOTONIC
 * (then ETIMEDOUT).  Any other negative value is EINVAL.
 */
#ifndef MPROC_COMMON_H
#define MPROC_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#if defined(MPROC_BUILDING) && defined(__GNUC__)
#define MPROC_API __attribute__((visibility("default")))
#else
#define MPROC_API
#endif

#ifdef __cplusplus
#define MPROC_BEGIN_DECLS extern "C" {
#define MPROC_END_DECLS }
#else
#define MPROC_BEGIN_DECLS
#define MPROC_END_DECLS
#endif

/* timeout_ms: block until done. */
#define MPROC_FOREVER (-1)

#endif /* MPROC_COMMON_H */
