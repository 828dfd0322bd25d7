"""Per-process spool files: how each process of ``pyprof record`` hands its
samples to the ``pyprof record`` parent, a little at a time.

Every profiled process (the program, and each Python child or fork of it)
appends to its own file in the spool folder while it runs: a header when
the sampler starts, new samples a tenth of a second after it starts and
then every half second (from the drain thread), and an end record with its
counters when it stops. A process that dies without stopping (SIGKILL, a
segfault, abort()) leaves a file that ends after its last complete record,
so the parent still gets everything up to the last flush; such a file is
reported as recovered.

A file is a sequence of records, each a 4-byte little-endian payload
length, one kind byte and a UTF-8 JSON payload:

- ``H`` header: pid, parent pid, command line, start time, period, whether
  the process is a fork of its parent;
- ``F`` frames: new entries for the file's frame table, each
  ``[name, filename, first line, line]``; stacks refer to them by index;
- ``S`` samples: ``[[thread, [frame index, ...], samples, periods], ...]``
  plus the wall-clock time of the flush;
- ``E`` end: duration, sampler counters, warnings, the program's file.

Records are written with one ``os.write`` each on an unbuffered
append-only descriptor, so a forked child (which gets a copy of the
descriptor, and closes it) can never write the parent's samples again, and
a record cut short by a crash is recognised by its length and dropped.
Nothing is fsync'ed: a dead process's writes are already in the kernel.

Imports stay light: this module runs inside the profiled program.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import time
from typing import Any
from typing import Dict
from typing import Iterable
from typing import List
from typing import Optional
from typing import Tuple

FORMAT = 2
SUFFIX = ".spool"
_LENGTH = struct.Struct("<I")
# A record longer than this is damage, not data (one flush of a program
# with millions of distinct stacks stays far below it).
MAX_RECORD = 1 << 30

Frame = Tuple[str, str, int, int]
Aggregate = Dict[Tuple[str, Tuple[Frame, ...]], List[int]]


def file_name(pid: int) -> str:
    """A fresh spool file name for process pid (an exec'd process keeps
    its pid, and a pid may be reused: the time keeps names apart)."""
    return f"proc-{pid}-{time.time_ns()}{SUFFIX}"


def pid_of(name: str) -> int:
    """The pid in a name made by file_name, or 0."""
    parts = name.split("-")
    try:
        return int(parts[1]) if len(parts) == 3 and name.endswith(SUFFIX) else 0
    except ValueError:
        return 0


def command_line_of_self() -> List[str]:
    """This process's argv as the kernel has it (sys.argv is not set yet
    when the bootstrap runs, and omits the interpreter and its options)."""
    try:
        with open("/proc/self/cmdline", "rb") as src:
            raw = src.read()
    except OSError:
        return []
    return [part.decode("utf-8", "surrogateescape") for part in raw.split(b"\0")[:-1]]


class Writer:
    """Appends one process's records to its spool file.

    With ``lazy``, the file is created at the first flush instead of now: a
    fork child that execs (subprocess's preexec_fn, a fork-exec server) or
    exits before its first flush (a tenth of a second) leaves no file behind.
    """

    def __init__(self, folder: str, header: Dict[str, Any], lazy: bool = False):
        self.pid = os.getpid()
        self.path = os.path.join(folder, file_name(self.pid))
        self.fd: Optional[int] = None
        self.frames: Dict[Frame, int] = {}
        self.closed = False
        self._header: Optional[Dict[str, Any]] = dict(
            header, format=FORMAT, pid=self.pid
        )
        if not lazy:
            self._open()

    def _open(self) -> None:
        header, self._header = self._header, None
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        self.fd = os.open(self.path, flags, 0o600)
        self._put("H", header)

    def _put(self, kind: str, payload: Any) -> None:
        if self._header is not None and not self.closed:
            self._open()
        if self.fd is None:
            return
        body = kind.encode("ascii") + json.dumps(
            payload, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8", "surrogateescape")
        data = _LENGTH.pack(len(body)) + body
        # One write per record; a short write (disk full) would leave a
        # torn record that the reader drops, and nothing after it.
        while data:
            written = os.write(self.fd, data)
            data = data[written:]

    def samples(self, aggregate: Aggregate) -> None:
        """Append an aggregate's samples (frames first, as needed)."""
        if not aggregate:
            return
        new: List[List[Any]] = []
        rows = []
        for (thread, stack), (samples, periods) in aggregate.items():
            indexes = []
            for frame in stack:
                index = self.frames.get(frame)
                if index is None:
                    index = self.frames[frame] = len(self.frames)
                    new.append(list(frame))
                indexes.append(index)
            rows.append([thread, indexes, int(samples), int(periods)])
        if new:
            self._put("F", new)
        self._put("S", {"time_ns": time.time_ns(), "rows": rows})

    def end(self, info: Dict[str, Any]) -> None:
        """The last record: this process stopped and saved everything."""
        self._put("E", info)
        self.close()

    def close(self) -> None:
        """Close the descriptor, without writing (also: in a fork child)."""
        fd, self.fd = self.fd, None
        self.closed = True
        self._header = None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


class ProcessSpool:
    """What one spool file holds, read back by the ``pyprof record`` parent.

    Attributes:
        path: the file.
        pid, ppid: the process and its parent.
        argv: the process's command line (empty when unknown).
        forked: the process is a fork of ``ppid`` (same command line).
        start_ns: wall-clock start of its sampler.
        period_ns: its sampling period.
        aggregate: ``{(thread, frames): [samples, periods]}``.
        ended: an end record was read (the process stopped cleanly).
        last_ns: wall-clock time of the last record with samples.
        duration_ns, stats, warnings, main_file: from the end record.
        damaged: bytes after the last complete record were dropped.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.pid = pid_of(os.path.basename(path))
        self.ppid = 0
        self.argv: List[str] = []
        self.forked = False
        self.start_ns = 0
        self.period_ns = 0
        self.aggregate: Aggregate = {}
        self.ended = False
        self.last_ns = 0
        self.duration_ns = 0
        self.stats: Dict[str, Any] = {}
        self.warnings: List[str] = []
        self.main_file = ""
        self.damaged = False
        self.has_header = False

    @property
    def sample_count(self) -> int:
        return sum(samples for samples, _ in self.aggregate.values())

    @property
    def end_ns(self) -> int:
        """Wall-clock time of the last thing known about the process."""
        if self.ended:
            return self.start_ns + self.duration_ns
        return max(self.last_ns, self.start_ns)


def _records(path: str) -> Iterable[Tuple[str, bytes]]:
    """(kind, payload) for each complete record; stops at a torn one."""
    with open(path, "rb") as src:
        data = src.read()
    offset = 0
    while offset + _LENGTH.size <= len(data):
        (length,) = _LENGTH.unpack_from(data, offset)
        end = offset + _LENGTH.size + length
        if length < 1 or length > MAX_RECORD or end > len(data):
            break
        body = data[offset + _LENGTH.size:end]
        yield body[:1].decode("ascii", "replace"), body[1:]
        offset = end
    if offset != len(data):
        raise _Torn()


class _Torn(Exception):
    pass


def read(path: str) -> ProcessSpool:
    """Read one spool file; a torn or undecodable tail is dropped.

    Raises OSError when the file cannot be read.
    """
    spool = ProcessSpool(path)
    frames: List[Frame] = []
    try:
        for kind, payload in _records(path):
            try:
                value = json.loads(payload.decode("utf-8", "surrogateescape"))
            except ValueError:
                spool.damaged = True
                break
            if kind == "H":
                if value.get("format") != FORMAT:
                    spool.damaged = True
                    break
                spool.has_header = True
                spool.pid = int(value.get("pid", spool.pid))
                spool.ppid = int(value.get("ppid", 0))
                spool.argv = list(value.get("argv", []))
                spool.forked = bool(value.get("forked", False))
                spool.start_ns = int(value.get("start_ns", 0))
                spool.period_ns = int(value.get("period_ns", 0))
                spool.main_file = str(value.get("main_file", ""))
            elif kind == "F":
                frames.extend((f[0], f[1], int(f[2]), int(f[3])) for f in value)
            elif kind == "S":
                spool.last_ns = int(value.get("time_ns", 0))
                for thread, indexes, samples, periods in value["rows"]:
                    key = (thread, tuple(frames[i] for i in indexes))
                    counts = spool.aggregate.setdefault(key, [0, 0])
                    counts[0] += samples
                    counts[1] += periods
            elif kind == "E":
                spool.ended = True
                spool.duration_ns = int(value.get("duration_ns", 0))
                spool.stats = dict(value.get("stats", {}))
                spool.warnings = list(value.get("warnings", []))
                spool.main_file = str(value.get("main_file", "")) or spool.main_file
                break
    except _Torn:
        spool.damaged = True
    except (KeyError, IndexError, TypeError, ValueError):
        spool.damaged = True
    return spool


def has_ended(path: str) -> bool:
    """True when the file's last complete record is an end record; reads
    only the records' heads."""
    try:
        with open(path, "rb") as src:
            size = os.fstat(src.fileno()).st_size
            offset, kind = 0, b""
            while offset + _LENGTH.size + 1 <= size:
                src.seek(offset)
                head = src.read(_LENGTH.size + 1)
                (length,) = _LENGTH.unpack_from(head)
                if length < 1 or offset + _LENGTH.size + length > size:
                    break
                kind = head[_LENGTH.size:]
                offset += _LENGTH.size + length
    except OSError:
        return False
    return kind == b"E"


def list_files(folder: str) -> List[str]:
    """Spool files in folder, oldest first."""
    try:
        names = [n for n in os.listdir(folder) if n.endswith(SUFFIX)]
    except OSError:
        return []

    def started(name: str) -> int:
        try:
            return int(name[: -len(SUFFIX)].rsplit("-", 1)[1])
        except (IndexError, ValueError):
            return 0

    return [os.path.join(folder, n) for n in sorted(names, key=started)]


def is_running(pid: int) -> bool:
    """True while pid names a live process (a zombie has finished)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as src:
            stat = src.read()
    except OSError:
        return False
    # The state follows the command name, which is in parentheses and may
    # itself contain ") ".
    state = stat[stat.rfind(b")") + 2:][:1]
    return state not in (b"Z", b"X", b"")


def save_json(path: str, data: Any) -> None:
    """Write data to path as compact JSON, whole or not at all: through a
    temporary file of this process and thread (a periodic save on the
    drain thread may meet the final one) renamed over path."""
    temp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        with open(temp, "w", encoding="utf-8") as out:
            json.dump(data, out, separators=(",", ":"))
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
