/*
 * mproc - see and use libmproc's named queues and segments from a shell,
 * as ipcs(1) and ipcrm(1) do for System V objects.  See mproc(1).
 *
 * Only the public API is used.  A queue is whatever mproc_queue_open()
 * accepts; any other object in /dev/shm is listed as a segment, because
 * a libmproc segment carries no mark that tells it from a plain one.
 *
 * Exit status: 0 done; 1 a quiet "no" (timeout, empty, shut down and
 * drained); 2 a usage or system error, with one line on stderr.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mproc.h>

#define SHM_DIR "/dev/shm"

enum { EXIT_DONE = 0, EXIT_NO = 1, EXIT_ERROR = 2 };

enum kind { KIND_QUEUE, KIND_SEGMENT, KIND_UNKNOWN };

static const char *const kind_names[] = {
	[KIND_QUEUE] = "queue",
	[KIND_SEGMENT] = "segment",
	[KIND_UNKNOWN] = "unknown",
};

/* A named object found in /dev/shm.  q is open only for a queue; err
 * says why an object of KIND_UNKNOWN would not open. */
struct object {
	const char *name;
	enum kind kind;
	struct stat st;
	mproc_queue *q;
	int err;
};

/* The current command, for messages: "put", "get", ... */
static const char *command = "mproc";

/* Prints "mproc: CMD NAME: strerror" and returns EXIT_ERROR. */
static int
error(const char *name, int err)
{
	fprintf(stderr, "mproc: %s %s: %s%s\n", command, name, strerror(err),
		err == EPROTO ? " (not a libmproc queue)" : "");
	return EXIT_ERROR;
}

/* True for a timeout, an empty or full queue, or one shut down and
 * drained: the answers that exit with status 1. */
static int
is_no(int err)
{
	return err == EAGAIN || err == ETIMEDOUT || err == EPIPE;
}

/* shm_open(3)'s rules as API.md states them; checked here too because
 * the name becomes a path under /dev/shm. */
static int
name_ok(const char *name)
{
	size_t len = strlen(name);

	return name[0] == '/' && len >= 2 && len <= 251 &&
	       strchr(name + 1, '/') == NULL;
}

/* Finds name and tells its kind: 0, or an errno value when there is no
 * such object.  An object that exists but will not open as a queue for
 * a reason other than EPROTO (EACCES, say) is KIND_UNKNOWN, so that ls
 * still lists it. */
static int
object_open(struct object *o, const char *name)
{
	char path[sizeof(SHM_DIR) + 256];

	*o = (struct object){ .name = name, .kind = KIND_UNKNOWN };
	if (!name_ok(name))
		return EINVAL;
	snprintf(path, sizeof(path), SHM_DIR "%s", name);
	if (stat(path, &o->st) == -1)
		return errno;
	if (!S_ISREG(o->st.st_mode))
		return ENOENT;
	o->q = mproc_queue_open(name);
	if (o->q != NULL)
		o->kind = KIND_QUEUE;
	else if (errno == EPROTO)
		o->kind = KIND_SEGMENT;
	else if (errno == ENOENT)
		return ENOENT;
	else
		o->err = errno;
	return 0;
}

static void
object_close(struct object *o)
{
	if (o->q != NULL)
		mproc_queue_close(o->q);
	o->q = NULL;
}

/* Opens name as a queue for a command that needs one: 0 or an errno. */
static int
queue_open(struct object *o, const char *name)
{
	int err = object_open(o, name);

	if (err == 0 && o->kind == KIND_SEGMENT)
		err = EPROTO;
	if (err == 0 && o->kind == KIND_UNKNOWN)
		err = o->err;
	return err;
}

/* A decimal number in 0..INT_MAX, or -1. */
static int
parse_count(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > INT_MAX)
		return -1;
	return (int)v;
}

static void
print_object(const struct object *o)
{
	struct mproc_queue_stats st;
	unsigned mode = o->st.st_mode & 07777;

	if (o->kind == KIND_QUEUE && mproc_queue_stats(o->q, &st) == 0)
		printf("queue   %-24s %zu/%zu %zu %04o\n", o->name, st.depth,
		       mproc_queue_capacity(o->q), mproc_queue_msg_size(o->q),
		       mode);
	else
		printf("%-7s %-24s %jd %04o\n", kind_names[o->kind], o->name,
		       (intmax_t)o->st.st_size, mode);
}

