"""The memory sampler: Python side of csrc/memory.c.

Where this sits: ``start()`` installs the C core's allocator hooks, which
sample allocations every ``rate`` bytes on average and keep, per Python
stack, what was allocated and, per sampled block, what is still live.
``snapshot()`` copies those tables out, turns code pointers into
(qualified name, file, first line, line) frames, and returns a
``HeapSnapshot``: plain numbers and strings, which a ``pyprof record``
child saves as JSON and pyprof.builder turns into Go's heap profile.

Code objects named by the tables are kept alive (parked, see csrc/pyapi.c)
from ``start()`` to ``stop()``, so a stack never names a freed or reused
code object. Limitation: code objects that were sampled and then died
(``eval`` of fresh source, reloaded modules) stay in memory until the
memory sampler stops.
"""

from __future__ import annotations

import json
import os
import threading
import time
import types
from typing import Any
from typing import Dict
from typing import List
from typing import Tuple

from pyprof import _core
from pyprof import spool

Frame = Tuple[str, str, int, int]
# Per stack (frames leaf first): [alloc_objects, alloc_space, inuse_objects,
# inuse_space], unbiased and rounded.
HeapAggregate = Dict[Tuple[Frame, ...], List[int]]

_ffi = _core.ffi
_lib = _core.lib

# Version of the JSON a ``pyprof record`` child writes for its parent.
HEAP_FORMAT = 1

# Pseudo-frames for samples without a Python stack of their own.
NO_PYTHON_FRAME: Frame = ("[not in Python]", "", 0, 0)
TABLE_FULL_FRAME: Frame = ("[stack table full]", "", 0, 0)


class MemorySamplerError(Exception):
    """The memory sampler cannot start or answer (C core return code)."""


_ERRORS = {
    _lib.PYPROF_EINVAL: "invalid rate or stack depth",
    _lib.PYPROF_ENOMEM: "out of memory",
    _lib.PYPROF_EBUSY: "the memory sampler is already running",
    _lib.PYPROF_ESTATE: "the memory sampler is not running",
}


class HeapSnapshot:
    """The memory sampler's state at one moment, ready to become a profile.

    Attributes:
        aggregate: ``{frames: [alloc_objects, alloc_space, inuse_objects,
            inuse_space]}``, values unbiased (Go's rule) and rounded.
        raw: ``{frames: [alloc_count, alloc_bytes, inuse_count,
            inuse_bytes]}``, what was sampled, before unbiasing.
        rate: mean bytes between samples (1: every allocation).
        time_ns: when it was taken, ns since the epoch.
        stats: the C core's counters (samples, live, table_bytes, ...).
        main_file: the program's main file, or "".
    """

    def __init__(self, aggregate: HeapAggregate, raw: HeapAggregate, *, rate: int,
                 time_ns: int, stats: Dict[str, Any], main_file: str = "") -> None:
        self.aggregate = aggregate
        self.raw = raw
        self.rate = rate
        self.time_ns = time_ns
        self.stats = dict(stats)
        self.main_file = main_file
        # Set by pyprof record's children (pyprof/_bootstrap.py) for the
        # merged profile's pid labels and comments: the process (pid,
        # ppid, forked, argv) and whether this is its last snapshot (True)
        # or a periodic one, the last the process left before it died.
        self.process: Dict[str, Any] = {}
        self.ended = True

    def totals(self) -> List[int]:
        """Sum of each of the four values over all stacks."""
        sums = [0, 0, 0, 0]
        for values in self.aggregate.values():
            for i in range(4):
                sums[i] += values[i]
        return sums

    def comments(self, command_line: str = "") -> List[str]:
        """Profile comments: the command line, then what was not tracked."""
        lines = [command_line] if command_line else []
        untracked = int(self.stats.get("untracked", 0) or 0)
        overflow = int(self.stats.get("stack_overflow", 0) or 0)
        if untracked:
            lines.append(f"{untracked} sampled blocks not tracked as in use: "
                         "the live table was full (raise --mem-rate)")
        if overflow:
            lines.append(f"{overflow} samples without their stack: the stack "
                         "table was full")
        unhooked = int(self.stats.get("unhooked", 0) or 0)
        if unhooked:
            lines.append(f"allocator hooks taken down by another tool "
                         f"{unhooked} time(s) (tracemalloc.stop()?) and put "
                         "back: allocations meanwhile were not seen, and "
                         "blocks freed meanwhile may still count as in use")
        return lines

    def save(self, path: str) -> None:
        """Write as JSON, atomically (temp file in the same folder, rename)."""
        data = {
            "format": HEAP_FORMAT,
            "rate": self.rate,
            "time_ns": self.time_ns,
            "stats": self.stats,
            "main_file": self.main_file,
            "process": self.process,
            "ended": self.ended,
            "stacks": [[[list(f) for f in frames], values, self.raw.get(frames)]
                       for frames, values in self.aggregate.items()],
        }
        spool.save_json(path, data)

    @classmethod
    def load(cls, path: str) -> "HeapSnapshot":
        """Read what ``save`` wrote; OSError, ValueError, KeyError or
        TypeError when it cannot."""
        with open(path, encoding="utf-8") as src:
            data = json.load(src)
        if data.get("format") != HEAP_FORMAT:
            raise ValueError(f"unknown heap spool format {data.get('format')!r}")
        aggregate: HeapAggregate = {}
        raw: HeapAggregate = {}
        for frames, values, raw_values in data["stacks"]:
            key = tuple((f[0], f[1], int(f[2]), int(f[3])) for f in frames)
            _add(aggregate, key, values)
            _add(raw, key, raw_values or [0, 0, 0, 0])
        snap = cls(aggregate, raw, rate=int(data["rate"]),
                   time_ns=int(data["time_ns"]), stats=data["stats"],
                   main_file=data["main_file"])
        snap.process = dict(data.get("process") or {})
        snap.ended = bool(data.get("ended", True))
        return snap


