"""From a decoded profile to the weighted call graph that pprof's views show.

Sits between pyprof.pprof (bytes to a Profile message) and pyprof.report
(graph to text). The steps and their order are those of `go tool pprof`
1.19, so that every number and every row order matches it:

1. prepare() / prepare_many(): what Go does to every input before any
   report -- resolve string indices, add a placeholder mapping when there
   is none, merge (several files and -base profiles included; zero samples
   dropped, duplicates folded), simplify C++-looking names (which turns
   `<module>` into an empty name, exactly as pprof does), and cut frames
   named by drop_frames.
2. select(): the value column shown, the report total, and the filters
   (focus, ignore, hide, show, show_from, tagfocus, tagignore, tagshow,
   taghide) applied to a copy of the samples.
3. build_trimmed_graph(): aggregate locations to the requested granularity,
   accumulate flat and cum per node (and -mean's divisors), then drop nodes
   below nodefraction of the total and keep the nodecount largest.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import math
import operator
import os
import re
from typing import Dict
from typing import List
from typing import Optional
from typing import Sequence
from typing import Set
from typing import Tuple

from pyprof import goregexp
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
    has_functions: bool = False
    has_filenames: bool = False
    has_line_numbers: bool = False
    has_inline_frames: bool = False

    def merge_key(self) -> tuple:
        """What makes two mappings one when pprof merges profiles: size
        (rounded up to 4 KiB), offset, and build id, else file name."""
        size = self.limit - self.start
        size = (size + 0xFFF) // 0x1000 * 0x1000
        return (size, self.offset, self.build_id or self.file)


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
    period_type: Tuple[str, str] = ("", "")
    period: int = 0
    drop_frames: str = ""
    keep_frames: str = ""


def prepare(proto: profile_pb2.Profile) -> Prepared:
    """Resolve a checked Profile message and normalize it as Go 1.19 does.

    The message must have passed pyprof.pprof.load's checks.
    """
    return _finish(_prepare_one(proto), merged=True)


def prepare_many(
    sources: Sequence[profile_pb2.Profile],
    bases: Sequence[profile_pb2.Profile] = (),
    *,
    diff_base: bool = False,
    normalize: bool = False,
) -> Prepared:
    """Several profiles merged as `go tool pprof a b -base c` merges them.

    The sources are merged into one profile, the bases into another; with
    bases, the source is first scaled to the base's totals (normalize),
    the base's samples are tagged pprof::base=true (diff_base) and negated,
    and both are merged. Samples that cancel out disappear.

    Raises:
        GraphError: the profiles have different sample types.
    """
    p = _combine([resolve(s) for s in sources])
    if bases:
        base = _combine([resolve(b) for b in bases])
        if normalize:
            # Go compares the types as they are before normalizing, without
            # converting units.
            _check_compatible(p, base)
        if diff_base:
            for s in base.samples:
                s.labels["pprof::base"] = ["true"]
        if normalize:
            _normalize(p, base)
        _scale(base, [-1.0] * len(base.sample_types))
        p = _combine([p, base])
    return _finish(p)


class _Tables:
    """A Profile message's mappings and functions with their strings
    resolved, and the header every Prepared form of it shares."""

    def __init__(self, proto: profile_pb2.Profile) -> None:
        strings = self.strings = proto.string_table
        self.mappings = [
            Mapping(m.id, m.memory_start, m.memory_limit, m.file_offset,
                    strings[m.filename], strings[m.build_id], m.has_functions,
                    m.has_filenames, m.has_line_numbers, m.has_inline_frames)
            for m in proto.mapping
        ]
        self.notes = []
        self.by_mapping_id: Dict[int, Mapping] = {}
        self.placeholder: Optional[Mapping] = None
        if not self.mappings:
            # pprof gives every location a placeholder for the missing binary.
            self.placeholder = Mapping(1, 0, 0, 0, "", "")
            self.mappings = [self.placeholder]
            self.notes.append("Main binary filename not available.")
        else:
            self.by_mapping_id = {m.id: m for m in self.mappings}
        self.functions = {
            f.id: Function(f.id, strings[f.name], strings[f.system_name],
                           strings[f.filename], f.start_line)
            for f in proto.function
        }
        self.proto = proto

    def mapping_of(self, loc) -> Optional[Mapping]:
        return self.placeholder or self.by_mapping_id.get(loc.mapping_id)

    def lines_of(self, loc) -> List[Tuple[Function, int]]:
        functions = self.functions
        return [(functions[ln.function_id], ln.line) for ln in loc.line]

    def prepared(self, samples: List[Sample], locations: List[Location],
                 mappings: List[Mapping]) -> Prepared:
        proto, strings = self.proto, self.strings
        return Prepared(
            sample_types=[(strings[t.type], strings[t.unit])
                          for t in proto.sample_type],
            default_sample_type=strings[proto.default_sample_type],
            samples=samples,
            locations=locations,
            mappings=mappings,
            comments=[strings[c] for c in proto.comment],
            time_nanos=proto.time_nanos,
            duration_nanos=proto.duration_nanos,
            notes=self.notes,
            period_type=(strings[proto.period_type.type],
                         strings[proto.period_type.unit]),
            period=proto.period,
            drop_frames=strings[proto.drop_frames],
            keep_frames=strings[proto.keep_frames],
        )


def resolve(proto: profile_pb2.Profile) -> Prepared:
    """A Profile message with its string indices and ids resolved, before
    any of pprof's normalization."""
    tables = _Tables(proto)
    locations = []
    by_location_id: Dict[int, Location] = {}
    for loc in proto.location:
        resolved = Location(loc.id, tables.mapping_of(loc), loc.address,
                            tables.lines_of(loc), loc.is_folded)
        locations.append(resolved)
        by_location_id[loc.id] = resolved
    samples = [
        _resolve_sample(s, tables.strings, by_location_id) for s in proto.sample
    ]
    return tables.prepared(samples, locations, tables.mappings)


def _prepare_one(proto: profile_pb2.Profile) -> Prepared:
    """resolve() and merge() of one profile in a single pass.

    The same result, without first building a Location per location of the
    file and a stack per sample only to replace them: the samples' location
    ids go straight to merged locations.
    """
    tables = _Tables(proto)
    merger = _Merger()
    merger.mapping(tables.mappings[0])
    by_id = {loc.id: loc for loc in proto.location}
    by_old_id: Dict[int, Location] = {}

    def map_location(location_id: int) -> Location:
        loc = by_id[location_id]
        found = merger.location(tables.mapping_of(loc), loc.address,
                                tables.lines_of(loc), loc.is_folded)
        by_old_id[location_id] = found
        return found

    strings = tables.strings
    done = by_old_id.get
    mapped = by_old_id.__getitem__
    for s in proto.sample:
        values = list(s.value)
        if not any(values):
            continue
        ids = s.location_id
        try:
            stack = list(map(mapped, ids))
        except KeyError:  # a location not met before
            stack = [done(i) or map_location(i) for i in ids]
        sample = Sample(stack, values)
        if s.label:
            _decode_labels(s.label, strings, sample)
        merger.add(sample, stack)
    prepared = tables.prepared([], [], [])
    merger.finish(prepared)
    return prepared


