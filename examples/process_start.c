/*
 * process_start - two ways to start a process: with a function, and with
 * an object that carries its own run function.
 *
 * Python:
 *     def greet(name):
 *         print("hello,", name, "from", current_process().name)
 *     p = Process(target=greet, args=("bob",))
 *     p.start(); p.join()
 *
 *     class Counter(Process):
 *         def __init__(self, n):
 *             super().__init__(); self.n = n
 *         def run(self):
 *             print("sum of 0 ..", self.n - 1, "is", sum(range(self.n)))
 *     c = Counter(10)
 *     c.start(); c.join()
 */
#include <err.h>
#include <stdio.h>

#include <mproc.h>

/* 1. A plain function: the target gets one pointer argument. */
static int
greet(void *arg)
{
	printf("hello, %s from %s\n", (const char *)arg, mproc_current_name());
	return 0;		/* the child's exit status */
}

/* 2. C's "subclass of Process": a struct whose first member is the
 * base with the run function; every such struct starts the same way. */
struct task {
	int (*run)(struct task *self);
};

struct counter {
	struct task task;	/* first: a struct counter * is a struct task * */
	int n;
};

static int
counter_run(struct task *self)
{
	struct counter *c = (struct counter *)self;
	long sum = 0;

	for (int i = 0; i < c->n; i++)
		sum += i;
	printf("sum of 0 .. %d is %ld in %s\n", c->n - 1, sum,
	       mproc_current_name());
	return 0;
}

/* The one target for every task: calls the object's own run. */
static int
run_task(void *arg)
{
	struct task *t = arg;

	return t->run(t);
}

/* Starts a process, waits for it, and frees it. */
static void
run_process(mproc_target_fn target, void *arg, const char *name)
{
	mproc_process *p = mproc_process_new(target, arg, name);

	if (p == NULL)
		err(1, "mproc_process_new");
	if (mproc_process_start(p) == -1)
		err(1, "mproc_process_start");
	if (mproc_process_join(p, MPROC_FOREVER) == -1)
		err(1, "mproc_process_join");
	printf("%s exited with %d\n", mproc_process_name(p),
	       mproc_process_exitcode(p));
	mproc_process_free(p);
}

int
main(void)
{
	struct counter c = { .task = { .run = counter_run }, .n = 10 };

	run_process(greet, "bob", NULL);
	run_process(run_task, &c, "Counter-1");
	return 0;
}
