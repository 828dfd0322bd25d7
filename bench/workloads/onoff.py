"""Sampling switched on and off inside one process, in short paired slices.

The overhead workloads compare whole processes, and on a shared machine two
processes a second apart can differ by several percent, which hides a cost
of 1%. Here one process runs the same slice of work (the cpu workload's
integer loop) again and again, in blocks: each block runs one slice with
the sampler off and one at each rate, in a shuffled order, with
pyprof.start() before and pyprof.stop() after each sampled slice, outside
the timed part. Slices of one block run within a fraction of a second of
each other, so the machine's drift mostly cancels within a block.

The report holds, per block, each slice's CPU time (time.process_time(), so
the drain thread counts), the main thread's and the drain thread's share of
it, its wall time, and the samples the sampler took during it.
"""

import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _report  # noqa: E402
import cpu  # noqa: E402

import pyprof  # noqa: E402

SCALE = int(os.environ.get("PYPROF_BENCH_SCALE", "1000")) / 1000
RATES = [
    int(r) for r in os.environ.get("PYPROF_BENCH_RATES", "100,1000,10000").split(",")
]
BLOCKS = max(3, int(40 * SCALE))
SLICE_ROUNDS = 500_000  # mix_integers rounds: about 0.1 s on a 2020s core


def drain_thread_clock():
    """The CPU clock of pyprof's drain thread, or None when it has none.

    The thread is found by its name, which only this bench relies on; a
    sampler without it just leaves the split between threads out.
    """
    for thread in threading.enumerate():
        if thread.name == "pyprof-drain" and thread.ident:
            return time.pthread_getcpuclockid(thread.ident)
    return None


def timed_slice(rate_hz):
    """One slice: its process and main-thread CPU, the drain thread's CPU,
    wall time, and the samples taken (0 when off)."""
    clock = None
    if rate_hz:
        pyprof.start(rate_hz=rate_hz)
        clock = drain_thread_clock()
    drain_start = time.clock_gettime(clock) if clock is not None else 0.0
    wall_start = time.perf_counter()
    main_start = time.thread_time()
    start = time.process_time()
    cpu.mix_integers(SLICE_ROUNDS)
    spent = time.process_time() - start
    main = time.thread_time() - main_start
    wall = time.perf_counter() - wall_start
    drain = time.clock_gettime(clock) - drain_start if clock is not None else None
    samples = 0
    if rate_hz:
        samples = int(pyprof.stop().stats["samples"])
    return {
        "cpu_s": spent,
        "main_cpu_s": main,
        "drain_cpu_s": drain,
        "wall_s": wall,
        "samples": samples,
    }


def body():
    rng = random.Random(7)
    timed_slice(0)  # warm up: the first slice pays for caches and allocations
    for rate_hz in RATES:
        timed_slice(rate_hz)  # warm up: loads the sampler
    blocks = []
    for _ in range(BLOCKS):
        order = [0] + RATES
        rng.shuffle(order)
        block = {}
        for rate_hz in order:
            block[str(rate_hz)] = timed_slice(rate_hz)
        blocks.append(block)
    return {"blocks": blocks}


if __name__ == "__main__":
    _report.run(body)
