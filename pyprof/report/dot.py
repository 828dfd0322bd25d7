"""The call graph as Graphviz DOT text, as `go tool pprof -dot` writes it.

dot_report() returns the DOT text for a prepared profile; render_dot() and
render_svg() are the entry points for other views (the web page).

The graph for pictures differs from the one behind -top and -tree
(pyprof.graph.build_trimmed_graph) in several ways, all pprof's:

- edges remember when they jump over frames that were left out
  ("residual" edges, drawn dotted with "..." in their tooltip);
- nodes carry tags: the string labels of their samples (joined per
  sample) and the numeric label "bytes", drawn as small boxes beside
  the node (at most four of each, numeric ones bucketed into ranges);
- nodes are ordered by an entropy score that favours entry points,
  leaves and nodes where calls branch, and the nodecount limit counts a
  node's tags as nodes too;
- residual edges that another path already explains are removed;
- with call_tree, every distinct call path gets its own nodes.

Steps, order and formulas follow pprof 1.19 (Go 1.19's `go tool pprof`),
so that the text is the same byte for byte.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import math
import operator
import re
import shutil
import subprocess
from typing import Dict
from typing import Iterable
from typing import List
from typing import Optional
from typing import Set
from typing import Tuple

from pyprof import graph
from pyprof.errors import PyprofError
from pyprof.report import measure
from pyprof.report import top

MAX_NODELETS = 4  # tag boxes per node, for string and for numeric tags
LEGEND_HELP = "\nSee https://git.io/JfYMW for how to read the graph"
DEFAULT_NODECOUNT = 80
_MIN_INT64 = -(1 << 63)


# ---------------------------------------------------------------------------
# The graph.


class Tag:
    """Weight of the samples through a node that carry one label value."""

    __slots__ = ("name", "unit", "value", "flat", "flat_div", "cum", "cum_div")

    def __init__(self, name: str, unit: str = "", value: int = 0) -> None:
        self.name = name
        self.unit = unit  # "" for string labels
        self.value = value
        self.flat = self.flat_div = self.cum = self.cum_div = 0

    @property
    def flat_value(self) -> int:
        return graph.go_div(self.flat, self.flat_div) if self.flat_div else self.flat

    @property
    def cum_value(self) -> int:
        return graph.go_div(self.cum, self.cum_div) if self.cum_div else self.cum


class Edge:
    __slots__ = ("src", "dest", "weight", "weight_div", "residual", "inline",
                 "stamp")

    def __init__(self, src, dest, weight, weight_div, residual, inline,
                 stamp=0) -> None:
        self.src = src
        self.dest = dest
        self.weight = weight
        self.weight_div = weight_div
        self.residual = residual  # goes over frames left out of the graph
        self.inline = inline  # every call it stands for was inlined
        self.stamp = stamp  # last sample counted (each sample counts once)

    @property
    def weight_value(self) -> int:
        if self.weight_div:
            return graph.go_div(self.weight, self.weight_div)
        return self.weight


class DotNode:
    __slots__ = ("key", "name", "flat", "flat_div", "cum", "cum_div", "ins", "outs",
                 "label_tags", "numeric_tags", "stamp")

    def __init__(self, key: graph.NodeKey) -> None:
        self.key = key
        self.name = graph.printable_name(key)
        self.flat = self.flat_div = self.cum = self.cum_div = 0
        self.ins: Dict["DotNode", Edge] = {}  # caller -> edge
        self.outs: Dict["DotNode", Edge] = {}  # callee -> edge
        self.label_tags: Dict[str, Tag] = {}
        # Numeric tags by the joined string labels of their samples.
        self.numeric_tags: Dict[str, Dict[str, Tag]] = {}
        self.stamp = 0  # last sample counted (each sample counts once)

    @property
    def flat_value(self) -> int:
        return graph.go_div(self.flat, self.flat_div) if self.flat_div else self.flat

    @property
    def cum_value(self) -> int:
        return graph.go_div(self.cum, self.cum_div) if self.cum_div else self.cum

    def tiebreak(self) -> str:
        """Go's fmt.Sprint of the node's key, the last word in sorting."""
        name, orig, address, file, start, line, objfile = self.key
        return f"{{{name} {orig} {address} {file} {start} {line} {objfile}}}"

    def add_sample(self, dw: int, w: int, labels: str, numbers, flat: bool) -> None:
        if flat:
            self.flat += w
            self.flat_div += dw
        else:
            self.cum += w
            self.cum_div += dw
        if labels:
            _add_to_tag(self.label_tags, labels, "", 0, dw, w, flat)
        numeric = self.numeric_tags.setdefault(labels, {})
        for name, unit, value in numbers:
            _add_to_tag(numeric, name, unit, value, dw, w, flat)

    def add_edge(self, callee: "DotNode", dw: int, w: int, residual: bool,
                 inline: bool) -> None:
        e = self.outs.get(callee)
        if e is None:
            e = Edge(self, callee, w, dw, residual, inline)
            self.outs[callee] = e
            callee.ins[self] = e
            return
        e.weight += w
        e.weight_div += dw
        if residual:
            e.residual = True
        if not inline:
            e.inline = False


def _add_to_tag(tags: Dict[str, Tag], name: str, unit: str, value: int,
                dw: int, w: int, flat: bool) -> None:
    t = tags.get(name)
    if t is None:
        t = tags[name] = Tag(name, unit, value)
    if flat:
        t.flat += w
        t.flat_div += dw
    else:
        t.cum += w
        t.cum_div += dw


@dataclasses.dataclass
class VisualGraph:
    nodes: List[DotNode]  # in drawing order
    index: int  # the value column shown
    total: int
    orig_count: int
    dropped_nodes: int
    dropped_edges: int
    notes: List[str]
    filters: List[str]


# One sample as the graph builders read it: location ids (leaf first),
# value, -mean divisor, joined string labels, numeric tags.
_Sample = Tuple[List[int], int, int, str, Tuple[Tuple[str, str, int], ...]]


def _samples(p: graph.Prepared, index: int, mean: bool, bytes_unit: str,
             output_unit: str) -> List[_Sample]:
    """The samples that weigh something, with the tags pprof's graph keeps.

    String labels are joined per sample ("key:value" sorted, joined by a
    literal backslash-n, pprof::base left out); of numeric labels only
    "bytes" is kept, each value named as pprof prints it in the -unit
    asked for (values that print alike are one tag).
    """
    location_id = operator.attrgetter("id")
    out = []
    for s in p.samples:
        w = s.values[index]
        dw = s.values[0] if mean else 0
        if not w and not dw:
            continue
        labels = ""
        if s.labels:
            pairs = sorted(f"{k}:{v}" for k, vs in s.labels.items()
                           if k != "pprof::base" for v in vs)
            labels = "\\n".join(pairs)
        numbers: Tuple[Tuple[str, str, int], ...] = ()
        values = s.num_labels.get("bytes")
        if values:
            numbers = tuple(
                (measure.scaled_label(v, bytes_unit, output_unit), bytes_unit, v)
                for v in values)
        out.append((list(map(location_id, s.locations)), w, dw, labels, numbers))
    return out


def _new_graph(samples: List[_Sample], keys: Dict[int, List[graph.NodeKey]],
               kept: Optional[Set[graph.NodeKey]], drop_negative: bool
               ) -> List[DotNode]:
    """pprof's graph of the samples; kept (node keys) limits the nodes made.

    Each sample adds its value once to every node and edge on its stack;
    an edge that goes over nodes not kept is residual; the flat value goes
    to the innermost frame only if that frame's node is kept.
    """
    by_key: Dict[graph.NodeKey, DotNode] = {}
    # Per location, from its outermost line to its innermost (the order a
    # stack is walked from its root): (node, is an inlined call), or None
    # for a line whose node is not kept.
    rows: Dict[int, tuple] = {}
    for loc_id, loc_keys in keys.items():
        row: List[Optional[Tuple[DotNode, bool]]] = []
        last = len(loc_keys) - 1
        for i in range(last, -1, -1):
            key = loc_keys[i]
            if kept is not None and key not in kept:
                row.append(None)
                continue
            node = by_key.get(key)
            if node is None:
                node = by_key[key] = DotNode(key)
            row.append((node, i != last))
        rows[loc_id] = tuple(row)

    row_of = rows.__getitem__
    flatten = itertools.chain.from_iterable
    stamp = 0
    for ids, w, dw, labels, numbers in samples:
        stamp += 1
        plain = not labels and not numbers
        parent: Optional[DotNode] = None
        residual = False
        for entry in flatten(map(row_of, reversed(ids))):
            if entry is None:
                residual = True
                continue
            node, inline = entry
            if node.stamp != stamp:
                node.stamp = stamp
                if plain:
                    node.cum += w
                    node.cum_div += dw
                else:
                    node.add_sample(dw, w, labels, numbers, False)
            if parent is not None and node is not parent:
                # Counted once per sample, with the flags of its first call.
                e = parent.outs.get(node)
                if e is None:
                    e = Edge(parent, node, w, dw, residual, inline, stamp)
                    parent.outs[node] = node.ins[parent] = e
                elif e.stamp != stamp:
                    e.stamp = stamp
                    e.weight += w
                    e.weight_div += dw
                    if residual:
                        e.residual = True
                    if not inline:
                        e.inline = False
            parent = node
            residual = False
        if parent is not None and not residual:
            parent.add_sample(dw, w, labels, numbers, True)
    return _select_nodes(by_key.values(), drop_negative)


def _new_tree(samples: List[_Sample], keys: Dict[int, List[graph.NodeKey]],
              drop_negative: bool) -> List[DotNode]:
    """pprof's call tree: the nodes of a frame are distinct for each
    distinct path of callers that leads to it."""
    children: Dict[Optional[DotNode], Dict[graph.NodeKey, DotNode]] = {}
    made: List[DotNode] = []
    for ids, w, dw, labels, numbers in samples:
        parent: Optional[DotNode] = None
        for loc_id in reversed(ids):
            loc_keys = keys[loc_id]
            last = len(loc_keys) - 1
            for i in range(last, -1, -1):
                siblings = children.setdefault(parent, {})
                node = siblings.get(loc_keys[i])
                if node is None:
                    node = siblings[loc_keys[i]] = DotNode(loc_keys[i])
                    made.append(node)
                node.add_sample(dw, w, labels, numbers, False)
                if parent is not None:
                    parent.add_edge(node, dw, w, False, i != last)
                parent = node
        if parent is not None:
            parent.add_sample(dw, w, labels, numbers, True)
    return _select_nodes(made, drop_negative)


def _select_nodes(nodes: Iterable[DotNode], drop_negative: bool) -> List[DotNode]:
    out = []
    for n in nodes:
        if n.cum == 0 and n.flat == 0:
            continue
        if drop_negative and (n.flat < 0 or (n.flat == 0 and n.cum < 0)):
            continue
        out.append(n)
    return out


def build_visual_graph(p: graph.Prepared, opts: graph.GraphOptions,
                       call_tree: bool = False) -> VisualGraph:
    """The graph `go tool pprof -dot` draws: built, cut at nodefraction,
    sorted for drawing, limited to nodecount (tags counting as nodes),
    with light tags and edges and redundant residual edges removed.

    Raises:
        graph.GraphError: bad options or sample index.
    """
    if opts.granularity not in graph.GRANULARITIES:
        raise graph.GraphError(f"unexpected granularity {opts.granularity}")
    sel = graph.select(p, opts)
    keys = graph._location_keys(sel.profile, opts)
    bytes_unit = graph.num_label_units(p).get("bytes", "bytes")
    samples = _samples(sel.profile, sel.index, opts.mean, bytes_unit, opts.unit)

    def build(kept: Optional[Set[graph.NodeKey]]) -> List[DotNode]:
        if call_tree:
            return _new_tree(samples, keys, opts.drop_negative)
        return _new_graph(samples, keys, kept, opts.drop_negative)

    nodes = build(None)
    flat_sum = sum(n.flat for n in nodes)
    node_cutoff = abs(int(flat_sum * opts.nodefraction))
    edge_cutoff = abs(int(flat_sum * opts.edgefraction))

    dropped_nodes = 0
    if node_cutoff > 0:
        above = [n for n in nodes if abs(n.cum) >= node_cutoff]
        if len(above) != len(nodes):
            dropped_nodes = len(nodes) - len(above)
            if call_tree:
                nodes = _trim_tree(nodes, set(above))
            else:
                nodes = build({n.key for n in above})
    orig_count = len(nodes)

    _sort_for_drawing(nodes)
    if opts.nodecount > 0:
        _trim_tags(nodes, node_cutoff)
        _trim_edges(nodes, edge_cutoff)
        chosen = _select_top(nodes, opts.nodecount)
        if len(chosen) != len(nodes):
            if call_tree:
                nodes = _trim_tree(nodes, set(chosen))
            else:
                nodes = build({n.key for n in chosen})
            _sort_for_drawing(nodes)

    _trim_tags(nodes, node_cutoff)
    dropped_edges = _trim_edges(nodes, edge_cutoff)
    _remove_redundant_edges(nodes)
    return VisualGraph(nodes, sel.index, sel.total, orig_count, dropped_nodes,
                       dropped_edges, sel.notes, graph.active_filters(opts))


def _trim_tags(nodes: List[DotNode], cutoff: int) -> None:
    for n in nodes:
        n.label_tags = _heavy_tags(n.label_tags, cutoff)
        for labels, tags in n.numeric_tags.items():
            n.numeric_tags[labels] = _heavy_tags(tags, cutoff)


def _heavy_tags(tags: Dict[str, Tag], cutoff: int) -> Dict[str, Tag]:
    return {name: t for name, t in tags.items()
            if abs(t.flat) >= cutoff or abs(t.cum) >= cutoff}


def _trim_edges(nodes: List[DotNode], cutoff: int) -> int:
    dropped = 0
    for n in nodes:
        for caller, e in list(n.ins.items()):
            if abs(e.weight) < cutoff:
                del n.ins[caller]
                caller.outs.pop(n, None)
                dropped += 1
    return dropped


def _select_top(nodes: List[DotNode], count: int) -> List[DotNode]:
    """The first nodes of the drawing order, a node's tags (up to four)
    counting as nodes against the limit."""
    used = 0
    for i, n in enumerate(nodes):
        tags = sum(1 for t in n.label_tags.values() if t.flat != 0)
        tags += sum(1 for group in n.numeric_tags.values()
                    for t in group.values() if t.flat != 0)
        used += min(tags, MAX_NODELETS) + 1
        if used >= count:
            count = i + 1
            break
    return nodes[:count]


def _trim_tree(nodes: List[DotNode], kept: Set[DotNode]) -> List[DotNode]:
    """The tree without the nodes not kept: a removed node's children hang
    from its parent by residual edges (inline when both calls were)."""
    out = []
    for cur in nodes:
        if cur in kept:
            out.append(cur)
            continue
        if not cur.ins:
            for e in cur.outs.values():
                e.dest.ins.pop(cur, None)
            continue
        parent = next(iter(cur.ins))
        parent_inline = parent.outs[cur].inline
        del parent.outs[cur]
        for child, e in list(cur.outs.items()):
            del child.ins[cur]
            child.ins[parent] = e
            parent.outs[child] = e
            e.src = parent
            e.residual = True
            e.inline = parent_inline and e.inline
    _remove_redundant_edges(out)
    return out


def _edge_order(edges: Iterable[Edge]) -> List[Edge]:
    """pprof's edge order: heaviest first, then by caller and callee name.

    pprof sees two edges of opposite weights (w and -w, in a comparison of
    profiles), or of equal weights and names, as equal and leaves their
    order to its map and sort order, which changes from run to run; pyprof
    orders them by name, then as they were found: one of pprof's orders.
    """
    return sorted(edges, key=lambda e: (-abs(e.weight), e.src.name, e.dest.name))


def _remove_redundant_edges(nodes: List[DotNode]) -> None:
    """Drop residual edges whose callee the caller reaches another way,
    lightest first, never one heavier than a direct call into the node."""
    for n in reversed(nodes):
        for e in reversed(_edge_order(n.ins.values())):
            if not e.residual:
                break
            if _is_redundant(e):
                del e.src.outs[e.dest]
                del e.dest.ins[e.src]


def _is_redundant(edge: Edge) -> bool:
    src = edge.src
    seen = {edge.dest}
    queue = collections.deque([edge.dest])
    while queue:
        n = queue.popleft()
        for e in n.ins.values():
            if e is edge or e.src in seen:
                continue
            if e.src is src:
                return True
            seen.add(e.src)
            queue.append(e.src)
    return False


def _sort_for_drawing(nodes: List[DotNode]) -> None:
    """pprof's "entropy" order: by score, name, flat, then the key.

    Limitation: in a call tree, nodes of one function on different paths
    can tie on all of these (a chain of recursive calls that only pass
    their time on); pprof leaves their order to Go's map order and pyprof
    keeps the order in which they were made. When the nodecount limit
    falls among such nodes, pyprof may keep a different one of them than
    pprof does: the same numbers, drawn along a different path.
    """
    # Scores are Go int64s: a NaN score (from negative weights) is the
    # smallest int64, whose absolute value is itself, and sorts last.
    score = {n: _wrap64(abs(_entropy_score(n))) for n in nodes}
    nodes.sort(key=lambda n: (-score[n], n.name, -abs(n.flat), n.tiebreak()))


def _entropy_score(n: DotNode) -> int:
    """How much a node is worth drawing: entry points and leaves score
    high, nodes that only pass their calls straight through score low."""
    score = 0.0
    if not n.ins:
        score += 1
    else:
        score += _edge_entropy(n.ins.values(), 0)
    if not n.outs:
        score += 1
    else:
        score += _edge_entropy(n.outs.values(), n.flat)
    return _wrap64(_go_int64(score * float(n.cum)) + n.flat)


def _edge_entropy(edges: Iterable[Edge], self_weight: int) -> float:
    edges = list(edges)
    score = 0.0
    total = self_weight + sum(abs(e.weight) for e in edges if e.weight > 0)
    if total != 0:
        for e in edges:
            frac = float(abs(e.weight)) / float(total)
            score += -frac * _go_log2(frac)
        if self_weight > 0:
            frac = float(abs(self_weight)) / float(total)
            score += -frac * _go_log2(frac)
    return score


def _go_log2(x: float) -> float:
    """Go's math.Log2: exact for powers of two, else log(frac)/ln 2 + exp."""
    if x == 0:
        return -math.inf
    if x < 0 or math.isnan(x):
        return math.nan
    if math.isinf(x):
        return math.inf
    frac, exp = math.frexp(x)
    if frac == 0.5:
        return float(exp - 1)
    return math.log(frac) * (1 / math.log(2)) + float(exp)


