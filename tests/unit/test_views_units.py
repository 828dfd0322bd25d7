"""Merging profiles whose units differ (milliseconds and nanoseconds, ...):
converted to the finest unit as `go tool pprof` does, and Go's messages for
profiles that cannot merge. Compared with a live `go tool pprof` (skipped
without go, except under CI=true where it fails)."""

import os
import shutil
import subprocess

import pytest

from profile_maker import ProfileMaker
from pyprof import graph
from pyprof import pprof
from pyprof.report.top import top_report

GO = shutil.which("go")

# name: (sample types, value scale, period type or None)
PROFILES = {
    "ns": ([("samples", "count"), ("cpu", "nanoseconds")], 1_000_000, ("cpu", "nanoseconds")),
    "ms": ([("samples", "count"), ("cpu", "milliseconds")], 1, ("cpu", "milliseconds")),
    "us": ([("samples", "count"), ("cpu", "microseconds")], 1000, ("cpu", "microseconds")),
    "sec": ([("samples", "count"), ("cpu", "seconds")], 1, ("cpu", "seconds")),
    "heap_kb": ([("alloc_space", "kilobytes")], 3, None),
    "heap_b": ([("alloc_space", "bytes")], 700, None),
    "sample1": ([("sample", "count"), ("cpu", "nanoseconds")], 1_000_000, ("cpu", "nanoseconds")),
    "bytes": ([("samples", "count"), ("alloc_space", "bytes")], 1_000_000, ("cpu", "nanoseconds")),
    "one": ([("samples", "count")], 1, ("cpu", "nanoseconds")),
    "wall": ([("samples", "count"), ("cpu", "nanoseconds")], 1_000_000, ("wall", "nanoseconds")),
    "noperiod": ([("samples", "count"), ("cpu", "nanoseconds")], 1_000_000, None),
    "furl": ([("samples", "count"), ("cpu", "furlongs")], 1, ("cpu", "furlongs")),
}


def make(name):
    types, scale, period = PROFILES[name]
    m = ProfileMaker(types)
    m.sample(["f", "main"], *[1 * scale] * len(types))
    m.sample(["g", "main"], *[3 * scale] * len(types))
    m.sample(["h", "main"], *[1] * len(types))  # rounds to zero in coarser units
    if period:
        m.p.period_type.type = m.s(period[0])
        m.p.period_type.unit = m.s(period[1])
        m.p.period = 10 * scale
    return m.p


MERGED = [["ns", "ms"], ["ms", "ns"], ["ms", "us"], ["sec", "ms"], ["us", "sec", "ns"],
          ["heap_kb", "heap_b"], ["-base=ns", "ms"], ["-diff_base=us", "ms"],
          ["-base=heap_b", "heap_kb"]]
FAILING = {
    ("ns", "bytes"): "sample types: incompatible types: {cpu nanoseconds 0 0} "
                     "{alloc_space bytes 0 0}",
    ("ns", "one"): "inconsistent samples type count: 2 != 1",
    ("ns", "wall"): "period type: incompatible types: {cpu nanoseconds 0 0} "
                    "{wall nanoseconds 0 0}",
    ("ns", "noperiod"): "period type: incompatible types: {cpu nanoseconds 0 0} {  0 0}",
    ("ns", "furl"): "period type: incompatible types: {cpu nanoseconds 0 0} "
                    "{cpu furlongs 0 0}",
    ("-base=bytes", "ms"): "sample types: incompatible types: {cpu milliseconds 0 0} "
                           "{alloc_space bytes 0 0}",
    ("-normalize", "-base=ns", "ms"): "incompatible period types &{cpu milliseconds 0 0} "
                                      "and &{cpu nanoseconds 0 0}",
    # Go prints pointers for this one; pyprof prints the types.
    ("ns", "sample1"): "incompatible sample types [{samples count 0 0} "
                       "{cpu nanoseconds 0 0}] and [{sample count 0 0} {cpu nanoseconds 0 0}]",
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("units")
    for name in PROFILES:
        pprof.dump(make(name), str(path / name))
    return path


def prepared(folder, args):
    sources = [pprof.load(str(folder / a)) for a in args if not a.startswith("-")]
    bases = [pprof.load(str(folder / a.partition("=")[2])) for a in args
             if a.startswith(("-base=", "-diff_base="))]
    return graph.prepare_many(sources, bases,
                              diff_base=any(a.startswith("-diff_base") for a in args),
                              normalize="-normalize" in args)


def go(folder, args):
    if not GO:
        if os.environ.get("CI") == "true":
            pytest.fail("go is required under CI=true")
        pytest.skip("go is not installed")
    env = dict(os.environ, TZ="UTC", HOME=str(folder), PPROF_TMPDIR=str(folder),
               PPROF_BINARY_PATH="/nonexistent-pprof-binaries")
    return subprocess.run([GO, "tool", "pprof", "-top", *args], capture_output=True,
                          text=True, cwd=folder, env=env, timeout=120)


def test_finer_unit_wins_and_values_are_converted(folder):
    p = prepared(folder, ["ms", "ns"])
    assert p.sample_types == [("samples", "count"), ("cpu", "nanoseconds")]
    assert p.period_type == ("cpu", "nanoseconds") and p.period == 10_000_000
    # f: 1 ms + 1 ms, g: 3 ms + 3 ms, h: 1 ms + 1 ns
    assert sorted(s.values[1] for s in p.samples) == [1_000_001, 2_000_000, 6_000_000]
    heap = prepared(folder, ["heap_b", "heap_kb"])
    assert heap.sample_types == [("alloc_space", "bytes")]
    # f: 700 B + 3 kB, g: 2100 B + 9 kB, h: 1 B + 1 kB
    assert sorted(s.values[0] for s in heap.samples) == [
        1 + 1024, 700 + 3 * 1024, 3 * 700 + 9 * 1024]
    seconds = prepared(folder, ["sec", "ms"])
    assert seconds.sample_types[1] == ("cpu", "milliseconds")
    assert seconds.period == 10_000


@pytest.mark.parametrize("args", MERGED, ids=" ".join)
def test_merged_top_matches_go(folder, args, utc):
    done = go(folder, args)
    assert done.returncode == 0, done.stderr
    assert top_report(prepared(folder, args), graph.GraphOptions()).text() == done.stdout


@pytest.mark.parametrize("args", list(FAILING), ids=" ".join)
def test_incompatible_profiles_give_gos_message(folder, args):
    with pytest.raises(graph.GraphError) as caught:
        prepared(folder, list(args))
    assert str(caught.value) == FAILING[args]
    done = go(folder, list(args))
    assert done.returncode != 0 and done.stdout == ""
    if args != ("ns", "sample1"):
        assert FAILING[args] in done.stderr
