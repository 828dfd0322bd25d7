"""Heap profiles: the process-wide memory sampler and Go's heap profile.

Where this sits: the public face of pyprof._memory (which drives the C
allocator hooks in csrc/memory.c). ``start()`` begins sampling, ``profile()``
returns the current state as the ``profile_pb2.Profile`` Go's
``/debug/pprof/heap`` would serve (four sample types, inuse_space shown by
default), and ``stop()`` ends it. ``pyprof record --memory``,
``pyprof.start(memory=True)`` and the live endpoints all go through here.

Sampling is by bytes, as Go's runtime.MemProfileRate: on average one
sample every ``rate_bytes`` allocated, each weighted back to an estimate of
the true counts (1 / (1 - exp(-size / rate)) allocations per sample), so
totals estimate what the program really allocated and holds. With
``rate_bytes=1`` every allocation is recorded and the values are exact.
What is counted: allocations through CPython's allocators (objects,
PyMem_Malloc and PyMem_RawMalloc, also from C extensions, attributed to the
Python line that called into them). Limitation: memory a C extension gets
from malloc directly, or from mmap, is not seen.
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import Optional

from pyprof.errors import PyprofError

DEFAULT_RATE = 512 * 1024
MIN_FRAMES = 4
MAX_FRAMES = 4096

_lock = threading.Lock()
_rate: Optional[int] = None
_max_frames = 128
_atexit_done = False


def _core():
    try:
        from pyprof import _memory
    except ImportError as exc:
        raise PyprofError(
            f"starting the memory profiler: cannot load pyprof's C core ({exc})",
            hint="reinstall pyprof (pip install .) for this Python",
        ) from None
    return _memory


def check_rate(rate_bytes: int) -> int:
    """Return rate_bytes if it is a usable sampling rate, else raise."""
    from pyprof.errors import UsageError

    if isinstance(rate_bytes, bool) or not isinstance(rate_bytes, int) \
            or not 1 <= rate_bytes <= 2**40:
        raise UsageError(
            f"setting the memory sampling rate: {rate_bytes!r} bytes is not "
            "a whole number from 1 to 2**40",
            hint=f"use bytes between samples, e.g. {DEFAULT_RATE} (the default); "
                 "1 records every allocation",
        )
    return rate_bytes


def start(rate_bytes: int = DEFAULT_RATE, max_frames: int = 128) -> None:
    """Start sampling this process's allocations.

    A second start with the same rate is a no-op.

    Raises:
        UsageError: rate_bytes or max_frames out of range.
        PyprofError: already running with another rate, or the C core
            cannot start.
    """
    global _rate, _max_frames, _atexit_done
    check_rate(rate_bytes)
    if isinstance(max_frames, bool) or not isinstance(max_frames, int) \
            or not MIN_FRAMES <= max_frames <= MAX_FRAMES:
        from pyprof.errors import UsageError

        raise UsageError(
            f"setting the stack depth: {max_frames!r} frames is out of range",
            hint=f"use {MIN_FRAMES} to {MAX_FRAMES} frames (default 128)",
        )
    memory = _core()
    with _lock:
        if _rate is not None and memory.running():
            if _rate == rate_bytes:
                return
            raise PyprofError(
                f"starting the memory profiler: it is already running at "
                f"{_rate} bytes per sample, not {rate_bytes}",
                hint="stop it first (pyprof.heap.stop()) to change the rate",
            )
        try:
            memory.start(rate_bytes, max_frames)
        except memory.MemorySamplerError as exc:
            raise PyprofError(str(exc), hint="one memory profiler per process") \
                from None
        _rate = rate_bytes
        _max_frames = max_frames
        if not _atexit_done:
            # Unhook before the interpreter tears down.
            atexit.register(stop)
            _atexit_done = True


def running() -> bool:
    """True while the memory sampler runs."""
    with _lock:
        return _rate is not None


def stop() -> None:
    """Stop sampling and free the sampler's tables; idempotent."""
    global _rate
    with _lock:
        if _rate is None:
            return
        _rate = None
        _core().stop()


def snapshot(main_file: str = ""):
    """The current state as a pyprof._memory.HeapSnapshot (plain data).

    Raises:
        PyprofError: the memory sampler is not running.
    """
    with _lock:
        if _rate is None:
            raise PyprofError(
                "taking a heap profile: the memory profiler is not running",
                hint="start it with pyprof.heap.start() or "
                     "pyprof.start(memory=True)",
            )
        memory = _core()
        try:
            return memory.snapshot(_max_frames, main_file=main_file)
        except memory.MemorySamplerError as exc:
            raise PyprofError(str(exc)) from None


def profile(default_sample_type: str = "inuse_space"):
    """The current state as Go's heap profile (a ``profile_pb2.Profile``).

    Sample types alloc_objects/count, alloc_space/bytes,
    inuse_objects/count, inuse_space/bytes; period_type space/bytes, period
    the rate; values unbiased. ``default_sample_type`` other than
    inuse_space is written into the profile, as Go's allocs endpoint does
    with "alloc_space".

    Raises:
        PyprofError: not running, or an unknown default_sample_type.
    """
    from pyprof.session import main_file_of

    return HeapProfile(snapshot(main_file_of()),
                       default_sample_type=default_sample_type).proto


class HeapProfile:
    """A finished heap profile: ``.snapshot``, ``.proto``, ``.write(path)``."""

    def __init__(self, snapshot, command_line: str = "",
                 default_sample_type: str = "inuse_space") -> None:
        self.snapshot = snapshot
        self.command_line = command_line
        self.default_sample_type = default_sample_type
        self._proto = None

    @property
    def stats(self):
        return self.snapshot.stats

    @property
    def proto(self):
        if self._proto is None:
            from pyprof.builder import build_heap_profile

            snap = self.snapshot
            try:
                self._proto = build_heap_profile(
                    snap.aggregate,
                    rate=snap.rate,
                    time_ns=snap.time_ns,
                    default_sample_type=self.default_sample_type,
                    comments=snap.comments(self.command_line),
                    main_file=snap.main_file,
                )
            except ValueError as exc:
                raise PyprofError(
                    f"building the heap profile: {exc}",
                    hint="use alloc_objects, alloc_space, inuse_objects or "
                         "inuse_space",
                ) from None
        return self._proto

    def write(self, path: str) -> None:
        """Write the gzipped profile to path atomically."""
        from pyprof import pprof

        pprof.dump(self.proto, os.fspath(path))
