"""flame_data's tree against pyprof top's nodes and go tool pprof's numbers."""

import json
import os
import random
import re
import shutil
import subprocess

import pytest

from flame_support import CPPBENCH
from flame_support import EXPECTED
from flame_support import HEAP
from flame_support import LARGE
from flame_support import SAMPLE
from flame_support import TARGETS
from flame_support import corpus
from flame_support import per_name
from flame_support import pyprof
from flame_support import walk
from pyprof import flame
from pyprof import graph
from pyprof._proto import profile_pb2
from pyprof.commands import views
from pyprof.commands.top import parse_view_args
from pyprof.report import measure
from pyprof.report.top import graph_with_header


def settings_for(*args):
    settings, files = parse_view_args("flame", tuple(map(str, args)), "usage")
    settings["files"] = files
    return settings


def tree_and_top(*args, max_nodes=0):
    """flame_data and the untrimmed top graph (every node) for the same
    files and options."""
    settings = settings_for(*args)
    prepared = views.load(settings)
    data = flame.flame_data(prepared, views.graph_options(settings),
                            max_nodes=max_nodes)
    everything = views.graph_options(dict(settings, trim=False))
    top = graph.build_trimmed_graph(views.load(settings), everything)
    return data, top


def assert_agrees_with_top(data, top):
    values = per_name(data)
    assert {n.name: [n.flat, n.cum] for n in top.nodes} == {
        name: v for name, v in values.items() if v != [0, 0]}
    assert data["total"] == top.total


@pytest.mark.parametrize("options", [
    (), ("-lines",), ("-files",), ("-filefunctions",), ("-noinlines",),
    ("-addresses",), ("-sample_index=samples",), ("-focus=mapiter",),
    ("-ignore=Abs",), ("-hide=runtime",), ("-show_from=busyLoop",),
    ("-show=main",), ("-focus=runtime", "-relative_percentages"),
])
def test_sample_cpu_agrees_with_top(options):
    data, top = tree_and_top(corpus(SAMPLE), *options)
    assert_agrees_with_top(data, top)
    assert data["nodes"] == 1 + sum(1 for _ in walk(data))
    if not options:
        assert flame.nested(data)["cum"] == data["total"] == 1_760_000_000
        assert data["totals"] == [176, 1_760_000_000]


@pytest.mark.parametrize("path, index", [
    (CPPBENCH, ""), (HEAP, "alloc_space"), (HEAP, "inuse_objects"),
])
def test_other_corpus_profiles_agree_with_top(path, index):
    args = [corpus(path)] + ([f"-sample_index={index}"] if index else [])
    data, top = tree_and_top(*args)
    assert_agrees_with_top(data, top)
    assert flame.nested(data)["cum"] == data["total"]


def go_rows(text):
    """name -> (flat, cum) as printed in go tool pprof -top output."""
    rows = {}
    for line in text.splitlines():
        found = re.match(r"\s*(\S+)\s+\S+%\s+\S+%\s+(\S+)\s+\S+%\s+(.*)$", line)
        if found and found.group(1) != "flat":
            name = re.sub(r" \((?:partial-)?inline\)$", "", found.group(3))
            rows[name] = (found.group(1), found.group(2))
    return rows


@pytest.mark.parametrize("name, args", [
    ("top", ()), ("top_cum", ("-cum",)),
])
def test_values_match_go_tool_pprof_output(name, args):
    expected = (corpus(EXPECTED) / "sample.cpu" / f"{name}.out").read_text()
    settings = settings_for(corpus(SAMPLE), *args)
    prepared = views.load(settings)
    data = flame.flame_data(prepared, views.graph_options(settings))
    _, fmt, _ = graph_with_header(prepared, views.graph_options(settings), False)
    values = per_name(data)
    rows = go_rows(expected)
    assert rows
    for node_name, (flat, cum) in rows.items():
        assert (fmt(values[node_name][0]), fmt(values[node_name][1])) == (flat, cum)
    assert f"Total samples = {fmt(data['total'])} " in expected


@pytest.mark.slow
def test_large_profile_agrees_with_go_top_and_folds():
    with views.gc_paused():  # as the command line runs
        _large_profile_agrees_with_go_top_and_folds()


