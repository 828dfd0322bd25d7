"""One recording: a running sampler, then the raw result, then a profile.

Used in two places: the Python API (``pyprof.start``/``stop``) and the
child side of ``pyprof record`` (pyprof/_bootstrap.py). The raw result of a
recording (a ``Recording``) can be saved as JSON, which is how a child
hands its samples to the ``pyprof record`` parent: the parent, not the
profiled program, builds and writes the pprof file, so the child never
imports protobuf next to the program's own modules.

Imports stay light: the sampler is imported when a session starts and
protobuf only when a profile is built.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any
from typing import Dict
from typing import List
from typing import Optional
from typing import Sequence
from typing import Tuple

from pyprof.errors import PyprofError
from pyprof.errors import UsageError

# Version of the JSON a child writes for its parent; both sides come from
# the same pyprof install, but a mismatch must fail clearly, not wrongly.
SPOOL_FORMAT = 1

MIN_RATE_HZ = 1
MAX_RATE_HZ = 10000
MIN_FRAMES = 4
MAX_FRAMES = 4096

Frame = Tuple[str, str, int, int]


class Recording:
    """The raw result of a session, before it becomes a pprof profile.

    Attributes:
        aggregate: ``{(thread_name, frames): [samples, periods]}`` as
            ``Sampler.take()`` returns it, frames leaf first.
        period_ns: sampling period.
        start_ns: wall-clock start, ns since the epoch.
        duration_ns: wall-clock length.
        stats: the sampler's counters (samples, periods, dropped, ...).
        warnings: one-line warnings from the sampler.
        main_file: the program's main file, or "".
    """

    def __init__(
        self,
        aggregate: Dict[Tuple[str, Tuple[Frame, ...]], List[int]],
        *,
        period_ns: int,
        start_ns: int,
        duration_ns: int,
        stats: Dict[str, Any],
        warnings: Sequence[str] = (),
        main_file: str = "",
    ) -> None:
        self.aggregate = aggregate
        self.period_ns = period_ns
        self.start_ns = start_ns
        self.duration_ns = duration_ns
        self.stats = dict(stats)
        self.warnings = list(warnings)
        self.main_file = main_file

    @property
    def cpu_ns(self) -> int:
        """CPU time covered by the samples."""
        return sum(periods for _, periods in self.aggregate.values()) * self.period_ns

    @property
    def sample_count(self) -> int:
        return sum(samples for samples, _ in self.aggregate.values())

    def comments(self, command_line: str) -> List[str]:
        """Profile comments: the command line, then anything that went wrong."""
        lines = [command_line] if command_line else []
        dropped = int(self.stats.get("dropped", 0) or 0)
        truncated = int(self.stats.get("truncated", 0) or 0)
        if dropped:
            lines.append(f"{dropped} samples dropped: the sample buffer was full")
        if truncated:
            lines.append(f"{truncated} stacks truncated: deeper than --max-frames")
        lines.extend(self.warnings)
        return lines

    def save(self, path: str) -> None:
        """Write as JSON, atomically (temp file in the same folder, rename)."""
        data = {
            "format": SPOOL_FORMAT,
            "period_ns": self.period_ns,
            "start_ns": self.start_ns,
            "duration_ns": self.duration_ns,
            "stats": self.stats,
            "warnings": self.warnings,
            "main_file": self.main_file,
            "samples": [
                [thread, [list(f) for f in frames], counts[0], counts[1]]
                for (thread, frames), counts in self.aggregate.items()
            ],
        }
        from pyprof import spool

        spool.save_json(path, data)

    @classmethod
    def load(cls, path: str) -> "Recording":
        """Read what ``save`` wrote.

        Raises OSError when unreadable, ValueError for bad JSON or another
        format version, KeyError or TypeError when fields are missing.
        """
        with open(path, encoding="utf-8") as src:
            data = json.load(src)
        if data.get("format") != SPOOL_FORMAT:
            raise ValueError(f"unknown spool format {data.get('format')!r}")
        aggregate: Dict[Tuple[str, Tuple[Frame, ...]], List[int]] = {}
        for thread, frames, samples, periods in data["samples"]:
            key = (thread, tuple((f[0], f[1], f[2], f[3]) for f in frames))
            counts = aggregate.setdefault(key, [0, 0])
            counts[0] += samples
            counts[1] += periods
        return cls(
            aggregate,
            period_ns=data["period_ns"],
            start_ns=data["start_ns"],
            duration_ns=data["duration_ns"],
            stats=data["stats"],
            warnings=data["warnings"],
            main_file=data["main_file"],
        )


class Profile:
    """A finished CPU profile: ``.proto``, ``.stats`` and ``.write(path)``;
    ``.heap`` is the heap profile (pyprof.heap.HeapProfile) when memory was
    recorded too, else None."""

    def __init__(self, recording: Recording, command_line: str = "") -> None:
        self.recording = recording
        self.command_line = command_line
        self.heap = None
        self._proto = None

    @property
    def stats(self) -> Dict[str, Any]:
        """The sampler's counters for this recording."""
        return self.recording.stats

    @property
    def proto(self):
        """The ``profile_pb2.Profile`` message (built on first use)."""
        if self._proto is None:
            from pyprof.builder import build_cpu_profile

            rec = self.recording
            self._proto = build_cpu_profile(
                rec.aggregate,
                period_ns=rec.period_ns,
                start_ns=rec.start_ns,
                duration_ns=rec.duration_ns,
                comments=rec.comments(self.command_line),
                main_file=rec.main_file,
            )
        return self._proto

    def write(self, path: str) -> None:
        """Write the gzipped profile to path atomically; never a partial file."""
        from pyprof import pprof

        pprof.dump(self.proto, os.fspath(path))


