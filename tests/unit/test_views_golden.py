"""Views and filters against upstream pprof's golden files.

The synthetic "cpu", "cpusmall" and "heap" profiles of pprof's driver tests
are rebuilt (see the corpus README and test_top_golden.py) and each case's
text must equal the golden file; Go 1.19 prints the same bytes for these
cases. Every upstream case starts from compact labels, nodecount 20,
nodefraction 0.05 and edgefraction 0.01.
"""

import dataclasses

import pytest

from test_top_golden import GOLDEN
from test_top_golden import Builder
from test_top_golden import cpu_profile
from test_top_golden import heap_profile
from pyprof import graph
from pyprof.report.top import top_report
from pyprof.report.traces import traces_report
from pyprof.report.tree import tree_report

BASE = graph.GraphOptions(nodecount=20, nodefraction=0.05, edgefraction=0.01)


def cpusmall_profile():
    b = Builder([("samples", "count"), ("cpu", "milliseconds")])
    b.p.period_type.type, b.p.period_type.unit = b.s("cpu"), b.s("milliseconds")
    b.p.period, b.p.duration_nanos = 1, 10_000_000_000
    b.p.mapping.add(id=1, memory_start=0x1000, memory_limit=0x4000,
                    filename=b.s("/path/to/testbinary"), has_functions=True,
                    has_filenames=True, has_line_numbers=True, has_inline_frames=True)
    for i in range(1, 6):
        b.p.location.add(id=i * 0x1000, mapping_id=1, address=i * 0x1000)
    for stack in ([0x1000, 0x2000, 0x3000], [0x4000, 0x2000, 0x5000], [0x3000],
                  [0x5000]):
        b.p.sample.add(location_id=stack, value=[1000, 1000])
    return b.p


def labelled_cpu_profile():
    """The cpu profile with its string labels (shown by -traces)."""
    p = cpu_profile()
    strings = list(p.string_table)

    def s(text):
        if text not in strings:
            strings.append(text)
            p.string_table.append(text)
        return strings.index(text)

    labels = ({"key1": "tag1", "key2": "tag1"}, {"key1": "tag2", "key3": "tag2"},
              {"key1": "tag3", "key2": "tag2"}, {"key1": "tag4", "key2": "tag1"})
    for sample, pairs in zip(p.sample, labels):
        for key, value in pairs.items():
            sample.label.add(key=s(key), str=s(value))
    return p


def top(opts):
    return lambda p: top_report(p, opts, compact_labels=True).text()


def tree(opts, peek=None):
    return lambda p: tree_report(p, opts, peek=peek, compact_labels=True).text()


def traces(opts):
    return lambda p: traces_report(p, opts).text()


def base(**changes):
    return dataclasses.replace(BASE, **changes)


CASES = {
    "pprof.cpu.traces": (labelled_cpu_profile, traces(base())),
    "pprof.cpu.addresses.traces": (
        labelled_cpu_profile, traces(base(granularity="addresses"))),
    "pprof.cpu.peek": (cpu_profile, tree(base(), peek="line.*01")),
    "pprof.cpusmall.flat.addresses.tree": (
        cpusmall_profile, tree(base(granularity="addresses", nodecount=4))),
    "pprof.cpu.cum.lines.text.hide": (
        cpu_profile, top(base(granularity="lines", cum_sort=True, hide="line[X3]0"))),
    "pprof.cpu.cum.lines.text.show": (
        cpu_profile, top(base(granularity="lines", cum_sort=True, show="[12]00"))),
    "pprof.cpu.cum.lines.text.focus.hide": (
        cpu_profile, top(base(granularity="lines", cum_sort=True, hide="line[X3]0",
                              focus="[12]00"))),
    "pprof.cpu.cum.lines.tree.show_from": (
        cpu_profile, tree(base(granularity="lines", cum_sort=True, show_from="line2"))),
    "pprof.heap.flat.files.text.focus": (
        heap_profile, top(base(granularity="files", focus="[12]00", taghide="[X3]00"))),
    "pprof.heap.cum.lines.tree.focus": (
        heap_profile, tree(base(granularity="lines", cum_sort=True, focus="[24]00"))),
    "pprof.heap.cum.relative_percentages.tree.focus": (
        heap_profile, tree(base(relative_percentages=True, cum_sort=True,
                                focus="[24]00"))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_view_matches_upstream_golden_file(name):
    golden = GOLDEN / name
    assert golden.exists(), f"the shared corpus is missing: {golden}"
    make, render = CASES[name]
    assert render(graph.prepare(make())) == golden.read_text()
