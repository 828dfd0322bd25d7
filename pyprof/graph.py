"""From a decoded profile to the weighted call graph that pprof's views show.

Sits between pyprof.pprof (bytes to a Profile message) and pyprof.report
(graph to text). The steps and their order are those of `go tool pprof`
1.19, so that every number and every row order matches it:

1. prepare(): what Go does to every input profile before any report --
   resolve string indices, add a placeholder mapping when there is none,
   merge (drop zero samples, fold duplicates), simplify C++-looking names
   (which turns `<module>` into an empty name, exactly as pprof does), and
   cut frames named by drop_frames.
2. select_sample() and total(): the value column shown and the report total.
3. build_trimmed_graph(): aggregate locations to the requested granularity,
   accumulate flat and cum per node, then drop nodes below nodefraction of
   the total and keep the nodecount largest.

Limitation: the filters (focus, ignore, hide, show, tagfocus...) and -mean
are not implemented yet; GraphOptions has the place for them, and every
step above is where pprof applies them.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Dict
from typing import List
from typing import Optional
from typing import Sequence
from typing import Set
from typing import Tuple

from pyprof._proto import profile_pb2

GRANULARITIES = ("functions", "filefunctions", "files", "lines", "addresses")


class GraphError(Exception):
    """A report cannot be made from this profile with these options."""


# ---------------------------------------------------------------------------
# The profile with strings and ids resolved.


@dataclasses.dataclass
class Function:
    id: int
    name: str
    system_name: str
    filename: str
    start_line: int


@dataclasses.dataclass
class Mapping:
    id: int
    start: int
    limit: int
    offset: int
    file: str
    build_id: str


@dataclasses.dataclass
class Location:
    id: int
    mapping: Optional[Mapping]
    address: int
    # (function, line number), innermost inlined call first, as in the file.
    lines: List[Tuple[Function, int]]
    is_folded: bool = False


@dataclasses.dataclass
class Sample:
    locations: List[Location]  # leaf first
    values: List[int]
    # String labels and numeric labels (with their units, "" when unset).
    labels: Dict[str, List[str]] = dataclasses.field(default_factory=dict)
    num_labels: Dict[str, List[int]] = dataclasses.field(default_factory=dict)
    num_units: Dict[str, List[str]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Prepared:
    """A profile after the normalization pprof applies to every input."""

    sample_types: List[Tuple[str, str]]  # (type, unit)
    default_sample_type: str
    samples: List[Sample]
    locations: List[Location]
    mappings: List[Mapping]
    comments: List[str]
    time_nanos: int
    duration_nanos: int
    notes: List[str]  # informational lines pprof prints on stderr


def prepare(proto: profile_pb2.Profile) -> Prepared:
    """Resolve a checked Profile message and normalize it as Go 1.19 does.

    The message must have passed pyprof.pprof.load's checks.
    """
    strings = proto.string_table
    mappings = [
        Mapping(m.id, m.memory_start, m.memory_limit, m.file_offset,
                strings[m.filename], strings[m.build_id])
        for m in proto.mapping
    ]
    notes = []
    if not mappings:
        # pprof gives every location a placeholder for the missing binary.
        mappings = [Mapping(1, 0, 0, 0, "", "")]
        notes.append("Main binary filename not available.")
        by_mapping_id = {}
        placeholder: Optional[Mapping] = mappings[0]
    else:
        by_mapping_id = {m.id: m for m in mappings}
        placeholder = None

    functions = {}
    for f in proto.function:
        functions[f.id] = Function(f.id, strings[f.name], strings[f.system_name],
                                   strings[f.filename], f.start_line)

    locations = []
    by_location_id: Dict[int, Location] = {}
    for loc in proto.location:
        mapping = placeholder or by_mapping_id.get(loc.mapping_id)
        lines = [(functions[ln.function_id], ln.line) for ln in loc.line]
        resolved = Location(loc.id, mapping, loc.address, lines, loc.is_folded)
        locations.append(resolved)
        by_location_id[loc.id] = resolved

    samples = [
        _resolve_sample(s, strings, by_location_id) for s in proto.sample
    ]
    prepared = Prepared(
        sample_types=[(strings[t.type], strings[t.unit]) for t in proto.sample_type],
        default_sample_type=strings[proto.default_sample_type],
        samples=samples,
        locations=locations,
        mappings=mappings,
        comments=[strings[c] for c in proto.comment],
        time_nanos=proto.time_nanos,
        duration_nanos=proto.duration_nanos,
        notes=notes,
    )
    merge(prepared)
    for fn in {id(f): f for loc in prepared.locations for f, _ in loc.lines}.values():
        _simplify_name(fn)
    drop, keep = strings[proto.drop_frames], strings[proto.keep_frames]
    if drop:
        _prune(prepared, drop, keep)
    return prepared


def _resolve_sample(s, strings, by_location_id) -> Sample:
    """A Sample with its labels decoded the way Go 1.19 decodes them."""
    sample = Sample([by_location_id[i] for i in s.location_id], list(s.value))
    for lb in s.label:
        key = strings[lb.key]
        if lb.str:
            sample.labels.setdefault(key, []).append(strings[lb.str])
        elif lb.num or lb.num_unit:
            values = sample.num_labels.setdefault(key, [])
            if lb.num_unit:
                units = sample.num_units.setdefault(key, [])
                units.extend([""] * (len(values) - len(units)))
                units.append(strings[lb.num_unit])
            values.append(lb.num)
        # A label with neither a string nor a number is dropped, as in Go.
    for key, units in sample.num_units.items():
        units.extend([""] * (len(sample.num_labels[key]) - len(units)))
    return sample


def merge(p: Prepared) -> None:
    """Go's merge of a single profile, which pprof 1.19 runs on every input.

    Samples whose values are all zero go; samples with the same stack and
    labels become one (values summed, first position kept); equal functions
    and locations become one and are renumbered 1..N in order of first use,
    walking the samples in order, each from leaf to root. Unused functions,
    locations and mappings vanish, except the first mapping (the main
    binary). The numbers of every view are unchanged; -raw and -traces show
    the merged form.

    Limitation: mappings are told apart by id only, where Go also merges two
    mappings of the same file at the same offset.
    """
    functions: Dict[Tuple[str, str, str, int], Function] = {}
    locations: Dict[tuple, Location] = {}
    by_old_location: Dict[int, Location] = {}
    mappings: Dict[int, Mapping] = {}
    merged: Dict[tuple, Sample] = {}

    def map_mapping(m: Optional[Mapping]) -> Optional[Mapping]:
        if m is None:
            return None
        if id(m) not in mappings:
            mappings[id(m)] = dataclasses.replace(m, id=len(mappings) + 1)
        return mappings[id(m)]

    def map_function(f: Function) -> Function:
        key = (f.name, f.system_name, f.filename, f.start_line)
        if key not in functions:
            functions[key] = dataclasses.replace(f, id=len(functions) + 1)
        return functions[key]

    def map_location(loc: Location) -> Location:
        done = by_old_location.get(loc.id)
        if done is not None:
            return done
        mapping = map_mapping(loc.mapping)
        lines = [(map_function(f), line) for f, line in loc.lines]
        key = (
            loc.address - (mapping.start if mapping else 0),
            mapping.id if mapping else 0,
            tuple((f.id, line) for f, line in lines),
            loc.is_folded,
        )
        found = locations.get(key)
        if found is None:
            found = Location(len(locations) + 1, mapping, loc.address, lines,
                             loc.is_folded)
            locations[key] = found
        by_old_location[loc.id] = found
        return found

    if p.mappings:
        map_mapping(p.mappings[0])
    samples = []
    for s in p.samples:
        if not any(s.values):
            continue
        stack = [map_location(loc) for loc in s.locations]
        key = (
            tuple(loc.id for loc in stack),
            tuple(sorted((k, tuple(v)) for k, v in s.labels.items())),
            tuple(sorted(
                (k, tuple(v), tuple(s.num_units.get(k, ())))
                for k, v in s.num_labels.items()
            )),
        )
        same = merged.get(key)
        if same is not None:
            same.values = [a + b for a, b in zip(same.values, s.values)]
            continue
        copy = Sample(stack, list(s.values), {k: list(v) for k, v in s.labels.items()},
                      {k: list(v) for k, v in s.num_labels.items()},
                      {k: list(v) for k, v in s.num_units.items()})
        merged[key] = copy
        samples.append(copy)
    p.samples = samples
    p.locations = list(locations.values())
    p.mappings = list(mappings.values())
    if not all(any(s.values) for s in samples):
        # Values that summed to zero: Go merges once more to drop them.
        merge(p)


def _simplify_name(fn: Function) -> None:
    """pprof's demangling pass, for names that are already readable.

    When a function has no name, or its name equals its system name, pprof
    takes the system name and, if it looks like demangled C++ (contains one
    of `<>[]` or `::`), removes every `(...)` and `<...>` group. Python's
    `<module>` or `<lambda>` therefore print as `<unknown>` in Go's reports
    unless the writer leaves system_name empty; pyprof's writer does.

    Limitation: symbols still mangled (`_Z...`, `_R...`) are kept as they
    are, where pprof would demangle them; Python profiles have none.
    """
    if fn.name and fn.name != fn.system_name:
        return
    name = fn.system_name
    # Java's "Class.<init>" and Go's "pkg.(*T[...]).Method" are left alone.
    looks_cpp = ".<" not in name and "])." not in name and (
        any(c in name for c in "<>[]") or "::" in name
    )
    if looks_cpp:
        name = _remove_groups(name, "(", ")")
        name = _remove_groups(name, "<", ">")
    fn.name = name


def _remove_groups(name: str, start: str, end: str) -> str:
    """name without its outermost start...end groups; unchanged if unbalanced."""
    depth = 0
    first = 0
    i = 0
    while i < len(name):
        c = name[i]
        if c == start:
            depth += 1
            if depth == 1:
                first = i
        elif c == end:
            depth -= 1
            if depth < 0:
                return name
            if depth == 0:
                name = name[:first] + name[i + 1:]
                i = first - 1
        i += 1
    return name


_RESERVED_PAREN_NAMES = ("(anonymous namespace)", "operator()")


def _prune_key(name: str) -> str:
    """The part of a function name that drop_frames/keep_frames match."""
    if name.startswith("."):
        name = name[1:]
    # Cut at the first "(" that is not part of a reserved name.
    i = 0
    while i < len(name):
        reserved = next(
            (r for r in _RESERVED_PAREN_NAMES if name.startswith(r, i)), None
        )
        if reserved:
            i += len(reserved)
        elif name[i] == "(":
            return name[:i]
        else:
            i += 1
    return name


def _prune(p: Prepared, drop: str, keep: str) -> None:
    """Cut the frames drop_frames names, and everything they called.

    Limitation: the expressions are Go RE2 syntax, compiled here with
    Python's re; the rare constructs that differ may match differently.
    """
    try:
        drop_re = re.compile(f"^(?:{drop})$")
        keep_re = re.compile(f"^(?:{keep})$") if keep else None
    except re.error as exc:
        raise GraphError(f"failed to compile regexp {drop}: {exc}") from None
    prune: Set[int] = set()
    prune_beneath: Set[int] = set()
    for loc in p.locations:
        for i in range(len(loc.lines) - 1, -1, -1):
            fn = loc.lines[i][0]
            if fn.name:
                key = _prune_key(fn.name)
                if drop_re.match(key) and not (keep_re and keep_re.match(key)):
                    break
        else:
            continue
        prune_beneath.add(loc.id)
        if i == len(loc.lines) - 1:
            prune.add(loc.id)
        else:
            loc.lines = loc.lines[i + 1:]
    if not prune_beneath:
        return
    for s in p.samples:
        found_user = False
        for i in range(len(s.locations) - 1, -1, -1):
            lid = s.locations[i].id
            if lid not in prune and lid not in prune_beneath:
                found_user = True
                continue
            if not found_user:
                continue
            s.locations = s.locations[i + 1:] if lid in prune else s.locations[i:]
            break


# ---------------------------------------------------------------------------
# Which value, and the total.


def select_sample(p: Prepared, sample_index: str = "") -> int:
    """The column index chosen by -sample_index (a number or a type name).

    Raises:
        GraphError: with pprof's message, e.g.
            `sample_index "x" must be one of: [samples cpu]`.
    """
    if not p.sample_types:
        raise GraphError("profile has no samples")
    types = [t for t, _ in p.sample_types]
    if sample_index == "":
        if p.default_sample_type in types:
            return types.index(p.default_sample_type)
        return len(types) - 1
    if re.fullmatch(r"[+-]?[0-9]+", sample_index):
        i = int(sample_index)
        if i < 0 or i >= len(types):
            raise GraphError(
                f"sample_index {sample_index} is outside the range "
                f"[0..{len(types) - 1}]"
            )
        return i
    short = sample_index[len("inuse_"):] if sample_index.startswith("inuse_") else None
    for i, t in enumerate(types):
        if t == sample_index or t == short:
            return i
    raise GraphError(
        f'sample_index "{sample_index}" must be one of: [{" ".join(types)}]'
    )


def total(p: Prepared, index: int) -> int:
    """Sum of |value| over all samples: the 100% of every percentage."""
    return sum(abs(s.values[index]) for s in p.samples)


# ---------------------------------------------------------------------------
# Nodes and the graph.

# Key of a node, in the order Go prints it when it breaks sort ties:
# (name, orig_name, address, file, start_line, line, objfile).
NodeKey = Tuple[str, str, int, str, int, int, str]


class Node:
    __slots__ = ("key", "flat", "cum", "in_edges", "out_edges", "_name")

    def __init__(self, key: NodeKey) -> None:
        self.key = key
        self.flat = 0
        self.cum = 0
        # caller node -> [weight, inline]; out_edges: callee node -> same list
        self.in_edges: Dict["Node", list] = {}
        self.out_edges: Dict["Node", list] = {}
        self._name: Optional[str] = None

    @property
    def name(self) -> str:
        """The printable name: address, function, file:line as available."""
        if self._name is None:
            self._name = printable_name(self.key)
        return self._name

    @property
    def inline_label(self) -> str:
        """"(inline)" when every call into this node is inlined, "(partial-inline)"
        when some are, else ""."""
        flags = {edge[1] for edge in self.in_edges.values()}
        if True not in flags:
            return ""
        return "(partial-inline)" if False in flags else "(inline)"

    def sort_key_tiebreak(self) -> str:
        name, orig, address, file, start, line, objfile = self.key
        return f"{{{name} {orig} {address} {file} {start} {line} {objfile}}}"


def printable_name(key: NodeKey) -> str:
    name, _, address, file, _, line, objfile = key
    parts = []
    if address:
        parts.append(f"{address:016x}")
    if name:
        parts.append(name)
    if line:
        parts.append(f"{file}:{line}")
    elif file:
        parts.append(file)
    elif name:
        pass
    elif objfile:
        parts.append(f"[{os.path.basename(objfile)}]")
    else:
        parts.append("<unknown>")
    return " ".join(parts)


@dataclasses.dataclass(frozen=True)
class GraphOptions:
    """How to aggregate, trim and sort; defaults are `go tool pprof -top`'s."""

    sample_index: str = ""
    granularity: str = "functions"
    noinlines: bool = False
    cum_sort: bool = False
    nodecount: int = 0  # 0: no limit
    nodefraction: float = 0.005
    edgefraction: float = 0.001
    drop_negative: bool = False


