"""pyprof: Go's pprof for Python.

Record part of a program from Python::

    import pyprof

    with pyprof.profile("out.pb.gz"):
        work()

    pyprof.start(rate_hz=250)
    work()
    profile = pyprof.stop()
    profile.write("out.pb.gz")

or a whole program with ``pyprof record -- python app.py``; serve live
profiles of a running program with ``pyprof.serve(port=6060)``. Importing this
package is cheap: the sampler loads on ``start()`` and protobuf only when a
profile is built or written.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Iterator
from typing import Optional

from pyprof.errors import PyprofError
from pyprof.session import Profile
from pyprof.session import Session
from pyprof.session import check_output_folder
from pyprof.session import main_file_of

__all__ = ["Profile", "PyprofError", "profile", "serve", "start", "stop"]

# The session started by start(); guarded by _lock so that two threads
# calling start() at once cannot both arm a sampler.
_session: Optional[Session] = None
_lock = threading.Lock()


def start(
    rate_hz: int = 100,
    max_frames: int = 128,
    memory: bool = False,
    mem_rate: int = 512 * 1024,
) -> None:
    """Start sampling every thread of this process on its CPU time.

    Args:
        rate_hz: samples per second of CPU time per thread, 1 to 10000.
        max_frames: deepest stack kept; deeper ones are truncated.
        memory: also record a heap profile (``stop()`` returns it as the
            profile's ``.heap``; ``pyprof.heap.profile()`` takes one at any
            time meanwhile).
        mem_rate: with memory, mean bytes allocated between samples; 1
            records every allocation.

    Raises:
        UsageError: rate_hz is out of range.
        PyprofError: pyprof is already recording in this process, or the
            sampler cannot start.
    """
    global _session
    with _lock:
        if _session is not None:
            raise PyprofError(
                "starting the profiler: it is already running",
                hint="call pyprof.stop() before starting it again",
            )
        session = Session(
            rate_hz=rate_hz, max_frames=max_frames, mem_rate=mem_rate if memory else 0
        )
        session.start()
        _session = session


def stop() -> Profile:
    """Stop sampling and return the profile recorded since ``start()``.

    Raises:
        PyprofError: the profiler is not running.
    """
    global _session
    with _lock:
        session = _session
        if session is None:
            raise PyprofError(
                "stopping the profiler: it is not running",
                hint="call pyprof.start() first",
            )
        _session = None
        recording = session.stop(main_file=main_file_of())
    result = Profile(recording, command_line=_command_line())
    if session.heap_snapshot is not None:
        from pyprof.heap import HeapProfile

        result.heap = HeapProfile(session.heap_snapshot, result.command_line)
    return result


class Recorded:
    """What ``with pyprof.profile() as rec`` gives: ``rec.profile`` is the
    finished Profile (with ``.heap`` when memory was recorded) once the
    block has ended, None before."""

    def __init__(self) -> None:
        self.profile: Optional[Profile] = None


@contextlib.contextmanager
def profile(
    path: Optional[str] = None,
    rate_hz: int = 100,
    max_frames: int = 128,
    memory: bool = False,
    mem_rate: int = 512 * 1024,
    memory_path: Optional[str] = None,
) -> Iterator[Recorded]:
    """Record the ``with`` block; write the profile to path when it ends.

    The profile is written also when the block raises (the exception then
    propagates). With path None nothing is written; the ``as`` target's
    ``.profile`` holds the result after the block. ``memory=True`` (or a
    ``memory_path``, which implies it) records a heap profile too, written
    to memory_path when given; mem_rate as for ``start()``.
    """
    memory = memory or memory_path is not None
    if path is not None:
        check_output_folder(os.fspath(path))
    if memory_path is not None:
        from pyprof.heap import check_distinct_output

        check_distinct_output(os.fspath(memory_path),
                              os.fspath(path) if path is not None else "")
    start(rate_hz=rate_hz, max_frames=max_frames, memory=memory, mem_rate=mem_rate)
    owner = os.getpid()
    recorded = Recorded()
    try:
        yield recorded
    finally:
        # A fork child leaving the block writes nothing: the samples and
        # the file are the parent's, which writes them when it leaves.
        if os.getpid() == owner:
            result = recorded.profile = stop()
            if path is not None:
                result.write(os.fspath(path))
            if memory_path is not None and result.heap is not None:
                result.heap.write(os.fspath(memory_path))


def serve(host: str = "127.0.0.1", port: int = 6060, **options):
    """Serve Go's /debug/pprof/ endpoints from this process, on a daemon
    thread, until the returned server's ``stop()``.

    ``pyprof top http://127.0.0.1:6060/debug/pprof/profile?seconds=10`` or
    ``go tool pprof`` on the same URL then profiles the running program.
    Options (memory, max_seconds, rate_hz, warn) are those of
    pyprof.live.server.serve; any host other than a loopback address
    prints a warning.
    """
    from pyprof.live.server import serve as serve_live

    return serve_live(host, port, **options)


def _command_line() -> str:
    import shlex

    program = os.path.basename(sys.executable or "python")
    return " ".join(shlex.quote(part) for part in [program, *sys.argv])
