"""Profiles taken on request: a CPU profile over N seconds, memory and
thread snapshots, and the difference of two snapshots.

Where this sits: pyprof.live.handlers decides what a request asks for and
calls these; they return ``profile_pb2.Profile`` messages. The CPU sampler
is one per process, so a CPU profile is collected in one of two ways:

* nothing is sampling: a session of our own runs for the N seconds;
* a recording is already running (``pyprof record``, ``pyprof.start()``):
  a *tap* on its sampler collects the same samples into a second
  aggregate for the N seconds, and the recording goes on untouched. If
  the recording stops meanwhile (pyprof.stop(), the end of a
  ``with pyprof.profile()`` block), the sampler goes on for the tap and
  stops at the end of the N seconds.

Only one CPU profile is collected at a time (``CPU_BUSY`` otherwise), as
Go allows one.
"""

from __future__ import annotations

import shlex
import sys
import threading
import time
from typing import Callable
from typing import List
from typing import Optional

from pyprof.errors import PyprofError

DEFAULT_RATE_HZ = 100
# Who holds the sampler, in the error of a pyprof.start() refused meanwhile.
HOLDER = "a live CPU profile (/debug/pprof/profile, from pyprof.serve() or pyprof.live)"

# Held while a CPU profile is being collected, by any server in the process.
_cpu_lock = threading.Lock()


class Busy(Exception):
    """Another CPU profile is being collected in this process."""


class CpuCollection:
    """A CPU profile of the next seconds: start(), then finish() or cancel().

    Raises Busy from start() when another collection is running, and
    PyprofError when the sampler cannot start.
    """

    def __init__(self, rate_hz: int = DEFAULT_RATE_HZ) -> None:
        self.rate_hz = rate_hz
        self._session = None
        self._sampler = None
        self._tap = None
        self._start_ns = 0
        self._start_mono_ns = 0
        self._open = False

    def start(self) -> None:
        if not _cpu_lock.acquire(blocking=False):
            raise Busy()
        # Imported now, so that finish() adds no import to the profile.
        import pyprof.builder  # noqa: F401
        import pyprof.session  # noqa: F401
        try:
            self._start_ns = time.time_ns()
            self._start_mono_ns = time.monotonic_ns()
            sampler = _running_sampler()
            if sampler is not None:
                self._sampler = sampler
                self._tap = sampler.add_tap(holder=HOLDER)
            else:
                from pyprof.session import Session

                session = Session(rate_hz=self.rate_hz)
                session.start()
                session.sampler.holder = HOLDER
                self._session = session
        except BaseException:
            _cpu_lock.release()
            raise
        self._open = True

    def finish(self):
        """Stop collecting and return the profile (profile_pb2.Profile)."""
        from pyprof.builder import build_cpu_profile
        from pyprof.session import Profile
        from pyprof.session import main_file_of

        try:
            if self._session is not None:
                recording = self._session.stop(main_file=main_file_of())
                return Profile(recording, command_line=command_line()).proto
            aggregate = self._sampler.remove_tap(self._tap)
            return build_cpu_profile(
                aggregate,
                period_ns=self._sampler.period_ns,
                start_ns=self._start_ns,
                duration_ns=time.monotonic_ns() - self._start_mono_ns,
                comments=[command_line()],
                main_file=main_file_of(),
            )
        finally:
            self._close()

    def cancel(self) -> None:
        """Stop collecting and drop what was collected."""
        try:
            if self._session is not None:
                self._session.stop()
            elif self._tap is not None:
                self._sampler.remove_tap(self._tap)
        except PyprofError:
            pass
        finally:
            self._close()

    def _close(self) -> None:
        if self._open:
            self._open = False
            self._session = self._sampler = self._tap = None
            _cpu_lock.release()


def _running_sampler():
    """The sampler of a recording in progress, or None (the sampler module
    is not imported only to find there is none)."""
    module = sys.modules.get("pyprof._sampler")
    return getattr(module, "_running", None) if module else None


