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
from collections import Counter
from typing import Optional

from pyprof.errors import PyprofError

DEFAULT_RATE = 512 * 1024
MIN_FRAMES = 4
MAX_FRAMES = 4096

_lock = threading.Lock()
_rate: Optional[int] = None
_max_frames = 128
_atexit_done = False
# Who holds the running sampler, and how many times: "api" (this module's
# start()/stop() as the program calls them, once per start, so that a
# library and the application, or two threads, each keep their own hold),
# "session" (pyprof.start(memory=True) and pyprof record --memory), "live"
# (the /debug/pprof/ server). Each stop() releases one of its caller's
# holds; the sampler stops when nobody holds it, so a program's own
# heap.stop() never ends the recording's heap profile.
_holders: Counter = Counter()


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


def start(rate_bytes: int = DEFAULT_RATE, max_frames: int = 128, *,
          owner: str = "api") -> None:
    """Start sampling this process's allocations.

    The sampler is shared by its users (the program through this function,
    ``pyprof.start(memory=True)``, ``pyprof record --memory``, the live
    server): a start while it runs at the same rate joins it, and the
    matching ``stop()`` only leaves it; it stops when the last user leaves.
    ``owner`` names the user (pyprof's own callers pass theirs).

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
                _holders[owner] += 1
                return
            users = ", ".join(sorted(_USERS.get(h, h) for h in _holders))
            raise PyprofError(
                f"starting the memory profiler: it is already running at "
                f"{_rate} bytes per sample, not {rate_bytes} (used by {users})",
                hint=f"use rate_bytes={_rate}, or start after its users stop",
            )
        try:
            memory.start(rate_bytes, max_frames)
        except memory.MemorySamplerError as exc:
            raise PyprofError(str(exc), hint="one memory profiler per process") \
                from None
        _rate = rate_bytes
        _max_frames = max_frames
        _holders.clear()
        _holders[owner] = 1
        if not _atexit_done:
            # Unhook before the interpreter tears down.
            atexit.register(_stop_all)
            _atexit_done = True


_USERS = {"api": "pyprof.heap.start()", "session": "pyprof.start(memory=True) "
          "or pyprof record --memory", "live": "the live profile server"}


def running() -> bool:
    """True while the memory sampler runs."""
    with _lock:
        return _rate is not None


def rate() -> Optional[int]:
    """The running sampler's mean bytes between samples; None if stopped."""
    with _lock:
        return _rate


def stop(*, owner: str = "api") -> None:
    """Leave the sampler (see start()): each stop() ends one start()'s
    hold, the last to leave stops it and frees its tables, and a stop()
    with no start() left to end does nothing."""
    global _rate
    with _lock:
        if _rate is None:
            return
        _holders[owner] -= 1
        if _holders[owner] <= 0:
            del _holders[owner]  # a stop without its start changes nothing
        if _holders:
            return
        _rate = None
        _core().stop()


def _stop_all() -> None:
    """At exit: stop whoever still holds the sampler."""
    global _rate
    with _lock:
        _holders.clear()
        if _rate is not None:
            _rate = None
            _core().stop()


def restart_after_fork() -> None:
    """In a fork child: start the sampler's tables afresh at the same rate.

    The inherited tables describe the parent's blocks and allocations,
    which the parent reports; the child's profile starts at the fork.
    Called just after the fork, while the child runs one thread: the lock
    is made anew, as another thread of the parent may have held it.
    """
    global _lock
    _lock = threading.Lock()
    with _lock:
        if _rate is None:
            return
        memory = _core()
        memory.stop()
        memory.start(_rate, _max_frames)


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
                 default_sample_type: str = "inuse_space", *,
                 processes=(), comments=None) -> None:
        self.snapshot = snapshot
        self.command_line = command_line
        self.default_sample_type = default_sample_type
        # pyprof record: (pid, HeapSnapshot) of each process, whose samples
        # get pid labels (snapshot is then their sum), and the comments.
        self.processes = list(processes)
        self.comments = comments
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
                    comments=(self.comments if self.comments is not None
                              else snap.comments(self.command_line)),
                    main_file=snap.main_file,
                    processes=[(pid, p.aggregate) for pid, p in self.processes],
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