def _wrap64(x: int) -> int:
    """x as a Go int64 holds it, wrapped around on overflow."""
    return ((x + (1 << 63)) & ((1 << 64) - 1)) - (1 << 63)


def _go_int64(x: float) -> int:
    """Go's int64(x) on amd64: truncation; NaN and overflow give MinInt64."""
    if math.isnan(x) or math.isinf(x) or not (-2.0**63 <= x < 2.0**63):
        return _MIN_INT64
    return int(x)


# ---------------------------------------------------------------------------
# DOT text.


def dot_report(p: graph.Prepared, opts: graph.GraphOptions,
               call_tree: bool = False,
               for_graphviz: bool = False) -> Tuple[str, List[str]]:
    """The DOT text `go tool pprof -dot` prints, and pprof's stderr notes.

    The legend always has the full header (File, Type, Time, Duration),
    as in pprof, whatever -compact_labels says.

    pprof leaves quotes unescaped in the graph's title, file names and
    label values, which Graphviz then refuses; for_graphviz escapes them
    (the text is then pprof's only where none of them has a quote).

    Raises:
        graph.GraphError: bad options or sample index.
    """
    g = build_visual_graph(p, opts, call_tree)
    sample_type, sample_unit = p.sample_types[g.index]
    if opts.mean:
        sample_type = "mean_" + sample_type
    fmt = top._Formatter(sample_unit, opts.unit)
    if opts.unit == "minimum":
        top._select_output_unit(fmt, g)
    labels = top.profile_labels(p, sample_type, sample_unit, g.total, fmt)
    labels += _graph_labels(g, opts, fmt)
    title = ""
    if p.mappings and p.mappings[0].file:
        title = top._base(p.mappings[0].file)
    if for_graphviz:
        title = escape(title)
    return _compose(g, labels, title, fmt, for_graphviz), g.notes


