/*
 * bench/util.h - what every benchmark program shares: a monotonic clock
 * in seconds and the median of a round's results.  The benchmarks report
 * ratios against peers measured in the same run; these are the two
 * measurements every ratio is built from.
 */
#ifndef MPROC_BENCH_UTIL_H
#define MPROC_BENCH_UTIL_H

#include <stddef.h>

/* CLOCK_MONOTONIC now, in seconds. */
double bench_now(void);

/* Sorts v[0..n-1] in increasing order (for percentiles). */
void bench_sort(double *v, size_t n);

/* The median of v[0..n-1] (n >= 1); sorts v in place. */
double bench_median(double *v, int n);

#endif /* MPROC_BENCH_UTIL_H */
