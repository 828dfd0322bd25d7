"""Timing shared by the bench workloads: measure the body, tell the harness.

bench/run.py starts each workload (bare, or under a profiler) with
PYPROF_BENCH_REPORT set to a file path; the workload writes one JSON object
there when its body is done. The body's CPU time is taken with
time.process_time(), which counts every thread of the process, so an
in-process profiler's signal handler and drain thread are included and the
interpreter's and the profiler's start-up and exit work are not.
"""

import json
import os
import resource
import time


def run(body):
    """Run body(), then report its CPU and wall time (and what it returned).

    Args:
        body: a callable taking no argument; it may return a dict of extra
            JSON-serialisable fields for the report.
    """
    cpu_start = time.process_time()
    wall_start = time.perf_counter()
    extra = body() or {}
    body_cpu_s = time.process_time() - cpu_start
    body_wall_s = time.perf_counter() - wall_start

    path = os.environ.get("PYPROF_BENCH_REPORT")
    if not path:
        print(f"body: {body_cpu_s:.3f}s CPU, {body_wall_s:.3f}s wall")
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report = {
        "body_cpu_s": body_cpu_s,
        "body_wall_s": body_wall_s,
        # The whole process so far: interpreter start-up, any profiler set-up
        # before the script, and the body.
        "process_cpu_s": usage.ru_utime + usage.ru_stime,
    }
    report.update(extra)
    with open(path, "w") as out:
        json.dump(report, out)
