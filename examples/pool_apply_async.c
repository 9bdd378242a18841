/*
 * pool_apply_async - hand tasks to a pool of worker processes and
 * collect the results.
 *
 * Python:
 *     def square(x):
 *         return x * x
 *     with Pool(4) as pool:
 *         results = [pool.apply_async(square, (i,)) for i in range(10)]
 *         print([r.get(timeout=5) for r in results])
 */
#include <err.h>
#include <stdio.h>

#include <mproc.h>

/* Runs in a worker: arguments and results travel as bytes. */
static ssize_t
square(const void *arg, size_t arg_len, void *result, size_t result_cap)
{
	const int *x = arg;
	int *y = result;

	(void)arg_len;
	(void)result_cap;
	*y = *x * *x;
	return sizeof(*y);
}

int
main(void)
{
	struct mproc_pool_attr attr = { .workers = 4 };
	mproc_pool *pool = mproc_pool_create(&attr);
	mproc_result *results[10];

	if (pool == NULL)
		err(1, "mproc_pool_create");
	for (int i = 0; i < 10; i++) {
		results[i] = mproc_pool_submit(pool, square, &i, sizeof(i));
		if (results[i] == NULL)
			err(1, "mproc_pool_submit");
	}
	printf("[");
	for (int i = 0; i < 10; i++) {
		int y;

		if (mproc_result_get(results[i], &y, sizeof(y), 5000) == -1)
			err(1, "mproc_result_get");
		printf(i == 0 ? "%d" : ", %d", y);
		mproc_result_free(results[i]);
	}
	printf("]\n");
	/* The end of Python's "with": no more tasks, wait for the workers. */
	if (mproc_pool_close(pool) == -1 || mproc_pool_join(pool) == -1)
		err(1, "mproc_pool_close/join");
	mproc_pool_free(pool);
	return 0;
}
