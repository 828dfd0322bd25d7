"""Allocation-heavy work for the memory profile benchmark (bench/memory.py).

About 1-2 s of CPU, almost all of it creating and dropping objects: small
tuples, dicts and instances, strings, lists that grow, and some large
buffers, with a working set that is partly kept and partly churned. The
profiler to measure is chosen by PYPROF_BENCH_MEMORY:

    none        nothing (the baseline)
    pyprof      pyprof.heap.start() at PYPROF_BENCH_MEM_RATE (default 512 KiB)
    tracemalloc tracemalloc.start() (one frame, its default)
    memray      memray.Tracker writing to PYPROF_BENCH_MEMRAY_FILE

With PYPROF_BENCH_STATS=path, pyprof's table counters at the end are
written there as JSON; with PYPROF_BENCH_REPORT=path, the CPU time of the
work itself (after the profiler started), as {"work_cpu_s": ...}.
"""

import json
import os
import time

SCALE = int(os.environ.get("PYPROF_BENCH_SCALE", "1000")) / 1000
MODE = os.environ.get("PYPROF_BENCH_MEMORY", "none")


class Order:
    def __init__(self, number, lines):
        self.number = number
        self.lines = lines
        self.total = sum(price * qty for _, price, qty in lines)


def orders(n):
    kept = []
    for i in range(n):
        lines = [(f"item-{i % 97}-{j}", 1.5 * j, j % 7) for j in range(8)]
        order = Order(i, lines)
        if i % 10 == 0:
            kept.append(order)
    return kept


def index(kept):
    by_item = {}
    for order in kept:
        for name, price, qty in order.lines:
            by_item.setdefault(name, []).append((order.number, qty))
    return {name: len(rows) for name, rows in by_item.items()}


def text(n):
    parts = []
    for i in range(n):
        parts.append(",".join(str(x) for x in range(i % 20)))
    return "\n".join(parts)


def buffers(n):
    total = 0
    for i in range(n):
        block = bytearray(64 * 1024 + i % 4096)
        total += len(block)
    return total


def main():
    tracker = None
    if MODE == "pyprof":
        from pyprof import heap

        heap.start(int(os.environ.get("PYPROF_BENCH_MEM_RATE", str(512 * 1024))))
    elif MODE == "tracemalloc":
        import tracemalloc

        tracemalloc.start()
    elif MODE == "memray":
        import memray

        tracker = memray.Tracker(os.environ["PYPROF_BENCH_MEMRAY_FILE"])
        tracker.__enter__()

    rounds = max(1, int(6 * SCALE))
    began = time.process_time()
    for _ in range(rounds):
        kept = orders(40_000)
        index(kept)
        text(20_000)
        buffers(2_000)
    work_cpu_s = time.process_time() - began

    if MODE == "pyprof" and os.environ.get("PYPROF_BENCH_STATS"):
        from pyprof import _memory

        with open(os.environ["PYPROF_BENCH_STATS"], "w") as out:
            json.dump(_memory.stats(), out)
    if tracker is not None:
        tracker.__exit__(None, None, None)
    if os.environ.get("PYPROF_BENCH_REPORT"):
        with open(os.environ["PYPROF_BENCH_REPORT"], "w") as out:
            json.dump({"work_cpu_s": work_cpu_s}, out)


if __name__ == "__main__":
    main()
