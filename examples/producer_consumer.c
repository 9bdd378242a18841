/*
 * producer_consumer - N producer processes and M consumer processes over
 * one Queue, and proof that nothing was lost.
 *
 * Python:
 *     q = Queue(1024)
 *     producers = [Process(target=produce, args=(q, i)) for i in range(4)]
 *     consumers = [Process(target=consume, args=(q, w)) for i in range(4)]
 *     ...start them all, join the producers...
 *     (a sentinel per consumer; libmproc has mproc_queue_shutdown instead)
 *
 * Each producer puts messages of random length, each beginning with its
 * number and a sequence number; each consumer gets until the queue is
 * shut down and drained.  All of them send their totals (messages, bytes
 * and the sum of per-message checksums) to the parent over one Pipe.
 * The run is good when the consumers' totals equal the producers'.
 *
 * usage: producer_consumer [-p PRODUCERS] [-c CONSUMERS] [-n MESSAGES]
 *                          [-s SIZE|MIN-MAX] [-q CAPACITY]
 *   -n is per producer; -s is the message length in bytes (at least 8).
 * Exit status 0 when nothing was lost, 1 otherwise.
 */
#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mproc.h>

struct config {
	int producers, consumers;
	unsigned long messages;		/* per producer */
	size_t min_size, max_size;	/* message lengths, bytes */
	size_t capacity;		/* of the queue, messages */
};

/* What each child tells the parent when it is done. */
struct report {
	int consumer;			/* 0: a producer's report */
	int index;			/* 1..N among its kind */
	uint64_t messages, bytes, checksum;
};

/* The head of every message; random bytes follow it. */
struct header {
	uint32_t producer, seq;
};

/* What a child starts with: the shared objects and its own number. */
struct role {
	const struct config *cfg;
	mproc_queue *q;
	mproc_conn *reports;		/* the sending end of the Pipe */
	int index;
};

/* A 64-bit FNV-1a checksum. */
static uint64_t
checksum(const unsigned char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325u;

	while (len-- > 0)
		h = (h ^ *p++) * 0x100000001b3u;
	return h;
}

/* xorshift64*: cheap random numbers, different in each producer. */
static uint64_t
next_random(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1du;
}

/* Writes message seq of a producer into buf; returns its length. */
static size_t
make_message(unsigned char *buf, const struct role *r, uint32_t seq,
	     uint64_t *rng)
{
	const struct config *cfg = r->cfg;
	size_t len = cfg->min_size +
		     next_random(rng) % (cfg->max_size - cfg->min_size + 1);
	struct header h = { .producer = (uint32_t)r->index, .seq = seq };

	memcpy(buf, &h, sizeof(h));
	for (size_t i = sizeof(h); i < len; i++)
		buf[i] = (unsigned char)next_random(rng);
	return len;
}

static void
count(struct report *rep, const unsigned char *msg, size_t len)
{
	rep->messages++;
	rep->bytes += len;
	rep->checksum += checksum(msg, len);	/* a sum: order does not matter */
}

/* Sends rep to the parent: the child's exit status. */
static int
send_report(const struct role *r, const struct report *rep)
{
	if (mproc_conn_send(r->reports, rep, sizeof(*rep)) == -1) {
		warn("%s: mproc_conn_send", mproc_current_name());
		return 1;
	}
	return 0;
}

static int
produce(void *arg)
{
	const struct role *r = arg;
	struct report rep = { .consumer = 0, .index = r->index };
	uint64_t rng = 0x9e3779b97f4a7c15u * (uint64_t)r->index;
	unsigned char *msg = malloc(r->cfg->max_size);
	int failed = 0;

	if (msg == NULL) {		/* a child returns its status; */
		warn("malloc");		/* exit() would run atexit handlers */
		return 1;
	}
	for (uint32_t seq = 0; seq < r->cfg->messages && !failed; seq++) {
		size_t len = make_message(msg, r, seq, &rng);

		failed = mproc_queue_put(r->q, msg, len, MPROC_FOREVER) == -1;
		if (failed)
			warn("%s: mproc_queue_put", mproc_current_name());
		else
			count(&rep, msg, len);
	}
	free(msg);
	return send_report(r, &rep) || failed;
}

