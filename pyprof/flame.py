"""Flame graphs: the tree of stacks of a profile, as data, SVG and HTML.

flame_data() turns a prepared profile into a JSON-able tree whose root is
the whole profile and whose children are the outermost frames, each with
its flat and cum value for the chosen sample type. It goes through the same
steps as the text views (pyprof.graph): the sample type, the report total
and the filters (focus, ignore, hide, show, show_from, tagfocus, tagignore)
come from graph.select(), and frames are named as the granularity option
says (functions by default; -lines, -files, -filefunctions, -addresses,
-noinlines). A frame's cum summed over its places in the tree, leaving out
places inside another place of the same frame, is its cum in `pyprof top`;
its flat summed over all places is its flat there.

render_svg() draws that tree as a static SVG; render_html() writes one
self-contained page with the interactive graph of pyprof/web/static/
flame.js and flame.css, every byte inlined, that opens from disk with no
network.

The data (``FORMAT``, version 1)::

    {"format": "pyprof-flame", "version": 1,
     "title": "profile.pb.gz",
     "sample_types": [{"type": "samples", "unit": "count"}, ...],
     "sample_index": 1, "sample_type": "cpu", "unit": "nanoseconds",
     "total": 2420000000,          # the 100% of percentages, as pprof's
     "totals": [242, 2420000000],  # the same for each sample type
     "granularity": "functions", "filters": ["focus=..."], "notes": [...],
     "frames": [{"name": "main", "file": "/app/x.py", "package": "x"}, ...],
     "root": {"frame": -1, "flat": 0, "cum": 2420000000,
              "children": [{"frame": 0, "flat": 10, "cum": 500, ...}]},
     "nodes": 1234,                # nodes in the tree, root included
     "folded": {"nodes": 0, "below": 0}}

A node has "frame" (an index into "frames", -1 for the root and for
folded nodes), "flat", "cum", and "children" when it has some (sorted by
frame name). A folded node stands for the children of one parent that were
too small to keep (see _count_and_fold); it has "folded": how many, and
"name".
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
from pathlib import Path
from typing import Dict
from typing import List
from typing import Optional
from typing import Tuple

from pyprof import graph
from pyprof.commands.views import gc_paused
from pyprof.report import measure

FORMAT = "pyprof-flame"
VERSION = 1
# Past this many nodes the smallest are folded, one folded node per parent:
# a browser lays out and zooms through a tree of this size without delay,
# and a frame this small is far narrower than a pixel at the top level.
DEFAULT_MAX_NODES = 100_000
STATIC = Path(__file__).resolve().parent / "web" / "static"


class _Node:
    __slots__ = ("frame", "flat", "cum", "flat_div", "cum_div", "children", "via",
                 "folded")

    def __init__(self, frame: int) -> None:
        self.frame = frame  # -1: the root, or a folded node
        self.folded = 0  # for a folded node, how many children it stands for
        self.flat = 0
        self.cum = 0
        self.flat_div = 0
        self.cum_div = 0
        self.children: Dict[int, "_Node"] = {}
        # location id -> the node a stack reaches from here through that
        # location (a location may stand for several frames when inlined);
        # made when first needed, as most nodes are leaves.
        self.via: Optional[Dict[int, "_Node"]] = None

    def child(self, frame: int) -> "_Node":
        node = self.children.get(frame)
        if node is None:
            node = self.children[frame] = _Node(frame)
        return node


def flame_data(prepared: graph.Prepared, opts: graph.GraphOptions,
               *, title: str = "", max_nodes: int = DEFAULT_MAX_NODES) -> dict:
    """The flame graph tree of a prepared profile (see the module docstring).

    opts are the view's graph options (pyprof.commands.views.graph_options);
    nodecount, nodefraction and edgefraction do not apply: every stack is
    kept, except that past max_nodes nodes the smallest are folded.

    Raises:
        graph.GraphError: no sample types, a bad sample_index or regexp.
    """
    return _flame_data(prepared, opts, title, max_nodes, {})


def flame_datasets(prepared: graph.Prepared, opts: graph.GraphOptions,
                   *, title: str = "", max_nodes: int = DEFAULT_MAX_NODES,
                   max_total: int = 300_000) -> Tuple[List[dict], int]:
    """flame_data for every sample type, and the position of the one opts
    choose; only that one when all of them would exceed max_total nodes.

    Raises:
        graph.GraphError: as flame_data.
    """
    cache: dict = {}
    chosen = _flame_data(prepared, opts, title, max_nodes, cache)
    count = len(prepared.sample_types)
    if count == 1 or chosen["nodes"] * count > max_total:
        return [chosen], 0
    datasets = []
    for i in range(count):
        if i == chosen["sample_index"]:
            datasets.append(chosen)
        else:
            other = dataclasses.replace(opts, sample_index=str(i))
            datasets.append(_flame_data(prepared, other, title, max_nodes, cache))
    return datasets, chosen["sample_index"]


def _flame_data(prepared: graph.Prepared, opts: graph.GraphOptions, title: str,
                max_nodes: int, cache: dict) -> dict:
    """flame_data; cache keeps the frames between calls that differ only in
    the sample type (the filters, hence the locations, are the same)."""
    if opts.granularity not in graph.GRANULARITIES:
        raise graph.GraphError(f"unexpected granularity {opts.granularity}")
    sel = graph.select(prepared, opts)
    p, index = sel.profile, sel.index
    if "frames" not in cache:
        cache["frames"] = _frames(p, opts)
    frames, loc_frames = cache["frames"]
    with gc_paused():
        root = _tree(p, index, opts.mean, loc_frames)
        count, folded, below = _count_and_fold(root, max_nodes)
        tree, frames = _export(root, frames)
    sample_type, unit = prepared.sample_types[index]
    counted = p if opts.relative_percentages else prepared
    return {
        "format": FORMAT,
        "version": VERSION,
        "title": title,
        "sample_types": [{"type": t, "unit": u} for t, u in prepared.sample_types],
        "sample_index": index,
        "sample_type": ("mean_" if opts.mean else "") + sample_type,
        "unit": unit,
        "total": sel.total,
        "totals": [graph.report_total(counted, i, opts.mean)
                   for i in range(len(prepared.sample_types))],
        "granularity": opts.granularity + (" (no inlines)" if opts.noinlines else ""),
        "filters": graph.active_filters(opts),
        "notes": list(sel.notes),
        "frames": frames,
        "root": tree,
        "nodes": count,
        "folded": {"nodes": folded, "below": below},
    }


def _tree(p: graph.Prepared, index: int, mean: bool,
          loc_frames: Dict[int, List[int]]) -> _Node:
    """The tree of the samples' stacks: each sample adds its value to the
    cum of every node on its path and to the flat of the last one."""
    root = _Node(-1)
    # Locations standing for several frames (inlined calls); the others,
    # most of them, take the quick way below.
    inlined = {loc_id: f for loc_id, f in loc_frames.items() if len(f) > 1}
    for s in p.samples:
        w = s.values[index]
        d = s.values[0] if mean else 0
        if not (w or d) or not s.locations:
            continue
        root.cum += w
        root.cum_div += d
        node = root
        # From the outermost location to the leaf.
        for loc in reversed(s.locations):
            loc_id = loc.id
            via = node.via
            nxt = via.get(loc_id) if via is not None else None
            if nxt is None:
                nxt = node
                for frame in loc_frames[loc_id]:
                    nxt = nxt.child(frame)
                if via is None:
                    via = node.via = {}
                via[loc_id] = nxt
            if loc_id in inlined:
                _add_path(node, nxt, inlined[loc_id], w, d)
            else:
                nxt.cum += w
                nxt.cum_div += d
            node = nxt
        node.flat += w
        node.flat_div += d
    return root


def _add_path(start: _Node, end: _Node, frames: List[int], w: int, d: int) -> None:
    """Add a sample's value to the cum of the nodes after start up to end,
    the frames of one location."""
    node = start
    for frame in frames:
        node = node.children[frame]
        node.cum += w
        node.cum_div += d
        if node is end:
            return


def _frames(p: graph.Prepared, opts: graph.GraphOptions
            ) -> Tuple[List[dict], Dict[int, List[int]]]:
    """The distinct frames (one per pprof node key) with their display name,
    file and package, and per location its frame indices, outermost first."""
    keys = graph._location_keys(p, opts)  # the keys pprof's nodes have
    frames: List[dict] = []
    index: Dict[tuple, int] = {}
    loc_frames: Dict[int, List[int]] = {}
    for loc in p.locations:
        loc_keys = keys[loc.id]
        files = [fn.filename for fn, _ in loc.lines]
        if len(files) != len(loc_keys):
            # -noinlines keeps the outermost line only; no lines: no file.
            files = files[-1:] if files else [""]
        row = []
        for key, filename in zip(loc_keys, files):
            i = index.get(key)
            if i is None:
                i = index[key] = len(frames)
                name = graph.printable_name(key)
                frames.append({"name": name, "file": filename,
                               "package": package_of(key[0], filename)})
            row.append(i)
        row.reverse()
        loc_frames[loc.id] = row
    return frames, loc_frames


_SITE = re.compile(r"/(?:site|dist)-packages/([^/]+)")
_STDLIB = re.compile(r"/lib/(?:python|pypy)3[.0-9]*/([^/]+)")
_FROZEN = re.compile(r"^<frozen ([^>.]+)")


def package_of(name: str, filename: str) -> str:
    """What a frame is coloured by: the top-level Python package or module
    (installed, standard library, or the file's own name), else Go's
    package from a function name such as "net/http.(*Server).Serve"."""
    for pattern in (_SITE, _STDLIB, _FROZEN):
        found = pattern.search(filename)
        if found:
            return _module(found.group(1))
    if filename.endswith((".py", ".pyx")):
        return _module(filename.rsplit("/", 1)[-1])
    if name:
        slash = name.rfind("/")
        dot = name.find(".", slash + 1)
        if dot > 0:
            return name[:dot]
        return name
    return filename.rsplit("/", 1)[-1]


def _module(part: str) -> str:
    for suffix in (".py", ".pyx", ".so"):
        if part.endswith(suffix):
            return part[: -len(suffix)].split(".", 1)[0]
    return part


def _count_and_fold(root: _Node, max_nodes: int) -> Tuple[int, int, int]:
    """Nodes in the tree (root included); past max_nodes, the children whose
    |cum| is at or below a threshold are folded into one node per parent.

    Returns (nodes kept, nodes folded away, the threshold).
    """
    cums = [abs(n.cum) for n in _walk(root)]
    if max_nodes <= 0 or len(cums) <= max_nodes:
        return len(cums), 0, 0
    # At most max_nodes // 2 nodes are above the threshold, and each may
    # gain one folded child. A parent's cum is at least its children's
    # (values of one sign), so what is kept hangs together.
    cums.sort(reverse=True)
    threshold = cums[max(1, max_nodes // 2)]
    folded_away = 0
    for node in _walk(root):
        small = [f for f, c in node.children.items() if abs(c.cum) <= threshold]
        if not small:
            continue
        other = _Node(-1)
        for f in small:
            child = node.children.pop(f)
            other.cum += child.cum
            other.cum_div += child.cum_div
            other.folded += 1
            folded_away += sum(1 for _ in _walk(child))
        node.children[-1] = other
    return len(cums) - folded_away + _count_folded(root), folded_away, threshold


def _walk(root: _Node):
    """root and every node below it (children are looked at after the node
    is yielded, so a caller may change them)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children.values())


