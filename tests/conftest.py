"""Shared fixtures: run the pyprof command line, read numbers out of profiles."""

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TARGETS = TESTS / "targets"

# The pyprof command line as a child process, run by the Python under test.
PYPROF = [sys.executable, "-c", "from pyprof.cli import main; main()"]


def run_pyprof(*args, timeout=120, ignore_pythonpath=False, **kwargs):
    """Run ``pyprof ARGS``; return the CompletedProcess (text, captured).

    With ignore_pythonpath, pyprof itself runs with ``python -E``, so that a
    PYTHONPATH meant for the recorded program does not change pyprof.
    """
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    command = PYPROF[:1] + ["-E"] + PYPROF[1:] if ignore_pythonpath else PYPROF
    return subprocess.run([*command, *args], timeout=timeout, **kwargs)


def cpu_by_function(profile, thread=None):
    """Per function name: (flat, cum) CPU nanoseconds, and the total.

    cum counts a function once per sample however often it recurses, as
    pprof does. With thread given, only samples labelled with that thread.
    """
    strings = profile.string_table
    names = {f.id: strings[f.name] for f in profile.function}
    lines = {
        loc.id: [names[line.function_id] for line in loc.line]
        for loc in profile.location
    }
    flat = defaultdict(int)
    cum = defaultdict(int)
    total = 0
    for sample in profile.sample:
        labels = {strings[lb.key]: strings[lb.str] for lb in sample.label}
        if thread is not None and labels.get("thread") != thread:
            continue
        value = sample.value[-1]
        total += value
        stack = [name for loc in sample.location_id for name in lines[loc]]
        if stack:
            flat[stack[0]] += value
        for name in set(stack):
            cum[name] += value
    return {n: (flat[n], cum[n]) for n in cum}, total


@pytest.fixture(scope="session")
def pyprof_argv():
    """The argv that starts the pyprof command line, for Popen."""
    return list(PYPROF)


@pytest.fixture(scope="session")
def pyprof_run():
    """run_pyprof: pyprof_run(*args, **subprocess_kwargs) -> CompletedProcess."""
    return run_pyprof


@pytest.fixture
def record(tmp_path):
    """Record a command: record(*cmd, rate=None) -> (CompletedProcess, path)."""

    def run(*cmd, rate=None, output=None, options=(), **kwargs):
        """kwargs go to run_pyprof (env, input, ignore_pythonpath, ...)."""
        out = Path(output) if output else tmp_path / "profile.pb.gz"
        options = ["-o", str(out), *options]
        options += ["--rate", str(rate)] if rate else []
        kwargs.setdefault("cwd", str(tmp_path))
        return run_pyprof("record", *options, "--", *cmd, **kwargs), out

    return run


@pytest.fixture
def load_profile():
    from pyprof import pprof

    return lambda path: pprof.load(os.fspath(path))


@pytest.fixture
def cpu_shares():
    return cpu_by_function


@pytest.fixture
def targets():
    return TARGETS
