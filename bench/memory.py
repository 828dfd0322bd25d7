"""make bench (memory part): the heap profiler's cost, beside tracemalloc and memray.

    python bench/memory.py --output bench/RESULTS.md        # a few minutes
    python bench/memory.py --rounds 2 --output /tmp/m.md    # smoke run

Runs bench/workloads/alloc.py (allocation-heavy: about twenty million
allocations, and as many frees, a second) unprofiled, under pyprof's memory sampler at
the default rate (512 KiB), under tracemalloc (its default, one frame) and
under memray (``memray.Tracker``, its defaults), in alternating rounds with
the order rotated each round, so that a shared machine's drifts hit all
alike. Two CPU figures per run:

* work: CPU time of the workload's loop, measured inside the process after
  the profiler started (the steady-state cost of the hooks);
* process: user + system time of the whole child (os.wait4), start-up and
  the profiler's import and shutdown included.

Overhead is the median over rounds of (profiled / unprofiled) - 1, each
round's own unprofiled run being the reference; the range shows the
spread. Target for pyprof: under 5% (work).

Then a long run (the workload ten times over) under pyprof at the default
rate and at 64 KiB records the peak size of pyprof's own tables (the live
table, the stack table and the filter; what pyprof_mem_stats.table_bytes
counts) and the child's peak RSS beside an unprofiled long run.

The results replace the part of --output between `<!-- memory:start -->`
and `<!-- memory:end -->` (appended when absent).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict
from typing import List
from typing import Optional

REPO = Path(__file__).resolve().parents[1]
WORKLOAD = REPO / "bench" / "workloads" / "alloc.py"
START = "<!-- memory:start -->"
END = "<!-- memory:end -->"
TARGET = 0.05
CONFIGS = ("none", "pyprof", "tracemalloc", "memray")


def have_memray() -> bool:
    try:
        import memray  # noqa: F401
    except ImportError:
        return False
    return True


def run_once(mode: str, scale: int = 1000, rate: Optional[int] = None) -> dict:
    """One child run; its CPU times, peak RSS and (pyprof) table counters."""
    with tempfile.TemporaryDirectory(prefix="pyprof-bench-") as folder:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO)
        env["PYPROF_BENCH_MEMORY"] = mode
        env["PYPROF_BENCH_SCALE"] = str(scale)
        env["PYPROF_BENCH_MEMRAY_FILE"] = os.path.join(folder, "memray.bin")
        env["PYPROF_BENCH_STATS"] = os.path.join(folder, "stats.json")
        env["PYPROF_BENCH_REPORT"] = os.path.join(folder, "report.json")
        if rate is not None:
            env["PYPROF_BENCH_MEM_RATE"] = str(rate)
        child = subprocess.Popen([sys.executable, str(WORKLOAD)], env=env)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise SystemExit(f"bench: {mode} run failed ({child.returncode})")
        with open(env["PYPROF_BENCH_REPORT"]) as src:
            result = json.load(src)
        result["process_cpu_s"] = usage.ru_utime + usage.ru_stime
        result["maxrss_kib"] = usage.ru_maxrss
        if os.path.exists(env["PYPROF_BENCH_STATS"]):
            with open(env["PYPROF_BENCH_STATS"]) as src:
                result["stats"] = json.load(src)
        return result


def overhead_rounds(rounds: int, configs: List[str]) -> Dict[str, List[dict]]:
    runs: Dict[str, List[dict]] = {c: [] for c in configs}
    for r in range(rounds):
        order = configs[r % len(configs):] + configs[:r % len(configs)]
        for mode in order:
            runs[mode].append(run_once(mode))
        print(f"bench/memory: round {r + 1}/{rounds} done", file=sys.stderr)
    return runs


def ratios(runs: Dict[str, List[dict]], mode: str, key: str) -> List[float]:
    return [p[key] / b[key] - 1 for p, b in zip(runs[mode], runs["none"])]


def pct(x: float) -> str:
    return f"{100 * x:+.1f}%"


def size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def render(args, runs, long_runs, elapsed: float) -> str:
    lines = [START, "## Memory profiles: overhead beside tracemalloc and memray", ""]
    add = lines.append
    add(f"`python bench/memory.py --rounds {args.rounds}` on "
        f"{datetime.date.today().isoformat()}, {platform.machine()} with "
        f"{os.cpu_count()} CPUs, CPython {platform.python_version()}; "
        f"{elapsed / 60:.1f} minutes, load average {args.load[0]:.1f} at the "
        f"start and {os.getloadavg()[0]:.1f} at the end (other work on the "
        "machine widens the range). Workload: bench/workloads/alloc.py "
        "(small tuples, dicts, instances, strings, growing lists and 64 KiB "
        "buffers; about twenty million allocations, and as many frees, per "
        "second of CPU). "
        "Each round runs every configuration once, in a rotated order; "
        "overhead is the median of the rounds' (profiled / unprofiled) - 1, "
        "with the lowest and highest round beside it.")
    add("")
    add("| configuration | work CPU (median) | work overhead | range "
        "| process CPU (median) | process overhead |")
    add("|---|---|---|---|---|---|")
    names = {"none": "unprofiled", "pyprof": "pyprof, 512 KiB (default)",
             "tracemalloc": "tracemalloc (1 frame)", "memray": "memray Tracker"}
    for mode, results in runs.items():
        work = statistics.median(r["work_cpu_s"] for r in results)
        proc = statistics.median(r["process_cpu_s"] for r in results)
        if mode == "none":
            add(f"| {names[mode]} | {work:.3f} s | | | {proc:.3f} s | |")
            continue
        w = ratios(runs, mode, "work_cpu_s")
        p = ratios(runs, mode, "process_cpu_s")
        add(f"| {names[mode]} | {work:.3f} s | {pct(statistics.median(w))} | "
            f"{pct(min(w))} to {pct(max(w))} | {proc:.3f} s | "
            f"{pct(statistics.median(p))} |")
    if "memray" not in runs:
        add("")
        add("memray is not installed in this environment (`pip install memray`); "
            "its row is missing.")
    w = statistics.median(ratios(runs, "pyprof", "work_cpu_s"))
    add("")
    verdict = "met" if w < TARGET else "not met"
    add(f"pyprof at the default rate: {pct(w)} of CPU on the workload's own "
        f"work (target under {100 * TARGET:.0f}%: {verdict}). The process "
        "figure also carries pyprof's import and start-up (tens of "
        "milliseconds, a few percent of a one-second run).")
    add("")
    add("### pyprof's own tables over a long run")
    add("")
    add(f"The workload {args.long_scale / 1000:g} times over; peak of pyprof's "
        "tables (live blocks, "
        "stacks, the free filter) as the C core counts them, and the child's "
        "peak RSS beside an unprofiled run of the same length.")
    add("")
    add("| rate | samples | live at end | stacks | tables at end | tables peak "
        "| peak RSS | unprofiled peak RSS |")
    add("|---|---|---|---|---|---|---|---|")
    base = long_runs["none"]
    for rate, result in long_runs.items():
        if rate == "none":
            continue
        s = result["stats"]
        add(f"| {size(int(rate))} | {s['samples']:,} | {s['live']:,} | "
            f"{s['stacks']:,} | {size(s['table_bytes'])} | "
            f"{size(s['peak_table_bytes'])} | {size(result['maxrss_kib'] * 1024)} | "
            f"{size(base['maxrss_kib'] * 1024)} |")
    add("")
    add("The tables are bounded: at most 2 M live blocks, 1 M stacks and 4 M "
        "frames, past which samples are counted but not tracked (reported in "
        "the profile's comments).")
    add(END)
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace the memory section of path (or append it), atomically."""
    text = path.read_text() if path.exists() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = head + section.rstrip("\n") + tail
    else:
        gap = "\n" if text and not text.endswith("\n") else ""
        text = text + gap + "\n" + section
    temp = path.with_suffix(path.suffix + ".tmp")
    temp.write_text(text)
    os.replace(temp, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--long-scale", type=int, default=10_000,
                        help="PYPROF_BENCH_SCALE of the long run (1000 = one)")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    began = time.time()
    args.load = os.getloadavg()
    configs = [c for c in CONFIGS if c != "memray" or have_memray()]
    runs = overhead_rounds(args.rounds, configs)
    long_runs = {"none": run_once("none", scale=args.long_scale)}
    for rate in (512 * 1024, 64 * 1024):
        long_runs[str(rate)] = run_once("pyprof", scale=args.long_scale, rate=rate)
    section = render(args, runs, long_runs, time.time() - began)
    if args.output is not None:
        write_section(args.output, section)
    print(section)


if __name__ == "__main__":
    main()