def finish(main_file: str = "", owner_pid: int = 0, owner: str = "session"):
    """Take a last snapshot and leave the sampler (see stop()); the
    snapshot, or None when not running or when this process is a fork of
    ``owner_pid`` (a fork child inherits its parent's tables, whose blocks
    its parent reports)."""
    snap = None
    if running() and (not owner_pid or owner_pid == os.getpid()):
        snap = snapshot(main_file)
    stop(owner=owner)
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


def check_not_an_input(memory_output: str, argv) -> None:
    """Fail before recording if the heap profile would replace a file the
    program runs or reads from its command line (its script, say)."""
    from pyprof.errors import UsageError
    from pyprof import outfile

    if outfile.is_special(memory_output) or not os.path.exists(memory_output):
        return
    target = os.path.realpath(memory_output)
    for arg in argv:
        arg = str(arg)
        if arg and os.path.isfile(arg) and os.path.realpath(arg) == target:
            raise UsageError(
                f"checking the output paths: the heap profile would replace "
                f"{arg}, which the command runs or reads",
                hint="give --memory-output another file name (default heap.pb.gz)",
            )


def write_recorded(spool: str, output: str, command) -> Optional[bool]:
    """Merge the heap snapshots the recorded processes left in the spool
    folder into one heap profile at output, and say so on stderr.

    Each process's samples are labelled with its pid, and each process has
    a comment line, as in the CPU profile. A process that died without
    saving (SIGKILL, a crash) is represented by its last periodic snapshot,
    and its comment says so.

    Returns True when written, False when writing failed, None when no
    process left a snapshot (the reason is printed).
    """
    import glob
    import shlex

    import click

    from pyprof import _memory

    def say(text: str) -> None:
        click.echo(f"pyprof: {text}", err=True)

    processes = []
    for path in glob.glob(os.path.join(spool, "heap-*.json")):
        try:
            snap = _memory.HeapSnapshot.load(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            say(f"skipped a heap snapshot: it is unreadable ({exc})")
            continue
        pid = int(snap.process.get("pid") or _pid_of(path))
        processes.append((pid, snap))
    if not processes:
        say("no heap profile written: no process saved its memory samples "
            "(see the notes above, if any)")
        return None
    processes.sort(key=lambda item: (item[1].process.get("start_ns", 0), item[0]))
    merged = _memory.HeapSnapshot({}, {}, rate=processes[0][1].rate, time_ns=0,
                                  stats={}, main_file="")
    for _, snap in processes:
        merged = _merge(merged, snap)
    # The program's file: the first process's (the one pyprof record started).
    merged.main_file = next((s.main_file for _, s in processes if s.main_file), "")
    command_line = " ".join(shlex.quote(part) for part in command)
    comments = merged.comments(command_line)
    recovered = 0
    for pid, snap in processes:
        comments.append(_process_comment(pid, snap))
        recovered += not snap.ended
    try:
        HeapProfile(merged, command_line, processes=processes,
                    comments=comments).write(output)
    except PyprofError as exc:
        click.echo(exc.format(), err=True)
        return False
    text = heap_summary(output, merged)
    if recovered:
        text += (f"; {recovered} process{'es' if recovered > 1 else ''} "
                 "recovered from a periodic snapshot")
    say(text)
    return True


def _pid_of(path: str) -> int:
    digits = os.path.basename(path)[len("heap-"):-len(".json")]
    return int(digits) if digits.isdigit() else 0


def _process_comment(pid: int, snap) -> str:
    """A process's comment line in a merged heap profile."""
    import shlex

    from pyprof.commands.record import _one_line

    info = snap.process
    text = f"pid {pid}"
    if info.get("forked"):
        text += f" (fork of pid {info.get('ppid')})"
    argv = info.get("argv") or []
    text += ": " + _one_line(" ".join(shlex.quote(str(a)) for a in argv))
    if not snap.ended:
        text += (" [recovered: its last periodic heap snapshot, as of up to a "
                 "second before it ended without saving]")
    return text


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