def _count_folded(root: _Node) -> int:
    return sum(1 for n in _walk(root) if n.folded)


def _value(total: int, divisor: int) -> int:
    return graph.go_div(total, divisor) if divisor else total


def _export(root: _Node, frames: List[dict]) -> Tuple[dict, List[dict]]:
    """The tree as nested dicts, children sorted by frame name (folded
    nodes last), and the frames it uses, renumbered in order of use."""
    out = {"frame": -1, "flat": _value(root.flat, root.flat_div),
           "cum": _value(root.cum, root.cum_div)}
    used: Dict[int, int] = {}
    work = [(root, out)]
    while work:
        node, d = work.pop()
        if node.folded:
            d["folded"] = node.folded
            d["name"] = f"[{node.folded} smaller frames]"
            continue
        if not node.children:
            continue
        kids = sorted(node.children.values(),
                      key=lambda c: (c.frame == -1, frames[c.frame]["name"]
                                     if c.frame >= 0 else "", c.frame))
        children = []
        for c in kids:
            frame = c.frame
            if frame >= 0:
                frame = used.setdefault(frame, len(used))
            cd = {"frame": frame, "flat": _value(c.flat, c.flat_div),
                  "cum": _value(c.cum, c.cum_div)}
            children.append(cd)
            work.append((c, cd))
        d["children"] = children
    return out, [frames[old] for old in used]


