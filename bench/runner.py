"""Run one workload once under one configuration and measure what it cost.

A configuration is a tool (none, pyprof, py-spy, cProfile) and a sampling
rate. Every run is a fresh child process. Its CPU time comes from two places:

* os.wait4() on the command we started: user + system CPU of that process and
  of every descendant it waited for. For `pyprof record` that is the pyprof
  parent, the program and everything pyprof does before and after it; for
  `py-spy record` it is py-spy's own process plus the program it spawned.
* the workload's own report (bench/workloads/_report.py): the CPU time of its
  body, measured inside the program's process, and the process's whole CPU
  time at the end of the body.

A tool's samples and, for the split workload, the share of each function are
read from what the tool wrote: the pprof profile, py-spy's collapsed stacks,
or cProfile's stats.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pstats
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

WORKLOADS = Path(__file__).resolve().parent / "workloads"
SPLIT_FUNCTIONS = ("alpha", "beta", "gamma")
SPLIT_TRUTH = {"alpha": 0.5, "beta": 0.3, "gamma": 0.2}
# Workloads that are another workload's script run with extra environment.
VARIANTS = {"split-periodic": ("split", {"PYPROF_BENCH_SPLIT": "periodic"})}


class BenchError(Exception):
    """A run failed: the command exited non-zero or wrote nothing to read."""


@dataclasses.dataclass(frozen=True)
class Config:
    """A way of running a workload: bare or under a profiler at a rate."""

    tool: str  # "none", "pyprof", "py-spy" or "cprofile"
    rate_hz: int = 0  # 0 for tools that do not sample
    label: str = ""

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        if self.tool == "none":
            return "unprofiled"
        if self.tool == "cprofile":
            return "cProfile"
        return f"{self.tool} {format_rate(self.rate_hz)}"


def format_rate(rate_hz: int) -> str:
    """100 -> '100 Hz', 1000 -> '1 kHz', 10000 -> '10 kHz'."""
    if rate_hz >= 1000 and rate_hz % 1000 == 0:
        return f"{rate_hz // 1000} kHz"
    return f"{rate_hz} Hz"


@dataclasses.dataclass
class Tools:
    """Where the interpreter and the profilers under test live."""

    python: str
    pyprof: Optional[str]
    py_spy: Optional[str]


@dataclasses.dataclass
class Run:
    """What one run cost and, when the tool says, how many samples it took."""

    config: Config
    workload: str
    command_cpu_s: float  # wait4() of the command: everything it reaped
    body_cpu_s: float  # the workload's body, inside the program's process
    body_wall_s: float
    process_cpu_s: float  # the program's process up to the end of the body
    samples: Optional[int] = None
    shares: Optional[Dict[str, float]] = None  # split workload: alpha/beta/gamma
    other_share: Optional[float] = None  # split: weight outside the three
    timed_shares: Optional[Dict[str, float]] = None  # split: its own timing
    stderr: str = ""

    @property
    def tool_process_cpu_s(self) -> Optional[float]:
        """CPU of a profiler's own process (py-spy samples from outside).

        The command's CPU minus the program's process; the program's exit
        after its body (a few milliseconds) is counted on py-spy's side.
        """
        if self.config.tool != "py-spy":
            return None
        return max(0.0, self.command_cpu_s - self.process_cpu_s)

    @property
    def sampling_cpu_s(self) -> float:
        """CPU that the run spent while the body ran: the program's plus an
        outside sampler's whole process."""
        return self.body_cpu_s + (self.tool_process_cpu_s or 0.0)


def command_for(config: Config, tools: Tools, script: Path, out: Path) -> List[str]:
    """The argv that runs script under config, writing any profile to out."""
    if config.tool == "none":
        return [tools.python, str(script)]
    if config.tool == "pyprof":
        return [
            tools.pyprof,
            "record",
            "--rate",
            str(config.rate_hz),
            "-o",
            str(out),
            "--",
            tools.python,
            str(script),
        ]
    if config.tool == "py-spy":
        return [
            tools.py_spy,
            "record",
            "--rate",
            str(config.rate_hz),
            "--format",
            "raw",
            "-o",
            str(out),
            "--",
            tools.python,
            str(script),
        ]
    if config.tool == "cprofile":
        return [tools.python, "-m", "cProfile", "-o", str(out), str(script)]
    raise ValueError(f"unknown tool {config.tool!r}")


def run_once(config: Config, workload: str, tools: Tools, scale: float) -> Run:
    """Run bench/workloads/<workload>.py (or a VARIANTS entry) once under config.

    Raises:
        BenchError: the command failed or left no report or profile.
    """
    script_name, extra_env = VARIANTS.get(workload, (workload, {}))
    script = WORKLOADS / f"{script_name}.py"
    with tempfile.TemporaryDirectory(prefix="pyprof-bench-") as tmp:
        tmpdir = Path(tmp)
        report_path = tmpdir / "report.json"
        out = tmpdir / ("profile.pb.gz" if config.tool == "pyprof" else "profile.out")
        env = dict(os.environ)
        env["PYPROF_BENCH_REPORT"] = str(report_path)
        env["PYPROF_BENCH_SCALE"] = str(round(scale * 1000))
        env.update(extra_env)
        argv = command_for(config, tools, script, out)

        command_cpu_s, status, stderr = _run_measured(argv, env, tmpdir)
        if status != 0:
            raise BenchError(
                f"{config.name} on {workload}: exit status {status}: "
                f"{_last_line(stderr)}"
            )
        if not report_path.exists():
            raise BenchError(
                f"{config.name} on {workload}: the workload wrote no "
                f"report: {_last_line(stderr)}"
            )
        report = json.loads(report_path.read_text())
        run = Run(
            config=config,
            workload=workload,
            command_cpu_s=command_cpu_s,
            body_cpu_s=report["body_cpu_s"],
            body_wall_s=report["body_wall_s"],
            process_cpu_s=report["process_cpu_s"],
            stderr=stderr,
        )
        run.timed_shares = report.get("measured_shares")
        if config.tool == "none":
            run.shares = run.timed_shares
        elif config.tool != "none":
            if not out.exists():
                raise BenchError(
                    f"{config.name} on {workload}: no profile written: "
                    f"{_last_line(stderr)}"
                )
            _read_output(run, out, stderr)
        return run


