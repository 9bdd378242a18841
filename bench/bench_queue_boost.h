/*
 * bench/bench_queue_boost.h - Boost.Interprocess message_queue behind a
 * small C interface, so bench_queue.c can run it as a peer.  Defined in
 * bench_queue_boost.cc, built only when configure finds Boost.
 */
#ifndef MPROC_BENCH_QUEUE_BOOST_H
#define MPROC_BENCH_QUEUE_BOOST_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void *bench_boost_create(const char *name, unsigned capacity, size_t msg_size);
void *bench_boost_open(const char *name);
int bench_boost_send(void *q, const void *msg, size_t len);
long bench_boost_recv(void *q, void *buf, size_t cap);
void bench_boost_close(void *q);
void bench_boost_remove(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* MPROC_BENCH_QUEUE_BOOST_H */
