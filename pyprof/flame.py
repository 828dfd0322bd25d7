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

The data (``FORMAT``, version 2)::

    {"format": "pyprof-flame", "version": 2,
     "title": "profile.pb.gz",
     "sample_types": [{"type": "samples", "unit": "count"}, ...],
     "sample_index": 1, "sample_type": "cpu", "unit": "nanoseconds",
     "total": 2420000000,          # the 100% of percentages, as pprof's
     "totals": [242, 2420000000],  # the same for each sample type
     "granularity": "functions", "filters": ["focus=..."], "notes": [...],
     "frames": [{"name": "main", "file": "/app/x.py", "package": "x"}, ...],
     "tree": {"frame":  [-1, 0, 1, ...],   # index into "frames"; -1: the
                                           # root (node 0) and folded nodes
              "parent": [-1, 0, 1, ...],   # index of the parent node
              "flat":   [0, 10, 490, ...],
              "cum":    [2420000000, 500, 490, ...],
              "folds":  [[7, 12], ...],    # [node, how many frames] of the
                                           # folded nodes
              "size":   [...]},            # only in comparisons, see below
     "nodes": 1234,                # nodes in the tree, root included
     "folded": {"nodes": 0, "below": 0}}

The tree is flat, one entry per node in each array, so that a stack of any
depth encodes and decodes without recursion. Nodes are in depth-first
order: a parent before its children, the children of one parent in display
order (by frame name, a folded node last). A folded node stands for the
children of one parent that were too small to keep (see _count_and_fold).

A comparison (-base, -diff_base) has negative values; its tree then has
"size", each node's width: |flat| summed over its subtree. Widths by signed
cum would let a caller whose callees grew and shrank be narrower than they
are; the sign is shown by colour. Without "size" a node's width is its cum.
nested() gives the tree as nested dicts to Python readers.
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
VERSION = 2
# Past this many nodes the smallest are folded, one folded node per parent:
# a browser lays out and zooms through a tree of this size without delay,
# and a frame this small is far narrower than a pixel at the top level.
DEFAULT_MAX_NODES = 100_000
STATIC = Path(__file__).resolve().parent / "web" / "static"


class _Node:
    __slots__ = ("frame", "flat", "cum", "flat_div", "cum_div", "children", "via",
                 "folded", "size")

    def __init__(self, frame: int) -> None:
        self.frame = frame  # -1: the root, or a folded node
        self.folded = 0  # for a folded node, how many children it stands for
        self.size = 0  # for a folded node, |flat| summed over what it stands for
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
        "notes": list(sel.notes) + (
            [] if count > 1 else ["The profile has no samples to draw."]),
        "frames": frames,
        "tree": tree,
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
            for below in _walk(child):
                folded_away += 1
                other.size += abs(_value(below.flat, below.flat_div))
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
    """The tree as flat arrays (see the module docstring), children sorted
    by frame name (folded nodes last), and the frames it uses, renumbered
    in order of use. No recursion: the depth of a stack is unbounded."""
    frame_of: List[int] = []
    parent_of: List[int] = []
    flats: List[int] = []
    cums: List[int] = []
    folds: List[List[int]] = []
    used: Dict[int, int] = {}
    negative = False
    # Depth first, left to right: a parent comes before its children.
    work: List[Tuple[_Node, int]] = [(root, -1)]
    while work:
        node, parent = work.pop()
        at = len(frame_of)
        frame = node.frame
        if frame >= 0:
            frame = used.setdefault(frame, len(used))
        frame_of.append(frame)
        parent_of.append(parent)
        flat, cum = _value(node.flat, node.flat_div), _value(node.cum, node.cum_div)
        flats.append(flat)
        cums.append(cum)
        negative = negative or flat < 0 or cum < 0
        if node.folded:
            folds.append([at, node.folded, node.size])
            continue
        if node.children:
            kids = sorted(node.children.values(),
                          key=lambda c: (c.frame == -1, frames[c.frame]["name"]
                                         if c.frame >= 0 else "", c.frame))
            work.extend((c, at) for c in reversed(kids))
    tree = {"frame": frame_of, "parent": parent_of, "flat": flats, "cum": cums,
            "folds": [f[:2] for f in folds]}
    if negative:
        tree["size"] = _sizes(parent_of, flats, {f[0]: f[2] for f in folds})
    return tree, [frames[old] for old in used]


