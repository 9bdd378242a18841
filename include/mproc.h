/*
 * mproc.h - libmproc, Python's multiprocessing for C on Linux.
 *
 * The umbrella header: include this one.  Link with
 * `pkg-config --cflags --libs mproc`.  See mproc(7).
 */
#ifndef MPROC_H
#define MPROC_H

#include <mproc/common.h>
#include <mproc/conn.h>
#include <mproc/queue.h>
#include <mproc/process.h>
#include <mproc/pool.h>
#include <mproc/shm.h>
#include <mproc/sync.h>

#endif /* MPROC_H */