# ---------------------------------------------------------------------------
# Output: a static SVG, a self-contained HTML page.


def fnv1a(text: str) -> int:
    """32-bit FNV-1a of text's UTF-16 code units, as flame.js computes it,
    so that a package has the same colour in the SVG and the page."""
    h = 0x811C9DC5
    data = text.encode("utf-16-le")
    for i in range(0, len(data), 2):
        h ^= data[i] | (data[i + 1] << 8)
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def colour(key: str) -> str:
    """A light colour for a package or file name, the same on every run and
    in flame.js (colourOf): black labels stay readable on it."""
    h = fnv1a(key)
    return f"hsl({h % 360},{50 + (h >> 9) % 25}%,{64 + (h >> 17) % 14}%)"


def value_label(value: int, unit: str) -> str:
    """A value with its unit, auto-scaled as pprof does ("1.98s", "12MB")."""
    return measure.label(value, unit)


def percent(value: int, total: int) -> str:
    return f"{abs(value) / total * 100:.2f}%" if total else "0%"


def render_svg(data: dict, *, width: int = 1200, icicle: bool = True) -> str:
    """A static SVG flame graph: one rectangle per frame at least a tenth of
    a pixel wide, a label where it fits and a <title> tooltip on each.

    The root's label and tooltip carry the total; its width is the SVG's
    less the margins. icicle puts the root at the top, else at the bottom.
    """
    row, pad, top = 18, 10, 40
    frames, unit, total = data["frames"], data["unit"], data["total"]
    root = data["root"]
    # Widths are in proportion to |cum| (see flame.js for comparisons, where
    # a caller may be narrower than its callees).
    scale_to = max(abs(root["cum"]),
                   sum(abs(c["cum"]) for c in root.get("children", ()))) or 1
    usable = width - 2 * pad
    # (node, x, width, depth), children left to right in their order.
    placed: List[Tuple[dict, float, float, int]] = []
    work = [(root, float(pad), float(usable), 0)]
    while work:
        node, x, w, depth = work.pop()
        placed.append((node, x, w, depth))
        cx = x
        for child in node.get("children", ()):
            cw = abs(child["cum"]) / scale_to * usable
            cw = min(cw, x + w - cx)
            if cw >= 0.1:
                work.append((child, cx, cw, depth + 1))
            cx += cw
    depth_max = max(depth for _, _, _, depth in placed)
    height = top + (depth_max + 1) * row + pad
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        (f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{width}" '
         f'height="{height}" viewBox="0 0 {width} {height}" '
         f'data-total="{total}" data-unit="{_attr(unit)}">'),
        ("<style>text{font-family:Verdana,Arial,sans-serif;font-size:11px;"
         "fill:#000}rect{stroke:#fff;stroke-width:0.5}.t{font-size:15px}</style>"),
        (f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fdfdf5" '
         'stroke="none"/>'),
        f'<text class="t" x="{pad}" y="24">{_text(_heading(data))}</text>',
    ]
    for node, x, w, depth in placed:
        level = depth if icicle else depth_max - depth
        out.append(_svg_frame(node, frames, x, w, top + level * row, unit, total))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _heading(data: dict) -> str:
    what = data["sample_type"] or "value"
    title = data["title"] or "profile"
    filters = f" ({', '.join(data['filters'])})" if data["filters"] else ""
    return f"{title}: {what}, total {value_label(data['total'], data['unit'])}{filters}"