def _finish(prepared: Prepared, merged: bool = False) -> Prepared:
    """Merge (unless already merged), simplify names and cut drop_frames,
    in pprof's order."""
    if not merged:
        merge(prepared)
    for fn in {id(f): f for loc in prepared.locations for f, _ in loc.lines}.values():
        _simplify_name(fn)
    if prepared.drop_frames:
        _prune(prepared, prepared.drop_frames, prepared.keep_frames)
    return prepared


def _combine(profiles: List[Prepared]) -> Prepared:
    """The header pprof gives merged profiles, with every sample of each.

    Earliest start time, summed durations, largest period, comments once
    each; types, drop_frames and the first mapping from the first profile.
    The samples are merged later (merge()).
    """
    first = profiles[0]
    if len(profiles) == 1:
        return first
    _convert_units(profiles)
    for other in profiles[1:]:
        _check_compatible(first, other)
    comments: List[str] = []
    for prof in profiles:
        comments += [c for c in prof.comments if c not in comments]
    times = [prof.time_nanos for prof in profiles if prof.time_nanos]
    return dataclasses.replace(
        first,
        samples=[s for prof in profiles for s in prof.samples],
        locations=[loc for prof in profiles for loc in prof.locations],
        mappings=[m for prof in profiles for m in prof.mappings],
        comments=comments,
        time_nanos=min(times) if times else 0,
        duration_nanos=sum(prof.duration_nanos for prof in profiles),
        period=max(prof.period for prof in profiles),
        notes=sorted({n for prof in profiles for n in prof.notes}),
    )


def _check_compatible(a: Prepared, b: Prepared) -> None:
    """Go's test before merging: the same period type and sample types,
    names and units exactly."""
    if a.period_type != b.period_type:
        raise GraphError(f"incompatible period types &{_value_type(a.period_type)} "
                         f"and &{_value_type(b.period_type)}")
    if a.sample_types != b.sample_types:
        # Go prints the two lists as pointers; their contents say more.
        def describe(p):
            return " ".join(_value_type(t) for t in p.sample_types)
        raise GraphError(
            f"incompatible sample types [{describe(a)}] and [{describe(b)}]"
        )


def _value_type(vt: Tuple[str, str]) -> str:
    """A (type, unit) pair as Go's %v prints a ValueType in errors."""
    return f"{{{vt[0]} {vt[1]} 0 0}}"


def _convert_units(profiles: List[Prepared]) -> None:
    """Bring profiles to common units before they merge, as pprof does.

    Column by column (and for the period type), the types must agree up to
    one trailing "s" and the units must be equal or of one family (time,
    bytes...); each column is then converted to the finest unit any of the
    profiles uses (milliseconds and nanoseconds give nanoseconds), values
    rounded half away from zero, and samples left with only zeros in
    converted columns go. The period is converted too (truncated).

    Raises:
        GraphError: Go's message for types that cannot be made one.
    """
    from pyprof.report.measure import scale

    period_type = _common_type([p.period_type for p in profiles], "period type")
    width = len(profiles[0].sample_types)
    for p in profiles[1:]:
        if len(p.sample_types) != width:
            raise GraphError(f"inconsistent samples type count: {width} != "
                             f"{len(p.sample_types)}")
    columns = [_common_type([p.sample_types[i] for p in profiles], "sample types")
               for i in range(width)]
    for p in profiles:
        if period_type is not None:
            p.period = int(scale(p.period, p.period_type[1], period_type[1])[0])
            p.period_type = (p.period_type[0], period_type[1])
        ratios = []
        for i, (kind, unit) in enumerate(p.sample_types):
            common = columns[i]
            if common is None:
                ratios.append(1.0)
                continue
            ratios.append(scale(1, unit, common[1])[0])
            p.sample_types[i] = (kind, common[1])
        _scale(p, ratios)


def _common_type(types: List[Tuple[str, str]], what: str) -> Optional[Tuple[str, str]]:
    """The finest of compatible (type, unit) pairs; None for a single one."""
    from pyprof.report.measure import scale
    from pyprof.report.measure import same_family

    if len(types) <= 1:
        return None
    finest = types[0]
    for t in types[1:]:
        compatible = finest[0][:-1] if finest[0].endswith("s") else finest[0]
        other = t[0][:-1] if t[0].endswith("s") else t[0]
        if compatible != other or not (finest[1] == t[1] or same_family(finest[1], t[1])):
            raise GraphError(f"{what}: incompatible types: {_value_type(finest)} "
                             f"{_value_type(t)}")
        if scale(1, t[1], finest[1])[0] < 1:
            finest = t
    return finest


def _normalize(p: Prepared, base: Prepared) -> None:
    """Scale p's values so that each column sums to the base's sum."""
    width = len(p.sample_types)
    base_sums = [sum(s.values[i] for s in base.samples) for i in range(width)]
    sums = [sum(s.values[i] for s in p.samples) for i in range(width)]
    _scale(p, [b / v if v else 0.0 for b, v in zip(base_sums, sums)])


def _scale(p: Prepared, ratios: List[float]) -> None:
    """Multiply column i by ratios[i], rounding half away from zero as Go's
    math.Round; samples left with only zeros in scaled columns go."""
    if all(r == 1 for r in ratios):
        return
    kept = []
    for s in p.samples:
        keep = False
        for i, r in enumerate(ratios):
            if r != 1:
                s.values[i] = _round_half_away(s.values[i] * r)
                keep = keep or s.values[i] != 0
        if keep:
            kept.append(s)
    p.samples = kept


def _round_half_away(x: float) -> int:
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def _resolve_sample(s, strings, by_location_id) -> Sample:
    """A Sample with its labels decoded the way Go 1.19 decodes them."""
    sample = Sample(list(map(by_location_id.__getitem__, s.location_id)),
                    list(s.value))
    if s.label:
        _decode_labels(s.label, strings, sample)
    return sample


def _decode_labels(labels, strings, sample: Sample) -> None:
    """Add a Sample message's labels to sample, as Go 1.19 decodes them."""
    for lb in labels:
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


