"""The `top` view: the header block and one row per node, as pprof -top.

top_report() returns a TopReport: header lines and rows with every column
already formatted, plus the raw numbers for other renderers; .text() gives
the exact text `go tool pprof -top` prints.
"""

from __future__ import annotations

import dataclasses
from typing import List
from typing import Optional
from typing import Tuple

from pyprof import graph
from pyprof.report import measure


@dataclasses.dataclass
class TopRow:
    flat: int
    cum: int
    flat_text: str
    flat_pct: str
    sum_pct: str
    cum_text: str
    cum_pct: str
    name: str
    inline: str  # "", "(inline)" or "(partial-inline)"


@dataclasses.dataclass
class TopReport:
    header: List[str]
    rows: List[TopRow]
    notes: List[str] = dataclasses.field(default_factory=list)  # for stderr

    COLUMNS = ("flat", "flat%", "sum%", "cum", "cum%")

    def text(self) -> str:
        out = list(self.header)
        out.append(
            "%10s %5s%% %5s%% %10s %5s%%" % ("flat", "flat", "sum", "cum", "cum")
        )
        for r in self.rows:
            inline = " " + r.inline if r.inline else ""
            out.append(
                "%10s %s %s %10s %s  %s%s"
                % (r.flat_text, r.flat_pct, r.sum_pct, r.cum_text, r.cum_pct,
                   r.name, inline)
            )
        return "\n".join(out) + "\n"


@dataclasses.dataclass
class _Formatter:
    sample_unit: str
    output_unit: str = "minimum"

    def __call__(self, value: int) -> str:
        return measure.scaled_label(value, self.sample_unit, self.output_unit)


def top_report(
    prepared: graph.Prepared,
    opts: graph.GraphOptions,
    *,
    compact_labels: bool = False,
    trimmed: Optional[graph.TrimmedGraph] = None,
) -> TopReport:
    """The -top view of a prepared profile.

    With compact_labels (pprof's -compact_labels) the header keeps only the
    lines about the graph, not File/Type/Time/Duration.

    Raises:
        graph.GraphError: no sample types, bad sample_index.
    """
    g, fmt, header = graph_with_header(prepared, opts, compact_labels,
                                       edges=False, trimmed=trimmed)

    rows = []
    running = 0
    for n in g.nodes:
        flat, cum = n.flat_value, n.cum_value
        running += flat
        rows.append(
            TopRow(
                flat=flat,
                cum=cum,
                flat_text=fmt(flat),
                flat_pct=measure.percentage(flat, g.total),
                sum_pct=measure.percentage(running, g.total),
                cum_text=fmt(cum),
                cum_pct=measure.percentage(cum, g.total),
                name=n.name,
                inline=n.inline_label,
            )
        )
    return TopReport(header, rows, g.notes)


def graph_with_header(
    prepared: graph.Prepared, opts: graph.GraphOptions, compact_labels: bool,
    edges: bool = True,
    trimmed: Optional[graph.TrimmedGraph] = None,
) -> Tuple[graph.TrimmedGraph, "_Formatter", List[str]]:
    """The trimmed graph (with its edges unless told otherwise; trimmed when
    already made), its value formatter and the header lines that top, tree
    and peek print above it."""
    g = trimmed or graph.build_trimmed_graph(prepared, opts, edges)
    sample_type, sample_unit = prepared.sample_types[g.index]
    if opts.mean:
        sample_type = "mean_" + sample_type
    fmt = _Formatter(sample_unit, opts.unit)
    if opts.unit == "minimum":
        _select_output_unit(fmt, g)

    header = []
    if not compact_labels:
        header = profile_labels(prepared, sample_type, sample_unit, g.total, fmt)
    header += graph_labels(g, opts, fmt)
    return g, fmt, header


def _select_output_unit(fmt: _Formatter, g: graph.TrimmedGraph) -> None:
    """pprof's "minimum" unit: fit the smallest value shown, unless it is
    under 1% of the total, then fit 100 times it."""
    if not g.nodes:
        return
    smallest = 0
    for n in g.nodes:
        v = abs(n.flat_value) or abs(n.cum_value)
        if v and (smallest == 0 or v < smallest):
            smallest = v
    largest = g.total
    if smallest == 0:
        smallest = largest
    _, min_unit = measure.scale(smallest, fmt.sample_unit, "minimum")
    _, max_unit = measure.scale(largest, fmt.sample_unit, "minimum")
    unit = min_unit
    if min_unit != max_unit and smallest * 100 < largest:
        _, unit = measure.scale(100 * smallest, fmt.sample_unit, "minimum")
    fmt.output_unit = unit or fmt.sample_unit


def profile_labels(
    p: graph.Prepared, sample_type: str, sample_unit: str, total: int, fmt
) -> List[str]:
    """File, Build ID, comments, Type, Time and Duration lines."""
    lines = []
    if p.mappings:
        main = p.mappings[0]
        if main.file:
            lines.append("File: " + _base(main.file))
        if main.build_id:
            lines.append("Build ID: " + main.build_id)
    lines += [c for c in p.comments if not c.startswith("#")]
    if sample_type:
        lines.append("Type: " + sample_type)
    if p.time_nanos:
        lines.append("Time: " + measure.profile_time(p.time_nanos))
    if p.duration_nanos:
        duration = measure.label(p.duration_nanos, "nanoseconds")
        total_ns, unit = measure.scale(total, sample_unit, "nanoseconds")
        ratio = ""
        if unit == "ns" and total_ns != 0:
            ratio = "(" + measure.percentage(int(total_ns), p.duration_nanos) + ")"
        lines.append(f"Duration: {duration}, Total samples = {fmt(total)} {ratio}")
    return lines


def _base(path: str) -> str:
    """Go's filepath.Base: the last element, ignoring trailing slashes."""
    return graph._base_name(path)


def graph_labels(g: graph.TrimmedGraph, opts: graph.GraphOptions, fmt) -> List[str]:
    """The "Active filters", "Showing nodes...", "Dropped..." and "Showing
    top..." lines."""
    flat_sum = sum(n.flat_value for n in g.nodes)
    lines = []
    if g.filters:
        lines.append("Active filters:")
        lines += ["   " + (f[:80] + "…" if len(f) > 80 else f) for f in g.filters]
    lines.append(
        "Showing nodes accounting for %s, %s of %s total"
        % (fmt(flat_sum), measure.percentage(flat_sum, g.total).strip(), fmt(g.total))
    )
    if g.total != 0:
        if g.dropped_nodes > 0:
            cutoff = fmt(abs(int(g.total * opts.nodefraction)))
            plural = "node" if g.dropped_nodes == 1 else "nodes"
            lines.append(f"Dropped {g.dropped_nodes} {plural} (cum <= {cutoff})")
        if 0 < len(g.nodes) < g.orig_count:
            lines.append(f"Showing top {len(g.nodes)} nodes out of {g.orig_count}")
    return lines
