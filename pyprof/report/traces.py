"""The `traces` view: every sample's stack with its value and labels, as
`go tool pprof -traces` prints it."""

from __future__ import annotations

import dataclasses
from typing import List
from typing import Tuple

from pyprof import graph
from pyprof.report import measure
from pyprof.report.top import _Formatter
from pyprof.report.top import profile_labels

SEPARATOR = "-" * 11 + "+" + "-" * 55


@dataclasses.dataclass
class Trace:
    labels: List[str]  # "%10s:  %s" lines, string labels then numeric ones
    value: int
    value_text: str
    frames: List[Tuple[str, bool]]  # (printable name, inlined), leaf first


@dataclasses.dataclass
class TracesReport:
    header: List[str]
    traces: List[Trace]
    notes: List[str]

    def text(self) -> str:
        out = ["\n".join(self.header)]
        for t in self.traces:
            out.append(SEPARATOR)
            out += t.labels
            for i, (name, inline) in enumerate(t.frames):
                out.append("%10s   %s%s" % (t.value_text if i == 0 else "", name,
                                            " (inline)" if inline else ""))
        out.append(SEPARATOR)
        return "\n".join(out) + "\n"


def traces_report(prepared: graph.Prepared, opts: graph.GraphOptions) -> TracesReport:
    """The -traces view of a prepared profile.

    Raises:
        graph.GraphError: bad options or filters.
    """
    units = graph.num_label_units(prepared)
    sel = graph.select(prepared, opts)
    sample_type, sample_unit = prepared.sample_types[sel.index]
    if opts.mean:
        sample_type = "mean_" + sample_type
    fmt = _Formatter(sample_unit, opts.unit)
    header = profile_labels(prepared, sample_type, sample_unit, sel.total, fmt)

    # -traces names frames at the granularity, without pprof's path trimming.
    keys = graph._location_keys(sel.profile, opts, trim=False)
    traces = []
    for s in sel.profile.samples:
        frames = []
        for loc in s.locations:
            loc_keys = keys[loc.id]
            for i, key in enumerate(loc_keys):
                frames.append((graph.printable_name(key), i != len(loc_keys) - 1))
        if not frames:
            continue
        labels = sorted("%10s:  %s" % (k, " ".join(v)) for k, v in s.labels.items())
        labels += sorted(
            "%10s:  %s" % (k, " ".join(measure.label(x, units.get(k, "")) for x in v))
            for k, v in s.num_labels.items()
        )
        value = s.values[sel.index]
        if opts.mean and s.values[0]:
            value = graph.go_div(value, s.values[0])
        traces.append(Trace(labels, value, fmt(value), frames))
    return TracesReport(header, traces, sel.notes)