class _Merger:
    """Go's merge, one sample at a time.

    Samples with the same stack and labels become one (values summed, first
    position kept); equal functions and locations become one and are
    numbered 1..N in order of first use; mappings are one when their merge
    keys are equal (profiles of the same binary), and locations move with
    their mapping's start address.
    """

    def __init__(self) -> None:
        self.functions: Dict[Tuple[str, str, str, int], Function] = {}
        self.locations: Dict[tuple, Location] = {}
        self.mapping_keys: Dict[tuple, Mapping] = {}
        self._mappings: Dict[int, Mapping] = {}  # by id() of the old object
        self._functions: Dict[int, Function] = {}  # by id() of the old object
        self._merged: Dict[tuple, Sample] = {}
        self.samples: List[Sample] = []

    def mapping(self, m: Optional[Mapping]) -> Optional[Mapping]:
        if m is None:
            return None
        same = self._mappings.get(id(m))
        if same is None:
            key = m.merge_key()
            same = self.mapping_keys.get(key)
            if same is None:
                same = dataclasses.replace(m, id=len(self.mapping_keys) + 1)
                self.mapping_keys[key] = same
            self._mappings[id(m)] = same
        return same

    def function(self, f: Function) -> Function:
        same = self._functions.get(id(f))
        if same is not None:
            return same
        key = (f.name, f.system_name, f.filename, f.start_line)
        same = self.functions.get(key)
        if same is None:
            same = Function(len(self.functions) + 1, f.name, f.system_name,
                            f.filename, f.start_line)
            self.functions[key] = same
        self._functions[id(f)] = same
        return same

    def location(self, old_mapping: Optional[Mapping], address: int,
                 lines: List[Tuple[Function, int]], is_folded: bool) -> Location:
        """The merged location for one of the input's locations."""
        mapping = self.mapping(old_mapping)
        if mapping is not None and old_mapping is not None:
            address += mapping.start - old_mapping.start
        function = self.function
        lines = [(function(f), line) for f, line in lines]
        key = (
            address - (mapping.start if mapping else 0),
            mapping.id if mapping else 0,
            tuple([(f.id, line) for f, line in lines]),
            is_folded,
        )
        found = self.locations.get(key)
        if found is None:
            found = Location(len(self.locations) + 1, mapping, address, lines,
                             is_folded)
            self.locations[key] = found
        return found

    def add(self, s: Sample, stack: List[Location]) -> None:
        """Add sample s, whose stack of merged locations is stack; s itself
        is kept (the caller's to give), values summed into it get a new list."""
        # The merged locations live as long as the merge, so their object
        # ids stand for them in the key.
        if s.labels or s.num_labels:
            key = (
                tuple(map(id, stack)),
                tuple(sorted((k, tuple(v)) for k, v in s.labels.items())),
                tuple(sorted(
                    (k, tuple(v), tuple(s.num_units.get(k, ())))
                    for k, v in s.num_labels.items()
                )),
            )
        else:
            key = tuple(map(id, stack))
        same = self._merged.get(key)
        if same is not None:
            same.values = [a + b for a, b in zip(same.values, s.values)]
            return
        s.locations = stack
        self._merged[key] = s
        self.samples.append(s)

    def finish(self, p: Prepared) -> None:
        """Put the merged samples, locations and mappings into p."""
        p.samples = self.samples
        p.locations = list(self.locations.values())
        p.mappings = list(self.mapping_keys.values())
        if not all(any(s.values) for s in p.samples):
            # Values that summed to zero: Go merges once more to drop them.
            merge(p)


def merge(p: Prepared) -> None:
    """Go's merge of a single profile, which pprof 1.19 runs on every input.

    Samples whose values are all zero go, the rest are merged by _Merger.
    Unused functions, locations and mappings vanish, except the first mapping
    (the main binary). p's Sample objects are reused, not copied. The
    numbers of every view are unchanged; -raw and -traces show the merged
    form.

    Several profiles are merged the same way once their samples are put
    together (prepare_many); a single file takes the shorter road of
    _prepare_one, with the same result.
    """
    merger = _Merger()
    by_old_location: Dict[int, Location] = {}  # by id() of the old object

    def map_location(loc: Location) -> Location:
        found = merger.location(loc.mapping, loc.address, loc.lines,
                                loc.is_folded)
        by_old_location[id(loc)] = found
        return found

    if p.mappings:
        merger.mapping(p.mappings[0])
    done = by_old_location.get
    mapped = by_old_location.__getitem__
    for s in p.samples:
        if not any(s.values):
            continue
        try:
            stack = list(map(mapped, map(id, s.locations)))
        except KeyError:  # a location not met before
            stack = [done(id(loc)) or map_location(loc) for loc in s.locations]
        merger.add(s, stack)
    merger.finish(p)


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

    The expressions are Go RE2 syntax, read by pyprof.goregexp.
    """
    try:
        drop_re = goregexp.compile(f"^(?:{drop})$")
        keep_re = goregexp.compile(f"^(?:{keep})$") if keep else None
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
    return report_total(p, index)


def report_total(p: Prepared, index: int, mean: bool = False) -> int:
    """The 100% of every percentage: Σ|value|, as pprof computes it.

    When samples carry pprof::base=true (-diff_base) only they count; with
    mean, the sum is divided by the sum of the first column.
    """
    grand = divisor = base = base_divisor = 0
    for s in p.samples:
        v = abs(s.values[index])
        d = s.values[0] if mean else 0
        grand += v
        divisor += d
        if "true" in s.labels.get("pprof::base", ()):
            base += v
            base_divisor += d
    if base > 0:
        grand, divisor = base, base_divisor
    return go_div(grand, divisor) if divisor else grand


def go_div(a: int, b: int) -> int:
    """Integer division truncated toward zero, as Go's a / b."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


# ---------------------------------------------------------------------------
# Filters: which samples, frames and labels a report keeps.

# The filter options in the order pprof lists them under "Active filters:".
FILTER_NAMES = ("focus", "ignore", "hide", "show", "show_from", "tagfocus",
                "tagignore", "tagshow", "taghide")


def active_filters(opts: "GraphOptions") -> List[str]:
    """The "name=value" lines pprof prints under "Active filters:"."""
    return [f"{name}={getattr(opts, name)}" for name in FILTER_NAMES
            if getattr(opts, name)]


def _compile(option: str, value: str) -> Optional["re.Pattern"]:
    """Go's unanchored regexp for a filter option, or None when unset.

    The expressions are Go RE2 syntax, read by pyprof.goregexp.
    """
    if not value:
        return None
    try:
        return goregexp.compile(value)
    except re.error as exc:
        raise GraphError(f"parsing {option} regexp: {exc}") from None


def num_label_units(p: Prepared) -> Dict[str, str]:
    """The unit of each numeric label key: the first one given, else
    bytes for "request" and "alignment", else the key itself."""
    units: Dict[str, str] = {}
    keys: Set[str] = set()
    for s in p.samples:
        for key in s.num_labels:
            keys.add(key)
            for unit in s.num_units.get(key, ()):
                if unit and key not in units:
                    units[key] = unit
    for key in keys:
        if not units.get(key):
            units[key] = "bytes" if key in ("request", "alignment") else key
    return units


_RANGE_PART = re.compile(r"([+-]?[0-9]+)([A-Za-z]+)?")