def _sizes(parents: List[int], flats: List[int], folded: Dict[int, int]) -> List[int]:
    """Each node's width in a comparison: |flat| summed over its subtree
    (a folded node: over the subtrees it stands for). A caller whose
    callees grew and shrank is then as wide as all of them side by side."""
    sizes = [abs(f) for f in flats]
    for i, size in folded.items():
        sizes[i] = size
    for i in range(len(parents) - 1, 0, -1):
        sizes[parents[i]] += sizes[i]
    return sizes


def nested(data: dict) -> dict:
    """data's tree as nested dicts, for Python readers: {"frame", "flat",
    "cum", "size", "children": [...]}, folded nodes with "folded" (how many
    frames) and "name". Built without recursion; do not json.dumps it (a
    deep stack would exceed Python's recursion limit), send data itself."""
    tree = data["tree"]
    sizes = tree.get("size") or [abs(c) for c in tree["cum"]]
    folds = {i: count for i, count in tree["folds"]}
    nodes = []
    for i, frame in enumerate(tree["frame"]):
        node = {"frame": frame, "flat": tree["flat"][i], "cum": tree["cum"][i],
                "size": sizes[i]}
        if i in folds:
            node["folded"] = folds[i]
            node["name"] = folded_name(folds[i])
        nodes.append(node)
        parent = tree["parent"][i]
        if parent >= 0:
            nodes[parent].setdefault("children", []).append(node)
    return nodes[0]


def folded_name(count: int) -> str:
    return f"[{count} smaller frames]"


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


GOLDEN_ANGLE = 137.50776405003785


def palette(keys) -> Dict[str, str]:
    """A light colour for each package or file name of one profile, the
    same as flame.js's palette: the names sorted, each a golden angle round
    the hue circle from the one before, so that names seen together get
    well-spaced hues; saturation and lightness vary a little by a hash of
    the name. Black labels stay readable on every one."""
    out = {}
    # Sorted by UTF-16 code units, as JavaScript sorts strings.
    for rank, key in enumerate(sorted(set(keys), key=lambda k: k.encode(
            "utf-16-be", "surrogatepass"))):
        h = fnv1a(key)
        hue = int(rank * GOLDEN_ANGLE) % 360
        out[key] = f"hsl({hue},{50 + (h >> 9) % 25}%,{64 + (h >> 17) % 14}%)"
    return out


def diff_colour(value: int, largest: int) -> str:
    """In a comparison, growth in red, reduction in green, paler when
    smaller (as flame.js's diffColour)."""
    if not value or not largest:
        return "hsl(0,0%,85%)"
    strength = min(1.0, abs(value) / largest)
    light = int(88 - 33 * strength)
    return f"hsl({0 if value > 0 else 120},70%,{light}%)"


def colour_key(frame: dict) -> str:
    return frame["package"] or frame["file"] or frame["name"]


def value_label(value: int, unit: str) -> str:
    """A value with its unit, auto-scaled as pprof does ("1.98s", "12MB")."""
    return measure.label(value, unit)


def percent(value: int, total: int) -> str:
    """value's share of total; negative for a reduction in a comparison."""
    return f"{value / abs(total) * 100:.2f}%" if total else "0%"


