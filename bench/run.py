"""make bench: the overhead and accuracy of `pyprof record`, beside py-spy and cProfile.

    python bench/run.py --output bench/RESULTS.md          # ~10 minutes
    python bench/run.py --quick --output /tmp/smoke.md     # ~1 minute smoke run
    python -m pytest -q -p no:cacheprovider bench/tests    # the harness's own checks

Overhead. Two workloads (bench/workloads/cpu.py: pure-Python loops, few calls;
calls.py: millions of small calls) run bare and under each configuration:
pyprof and py-spy at each rate, cProfile, and the bare program again as a
control that should come out at +0%. Runs are interleaved: each round
shuffles the configurations and puts an unprofiled run between every two of
them, and each run is compared with the mean of the unprofiled runs on either
side of it, so that slow drifts of a shared machine cancel. Only CPU time is
compared (user + system), never wall time.

pyprof's own overhead is also measured inside one process
(bench/workloads/onoff.py): the sampler is switched on and off around short
slices of the same work, each compared with an unsampled slice a fraction of
a second away, which resolves differences that whole processes on a shared
machine cannot.

Accuracy. bench/workloads/split.py spends 50/30/20 of its CPU in three
functions with the same body; each tool's measured shares are compared with
that split, pooled over the accuracy rounds, and again on a variant that
repeats a fixed cycle (which can lock in phase with the kernel's tick).

The results go to a Markdown file: how it was made, the machine, the tables,
and one sentence per figure that matters.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gzip
import json
import os
import platform
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report  # noqa: E402
from runner import (
    BenchError,  # noqa: E402
    Config,  # noqa: E402
    Run,  # noqa: E402
    Tools,  # noqa: E402
    run_on_off,  # noqa: E402
    run_once,  # noqa: E402
)

OVERHEAD_WORKLOADS = ("cpu", "calls")
BASE = Config("none")
CONTROL = Config("none", label="unprofiled (control)")
ON_OFF_BLOCKS = 6  # blocks of the on/off workload per round, at scale 1


@dataclasses.dataclass
class Plan:
    rates: List[int]
    rounds: int
    accuracy_rounds: int
    scale: float
    seed: int
    # Rounds for the configurations that is_slow(): overhead, accuracy.
    slow_rounds: tuple = (2, 1)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    plan = Plan(
        rates=args.rates,
        rounds=args.rounds or (2 if args.quick else 6),
        accuracy_rounds=args.accuracy_rounds or (1 if args.quick else 3),
        scale=args.scale or (0.3 if args.quick else 1.0),
        seed=args.seed,
    )
    tools = Tools(python=args.python, pyprof=args.pyprof, py_spy=args.py_spy)
    command = shlex.join(
        ["python", "bench/run.py"] + (argv if argv is not None else sys.argv[1:])
    )

    started = time.monotonic()
    machine = describe_machine(tools, args.pyprof_label)
    configs, unavailable = usable_configs(plan, tools)
    log(f"configurations: {', '.join(c.name for c in configs)}")
    for name, reason in unavailable.items():
        log(f"left out: {name}: {reason}")

    failures: List[str] = []
    on_off: List[List[Dict[str, dict]]] = []
    overhead = measure_overhead(configs, plan, tools, failures, on_off)
    accuracy = measure_accuracy(configs, plan, tools, failures)
    machine["load_after"] = load_average()
    machine["elapsed_s"] = time.monotonic() - started

    text = report.render(
        command=command,
        machine=machine,
        plan=plan,
        configs=configs,
        overhead=overhead,
        accuracy=accuracy,
        on_off=on_off,
        unavailable=unavailable,
        failures=failures,
    )
    write_atomically(Path(args.output), text)
    if args.raw:
        write_atomically(Path(args.raw), raw_json(overhead, accuracy, on_off))
    log(f"wrote {args.output} in {machine['elapsed_s'] / 60:.1f} min")
    return 0


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    here = Path(sys.executable).parent
    parser = argparse.ArgumentParser(
        description="Measure pyprof record's overhead and accuracy beside py-spy "
        "and cProfile."
    )
    parser.add_argument("--output", "-o", required=True, help="Markdown file to write")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a ~1 minute smoke run: 2 rounds, smaller workloads",
    )
    parser.add_argument("--rounds", type=int, help="overhead rounds (default 6)")
    parser.add_argument(
        "--accuracy-rounds", type=int, help="accuracy rounds (default 3)"
    )
    parser.add_argument(
        "--scale", type=float, help="workload size, 1.0 = about 1-1.5 s of CPU each"
    )
    parser.add_argument(
        "--rates",
        type=lambda s: [int(r) for r in s.split(",")],
        default=[100, 1000, 10000],
        help="sampling rates in Hz",
    )
    parser.add_argument(
        "--seed", type=int, default=20240101, help="seed of the run order"
    )
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter that runs the workloads"
    )
    parser.add_argument("--pyprof", default=_which("pyprof", here))
    parser.add_argument("--py-spy", dest="py_spy", default=_which("py-spy", here))
    parser.add_argument(
        "--pyprof-label",
        help="how RESULTS.md names the pyprof measured "
        "(default: found from where the interpreter imports it)",
    )
    parser.add_argument(
        "--raw", help="also write every run's figures to this JSON file"
    )
    return parser.parse_args(argv)


def _which(name: str, venv_bin: Path) -> Optional[str]:
    beside = venv_bin / name
    return str(beside) if beside.exists() else shutil.which(name)


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def usable_configs(plan: Plan, tools: Tools):
    """The configurations to measure, each tool tried once on a tiny run first.

    Returns the configurations and, for each tool that cannot run here, the
    reason (its last line on stderr).
    """
    wanted = {
        "pyprof": [Config("pyprof", rate) for rate in plan.rates],
        "py-spy": [Config("py-spy", rate) for rate in plan.rates],
        "cprofile": [Config("cprofile")],
    }
    configs = [CONTROL]
    unavailable: Dict[str, str] = {}
    for tool, tool_configs in wanted.items():
        path = {"pyprof": tools.pyprof, "py-spy": tools.py_spy}.get(tool, tools.python)
        if not path:
            unavailable[tool] = "not installed next to the interpreter nor on PATH"
            continue
        try:
            run_once(tool_configs[0], "cpu", tools, scale=0.02)
        except BenchError as exc:
            unavailable[tool] = str(exc)
            continue
        configs.extend(tool_configs)
    return configs, unavailable


def measure_overhead(
    configs: List[Config],
    plan: Plan,
    tools: Tools,
    failures: List[str],
    on_off: List[List[Dict[str, dict]]],
) -> Dict[str, Dict[Config, List[dict]]]:
    """Interleaved runs of every configuration on each overhead workload, and
    in each round one short run of pyprof switched on and off in one process
    (appended to on_off), so that those blocks too are spread over the bench.

    Returns, per workload and configuration, one entry per run: the run and
    the mean of the unprofiled runs on either side of it.
    """
    rng = random.Random(plan.seed)
    results: Dict[str, Dict[Config, List[dict]]] = {
        w: {c: [] for c in configs} for w in OVERHEAD_WORKLOADS
    }
    for round_number in range(1, plan.rounds + 1):
        workloads = list(OVERHEAD_WORKLOADS)
        rng.shuffle(workloads)
        this_round = [
            c for c in configs if not is_slow(c) or round_number <= plan.slow_rounds[0]
        ]
        for workload in workloads:
            sequence = interleave(this_round, rng)
            runs = []
            for config in sequence:
                try:
                    runs.append(run_once(config, workload, tools, plan.scale))
                except BenchError as exc:
                    failures.append(str(exc))
                    log(f"failed: {exc}")
                    runs.append(None)
            for index, config in enumerate(sequence):
                if config == BASE or runs[index] is None:
                    continue
                bases = neighbouring_bases(sequence, runs, index)
                if bases:
                    results[workload][config].append(
                        {"run": runs[index], "bases": bases}
                    )
            base_cpu = _mean([r.body_cpu_s for r in runs if r and r.config == BASE])
            log(
                f"round {round_number}/{plan.rounds}, {workload}: "
                f"{len(sequence)} runs, unprofiled body {base_cpu:.2f}s CPU"
            )
        blocks = measure_on_off(configs, plan, tools, failures)
        if blocks:
            on_off.append(blocks)
    return results


def is_slow(config: Config) -> bool:
    """py-spy above 1 kHz. In its default mode py-spy stops the program for
    every sample; at 10 kHz a 1.3 s workload takes 30-40 s of wall time, and
    the overhead is so large that a couple of runs measure it well enough."""
    return config.tool == "py-spy" and config.rate_hz > 1000


def interleave(configs: List[Config], rng: random.Random) -> List[Config]:
    """Shuffled configurations with an unprofiled run first, last and between
    every two of them: B c c B c c B ... B."""
    order = list(configs)
    rng.shuffle(order)
    sequence = []
    for index, config in enumerate(order):
        if index % 2 == 0:
            sequence.append(BASE)
        sequence.append(config)
    sequence.append(BASE)
    return sequence


def neighbouring_bases(
    sequence: List[Config], runs: List[Optional[Run]], index: int
) -> List[Run]:
    """The nearest successful unprofiled run on each side of sequence[index]."""
    found = []
    for step in (-1, 1):
        position = index + step
        while 0 <= position < len(sequence):
            if sequence[position] == BASE and runs[position] is not None:
                found.append(runs[position])
                break
            position += step
    return found


def measure_accuracy(
    configs: List[Config], plan: Plan, tools: Tools, failures: List[str]
) -> Dict[str, Dict[Config, List[Run]]]:
    """Every configuration on the split workload, in a new order each round,
    then the sampling profilers on its periodic variant, in fewer rounds.

    The unprofiled runs carry the split the workload measured on itself.
    """
    rng = random.Random(plan.seed + 1)
    accuracy_configs = [BASE] + [c for c in configs if c.tool != "none"]
    periodic_configs = [c for c in accuracy_configs if c.rate_hz and not is_slow(c)]
    periodic_rounds = max(1, plan.accuracy_rounds - 1)
    results: Dict[str, Dict[Config, List[Run]]] = {
        "split": {c: [] for c in accuracy_configs},
        "split-periodic": {c: [] for c in periodic_configs},
    }
    for round_number in range(1, plan.accuracy_rounds + 1):
        order = [
            ("split", c)
            for c in accuracy_configs
            if not is_slow(c) or round_number <= plan.slow_rounds[1]
        ]
        if round_number <= periodic_rounds:
            order += [("split-periodic", c) for c in periodic_configs]
        rng.shuffle(order)
        for workload, config in order:
            try:
                run = run_once(config, workload, tools, plan.scale)
                results[workload][config].append(run)
            except BenchError as exc:
                failures.append(str(exc))
                log(f"failed: {exc}")
        log(f"accuracy round {round_number}/{plan.accuracy_rounds}: {len(order)} runs")
    return results


def measure_on_off(
    configs: List[Config], plan: Plan, tools: Tools, failures: List[str]
) -> Optional[List[Dict[str, dict]]]:
    """One run of pyprof switched on and off in one process
    (bench/workloads/onoff.py): ON_OFF_BLOCKS blocks at scale 1, when pyprof
    can run here."""
    if not any(c.tool == "pyprof" for c in configs):
        return None
    try:
        blocks = run_on_off(tools, plan.scale * ON_OFF_BLOCKS / 40, plan.rates)
    except BenchError as exc:
        failures.append(str(exc))
        log(f"failed: {exc}")
        return None
    return blocks


def describe_machine(tools: Tools, pyprof_label: Optional[str]) -> Dict[str, object]:
    """What the figures depend on: CPU, cores, kernel and its tick, versions."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"
        ),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "kernel": platform.release(),
        "config_hz": _config_hz(),
        "python": _output(
            [tools.python, "-c", "import sys; print(sys.version.split()[0])"]
        ),
        "pyprof": _pyprof_version(tools, pyprof_label),
        "py_spy": _output([tools.py_spy, "--version"]) if tools.py_spy else None,
        "load_before": load_average(),
    }


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _config_hz() -> Optional[str]:
    """CONFIG_HZ of the running kernel, from /proc/config.gz or /boot."""
    candidates = [Path("/proc/config.gz"), Path(f"/boot/config-{platform.release()}")]
    for path in candidates:
        try:
            raw = path.read_bytes()
            text = (
                gzip.decompress(raw).decode() if path.suffix == ".gz" else raw.decode()
            )
        except (OSError, EOFError, gzip.BadGzipFile):
            continue
        for line in text.splitlines():
            if line.startswith("CONFIG_HZ="):
                return line.split("=", 1)[1]
    return None