def _tag_range(text: str):
    """pprof's numeric tag ranges ("32kb", ":64kb", "4mb:", "1kb:2mb") as a
    test on (value, unit), or None when text is not a range."""
    from pyprof.report import measure

    parts = list(_RANGE_PART.finditer(text))[:2]
    if not parts:
        return None
    low, unit = measure.scale(int(parts[0].group(1)), parts[0].group(2) or "",
                              parts[0].group(2) or "")

    def scaled(v: int, u: str):
        value, got = measure.scale(v, u, unit)
        return value if got == unit else None

    whole = parts[0].group(0)
    if len(parts) == 1:
        if text == whole:
            return lambda v, u: scaled(v, u) == low
        if text == whole + ":":
            return lambda v, u: (x := scaled(v, u)) is not None and x >= low
        if text == ":" + whole:
            return lambda v, u: (x := scaled(v, u)) is not None and x <= low
        return None
    if text != whole + ":" + parts[1].group(0):
        return None
    high, unit2 = measure.scale(int(parts[1].group(1)), parts[1].group(2) or "", unit)
    if unit2 != unit:
        return None
    return lambda v, u: (x := scaled(v, u)) is not None and low <= x <= high


def _tag_filter(option: str, value: str, units: Dict[str, str],
                notes: List[str]):
    """A test on a sample for -tagfocus/-tagignore, or None when unset.

    "key=value" looks at one label key; value is a numeric range or
    comma-separated regexps. Without a key, a range matches any numeric
    label and every regexp must match some "key:value" of the sample.
    """
    if not value:
        return None
    want_key = ""
    if "=" in value:
        want_key, value = value.split("=", 1)
    in_range = _tag_range(value)
    if in_range is not None:
        notes.append(f"{option}:Interpreted '{value}' as range, not regexp")

        def any_in_range(key, values):
            return any(in_range(v, units.get(key, "")) for v in values)

        if not want_key:
            return lambda s: any(any_in_range(k, vs) for k, vs in s.num_labels.items())
        return lambda s: want_key in s.num_labels and any_in_range(
            want_key, s.num_labels[want_key])
    patterns = []
    for part in value.split(","):
        try:
            patterns.append(goregexp.compile(part))
        except re.error as exc:
            raise GraphError(f"parsing {option} regexp: {exc}") from None
    if not want_key:
        return lambda s: all(
            any(rx.search(f"{k}:{v}") for k, vs in s.labels.items() for v in vs)
            for rx in patterns
        )
    return lambda s: any(
        rx.search(v) for rx in patterns for v in s.labels.get(want_key, ())
    )


def _line_matches(rx, fn: Function) -> bool:
    return bool(rx.search(fn.name) or rx.search(fn.filename))


def _mapping_matches(rx, loc: Location) -> bool:
    return loc.mapping is not None and bool(rx.search(loc.mapping.file))


def apply_filters(p: Prepared, opts: "GraphOptions") -> Tuple[Prepared, List[str]]:
    """The profile a report shows after focus, ignore, hide, show, show_from,
    tagfocus, tagignore, tagshow and taghide, and pprof's stderr notes.

    As in Go 1.19, samples with an empty stack never survive (they still
    count in a total taken before filtering). p itself is not changed.

    Raises:
        GraphError: a bad regexp, naming the option.
    """
    notes: List[str] = []
    focus = _compile("focus", opts.focus)
    ignore = _compile("ignore", opts.ignore)
    hide = _compile("hide", opts.hide)
    show = _compile("show", opts.show)
    show_from = _compile("show_from", opts.show_from)
    units = num_label_units(p)
    tagfocus = _tag_filter("tagfocus", opts.tagfocus, units, notes)
    tagignore = _tag_filter("tagignore", opts.tagignore, units, notes)
    tagshow = _compile("tagshow", opts.tagshow)
    taghide = _compile("taghide", opts.taghide)

    if not any((focus, ignore, hide, show, show_from, tagfocus, tagignore,
                tagshow, taghide)):
        # No filter: only the samples with an empty stack go.
        kept = [s for s in p.samples if s.locations]
        return dataclasses.replace(p, samples=kept), notes

    # Per location: focused (True), ignored (False) or neither; new lines.
    verdict: Dict[int, bool] = {}
    hidden: Set[int] = set()
    replaced: Dict[int, Location] = {}
    matched = dict.fromkeys(("Focus", "Ignore", "Hide", "Show", "ShowFrom"), False)
    for loc in p.locations:
        lines = loc.lines
        if ignore and _location_matches(ignore, loc):
            matched["Ignore"] = True
            verdict[loc.id] = False
        elif focus is None or _location_matches(focus, loc):
            matched["Focus"] = True
            verdict[loc.id] = True
        if hide and _location_matches(hide, loc):
            matched["Hide"] = True
            lines = [] if _mapping_matches(hide, loc) else [
                ln for ln in lines if not _line_matches(hide, ln[0])]
            if not lines:
                hidden.add(loc.id)
        if show:
            if not _mapping_matches(show, loc):
                lines = [ln for ln in lines if _line_matches(show, ln[0])]
            if lines:
                matched["Show"] = True
            else:
                hidden.add(loc.id)
        if lines is not loc.lines:
            replaced[loc.id] = dataclasses.replace(loc, lines=lines)

    samples = []
    for s in p.samples:
        focused = False
        for loc in s.locations:
            v = verdict.get(loc.id)
            if v is False:
                break
            focused = focused or v is True
        else:
            if not focused:
                continue
            stack = [replaced.get(loc.id, loc) for loc in s.locations
                     if loc.id not in hidden]
            if stack:
                samples.append(dataclasses.replace(s, locations=stack))

    if show_from:
        samples, found = _show_from(samples, replaced, p.locations, show_from)
        matched["ShowFrom"] = found

    tag_matched = {"TagFocus": False, "TagIgnore": False}
    if tagfocus or tagignore:
        kept = []
        for s in samples:
            focused = tagfocus(s) if tagfocus else True
            ignored = tagignore(s) if tagignore else False
            tag_matched["TagFocus"] |= focused
            tag_matched["TagIgnore"] |= ignored
            if focused and not ignored:
                kept.append(s)
        samples = kept

    label_matched = {"TagShow": False, "TagHide": False}
    if tagshow or taghide:
        samples = [_filter_label_keys(s, tagshow, taghide, label_matched)
                   for s in samples]

    for name, rx in (("Focus", focus), ("Ignore", ignore), ("Hide", hide),
                     ("Show", show), ("ShowFrom", show_from)):
        if rx is not None and not matched[name]:
            notes.append(f"{name} expression matched no samples")
    for name, test in (("TagFocus", tagfocus), ("TagIgnore", tagignore)):
        if test is not None and not tag_matched[name]:
            notes.append(f"{name} expression matched no samples")
    for name, rx in (("TagShow", tagshow), ("TagHide", taghide)):
        if rx is not None and not label_matched[name]:
            notes.append(f"{name} expression matched no samples")

    locations = [replaced.get(loc.id, loc) for loc in p.locations]
    return dataclasses.replace(p, samples=samples, locations=locations), notes


def _location_matches(rx, loc: Location) -> bool:
    return any(_line_matches(rx, fn) for fn, _ in loc.lines) or _mapping_matches(
        rx, loc)


