"""Every view and filter of pyprof against a live `go tool pprof`.

Synthetic profiles (labels of both kinds, inlining, recursion, mappings)
and a profile recorded by pyprof itself are written to disk; each case runs
`go tool pprof <view> <flags> FILES` and the same pyprof command, and the
stdout must be identical, byte for byte. Tests skip without go, except
under CI=true where they fail.
"""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from profile_maker import ProfileMaker
from pyprof import pprof
from pyprof.cli import cli

GO = shutil.which("go")
VIEWS = [["-top"], ["-tree"], ["-traces"], ["-raw"], ["-peek", "render|parse"],
         ["-list", "render"]]
FILTERS = [
    [], ["-focus=render"], ["-ignore=copy"], ["-hide=malloc"], ["-show=main|render"],
    ["-show_from=render"], ["-tagfocus=phase=draw"], ["-tagfocus=draw,ann"],
    ["-tagignore=user=bob"], ["-tagfocus=64kb:"], ["-tagfocus=bytes=:2kb"],
    ["-tagfocus=1kb"], ["-tagshow=phase"], ["-taghide=user"], ["-mean"],
    ["-relative_percentages", "-focus=render"], ["-unit=kB"], ["-unit=auto"],
    ["-drop_negative"], ["-trim=false"], ["-nodecount=2"], ["-edgefraction=0.5"],
    ["-sample_index=0"], ["-focus=main", "-ignore=inl", "-hide=helper"], ["-lines"],
    ["-files"], ["-addresses"], ["-noinlines"], ["-compact_labels"],
]
MERGES = [
    ["a.pb.gz", "b.pb.gz"], ["-base=a.pb.gz", "b.pb.gz"],
    ["-diff_base=a.pb.gz", "b.pb.gz"], ["-normalize", "-base=a.pb.gz", "b.pb.gz"],
    ["-diff_base=a.pb.gz", "-normalize", "b.pb.gz"],
    ["-drop_negative", "-base=b.pb.gz", "a.pb.gz"],
]
RECORDED = [[], ["-lines"], ["-focus=fib", "-show_from=fib"], ["-hide=fib"]]


def labelled():
    types = (("alloc_objects", "count"), ("alloc_space", "bytes"))
    m = ProfileMaker(sample_types=types)

    def add(stack, objects, space, labels=(), numbers=()):
        m.sample(stack, objects, space)
        sample = m.p.sample[-1]
        for key, value in labels:
            sample.label.add(key=m.s(key), str=m.s(value))
        for key, value, unit in numbers:
            sample.label.add(key=m.s(key), num=value, num_unit=m.s(unit) if unit else 0)

    add(["malloc", "parse", "main"], 3, 3000, [("phase", "load"), ("user", "ann")],
        [("bytes", 1024, "bytes")])
    add(["malloc", "render", "main"], 2, 70000, [("phase", "draw")],
        [("bytes", 65536, "bytes")])
    add(["copy", "render", "main"], 1, 900, [("phase", "draw"), ("user", "bob")],
        [("request", 100, "")])
    add([(("inl", 4), ("render", 9)), "main"], 5, 5_000_000, [],
        [("bytes", 4 << 20, "bytes")])
    add(["parse", "main"], 4, 400)
    add(["helper", "parse", "helper", "main"], 2, 222, [("phase", "load")])
    m.p.time_nanos = 1_700_000_000_123_456_000
    m.p.duration_nanos = 5_123_456_789
    m.p.period = 524288
    m.p.period_type.type, m.p.period_type.unit = m.s("space"), m.s("bytes")
    m.p.mapping.add(id=1, filename=m.s("/usr/bin/python3"), has_functions=True)
    for loc in m.p.location:
        loc.mapping_id = 1
    return m.p


def cpu(scale=1, extra=False):
    m = ProfileMaker()
    m.sample(["fib", "fib", "fib", "main"], 4, 40_000_000 * scale)
    m.sample(["work", "main"], 2, 20_000_000 * scale)
    m.sample([("leaf", 3), ("work", 5), "main"], 1, 10_000_000)
    if extra:
        m.sample(["new", "main"], 3, 30_000_000)
    return m.p


def busy(seconds):
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    def render():
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            fib(18)

    render()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("views")
    pprof.dump(labelled(), path / "lab.pb.gz")
    pprof.dump(cpu(), path / "a.pb.gz")
    pprof.dump(cpu(2, True), path / "b.pb.gz")
    import pyprof

    with pyprof.profile(str(path / "rec.pb.gz"), rate_hz=250):
        busy(0.4)
    (path / "home").mkdir()
    return path


def go_pprof(folder, args):
    if GO is None:
        if os.environ.get("CI") == "true":
            pytest.fail("go is not installed; CI must install golang-go")
        pytest.skip("go is not installed (apt-get install golang-go)")
    env = dict(os.environ, TZ="UTC", HOME=str(folder / "home"),
               PPROF_TMPDIR=str(folder),
               PPROF_BINARY_PATH="/nonexistent-pprof-binaries")
    done = subprocess.run([GO, "tool", "pprof", *args], env=env, cwd=folder,
                          capture_output=True, timeout=120)
    return done.returncode, done.stdout


def runner():
    """A CliRunner whose stdout holds the report only (click < 8.2 mixes
    stderr in unless told not to)."""
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:
        return CliRunner()


def pyprof_args(view, rest):
    command = [view[0].lstrip("-")] + view[1:]
    if command[0] == "top" and not any("nodecount" in a for a in rest):
        command.append("--all")
    return command + list(rest)


def run_pyprof(folder, args, monkeypatch):
    monkeypatch.chdir(folder)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        result = runner().invoke(cli, args)
    finally:
        monkeypatch.undo()
        time.tzset()
    return result.exit_code, result.stdout_bytes


def check(folder, view, rest, monkeypatch):
    go_status, expected = go_pprof(folder, view + rest)
    status, got = run_pyprof(folder, pyprof_args(view, rest), monkeypatch)
    assert (status == 0) == (go_status == 0)
    assert got.decode("utf-8", "replace") == expected.decode("utf-8", "replace")
    assert got == expected


def ids(value):
    return " ".join(value) or "plain"


@pytest.mark.parametrize("flags", FILTERS, ids=ids)
@pytest.mark.parametrize("view", VIEWS, ids=ids)
def test_filters_match_go(folder, view, flags, monkeypatch):
    check(folder, view, flags + ["lab.pb.gz"], monkeypatch)


@pytest.mark.parametrize("files", MERGES, ids=ids)
@pytest.mark.parametrize("view", VIEWS[:4], ids=ids)
def test_merged_and_base_profiles_match_go(folder, view, files, monkeypatch):
    check(folder, view, files, monkeypatch)


@pytest.mark.parametrize("flags", RECORDED, ids=ids)
@pytest.mark.parametrize("view", [["-top"], ["-tree"], ["-traces"], ["-raw"],
                                  ["-peek", "fib"], ["-list", "render"]], ids=ids)
def test_recorded_profile_matches_go(folder, view, flags, monkeypatch):
    check(folder, view, flags + ["rec.pb.gz"], monkeypatch)


def test_recorded_list_shows_this_file(folder, monkeypatch):
    status, got = run_pyprof(folder, ["list", "render", "rec.pb.gz"], monkeypatch)
    assert status == 0
    text = got.decode()
    assert "ROUTINE ======================== busy.<locals>.render in " in text
    assert str(Path(__file__).resolve()) in text
    assert "fib(18)" in text
