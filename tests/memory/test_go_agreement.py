"""A heap profile reads the same in `go tool pprof -top` and `pyprof top`,
for each of Go's four heap sample types and for the default one."""

import subprocess
import sys

import pytest

from memhelp import TARGETS
from memhelp import go_tool
from memhelp import run_pyprof


@pytest.fixture(scope="module")
def heap_profile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("heap")
    heap = folder / "heap.pb.gz"
    done = run_pyprof(
        "record", "-o", str(folder / "cpu.pb.gz"), "--memory", "--memory-output",
        str(heap), "--mem-rate", "65536", "--", sys.executable,
        str(TARGETS / "split.py"), "1",
    )
    assert done.returncode == 0, done.stderr
    return heap


@pytest.mark.parametrize("index", [None, "alloc_objects", "alloc_space",
                                   "inuse_objects", "inuse_space"])
def test_go_tool_pprof_top_agrees_with_pyprof_top(heap_profile, index):
    go = go_tool()
    options = [] if index is None else [f"-sample_index={index}"]
    theirs = subprocess.run(
        [go, "tool", "pprof", "-top", *options, str(heap_profile)],
        capture_output=True, text=True, timeout=120,
    )
    assert theirs.returncode == 0, theirs.stderr
    ours = run_pyprof("top", "--all", "--text", *options, str(heap_profile))
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout
    expected_type = index or "inuse_space"
    assert f"Type: {expected_type}\n" in ours.stdout