def _show_from(samples, replaced, locations, rx):
    """Cut each stack above (rootward of) its outermost frame that matches;
    within that location keep the lines up to the outermost match."""
    marked: Set[int] = set()
    for original in locations:
        loc = replaced.get(original.id, original)
        if _mapping_matches(rx, loc):
            marked.add(loc.id)
            continue
        for i in range(len(loc.lines) - 1, -1, -1):
            if _line_matches(rx, loc.lines[i][0]):
                marked.add(loc.id)
                if i != len(loc.lines) - 1:
                    cut = loc.lines[: i + 1]
                    replaced[loc.id] = dataclasses.replace(loc, lines=cut)
                break
    kept = []
    for s in samples:
        for i in range(len(s.locations) - 1, -1, -1):
            if s.locations[i].id in marked:
                stack = [replaced.get(loc.id, loc) for loc in s.locations[: i + 1]]
                kept.append(dataclasses.replace(s, locations=stack))
                break
    return kept, bool(marked)


def _filter_label_keys(s: Sample, show, hide, matched) -> Sample:
    """s without the label keys tagshow does not match or taghide matches."""
    removed: Set[str] = set()
    for key in list(s.labels) + list(s.num_labels):
        shown = show is None or bool(show.search(key))
        hidden = hide is not None and bool(hide.search(key))
        matched["TagShow"] |= shown
        matched["TagHide"] |= hidden
        if not shown or hidden:
            removed.add(key)
    if not removed:
        return s
    return dataclasses.replace(
        s,
        labels={k: v for k, v in s.labels.items() if k not in removed},
        num_labels={k: v for k, v in s.num_labels.items() if k not in removed},
        num_units={k: v for k, v in s.num_units.items() if k not in removed},
    )


# ---------------------------------------------------------------------------
# Nodes and the graph.

# Key of a node, in the order Go prints it when it breaks sort ties:
# (name, orig_name, address, file, start_line, line, objfile).
NodeKey = Tuple[str, str, int, str, int, int, str]


class Node:
    __slots__ = ("key", "flat", "cum", "flat_div", "cum_div", "in_edges",
                 "out_edges", "_name", "stamp")

    def __init__(self, key: NodeKey) -> None:
        self.key = key
        # Raw sums (what sorting and trimming use) and, with -mean, the sums
        # of the first column that divide them for display.
        self.flat = 0
        self.cum = 0
        self.flat_div = 0
        self.cum_div = 0
        # caller node -> [weight, inline]; out_edges: callee node -> same list
        self.in_edges: Dict["Node", list] = {}
        self.out_edges: Dict["Node", list] = {}
        self._name: Optional[str] = None
        self.stamp = 0  # the last sample counted in cum (see _build)

    @property
    def flat_value(self) -> int:
        """flat as shown: divided by its -mean divisor when there is one."""
        return go_div(self.flat, self.flat_div) if self.flat_div else self.flat

    @property
    def cum_value(self) -> int:
        return go_div(self.cum, self.cum_div) if self.cum_div else self.cum

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
    return " ".join(name_components(name, address, file, line, objfile))


def name_components(name: str, address: int, file: str, line: int,
                    objfile: str) -> List[str]:
    """The parts of a node's label, as pprof joins them (by spaces in the
    text views, by line breaks in DOT): address, name, file:line or file,
    else the binary's base name, else <unknown>."""
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
        parts.append(f"[{_base_name(objfile)}]")
    else:
        parts.append("<unknown>")
    return parts


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
    # Filters (see apply_filters), with pprof's option names.
    focus: str = ""
    ignore: str = ""
    hide: str = ""
    show: str = ""
    show_from: str = ""
    tagfocus: str = ""
    tagignore: str = ""
    tagshow: str = ""
    taghide: str = ""
    relative_percentages: bool = False  # total taken after the filters
    mean: bool = False  # values divided by the first column (mean_<type>)
    unit: str = "minimum"  # output unit: minimum, auto, or a unit name
    trim_path: str = ""  # colon-separated prefixes cut from file names
    source_path: str = ""  # colon-separated folders (-list, path heuristic)


@dataclasses.dataclass
class TrimmedGraph:
    nodes: List[Node]  # in display order
    index: int  # the value column used
    total: int
    orig_count: int  # nodes left after the nodefraction cut
    dropped_nodes: int  # nodes removed by the nodefraction cut
    dropped_edges: int
    notes: List[str] = dataclasses.field(default_factory=list)  # for stderr
    filters: List[str] = dataclasses.field(default_factory=list)  # "focus=..."


@dataclasses.dataclass
class Selection:
    """The samples a report shows, their value column and the report total."""

    profile: Prepared  # after the filters
    index: int
    total: int
    notes: List[str]  # pprof's stderr notes about the filters


def select(p: Prepared, opts: "GraphOptions") -> Selection:
    """Choose the column, take the total and apply the filters, in pprof's
    order (the total before filtering unless relative_percentages)."""
    index = select_sample(p, opts.sample_index)
    filtered, notes = apply_filters(p, opts)
    counted = filtered if opts.relative_percentages else p
    return Selection(filtered, index, report_total(counted, index, opts.mean), notes)


def build_trimmed_graph(p: Prepared, opts: GraphOptions,
                        edges: bool = True) -> TrimmedGraph:
    """pprof's graph for the text views: built, cut, limited, sorted.

    Without edges (for -top, which shows none) the nodes and their values
    are the same and dropped_edges is 0; the edges are still made when
    some location has inlined frames, for the nodes' "(inline)" labels.
    """
    if opts.granularity not in GRANULARITIES:
        raise GraphError(f"unexpected granularity {opts.granularity}")
    sel = select(p, opts)
    index, full_total, p = sel.index, sel.total, sel.profile
    keys = _location_keys(p, opts)
    weighted = _weighted(p, index, opts.mean)
    nodes, everyone = _node_values(weighted, keys, opts.drop_negative)
    with_edges = edges or any(len(k) > 1 for k in keys.values())
    return _trimmed(nodes, everyone, opts,
                    (weighted, keys) if with_edges else None,
                    index, full_total, sel.notes)