/* Gets until the queue is shut down and drained (EPIPE). */
static int
consume(void *arg)
{
	const struct role *r = arg;
	struct report rep = { .consumer = 1, .index = r->index };
	size_t cap = mproc_queue_msg_size(r->q);
	unsigned char *msg = malloc(cap);
	ssize_t len;
	int failed;

	if (msg == NULL) {
		warn("malloc");
		return 1;
	}
	while ((len = mproc_queue_get(r->q, msg, cap, MPROC_FOREVER)) >= 0)
		count(&rep, msg, (size_t)len);
	failed = errno != EPIPE;
	if (failed)
		warn("%s: mproc_queue_get", mproc_current_name());
	free(msg);
	return send_report(r, &rep) || failed;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The live progress line, drawn on stderr only when it is a terminal. */
struct meter {
	bool on;
	uint64_t total, last_gets;
	double last_time;
};

static void
meter_tick(struct meter *m, mproc_queue *q)
{
	struct mproc_queue_stats st;
	double t = now();

	if (!m->on || mproc_queue_stats(q, &st) == -1)
		return;
	fprintf(stderr, "\r%10" PRIu64 "/%" PRIu64 " consumed %10.0f msg/s"
		"   queue depth %5zu/%zu ", st.gets, m->total,
		(double)(st.gets - m->last_gets) / (t - m->last_time),
		st.depth, mproc_queue_capacity(q));
	m->last_gets = st.gets;
	m->last_time = t;
}

/* Starts n processes running fn, one per role. */
static void
start_all(mproc_process **procs, struct role *roles, int n,
	  mproc_target_fn fn, const char *kind)
{
	char name[32];

	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s-%d", kind, roles[i].index);
		procs[i] = mproc_process_new(fn, &roles[i], name);
		if (procs[i] == NULL)
			err(1, "mproc_process_new");
		if (mproc_process_start(procs[i]) == -1)
			err(1, "mproc_process_start %s", name);
	}
}

/* Joins n processes, ticking the meter while it waits; returns how many
 * did not exit with status 0. */
static int
join_all(mproc_process **procs, int n, struct meter *m, mproc_queue *q)
{
	int failed = 0;

	for (int i = 0; i < n; i++) {
		while (mproc_process_join(procs[i], 250) == -1) {
			if (errno != ETIMEDOUT)
				err(1, "mproc_process_join");
			meter_tick(m, q);
		}
		if (mproc_process_exitcode(procs[i]) != 0) {
			warnx("%s ended with %d", mproc_process_name(procs[i]),
			      mproc_process_exitcode(procs[i]));
			failed++;
		}
		mproc_process_free(procs[i]);
	}
	return failed;
}

/* Adds up the reports until every child's end of the Pipe is closed;
 * per_consumer[i - 1] gets consumer i's count. */
static void
collect_reports(mproc_conn *reports, struct report *made, struct report *got,
		uint64_t *per_consumer, int consumers)
{
	struct report rep;
	ssize_t len;

	while ((len = mproc_conn_recv(reports, &rep, sizeof(rep),
				      MPROC_FOREVER)) == (ssize_t)sizeof(rep)) {
		struct report *sum = rep.consumer ? got : made;

		sum->messages += rep.messages;
		sum->bytes += rep.bytes;
		sum->checksum += rep.checksum;
		if (rep.consumer && rep.index >= 1 && rep.index <= consumers)
			per_consumer[rep.index - 1] = rep.messages;
	}
	if (len != -1 || errno != EPIPE)	/* EPIPE: the end of the reports */
		err(1, "mproc_conn_recv");
}

static void
print_totals(const char *what, const struct report *r)
{
	printf("%-9s %10" PRIu64 " messages %12" PRIu64 " bytes  checksum %016"
	       PRIx64 "\n", what, r->messages, r->bytes, r->checksum);
}

static int
parse_int(const char *s, long min)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end != '\0' || v < min || v > 1000000000)
		errx(1, "bad number: %s", s);
	return (int)v;
}