@dataclasses.dataclass
class TrimmedGraph:
    nodes: List[Node]  # in display order
    index: int  # the value column used
    total: int
    orig_count: int  # nodes left after the nodefraction cut
    dropped_nodes: int  # nodes removed by the nodefraction cut
    dropped_edges: int


def build_trimmed_graph(p: Prepared, opts: GraphOptions) -> TrimmedGraph:
    """pprof's graph for the text views: built, cut, limited, sorted."""
    if opts.granularity not in GRANULARITIES:
        raise GraphError(f"unexpected granularity {opts.granularity}")
    index = select_sample(p, opts.sample_index)
    report_total = total(p, index)
    keys = _location_keys(p, opts)
    weighted = [
        (s.locations, s.values[index]) for s in p.samples if s.values[index] != 0
    ]

    nodes = _build(weighted, keys, None, opts.drop_negative)
    flat_sum = sum(n.flat for n in nodes)
    node_cutoff = abs(int(flat_sum * opts.nodefraction))
    edge_cutoff = abs(int(flat_sum * opts.edgefraction))

    dropped_nodes = 0
    if node_cutoff > 0:
        kept = {n.key for n in nodes if abs(n.cum) >= node_cutoff}
        if len(kept) != len(nodes):
            dropped_nodes = len(nodes) - len(kept)
            nodes = _build(weighted, keys, kept, opts.drop_negative)
    orig_count = len(nodes)

    _sort(nodes, opts.cum_sort)
    if opts.nodecount > 0 and opts.nodecount < len(nodes):
        kept = {n.key for n in nodes[: opts.nodecount]}
        nodes = _build(weighted, keys, kept, opts.drop_negative)
        _sort(nodes, opts.cum_sort)

    dropped_edges = _trim_edges(nodes, edge_cutoff)
    return TrimmedGraph(nodes, index, report_total, orig_count, dropped_nodes,
                        dropped_edges)


