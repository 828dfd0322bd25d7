"""Sampler aggregate -> pprof CPU profile.

Sits between the sampler (pyprof._sampler, whose ``take()`` returns counts
per (thread, stack)) and the codec (pyprof.pprof, which gzips and writes a
``profile_pb2.Profile``). The profile follows what ``go tool pprof`` expects
of a CPU profile: value columns ``samples/count`` then ``cpu/nanoseconds``
(the last one is the default view), one Function per (qualified name, file,
first line), one Location per (function, line), and a ``thread`` label on
every sample so that ``-tagfocus thread=MainThread`` works.
"""

from __future__ import annotations

from typing import Dict
from typing import Iterable
from typing import List
from typing import Mapping
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
            self.profile.string_table.append(text)
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

    Returns:
        The profile, ready for ``pyprof.pprof.dump``.
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
    for (thread_name, frames), counts in aggregate.items():
        samples, periods = int(counts[0]), int(counts[1])
        if samples == 0 and periods == 0:
            continue
        location_ids: List[int] = [tables.location(tuple(f)) for f in frames]
        sample = profile.sample.add(
            location_id=location_ids, value=[samples, periods * period_ns]
        )
        sample.label.add(key=thread_key, str=tables.string(thread_name))

    for comment in comments:
        profile.comment.append(tables.string(comment))
    return profile