def _pyprof_version(tools: Tools, label: Optional[str]) -> str:
    """Which pyprof was measured: the label given, or where the interpreter
    imports it from (this repository's working tree, at which commit, and
    whether its code had uncommitted changes)."""
    if label:
        return label
    repo = Path(__file__).resolve().parents[1]
    # From the root folder, so that `-c` does not find pyprof in the cwd.
    where = _output(
        [tools.python, "-c", "import pyprof; print(pyprof.__file__)"], cwd="/"
    )
    commit = _output(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"])
    if where and Path(where).resolve().is_relative_to(repo):
        dirty = _output(
            [
                "git",
                "-C",
                str(repo),
                "status",
                "--porcelain",
                "--",
                "pyprof",
                "csrc",
                "setup.py",
            ]
        )
        state = " with uncommitted changes" if dirty else ""
        return f"this working tree, commit {commit}{state}"
    return f"the copy installed at {where}" if where else "unknown"


def _output(argv: List[str], cwd: Optional[str] = None) -> Optional[str]:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _mean(values: List[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def write_atomically(path: Path, text: str) -> None:
    """Write text to path through a temporary file in the same folder."""
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def raw_json(overhead, accuracy, on_off) -> str:
    def row(run: Run) -> dict:
        fields = dataclasses.asdict(run)
        fields["config"] = run.config.name
        fields.pop("stderr")
        return fields

    data = {
        "overhead": {
            workload: {
                config.name: [
                    {"run": row(e["run"]), "bases": [row(b) for b in e["bases"]]}
                    for e in entries
                ]
                for config, entries in per_config.items()
            }
            for workload, per_config in overhead.items()
        },
        "accuracy": {
            workload: {
                config.name: [row(r) for r in runs] for config, runs in per.items()
            }
            for workload, per in accuracy.items()
        },
        "on_off": on_off,
    }
    return json.dumps(data, indent=1) + "\n"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted; nothing written")
        sys.exit(130)