def _graph_labels(g: VisualGraph, opts: graph.GraphOptions, fmt) -> List[str]:
    flat_sum = sum(n.flat_value for n in g.nodes)
    lines = []
    if g.filters:
        lines.append("Active filters:")
        lines += ["   " + (f[:80] + "…" if len(f) > 80 else f) for f in g.filters]
    lines.append("Showing nodes accounting for %s, %s of %s total" % (
        fmt(flat_sum), measure.percentage(flat_sum, g.total).strip(), fmt(g.total)))
    if g.total != 0:
        if g.dropped_nodes > 0:
            lines.append(_dropped(g.dropped_nodes, "node", "cum",
                                  fmt(abs(int(g.total * opts.nodefraction)))))
        if g.dropped_edges > 0:
            lines.append(_dropped(g.dropped_edges, "edge", "freq",
                                  fmt(abs(int(g.total * opts.edgefraction)))))
        if 0 < len(g.nodes) < g.orig_count:
            lines.append(f"Showing top {len(g.nodes)} nodes out of {g.orig_count}")
    lines.append(LEGEND_HELP)
    return lines


def _dropped(count: int, what: str, measure_name: str, cutoff: str) -> str:
    if count > 1:
        what += "s"
    return f"Dropped {count} {what} ({measure_name} <= {cutoff})"