def _location_keys(p: Prepared, opts: GraphOptions) -> Dict[int, List[NodeKey]]:
    """Each location's node keys, one per line (outermost last), after
    dropping what the granularity does not keep."""
    g = opts.granularity
    keep_inlines = not opts.noinlines
    if g == "addresses" and keep_inlines:
        use_name = use_file = use_line = use_address = True
    else:
        use_name = g in ("functions", "filefunctions", "lines", "addresses")
        use_file = g in ("filefunctions", "files", "lines", "addresses")
        use_line = g in ("lines", "addresses")
        use_address = g == "addresses"
    keys = {}
    for loc in p.locations:
        objfile = loc.mapping.file if loc.mapping else ""
        address = loc.address if use_address else 0
        lines = loc.lines
        if not keep_inlines and len(lines) > 1:
            lines = lines[-1:]
        if not lines:
            keys[loc.id] = [("", "", address, "", 0, 0, objfile)]
            continue
        loc_keys = []
        for fn, line in lines:
            name = fn.name if use_name else ""
            file = _clean_path(fn.filename) if use_file and fn.filename else ""
            lineno = line if use_line else 0
            if name:
                loc_keys.append((name, "", address, file, 0, lineno, ""))
            else:
                # Unnamed functions stay apart by start line and binary.
                loc_keys.append(
                    (name, "", address, file, fn.start_line, lineno, objfile)
                )
        keys[loc.id] = loc_keys
    return keys