def argv() -> List[str]:
    """This process's command line as it was started, interpreter and its
    options included (sys.orig_argv, 3.10 and later; on 3.9 the
    interpreter's path and sys.argv), as Go's cmdline starts with the
    program."""
    started = getattr(sys, "orig_argv", None)
    if started:
        return list(started)
    return [sys.executable or "python", *sys.argv]


def command_line() -> str:
    """argv() as a shell would read it (the index page, profile comments)."""
    return " ".join(shlex.quote(part) for part in argv())


# ---- snapshots and their differences -------------------------------------


def delta(before, after, start_ns: int, end_ns: int):
    """``after - before`` for two snapshots of one kind of profile, merged
    as pprof merges (equal stacks and labels become one sample, samples
    that come to zero go), dated at ``end_ns`` and lasting from
    ``start_ns`` (Go's delta profiles are dated the same way)."""
    from pyprof import graph

    base = graph.resolve(before)
    graph._scale(base, [-1.0] * len(base.sample_types))
    combined = graph._combine([graph.resolve(after), base])
    graph.merge(combined)
    profile = encode(combined)
    profile.time_nanos = end_ns
    profile.duration_nanos = max(0, end_ns - start_ns)
    return profile


def encode(prepared):
    """A resolved profile (pyprof.graph.Prepared) back into a message."""
    from pyprof._proto import profile_pb2

    profile = profile_pb2.Profile()
    strings = {"": 0}
    profile.string_table.append("")

    def string(text: str) -> int:
        index = strings.get(text)
        if index is None:
            index = strings[text] = len(profile.string_table)
            profile.string_table.append(text)
        return index

    for kind, unit in prepared.sample_types:
        profile.sample_type.add(type=string(kind), unit=string(unit))
    profile.default_sample_type = string(prepared.default_sample_type)
    if prepared.period_type != ("", ""):
        profile.period_type.type = string(prepared.period_type[0])
        profile.period_type.unit = string(prepared.period_type[1])
    profile.period = prepared.period
    mapping_ids = {}
    for m in prepared.mappings:
        mapping_ids[id(m)] = m.id
        profile.mapping.add(
            id=m.id, memory_start=m.start, memory_limit=m.limit,
            file_offset=m.offset, filename=string(m.file),
            build_id=string(m.build_id), has_functions=m.has_functions,
            has_filenames=m.has_filenames, has_line_numbers=m.has_line_numbers,
            has_inline_frames=m.has_inline_frames)
    functions = {}
    for loc in prepared.locations:
        for fn, _ in loc.lines:
            if id(fn) not in functions:
                functions[id(fn)] = fn.id
                profile.function.add(
                    id=fn.id, name=string(fn.name),
                    system_name=string(fn.system_name),
                    filename=string(fn.filename), start_line=fn.start_line)
        location = profile.location.add(
            id=loc.id, mapping_id=mapping_ids.get(id(loc.mapping), 0),
            address=loc.address, is_folded=loc.is_folded)
        for fn, line in loc.lines:
            location.line.add(function_id=fn.id, line=line)
    for s in prepared.samples:
        sample = profile.sample.add(location_id=[loc.id for loc in s.locations],
                                    value=s.values)
        for key, values in s.labels.items():
            for value in values:
                sample.label.add(key=string(key), str=string(value))
        for key, values in s.num_labels.items():
            units = s.num_units.get(key, [])
            for i, value in enumerate(values):
                unit = units[i] if i < len(units) else ""
                sample.label.add(key=string(key), num=value,
                                 num_unit=string(unit) if unit else 0)
    for comment in prepared.comments:
        profile.comment.append(string(comment))
    return profile


def wait(seconds: float, disconnected: Optional[Callable[[], bool]],
         step_s: float = 0.1) -> bool:
    """Sleep for seconds; False as soon as disconnected() says the client
    has gone (checked every step_s), True when the time is up."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        time.sleep(min(step_s, left))
        if disconnected is not None and disconnected():
            return False
