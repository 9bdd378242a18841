/*
 * queue-recover.c - a process killed inside a queue call (SIGKILL at any
 * instant) never blocks the others for good.
 *
 * The argument.  A queue call changes shared state only by:
 *   (a) a CAS that claims a slot: FREE(L) -> WRITING(L, pid) or
 *       FULL(L) -> READING(L, pid).  The owner's pid goes in with the
 *       claim, in the same atomic step, so there is no instant at which a
 *       slot is taken but its owner unknown.
 *   (b) moving qh_tail / qh_head past a claimed slot.  Anyone who finds
 *       the slot at the counter claimed does it too ("helping"), so a
 *       death between (a) and (b) costs nothing.
 *   (c) the owner's own writes to its slot (s_len, the data), and its one
 *       store that ends its turn: WRITING -> FULL or READING -> FREE(L+1).
 *       Before that store the slot is still owned; after it, the process
 *       holds nothing.
 *   (d) counters (qh_tombs_freed, qh_high_water) and the waiting
 *       protocol (waiter counts, records, futex words) - see below.
 * So at any instant a process holds at most the slots it has claimed and
 * not yet handed on: one for put/get/reserve/acquire in progress, plus
 * any it reserved or acquired and still keeps.  If it dies:
 *   - WRITING(L, dead): the message was never published.  The consumer
 *     that reaches it (or a producer a lap later) finds the owner dead
 *     and CASes the word to FULL(L, TOMB); consumers skip tombstones.
 *     The message is lost; nothing else is touched.
 *   - READING(L, dead): the consumer had the message in its hands (got
 *     but not yet returned, or acquired and not released).  A producer a
 *     lap later finds the owner dead and CASes the word to FREE(L + 1).
 *     The message is lost; it was never delivered to anyone else, and
 *     cannot be, so never twice.
 * Only those two CASes recover, each from the exact word that names the
 * dead owner, so two recoverers cannot both act and a recoverer cannot
 * undo a live owner's step.  Every other message is untouched: none is
 * lost or duplicated, and size (counted from the slots) is right again
 * once the stuck slots are taken back.
 *
 * Who notices.  A caller whose claim fails because the slot in its way is
 * claimed (WRITING or READING) checks the owner before it gives up or
 * sleeps, and then sleeps at most STUCK_POLL_MS at a time, so an owner
 * that dies while it sleeps is noticed too.  A caller blocked on a slot
 * that is FREE (empty queue) or FULL (full queue) is woken by the peer
 * that publishes (frees) it; but a peer may instead claim that slot and
 * die, which wakes no one (with capacity 1, nothing else would), so that
 * caller too re-checks every IDLE_POLL_MS.
 *
 * Dead means kill(pid, 0) fails with ESRCH, or /proc says the process is
 * a zombie with no threads left (a parent blocked in get must not wait
 * for itself to reap its killed child).  Pids are a process's identity
 * here, with two residual risks, both documented in mproc_queue_create(3):
 *   - pid reuse: if the dead owner's pid is reused before anyone looks,
 *     the slot stays stuck until that new process exits;
 *   - pid namespaces: every process using a queue must share one, or a
 *     live owner could look dead.
 *
 * Counters (d) are not updated in the same atomic step as the slot, so a
 * consumer killed between freeing a tombstone and counting it leaves
 * qh_tombs_freed one short, and stats one put and one get too many (per
 * killed process).  size and stats.depth are counted from the slots and
 * are always exact once the ring is quiet.  The waiter count used to
 * decide whether to wake (qh_*_waiters) is only ever an upper bound (it
 * is raised before the record is taken and lowered after it is cleared),
 * so a death can cost spurious wake-ups but never a lost one.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "queue-recover.h"

#define REC_USED	0x80000000U
#define REC_GETTER	0x01000000U

static uint32_t cached_pid;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void
forget_pid(void)
{
	uatomic_set(&cached_pid, 0);
}

static void
register_atfork(void)
{
	(void)pthread_atfork(NULL, NULL, forget_pid);
}

uint32_t
mproc__queue_me(void)
{
	uint32_t pid = uatomic_read(&cached_pid);

	if (pid == 0) {
		pthread_once(&atfork_once, register_atfork);
		pid = (uint32_t)getpid();
		uatomic_set(&cached_pid, pid);
	}
	return pid;
}

/* True when /proc/pid/stat shows a zombie whose threads are all gone. */
static bool
zombie(uint32_t pid)
{
	char path[32], buf[512], state;
	long threads;
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)	/* the command may hold ')' */
		return false;
	/* Fields 3 (state) and 20 (num_threads) of proc(5). */
	if (sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u"
		   " %*d %*d %*d %*d %ld", &state, &threads) != 2)
		return false;
	return (state == 'Z' || state == 'X') && threads <= 1;
}

