"""`pyprof top` against a live `go tool pprof -top` on synthetic profiles.

Each case writes a profile with pyprof.pprof.dump, runs Go's pprof on it
(with and without -nodecount) and compares stdout byte for byte. The cases
aim at the corners: ties in flat values, trimming, names pprof rewrites,
recursion, unit selection, a zero total.
"""

import os
import shutil
import subprocess

import pytest

from profile_maker import ProfileMaker
from pyprof import graph
from pyprof import pprof
from pyprof.report.top import top_report

GO = shutil.which("go")


def go_top(path, tmp_path, *flags):
    if GO is None:
        if os.environ.get("CI") == "true":
            pytest.fail("go is not installed; CI must install golang-go")
        pytest.skip("go is not installed (apt-get install golang-go)")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = dict(
        os.environ, TZ="UTC", HOME=str(home), PPROF_TMPDIR=str(tmp_path),
        PPROF_BINARY_PATH="/nonexistent-pprof-binaries",
    )
    done = subprocess.run(
        [GO, "tool", "pprof", "-top", *flags, str(path)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def ties():
    m = ProfileMaker()
    for name in ("delta", "alpha", "charlie", "bravo"):
        m.sample([name, "main"], 3, 30_000_000)
    m.sample(["echo", "alpha", "main"], 3, 30_000_000)
    return m


def many_nodes():
    m = ProfileMaker()
    for i in range(120):
        m.sample([f"mod.f{i:03d}", f"mod.g{i % 7}", "main"], 1, 10_000_000 * (i % 13 + 1))
    m.sample(["tiny", "main"], 1, 1000)
    return m


def python_names():
    m = ProfileMaker()
    # pprof rewrites names equal to their system_name that look like C++;
    # pyprof leaves system_name empty, a foreign writer may not.
    m.sample([("<lambda>", 3, "<lambda>"), ("<module>", 1, "<module>")], 1, 20_000_000)
    m.sample([("<listcomp>", 5), ("<module>", 1)], 1, 10_000_000)
    m.sample([("Foo<int>::bar(int)", 7, "Foo<int>::bar(int)"), "main"], 1, 7_000_000)
    m.sample([("outer.<locals>.inner", 9, "outer.<locals>.inner"), "main"], 1, 5_000_000)
    m.sample(["Shop.checkout", "[truncated 3 frames]", "main"], 1, 3_000_000)
    return m


def recursion():
    m = ProfileMaker()
    m.sample(["fib", "fib", "fib", "fib", "main"], 4, 40_000_000)
    m.sample(["fib", "fib", "main"], 2, 20_000_000)
    m.sample(["helper", "fib", "helper", "fib", "main"], 1, 10_000_000)
    return m


def inlined():
    m = ProfileMaker()
    m.sample([(("small", 4), ("caller", 8)), "main"], 2, 20_000_000)
    m.sample(["small", "other", "main"], 1, 10_000_000)
    m.sample([(("leaf", 1), ("mid", 2)), (("mid", 3), ("top", 4))], 1, 10_000_000)
    return m


def tiny_and_huge():
    m = ProfileMaker()
    m.sample(["hours", "main"], 1, 3 * 3_600_000_000_000 + 12345)
    m.sample(["seconds", "main"], 1, 2_500_000_000)
    m.sample(["micro", "main"], 1, 1500)
    m.sample(["nano", "main"], 1, 7)
    return m


def tiny_only():
    m = ProfileMaker()
    m.sample(["micro", "main"], 1, 1500)
    m.sample(["nano", "main"], 1, 7)
    m.sample(["more", "nano", "main"], 1, 250)
    return m


def bytes_profile():
    m = ProfileMaker(sample_types=(("alloc_objects", "count"), ("alloc_space", "bytes")))
    m.sample(["big", "main"], 3, 5 * 2**30)
    m.sample(["medium", "main"], 2, 3 * 2**20 + 17)
    m.sample(["small", "main"], 1, 900)
    return m


def widgets():
    m = ProfileMaker(sample_types=(("widgets", "widgets"),))
    m.sample(["a", "main"], 12346)
    m.sample(["b", "main"], 5)
    m.p.comment.append(m.s("made by a test"))
    m.p.comment.append(m.s("#hidden"))
    return m


def zero_total():
    m = ProfileMaker()
    m.sample(["idle", "main"], 0, 0)
    m.p.duration_nanos = 1_000_000_000
    return m


def with_header():
    m = recursion()
    m.p.time_nanos = 1_700_000_000_123_456_789
    m.p.duration_nanos = 2_500_000_000
    m.p.period = 10_000_000
    m.p.period_type.type, m.p.period_type.unit = m.s("cpu"), m.s("nanoseconds")
    m.p.mapping.add(id=1, filename=m.s("/usr/bin/python3.11"), build_id=m.s("abc123"))
    for loc in m.p.location:
        loc.mapping_id = 1
    return m


def negative_and_default_type():
    m = ProfileMaker()
    m.sample(["grew", "main"], 3, 30_000_000)
    m.sample(["shrank", "main"], -5, -50_000_000)
    m.p.default_sample_type = m.s("samples")
    return m


def cancelling():
    # Go merges equal stacks before totalling: +5 and -5 cancel out.
    m = ProfileMaker()
    m.sample(["a", "main"], 5, 50_000_000)
    m.sample(["b", "main"], 1, 10_000_000)
    m.sample(["a", "main"], -5, -50_000_000)
    m.sample(["zero", "main"], 0, 0)
    return m


def drop_frames():
    m = ProfileMaker()
    m.sample(["malloc", "alloc(int)", "work", "main"], 2, 20_000_000)
    m.sample(["memcpy", "alloc_keep", "work", "main"], 1, 10_000_000)
    m.sample([(("inner", 1), ("alloc_x", 2)), "work", "main"], 1, 10_000_000)
    m.sample(["alloc_y", "main"], 1, 5_000_000)
    m.p.drop_frames = m.s("alloc.*")
    m.p.keep_frames = m.s("alloc_keep")
    return m


CASES = {
    f.__name__: f
    for f in (ties, many_nodes, python_names, recursion, inlined, tiny_and_huge, tiny_only,
              bytes_profile, widgets, zero_total, with_header,
              negative_and_default_type, drop_frames, cancelling)
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("flags", [(), ("-nodecount=3",), ("-cum", "-nodecount=5")],
                         ids=["all", "n3", "cum_n5"])
def test_top_matches_live_go_tool_pprof(case, flags, tmp_path, utc):
    path = tmp_path / f"{case}.pb.gz"
    pprof.dump(CASES[case]().p, path)
    expected = go_top(path, tmp_path, *flags)
    nodecount = next((int(f.split("=")[1]) for f in flags if "nodecount" in f), 0)
    opts = graph.GraphOptions(nodecount=nodecount, cum_sort="-cum" in flags)
    got = top_report(graph.prepare(pprof.load(path)), opts).text()
    assert got == expected


def test_python_names_survive_when_system_name_is_empty(tmp_path, utc):
    m = ProfileMaker()
    m.sample([("<lambda>", 3), ("<module>", 1)], 1, 20_000_000)
    text = top_report(graph.prepare(m.p), graph.GraphOptions()).text()
    assert text.splitlines()[-2:] == [
        "      20ms   100%   100%       20ms   100%  <lambda>",
        "         0     0%   100%       20ms   100%  <module>",
    ]