def check_rate(rate_hz: int) -> int:
    """Return rate_hz if it is an accepted sampling rate, else raise UsageError."""
    if isinstance(rate_hz, bool) or not isinstance(rate_hz, int):
        raise UsageError(
            f"setting the sampling rate: {rate_hz!r} is not a whole number",
            hint=f"use a rate from {MIN_RATE_HZ} to {MAX_RATE_HZ} Hz",
        )
    if not MIN_RATE_HZ <= rate_hz <= MAX_RATE_HZ:
        raise UsageError(
            f"setting the sampling rate: {rate_hz} Hz is out of range",
            hint=f"use a rate from {MIN_RATE_HZ} to {MAX_RATE_HZ} Hz (default 100)",
        )
    return rate_hz


def check_max_frames(max_frames: int) -> int:
    """Return max_frames if the sampler accepts it, else raise UsageError."""
    if (
        isinstance(max_frames, bool)
        or not isinstance(max_frames, int)
        or not MIN_FRAMES <= max_frames <= MAX_FRAMES
    ):
        raise UsageError(
            f"setting the stack depth: {max_frames!r} frames is out of range",
            hint=f"use {MIN_FRAMES} to {MAX_FRAMES} frames (default 128)",
        )
    return max_frames


class Session:
    """A sampler running for this process, from ``start()`` to ``stop()``."""

    def __init__(
        self, rate_hz: int = 100, max_frames: int = 128, mem_rate: int = 0
    ) -> None:
        self.rate_hz = check_rate(rate_hz)
        self.max_frames = check_max_frames(max_frames)
        # Memory profile (pyprof.heap): bytes per sample, 0 for none; its
        # snapshot is taken by stop().
        self.mem_rate = mem_rate
        if mem_rate:
            from pyprof.heap import check_rate as check_mem_rate

            check_mem_rate(mem_rate)
        self.heap_snapshot = None
        self._heap_pid = 0
        self._sampler = None
        self._start_ns = 0
        self._start_mono_ns = 0

    @property
    def running(self) -> bool:
        return self._sampler is not None

    @property
    def sampler(self):
        """The running ``pyprof._sampler.Sampler``, or None."""
        return self._sampler

    @property
    def start_ns(self) -> int:
        """Wall-clock start of the recording, ns since the epoch."""
        return self._start_ns

    def restart_after_fork(self) -> None:
        """In a fork child: sample this process from now on.

        The sampler came through the fork stopped and emptied (its samples
        are the parent's); the child's recording starts at the fork.
        """
        sampler = self._sampler
        if sampler is None:
            raise PyprofError(
                "sampling a forked child: the parent was not recording",
                hint="start the session before forking",
            )
        self._start_ns = time.time_ns()
        self._start_mono_ns = time.monotonic_ns()
        if self.mem_rate and self._heap_pid:
            from pyprof import heap

            heap.restart_after_fork()
            self._heap_pid = os.getpid()
        sampler.start()

    def start(self) -> None:
        """Arm the sampler. Raises PyprofError when it cannot start."""
        try:
            from pyprof._sampler import Sampler
            from pyprof._sampler import SamplerError
        except ImportError as exc:
            raise PyprofError(
                f"starting the sampler: cannot load pyprof's C core ({exc})",
                hint="reinstall pyprof (pip install .) for this Python",
            ) from None

        try:
            sampler = Sampler(rate_hz=self.rate_hz, max_frames=self.max_frames)
            self._start_ns = time.time_ns()
            self._start_mono_ns = time.monotonic_ns()
            sampler.start()
        except SamplerError as exc:
            raise PyprofError(
                f"starting the sampler: {exc}",
                hint=exc.hint
                or "one recording at a time per process; see pyprof.stop()",
            ) from None
        self._sampler = sampler
        if self.mem_rate:
            from pyprof import heap

            try:
                heap.start(self.mem_rate, self.max_frames, owner="session")
            except PyprofError:
                self._sampler = None
                sampler.stop()
                raise
            self._heap_pid = os.getpid()

    def stop(self, main_file: str = "") -> Recording:
        """Disarm the sampler and return everything it collected."""
        sampler = self._sampler
        if sampler is None:
            raise PyprofError(
                "stopping the profiler: it is not running",
                hint="call pyprof.start() first",
            )
        self._sampler = None
        sampler.stop()
        duration_ns = time.monotonic_ns() - self._start_mono_ns
        if self.mem_rate:
            from pyprof import heap

            self.heap_snapshot = heap.finish(main_file, owner_pid=self._heap_pid)
        aggregate = sampler.take()
        return Recording(
            aggregate,
            period_ns=sampler.period_ns,
            start_ns=self._start_ns,
            duration_ns=duration_ns,
            stats=sampler.stats,
            warnings=sampler.warnings,
            main_file=main_file,
        )