def _compose(g: VisualGraph, labels: List[str], title: str, fmt,
             safe: bool) -> str:
    out = [f'digraph "{title or "unnamed"}" {{',
           'node [style=filled fillcolor="#f8f8f8"]']
    if labels:
        # Each line ends in a left-justified break, the last one too.
        text = "\\l".join(escape(x) for x in labels) + "\\l"
        legend = (f'subgraph cluster_L {{ "{escape(labels[0])}" [shape=box '
                  f'fontsize=16 label="{text}"')
        if title:
            legend += f' tooltip="{title}"'
        out.append(legend + "] }")
    if g.nodes:
        # Edges may lead to nodes left out of the graph (with no value at
        # all, in a comparison): pprof numbers those 0.
        ids = collections.defaultdict(int, {n: i + 1 for i, n in enumerate(g.nodes)})
        max_flat = float(max(abs(n.flat_value) for n in g.nodes))
        has_nodelets: Dict[DotNode, bool] = collections.defaultdict(bool)
        edges: List[Edge] = []
        for n in g.nodes:
            out.append(_node_line(n, ids[n], max_flat, g.total, fmt, safe))
            nodelets = _nodelets(n, ids[n], fmt, safe)
            out += nodelets
            has_nodelets[n] = bool(nodelets)
            edges += n.outs.values()
        for e in _edge_order(edges):
            out.append(_edge_line(e, ids[e.src], ids[e.dest], has_nodelets[e.src],
                                  g.total, fmt))
    out.append("}")
    return "\n".join(out) + "\n"


