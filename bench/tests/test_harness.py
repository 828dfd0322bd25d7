"""Checks of the bench harness itself: its statistics, its readers of the
tools' outputs, its run order, and that its CPU figures measure what they say.

Run with `python -m pytest -q -p no:cacheprovider bench/tests` (the project's
suite under tests/ does not collect them: they start real processes for a
few seconds and py-spy, when installed, needs ptrace).
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import run  # noqa: E402
import runner  # noqa: E402
import stats  # noqa: E402

VENV_BIN = Path(sys.executable).parent
TOOLS = runner.Tools(
    python=sys.executable,
    pyprof=run._which("pyprof", VENV_BIN),
    py_spy=run._which("py-spy", VENV_BIN),
)


def test_percentile_interpolates_between_order_statistics():
    assert stats.median([3, 1, 2]) == 2
    assert stats.median([1, 2, 3, 4]) == 2.5
    assert stats.iqr([1, 2, 3, 4, 5]) == (2, 4)
    assert stats.percentile([10, 20], 0.25) == 12.5


def test_bootstrap_interval_contains_the_median_and_narrows_with_more_runs():
    few = [1.0, 1.1, 0.9, 1.05, 0.95]
    many = few * 20
    low_few, high_few = stats.bootstrap_median_ci(few)
    low_many, high_many = stats.bootstrap_median_ci(many)
    assert low_few <= stats.median(few) <= high_few
    assert high_many - low_many < high_few - low_few


def test_interleave_puts_an_unprofiled_run_first_last_and_between_every_two():
    configs = [runner.Config("pyprof", r) for r in (1, 2, 3, 4, 5)]
    sequence = run.interleave(configs, __import__("random").Random(0))
    assert sequence[0] == run.BASE and sequence[-1] == run.BASE
    assert sorted(c.rate_hz for c in sequence if c != run.BASE) == [1, 2, 3, 4, 5]
    for index, config in enumerate(sequence):
        if config != run.BASE:
            # every configuration has an unprofiled run on at least one side
            assert run.BASE in (sequence[index - 1], sequence[index + 1])
    assert len(sequence) == 5 + 4


def test_neighbouring_bases_skip_failed_runs_and_other_configurations():
    base, other = run.BASE, runner.Config("cprofile")
    sequence = [base, other, other, base, other, base]
    runs = ["b0", "o1", "o2", None, "o4", "b5"]
    assert run.neighbouring_bases(sequence, runs, 2) == ["b0", "b5"]
    assert run.neighbouring_bases(sequence, runs, 1) == ["b0", "b5"]


def test_py_spy_collapsed_stacks_give_leaf_counts(tmp_path):
    raw = tmp_path / "raw.txt"
    raw.write_text(
        "<module> (split.py:60);body (split.py:50);alpha (split.py:27) 50\n"
        "<module> (split.py:60);body (split.py:50);beta (split.py:34) 30\n"
        "<module> (split.py:60);body (split.py:50);gamma (split.py:41) 15\n"
        "<module> (split.py:60);body (split.py:51) 5\n"
    )
    weights, samples = runner.read_py_spy(raw, "py-spy> ... Samples: 101 Errors: 0")
    assert weights == {"alpha": 50, "beta": 30, "gamma": 15, "body": 5}
    assert samples == 101
    shares, other = runner.split_shares(weights)
    assert shares["alpha"] == pytest.approx(50 / 95)
    assert other == pytest.approx(0.05)


def test_cprofile_reader_takes_own_time_per_function(tmp_path):
    import cProfile

    # A clock that advances one unit per reading makes tottime exact: each
    # function's own time is the readings taken while it is on top.
    ticks = iter(range(10**6))
    profiler = cProfile.Profile(timer=lambda: next(ticks), timeunit=1.0)

    def inner():
        return 1

    def outer():
        return inner() + inner()

    profiler.runcall(outer)
    path = tmp_path / "out.prof"
    profiler.dump_stats(str(path))
    weights = runner.read_cprofile(path)
    # inner: two calls of one tick each; outer: the three gaps around them.
    assert weights["inner"] == 2
    assert weights["outer"] == 3


def test_cprofile_run_gives_the_split_roughly():
    # cProfile times calls on a wall clock, so on a busy machine waiting for
    # a CPU lands on whichever function was running: only the order is sure.
    result = runner.run_once(runner.Config("cprofile"), "split", TOOLS, scale=0.2)
    shares = result.shares
    assert sum(shares.values()) == pytest.approx(1)
    assert shares["alpha"] > shares["gamma"]
    assert result.other_share < 0.2


def test_cpu_figures_scale_with_the_work_done():
    # Twice the work must read as about twice the CPU, in the body and in the
    # whole command; the margins allow a shared, noisy machine.
    small = runner.run_once(run.BASE, "cpu", TOOLS, scale=0.15)
    large = runner.run_once(run.BASE, "cpu", TOOLS, scale=0.3)
    assert 1.5 < large.body_cpu_s / small.body_cpu_s < 2.6
    for result in (small, large):
        assert result.process_cpu_s >= result.body_cpu_s
        assert result.command_cpu_s >= result.process_cpu_s


def test_split_workload_measures_its_own_split():
    result = runner.run_once(run.BASE, "split", TOOLS, scale=0.2)
    for name, truth in runner.SPLIT_TRUTH.items():
        assert result.shares[name] == pytest.approx(truth, abs=0.04)


def test_py_spy_command_cpu_includes_the_program_it_spawned():
    # wait4() on py-spy counts the program only if py-spy reaps it; the
    # bench's "py-spy's own process" figure relies on that.
    assert TOOLS.py_spy, "py-spy is not installed (pip install py-spy)"
    result = runner.run_once(runner.Config("py-spy", 100), "cpu", TOOLS, scale=0.2)
    assert result.command_cpu_s > result.process_cpu_s >= result.body_cpu_s
    assert result.samples and result.samples > 5


def test_pyprof_profile_gives_samples_and_the_split():
    assert TOOLS.pyprof, "pyprof is not installed in this interpreter's venv"
    result = runner.run_once(runner.Config("pyprof", 1000), "split", TOOLS, scale=0.5)
    assert result.samples and result.samples > 50
    for name in runner.SPLIT_FUNCTIONS:
        assert result.shares[name] == pytest.approx(result.timed_shares[name], abs=0.1)


def test_pyprof_reader_takes_flat_cpu_and_the_samples_column(tmp_path):
    from pyprof import builder, pprof

    def frames(*names):
        return tuple(
            (name, "split.py", 10 * i, 10 * i + 2) for i, name in enumerate(names)
        )

    # Leaf first; a period is 1 ms, and alpha's samples had overruns.
    aggregate = {
        ("MainThread", frames("alpha", "body", "<module>")): [40, 50],
        ("MainThread", frames("beta", "body", "<module>")): [30, 30],
        ("MainThread", frames("gamma", "body", "<module>")): [20, 20],
        ("MainThread", frames("body", "<module>")): [5, 5],
        ("worker", frames("alpha", "run")): [0, 0],
    }
    profile = builder.build_cpu_profile(
        aggregate, period_ns=1_000_000, start_ns=0, duration_ns=10**9
    )
    path = tmp_path / "p.pb.gz"
    pprof.dump(profile, path)

    weights, samples = runner.read_pyprof(path)
    assert samples == 95
    assert weights == {"alpha": 50e6, "beta": 30e6, "gamma": 20e6, "body": 5e6}
    shares, other = runner.split_shares(weights)
    assert shares == {"alpha": 0.5, "beta": 0.3, "gamma": 0.2}
    assert other == pytest.approx(5 / 105)


def test_on_off_blocks_pair_an_unsampled_slice_with_each_rate():
    blocks = runner.run_on_off(TOOLS, scale=0.05, rates=[100, 1000])
    assert len(blocks) == 3
    for block in blocks:
        assert set(block) == {"0", "100", "1000"}
        assert block["0"]["samples"] == 0
        assert block["1000"]["samples"] > 0
        # the same work each slice: within a factor of two on a busy machine
        assert 0.5 < block["1000"]["cpu_s"] / block["0"]["cpu_s"] < 2
