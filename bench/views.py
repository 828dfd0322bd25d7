"""make bench (second part): how fast pyprof's views are, beside go tool pprof.

    python bench/views.py --output bench/RESULTS.md     # a few minutes
    python bench/views.py --rounds 1 --output /tmp/v.md # smoke run

Measures, in alternating rounds (pyprof, go, pyprof, go ...) so that a
shared machine's slow drifts hit both alike:

* start-up: `pyprof top --help` and `pyprof top` on a small profile (the
  corpus's sample.cpu); target under 0.3 s each (wall time, median);
* `pyprof top --all FILE` against `go tool pprof -top FILE` on the corpus's
  large.cpu and on a generated profile with 1,000,000 samples and 50,000
  locations; target: pyprof's CPU time no more than go's (median).

CPU time is user + system of the child (os.wait4), wall time for start-up
only. The outputs of both tools are compared on every run: a run whose text
differs is reported, since speed without the same numbers is worthless.

The results replace the part of --output between `<!-- views:start -->` and
`<!-- views:end -->` (appended when absent); the rest of the file is
bench/run.py's and is left as it is.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict
from typing import List
from typing import Tuple

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("PYPROF_CORPUS", REPO / ".." / "shared" / "corpus"))
SMALL = CORPUS / "upstream" / "profiles" / "internal" / "report" / "testdata" / "sample.cpu"
LARGE = CORPUS / "upstream" / "profiles" / "internal" / "proftest" / "testdata" / "large.cpu"
START = "<!-- views:start -->"
END = "<!-- views:end -->"
STARTUP_TARGET_S = 0.3


def generated_profile(path: Path, samples: int, locations: int, seed: int = 1) -> None:
    """A CPU profile with `samples` distinct stacks over `locations`
    locations: 5,000 functions in 500 files, a tenth of the locations with
    an inlined call, stacks 4 to 40 deep drawn from a call tree so that
    they share roots as real programs do, values of 1 to 20 periods."""
    sys.path.insert(0, str(REPO))
    from pyprof import pprof
    from pyprof._proto import profile_pb2

    rnd = random.Random(seed)
    p = profile_pb2.Profile()
    strings: Dict[str, int] = {}

    def s(text: str) -> int:
        if text not in strings:
            strings[text] = len(p.string_table)
            p.string_table.append(text)
        return strings[text]

    s("")
    p.sample_type.add(type=s("samples"), unit=s("count"))
    p.sample_type.add(type=s("cpu"), unit=s("nanoseconds"))
    p.period_type.type, p.period_type.unit = s("cpu"), s("nanoseconds")
    p.period = 10_000_000
    p.time_nanos = 1_700_000_000 * 10**9
    p.duration_nanos = 60 * 10**9
    p.mapping.add(id=1, memory_start=0x400000, memory_limit=0x8000000,
                  filename=s("/usr/bin/generated"), has_functions=True,
                  has_filenames=True, has_line_numbers=True)
    functions = 5000
    for i in range(functions):
        p.function.add(id=i + 1, name=s(f"pkg{i % 97}.Type{i % 13}.method{i}"),
                       system_name=s(f"pkg{i % 97}.Type{i % 13}.method{i}"),
                       filename=s(f"/src/pkg{i % 500}/file{i % 500}.go"),
                       start_line=i % 400 + 1)
    for i in range(locations):
        loc = p.location.add(id=i + 1, mapping_id=1, address=0x400000 + 16 * i)
        loc.line.add(function_id=rnd.randrange(functions) + 1, line=rnd.randint(1, 900))
        if i % 10 == 0:
            loc.line.add(function_id=rnd.randrange(functions) + 1,
                         line=rnd.randint(1, 900))
    # Stacks: walk down a random call tree (children chosen from a window of
    # locations), so that stacks share their roots.
    roots = list(range(1, 51))
    seen = set()
    while len(seen) < samples:
        depth = rnd.randint(4, 40)
        frame = rnd.choice(roots)
        stack = [frame]
        for _ in range(depth - 1):
            frame = (frame * 7 + rnd.randrange(1, 60)) % locations + 1
            stack.append(frame)
        key = tuple(stack)
        if key in seen:
            continue
        seen.add(key)
        periods = rnd.randint(1, 20)
        p.sample.add(location_id=stack[::-1], value=[periods, periods * p.period])
    pprof.dump(p, str(path))


def pyprof_command() -> List[str]:
    script = Path(sys.executable).parent / "pyprof"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from pyprof.cli import main; main()"]


def run(command: List[str], env: Dict[str, str]) -> Tuple[float, float, bytes]:
    """(CPU seconds, wall seconds, stdout) of one run."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"bench/views.py: {' '.join(command)} exited "
                             f"with {proc.returncode}")
        out.seek(0)
        return usage.ru_utime + usage.ru_stime, wall, out.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating rounds for the large profiles (3)")
    parser.add_argument("--startup-runs", type=int, default=30)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--locations", type=int, default=50_000)
    args = parser.parse_args()
    for needed in (SMALL, LARGE):
        if not needed.exists():
            raise SystemExit(f"bench/views.py: the shared corpus is missing: {needed}")
    go = shutil.which("go")
    began = time.time()
    work = Path(tempfile.mkdtemp(prefix="pyprof-views-bench-"))
    env = dict(os.environ, TZ="UTC", HOME=str(work), PPROF_TMPDIR=str(work),
               PPROF_BINARY_PATH="/nonexistent-pprof-binaries")
    env.pop("PYPROF_DEBUG", None)
    pyprof = pyprof_command()
    try:
        generated = work / "generated.pb.gz"
        t = time.perf_counter()
        generated_profile(generated, args.samples, args.locations)
        gen_s = time.perf_counter() - t
        print(f"generated {args.samples} samples in {gen_s:.0f} s", file=sys.stderr)

        startup = {"pyprof top --help": [*pyprof, "top", "--help"],
                   "pyprof top sample.cpu": [*pyprof, "top", str(SMALL)]}
        startup_runs: Dict[str, List[Tuple[float, float]]] = {k: [] for k in startup}
        for _ in range(args.startup_runs):
            for label, command in startup.items():
                cpu, wall, _ = run(command, env)
                startup_runs[label].append((cpu, wall))

        cases = {"large.cpu (corpus)": LARGE,
                 f"generated ({args.samples:,} samples, {args.locations:,} locations)":
                     generated}
        speed: Dict[str, Dict[str, List[float]]] = {k: {"pyprof": [], "go": []}
                                                    for k in cases}
        differ: Dict[str, int] = {k: 0 for k in cases}
        for r in range(args.rounds):
            for label, path in cases.items():
                order = ["pyprof", "go"] if r % 2 == 0 else ["go", "pyprof"]
                outputs = {}
                for tool in order:
                    if tool == "go" and not go:
                        continue
                    command = ([*pyprof, "top", "--all", str(path)] if tool == "pyprof"
                               else [go, "tool", "pprof", "-top", str(path)])
                    cpu, _, out = run(command, env)
                    speed[label][tool].append(cpu)
                    outputs[tool] = out
                if "go" in outputs and outputs["go"] != outputs["pyprof"]:
                    differ[label] += 1
                print(f"round {r + 1}: {label}: " + ", ".join(
                    f"{tool} {speed[label][tool][-1]:.2f} s" for tool in outputs),
                    file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    section = render(args, startup_runs, speed, differ, go, time.time() - began)
    write_section(args.output, section)
    print(section)


def render(args, startup_runs, speed, differ, go, elapsed) -> str:
    lines = [START, "## Views: start-up and `pyprof top` beside `go tool pprof -top`", ""]
    go_version = ""
    if go:
        go_version = subprocess.run([go, "version"], capture_output=True,
                                    text=True).stdout.strip()
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines += [
        f"Made with `python bench/views.py {' '.join(sys.argv[1:])}` (`make bench` runs "
        f"it in `.venv`), {when}, in {elapsed / 60:.1f} minutes; CPython "
        f"{platform.python_version()}, {go_version or 'go not installed'}, "
        f"{os.cpu_count()} cores, load average before the end "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}.",
        "",
        "Start-up: each command run "
        f"{args.startup_runs} times, alternating; median and 90th percentile of wall time "
        "(what a user waits for) and median CPU time. Target: under "
        f"{STARTUP_TARGET_S} s.",
        "",
        "| command | wall, median | wall, 90th pct | CPU, median | target | verdict |",
        "|---|--:|--:|--:|--:|---|",
    ]
    for label, runs in startup_runs.items():
        walls = sorted(w for _, w in runs)
        cpus = [c for c, _ in runs]
        median = statistics.median(walls)
        p90 = walls[min(len(walls) - 1, int(len(walls) * 0.9))]
        verdict = "pass" if median < STARTUP_TARGET_S else "**fail**"
        lines.append(f"| `{label}` | {median * 1000:.0f} ms | {p90 * 1000:.0f} ms | "
                     f"{statistics.median(cpus) * 1000:.0f} ms | < {STARTUP_TARGET_S * 1000:.0f}"
                     f" ms | {verdict} |")
    lines += [
        "",
        f"Large profiles: {args.rounds} rounds, the two tools alternating which runs "
        "first; CPU time (user + system) of the whole command, median (min .. max). "
        "Target: pyprof no slower than go. *Same text* counts the rounds where "
        "both printed identical bytes.",
        "",
        "| profile | pyprof top --all | go tool pprof -top | pyprof / go | same text | verdict |",
        "|---|--:|--:|--:|--:|---|",
    ]
    for label, tools in speed.items():
        mine = tools["pyprof"]
        theirs = tools["go"]

        def fmt(xs):
            if not xs:
                return "n/a"
            return f"{statistics.median(xs):.2f} s ({min(xs):.2f} .. {max(xs):.2f})"
        if theirs:
            ratio = statistics.median(mine) / statistics.median(theirs)
            verdict = "pass" if ratio <= 1.0 else "**fail**"
            same = f"{len(mine) - differ[label]}/{len(mine)}"
            ratio_text = f"{ratio:.2f}"
        else:
            verdict, same, ratio_text = "no go", "n/a", "n/a"
        lines.append(f"| {label} | {fmt(mine)} | {fmt(theirs)} | {ratio_text} | {same} "
                     f"| {verdict} |")
    lines += ["", END]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace the views section of path (or append it), atomically."""
    text = path.read_text() if path.exists() else ""
    if START in text and END in text:
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        tail = tail[1:] if tail.startswith("\n") else tail
        text = head + section + tail
    else:
        text = text + ("\n" if text and not text.endswith("\n") else "") + "\n" + section
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