def _run_measured(argv: List[str], env: dict, tmpdir: Path):
    """Start argv, wait for it with wait4() and return (CPU s, status, stderr)."""
    err_path = tmpdir / "stderr.txt"
    with open(err_path, "wb") as err:
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=env,
            )
        except OSError as exc:
            raise BenchError(f"starting {argv[0]}: {exc.strerror}") from None
        _, wait_status, usage = os.wait4(proc.pid, 0)
    # Tell Popen the child is reaped, so that it never waits for it again.
    proc.returncode = os.waitstatus_to_exitcode(wait_status)
    stderr = err_path.read_text(errors="replace")
    return usage.ru_utime + usage.ru_stime, proc.returncode, stderr


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(nothing on stderr)"


def _read_output(run: Run, out: Path, stderr: str) -> None:
    """Fill run.samples and (split workload) run.shares from the tool's file."""
    if run.config.tool == "pyprof":
        weights, run.samples = read_pyprof(out)
    elif run.config.tool == "py-spy":
        weights, run.samples = read_py_spy(out, stderr)
    else:
        weights = read_cprofile(out)
    if run.workload.startswith("split"):
        run.shares, run.other_share = split_shares(weights)


def read_pyprof(path: Path):
    """Flat CPU per function name, and the samples taken, from a pprof file.

    The share uses the cpu/nanoseconds column; the sample count is the sum of
    the samples/count column (one per signal taken).
    """
    from pyprof import pprof  # the pyprof under test, in the running venv

    profile = pprof.load(str(path))
    strings = profile.string_table
    types = [strings[t.type] for t in profile.sample_type]
    cpu_index = types.index("cpu") if "cpu" in types else len(types) - 1
    functions = {f.id: strings[f.name] for f in profile.function}
    leaf_of = {}
    for location in profile.location:
        # The first line is the innermost when a location holds several.
        leaf_of[location.id] = (
            functions.get(location.line[0].function_id, "?") if location.line else "?"
        )

    weights: Dict[str, float] = {}
    samples = 0
    for sample in profile.sample:
        leaf = leaf_of.get(sample.location_id[0], "?") if sample.location_id else "?"
        weights[leaf] = weights.get(leaf, 0) + sample.value[cpu_index]
        if "samples" in types:
            samples += sample.value[types.index("samples")]
    if "samples" not in types:
        samples = round(sum(weights.values()) / profile.period) if profile.period else 0
    return weights, samples


def read_py_spy(path: Path, stderr: str):
    """Leaf counts per function from py-spy's collapsed stacks (--format raw).

    Each line is `outer (file:line);...;leaf (file:line) COUNT`. The sample
    count is py-spy's own "Samples: N" line on stderr.
    """
    weights: Dict[str, float] = {}
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        leaf = stack.split(";")[-1]
        name = leaf.split(" (")[0]
        weights[name] = weights.get(name, 0) + int(count)
    found = re.search(r"Samples: (\d+)", stderr)
    samples = int(found.group(1)) if found else int(sum(weights.values()))
    return weights, samples


def read_cprofile(path: Path) -> Dict[str, float]:
    """Own time (tottime) per function name from a cProfile stats file."""
    weights: Dict[str, float] = {}
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    for (_, _, name), (_, _, tottime, _, _) in stats.items():
        weights[name] = weights.get(name, 0) + tottime
    return weights


def split_shares(weights: Dict[str, float]):
    """Shares of alpha, beta and gamma among the three, and the weight of
    everything else as a fraction of the total."""
    ours = {name: weights.get(name, 0) for name in SPLIT_FUNCTIONS}
    total_ours = sum(ours.values())
    total = sum(weights.values())
    if total_ours <= 0:
        raise BenchError("the split workload's functions got no samples")
    shares = {name: value / total_ours for name, value in ours.items()}
    return shares, (total - total_ours) / total if total else 0.0


def run_on_off(tools: Tools, scale: float, rates: List[int]) -> List[Dict[str, dict]]:
    """Run bench/workloads/onoff.py once; return its blocks of paired slices.

    Each block maps a rate ("0" = sampler off) to {"cpu_s", "samples"}.

    Raises:
        BenchError: the workload failed (pyprof cannot load, for one).
    """
    with tempfile.TemporaryDirectory(prefix="pyprof-bench-") as tmp:
        tmpdir = Path(tmp)
        report_path = tmpdir / "report.json"
        env = dict(os.environ)
        env["PYPROF_BENCH_REPORT"] = str(report_path)
        env["PYPROF_BENCH_SCALE"] = str(round(scale * 1000))
        env["PYPROF_BENCH_RATES"] = ",".join(str(rate) for rate in rates)
        argv = [tools.python, str(WORKLOADS / "onoff.py")]
        _, status, stderr = _run_measured(argv, env, tmpdir)
        if status != 0 or not report_path.exists():
            raise BenchError(
                f"sampling on and off in one process: exit status "
                f"{status}: {_last_line(stderr)}"
            )
        return json.loads(report_path.read_text())["blocks"]
