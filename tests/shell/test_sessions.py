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
    # Both run in the same folder (paths show in messages), one after the
    # other, so that each numbers its files from 001.
    work = tmp_path / "w"
    work.mkdir()
    go = go_session(session, profile, work)
    work.rename(tmp_path / "go")
    work.mkdir()
    mine = pyprof_session(session, profile, work)
    work.rename(tmp_path / "py")

    assert go.returncode == 0 and mine.returncode == 0
    assert mine.stdout.decode() == go.stdout.decode()
    assert mine.stderr.decode() == go_to_pyprof(go.stderr.decode())
    # The same files (>FILE, output=, profileNNN.png), DOT and text alike.
    theirs = sorted((tmp_path / "go").iterdir())
    mine = sorted((tmp_path / "py").iterdir())
    assert [p.name for p in mine] == [p.name for p in theirs]
    for path in theirs:
        if not path.name.endswith((".png", ".svg")):
            assert (tmp_path / "py" / path.name).read_bytes() == path.read_bytes()


def test_graph_images_are_graphviz_output(tmp_path):
    done = pyprof_session("graphs", "sample.cpu", tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["profile001.png", "profile001.svg", "profile002.svg",
                     "x.dot", "y.svg", "z.svg"]
    assert (tmp_path / "profile001.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in ("profile001.svg", "profile002.svg", "y.svg", "z.svg"):
        svg = (tmp_path / name).read_text()
        assert "<svg" in svg and "busyLoop" in svg
    # x.dot is `dot` with nodecount=4: the first lines of a DOT graph.
    assert (tmp_path / "x.dot").read_text().startswith('digraph "sample.bin" {\n')


def test_stored_expectations_are_real_go_sessions():
    """The stored files hold pprof's greeting and prompts, not pyprof's."""
    err = (EXPECTED / "reports.sample.cpu.err").read_text()
    out = (EXPECTED / "reports.sample.cpu.out").read_text()
    assert "Local symbolization failed" in err  # only go tool pprof says this
    assert out.startswith("(pprof) Showing nodes accounting for 1.76s, 100% of "
                          "1.76s total\n")
    assert out.endswith("(pprof) ")
