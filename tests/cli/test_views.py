"""pyprof tree, peek, traces, raw and list as a user runs them: text when
piped, one-line errors with an exit status and empty stdout, rich output on
a terminal."""

import os
import shutil
import subprocess
import sys

import pytest

from corpus_paths import EXPECTED
from corpus_paths import SAMPLE
from corpus_paths import UPSTREAM


def pyprof(*args, cwd=None):
    assert SAMPLE.exists(), f"the shared corpus is missing: {UPSTREAM}"
    env = dict(os.environ, TZ="UTC")
    env.pop("PYPROF_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-c", "from pyprof.cli import main; main()", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=60,
    )


def assert_error(done, status, fragment):
    assert done.returncode == status, done.stderr
    assert done.stdout == ""
    assert fragment in done.stderr.splitlines()[0]
    assert len(done.stderr.splitlines()) <= 2  # the error, and maybe one hint
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("view", ["tree", "traces", "raw"])
def test_piped_views_match_go_tool_pprof(view):
    done = pyprof(view, str(SAMPLE))
    assert done.returncode == 0, done.stderr
    assert done.stdout == (EXPECTED / f"{view}.out").read_text()


def test_peek_and_list_take_the_regexp_first():
    done = pyprof("peek", r"runtime\.mapiternext", str(SAMPLE))
    assert done.stdout == (EXPECTED / "peek_mapiternext.out").read_text()
    listed = pyprof("list", "-source_path", ".", r"main\.busyLoop", str(SAMPLE))
    assert listed.stdout == (EXPECTED / "list_busyloop_nosource.out").read_text()


def test_default_file_is_profile_pb_gz(tmp_path):
    shutil.copy(SAMPLE, tmp_path / "profile.pb.gz")
    done = pyprof("traces", cwd=tmp_path)
    assert done.stdout == (EXPECTED / "traces.out").read_text()


@pytest.mark.parametrize("view", ["tree", "traces", "raw", "top"])
@pytest.mark.parametrize("option", ["focus", "ignore", "hide", "show", "show_from",
                                    "tagfocus", "tagshow"])
def test_bad_regexp_names_the_option(view, option):
    done = pyprof(view, f"-{option}=(", str(SAMPLE))
    assert_error(done, 2, f"parsing {option} regexp")


@pytest.mark.parametrize("view", [["peek"], ["list"]])
def test_bad_argument_regexp(view):
    assert_error(pyprof(*view, "(", str(SAMPLE)), 2, "parsing argument regexp (")


@pytest.mark.parametrize("view", [["tree"], ["traces"], ["raw"], ["peek", "x"],
                                  ["list", "x"]])
def test_unknown_sample_index(view):
    done = pyprof(*view, "--sample-index=wall", str(SAMPLE))
    assert_error(done, 2, 'sample_index "wall" must be one of: [samples cpu]')


@pytest.mark.parametrize("view", [["tree"], ["traces"], ["raw"], ["peek", "x"],
                                  ["list", "x"]])
def test_missing_file(view, tmp_path):
    missing = tmp_path / "nope.pb.gz"
    assert_error(pyprof(*view, str(missing)), 1, f"reading {missing}: no such file")


@pytest.mark.parametrize("view", ["peek", "list"])
def test_regexp_matching_nothing(view):
    done = pyprof(view, "no_such_function", str(SAMPLE))
    assert_error(done, 1, "no matches found for regexp: no_such_function")


def test_missing_regexp_and_unknown_option():
    assert_error(pyprof("peek"), 2, "peek: missing the REGEX argument")
    done = pyprof("tree", "--bogus", str(SAMPLE))
    assert_error(done, 2, "tree: unknown option --bogus")


def test_base_and_diff_base_together(tmp_path):
    done = pyprof("tree", f"-base={SAMPLE}", f"-diff_base={SAMPLE}", str(SAMPLE))
    assert_error(done, 2, "-base and -diff_base cannot both be given")


def test_filter_matching_nothing_is_noted_on_stderr():
    done = pyprof("tree", "-focus=no_such_function", str(SAMPLE))
    assert done.returncode == 0
    assert "Focus expression matched no samples" in done.stderr
    assert "Active filters:\n   focus=no_such_function\n" in done.stdout


def test_terminal_renderings_show_the_same_names():
    from rich.console import Console

    from pyprof import graph
    from pyprof import pprof as codec
    from pyprof.render import print_list
    from pyprof.render import print_traces
    from pyprof.render import print_tree
    from pyprof.report.listing import list_report
    from pyprof.report.traces import traces_report
    from pyprof.report.tree import tree_report

    prepared = graph.prepare(codec.load(SAMPLE))
    opts = graph.GraphOptions(nodecount=80)
    console = Console(width=100, color_system=None, record=True)
    print_tree(tree_report(prepared, opts), console)
    print_traces(traces_report(prepared, opts), console)
    print_list(list_report(prepared, opts, r"main\.busyLoop"), console)
    text = console.export_text()
    assert "runtime.mapiternext" in text
    assert "↑ main.busyLoop" in text or "↓ main.busyLoop" in text
    assert "Total: 1.76s" in text
    assert "no such file or directory" in text
