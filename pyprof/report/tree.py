"""The `tree` and `peek` views: each node with its callers and callees.

tree_report() returns a TreeReport whose .text() is what `go tool pprof
-tree` prints (or -peek REGEX when a regexp is given: no trimming, and only
the nodes whose printable name matches get a block).
"""

from __future__ import annotations

import dataclasses
import re
from typing import List
from typing import Optional

from pyprof import goregexp
from pyprof import graph
from pyprof.report import measure
from pyprof.report.top import graph_with_header

SEPARATOR = "-" * 58 + "+" + "-" * 13
LEGEND = "      flat  flat%   sum%        cum   cum%   calls calls% + context \t \t "


@dataclasses.dataclass
class EdgeRow:
    weight: int
    text: str  # the weight, formatted
    pct: str  # of the node's cum
    name: str  # the caller's or callee's printable name
    inline: bool


@dataclasses.dataclass
class TreeBlock:
    callers: List[EdgeRow]
    flat_text: str
    flat_pct: str
    sum_pct: str
    cum_text: str
    cum_pct: str
    name: str
    callees: List[EdgeRow]


@dataclasses.dataclass
class TreeReport:
    header: List[str]
    blocks: List[TreeBlock]
    any_nodes: bool  # pprof closes with a separator only when the graph has nodes
    notes: List[str]

    def text(self) -> str:
        out = list(self.header) + [SEPARATOR, LEGEND]
        for b in self.blocks:
            out.append(SEPARATOR)
            out += [_edge_line(e) for e in b.callers]
            out.append(
                "%10s %s %s %10s %s                | %s"
                % (b.flat_text, b.flat_pct, b.sum_pct, b.cum_text, b.cum_pct, b.name)
            )
            out += [_edge_line(e) for e in b.callees]
        if self.any_nodes:
            out.append(SEPARATOR)
        return "\n".join(out) + "\n"


def _edge_line(e: EdgeRow) -> str:
    inline = " (inline)" if e.inline else ""
    return "%50s %s |   %s%s" % (e.text, e.pct, e.name, inline)


class NoMatchError(graph.GraphError):
    """A -peek or -list regexp that names no node."""


def tree_report(
    prepared: graph.Prepared,
    opts: graph.GraphOptions,
    *,
    peek: Optional[str] = None,
    compact_labels: bool = False,
) -> TreeReport:
    """The -tree view, or the -peek view when peek (a regexp) is given.

    Raises:
        graph.GraphError: bad options or filters; NoMatchError when peek
            matches no node.
    """
    symbol = None
    if peek is not None:
        try:
            symbol = goregexp.compile(peek)
        except re.error as exc:
            raise graph.GraphError(f"parsing argument regexp {peek}: {exc}") from None
        opts = dataclasses.replace(opts, nodecount=0, nodefraction=0.0,
                                   edgefraction=0.0)
    g, fmt, header = graph_with_header(prepared, opts, compact_labels)

    blocks = []
    running = 0
    for n in g.nodes:
        if symbol is not None and not symbol.search(n.name):
            continue
        flat, cum = n.flat_value, n.cum_value
        running += flat
        blocks.append(TreeBlock(
            callers=_edges(n.in_edges, cum, fmt, callers=True, node=n),
            flat_text=fmt(flat),
            flat_pct=measure.percentage(flat, g.total),
            sum_pct=measure.percentage(running, g.total),
            cum_text=fmt(cum),
            cum_pct=measure.percentage(cum, g.total),
            name=n.name,
            callees=_edges(n.out_edges, cum, fmt, callers=False, node=n),
        ))
    if symbol is not None and not blocks:
        raise NoMatchError(f"no matches found for regexp: {peek}")
    return TreeReport(header, blocks, bool(g.nodes), g.notes)


def _edges(edges, cum: int, fmt, *, callers: bool, node) -> List[EdgeRow]:
    """Edge rows in pprof's order: |weight| down, then caller, then callee."""
    def order(item):
        other, (weight, _) = item
        src, dst = (other, node) if callers else (node, other)
        return (-abs(weight), src.name, dst.name)

    return [
        EdgeRow(weight, fmt(weight), measure.percentage(weight, cum), other.name,
                inline)
        for other, (weight, inline) in sorted(edges.items(), key=order)
    ]
