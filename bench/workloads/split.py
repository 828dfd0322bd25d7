"""A known 50/30/20 split of CPU time between alpha, beta and gamma.

The three functions have the same body, a loop with no calls in it, so an
iteration costs the same in each and the split follows from the iteration
counts (5:3:2). They run interleaved in short slices, so that anything else
happening on the machine hits all three alike. Each round runs the three in a
random order and with a random slice size (the same for all three, so that
every round keeps 5:3:2): a fixed cycle of a few milliseconds can lock in
phase with the kernel's tick, on which CPU-time timers fire, and then one
function gets the ticks out of all proportion. PYPROF_BENCH_SPLIT=periodic
keeps the fixed order and size, to show that effect.

The truth is also measured: each slice is timed with time.thread_time_ns(),
and the report carries the measured shares, which the harness prints beside
the designed 50/30/20.
"""

import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _report  # noqa: E402

SCALE = int(os.environ.get("PYPROF_BENCH_SCALE", "1000")) / 1000
SLICE = 20_000  # iterations per share point; a slice of alpha is 5 * SLICE
PERIODIC = os.environ.get("PYPROF_BENCH_SPLIT") == "periodic"
SLICES = 200


def alpha(n):
    acc = 0
    for i in range(n):
        acc = (acc * 31 + i) & 0xFFFFFF
    return acc


def beta(n):
    acc = 0
    for i in range(n):
        acc = (acc * 31 + i) & 0xFFFFFF
    return acc


def gamma(n):
    acc = 0
    for i in range(n):
        acc = (acc * 31 + i) & 0xFFFFFF
    return acc


def body():
    spent_ns = {"alpha": 0, "beta": 0, "gamma": 0}
    plan = [(alpha, 5), (beta, 3), (gamma, 2)]
    rng = random.Random(11)
    for _ in range(max(1, int(SLICES * SCALE))):
        size = SLICE
        if not PERIODIC:
            rng.shuffle(plan)
            size = rng.randint(SLICE // 2, SLICE * 3 // 2)
        for function, weight in plan:
            start = time.thread_time_ns()
            function(weight * size)
            spent_ns[function.__name__] += time.thread_time_ns() - start
    total = sum(spent_ns.values())
    return {"measured_shares": {name: ns / total for name, ns in spent_ns.items()}}


if __name__ == "__main__":
    _report.run(body)