def _add(table: HeapAggregate, key: Tuple[Frame, ...], values) -> None:
    entry = table.get(key)
    if entry is None:
        table[key] = [int(v) for v in values]
    else:
        for i in range(4):
            entry[i] += int(values[i])


def _check(rc: int, doing: str) -> int:
    if rc < 0:
        raise MemorySamplerError(f"{doing}: {_ERRORS.get(rc, f'error {rc}')}")
    return rc


def start(rate: int, max_frames: int) -> None:
    """Hook the allocators and sample every ``rate`` bytes on average."""
    _lib.pyprof_codes_hold(1)
    rc = _lib.pyprof_mem_start(rate, max_frames)
    if rc < 0:
        _lib.pyprof_codes_hold(0)
        _check(rc, "starting the memory sampler")


def stop() -> bool:
    """Unhook and free the tables; False when it was not running."""
    rc = _lib.pyprof_mem_stop()
    _lib.pyprof_codes_hold(0)
    return rc == 0


def running() -> bool:
    return bool(_lib.pyprof_mem_running())


def stats() -> Dict[str, int]:
    """The C core's counters, as a dict."""
    c = _ffi.new("pyprof_mem_stats *")
    _lib.pyprof_mem_get_stats(c)
    names = ("rate", "samples", "frees", "live", "stacks", "untracked",
             "stack_overflow", "bad_stacks", "table_bytes", "peak_table_bytes",
             "unhooked")
    return {name: int(getattr(c, name)) for name in names}


_ignoring = threading.local()


class _OwnWork:
    """See pyprofs_own_work(). One shared instance: entering allocates
    nothing before the thread is marked, so the block's own bookkeeping
    stays out of the profile too."""

    __slots__ = ()

    def __enter__(self) -> None:
        _lib.pyprof_mem_ignore_thread(1)
        _ignoring.depth = getattr(_ignoring, "depth", 0) + 1

    def __exit__(self, *exc) -> bool:
        depth = _ignoring.depth - 1
        _ignoring.depth = depth
        if depth <= 0:
            _lib.pyprof_mem_ignore_thread(0)
        return False


_OWN_WORK = _OwnWork()


def pyprofs_own_work() -> _OwnWork:
    """Do not sample the calling thread's allocations inside this block
    (pyprof's own work on a snapshot or a profile); blocks nest."""
    return _OWN_WORK


def snapshot(max_frames: int, main_file: str = "") -> HeapSnapshot:
    """The current tables as a HeapSnapshot (the calling thread's own
    allocations meanwhile are not sampled)."""
    with pyprofs_own_work():
        # Another tool may have taken the hooks down since the last look
        # (tracemalloc.stop() under pyprof): put them back before reading.
        _lib.pyprof_mem_check_hooks()
        # Without a CPU recording no drain lets parked code objects go:
        # those no heap stack names can go now.
        _lib.pyprof_codes_release(0)
        now_ns = time.time_ns()
        stacks, frames, n = _copy_tables()
        current = stats()
        aggregate, raw = _resolve(stacks, frames, n, max_frames)
        return HeapSnapshot(aggregate, raw, rate=current["rate"], time_ns=now_ns,
                            stats=current, main_file=main_file)