def _trimmed(nodes: List[Node], everyone: List[Node], opts: GraphOptions,
             edge_input, index: int, full_total: int,
             notes: List[str]) -> TrimmedGraph:
    """The TrimmedGraph of nodes with their values (everyone: every node
    made, nodes: those with a value): cut, limited, sorted, and connected
    when edge_input gives (weighted, keys)."""
    # pprof builds the whole graph, keeps the nodes above nodefraction and
    # builds again with only those, then keeps the nodecount largest and
    # builds once more. A kept node's flat and cum do not depend on which
    # other nodes are kept (only the edges do), so the cuts are decided on
    # values alone and the graph with edges is built once, for the nodes
    # finally kept.
    flat_sum = sum(n.flat for n in nodes)
    node_cutoff = abs(int(flat_sum * opts.nodefraction))
    edge_cutoff = abs(int(flat_sum * opts.edgefraction))

    cut = False
    dropped_nodes = 0
    if node_cutoff > 0:
        above = [n for n in nodes if abs(n.cum) >= node_cutoff]
        if len(above) != len(nodes):
            dropped_nodes = len(nodes) - len(above)
            nodes = above
            cut = True
    orig_count = len(nodes)

    _sort(nodes, opts.cum_sort)
    if opts.nodecount > 0 and opts.nodecount < len(nodes):
        nodes = nodes[: opts.nodecount]
        cut = True
    dropped_edges = 0
    if edge_input is not None:
        weighted, keys = edge_input
        if isinstance(weighted, _QuickEdges):
            weighted.add_edges(keys, nodes if cut else everyone)
        else:
            _add_edges(weighted, keys, nodes if cut else everyone)
        _sort(nodes, opts.cum_sort)
        dropped_edges = _trim_edges(nodes, edge_cutoff)
    return TrimmedGraph(nodes, index, full_total, orig_count, dropped_nodes,
                        dropped_edges, notes, active_filters(opts))


# Below this many samples quick_trimmed_graph's set-up costs more than it
# saves.
_QUICK_MIN_SAMPLES = 2000


def quick_trimmed_graph(proto: profile_pb2.Profile, opts: GraphOptions
                        ) -> Optional[Tuple[Prepared, TrimmedGraph]]:
    """build_trimmed_graph(prepare(proto), opts, edges=False) for a large
    file shown without filters, with the samples' stacks summed by the C
    core instead of being merged and walked one Python object at a time;
    or None when the file or the options need the general road.

    The values are the same: merging changes neither a node's key nor the
    sums that reach it. The Prepared returned has the file's header,
    mappings and locations but no samples.
    """
    if (len(proto.sample) < _QUICK_MIN_SAMPLES or active_filters(opts)
            or opts.show_from or opts.granularity not in GRANULARITIES
            or opts.granularity == "addresses"):
        return None
    try:
        from pyprof import _core
        lib, ffi = _core.lib, _core.ffi
        lib.pyprof_node_values  # noqa: B018 - an older build lacks it
    except (ImportError, AttributeError):
        return None
    tables = _Tables(proto)
    strings = tables.strings
    if strings[proto.drop_frames] or "pprof::base" in strings:
        return None
    # Mappings that merge become the first of them; this road keeps each
    # one, which changes nothing while they have the same file name.
    files_by_key: Dict[tuple, Set[str]] = {}
    for m in tables.mappings:
        files_by_key.setdefault(m.merge_key(), set()).add(m.file)
    if any(len(files) > 1 for files in files_by_key.values()):
        return None
    locations = [Location(loc.id, tables.mapping_of(loc), loc.address,
                          tables.lines_of(loc), loc.is_folded)
                 for loc in proto.location]
    prepared = tables.prepared([], locations, tables.mappings)
    for fn in tables.functions.values():
        _simplify_name(fn)
    index = select_sample(prepared, opts.sample_index)
    keys = _location_keys(prepared, opts)
    # Inlined frames: the nodes' "(inline)" labels need the edges.
    with_edges = any(len(k) > 1 for k in keys.values())

    import array

    max_id = max(keys, default=0)
    if max_id + 1 > 2 * len(keys) + 1024:  # as _table: a list by id
        return None
    id_index = array.array("q", [-1]) * (max_id + 1)
    by_key: Dict[NodeKey, int] = {}
    made: List[Node] = []
    entry_node = array.array("i")
    loc_start = array.array("I", [0])
    for i, (loc_id, loc_keys) in enumerate(keys.items()):
        id_index[loc_id] = i
        for key in loc_keys:
            node = by_key.get(key)
            if node is None:
                node = by_key[key] = len(made)
                made.append(Node(key))
            entry_node.append(node)
        loc_start.append(len(entry_node))

    # The samples that add something, as the general road's _weighted
    # keeps them (the others change no node and make no edge).
    samples = proto.sample
    values = [s.value[index] for s in samples]
    if opts.mean:
        firsts = [s.value[0] for s in samples]
        kept = [i for i, (w, d) in enumerate(zip(values, firsts)) if w or d]
        divisors = array.array("q", [firsts[i] for i in kept])
    else:
        kept = [i for i, w in enumerate(values) if w]
        divisors = None
    weights = array.array("q", [values[i] for i in kept])
    if (weights and min(weights) < 0) or (divisors and min(divisors) < 0):
        # Samples that merge may cancel out and vanish, with their edges.
        return None
    samples = [samples[i] for i in kept]
    grand = sum(map(abs, weights))
    divisor = sum(divisors) if divisors is not None else 0
    if grand >= _INT64_LIMIT or (divisors is not None
                                 and sum(map(abs, divisors)) >= _INT64_LIMIT):
        return None
    full_total = go_div(grand, divisor) if divisor else grand
    sample_start = array.array("Q", [0])
    sample_start.extend(itertools.accumulate(len(s.location_id) for s in samples))
    sample_ids = array.array(
        "Q", itertools.chain.from_iterable(s.location_id for s in samples))
    count = len(made)
    out = [array.array("q", bytes(8 * count)) for _ in range(4)]
    rc = lib.pyprof_node_values(
        len(keys), ffi.from_buffer("uint32_t[]", loc_start),
        ffi.from_buffer("int32_t[]", entry_node), count, len(id_index),
        ffi.from_buffer("int64_t[]", id_index), len(samples),
        ffi.from_buffer("uint64_t[]", sample_start),
        ffi.from_buffer("uint64_t[]", sample_ids),
        ffi.from_buffer("int64_t[]", weights),
        ffi.from_buffer("int64_t[]", divisors) if divisors is not None else ffi.NULL,
        *(ffi.from_buffer("int64_t[]", a) for a in out))
    if rc < 0:
        return None
    nodes = []
    for node, flat, cum, flat_div, cum_div in zip(made, *out):
        node.flat, node.cum, node.flat_div, node.cum_div = flat, cum, flat_div, cum_div
        if cum == 0 and flat == 0:
            continue
        if opts.drop_negative and (flat < 0 or (flat == 0 and cum < 0)):
            continue
        nodes.append(node)
    if not with_edges:
        return prepared, _trimmed(nodes, made, opts, None, index, full_total, [])
    edge_input = _QuickEdges(sample_start, sample_ids, weights)
    try:
        return prepared, _trimmed(nodes, made, opts, (edge_input, keys), index,
                                  full_total, [])
    except _QuickEdges.Refused:
        return None


class _QuickEdges:
    """quick_trimmed_graph's samples where _trimmed expects the weighted
    samples for _add_edges: the C edge counter reads them as they are."""

    class Refused(Exception):
        """The C edge counter cannot take them: use the general road."""

    def __init__(self, sample_start, sample_ids, weights) -> None:
        self.sample_start, self.sample_ids, self.weights = (
            sample_start, sample_ids, weights)

    def add_edges(self, keys: Dict[int, List[NodeKey]], members: List[Node]) -> None:
        import array

        entries = _edge_entries(keys, members)
        if not isinstance(entries, list):
            raise self.Refused()
        try:
            locs = array.array("I", self.sample_ids)
        except OverflowError:
            raise self.Refused() from None
        if not _edges_in_c(entries, members, self.sample_start, locs, self.weights):
            raise self.Refused()


