/*
 * pool-registry.c - the pools this process created and has not freed, so
 * that exit() terminates them (as Python does) before the process
 * module's exit rules run.  Without this, a manager thread still running
 * at exit would see its workers SIGTERMed by those rules and fork
 * replacements that nobody reaps.
 *
 * atexit handlers run in reverse order of registration: ours is
 * registered after the first pool has started its workers, hence after
 * the process module's, so it runs first.  A forked child starts with an
 * empty registry: its parent's pools are not its own.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "pool.h"

static pthread_mutex_t pools_mutex = PTHREAD_MUTEX_INITIALIZER;
static mproc_pool *pools;		/* under pools_mutex */
static pthread_once_t pools_once = PTHREAD_ONCE_INIT;
static int pools_init_error;

/* exit(): terminate every pool still running (the caller frees none). */
static void
pools_at_exit(void)
{
	mproc_pool *p;

	pthread_mutex_lock(&pools_mutex);
	while ((p = pools) != NULL) {
		pools = p->next_pool;
		p->registered = false;
		pthread_mutex_unlock(&pools_mutex);
		mproc_pool_terminate(p);
		pthread_mutex_lock(&pools_mutex);
	}
	pthread_mutex_unlock(&pools_mutex);
}

/* In the child of any fork(), single-threaded. */
static void
pools_fork_child(void)
{
	pthread_mutex_init(&pools_mutex, NULL);
	pools = NULL;
}

static void
pools_init(void)
{
	int rc = pthread_atfork(NULL, NULL, pools_fork_child);

	if (rc != 0)
		pools_init_error = -rc;
	else if (atexit(pools_at_exit) != 0)
		pools_init_error = -ENOMEM;
}

int
mproc__pool_registry_add(mproc_pool *p)
{
	pthread_once(&pools_once, pools_init);
	if (pools_init_error < 0)
		return pools_init_error;
	pthread_mutex_lock(&pools_mutex);
	p->next_pool = pools;
	pools = p;
	p->registered = true;
	pthread_mutex_unlock(&pools_mutex);
	return 0;
}

void
mproc__pool_registry_remove(mproc_pool *p)
{
	pthread_mutex_lock(&pools_mutex);
	for (mproc_pool **pp = &pools; p->registered && *pp != NULL;
	     pp = &(*pp)->next_pool) {
		if (*pp == p) {
			*pp = p->next_pool;
			p->registered = false;
			break;
		}
	}
	pthread_mutex_unlock(&pools_mutex);
}
