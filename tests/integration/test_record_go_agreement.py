"""A recorded profile reads the same in `go tool pprof -top` and `pyprof top`.

go tool pprof (Go 1.19) is the reference reader. Locally the test skips
when go is missing; in CI (CI=true) a missing go is a failure.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

ROW = re.compile(r"^\s*(\S+)\s+(\S+%)\s+(\S+%)\s+(\S+)\s+(\S+%)  (.*)$")


def go_tool():
    go = shutil.which("go")
    if go is None:
        if os.environ.get("CI") == "true":
            pytest.fail("go is required in CI: go tool pprof is the reference")
        pytest.skip("go is not installed; install golang-go to compare with pprof")
    return go


def rows(text):
    """[(name, flat, cum)] from -top text, as printed, in order."""
    table = []
    for line in text.splitlines():
        match = ROW.match(line)
        if match and match.group(1) != "flat":
            table.append((match.group(6), match.group(1), match.group(4)))
    return table


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, pyprof_run):
    """One profile of split.py, recorded at 1 kHz."""
    folder = tmp_path_factory.mktemp("agree")
    path = folder / "split.pb.gz"
    targets = os.path.join(os.path.dirname(__file__), "..", "targets")
    result = pyprof_run(
        "record",
        "-o",
        str(path),
        "--rate",
        "1000",
        "--",
        sys.executable,
        os.path.join(targets, "split.py"),
        "1.5",
        cwd=str(folder),
    )
    assert result.returncode == 0, result.stderr
    return path


@pytest.mark.parametrize(
    "options",
    [[], ["-lines"], ["-cum"], ["-files"]],
    ids=["functions", "lines", "cum", "files"],
)
def test_go_top_and_pyprof_top_agree(recorded, options, pyprof_run):
    go = go_tool()
    env = dict(os.environ, TZ="UTC")
    theirs = subprocess.run(
        [go, "tool", "pprof", "-top", *options, str(recorded)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    ours = pyprof_run("top", "--all", *options, str(recorded), env=env)
    assert theirs.returncode == 0 and ours.returncode == 0, theirs.stderr + ours.stderr
    assert theirs.stderr == ""  # no "Main binary filename not available." etc.

    assert rows(ours.stdout) == rows(theirs.stdout)
    if "-files" not in options:
        names = {name.split()[0] for name, _, _ in rows(theirs.stdout)}
        assert {"spin", "heavy", "medium", "light"} <= names
    assert ours.stdout == theirs.stdout


def test_go_reads_every_report_without_complaint(recorded):
    go = go_tool()
    env = dict(os.environ, TZ="UTC")
    for options in (
        ["-traces"],
        ["-raw"],
        ["-top", "-tagfocus", "thread=MainThread"],
        ["-tree"],
    ):
        result = subprocess.run(
            [go, "tool", "pprof", *options, str(recorded)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert result.returncode == 0, (options, result.stderr)
        assert result.stderr == "", options
        assert "Local symbolization failed" not in result.stdout
        assert "<unknown>" not in result.stdout, options