def _large_profile_agrees_with_go_top_and_folds():
    expected = (corpus(EXPECTED) / "large.cpu" / "top.out").read_text()
    settings = settings_for(corpus(LARGE))
    prepared = views.load(settings)
    opts = views.graph_options(settings)
    data = flame.flame_data(prepared, opts, max_nodes=0)
    assert data["folded"]["nodes"] == 0

    def fmt(value):  # every value of Go's table is in seconds
        return measure.scaled_label(value, "nanoseconds", "s")

    values = per_name(data)
    for node_name, (flat, cum) in go_rows(expected).items():
        assert (fmt(values[node_name][0]), fmt(values[node_name][1])) == (flat, cum)
    assert "Total samples = 240.29s " in expected
    assert data["total"] == flame.nested(data)["cum"] == 240_290_000_000

    folded = flame.flame_data(prepared, opts, max_nodes=20_000)
    assert folded["nodes"] <= 20_000 < data["nodes"]
    assert folded["nodes"] == 1 + sum(1 for _ in walk(folded))
    assert len(folded["frames"]) < len(data["frames"])  # only those shown
    assert folded["folded"]["nodes"] == data["nodes"] - (
        folded["nodes"] - sum(1 for n, _, _ in walk(folded) if "folded" in n))
    assert flame.nested(folded)["cum"] == flame.nested(data)["cum"]
    # Frames whose every place is above the threshold keep their values
    # (time.Now is also called in many small places, which are folded).
    kept = per_name(folded)
    for name in ("main.main", "runtime.main"):
        assert kept[name] == values[name]
    assert kept["time.Now"][1] < values["time.Now"][1]


def synthetic(stacks, types=(("samples", "count"), ("cpu", "nanoseconds")),
              labels=None):
    """A Profile message: stacks are (leaf-first names, values); one
    location per name, file named after the name's first letter."""
    p = profile_pb2.Profile(string_table=[""])
    strings = {"": 0}

    def s(text):
        if text not in strings:
            strings[text] = len(p.string_table)
            p.string_table.append(text)
        return strings[text]

    for t, u in types:
        p.sample_type.add(type=s(t), unit=s(u))
    ids = {}
    for i, (names, values) in enumerate(stacks):
        loc_ids = []
        for name in names:
            if name not in ids:
                ids[name] = len(ids) + 1
                p.function.add(id=ids[name], name=s(name),
                               filename=s(f"/src/{name[0]}.py"))
                loc = p.location.add(id=ids[name])
                loc.line.add(function_id=ids[name], line=3)
            loc_ids.append(ids[name])
        sample = p.sample.add(location_id=loc_ids, value=list(values))
        for key, value in (labels[i] if labels else {}).items():
            sample.label.add(key=s(key), str=s(value))
    return p


def test_recursion_counts_once_per_sample_at_the_top_and_nests():
    p = synthetic([(["f", "f", "f", "main"], (1, 10)), (["f", "main"], (1, 5)),
                   (["g", "f", "main"], (1, 7))])
    data = flame.flame_data(graph.prepare(p), graph.GraphOptions())
    assert per_name(data) == {"main": [0, 22], "f": [15, 22], "g": [7, 7]}
    (main,) = flame.nested(data)["children"]
    (f1,) = main["children"]
    assert (f1["cum"], f1["flat"]) == (22, 5)
    assert [c["cum"] for c in f1["children"]] == [10, 7]  # f, then g: by name


def test_tags_filter_and_children_sorted_by_name():
    p = synthetic([(["b", "main"], (1, 4)), (["a", "main"], (1, 6)),
                   (["c", "main"], (1, 9))],
                  labels=[{"thread": "T1"}, {"thread": "T2"}, {"thread": "T1"}])
    prepared = graph.prepare(p)
    data = flame.flame_data(prepared, graph.GraphOptions(tagfocus="thread=T1"))
    names = [data["frames"][c["frame"]]["name"]
             for c in flame.nested(data)["children"][0]["children"]]
    assert names == ["b", "c"]
    assert flame.nested(data)["cum"] == 13 and data["total"] == 19
    assert data["filters"] == ["tagfocus=thread=T1"]
    ignored = flame.flame_data(graph.prepare(p), graph.GraphOptions(tagignore="T1"))
    assert flame.nested(ignored)["cum"] == 6


