"""Turn the bench's runs into bench/RESULTS.md: tables and a sentence per figure."""

from __future__ import annotations

from typing import Dict, List, Optional

from runner import SPLIT_FUNCTIONS, SPLIT_TRUTH, Config, Run, format_rate
from stats import bootstrap_median_ci, iqr, median

# pyprof's overhead targets by sampling rate: CPU added, as a fraction.
TARGETS = {100: 0.01, 1000: 0.03}

WORKLOAD_TITLES = {
    "cpu": "pure-Python CPU work, few calls (bench/workloads/cpu.py)",
    "calls": "many small calls (bench/workloads/calls.py)",
}


def _mean(values):
    return sum(values) / len(values)


class Figures:
    """The derived figures of one configuration on one workload."""

    def __init__(self, config: Config, entries: List[dict]) -> None:
        self.config = config
        self.count = len(entries)
        self.sampling: List[float] = []  # CPU added while the body ran, fraction
        self.program: List[float] = []  # of which in the program's process
        self.tool_process: List[float] = []  # of which in py-spy's process
        self.whole: List[float] = []  # the whole command's CPU, fraction
        self.outside_ms: List[float] = []  # added CPU outside the body
        self.rate: List[float] = []  # samples per CPU-second of the body
        self.per_sample_us: List[float] = []
        self.samples: List[int] = []
        self.base_body_s: List[float] = []
        for entry in entries:
            self._add(entry["run"], entry["bases"])

    def _add(self, run: Run, bases: List[Run]) -> None:
        base_body = _mean([b.body_cpu_s for b in bases])
        base_command = _mean([b.command_cpu_s for b in bases])
        added = run.sampling_cpu_s - base_body
        self.base_body_s.append(base_body)
        self.sampling.append(added / base_body)
        self.program.append(run.body_cpu_s / base_body - 1)
        if run.tool_process_cpu_s is not None:
            self.tool_process.append(run.tool_process_cpu_s / base_body)
        self.whole.append(run.command_cpu_s / base_command - 1)
        self.outside_ms.append(1000 * ((run.command_cpu_s - base_command) - added))
        if run.samples:
            self.samples.append(run.samples)
            # Per second of the program's CPU: pyprof's timers count CPU time,
            # and on a busy machine wall time would understate its rate.
            self.rate.append(run.samples / run.body_cpu_s)
            self.per_sample_us.append(1e6 * added / run.samples)

    def target(self) -> Optional[float]:
        if self.config.tool in ("pyprof", "py-spy"):
            return TARGETS.get(self.config.rate_hz)
        return None

    def verdict(self) -> str:
        return _verdict(self.sampling, self.target()) if self.sampling else ""


def pct(value: float, digits: int = 1) -> str:
    return f"{value * 100:+.{digits}f}%"


def _range(values: List[float], digits: int = 1) -> str:
    low, high = iqr(values)
    return f"{pct(low, digits)} .. {pct(high, digits)}"


def _ci(values: List[float], digits: int = 1) -> str:
    low, high = bootstrap_median_ci(values)
    return f"{pct(low, digits)} .. {pct(high, digits)}"


def render(
    *,
    command,
    machine,
    plan,
    configs,
    overhead,
    accuracy,
    on_off,
    unavailable,
    failures,
) -> str:
    lines: List[str] = []
    add = lines.append
    add("# pyprof benchmark: overhead and accuracy")
    add("")
    add(
        f"Made with `{command}` (`make bench` runs it in `.venv`), "
        f"{machine['date']}, in {machine['elapsed_s'] / 60:.1f} minutes: "
        f"{plan.rounds} interleaved rounds of the overhead workloads, "
        f"{plan.accuracy_rounds} of the accuracy workload, workload scale "
        f"{plan.scale:g}, run-order seed {plan.seed}."
    )
    add("")
    add(
        f"Machine: {machine['cpu']}, {machine['cores']} cores "
        f"({machine['usable_cores']} usable), Linux {machine['kernel']}, "
        f"CONFIG_HZ={machine['config_hz'] or 'unknown'}; CPython {machine['python']}; "
        f"pyprof measured: {machine['pyprof']}; "
        f"{machine['py_spy'] or 'py-spy not found'}. "
        f"Load average (1, 5, 15 min) {machine['load_before']} before, "
        f"{machine['load_after']} after: the machine is shared, which is why only "
        f"CPU time is compared."
    )
    add("")
    _render_method(add, plan)
    if unavailable:
        add("**Left out:**")
        add("")
        for tool, reason in unavailable.items():
            add(f"- {tool}: could not run here: `{reason}`")
        add("")

    figures = {
        w: {c: Figures(c, entries) for c, entries in per.items() if entries}
        for w, per in overhead.items()
    }
    for workload, per_config in figures.items():
        _render_overhead(add, workload, per_config)
    _render_per_sample(add, figures)
    _render_summaries(add, overhead)
    if on_off:
        _render_on_off(add, on_off)
    _render_accuracy(add, accuracy["split"])
    _render_periodic(add, accuracy.get("split-periodic", {}))
    _render_findings(add, figures, accuracy, on_off)
    if failures:
        add("## Failed runs")
        add("")
        add(
            f"{len(failures)} runs failed and are left out of the figures; "
            "the first ones:"
        )
        add("")
        for failure in failures[:5]:
            add(f"- `{failure}`")
        add("")
    return "\n".join(lines)