bool
mproc__pid_dead(uint32_t pid)
{
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return true;
	return zombie(pid);
}

bool
mproc__queue_unstick(struct mproc_queue *q, const struct ring_view *v)
{
	uint32_t owner = ring_owner(v->word), lap = w_lap(v->word);
	bool writing = w_state(v->word) == S_WRITING;
	uint64_t want;

	if (owner == 0 || owner == mproc__queue_me() || !mproc__pid_dead(owner))
		return false;
	want = writing ? slot_word(lap, S_FULL, W_TOMB)
		       : slot_word(lap + 1, S_FREE, 0);
	/* Full barrier on success; pairs with the claims [P1]/[G1]. */
	if (uatomic_cmpxchg(&v->slot->s_word, v->word, want) == v->word)
		queue_wake(q, writing ? GETTER : PUTTER, 1);
	return true;	/* the slot changed, by us or someone else: retry */
}

static int32_t *
waiter_count(const struct mproc_queue *q, enum queue_side side)
{
	return side == PUTTER ? &q->h->qh_put_waiters : &q->h->qh_get_waiters;
}

int
mproc__queue_wait_begin(struct mproc_queue *q, enum queue_side side)
{
	uint32_t rec = REC_USED | (side == GETTER ? REC_GETTER : 0) |
		       mproc__queue_me();
	/* Threads start their search at different records (stack address). */
	unsigned start = (unsigned)((uintptr_t)&rec >> 8);

	/*
	 * [W1] Count ourselves before the caller re-checks the ring.
	 * add_return is a full barrier: pairs with the barrier before the
	 * waiter-count read in queue_wake().  Count first, record second,
	 * so the count is never below the records (see the top).
	 */
	(void)uatomic_add_return(waiter_count(q, side), 1);
	for (unsigned i = 0; i < QH_WAITERS; i++) {
		unsigned idx = (start + i) % QH_WAITERS;

		if (uatomic_read(&q->waiters[idx]) == 0 &&
		    uatomic_cmpxchg(&q->waiters[idx], 0, rec) == 0)
			return (int)idx;
	}
	return -1;	/* more sleepers than records: this one is not in stats */
}

void
mproc__queue_wait_end(struct mproc_queue *q, enum queue_side side, int rec)
{
	if (rec >= 0)
		uatomic_set(&q->waiters[rec], 0);
	uatomic_add(waiter_count(q, side), -1);
}

void
mproc__queue_count_waiters(const struct mproc_queue *q, unsigned *putters,
			   unsigned *getters)
{
	*putters = *getters = 0;
	for (unsigned i = 0; i < QH_WAITERS; i++) {
		uint32_t rec = uatomic_read(&q->waiters[i]);
		enum queue_side side = rec & REC_GETTER ? GETTER : PUTTER;

		if (rec == 0)
			continue;
		if (mproc__pid_dead(rec & W_PID_MASK)) {
			/* Its wait_end() will never run: do its part. */
			if (uatomic_cmpxchg(&q->waiters[i], rec, 0) == rec)
				uatomic_add(waiter_count(q, side), -1);
			continue;
		}
		(*(side == GETTER ? getters : putters))++;
	}
}