def main_file_of(argv: Optional[Sequence[str]] = None) -> str:
    """The program's file for the profile's mapping: the script, else Python."""
    argv = sys.argv if argv is None else argv
    if argv and argv[0] and argv[0] not in ("-c", "-m") and os.path.isfile(argv[0]):
        return os.path.abspath(argv[0])
    return sys.executable or ""


def check_output_folder(output: str) -> None:
    """Fail before recording starts if the profile could not be written there."""
    import tempfile

    if not output:
        raise UsageError(
            "checking the output path: it is empty",
            hint="give a file name, e.g. -o out.pb.gz",
        )
    from pyprof import outfile

    if outfile.is_special(output):
        return  # -o /dev/null, a FIFO: written directly, see pyprof.outfile
    folder = os.path.dirname(outfile.target(output))
    where = f"checking the output path {output}"
    if os.path.isdir(output):
        raise UsageError(
            f"{where}: it is a folder", hint="give a file name, e.g. -o out.pb.gz"
        )
    if not os.path.isdir(folder):
        cause = "is not a folder" if os.path.exists(folder) else "does not exist"
        raise UsageError(
            f"{where}: {folder} {cause}",
            hint="create the folder first or choose another output path",
        )
    try:
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=".pyprof-probe-")
    except OSError as exc:
        raise UsageError(
            f"{where}: cannot create files in {folder} ({exc.strerror or exc})",
            hint="choose a writable folder for the output",
        ) from None
    probe.close()