def _render_method(add, plan) -> None:
    add(
        "How to read the tables. Every figure is a median over runs; each run is "
        "compared with the mean of the unprofiled runs just before and after it "
        "(each round shuffles the configurations and puts an unprofiled run "
        "between every two). *CPU added while sampling* is the extra CPU time "
        "spent while the workload's body ran: for pyprof and cProfile, which run "
        "inside the program, the program's own process (pyprof's signal handler "
        "and drain thread included); for py-spy, which samples from another "
        "process, the program's process *plus* py-spy's whole process, shown "
        "separately. *Whole command* is the CPU of everything the command ran "
        "(`os.wait4` of the child: start-up, the body, writing the profile); "
        "*outside the body* is the part of it that does not grow with run "
        "time. The 95% CI is a bootstrap interval of the median; IQR is the "
        "spread of single runs. Targets (pyprof's): under 1% at 100 Hz, under 3% "
        "at 1 kHz, judged on the median. A 1% difference is small against the "
        "run-to-run noise of a shared machine, so each row also shows the "
        "overhead *predicted from µs per sample*: the cost of one sample "
        "measured at the tool's highest rate (where the overhead is largest, so "
        "best measured) times this row's samples per CPU-second. For pyprof a "
        "finer measurement, inside one process, follows the tables."
    )
    add("")
    add(
        f"py-spy above 1 kHz ran in only {plan.slow_rounds[0]} overhead and "
        f"{plan.slow_rounds[1]} accuracy rounds: in its default mode it stops the "
        "program for every sample, so one run takes 20-40 times as long, and "
        "its overhead is large enough that a few runs measure it."
    )
    add("")


def _render_overhead(add, workload: str, per_config: Dict[Config, Figures]) -> None:
    base = [v for f in per_config.values() for v in f.base_body_s]
    add(f"## Overhead: {WORKLOAD_TITLES.get(workload, workload)}")
    add("")
    add(f"Unprofiled body: {median(base):.2f} s CPU (median of {len(base)} pairings).")
    add("")
    add(
        "| configuration | runs | CPU added while sampling | 95% CI | IQR | "
        "of which py-spy's process | target | verdict | predicted from µs per "
        "sample | whole command | outside the body | samples per CPU-s | "
        "µs per sample |"
    )
    add("|---|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|")
    for config, fig in per_config.items():
        target = fig.target()
        predicted = _predicted(config, fig, per_config)
        add(
            "| "
            + " | ".join(
                [
                    config.name,
                    str(fig.count),
                    pct(median(fig.sampling), 2),
                    _ci(fig.sampling, 2),
                    _range(fig.sampling, 2),
                    pct(median(fig.tool_process), 2) if fig.tool_process else "",
                    f"< {target * 100:g}%" if target else "",
                    fig.verdict(),
                    predicted,
                    pct(median(fig.whole)),
                    f"{median(fig.outside_ms):.0f} ms",
                    f"{median(fig.rate):.0f}" if fig.rate else "",
                    f"{median(fig.per_sample_us):.1f}" if fig.per_sample_us else "",
                ]
            )
            + " |"
        )
    add("")