def test_folding_keeps_the_totals_and_the_big_frames():
    rng = random.Random(7)
    stacks = [([f"leaf{i}", "mid", "main"], (1, rng.randint(1, 9))) for i in range(500)]
    stacks.append((["hot", "main"], (1, 100_000)))
    prepared = graph.prepare(synthetic(stacks))
    whole = flame.flame_data(prepared, graph.GraphOptions(), max_nodes=0)
    assert whole["nodes"] == 504
    data = flame.flame_data(graph.prepare(synthetic(stacks)), graph.GraphOptions(),
                            max_nodes=100)
    assert data["nodes"] <= 100
    assert flame.nested(data)["cum"] == flame.nested(whole)["cum"]
    other = [n for n, _, _ in walk(data) if "folded" in n]
    assert other and all(n["frame"] == -1 for n in other)
    assert sum(n["folded"] for n in other) == data["folded"]["nodes"]
    assert per_name(data)["hot"] == [100_000, 100_000]
    assert per_name(data)["mid"][1] == per_name(whole)["mid"][1]
    json.dumps(data)  # JSON-able


def test_mean_and_package_of():
    data, _ = tree_and_top(corpus(SAMPLE), "-mean")
    assert data["sample_type"] == "mean_cpu"
    site = "/usr/lib/python3.11/site-packages"
    assert flame.package_of("f", f"{site}/rich/table.py") == "rich"
    assert flame.package_of("f", "/usr/lib/python3.12/json/decoder.py") == "json"
    stdlib = "/root/.pyenv/versions/3.9.18/lib/python3.9"
    assert flame.package_of("f", f"{stdlib}/threading.py") == "threading"
    assert flame.package_of("main", "/home/me/app/shop.py") == "shop"
    assert flame.package_of("net/http.(*Server).Serve", "server.go") == "net/http"
    assert flame.package_of("runtime.main", "") == "runtime"
    assert flame.package_of("_find_and_load", "<frozen importlib._bootstrap>") \
        == "importlib"


def test_recorded_profile_agrees_with_pyprof_top(tmp_path):
    out = tmp_path / "fib.pb.gz"
    done = pyprof("record", "-o", out, "--rate", "500", "--", sys_python(),
                  TARGETS / "fib.py", "0.6", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for args in (("-lines",), ()):
        data, top = tree_and_top(out, *args)
        assert_agrees_with_top(data, top)
        assert flame.nested(data)["cum"] == data["total"] > 0
    # fib recurses: the flame nests it many levels deep, top counts it once.
    assert max(len(above) for _, name, above in walk(data) if name == "fib") > 5
    assert 0.5 * data["total"] < per_name(data)["fib"][1] <= data["total"]


def go_top(path, tmp_path, *flags):
    """go tool pprof -top's output; fails under CI=true without go."""
    go = shutil.which("go")
    if go is None:
        if os.environ.get("CI") == "true":
            pytest.fail("go is not installed; CI must install golang-go")
        pytest.skip("go is not installed (apt-get install golang-go)")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = dict(os.environ, TZ="UTC", HOME=str(home), PPROF_TMPDIR=str(tmp_path),
               PPROF_BINARY_PATH="/nonexistent-pprof-binaries")
    done = subprocess.run([go, "tool", "pprof", "-top", *flags, str(path)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_recorded_profile_agrees_with_go_tool_pprof(tmp_path):
    out = tmp_path / "fib.pb.gz"
    done = pyprof("record", "-o", out, "--", sys_python(), TARGETS / "fib.py", "0.3",
                  cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    expected = go_top(out, tmp_path, "-nodefraction=0")
    settings = settings_for(out, "-nodefraction=0")
    prepared = views.load(settings)
    data = flame.flame_data(prepared, views.graph_options(settings))
    _, fmt, _ = graph_with_header(prepared, views.graph_options(settings), False)
    values = per_name(data)
    rows = go_rows(expected)
    assert "fib" in rows
    for node_name, (flat, cum) in rows.items():
        assert (fmt(values[node_name][0]), fmt(values[node_name][1])) == (flat, cum)
    assert f"Total samples = {fmt(data['total'])} " in expected


def sys_python():
    import sys

    return sys.executable


def test_datasets_cover_every_sample_type_unless_too_big():
    settings = settings_for(corpus(HEAP), "-sample_index=inuse_space")
    prepared = views.load(settings)
    opts = views.graph_options(settings)
    datasets, selected = flame.flame_datasets(prepared, opts)
    assert [d["sample_type"] for d in datasets] == [
        "alloc_objects", "alloc_space", "inuse_objects", "inuse_space"]
    assert selected == 3
    for i, data in enumerate(datasets):
        alone = flame.flame_data(prepared, views.graph_options(
            dict(settings, sample_index=str(i))))
        assert data == alone
    only, selected = flame.flame_datasets(prepared, opts, max_total=10)
    assert selected == 0 and [d["sample_type"] for d in only] == ["inuse_space"]