def escape(text: str) -> str:
    """Backslashes and quotes escaped, newlines made left-justified breaks."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\l")


def _node_line(n: DotNode, node_id: int, max_flat: float, total: int, fmt,
               safe: bool) -> str:
    flat, cum = n.flat_value, n.cum_value
    label = multiline_name(n.key, safe)
    flat_text = fmt(flat)
    if flat != 0:
        label += f"{flat_text} ({measure.percentage(flat, total).strip()})"
    else:
        label += "0"
    cum_text = flat_text
    if cum != flat:
        label += "\\n" if flat != 0 else " "
        cum_text = fmt(cum)
        label += f"of {cum_text} ({measure.percentage(cum, total).strip()})"

    # Font size from 8 to 24, growing with the square root of flat.
    font_size = 8
    if max_flat != 0 and flat != 0 and abs(flat) <= max_flat:
        font_size += math.ceil(16.0 * math.sqrt(abs(flat) / max_flat))

    score = _ratio(n.cum_value, total)
    return (f'N{node_id} [label="{label}" id="node{node_id}" fontsize={font_size} '
            f'shape=box tooltip="{escape(n.name)} ({cum_text})" '
            f'color="{dot_color(score, False)}" fillcolor="{dot_color(score, True)}"]')


def _ratio(value: int, total: int) -> float:
    """float(value) / float(|total|), with Go's results for a zero total."""
    if total != 0:
        return float(value) / float(abs(total))
    if value == 0:
        return math.nan
    return math.inf if value > 0 else -math.inf