def _top_rate(config: Config, per_config: Dict[Config, Figures]) -> Optional[Figures]:
    """The same tool's figures at its highest rate, if it took samples."""
    same_tool = [c for c in per_config if c.tool == config.tool and c.rate_hz]
    if not same_tool:
        return None
    top = per_config[max(same_tool, key=lambda c: c.rate_hz)]
    return top if top.per_sample_us else None


def _predicted(config: Config, fig: Figures, per_config: Dict[Config, Figures]) -> str:
    """The CPU this configuration should add if every sample cost what one
    costs at the tool's highest rate, where the overhead is largest:
    (µs per sample there) x (samples per CPU-second here). When the cost per
    sample is too small to tell from zero, the upper end of its interval
    gives an upper bound instead."""
    top = _top_rate(config, per_config)
    if top is None or not fig.rate:
        return ""
    low, high = bootstrap_median_ci(top.per_sample_us)
    if high <= 0:
        return "below noise"
    if low <= 0:
        return f"< {pct(high * 1e-6 * median(fig.rate), 2)[1:]}"
    return pct(median(top.per_sample_us) * 1e-6 * median(fig.rate), 2)


def _render_per_sample(add, figures) -> None:
    rows = []
    for workload, per_config in figures.items():
        for config, fig in per_config.items():
            if not fig.per_sample_us or config.tool == "cprofile":
                continue
            if _top_rate(config, per_config) is not fig:
                continue
            low, high = bootstrap_median_ci(fig.per_sample_us)
            rows.append(
                f"| {config.name} | {workload} | {median(fig.samples):.0f} | "
                f"{median(fig.rate):.0f} | {median(fig.per_sample_us):.1f} | "
                f"{low:.1f} .. {high:.1f} |"
            )
    if not rows:
        return
    add("## Cost per sample at the highest rate")
    add("")
    add(
        "(CPU added while sampling) / (samples taken), per run; samples from the "
        "profile (pyprof: the samples/count column) or py-spy's `Samples:` line. "
        "For py-spy this includes its whole process, start-up and symbol loading "
        "too."
    )
    add("")
    add(
        "| configuration | workload | samples per run | samples per CPU-s | "
        "µs per sample | 95% CI |"
    )
    add("|---|---|--:|--:|--:|--:|")
    for row in rows:
        add(row)
    add("")


def _render_summaries(add, overhead) -> None:
    """pyprof record's own stderr line, from one run per rate, as it printed it."""
    lines = []
    for workload, per_config in overhead.items():
        for config, entries in per_config.items():
            if config.tool != "pyprof" or not entries:
                continue
            said = [
                line
                for line in entries[0]["run"].stderr.splitlines()
                if line.startswith("pyprof")
            ]
            lines.append(f"{config.name}, {workload}: " + " / ".join(said))
    if not lines:
        return
    add(
        "pyprof record's summary on stderr, one run of each (the sample count and "
        "any note on the effective rate come from here):"
    )
    add("")
    add("```")
    for line in lines:
        add(line)
    add("```")
    add("")


def _verdict(values: List[float], target: Optional[float]) -> str:
    """Pass or fail on the median, saying when the CI reaches across."""
    if target is None:
        return ""
    middle = median(values)
    low, high = bootstrap_median_ci(values)
    if middle >= target:
        return "**fail**" if low >= target else "**fail** (CI reaches below)"
    return "pass (CI reaches the target)" if high >= target else "pass"


class OnOff:
    """pyprof at one rate against the unsampled slice of each block."""

    def __init__(self, rate: int, blocks: List[Dict[str, dict]]) -> None:
        self.rate = rate
        on = [b[str(rate)] for b in blocks]
        off = [b["0"] for b in blocks]
        self.added = [o["cpu_s"] / b["cpu_s"] - 1 for o, b in zip(on, off)]
        # Older reports carry no per-thread split.
        self.main = [
            o["main_cpu_s"] / b["cpu_s"] - 1
            for o, b in zip(on, off)
            if o.get("main_cpu_s") is not None
        ]
        self.drain = [
            o["drain_cpu_s"] / b["cpu_s"]
            for o, b in zip(on, off)
            if o.get("drain_cpu_s") is not None
        ]
        self.drain_ms_per_wall_s = [
            1000 * o["drain_cpu_s"] / o["wall_s"]
            for o in on
            if o.get("drain_cpu_s") is not None
        ]
        self.per_sample_us = [
            1e6 * (o["cpu_s"] - b["cpu_s"]) / o["samples"]
            for o, b in zip(on, off)
            if o["samples"]
        ]
        self.per_cpu_s = [o["samples"] / o["cpu_s"] for o in on]


