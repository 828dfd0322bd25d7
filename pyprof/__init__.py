"""pyprof: Go's pprof for Python.

Record part of a program from Python::

    import pyprof

    with pyprof.profile("out.pb.gz"):
        work()

    pyprof.start(rate_hz=250)
    work()
    profile = pyprof.stop()
    profile.write("out.pb.gz")

or a whole program with ``pyprof record -- python app.py``. Importing this
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

__all__ = ["Profile", "PyprofError", "profile", "start", "stop"]

# The session started by start(); guarded by _lock so that two threads
# calling start() at once cannot both arm a sampler.
_session: Optional[Session] = None
_lock = threading.Lock()


def start(rate_hz: int = 100, max_frames: int = 128) -> None:
    """Start sampling every thread of this process on its CPU time.

    Args:
        rate_hz: samples per second of CPU time per thread, 1 to 10000.
        max_frames: deepest stack kept; deeper ones are truncated.

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
        session = Session(rate_hz=rate_hz, max_frames=max_frames)
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
    return Profile(recording, command_line=_command_line())


@contextlib.contextmanager
def profile(
    path: Optional[str] = None, rate_hz: int = 100, max_frames: int = 128
) -> Iterator[None]:
    """Record the ``with`` block; write the profile to path when it ends.

    The profile is written also when the block raises (the exception then
    propagates). With path None nothing is written; use start/stop to get
    the profile object instead.
    """
    if path is not None:
        check_output_folder(os.fspath(path))
    start(rate_hz=rate_hz, max_frames=max_frames)
    try:
        yield
    finally:
        result = stop()
        if path is not None:
            result.write(os.fspath(path))


def _command_line() -> str:
    import shlex

    program = os.path.basename(sys.executable or "python")
    return " ".join(shlex.quote(part) for part in [program, *sys.argv])