/* Entries of /dev/shm that shm_open(3) could name: regular files, not
 * hidden, not POSIX named semaphores ("sem.*"). */
static int
shm_entry(const struct dirent *d)
{
	return d->d_name[0] != '.' && strncmp(d->d_name, "sem.", 4) != 0 &&
	       (d->d_type == DT_REG || d->d_type == DT_UNKNOWN) &&
	       strlen(d->d_name) <= 250;
}

/* mproc ls: one line per object, sorted by name.  Objects that vanish
 * while we look are skipped. */
static int
cmd_ls(int argc, char **argv)
{
	struct dirent **list;
	char name[258];
	struct object o;
	int n;

	(void)argv;
	if (argc != 1)
		return -1;
	n = scandir(SHM_DIR, &list, shm_entry, alphasort);
	if (n == -1)
		return error(SHM_DIR, errno);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "/%s", list[i]->d_name);
		if (object_open(&o, name) == 0)
			print_object(&o);
		object_close(&o);
		free(list[i]);
	}
	free(list);
	return EXIT_DONE;
}

static void
print_stats(mproc_queue *q, const struct mproc_queue_stats *st)
{
	printf("puts: %ju\n", (uintmax_t)st->puts);
	printf("gets: %ju\n", (uintmax_t)st->gets);
	printf("depth: %zu\n", st->depth);
	printf("high_water: %zu\n", st->high_water);
	printf("putters_waiting: %u\n", st->putters_waiting);
	printf("getters_waiting: %u\n", st->getters_waiting);
	printf("shut_down: %s\n", st->shut_down ? "true" : "false");
	printf("capacity: %zu\n", mproc_queue_capacity(q));
	printf("msg_size: %zu\n", mproc_queue_msg_size(q));
}

/* mproc stat /name: a queue's counters, or a segment's size. */
static int
cmd_stat(int argc, char **argv)
{
	struct mproc_queue_stats st;
	struct object o;
	int err, rc = EXIT_DONE;

	if (argc != 2)
		return -1;
	err = object_open(&o, argv[1]);
	if (err == 0 && o.kind == KIND_UNKNOWN)
		err = o.err;
	if (err != 0)
		return error(argv[1], err);
	if (o.kind == KIND_SEGMENT)
		printf("size: %jd\n", (intmax_t)o.st.st_size);
	else if (mproc_queue_stats(o.q, &st) == 0)
		print_stats(o.q, &st);
	else
		rc = error(argv[1], errno);
	object_close(&o);
	return rc;
}

/* Options of put and get, parsed in place; argv keeps the operands. */
struct options {
	int timeout_ms;		/* -t MS; MPROC_FOREVER when absent */
	int count;		/* -n N; 1 when absent, 0 "until empty" */
	int have_timeout;
};

/* Returns the number of operands left in argv, or -1 on a bad option. */
static int
parse_options(int argc, char **argv, const char *optstring, struct options *op)
{
	int c;

	*op = (struct options){ .timeout_ms = MPROC_FOREVER, .count = 1 };
	opterr = 0;
	while ((c = getopt(argc, argv, optstring)) != -1) {
		switch (c) {
		case 't':
			op->timeout_ms = parse_count(optarg);
			op->have_timeout = 1;
			if (op->timeout_ms < 0)
				return -1;
			break;
		case 'n':
			op->count = parse_count(optarg);
			if (op->count < 0)
				return -1;
			break;
		default:
			return -1;
		}
	}
	return argc - optind;
}

/* Puts one message: EXIT_DONE, EXIT_NO on a timeout, or an error. */
static int
put_one(struct object *o, const char *msg, size_t len, int timeout_ms)
{
	if (mproc_queue_put(o->q, msg, len, timeout_ms) == 0)
		return EXIT_DONE;
	if (errno == EAGAIN || errno == ETIMEDOUT)
		return EXIT_NO;
	return error(o->name, errno);
}

/* Puts each line of stdin, without its newline, until the end or the
 * first failure. */
static int
put_lines(struct object *o, int timeout_ms)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = EXIT_DONE;

	while (rc == EXIT_DONE && (len = getline(&line, &cap, stdin)) != -1) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		rc = put_one(o, line, (size_t)len, timeout_ms);
	}
	if (rc == EXIT_DONE && ferror(stdin))
		rc = error("stdin", errno);
	free(line);
	return rc;
}

