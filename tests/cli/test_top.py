"""`pyprof top` as a user runs it: rows, defaults, exit codes, error lines."""

import os
import shutil
import subprocess
import sys

import pytest

from corpus_paths import EXPECTED
from corpus_paths import SAMPLE
from corpus_paths import UPSTREAM


def pyprof_top(*args, cwd=None):
    assert SAMPLE.exists(), f"the shared corpus is missing: {UPSTREAM}"
    env = dict(os.environ, TZ="UTC")
    env.pop("PYPROF_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-c", "from pyprof.cli import main; main()", "top", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=60,
    )


def test_n_rows_match_go_tool_pprof_nodecount():
    done = pyprof_top("5", str(SAMPLE))
    assert done.returncode == 0, done.stderr
    assert done.stdout == (EXPECTED / "top_n5.out").read_text()


def test_all_rows_match_go_tool_pprof_top():
    done = pyprof_top("--all", str(SAMPLE))
    assert done.returncode == 0, done.stderr
    assert done.stdout == (EXPECTED / "top.out").read_text()


def test_pprof_spellings_are_accepted():
    done = pyprof_top("-nodecount=5", "-cum", str(SAMPLE))
    assert done.returncode == 0, done.stderr
    cum = pyprof_top("--all", "--cum", str(SAMPLE))
    assert cum.stdout == (EXPECTED / "top_cum.out").read_text()
    def names(text):
        return [line.split()[-1] for line in text.splitlines() if "%  " in line]

    assert names(done.stdout)[1:] == names(cum.stdout)[1:6]


def test_default_is_ten_rows_of_profile_pb_gz(tmp_path):
    shutil.copy(SAMPLE, tmp_path / "profile.pb.gz")
    done = pyprof_top(cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "Showing top 10 nodes out of 14" in lines
    header = lines.index("      flat  flat%   sum%        cum   cum%")
    rows = lines[header + 1:]
    assert len(rows) == 10
    assert rows[0].endswith("  runtime.mapiternext")
    assert done.stderr == ""


def assert_one_error(done, status, message):
    assert done.returncode == status
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0] == f"pyprof: error: {message}"
    assert len(lines) == 2 and lines[1].startswith("hint: ")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("n", ["0", "-5", "+0", "007x"])
def test_n_must_be_a_positive_integer(n):
    done = pyprof_top(n, str(SAMPLE))
    assert_one_error(done, 2, f"top: N={n} is not a positive integer")


def test_missing_file_is_one_line(tmp_path):
    missing = tmp_path / "nope.pb.gz"
    assert_one_error(pyprof_top("5", str(missing)), 1, f"reading {missing}: no such file")


def test_missing_default_file(tmp_path):
    assert_one_error(pyprof_top(cwd=tmp_path), 1, "reading profile.pb.gz: no such file")


def test_garbage_file_is_one_line(tmp_path):
    garbage = tmp_path / "notes.txt"
    garbage.write_text("these are not samples\n")
    assert_one_error(
        pyprof_top(str(garbage)), 1, f"reading {garbage}: not a gzip'd pprof profile"
    )


def test_unknown_option_and_missing_second_file():
    assert_one_error(pyprof_top("--bogus", str(SAMPLE)), 2, "top: unknown option --bogus")
    # Several files are merged; each must exist.
    assert_one_error(
        pyprof_top("3", str(SAMPLE), "extra"), 1, "reading extra: no such file",
    )


def test_bad_sample_index_lists_the_types():
    done = pyprof_top("--sample-index=wall", str(SAMPLE))
    assert_one_error(
        done, 2, f'showing {SAMPLE}: sample_index "wall" must be one of: [samples cpu]'
    )
