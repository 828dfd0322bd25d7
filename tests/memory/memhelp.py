"""Helpers for the memory profile tests (a module of its own name, so that
it never shadows another folder's conftest).

Each scenario runs in a fresh interpreter: the allocator hooks then never
touch pytest's own process, and a crash inside them fails one test instead
of killing the run."""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import pytest

import pyprof

PACKAGE_PARENT = str(pathlib.Path(pyprof.__file__).resolve().parent.parent)
TARGETS = pathlib.Path(__file__).resolve().parent / "targets"
# The pyprof command line as a child process, run by the Python under test.
PYPROF = [sys.executable, "-c", "from pyprof.cli import main; main()"]


def run_pyprof(*args, timeout=180, **kwargs):
    """Run ``pyprof ARGS``; return the CompletedProcess (text, captured)."""
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    env = dict(kwargs.pop("env", None) or os.environ)
    env["PYTHONPATH"] = PACKAGE_PARENT
    return subprocess.run([*PYPROF, *args], timeout=timeout, env=env, **kwargs)

PRELUDE = textwrap.dedent("""
    import json, sys
    from pyprof import heap

    def at_leaf(table, name, line=None):
        # Sum of the four values over stacks whose innermost frame is in
        # function `name` (and at `line`, if given).
        total = [0, 0, 0, 0]
        for frames, values in table.items():
            leaf = frames[0]
            if leaf[0] == name and (line is None or leaf[3] == line):
                for i in range(4):
                    total[i] += values[i]
        return total

    def anywhere(table, name):
        # Sum of the four values over stacks that pass through `name`.
        total = [0, 0, 0, 0]
        for frames, values in table.items():
            if any(f[0] == name for f in frames):
                for i in range(4):
                    total[i] += values[i]
        return total

    def report(**values):
        print("RESULT " + json.dumps(values))
""")


def run_snippet(code: str, timeout: float = 120, env=None) -> dict:
    """Run PRELUDE + code in a new interpreter; return what it report()s."""
    full_env = dict(os.environ if env is None else env)
    full_env["PYTHONPATH"] = PACKAGE_PARENT
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        capture_output=True, text=True, timeout=timeout, env=full_env,
    )
    assert done.returncode == 0, f"snippet failed ({done.returncode}):\n{done.stderr}"
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise AssertionError(f"snippet reported nothing:\n{done.stdout}\n{done.stderr}")


def go_tool() -> str:
    """The go binary; a failure in CI when missing, a skip elsewhere."""
    go = shutil.which("go")
    if go is None:
        if os.environ.get("CI") == "true":
            pytest.fail("go is required in CI: go tool pprof is the reference")
        pytest.skip("go is not installed; install golang-go to compare with pprof")
    return go


def leaf_values(profile, name):
    """Sum of each sample type over samples whose leaf function is name."""
    strings = profile.string_table
    names = {f.id: strings[f.name] for f in profile.function}
    leaf = {loc.id: names[loc.line[0].function_id] for loc in profile.location}
    total = [0] * len(profile.sample_type)
    for sample in profile.sample:
        if sample.location_id and leaf[sample.location_id[0]] == name:
            for i, v in enumerate(sample.value):
                total[i] += v
    return total