def _copy_tables():
    nframes = _ffi.new("uint64_t *")
    while True:
        want = _lib.pyprof_mem_sizes(nframes)
        # Room for what arrives between the two calls.
        cap_stacks = want + 64 + want // 8
        cap_frames = nframes[0] + 4096 + nframes[0] // 8
        stacks = _ffi.new("pyprof_mem_stack[]", cap_stacks)
        frames = _ffi.new("pyprof_frame[]", max(cap_frames, 1))
        rc = _lib.pyprof_mem_snapshot(stacks, cap_stacks, frames, cap_frames)
        if rc != _lib.PYPROF_EFULL:
            return stacks, frames, _check(rc, "reading the memory profile")


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def is_pyprofs_file(filename: str) -> bool:
    """True for pyprof's own code: the package, and the start-up file
    ``pyprof record`` puts in its spool folder (pyprof/_bootstrap.py).

    A stack whose innermost frame outside the standard library is one of
    these is left out of heap profiles: what pyprof allocates while it
    starts, spools, exits or answers the program's calls into its API is
    pyprof's, not the program's (the program's code that pyprof calls, an
    application behind pyprof's WSGI middleware say, is innermost and
    stays). Most of it is never sampled (pyprofs_own_work); this catches
    the few allocations made before a block can say so (a frame, a bound
    method)."""
    if filename.startswith(_PACKAGE):
        return True
    if os.path.basename(filename) == "sitecustomize.py":
        folder = os.path.basename(os.path.dirname(filename))
        return folder.startswith("pyprof-")
    return False


def _stdlib_folders() -> Tuple[str, ...]:
    import sysconfig

    paths = sysconfig.get_paths()
    return tuple(sorted({os.path.join(paths[k], "") for k in ("stdlib", "platstdlib")
                         if paths.get(k)}))


_STDLIB: Tuple[str, ...] = ()


def _is_library(filename: str) -> bool:
    """The standard library's code (also frozen), which runs for whoever
    calls it. Code without a file of its own ("<string>", from ``-c`` or
    exec) is the program's."""
    global _STDLIB
    if not filename or filename.startswith("<frozen "):
        return True
    if not _STDLIB:
        _STDLIB = _stdlib_folders()
    return filename.startswith(_STDLIB) and "-packages" + os.sep not in filename


def _innermost_is_own(stack, own, lib) -> bool:
    for address, _ in stack:  # leaf first
        if address not in lib:
            return address in own
    return False


def _resolve(stacks, frames, n: int, max_frames: int):
    from pyprof._sampler import SUBINTERP_CODE
    from pyprof._sampler import SUBINTERP_FRAME
    from pyprof._sampler import _CodeNames
    from pyprof._sampler import _marker

    # Distinct (code address, offset) pairs, resolved in one C call with the
    # GIL: code objects (alive: parked while the sampler runs) and lines.
    pairs: Dict[Tuple[int, int], int] = {}
    raw_stacks = []
    for i in range(n):
        s = stacks[i]
        at = s.frames_at
        stack = []
        if s.depth and int(_ffi.cast("uintptr_t", frames[at].code)) == SUBINTERP_CODE:
            raw_stacks.append(None)  # never resolved (see csrc/walk.c)
            continue
        for j in range(s.depth):
            f = frames[at + j]
            pair = (int(_ffi.cast("uintptr_t", f.code)), f.instr)
            pairs.setdefault(pair, len(pairs))
            stack.append(pair)
        raw_stacks.append(stack)
    count = len(pairs)
    codes = _ffi.new("void *[]", count)
    instrs = _ffi.new("int32_t[]", count)
    lines = _ffi.new("int32_t[]", count)
    for (address, instr), index in pairs.items():
        codes[index] = _ffi.cast("void *", address)
        instrs[index] = instr
    objects: Dict[int, types.CodeType] = {}
    if count and _lib.pyprof_codes_resolve(_ffi.cast("void *", id(objects)),
                                           codes, instrs, lines, count) != 0:
        raise MemorySamplerError("reading the memory profile: resolving code objects")
    info, _ = _CodeNames().lookup(list(objects.values()), force=True)

    own = {address for address, frame in info.items() if is_pyprofs_file(frame[1])}
    lib = {address for address, frame in info.items() if _is_library(frame[1])}
    half = max_frames // 2
    aggregate: HeapAggregate = {}
    raw: HeapAggregate = {}
    for i in range(n):
        s = stacks[i]
        if not (s.alloc_count or s.inuse_count):
            continue
        if raw_stacks[i] is None:
            key: Tuple[Frame, ...] = (SUBINTERP_FRAME,)
        elif own and _innermost_is_own(raw_stacks[i], own, lib):
            continue  # pyprof's own work (see is_pyprofs_file)
        elif i == 0:
            key = (TABLE_FULL_FRAME,)
        elif not raw_stacks[i]:
            key = (NO_PYTHON_FRAME,)
        else:
            key = tuple(info[address] + (lines[pairs[(address, instr)]],)
                        for address, instr in raw_stacks[i])
            if s.truncated:
                key = key[:half] + (_marker(s.truncated),) + key[half:]
        _add(aggregate, key, [round(s.alloc_objects), round(s.alloc_space),
                              round(s.inuse_objects), round(s.inuse_space)])
        _add(raw, key, [s.alloc_count, s.alloc_bytes, s.inuse_count,
                        s.inuse_bytes])
    return aggregate, raw

