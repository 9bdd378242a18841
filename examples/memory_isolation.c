/*
 * memory_isolation - a child gets a copy of the parent's memory: what it
 * changes, the parent never sees.  Share data with a Pipe, a Queue or
 * shared memory instead.
 *
 * Python:
 *     result = []
 *     def square_list(numbers):
 *         for n in numbers:
 *             result.append(n * n)
 *         print("in the child:", result)
 *     p = Process(target=square_list, args=([1, 2, 3, 4],))
 *     p.start(); p.join()
 *     print("in the parent:", result)          # still []
 */
#include <err.h>
#include <stdio.h>

#include <mproc.h>

static int result[4];
static int result_len;

static void
print_result(const char *who)
{
	printf("in the %s: [", who);
	for (int i = 0; i < result_len; i++)
		printf(i == 0 ? "%d" : ", %d", result[i]);
	printf("]\n");
}

static int
square_list(void *arg)
{
	const int *numbers = arg;

	for (int i = 0; i < 4; i++)
		result[result_len++] = numbers[i] * numbers[i];
	print_result("child");
	return 0;
}

int
main(void)
{
	static const int numbers[4] = { 1, 2, 3, 4 };
	mproc_process *p = mproc_process_new(square_list, (void *)numbers, NULL);

	if (p == NULL)
		err(1, "mproc_process_new");
	if (mproc_process_start(p) == -1)
		err(1, "mproc_process_start");
	if (mproc_process_join(p, MPROC_FOREVER) == -1)
		err(1, "mproc_process_join");
	print_result("parent");
	mproc_process_free(p);
	return 0;
}
