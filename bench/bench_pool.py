#!/usr/bin/env python3
"""bench/bench_pool.py: the Python peer of bench/bench_pool.c.

Usage: python3 bench_pool.py WORKERS TASKS MAP_ITEMS
Prints "name rate" lines (tasks or items per second), timing only the
work, not the pool's start-up, as the C side does:
  py_imap_chunk1    tiny tasks through Pool.imap(chunksize=1)
  py_map_default    the same tiny tasks through Pool.map (default chunking)
  py_map_items      Pool.map over MAP_ITEMS small items (default chunking)
"""
import multiprocessing as mp
import sys
import time


def add(pair):
    return pair[0] + pair[1]


def square(i):
    return i * i


def rate(n, fn):
    t0 = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t0)


def main():
    workers, tasks, items = (int(a) for a in sys.argv[1:4])
    pairs = [(i, i + 1) for i in range(tasks)]
    with mp.get_context("fork").Pool(workers) as pool:
        pool.map(add, pairs[:workers * 4])  # warm up: workers running
        print("py_imap_chunk1", rate(tasks, lambda: sum(
            pool.imap(add, pairs, chunksize=1))))
        print("py_map_default", rate(tasks, lambda: pool.map(add, pairs)))
        print("py_map_items", rate(items, lambda: pool.map(
            square, range(items))))


if __name__ == "__main__":
    main()