def build_graph(p: Prepared, opts: GraphOptions, index: int,
                obj_names: bool = False) -> List[Node]:
    """Every node of an already filtered profile, untrimmed and unsorted,
    in the order pprof creates them (for -list)."""
    keys = _location_keys(p, opts, obj_names)
    return _build(_weighted(p, index, opts.mean), keys, None, opts.drop_negative)


def _weighted(p: Prepared, index: int, mean: bool):
    """(location ids, leaf first, value, divisor) of every sample that
    contributes."""
    location_id = operator.attrgetter("id")
    out = []
    for s in p.samples:
        w = s.values[index]
        d = s.values[0] if mean else 0
        if w or d:
            out.append((list(map(location_id, s.locations)), w, d))
    return out


def _location_keys(
    p: Prepared, opts: GraphOptions, obj_names: bool = False, trim: bool = True
) -> Dict[int, List[NodeKey]]:
    """Each location's node keys, one per line (outermost last), after
    dropping what the granularity does not keep.

    obj_names keeps start line and binary in every key, as pprof does for
    -list and -raw; trim applies -trim_path and -source_path to file names,
    as every graph view does (-traces does not).
    """
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
            file = ""
            if use_file and fn.filename:
                filename = fn.filename
                if trim:
                    filename = trim_path(filename, opts.trim_path, opts.source_path)
                file = _clean_path(filename)
            lineno = line if use_line else 0
            if name and not obj_names:
                loc_keys.append((name, "", address, file, 0, lineno, ""))
            else:
                # Unnamed functions stay apart by start line and binary.
                loc_keys.append(
                    (name, "", address, file, fn.start_line, lineno, objfile)
                )
        keys[loc.id] = loc_keys
    return keys


def trim_path(path: str, trim: str, source_path: str) -> str:
    """A file name as pprof shows it: with no -trim_path, everything up to
    "/<last folder of a -source_path entry>/" goes; then the first matching
    -trim_path prefix (or /proc/self/cwd/) is cut."""
    if not trim:
        for folder in filter(None, source_path.split(":")):
            want = "/" + _base_name(folder) + "/"
            found = path.find(want)
            if found != -1:
                return path[found + len(want):]
    prefixes = (trim.split(":") if trim else []) + ["/proc/self/cwd/./",
                                                    "/proc/self/cwd/"]
    for prefix in prefixes:
        if not prefix.endswith("/"):
            prefix += "/"
        if path.startswith(prefix):
            return path[len(prefix):]
    return path


def _base_name(path: str) -> str:
    """Go's filepath.Base."""
    stripped = path.rstrip("/")
    if not stripped:
        return "/" if path else "."
    return stripped.rsplit("/", 1)[-1]


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


def _table(keys: Dict[int, list], fill):
    """Something indexed by location id: a list when the ids are small
    numbers (as merge() leaves them), faster than a dict; else a dict."""
    size = max(keys, default=0) + 1
    if size <= 2 * len(keys) + 1024:
        return [fill] * size
    return {}


def _node_values(
    weighted: Sequence[Tuple[List[int], int, int]],
    keys: Dict[int, List[NodeKey]],
    drop_negative: bool,
) -> List[Node]:
    """The nodes _build would make with kept=None, with their flat and cum
    values but no edges, at a fraction of the cost."""
    by_key: Dict[NodeKey, int] = {}
    made: List[Node] = []
    # Per location, the index of its innermost node (which takes the flat
    # value of stacks ending there) and of its other nodes (inlined
    # callers) when it has some.
    innermost = _table(keys, 0)
    callers: Dict[int, List[int]] = {}
    for loc_id, loc_keys in keys.items():
        row = []
        for key in loc_keys:
            i = by_key.get(key)
            if i is None:
                i = by_key[key] = len(made)
                made.append(Node(key))
            row.append(i)
        innermost[loc_id] = row[0]
        if len(row) > 1:
            callers[loc_id] = row[1:]
    count = len(made)
    flat = [0] * count
    cum = [0] * count
    flat_div = [0] * count
    cum_div = [0] * count
    node_of = innermost.__getitem__
    with_callers = callers.keys()
    flatten = itertools.chain.from_iterable
    # Each sample adds its value to the cum of every node on its stack,
    # once. Samples are grouped by value (a CPU profile has few distinct
    # ones) so that the nodes are counted by collections.Counter, in C.
    by_value: Dict[int, list] = {}
    by_divisor: Dict[int, list] = {}
    for ids, w, dw in weighted:
        if not ids:
            continue
        on_stack = set(map(node_of, ids))
        if callers and not with_callers.isdisjoint(ids):
            on_stack.update(flatten(callers[i] for i in ids if i in callers))
        group = by_value.get(w)
        if group is None:
            by_value[w] = [on_stack]
        else:
            group.append(on_stack)
        if dw:
            by_divisor.setdefault(dw, []).append(on_stack)
        leaf = innermost[ids[0]]
        flat[leaf] += w
        flat_div[leaf] += dw
    for values, out in ((by_value, cum), (by_divisor, cum_div)):
        for w, stacks in values.items():
            for i, times in collections.Counter(flatten(stacks)).items():
                out[i] += times * w

    nodes = []
    for i, node in enumerate(made):
        node.flat, node.cum = flat[i], cum[i]
        node.flat_div, node.cum_div = flat_div[i], cum_div[i]
        if node.cum == 0 and node.flat == 0:
            continue
        if drop_negative and (node.flat < 0 or (node.flat == 0 and node.cum < 0)):
            continue
        nodes.append(node)
    return nodes, made


def _add_edges(
    weighted: Sequence[Tuple[List[int], int, int]],
    keys: Dict[int, List[NodeKey]],
    members: List[Node],
) -> None:
    """Connect members (nodes made by _node_values) as _build would when
    only they are kept: an edge per caller and callee adjacent on a stack
    once the other nodes are left out, weighted by the samples that pass
    it (each sample once), and inline when every such call is."""
    entries = _edge_entries(keys, members)
    if isinstance(entries, list) and _add_edges_in_c(weighted, entries, members):
        return
    # Each sample counts once per edge, with the flag of its first
    # (rootmost) call: edges remember the last sample that counted them.
    edges: Dict[Tuple[Node, Node], list] = {}  # -> [weight, inline, stamp]
    get = edges.get
    entry_of = entries.__getitem__
    flatten = itertools.chain.from_iterable
    stamp = 0
    for ids, w, _ in weighted:
        stamp += 1
        parent = None
        for node, inline in flatten(map(entry_of, reversed(ids))):
            if parent is not None and node is not parent:
                pair = (parent, node)
                edge = get(pair)
                if edge is None:
                    edges[pair] = [w, inline, stamp]
                elif edge[2] != stamp:
                    edge[2] = stamp
                    edge[0] += w
                    if not inline:
                        edge[1] = False
            parent = node
    for (caller, callee), (weight, inline, _) in edges.items():
        edge = [weight, inline]
        caller.out_edges[callee] = edge
        callee.in_edges[caller] = edge


