"""Sampler aggregate -> pprof CPU profile.

Sits between the sampler (pyprof._sampler, whose ``take()`` returns counts
per (thread, stack)) and the codec (pyprof.pprof, which gzips and writes a
``profile_pb2.Profile``). The profile follows what ``go tool pprof`` expects
of a CPU profile: value columns ``samples/count`` then ``cpu/nanoseconds``
(the last one is the default view), one Function per (qualified name, file,
first line), one Location per (function, line), and a ``thread`` label on
every sample so that ``-tagfocus thread=MainThread`` works. Profiles made by
``pyprof record`` also carry the process id as the numeric label ``pid``:
numeric, because pprof reads ``-tagfocus=pid=1234`` as a number (a range
filter), which never matches a string label.
"""

from __future__ import annotations

from typing import Dict
from typing import Iterable
from typing import List
from typing import Mapping
from typing import Optional
from typing import Sequence
from typing import Tuple

from pyprof._proto import profile_pb2

# A frame as the sampler reports it: (qualified name, filename, first line of
# the function, line being executed), leaf first in a stack.
Frame = Tuple[str, str, int, int]
Aggregate = Mapping[Tuple[str, Sequence[Frame]], Sequence[int]]

# The single mapping every location points at. Go 1.19's pprof prints
# "Main binary filename not available." for a profile without mappings and
# tries to symbolize mappings that lack the has_* flags; one mapping that
# claims functions, files and lines already resolved keeps it quiet.
MAPPING_ID = 1