def _nodelets(n: DotNode, node_id: int, fmt, safe: bool) -> List[str]:
    """The tag boxes beside a node: string labels, then the numeric
    labels of each, then the numeric labels of samples without any."""
    lines: List[str] = []
    by_labels: Dict[str, List[Tag]] = {}
    for labels, tags in n.numeric_tags.items():
        for t in tags.values():
            by_labels.setdefault(labels, []).append(t)
    # A leaf shows what reached it in all (cum); others what stopped there.
    flat_tags = len(n.outs) > 0
    tags = _sort_tags(list(n.label_tags.values()), flat_tags)[:MAX_NODELETS]
    for i, t in enumerate(tags):
        w = t.flat_value if flat_tags else t.cum_value
        if w == 0:
            continue
        weight = fmt(w)
        name = "\\n".join(map(escape, t.name.split("\\n"))) if safe else t.name
        lines.append(f'N{node_id}_{i} [label = "{name}" id="N{node_id}_{i}" '
                     f'fontsize=8 shape=box3d tooltip="{weight}"]')
        lines.append(f'N{node_id} -> N{node_id}_{i} [label=" {weight}" weight=100 '
                     f'tooltip="{weight}" labeltooltip="{weight}"]')
        numeric = by_labels.get(t.name)
        if numeric:
            lines += _numeric_nodelets(numeric, flat_tags, f"N{node_id}_{i}", fmt)
    numeric = by_labels.get("")
    if numeric:
        lines += _numeric_nodelets(numeric, flat_tags, f"N{node_id}", fmt)
    return lines


def _numeric_nodelets(tags: List[Tag], flat_tags: bool, source: str,
                      fmt) -> List[str]:
    lines = []
    for j, t in enumerate(_collapsed_tags(tags, MAX_NODELETS, flat_tags)):
        w, attr = t.cum_value, ' style="dotted"'
        if flat_tags or t.flat_value == t.cum_value:
            w, attr = t.flat_value, ""
        if w == 0:
            continue
        weight = fmt(w)
        lines.append(f'N{source}_{j} [label = "{t.name}" id="N{source}_{j}" '
                     f'fontsize=8 shape=box3d tooltip="{weight}"]')
        lines.append(f'{source} -> N{source}_{j} [label=" {weight}" weight=100 '
                     f'tooltip="{weight}" labeltooltip="{weight}"{attr}]')
    return lines


def _sort_tags(tags: List[Tag], flat: bool) -> List[Tag]:
    """Heaviest first (by cum unless flat, then flat), then by name (as
    with edges, tags of opposite values are in one of pprof's orders)."""
    if flat:
        return sorted(tags, key=lambda t: (-abs(t.flat), t.name))
    return sorted(tags, key=lambda t: (-abs(t.cum), -abs(t.flat), t.name))


def _collapsed_tags(tags: List[Tag], count: int, flat: bool) -> List[Tag]:
    """At most count numeric tags: the heaviest start groups, every other
    tag joins the group whose first value is nearest its own, and a group
    of several is named by its range ("16B..64B")."""
    tags = _sort_tags(tags, flat)
    if len(tags) <= count:
        return tags
    groups = [[t] for t in tags[:count]]
    for t in tags[count:]:
        best, distance = 0, _tag_distance(t, groups[0][0])
        for i in range(1, count):
            d = _tag_distance(t, groups[i][0])
            if d < distance:
                best, distance = i, d
        groups[best].append(t)
    return _sort_tags([_group_tag(g) for g in groups], flat)


def _tag_distance(t: Tag, u: Tag) -> float:
    v = measure.scale(u.value, u.unit, t.unit)[0]
    return float(t.value) - v if v < float(t.value) else v - float(t.value)


