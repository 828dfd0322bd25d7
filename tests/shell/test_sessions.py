"""Each session of sessions.py fed to `pyprof shell` on stdin prints what
go tool pprof 1.19 printed for it: stdout byte for byte (the prompts and the
reports), stderr too once go's symbolization notes and the `o` rows of
pprof options pyprof lacks are taken out.

The expectations in expected/ were recorded with make_expected.py (see its
docstring); with go installed the same sessions also run live.
"""

import pytest

from sessions import EXPECTED
from sessions import RUNS
from shell_support import go_session
from shell_support import go_to_pyprof
from shell_support import pyprof_session

# `help` is compared for its layout in test_help.py (pyprof's own words).
COMPARED = [run for run in RUNS if run[0] != "help"]


def _ids(run):
    return f"{run[0]}-{run[1]}"


@pytest.mark.parametrize("run", COMPARED, ids=_ids)
def test_session_matches_stored_go_output(run, tmp_path):
    session, profile = run
    stem = EXPECTED / f"{session}.{profile}"
    want_out = stem.with_name(stem.name + ".out").read_bytes()
    want_err = stem.with_name(stem.name + ".err").read_text()

    done = pyprof_session(session, profile, tmp_path)

    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode() == want_out.decode()
    assert done.stderr.decode() == go_to_pyprof(want_err)


@pytest.mark.parametrize("run", [r for r in COMPARED if r[1] == "sample.cpu"]
                         + [("sample_index", "go.nomappings.crash")], ids=_ids)
def test_session_matches_live_go(run, tmp_path):
    session, profile = run
    go = go_session(session, profile, tmp_path)

    mine = pyprof_session(session, profile, tmp_path)

    assert go.returncode == 0 and mine.returncode == 0
    assert mine.stdout.decode() == go.stdout.decode()
    assert mine.stderr.decode() == go_to_pyprof(go.stderr.decode())


def test_stored_expectations_are_real_go_sessions():
    """The stored files hold pprof's greeting and prompts, not pyprof's."""
    err = (EXPECTED / "reports.sample.cpu.err").read_text()
    out = (EXPECTED / "reports.sample.cpu.out").read_text()
    assert "Local symbolization failed" in err  # only go tool pprof says this
    assert out.startswith("(pprof) Showing nodes accounting for 1.76s, 100% of "
                          "1.76s total\n")
    assert out.endswith("(pprof) ")