def _valid_utf8(text: str) -> str:
    """text as pprof can store it: file names Python could not decode carry
    their bad bytes as lone surrogates, which UTF-8 cannot encode; those
    bytes are written as \\xNN (any other lone surrogate as \\udNNN)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


class _Tables:
    """Interning tables for strings, functions and locations."""

    def __init__(self, profile: profile_pb2.Profile) -> None:
        self.profile = profile
        self.strings: Dict[str, int] = {}
        self.functions: Dict[Tuple[str, str, int], int] = {}
        self.locations: Dict[Tuple[int, int], int] = {}
        self.string("")  # pprof requires string_table[0] == ""

    def string(self, text: str) -> int:
        index = self.strings.get(text)
        if index is None:
            index = len(self.profile.string_table)
            self.profile.string_table.append(_valid_utf8(text))
            self.strings[text] = index
        return index

    def function(self, name: str, filename: str, start_line: int) -> int:
        key = (name, filename, start_line)
        function_id = self.functions.get(key)
        if function_id is None:
            function_id = len(self.profile.function) + 1
            # system_name stays empty: Go 1.19 runs its C++ demangler on any
            # function whose name equals its system name, which turns
            # "<module>" or "<lambda>" into an empty name.
            self.profile.function.add(
                id=function_id,
                name=self.string(name),
                filename=self.string(filename),
                start_line=start_line,
            )
            self.functions[key] = function_id
        return function_id

    def location(self, frame: Frame) -> int:
        name, filename, start_line, line = frame
        function_id = self.function(name, filename, start_line)
        key = (function_id, line)
        location_id = self.locations.get(key)
        if location_id is None:
            location_id = len(self.profile.location) + 1
            location = self.profile.location.add(
                id=location_id, mapping_id=MAPPING_ID
            )
            location.line.add(function_id=function_id, line=line)
            self.locations[key] = location_id
        return location_id


def _value_type(tables: _Tables, kind: str, unit: str) -> profile_pb2.ValueType:
    return profile_pb2.ValueType(type=tables.string(kind), unit=tables.string(unit))


def build_cpu_profile(
    aggregate: Aggregate,
    *,
    period_ns: int,
    start_ns: int,
    duration_ns: int,
    comments: Iterable[str] = (),
    main_file: str = "",
    pid: Optional[int] = None,
) -> profile_pb2.Profile:
    """Build a pprof CPU profile from a ``Sampler.take()`` aggregate.

    Args:
        aggregate: ``{(thread_name, frames): [samples, periods]}``, frames
            leaf first, each ``(name, filename, start_line, line)``.
        period_ns: the sampling period; CPU time of a stack is
            ``periods * period_ns``.
        start_ns: wall-clock start of the recording, ns since the epoch.
        duration_ns: wall-clock length of the recording.
        comments: free text lines shown in report headers.
        main_file: the program's file (script or interpreter), shown by
            pprof as ``File:``; empty for none.
        pid: the process id for a ``pid`` label on every sample; None for
            no such label.

    Returns:
        The profile, ready for ``pyprof.pprof.dump``.
    """
    return build_multiprocess_cpu_profile(
        [(pid, aggregate)],
        period_ns=period_ns,
        start_ns=start_ns,
        duration_ns=duration_ns,
        comments=comments,
        main_file=main_file,
    )


def build_multiprocess_cpu_profile(
    processes: Sequence[Tuple[Optional[int], Aggregate]],
    *,
    period_ns: int,
    start_ns: int,
    duration_ns: int,
    comments: Iterable[str] = (),
    main_file: str = "",
) -> profile_pb2.Profile:
    """Build one CPU profile from the aggregates of several processes.

    Args:
        processes: ``(pid, aggregate)`` pairs; each sample of an aggregate
            gets the numeric label ``pid`` (none when pid is None).
        The others: as for ``build_cpu_profile``.
    """
    profile = profile_pb2.Profile()
    tables = _Tables(profile)

    profile.sample_type.append(_value_type(tables, "samples", "count"))
    profile.sample_type.append(_value_type(tables, "cpu", "nanoseconds"))
    profile.period_type.CopyFrom(_value_type(tables, "cpu", "nanoseconds"))
    profile.period = period_ns
    profile.time_nanos = start_ns
    profile.duration_nanos = duration_ns
    profile.default_sample_type = tables.string("cpu")
    profile.mapping.add(
        id=MAPPING_ID,
        filename=tables.string(main_file),
        has_functions=True,
        has_filenames=True,
        has_line_numbers=True,
    )

    thread_key = tables.string("thread")
    if any(pid is not None for pid, _ in processes):
        pid_key = tables.string("pid")
    for pid, aggregate in processes:
        for (thread_name, frames), counts in aggregate.items():
            samples, periods = int(counts[0]), int(counts[1])
            if samples == 0 and periods == 0:
                continue
            location_ids: List[int] = [tables.location(tuple(f)) for f in frames]
            sample = profile.sample.add(
                location_id=location_ids, value=[samples, periods * period_ns]
            )
            sample.label.add(key=thread_key, str=tables.string(thread_name))
            if pid is not None:
                sample.label.add(key=pid_key, num=pid)

    for comment in comments:
        profile.comment.append(tables.string(comment))
    return profile


# Go's heap profile, in Go's order; pprof shows the last one by default.
HEAP_SAMPLE_TYPES = (
    ("alloc_objects", "count"),
    ("alloc_space", "bytes"),
    ("inuse_objects", "count"),
    ("inuse_space", "bytes"),
)


def build_heap_profile(
    aggregate: Mapping[Sequence[Frame], Sequence[int]],
    *,
    rate: int,
    time_ns: int,
    default_sample_type: str = "inuse_space",
    comments: Iterable[str] = (),
    main_file: str = "",
    processes: Sequence[Tuple[int, Mapping[Sequence[Frame], Sequence[int]]]] = (),
) -> profile_pb2.Profile:
    """Build Go's heap profile from a memory snapshot.

    Args:
        aggregate: ``{frames: [alloc_objects, alloc_space, inuse_objects,
            inuse_space]}``, frames leaf first, values already unbiased.
        rate: mean bytes between samples; the profile's period.
        time_ns: when the snapshot was taken, ns since the epoch.
        default_sample_type: the view pprof opens with. For "inuse_space"
            the field stays unset, as in Go's heap profile (pprof then
            takes the last type, which is inuse_space); any other of the
            four is named, as Go's allocs profile names "alloc_space".
        comments: free text lines shown in report headers.
        main_file: the program's file, shown by pprof as ``File:``.
        processes: ``(pid, aggregate)`` pairs, each sample of an aggregate
            labelled ``pid``; when given, ``aggregate`` is not used.

    Raises:
        ValueError: default_sample_type is not one of the four.
    """
    kinds = [kind for kind, _ in HEAP_SAMPLE_TYPES]
    if default_sample_type not in kinds:
        raise ValueError(f"unknown heap sample type {default_sample_type!r}; "
                         f"expected one of {', '.join(kinds)}")
    profile = profile_pb2.Profile()
    tables = _Tables(profile)
    for kind, unit in HEAP_SAMPLE_TYPES:
        profile.sample_type.append(_value_type(tables, kind, unit))
    profile.period_type.CopyFrom(_value_type(tables, "space", "bytes"))
    profile.period = rate
    profile.time_nanos = time_ns
    if default_sample_type != kinds[-1]:
        profile.default_sample_type = tables.string(default_sample_type)
    profile.mapping.add(
        id=MAPPING_ID,
        filename=tables.string(main_file),
        has_functions=True,
        has_filenames=True,
        has_line_numbers=True,
    )
    pid_key = tables.string("pid") if processes else 0
    for pid, table in processes or [(None, aggregate)]:
        for frames, values in table.items():
            values = [int(v) for v in values]
            if not any(values):
                continue
            location_ids = [tables.location(tuple(f)) for f in frames]
            sample = profile.sample.add(location_id=location_ids, value=values)
            if pid is not None:
                sample.label.add(key=pid_key, num=pid)
    for comment in comments:
        profile.comment.append(tables.string(comment))
    return profile
