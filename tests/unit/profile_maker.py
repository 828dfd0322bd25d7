"""Synthetic profiles and corpus paths for the unit tests (no pytest magic)."""

import os
from pathlib import Path

from pyprof._proto import profile_pb2

REPO = Path(__file__).resolve().parents[2]
# The shared corpus lives beside the repository; PYPROF_CORPUS points elsewhere.
CORPUS = Path(os.environ.get("PYPROF_CORPUS", REPO / ".." / "shared" / "corpus"))


class ProfileMaker:
    """Builds a Profile message from readable stacks.

    Each function name gets one Function (system_name empty unless given)
    and each (function, line) one Location, ids in order of first use.
    """

    def __init__(self, sample_types=(("samples", "count"), ("cpu", "nanoseconds"))):
        self.p = profile_pb2.Profile(string_table=[""])
        self._strings = {"": 0}
        self._functions = {}
        self._locations = {}
        for t, u in sample_types:
            self.p.sample_type.add(type=self.s(t), unit=self.s(u))

    def s(self, text: str) -> int:
        if text not in self._strings:
            self._strings[text] = len(self.p.string_table)
            self.p.string_table.append(text)
        return self._strings[text]

    def function(self, name, filename="app.py", system_name="", start_line=1):
        key = (name, filename, system_name, start_line)
        if key not in self._functions:
            fid = len(self._functions) + 1
            self.p.function.add(
                id=fid, name=self.s(name), system_name=self.s(system_name),
                filename=self.s(filename), start_line=start_line,
            )
            self._functions[key] = fid
        return self._functions[key]

    def location(self, *frames):
        """frames: (name, line) or (name, line, system_name); several frames
        make one location with inlined calls, innermost first."""
        key = tuple(frames)
        if key not in self._locations:
            lid = len(self._locations) + 1
            loc = self.p.location.add(id=lid)
            for frame in frames:
                name, line = frame[0], frame[1]
                system = frame[2] if len(frame) > 2 else ""
                loc.line.add(function_id=self.function(name, system_name=system), line=line)
            self._locations[key] = lid
        return self._locations[key]

    def sample(self, stack, *values):
        """stack: leaf first; each item a name, one frame (name, line[,
        system_name]), or a tuple of frames for a location with inlining."""
        ids = []
        for item in stack:
            if isinstance(item, str):
                ids.append(self.location((item, 10)))
            elif isinstance(item[0], str):
                ids.append(self.location(item))
            else:
                ids.append(self.location(*item))
        self.p.sample.add(location_id=ids, value=list(values))
        return self