def _group_tag(group: List[Tag]) -> Tag:
    if len(group) == 1:
        t = group[0]
        out = Tag(measure.label(t.value, t.unit))
        out.flat, out.cum = t.flat_value, t.cum_value
        return out
    low = high = group[0]
    f, df = low.flat, low.flat_div
    c, dc = low.cum, low.cum_div
    for t in group[1:]:
        if int(measure.scale(t.value, t.unit, low.unit)[0]) < low.value:
            low = t
        if int(measure.scale(t.value, t.unit, high.unit)[0]) > high.value:
            high = t
        f += t.flat
        df += t.flat_div
        c += t.cum
        dc += t.cum_div
    if df:
        f = graph.go_div(f, df)
    if dc:
        c = graph.go_div(c, dc)
    # Tag values keep their own unit, not the graph's: small sizes would
    # otherwise all read "0".
    out = Tag(measure.label(low.value, low.unit) + ".."
              + measure.label(high.value, high.unit))
    out.flat, out.cum = f, c
    return out


def _edge_line(e: Edge, src: int, dest: int, src_has_nodelets: bool, total: int,
               fmt) -> str:
    w = e.weight_value
    weight = fmt(w)
    attr = f'label=" {weight}{chr(92) + "n (inline)" if e.inline else ""}"'
    if total != 0:
        # The edge may weigh more than the total in a comparison.
        heavy = 1 + min(abs(graph.go_div(w * 100, total)), 100)
        if heavy > 1:
            attr += f" weight={heavy}"
        width = 1 + min(abs(graph.go_div(w * 5, total)), 5)
        if width > 1:
            attr += f" penwidth={width}"
        attr += f' color="{dot_color(_ratio(w, total), False)}"'
    arrow = "..." if e.residual else "->"
    tooltip = f'"{escape(e.src.name)} {arrow} {escape(e.dest.name)} ({weight})"'
    attr += f" tooltip={tooltip} labeltooltip={tooltip}"
    if e.residual:
        attr += ' style="dotted"'
    if src_has_nodelets:
        # Keep the callees clear of the caller's tag boxes.
        attr += " minlen=2"
    return f"N{src} -> N{dest} [{attr}]"


def dot_color(score: float, background: bool) -> str:
    """pprof's colour for a share of the total from -1 to 1: red for
    positive, green for negative, grey near zero; light for a fill."""
    shift = 0.7
    saturation, value = (0.1, 0.93) if background else (1.0, 0.7)
    score = _go_max(-1.0, _go_min(1.0, score))
    if abs(score) < 0.2:
        saturation *= abs(score) / 0.2
    if score > 0.0:
        score = _go_pow(score, 1.0 - shift)
    if score < 0.0:
        score = -_go_pow(-score, 1.0 - shift)
    if score < 0.0:
        g = value
        r = value * (1 + saturation * score)
    else:
        r = value
        g = value * (1 - saturation * score)
    b = value * (1 - saturation)
    return "#%02x%02x%02x" % (_go_uint8(r * 255.0), _go_uint8(g * 255.0),
                              _go_uint8(b * 255.0))