def frame_name(node: dict, frames: List[dict]) -> str:
    """The name a node is shown with: its frame's, "all" for the root."""
    if node["frame"] >= 0:
        return frames[node["frame"]]["name"]
    return node.get("name", "all")


def _svg_frame(node: dict, frames: List[dict], x: float, w: float, y: int,
               unit: str, total: int) -> str:
    name = frame_name(node, frames)
    if node["frame"] >= 0:
        frame = frames[node["frame"]]
        fill = colour(frame["package"] or frame["file"])
    else:
        fill = "#c8c8c8" if "folded" in node else "#e0a060"
    tip = (f"{name}\ncum {value_label(node['cum'], unit)} "
           f"({percent(node['cum'], total)}), flat {value_label(node['flat'], unit)} "
           f"({percent(node['flat'], total)})")
    label = name
    if node["frame"] == -1 and "folded" not in node:
        label = f"all: {value_label(node['cum'], unit)} ({percent(node['cum'], total)})"
    fits = int((w - 6) / 6.6)
    text = ""
    if fits >= 3:
        shown = label if len(label) <= fits else label[: fits - 1] + "\u2026"
        text = f'<text x="{x + 3:.2f}" y="{y + 13}">{_text(shown)}</text>'
    return (f'<g><title>{_text(tip)}</title><rect x="{x:.2f}" y="{y}" '
            f'width="{w:.2f}" height="17" fill="{fill}"/>{text}</g>')


