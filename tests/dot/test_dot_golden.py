"""`pyprof dot` against pprof's own DOT golden files.

Upstream's driver tests draw their synthetic profiles (rebuilt in
dot_profiles.py, as the corpus README describes) with nodecount 20,
nodefraction 0.05 and edgefraction 0.01 on top of each case's flags; Go
1.19 prints the same bytes for these cases. source.dot comes from
upstream's report package test, whose options the command line spells
`-lines -call_tree -nodecount=0 -nodefraction=0 -edgefraction=0
-sample_index=1 -unit=count -trim_path=/some/path`; it was made by a newer
pprof that prints line columns ("source1:2:2"), which Go 1.19 ignores, so
the columns are taken out of the expected text (a live Go 1.19 run prints
exactly that, see test_dot_oracle.py).
"""

import dataclasses
import re

import pytest

import dot_profiles as dp
from pyprof import graph
from pyprof.report.dot import dot_report

BASE = graph.GraphOptions(nodecount=20, nodefraction=0.05, edgefraction=0.01)


def base(**changes):
    return dataclasses.replace(BASE, **changes)


CASES = {
    "pprof.cpu.flat.functions.dot": (dp.cpu_profile, base(), False),
    "pprof.cpu.flat.functions.call_tree.dot": (dp.cpu_profile, base(), True),
    "pprof.heap.flat.lines.dot.focus": (
        dp.heap_profile, base(granularity="lines", focus="[12]00"), False),
    "pprof.heap_sizetags.dot": (dp.heap_sizetags_profile, base(), False),
    "pprof.contention.flat.addresses.dot.focus.ignore": (
        dp.contention_profile,
        base(granularity="addresses", ignore="[X3]002", focus="[X1]000"), False),
    "pprof.contention.cum.files.dot": (
        dp.contention_profile, base(granularity="files", cum_sort=True), False),
    "pprof.heap_alloc.flat.alloc_space.dot.focus": (
        dp.heap_alloc_profile, base(sample_index="alloc_space", focus="[234]00"),
        False),
    "pprof.heap_alloc.flat.alloc_space.dot": (
        dp.heap_alloc_profile, base(sample_index="alloc_space", tagshow="[2]00"),
        False),
    "pprof.heap_alloc.flat.alloc_space.dot.hide": (
        dp.heap_alloc_profile, base(sample_index="alloc_space", hide="line.*1?23?"),
        False),
    "pprof.heap.flat.inuse_space.dot.focus": (
        dp.heap_profile, base(sample_index="inuse_space", tagfocus="1mb:2gb"), False),
    "pprof.heap.flat.inuse_space.dot.focus.ignore": (
        dp.heap_profile,
        base(sample_index="inuse_space", tagfocus="30kb:", tagignore="1mb:2mb"),
        False),
    "pprof.long_name_funcs.dot": (dp.long_name_funcs_profile, base(), False),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_dot_matches_upstream_golden_file(name):
    golden = dp.GOLDEN / name
    assert golden.exists(), f"the shared corpus is missing: {golden}"
    make, opts, call_tree = CASES[name]
    text, _ = dot_report(graph.prepare(make()), opts, call_tree)
    assert text == golden.read_text()


def test_source_dot_matches_report_golden_without_columns():
    golden = dp.REPORT_GOLDEN / "source.dot"
    assert golden.exists(), f"the shared corpus is missing: {golden}"
    want = re.sub(r"(source[0-9]:[0-9]+):[0-9]+", r"\1", golden.read_text())
    assert want != golden.read_text()  # the columns were there
    opts = graph.GraphOptions(granularity="lines", nodecount=0, nodefraction=0.0,
                              edgefraction=0.0, sample_index="1", unit="count",
                              trim_path="/some/path")
    text, _ = dot_report(graph.prepare(dp.source_profile()), opts, call_tree=True)
    assert text == want


def test_labels_and_tags_are_counted_against_nodecount():
    # The cpu profile has 6 nodes; line1000 comes first in drawing order
    # and has two tag boxes, so three nodes' worth of the limit is used up
    # by it alone and nodecount=4 keeps two nodes.
    text, _ = dot_report(graph.prepare(dp.cpu_profile()), base(nodecount=4))
    nodes = re.findall(r"^N\d+ \[label=\"([^\\]+)", text, re.M)
    assert nodes == ["line1000", "line3000"]
    assert "Showing top 2 nodes out of 6" in text
