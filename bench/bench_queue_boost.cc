// bench/bench_queue_boost.cc: Boost.Interprocess message_queue as a peer
// of bench_queue.c, behind a small C interface.  Built only when configure
// finds Boost (HAVE_BOOST_IPC); never part of libmproc.
#include <boost/interprocess/ipc/message_queue.hpp>

#include <cstddef>

#include "bench_queue_boost.h"

using boost::interprocess::message_queue;

extern "C" {

void *
bench_boost_create(const char *name, unsigned capacity, size_t msg_size)
{
	try {
		message_queue::remove(name);
		return new message_queue(boost::interprocess::create_only, name,
					 capacity, msg_size);
	} catch (...) {
		return nullptr;
	}
}

void *
bench_boost_open(const char *name)
{
	try {
		return new message_queue(boost::interprocess::open_only, name);
	} catch (...) {
		return nullptr;
	}
}

int
bench_boost_send(void *q, const void *msg, size_t len)
{
	try {
		static_cast<message_queue *>(q)->send(msg, len, 0);
		return 0;
	} catch (...) {
		return -1;
	}
}

long
bench_boost_recv(void *q, void *buf, size_t cap)
{
	try {
		message_queue::size_type got;
		unsigned prio;

		static_cast<message_queue *>(q)->receive(buf, cap, got, prio);
		return static_cast<long>(got);
	} catch (...) {
		return -1;
	}
}

void
bench_boost_close(void *q)
{
	delete static_cast<message_queue *>(q);
}

void
bench_boost_remove(const char *name)
{
	message_queue::remove(name);
}

} // extern "C"