def _text(s: str) -> str:
    return html.escape(_printable(s), quote=False)


def _attr(s: str) -> str:
    return html.escape(_printable(s), quote=True)


def _printable(s: str) -> str:
    """s without the characters XML 1.0 forbids (names come from any file)."""
    return re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "\ufffd", s)


def render_html(datasets: List[dict], *, selected: int = 0, icicle: bool = True,
                title: str = "") -> str:
    """One self-contained page: the graph of datasets[selected], and a
    selector for the others (one per sample type), all inlined."""
    script = (STATIC / "flame.js").read_text(encoding="utf-8")
    style = (STATIC / "flame.css").read_text(encoding="utf-8")
    payload = {"datasets": datasets, "selected": selected,
               "orientation": "icicle" if icicle else "flame"}
    # JSON text inside <script>: "<" only occurs in strings, where \u003c
    # means the same and cannot end the element.
    blob = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    blob = blob.replace("<", "\\u003c").replace("\u2028", "\\u2028")
    blob = blob.replace("\u2029", "\\u2029")
    page_title = html.escape(_printable(title or "flame graph"))
    return _PAGE.format(title=page_title, style=style, script=script, blob=blob)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pyprof flame: {title}</title>
<style>
{style}
</style>
</head>
<body class="pyprof-flame-page">
<div id="pyprof-flame"></div>
<script type="application/json" id="pyprof-flame-data">{blob}</script>
<script>
{script}
</script>
<script>
PyprofFlame.mountPage(document.getElementById("pyprof-flame"),
  JSON.parse(document.getElementById("pyprof-flame-data").textContent));
</script>
</body>
</html>
"""