def _edge_entries(keys: Dict[int, List[NodeKey]], members: List[Node]):
    """Per location id: (member, is an inlined call) from its outermost line
    to its innermost, i.e. in the order a stack is walked from its root."""
    by_key = {n.key: n for n in members}
    entries = _table(keys, ())
    for loc_id, loc_keys in keys.items():
        made = [by_key.get(key) for key in loc_keys]
        last = len(made) - 1
        entries[loc_id] = tuple((made[i], i != last) for i in range(last, -1, -1)
                                if made[i] is not None)
    return entries


# Below this many samples the C edge counter's set-up costs more than the
# Python loop saves.
_C_EDGES_MIN_SAMPLES = 2000
_INT64_LIMIT = 1 << 62


def _add_edges_in_c(weighted, entries: list, members: List[Node]) -> bool:
    """_add_edges' loop run by the C core (csrc/graphagg.c), which gives the
    same edges in the same order; False (nothing done) when the core is not
    built with it, the profile is small, or values could overflow int64."""
    if len(weighted) < _C_EDGES_MIN_SAMPLES:
        return False
    import array

    weights = array.array("q")
    try:
        weights.extend([w for _, w, _ in weighted])
    except OverflowError:
        return False
    if sum(map(abs, weights)) >= _INT64_LIMIT:
        return False
    flatten = itertools.chain.from_iterable
    sample_locs = array.array("I", flatten(ids for ids, _, _ in weighted))
    sample_start = array.array("Q", [0])
    sample_start.extend(itertools.accumulate(len(ids) for ids, _, _ in weighted))
    return _edges_in_c(entries, members, sample_start, sample_locs, weights)


def _edges_in_c(entries: list, members: List[Node], sample_start, sample_locs,
                weights) -> bool:
    """Connect members by the C core's edge counter, given the samples as
    arrays (uint64 starts, uint32 location ids, int64 weights); False when
    the core lacks it or refuses the input."""
    try:
        from pyprof import _core
        lib, ffi = _core.lib, _core.ffi
        lib.pyprof_edges_build  # noqa: B018 - an older build lacks it
    except (ImportError, AttributeError):
        return False
    import array

    index = {id(n): i for i, n in enumerate(members)}
    loc_start = array.array("I", [0])
    entry_node = array.array("i")
    entry_inline = array.array("B")
    for row in entries:
        for node, inline in row:
            entry_node.append(index[id(node)])
            entry_inline.append(inline)
        loc_start.append(len(entry_node))
    out = ffi.new("pyprof_edges **")
    rc = lib.pyprof_edges_build(
        len(entries), ffi.from_buffer("uint32_t[]", loc_start),
        ffi.from_buffer("int32_t[]", entry_node),
        ffi.from_buffer("uint8_t[]", entry_inline), len(members), len(weights),
        ffi.from_buffer("uint64_t[]", sample_start),
        ffi.from_buffer("uint32_t[]", sample_locs),
        ffi.from_buffer("int64_t[]", weights), out)
    if rc < 0:
        return False
    try:
        count = lib.pyprof_edges_count(out[0])
        caller = array.array("i", bytes(4 * count))
        callee = array.array("i", bytes(4 * count))
        weight = array.array("q", bytes(8 * count))
        inline_all = array.array("B", bytes(count))
        lib.pyprof_edges_copy(out[0], ffi.from_buffer("int32_t[]", caller),
                              ffi.from_buffer("int32_t[]", callee),
                              ffi.from_buffer("int64_t[]", weight),
                              ffi.from_buffer("uint8_t[]", inline_all))
    finally:
        lib.pyprof_edges_free(out[0])
    for c, d, w, inl in zip(caller, callee, weight, inline_all):
        edge = [w, bool(inl)]
        members[c].out_edges[members[d]] = edge
        members[d].in_edges[members[c]] = edge
    return True


def _build(
    weighted: Sequence[Tuple[List[int], int, int]],
    keys: Dict[int, List[NodeKey]],
    kept: Optional[Set[NodeKey]],
    drop_negative: bool,
) -> List[Node]:
    """Accumulate flat, cum and edge weights; kept limits the nodes made.

    A sample adds its value once to each node and each edge on its stack,
    however often recursion repeats them: nodes and edges remember the
    number of the last sample that counted them (a stamp), which costs
    less than a set of what one sample has seen.
    """
    by_key: Dict[NodeKey, Node] = {}
    # Per location: (node, is an inlined call) for its kept nodes, from the
    # outermost line to the innermost, i.e. in the order a stack is walked
    # from its root; and whether its innermost line's node is not kept (a
    # stack ending there gives no node its flat value).
    rows = _table(keys, ())
    leaf_dropped = _table(keys, False)
    for loc_id, loc_keys in keys.items():
        made: List[Optional[Node]] = []
        for key in loc_keys:
            if kept is not None and key not in kept:
                made.append(None)
                continue
            node = by_key.get(key)
            if node is None:
                node = by_key[key] = Node(key)
            made.append(node)
        last = len(made) - 1
        rows[loc_id] = tuple((made[i], i != last) for i in range(last, -1, -1)
                             if made[i] is not None)
        leaf_dropped[loc_id] = made[0] is None

    # (caller, callee) -> [weight, every call inlined, stamp]
    edges: Dict[Tuple[Node, Node], list] = {}
    stamp = 0
    row_of = rows.__getitem__
    flatten = itertools.chain.from_iterable
    for ids, w, dw in weighted:
        stamp += 1
        parent: Optional[Node] = None
        for node, inline in flatten(map(row_of, reversed(ids))):
            if node.stamp != stamp:
                node.stamp = stamp
                node.cum += w
                node.cum_div += dw
            if parent is not None and node is not parent:
                pair = (parent, node)
                edge = edges.get(pair)
                if edge is None:
                    edges[pair] = [w, inline, stamp]
                elif edge[2] != stamp:
                    edge[2] = stamp
                    edge[0] += w
                    if not inline:
                        edge[1] = False
            parent = node
        if parent is not None and not leaf_dropped[ids[0]]:
            parent.flat += w
            parent.flat_div += dw

    for (caller, callee), (w, inline, _) in edges.items():
        edge = [w, inline]
        caller.out_edges[callee] = edge
        callee.in_edges[caller] = edge

    nodes = []
    for node in by_key.values():
        if node.cum == 0 and node.flat == 0:
            continue
        if drop_negative and (node.flat < 0 or (node.flat == 0 and node.cum < 0)):
            continue
        nodes.append(node)
    return nodes


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