/* mproc put [-t MS] /name MESSAGE|- */
static int
cmd_put(int argc, char **argv)
{
	struct options op;
	struct object o;
	const char *msg;
	int err, rc;

	if (parse_options(argc, argv, "t:", &op) != 2)
		return -1;
	msg = argv[optind + 1];
	err = queue_open(&o, argv[optind]);
	if (err != 0)
		return error(argv[optind], err);
	if (strcmp(msg, "-") == 0)
		rc = put_lines(&o, op.timeout_ms);
	else
		rc = put_one(&o, msg, strlen(msg), op.timeout_ms);
	object_close(&o);
	return rc;
}

/* Prints the messages got, one a line; see cmd_get. */
static int
get_messages(struct object *o, const struct options *op)
{
	size_t cap = mproc_queue_msg_size(o->q);
	char *buf = malloc(cap > 0 ? cap : 1);
	int got = 0, rc = EXIT_DONE;
	ssize_t len;

	if (buf == NULL)
		return error(o->name, errno);
	while (rc == EXIT_DONE && (op->count == 0 || got < op->count)) {
		len = mproc_queue_get(o->q, buf, cap, op->timeout_ms);
		if (len < 0 && is_no(errno))
			break;
		if (len < 0) {
			rc = error(o->name, errno);
			break;
		}
		got++;
		/* Flushed at once: a message got is a message taken from
		 * every other consumer, so it must not wait in a buffer. */
		fwrite(buf, 1, (size_t)len, stdout);
		putchar('\n');
		if (fflush(stdout) == EOF)
			rc = error("stdout", errno);
	}
	free(buf);
	if (rc == EXIT_DONE && got == 0)
		rc = EXIT_NO;
	return rc;
}

/* mproc get [-t MS] [-n N] /name: waits for each message per -t (for
 * ever by default; -n 0 without -t does not wait), stops after N, or
 * at a timeout, an empty queue or one shut down and drained.  Exit 0
 * when at least one message was printed. */
static int
cmd_get(int argc, char **argv)
{
	struct options op;
	struct object o;
	int err, rc;

	if (parse_options(argc, argv, "t:n:", &op) != 1)
		return -1;
	if (op.count == 0 && !op.have_timeout)
		op.timeout_ms = 0;
	err = queue_open(&o, argv[optind]);
	if (err != 0)
		return error(argv[optind], err);
	rc = get_messages(&o, &op);
	object_close(&o);
	return rc;
}

/* mproc shutdown /name */
static int
cmd_shutdown(int argc, char **argv)
{
	struct object o;
	int err;

	if (argc != 2)
		return -1;
	err = queue_open(&o, argv[1]);
	if (err == 0 && mproc_queue_shutdown(o.q) == -1)
		err = errno;
	object_close(&o);
	return err == 0 ? EXIT_DONE : error(argv[1], err);
}

/* mproc rm /name: a queue through mproc_queue_unlink, anything else
 * through mproc_shm_unlink. */
static int
cmd_rm(int argc, char **argv)
{
	struct object o;
	int err, rc;

	if (argc != 2)
		return -1;
	err = object_open(&o, argv[1]);
	if (err != 0)
		return error(argv[1], err);
	if (o.kind == KIND_QUEUE) {
		object_close(&o);
		rc = mproc_queue_unlink(argv[1]);
	} else {
		rc = mproc_shm_unlink(argv[1]);
	}
	return rc == 0 ? EXIT_DONE : error(argv[1], errno);
}

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);	/* -1: usage error */
	const char *usage;
} commands[] = {
	{ "ls", cmd_ls, "ls" },
	{ "stat", cmd_stat, "stat /name" },
	{ "put", cmd_put, "put [-t MS] /name MESSAGE|-" },
	{ "get", cmd_get, "get [-t MS] [-n N] /name" },
	{ "shutdown", cmd_shutdown, "shutdown /name" },
	{ "rm", cmd_rm, "rm /name" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int
usage(FILE *out, int status)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "%s mproc %s\n", i == 0 ? "usage:" : "      ",
			commands[i].usage);
	return status;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr, EXIT_ERROR);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		return usage(stdout, EXIT_DONE);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		command = commands[i].name;
		int rc = commands[i].run(argc - 1, argv + 1);
		if (rc >= 0)
			return rc;
		fprintf(stderr, "usage: mproc %s\n", commands[i].usage);
		return EXIT_ERROR;
	}
	fprintf(stderr, "mproc: unknown command '%s' (try mproc --help)\n",
		argv[1]);
	return EXIT_ERROR;
}