def render_svg(data: dict, *, width: int = 1200, icicle: bool = True) -> str:
    """A static SVG flame graph: one rectangle per frame at least a pixel
    wide, a label where it fits and a <title> tooltip on each; the frames
    of one parent narrower than a pixel are drawn together as one grey
    block, as on the page.

    The root's label and tooltip carry the total; its width is the SVG's
    less the margins. icicle puts the root at the top, else at the bottom.
    """
    row, pad, top = 18, 10, 40
    frames, unit, total = data["frames"], data["unit"], data["total"]
    tree = data["tree"]
    parents, flats, cums = tree["parent"], tree["flat"], tree["cum"]
    sizes = tree.get("size") or [abs(c) for c in cums]
    folds = {i: count for i, count in tree["folds"]}
    count = len(parents)
    usable = width - 2 * pad
    scale = usable / (sizes[0] or 1)
    colours = palette(colour_key(f) for f in frames)
    largest = max((abs(c) for c in cums[1:]), default=0)
    # Left to right in each parent: its next free x; None when the parent
    # is not drawn. Parents come before their children in the arrays.
    next_x: List[Optional[float]] = [None] * count
    end = [0.0] * count  # a drawn node's right edge: its children stay inside
    depth = [0] * count
    next_x[0] = float(pad)
    end[0] = float(pad + usable)
    # (parent, depth) -> [x, width, frames, value] of its narrow children.
    narrow: Dict[int, List[float]] = {}
    placed: List[Tuple[int, float, float, int]] = [(0, float(pad), float(usable), 0)]
    for i in range(1, count):
        parent = parents[i]
        x = next_x[parent]
        if x is None:
            continue
        depth[i] = depth[parent] + 1
        w = min(sizes[i] * scale, end[parent] - x)
        next_x[parent] = x + w
        if w <= 0:
            continue
        if w < 1:
            block = narrow.get(parent)
            if block is None:
                narrow[parent] = [x, w, 1, cums[i]]
            else:
                block[1] = x + w - block[0]
                block[2] += 1
                block[3] += cums[i]
            continue
        next_x[i] = x
        end[i] = x + w
        placed.append((i, x, w, depth[i]))
    blocks = [(depth[p] + 1, b) for p, b in narrow.items() if b[1] >= 0.1]
    depth_max = max([d for _, _, _, d in placed] + [d for d, _ in blocks])
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
    diff = "size" in tree
    for i, x, w, d in placed:
        y = top + (d if icicle else depth_max - d) * row
        frame = tree["frame"][i]
        if i == 0:
            name, fill = "all", "#e0a060"
            label = f"all: {value_label(cums[0], unit)} ({percent(cums[0], total)})"
        elif i in folds:
            name = label = folded_name(folds[i])
            fill = "#c8c8c8"
        else:
            name = label = frames[frame]["name"]
            fill = (diff_colour(cums[i], largest) if diff
                    else colours[colour_key(frames[frame])])
        tip = (f"{name}\ncum {_signed(cums[i], unit, diff)} "
               f"({percent(cums[i], total)}), flat {_signed(flats[i], unit, diff)} "
               f"({percent(flats[i], total)})")
        out.append(_svg_rect(x, w, y, fill, tip, label))
    for d, (x, w, n, value) in blocks:
        y = top + (d if icicle else depth_max - d) * row
        tip = (f"{n} frames narrower than a pixel\ncum "
               f"{_signed(value, unit, diff)} ({percent(value, total)})")
        out.append(_svg_rect(x, w, y, "#bbbbbb", tip, f"[{n} narrow frames]"))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _signed(value: int, unit: str, diff: bool) -> str:
    text = value_label(value, unit)
    return "+" + text if diff and value > 0 else text


def _heading(data: dict) -> str:
    what = data["sample_type"] or "value"
    title = data["title"] or "profile"
    filters = f" ({', '.join(data['filters'])})" if data["filters"] else ""
    return f"{title}: {what}, total {value_label(data['total'], data['unit'])}{filters}"


def _svg_rect(x: float, w: float, y: int, fill: str, tip: str, label: str) -> str:
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