def _clean_path(path: str) -> str:
    """Go's filepath.Clean: lexical simplification, "//" at the start too."""
    rooted = path.startswith("/")
    parts: List[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


def _build(
    weighted: Sequence[Tuple[List[Location], int]],
    keys: Dict[int, List[NodeKey]],
    kept: Optional[Set[NodeKey]],
    drop_negative: bool,
) -> List[Node]:
    """Accumulate flat, cum and edge weights; kept limits the nodes made."""
    by_key: Dict[NodeKey, Node] = {}
    loc_nodes: Dict[int, List[Optional[Node]]] = {}
    for loc_id, loc_keys in keys.items():
        row: List[Optional[Node]] = []
        for key in loc_keys:
            if kept is not None and key not in kept:
                row.append(None)
                continue
            node = by_key.get(key)
            if node is None:
                node = by_key[key] = Node(key)
            row.append(node)
        loc_nodes[loc_id] = row

    for locations, w in weighted:
        seen_nodes: Set[Node] = set()
        seen_edges: Set[Tuple[Node, Node]] = set()
        parent: Optional[Node] = None
        residual = False
        for loc in reversed(locations):
            row = loc_nodes[loc.id]
            last = len(row) - 1
            for ni in range(last, -1, -1):
                node = row[ni]
                if node is None:
                    residual = True
                    continue
                if node not in seen_nodes:
                    seen_nodes.add(node)
                    node.cum += w
                if parent is not None and node is not parent:
                    pair = (node, parent)
                    if pair not in seen_edges:
                        seen_edges.add(pair)
                        _add_edge(parent, node, w, ni != last)
                parent = node
                residual = False
        if parent is not None and not residual:
            parent.flat += w

    nodes = []
    for node in by_key.values():
        if node.cum == 0 and node.flat == 0:
            continue
        if drop_negative and (node.flat < 0 or (node.flat == 0 and node.cum < 0)):
            continue
        nodes.append(node)
    return nodes


def _add_edge(caller: Node, callee: Node, w: int, inline: bool) -> None:
    edge = caller.out_edges.get(callee)
    if edge is None:
        edge = [w, inline]
        caller.out_edges[callee] = edge
        callee.in_edges[caller] = edge
    else:
        edge[0] += w
        if not inline:
            edge[1] = False


def _trim_edges(nodes: List[Node], cutoff: int) -> int:
    dropped = 0
    for node in nodes:
        for caller, edge in list(node.in_edges.items()):
            if abs(edge[0]) < cutoff:
                del node.in_edges[caller]
                caller.out_edges.pop(node, None)
                dropped += 1
    return dropped


def _sort(nodes: List[Node], cum_sort: bool) -> None:
    """pprof's order: by |flat| (or |cum|), then name, then the other value."""
    if cum_sort:
        nodes.sort(key=lambda n: (-abs(n.cum), n.name, -abs(n.flat),
                                  n.sort_key_tiebreak()))
    else:
        nodes.sort(key=lambda n: (-abs(n.flat), n.name, -abs(n.cum),
                                  n.sort_key_tiebreak()))
