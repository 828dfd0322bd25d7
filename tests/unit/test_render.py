"""The terminal table shows the same numbers as the text report."""

import io

from rich.console import Console

from profile_maker import ProfileMaker
from pyprof import graph
from pyprof import render
from pyprof.report.top import top_report


def test_table_has_header_lines_and_one_row_per_node(utc):
    m = ProfileMaker()
    m.sample(["work[1]", "<module>"], 3, 30_000_000)
    m.sample([(("small", 4), ("caller", 8)), "<module>"], 1, 10_000_000)
    report = top_report(graph.prepare(m.p), graph.GraphOptions())
    out = io.StringIO()
    render.print_top(report, Console(file=out, width=100, color_system=None))
    lines = [line.rstrip() for line in out.getvalue().splitlines()]
    assert lines[:2] == ["Type: cpu", "Showing nodes accounting for 40ms, 100% of 40ms total"]
    assert lines[2].split() == ["flat", "flat%", "sum%", "cum", "cum%", "name"]
    assert [line.split() for line in lines[3:]] == [
        ["30ms", "75.00%", "75.00%", "30ms", "75.00%", "work[1]"],
        ["10ms", "25.00%", "100%", "10ms", "25.00%", "small", "(inline)"],
        ["0", "0%", "100%", "40ms", "100%", "<module>"],
        ["0", "0%", "100%", "10ms", "25.00%", "caller"],
    ]