def _on_off_rows(processes: List[List[Dict[str, dict]]]) -> List[OnOff]:
    """Per rate, the figures of every block of every on/off process."""
    blocks = [block for process in processes for block in process]
    if not blocks:
        return []
    rates = sorted(int(rate) for rate in blocks[0] if rate != "0")
    return [OnOff(rate, blocks) for rate in rates]


def _render_on_off(add, processes: List[List[Dict[str, dict]]]) -> None:
    """pyprof's sampler switched on and off inside one process."""
    blocks = [block for process in processes for block in process]
    off = [block["0"]["cpu_s"] for block in blocks]
    add("## pyprof's overhead inside one process (sampling switched on and off)")
    add("")
    add(
        "A finer measurement of the same cost (bench/workloads/onoff.py): a "
        "process runs the same slice of work (the cpu workload's integer loop) in "
        "blocks; each block runs one slice with the sampler off "
        "and one at each rate (`pyprof.start()` / `pyprof.stop()` around the "
        "slice, outside the timed part), in a shuffled order. Each sampled slice "
        "is compared with the unsampled slice of its own block, a fraction of a "
        "second apart, so the machine's drift mostly cancels. Slice without "
        f"sampling: {median(off):.3f} s CPU (median). This leaves out the "
        "command's fixed cost (start-up, writing the profile), shown above. "
        "The added CPU is split between the program's main thread (signal "
        "handler, and giving up the GIL to the drain thread) and pyprof's drain "
        "thread, whose cost is also shown per second of wall time: it wakes on "
        "a wall-clock interval, whatever the rate. One such process ran in "
        f"every overhead round ({len(processes)} processes, {len(blocks)} blocks "
        "in all), so that a passing state of the machine weighs on few blocks; "
        "the spread of the per-process medians shows how far the machine moved "
        "the figure from one process to the next."
    )
    add("")
    add(
        "| rate | blocks | CPU added while sampling | 95% CI | IQR | "
        "per-process medians | "
        "in the main thread | in the drain thread | drain, ms per wall-s | "
        "samples per CPU-s | µs per sample | 95% CI | target | verdict |"
    )
    add("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
    for row in _on_off_rows(processes):
        per_process = [
            median(r.added)
            for p in processes
            for r in _on_off_rows([p])
            if r.rate == row.rate
        ]
        target = TARGETS.get(row.rate)
        low, high = (
            bootstrap_median_ci(row.per_sample_us) if row.per_sample_us else (0, 0)
        )
        add(
            "| "
            + " | ".join(
                [
                    format_rate(row.rate),
                    str(len(blocks)),
                    pct(median(row.added), 2),
                    _ci(row.added, 2),
                    _range(row.added, 2),
                    f"{pct(min(per_process), 1)} .. {pct(max(per_process), 1)}",
                    pct(median(row.main), 2) if row.main else "",
                    pct(median(row.drain), 2) if row.drain else "",
                    f"{median(row.drain_ms_per_wall_s):.1f}" if row.drain else "",
                    f"{median(row.per_cpu_s):.0f}",
                    f"{median(row.per_sample_us):.1f}" if row.per_sample_us else "",
                    f"{low:.1f} .. {high:.1f}" if row.per_sample_us else "",
                    f"< {target * 100:g}%" if target else "",
                    _verdict(row.added, target),
                ]
            )
            + " |"
        )
    add("")


def _accuracy_rows(accuracy: Dict[Config, List[Run]]):
    for config, runs in accuracy.items():
        runs = [r for r in runs if r.shares]
        if not runs:
            continue
        pooled = {
            name: _mean([r.shares[name] for r in runs]) for name in SPLIT_FUNCTIONS
        }
        worst = max(abs(pooled[n] - SPLIT_TRUTH[n]) for n in SPLIT_FUNCTIONS)
        worst_run = max(
            abs(r.shares[n] - SPLIT_TRUTH[n]) for r in runs for n in SPLIT_FUNCTIONS
        )
        yield config, runs, pooled, worst, worst_run


def _error_against_own_timing(runs: List[Run]) -> Optional[float]:
    """Worst error of the mean shares against the mean of the runs' own
    timing of the same slices, which follows any drift of the machine."""
    timed = [r for r in runs if r.timed_shares]
    if not timed:
        return None
    return max(
        abs(
            _mean([r.shares[n] for r in timed])
            - _mean([r.timed_shares[n] for r in timed])
        )
        for n in SPLIT_FUNCTIONS
    )


def _sampling_noise(runs: List[Run]) -> str:
    """One standard error, in points, of a 50% share estimated from all the
    runs' samples together: what sampling alone explains."""
    total = sum(r.samples or 0 for r in runs)
    return f"{100 * (0.25 / total) ** 0.5:.1f}" if total else ""


def _points(value: Optional[float]) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def _render_periodic(add, accuracy: Dict[Config, List[Run]]) -> None:
    rows = list(_accuracy_rows(accuracy))
    if not rows:
        return
    add("### The same split with a fixed cycle")
    add("")
    add(
        "With `PYPROF_BENCH_SPLIT=periodic` the workload runs alpha, beta and "
        "gamma in the same order and size every round, a cycle of a few "
        "milliseconds of CPU. pyprof's per-thread CPU timers fire on the "
        "kernel's tick, so when the cycle locks in phase with the tick one "
        "function gets more than its share of samples; how much depends on "
        "the machine's speed and load. py-spy samples on wall-clock time."
    )
    add("")
    add(
        "| configuration | runs | alpha | beta | gamma | error (mean shares) | "
        "worst single run | samples per run | sampling noise (1 SE) |"
    )
    add("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for config, runs, pooled, worst, worst_run in rows:
        samples = [r.samples for r in runs if r.samples]
        add(
            "| "
            + " | ".join(
                [config.name, str(len(runs))]
                + [f"{pooled[n] * 100:.1f}%" for n in SPLIT_FUNCTIONS]
                + [
                    f"{worst * 100:.1f}",
                    f"{worst_run * 100:.1f}",
                    f"{median(samples):.0f}" if samples else "",
                    _sampling_noise(runs),
                ]
            )
            + " |"
        )
    add("")


def _render_accuracy(add, accuracy: Dict[Config, List[Run]]) -> None:
    add("## Accuracy: the 50/30/20 split (bench/workloads/split.py)")
    add("")
    add(
        "Shares of alpha, beta and gamma among the three (run in a random order "
        "and slice size each round), averaged over runs: "
        "pyprof's flat cpu/nanoseconds per function from the written profile "
        "(`pyprof.pprof.load`), py-spy's leaf counts from `--format raw`, "
        "cProfile's tottime. Error is in percentage points against 50/30/20, "
        "and against the split each run measured on itself (the workload times "
        "every slice, profiled or not). pyprof counts CPU time; py-spy samples "
        "wall-clock time and cProfile times calls on a wall clock by default, so "
        "on a busy machine the time a program waits for a CPU counts for them, "
        "unevenly between functions. "
        "The unprofiled row is the split the workload measured on itself with "
        "`time.thread_time_ns()` around every slice, which checks the truth."
    )
    add("")
    add(
        "| configuration | runs | alpha | beta | gamma | error (mean shares) | "
        "worst single run | error against the runs' own timing | "
        "outside the three | samples per run | sampling noise (1 SE) |"
    )
    add("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for config, runs, pooled, worst, worst_run in _accuracy_rows(accuracy):
        other = [r.other_share for r in runs if r.other_share is not None]
        samples = [r.samples for r in runs if r.samples]
        name = "unprofiled (self-timed)" if config.tool == "none" else config.name
        add(
            "| "
            + " | ".join(
                [
                    name,
                    str(len(runs)),
                    *[f"{pooled[n] * 100:.1f}%" for n in SPLIT_FUNCTIONS],
                    f"{worst * 100:.1f}",
                    f"{worst_run * 100:.1f}",
                    _points(_error_against_own_timing(runs))
                    if config.tool != "none"
                    else "",
                    f"{median(other) * 100:.1f}%" if other else "",
                    f"{median(samples):.0f}" if samples else "",
                    _sampling_noise(runs),
                ]
            )
            + " |"
        )
    add("")


def _noise_caveat(figures, rows: List[OnOff]) -> Optional[str]:
    """A warning when this machine's noise is as large as the targets: the
    control's spread, or sampled slices coming out cheaper than unsampled."""
    spreads = []
    for per_config in figures.values():
        for config, fig in per_config.items():
            if config.tool == "none" and len(fig.sampling) >= 2:
                low, high = iqr(fig.sampling)
                spreads.append(high - low)
    cheaper = [row for row in rows if median(row.added) < 0]
    smallest = min(TARGETS.values())
    if not cheaper and (not spreads or max(spreads) < smallest):
        return None
    text = "Read the pass/fail verdicts with care: on this machine "
    if spreads:
        text += (
            f"unprofiled runs differ from their neighbours by up to "
            f"{max(spreads) * 100:.1f}% (IQR of the control)"
        )
    if cheaper:
        text += (" and " if spreads else "") + (
            "sampled slices came out cheaper than unsampled ones at "
            + ", ".join(format_rate(row.rate) for row in cheaper)
            + ", which points at the machine rather than the sampler"
        )
    return (
        text + "; differences of a percent or two are below what it can "
        "resolve. The drain thread's share below is measured directly and holds."
    )


def _per_sample_findings(figures) -> List[str]:
    """(CPU at the highest rate - CPU unsampled) / samples, per tool."""
    said = []
    for tool in ("pyprof", "py-spy"):
        parts = []
        for workload, per_config in figures.items():
            tops = [f for c, f in per_config.items() if c.tool == tool]
            top = _top_rate(tops[0].config, per_config) if tops else None
            if top is None:
                continue
            low, high = bootstrap_median_ci(top.per_sample_us)
            parts.append(
                f"{median(top.per_sample_us):.0f} µs on the {workload} workload "
                f"(CI {low:.0f} .. {high:.0f})"
            )
        if not parts:
            continue
        rate = format_rate(
            max(c.rate_hz for p in figures.values() for c in p if c.tool == tool)
        )
        text = f"Cost per sample for {tool}, from its {rate} runs: " + "; ".join(parts)
        if tool == "pyprof":
            text += (
                ". A negative figure, or an interval that takes in zero, means the "
                "cost of a sample is too small for whole processes on this machine "
                "to show"
            )
        else:
            text += ", most of it in py-spy's own process"
        said.append(text + ".")
    return said


def _render_findings(add, figures, accuracy, on_off) -> None:
    """The sentences under the tables: one per figure that matters."""
    add("## What the figures say")
    add("")
    for sentence in _findings(figures, accuracy, on_off or []):
        add(f"- {sentence}")
    add("")


def _findings(figures, accuracy, on_off) -> List[str]:
    said: List[str] = []
    rows = _on_off_rows(on_off)
    noise = _noise_caveat(figures, rows)
    if noise:
        said.append(noise)
    for row in rows:
        target = TARGETS.get(row.rate)
        if not target:
            continue
        low, high = bootstrap_median_ci(row.added)
        verdict = _verdict(row.added, target).replace("**", "")
        said.append(
            f"pyprof at {format_rate(row.rate)}, measured inside one process: "
            f"{pct(median(row.added), 2)} CPU (95% CI {pct(low, 2)} .. "
            f"{pct(high, 2)}) against a target under {target * 100:g}%: {verdict}."
        )
    if len(rows) >= 2 and median(rows[0].added) > 0:
        first, last = rows[0], rows[-1]
        more_samples = median(last.per_cpu_s) / median(first.per_cpu_s)
        more_cost = median(last.added) / median(first.added)
        said.append(
            f"From {format_rate(first.rate)} to {format_rate(last.rate)} pyprof "
            f"takes {more_samples:.1f} times the samples per CPU-second "
            f"({median(first.per_cpu_s):.0f} to {median(last.per_cpu_s):.0f}) while "
            f"the CPU it adds changes by a factor of {more_cost:.1f}"
            + (
                ": most of the cost does not come from samples, so "
                "(CPU at the highest rate - CPU unsampled) / samples overstates the "
                "cost of one sample."
                if more_cost < 0.5 * more_samples
                else "."
            )
        )
    if rows and rows[0].drain:
        first, last = rows[0], rows[-1]
        said.append(
            f"pyprof's drain thread alone, measured on its own CPU clock rather "
            f"than as a difference, uses {median(first.drain) * 100:.2f}% of the "
            f"program's CPU at {format_rate(first.rate)} and "
            f"{median(last.drain) * 100:.2f}% at {format_rate(last.rate)} "
            f"({median(first.drain_ms_per_wall_s):.1f} ms per second of wall "
            "time): a floor under pyprof's overhead whatever the noise. It wakes "
            "on a fixed interval whatever the rate, so its share grows when the "
            "machine is busy and the program gets less CPU per second."
        )
    said.extend(_per_sample_findings(figures))
    rates_seen = [
        f
        for per_config in figures.values()
        for c, f in per_config.items()
        if c.tool == "pyprof" and f.rate
    ]
    if rates_seen:
        top = max(rates_seen, key=lambda f: f.config.rate_hz)
        said.append(
            f"Asked for {format_rate(top.config.rate_hz)}, pyprof took "
            f"{median(top.rate):.0f} samples per CPU-second: per-thread CPU "
            "timers fire on the kernel's tick (CONFIG_HZ), so above it each sample "
            "stands for several periods (pyprof says so on stderr, and counts the "
            "CPU time in full)."
        )
    for workload, per_config in figures.items():
        pyprof_rows = [f for c, f in per_config.items() if c.tool == "pyprof"]
        control = [f for c, f in per_config.items() if c.tool == "none"]
        if not pyprof_rows:
            continue
        parts = ", ".join(
            f"{pct(median(f.sampling), 1)} at {format_rate(f.config.rate_hz)}"
            for f in pyprof_rows
        )
        noise = ""
        if control:
            c_low, c_high = iqr(control[0].sampling)
            noise = (
                f"; unprofiled runs against their neighbours spread from "
                f"{pct(c_low, 1)} to {pct(c_high, 1)} (IQR), so these whole-process "
                "figures can only confirm the in-process ones to within a few percent"
            )
        outside = median([v for f in pyprof_rows for v in f.outside_ms])
        said.append(
            f"`pyprof record` on the {workload} workload: {parts} CPU while "
            f"sampling{noise}. Outside the program's body the command spends "
            f"another {outside:.0f} ms (its own start-up, the hook in the child, "
            "writing the profile), which does not grow with run time."
        )
    for workload, per_config in figures.items():
        spy = [f for c, f in per_config.items() if c.tool == "py-spy"]
        if spy:
            parts = ", ".join(
                f"{pct(median(f.sampling), 1)} at {format_rate(f.config.rate_hz)} "
                f"({pct(median(f.tool_process), 1) if f.tool_process else '?'} "
                "in its own process)"
                for f in spy
            )
            said.append(f"py-spy on the {workload} workload: {parts}.")
        for config, fig in per_config.items():
            if config.tool == "cprofile":
                said.append(
                    f"cProfile on the {workload} workload: "
                    f"{pct(median(fig.sampling), 0)} "
                    f"({1 + median(fig.sampling):.2f}x): the cost of hooking every "
                    "call."
                )
    for config, runs, pooled, worst, worst_run in _accuracy_rows(accuracy["split"]):
        split = "/".join(f"{pooled[n] * 100:.1f}" for n in SPLIT_FUNCTIONS)
        if config.tool == "none":
            said.append(
                f"The split workload timed itself at {split}, {worst * 100:.1f} "
                "points from the designed 50/30/20, so the truth holds."
            )
        else:
            said.append(
                f"{config.name} read the split as {split}: {worst * 100:.1f} points "
                f"off on average over {len(runs)} runs, {worst_run * 100:.1f} in the "
                "worst run."
            )
    shuffled = {row[0]: row[3] for row in _accuracy_rows(accuracy["split"])}
    periodic = list(_accuracy_rows(accuracy.get("split-periodic", {})))
    if periodic:
        parts = ", ".join(
            f"{config.name} {worst * 100:.1f} (shuffled: "
            f"{shuffled.get(config, float('nan')) * 100:.1f})"
            for config, _, _, worst, _ in periodic
        )
        said.append(
            f"Error with a fixed cycle, in points: {parts}. Where pyprof's "
            "error grows well beyond the shuffled one and its sampling noise, "
            "the cycle has locked in phase with the tick on which CPU-time "
            "timers fire."
        )
    return said
