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

    with _core().pyprofs_own_work():
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


def finish(main_file: str = "", owner_pid: int = 0):
    """Take a last snapshot and stop; the snapshot, or None when not
    running or when this process is a fork of ``owner_pid`` (a fork child
    inherits its parent's tables, whose blocks its parent reports)."""
    snap = None
    if running() and (not owner_pid or owner_pid == os.getpid()):
        snap = snapshot(main_file)
    stop()
    return snap


# ---- the parent side of ``pyprof record --memory`` -------------------------


def check_distinct_output(memory_output: str, output: str) -> None:
    """Fail before recording if the heap profile could not be written, or
    would overwrite the CPU profile."""
    from pyprof.errors import UsageError
    from pyprof.session import check_output_folder

    check_output_folder(memory_output)
    if os.path.abspath(memory_output) == os.path.abspath(output):
        raise UsageError(
            f"checking the output paths: the heap profile and the CPU profile "
            f"would both be {output}",
            hint="give --memory-output another file name (default heap.pb.gz)",
        )


def write_recorded(spool: str, output: str, command) -> Optional[bool]:
    """Merge the heap snapshots the recorded processes left in the spool
    folder into one heap profile at output, and say so on stderr.

    Returns True when written, False when writing failed, None when no
    process left a snapshot (the reason is printed).
    """
    import glob
    import shlex

    import click

    from pyprof import _memory

    def say(text: str) -> None:
        click.echo(f"pyprof: {text}", err=True)

    merged = None
    for path in sorted(glob.glob(os.path.join(spool, "heap-*.json"))):
        try:
            snap = _memory.HeapSnapshot.load(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            say(f"skipped a heap snapshot: it is unreadable ({exc})")
            continue
        merged = snap if merged is None else _merge(merged, snap)
    if merged is None:
        say("no heap profile written: no process saved its memory samples")
        return None
    command_line = " ".join(shlex.quote(part) for part in command)
    try:
        HeapProfile(merged, command_line).write(output)
    except PyprofError as exc:
        click.echo(exc.format(), err=True)
        return False
    say(heap_summary(output, merged))
    return True


def _merge(a, b):
    from pyprof import _memory

    for frames, values in b.aggregate.items():
        _memory._add(a.aggregate, frames, values)
    for frames, values in b.raw.items():
        _memory._add(a.raw, frames, values)
    for key, value in b.stats.items():
        if key in ("rate",):
            continue
        if key == "peak_table_bytes":
            a.stats[key] = max(a.stats.get(key, 0), value)
        else:
            a.stats[key] = a.stats.get(key, 0) + value
    a.time_ns = max(a.time_ns, b.time_ns)
    return a


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.2f}{unit}"
        n /= 1024
    return f"{n:.2f}GB"


def heap_summary(output: str, snap) -> str:
    """The one line printed after a heap profile is written."""
    alloc_objects, alloc_space, inuse_objects, inuse_space = snap.totals()
    stats = snap.stats
    text = (f"wrote {output}: {int(stats.get('samples', 0))} allocations sampled, "
            f"{_size(alloc_space)} allocated, {_size(inuse_space)} in use at exit; "
            f"profiler tables peaked at {_size(stats.get('peak_table_bytes', 0))}")
    untracked = int(stats.get("untracked", 0) or 0)
    if untracked:
        text += f"; {untracked} samples not tracked (live table full)"
    return text