static struct config
parse_args(int argc, char **argv)
{
	struct config cfg = { .producers = 4, .consumers = 4, .messages = 100000,
			      .min_size = 16, .max_size = 256, .capacity = 1024 };
	char *dash;
	int c;

	while ((c = getopt(argc, argv, "p:c:n:s:q:")) != -1) {
		switch (c) {
		case 'p': cfg.producers = parse_int(optarg, 1); break;
		case 'c': cfg.consumers = parse_int(optarg, 1); break;
		case 'n': cfg.messages = parse_int(optarg, 0); break;
		case 'q': cfg.capacity = parse_int(optarg, 1); break;
		case 's':
			dash = strchr(optarg, '-');
			if (dash != NULL)
				*dash++ = '\0';
			cfg.min_size = parse_int(optarg, sizeof(struct header));
			cfg.max_size = cfg.min_size;
			if (dash != NULL)
				cfg.max_size = parse_int(dash, (long)cfg.min_size);
			break;
		default:
			fprintf(stderr, "usage: producer_consumer [-p PRODUCERS] "
				"[-c CONSUMERS] [-n MESSAGES] [-s SIZE|MIN-MAX] "
				"[-q CAPACITY]\n");
			exit(2);
		}
	}
	return cfg;
}

int
main(int argc, char **argv)
{
	struct config cfg = parse_args(argc, argv);
	struct mproc_queue_attr attr = { .capacity = cfg.capacity,
					 .msg_size = cfg.max_size };
	int nprocs = cfg.producers + cfg.consumers;
	struct role *roles = calloc(nprocs, sizeof(*roles));
	mproc_process **procs = calloc(nprocs, sizeof(*procs));
	uint64_t *per_consumer = calloc(cfg.consumers, sizeof(*per_consumer));
	struct report made = { 0 }, got = { 0 };
	struct mproc_queue_stats st;
	mproc_conn *reports_r, *reports_w;
	mproc_queue *q;
	double start, seconds;
	int failed;

	if (roles == NULL || procs == NULL || per_consumer == NULL)
		err(1, "calloc");
	/* An anonymous queue and Pipe: shared with the children we start. */
	if ((q = mproc_queue_create(NULL, &attr)) == NULL)
		err(1, "mproc_queue_create");
	if (mproc_pipe(&reports_r, &reports_w, false) == -1)
		err(1, "mproc_pipe");
	for (int i = 0; i < nprocs; i++) {
		bool producer = i < cfg.producers;

		roles[i] = (struct role){ .cfg = &cfg, .q = q,
			.reports = reports_w,
			.index = producer ? i + 1 : i - cfg.producers + 1 };
	}
	printf("%d producers x %lu messages of %zu-%zu bytes, %d consumers, "
	       "queue of %zu\n", cfg.producers, cfg.messages, cfg.min_size,
	       cfg.max_size, cfg.consumers, cfg.capacity);

	struct meter m = { isatty(STDERR_FILENO),
			   cfg.messages * cfg.producers, 0, now() };
	start = m.last_time;
	start_all(procs, roles, cfg.producers, produce, "producer");
	start_all(procs + cfg.producers, roles + cfg.producers,
		  cfg.consumers, consume, "consumer");

	failed = join_all(procs, cfg.producers, &m, q);
	/* Every message is in the queue now: let the consumers drain it
	 * and stop, instead of sending one sentinel each. */
	if (mproc_queue_shutdown(q) == -1)
		err(1, "mproc_queue_shutdown");
	failed += join_all(procs + cfg.producers, cfg.consumers, &m, q);
	seconds = now() - start;
	if (m.on) {
		meter_tick(&m, q);	/* the final count stays on screen */
		fputc('\n', stderr);
	}

	/* Our own copy of the sending end goes, so the reports end in EPIPE. */
	mproc_conn_close(reports_w);
	collect_reports(reports_r, &made, &got, per_consumer, cfg.consumers);
	print_totals("produced", &made);
	print_totals("consumed", &got);
	printf("per consumer:");
	for (int i = 0; i < cfg.consumers; i++)
		printf(" %" PRIu64, per_consumer[i]);
	printf("\n");
	if (mproc_queue_stats(q, &st) == -1)
		err(1, "mproc_queue_stats");
	printf("%.0f messages/s, %.1f MB/s in %.3f s; queue high water %zu/%zu\n",
	       got.messages / seconds, got.bytes / seconds / 1e6, seconds,
	       st.high_water, cfg.capacity);

	bool intact = failed == 0 && got.messages == made.messages &&
		      made.messages == cfg.messages * cfg.producers &&
		      got.bytes == made.bytes && got.checksum == made.checksum;
	puts(intact ? "nothing lost: every message arrived once, intact"
		    : "MESSAGES LOST OR DAMAGED");
	mproc_conn_close(reports_r);
	mproc_queue_close(q);
	free(per_consumer);
	free(procs);
	free(roles);
	return intact ? 0 : 1;
}