def _go_min(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return min(a, b)


def _go_max(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return max(a, b)


def _go_pow(x: float, y: float) -> float:
    """Go's math.Pow for 0 < x <= 1 and 0 < y < 0.5: exp(y * log(x))."""
    if x == 1:
        return 1.0
    if math.isnan(x):
        return math.nan
    return math.exp(y * math.log(x))


def _go_uint8(x: float) -> int:
    """Go's uint8(x) on amd64 for a float: through int64, low 8 bits."""
    return _go_int64(x) & 0xFF


_GO_VERSION = re.compile(r"^(.*?)/v(?:[2-9]|[1-9][0-9]+)([./].*)\Z", re.ASCII)
_SHORTENERS = (
    # Go: the package path goes.
    re.compile(r"^(?:[\w\-\.]+/)+(.+)", re.ASCII),
    # Java: the package and the arguments go.
    re.compile(r"^(?:[a-z]\w*\.)*([A-Z][\w\$]*\.(?:<init>|[a-z][\w\$]*(?:\$\d+)?))"
               r"(?:\(|\Z)", re.ASCII),
    # C++: the namespaces go.
    re.compile(r"^(?:[_a-zA-Z]\w*::)+(_*[A-Z]\w*::~?[_a-zA-Z]\w*(?:<.*>)?)",
               re.ASCII),
)


def shorten_function_name(name: str) -> str:
    """pprof's short form of a function name for graph nodes."""
    if name.startswith("(anonymous namespace)::"):
        name = name[len("(anonymous namespace)::"):]
    name = _GO_VERSION.sub(r"\1\2", name, count=1)
    for rx in _SHORTENERS:
        m = rx.match(name)
        if m:
            return "".join(m.groups())
    return name


def multiline_name(key: graph.NodeKey, safe: bool = False) -> str:
    """A node's name as its box shows it: one part per line (address,
    function name split at "." and "::", base name of the file), each
    line ended by a DOT line break; safe escapes the file name too."""
    name, orig, address, file, start, line, objfile = key
    name = escape(shorten_function_name(name))
    name = name.replace("::", "\\n").replace("[...]", "[…]").replace(".", "\\n")
    if file:
        file = top._base(file)
        if safe:
            file = escape(file)
    return "\\n".join(graph.name_components(name, address, file, line,
                                             objfile)) + "\\n"


# ---------------------------------------------------------------------------
# Entry points for other views.


def _options(settings) -> Tuple[graph.GraphOptions, bool]:
    if isinstance(settings, graph.GraphOptions):
        return settings, False
    from pyprof.commands import views

    opts = views.graph_options(settings, default_nodecount=DEFAULT_NODECOUNT)
    return opts, bool(settings.get("call_tree"))


def render_dot(prepared: graph.Prepared, settings) -> str:
    """The DOT text of the call graph.

    settings: the view settings of pyprof.commands.top.parse_view_args (a
    dict; nodecount defaults to 80 as in pprof, "call_tree" draws a tree),
    or a graph.GraphOptions.

    Raises:
        graph.GraphError: bad options or sample index.
    """
    opts, call_tree = _options(settings)
    return dot_report(prepared, opts, call_tree)[0]


def render_svg(prepared: graph.Prepared, settings) -> str:
    """The call graph drawn as SVG by Graphviz's dot.

    Raises:
        PyprofError: dot is not installed or fails.
        graph.GraphError: bad options or sample index.
    """
    return render_svg_and_notes(prepared, settings)[0]


def render_svg_and_notes(prepared: graph.Prepared, settings) -> Tuple[str, List[str]]:
    """render_svg's SVG, and pprof's notes about the graph ("Focus
    expression matched no samples")."""
    opts, call_tree = _options(settings)
    text, notes = dot_report(prepared, opts, call_tree, for_graphviz=True)
    return run_graphviz(text, "svg").decode("utf-8"), notes


GRAPHVIZ_HINT = ("install Graphviz: apt-get install graphviz (Debian, Ubuntu), "
                 "brew install graphviz (macOS)")


def graphviz_program() -> Optional[str]:
    """The path of Graphviz's dot program, None when it is not installed."""
    return shutil.which("dot")


def run_graphviz(dot_text: str, fmt: str) -> bytes:
    """dot_text laid out by Graphviz's `dot -T<fmt>`.

    Raises:
        PyprofError: dot is missing, fails or takes over five minutes.
    """
    program = graphviz_program()
    if program is None:
        raise PyprofError(f"drawing the call graph as {fmt.upper()}: Graphviz's "
                          "`dot` program is not installed", GRAPHVIZ_HINT)
    try:
        # Names that are not UTF-8 (kept as surrogates) become U+FFFD.
        data = fit_for_graphviz(dot_text).encode("utf-8", "replace")
        done = subprocess.run([program, "-T" + fmt], input=data,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=300, check=False)
    except subprocess.TimeoutExpired:
        raise PyprofError(f"drawing the call graph as {fmt.upper()}: Graphviz's dot "
                          "ran for over five minutes",
                          "show fewer nodes, e.g. --nodecount=40") from None
    except OSError as exc:
        raise PyprofError(f"drawing the call graph as {fmt.upper()}: cannot run "
                          f"{program}: {exc.strerror}", GRAPHVIZ_HINT) from None
    if done.returncode != 0:
        # dot says what went wrong first ("Error: <stdin>: syntax error in
        # line 3 ..."), then quotes the text it choked on.
        reason = [line.strip() for line in
                  done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        detail = reason[0] if reason else f"exit status {done.returncode}"
        if len(detail) > 300:
            detail = detail[:299] + "\u2026"
        hint = ("the DOT text is pyprof's: `pyprof dot` writes it for a bug report"
                if "syntax error" in detail else
                "check that Graphviz works: echo 'digraph{a->b}' | dot -Tsvg")
        raise PyprofError(f"drawing the call graph as {fmt.upper()}: Graphviz's "
                          f"dot failed: {detail}", hint)
    return done.stdout


# Graphviz refuses a quoted string longer than 16384 bytes; a label is cut
# well below that (4 bytes per character at most in UTF-8).
GRAPHVIZ_MAX_STRING = 4000
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)


def fit_for_graphviz(dot_text: str) -> str:
    """dot_text with every quoted string of more than GRAPHVIZ_MAX_STRING
    characters cut to that length, ending in an ellipsis: a function name
    of 20,000 characters is drawn shortened instead of failing the graph."""
    def cut(found: "re.Match[str]") -> str:
        text = found.group(0)
        if len(text) <= GRAPHVIZ_MAX_STRING:
            return text
        inner = text[1:GRAPHVIZ_MAX_STRING]
        # Do not end inside an escape such as \n or \".
        trailing = len(inner) - len(inner.rstrip("\\"))
        if trailing % 2:
            inner = inner[:-1]
        return '"' + inner + '\u2026"'

    return _QUOTED.sub(cut, dot_text)
