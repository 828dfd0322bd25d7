"""The CPU sampler: Python side of the C core in csrc/.

Where this sits: ``Sampler`` starts the C core (per-thread CPU timers and a
signal handler that writes raw stacks into a lock-free ring), runs a drain
thread that empties the ring every ``drain_interval_s``, and hands the
aggregate to pyprof.builder through ``take()``.

The timers deliver a real-time signal the program leaves alone, not
SIGPROF, so the program's own SIGPROF, SIGALRM, itimers and POSIX timers
work as without pyprof. At each wake the drain thread checks that the
signal is still ours; if the program has installed a handler for it, the C
core moves to another free signal (or stops sampling when none is left)
and a warning says so (see ``_check_signal``).

The drain works in three steps, cheapest first: it groups identical raw
records (thread id, code addresses, instruction offsets) as bytes, then
resolves each distinct code address once to (qualified name, file, first
line) and each distinct (code, offset) to a line, and only then adds the
groups into the aggregate under their resolved frames.

The drain thread stays out of the program's sight: it is started with the
``_thread`` module, so threading.enumerate() and active_count() do not list
it, and it is not running while the process forks (``_before_fork`` ends
it, the parent starts a new one), so os.fork() in a single-threaded program
stays free of CPython's "multi-threaded" DeprecationWarning (3.12 and
later). Limitation: it is still an OS thread with a Python thread state,
so sys._current_frames() and /proc/self/task list it while it runs.
"""

from __future__ import annotations

import _thread
import atexit
import gc
import os
import signal
import struct
import sys
import threading
import time
import types
import weakref
from typing import Callable, Dict, List, Optional, Set, Tuple

from pyprof import _core

Frame = Tuple[str, str, int, int]
Aggregate = Dict[Tuple[str, Tuple[Frame, ...]], List[int]]

_ffi = _core.ffi
_lib = _core.lib

# How often the drain thread wakes. Each wake costs about 0.15 ms of CPU
# (a scan of the interpreter's threads and a drain), whatever the rate: at
# 50 wakes a second that is ~1% of one busy thread, too much beside 100 Hz
# sampling, so low rates wake less often. The ring holds seconds of records
# at either interval (the kernel tick caps a thread at ~250 records/s).
# Limitation: threads that are not `threading` threads (from _thread or C)
# are armed at the next wake, so at low rates one that lives under 100 ms
# may go unsampled.
DRAIN_INTERVAL_S = 0.02
LOW_RATE_HZ = 250
LOW_RATE_DRAIN_INTERVAL_S = 0.1
RING_SLOTS = 4096  # at 10 kHz on 4 busy threads, ~100 ms of headroom
# PYPROF_RING_SLOTS=N (a power of two, 2 or more) sets a smaller ring, so
# that tests can overflow it.
RING_SLOTS_ENV = "PYPROF_RING_SLOTS"
DRAIN_BATCH = 512  # records copied out per C call
MAX_RATE_HZ = 100_000
MAX_THREAD_STATES = 4096
# How long a fork waits for the drain thread to finish its current drain
# and leave the process before forking anyway (a drain takes milliseconds;
# the bound only matters if the drain thread is stuck behind a lock the
# forking thread holds).
FORK_WAIT_S = 1.0

# CPython 3.13 counts the process's threads for its fork warning after the
# after_in_parent fork hooks have run (3.12 counts before them; later
# versions were changed to count before them too), so there a drain thread
# restarted by that hook would be counted. On 3.13 the restart waits for
# the forking thread's next Python event instead (see _restart_later).
_RESTART_AFTER_FORK_RETURNS = sys.version_info[:2] == (3, 13)
_MONITORING_TOOLS = (4, 3)  # sys.monitoring slots no standard tool claims
_TOOL_EVENTS = ()
if _RESTART_AFTER_FORK_RETURNS:
    _TOOL_EVENTS = (sys.monitoring.events.CALL, sys.monitoring.events.PY_START,
                    sys.monitoring.events.PY_RETURN)
# Tools claimed by call_when_fork_returns and not yet released.
_tools_in_use: Set[int] = set()

_HEAD = struct.Struct("<QIiII")  # time_ns, weight, tid, depth, truncated
_KEY_START = 12  # tid, depth, truncated, frames: the aggregation key
_FRAME_SIZE = 16

_ERRORS = {
    _lib.PYPROF_EINVAL: "invalid argument",
    _lib.PYPROF_ENOMEM: "out of memory",
    _lib.PYPROF_EBUSY: "a sampler is already running in this process",
    _lib.PYPROF_ETIMER: "the kernel refused to create a CPU timer",
    _lib.PYPROF_ESIGNAL: "could not install the sampling signal's handler",
    _lib.PYPROF_EFULL: "too many threads to give each a timer",
    _lib.PYPROF_ESTATE: "the sampler is not running",
    _lib.PYPROF_EINUSE: ("per-thread CPU timers are not available here, and "
                         "the fallback needs SIGPROF and ITIMER_PROF, which "
                         "the program uses itself"),
}


def signal_name(signo: int) -> str:
    """SIGPROF, SIGRTMIN+3, ...: how a signal number reads in messages."""
    if signo <= 0:
        return "no signal"
    if signal.SIGRTMIN < signo <= signal.SIGRTMAX:
        return f"SIGRTMIN+{signo - signal.SIGRTMIN}"
    try:
        return signal.Signals(signo).name
    except ValueError:
        return f"signal {signo}"


def _ring_slots() -> int:
    text = os.environ.get(RING_SLOTS_ENV, "")
    if text.isdigit():
        slots = int(text)
        if slots >= 2 and slots & (slots - 1) == 0:
            return slots
    return RING_SLOTS


class SamplerError(Exception):
    """The sampler cannot start: bad rate, already running, no timer."""

    hint: Optional[str] = None


def _busy_error(other: Optional["Sampler"]) -> SamplerError:
    """Why start() is refused while ``other`` runs: a recording, or a live
    CPU profile (pyprof.live) that holds or still uses the sampler."""
    who = ""
    if other is not None:
        who = other.holder or (other.tap_holder if other.released else "")
    if not who:
        return SamplerError("a sampler is already running in this process")
    error = SamplerError(f"{who} is running and holds the sampler")
    error.hint = ("start again once it is over (it ends with its seconds, or "
                  "at once with the server's stop())")
    return error


# The C core is one per process; so is the running sampler.
_running: Optional["Sampler"] = None
_running_lock = threading.Lock()


def _marker(cut: int) -> Frame:
    return (f"[truncated {cut} frames]", "", 0, 0)


# A stack sampled while its thread ran another interpreter than the main
# one is recorded as a single placeholder frame (see csrc/walk.c): that
# interpreter's code objects may be gone by the time the record is read.
# Limitation: frames inside subinterpreters are not resolved; all their
# time or memory goes to this one frame.
SUBINTERP_CODE = int(_lib.PYPROF_CODE_SUBINTERP)
SUBINTERP_FRAME: Frame = ("[subinterpreter]", "", 0, 0)


class _CodeNames:
    """Code object -> (qualified name, filename, first line), cached.

    Entries are keyed by id() and hold a weak reference, so an address
    reused by a new code object after the old one died is a cache miss,
    never a wrong name.

    On 3.9 and 3.10 code objects carry no qualified name; it is recovered
    from the function objects that own them (and, for code nested in a
    function's constants, derived the way the compiler builds it). Finding
    those functions means walking the garbage collector's objects: the
    young generations on every call, the whole heap at most once per
    ``FULL_SCAN_INTERVAL_S`` (or when forced). A code object not found yet
    is reported as unresolved, and its samples wait for the next full scan;
    one not found by a full scan is named by its plain co_name.
    """

    FULL_SCAN_INTERVAL_S = 0.5

    def __init__(self) -> None:
        self._cache: Dict[int, Tuple[weakref.ref, Tuple[str, str, int]]] = {}
        self._last_full_scan = float("-inf")

    def lookup(self, codes: List[types.CodeType], force: bool = False
               ) -> Tuple[Dict[int, Tuple[str, str, int]], Set[int]]:
        """Return ({id(code): info}, ids of codes left unresolved)."""
        found: Dict[int, Tuple[str, str, int]] = {}
        missing: Dict[int, types.CodeType] = {}
        for code in codes:
            hit = self._cache.get(id(code))
            if hit is not None and hit[0]() is code:
                found[id(code)] = hit[1]
            else:
                missing[id(code)] = code
        if not missing:
            return found, set()
        if sys.version_info >= (3, 11):
            names = {key: code.co_qualname for key, code in missing.items()}
            final = True
        else:
            now = time.monotonic()
            final = force or now - self._last_full_scan >= self.FULL_SCAN_INTERVAL_S
            names = _legacy_qualnames(missing, full=final)
            if final:
                self._last_full_scan = now
        unresolved = set()
        for key, code in missing.items():
            if key not in names and not final:
                unresolved.add(key)
                continue
            info = (names.get(key) or code.co_name, code.co_filename,
                    code.co_firstlineno)
            self._cache[key] = (weakref.ref(code, self._forget(key)), info)
            found[key] = info
        return found, unresolved

    def _forget(self, key: int):
        cache = self._cache

        def drop(ref: weakref.ref) -> None:
            hit = cache.get(key)
            if hit is not None and hit[0] is ref:
                del cache[key]

        return drop


_CO_NEWLOCALS = 0x0002


def _child_qualname(parent_qual: str, parent: types.CodeType,
                    child: types.CodeType) -> str:
    # The compiler's rule: inside a function a nested name gets
    # ".<locals>.", inside a class body a ".", at module level nothing.
    if parent.co_name == "<module>" and not parent.co_flags & _CO_NEWLOCALS:
        return child.co_name
    if parent.co_flags & _CO_NEWLOCALS:
        return f"{parent_qual}.<locals>.{child.co_name}"
    return f"{parent_qual}.{child.co_name}"


def _legacy_qualnames(missing: Dict[int, types.CodeType],
                      full: bool) -> Dict[int, str]:
    """Qualified names for code objects on 3.9/3.10 (see _CodeNames); the
    oldest generation (most of the heap) only when ``full``."""
    names: Dict[int, str] = {}
    todo = set(missing)

    def visit(code: types.CodeType, qual: str, depth: int) -> None:
        for const in code.co_consts:
            if type(const) is types.CodeType and depth < 50:
                child_qual = _child_qualname(qual, code, const)
                if id(const) in todo and missing[id(const)] is const:
                    names[id(const)] = child_qual
                    todo.discard(id(const))
                visit(const, child_qual, depth + 1)

    for generation in (0, 1, 2) if full else (0, 1):
        if not todo:
            break
        for obj in gc.get_objects(generation):
            if type(obj) is not types.FunctionType:
                continue
            code = obj.__code__
            qual = obj.__qualname__
            # A decorator may copy another function's __qualname__ onto a
            # wrapper (functools.wraps); trust the name only when its last
            # part is the code's own name.
            if qual.rpartition(".")[2] != code.co_name:
                continue
            key = id(code)
            if key in todo and missing[key] is code:
                names[key] = qual
                todo.discard(key)
            if code.co_consts and todo:
                visit(code, qual, 0)
    return names


class Sampler:
    """Samples the CPU time of every thread that runs Python code.

    One per process at a time. Setting PYPROF_FORCE_ITIMER=1 in the
    environment makes it use the process-wide fallback timer (for tests).

    Limitation: the drain thread's own work is not sampled, so its cost
    (about 1% of the sampled CPU time with four busy threads at 1 kHz; up
    to ~12% on 3.9/3.10 while a program keeps compiling new functions, for
    the qualified-name search) does not appear in profiles.
    Limitation: the kernel checks CPU timers on its tick (often 250 Hz), so
    the CPU a thread uses after its last tick before it ends is not seen; a
    thread living a few milliseconds loses up to one tick of time.
    """

    def __init__(self, rate_hz: int = 100, max_frames: int = 128) -> None:
        if isinstance(rate_hz, bool) or not isinstance(rate_hz, int):
            raise SamplerError(f"rate must be a whole number of Hz, not {rate_hz!r}")
        if not 1 <= rate_hz <= MAX_RATE_HZ:
            raise SamplerError(f"rate must be between 1 and {MAX_RATE_HZ} Hz, "
                               f"not {rate_hz}")
        if isinstance(max_frames, bool) or not isinstance(max_frames, int) \
                or not 4 <= max_frames <= 4096:
            raise SamplerError(f"max_frames must be between 4 and 4096, "
                               f"not {max_frames!r}")
        self.rate_hz = rate_hz
        self.drain_interval_s = (
            LOW_RATE_DRAIN_INTERVAL_S if rate_hz <= LOW_RATE_HZ else DRAIN_INTERVAL_S
        )
        self.max_frames = max_frames
        self.period_ns = 1_000_000_000 // rate_hz
        self.warnings: List[str] = []
        self.stats: dict = {}
        self._force_itimer = bool(os.environ.get("PYPROF_FORCE_ITIMER"))
        # Called by the drain thread after each drain (pyprof record's
        # bootstrap spools samples to disk from here); must not raise.
        self.on_drain: Optional[Callable[[], None]] = None
        # Who runs this sampler when it is not a recording (pyprof.live's
        # own CPU profiles), and who tapped it last; said when another
        # start() is refused.
        self.holder = ""
        self.tap_holder = ""
        # Set when stop() left the sampler running for a tap.
        self.released = False
        self._reset_state()

    def _reset_state(self) -> None:
        self._aggregate: Aggregate = {}
        self._agg_lock = threading.Lock()
        # Extra aggregates that every drain also adds into (see add_tap);
        # guarded by _agg_lock.
        self._taps: List[Aggregate] = []
        self._drain_lock = threading.Lock()  # the ring has one consumer
        # The drain thread: its stop event, a lock it releases as its last
        # step, its _thread ident and a box it puts its kernel tid in. Event
        # and lock are None, the ident 0, while no drain thread runs
        # (stopped, or ended for a fork).
        self._drain_ctl = threading.Lock()  # starts and stops of the thread
        self._drain_stop: Optional[threading.Event] = None
        self._drain_done = None
        self._drain_ident = 0
        self._drain_box: List[int] = [0]
        self._running = False
        self._stopping = False
        self._armed: Dict[int, Set[int]] = {}  # tid -> thread-state ids
        self._threads_lock = threading.Lock()  # _armed, _ever_armed, names
        self._ever_armed: Set[int] = set()
        self._drain_tid = 0
        self._thread_names: Dict[int, str] = {}
        # In a fork child: (the forking thread's threading.Thread, its tid
        # here). threading keeps that thread's native_id from the parent
        # (only multiprocessing sets it anew), so scans name it by this tid.
        self._forked_thread: Optional[Tuple[threading.Thread, int]] = None
        self._codes = _CodeNames()
        # Resolved samples waiting for a qualified name (3.9/3.10 only):
        # (tid, cut, [(code object, line)], [samples, periods]).
        self._pending: List[tuple] = []
        self._samples = 0
        self._periods = 0
        self._empty = 0
        # Per thread, where its latest sample was credited: ("agg", key of
        # the aggregate) or ("group", counts of a group still waiting for
        # names). A thread's next sample gives part of its weight there
        # (see _read_ring).
        self._last_stack: Dict[int, tuple] = {}
        self._buffer = None
        self._record_size = 0
        self._update_stats()

    # ---- lifecycle ------------------------------------------------------

    def start(self) -> None:
        """Arm timers on every Python thread and start the drain thread."""
        global _running
        with _running_lock:
            if self._running or _running is not None:
                raise _busy_error(_running)
            _lib.pyprof_codes_enable()
            rc = _lib.pyprof_sampler_start(self.rate_hz, self.max_frames,
                                           _ring_slots(), int(self._force_itimer))
            if rc != 0:
                raise SamplerError(f"cannot start sampling: {_ERRORS.get(rc, rc)}")
            _running = self
            self._running = True
        self.warnings = []
        self.released = False
        self._samples = self._periods = self._empty = 0
        self._last_stack = {}
        self._armed = {}  # the C core deleted every timer at the last stop
        self._ever_armed = set()
        self._drain_tid = 0
        self._record_size = _lib.pyprof_sampler_record_size()
        self._buffer = _ffi.new("char[]", self._record_size * DRAIN_BATCH)
        stats = _ffi.new("pyprof_stats *")
        _lib.pyprof_sampler_get_stats(stats)
        self._signo = stats.signo
        self._itimer = stats.timer == _lib.PYPROF_TIMER_ITIMER
        self._started_at = time.monotonic()
        if stats.timer == _lib.PYPROF_TIMER_ITIMER:
            self.warnings.append(
                "per-thread CPU timers are not available here; sampling with "
                "one process-wide timer (ITIMER_PROF), so the kernel picks "
                "which busy thread each sample lands on")
        self._stopping = False
        self._install_thread_hook()
        self._scan_threads()
        with self._drain_ctl:
            self._start_drain_thread()

    def stop(self, force: bool = False) -> None:
        """Disarm every timer and drain what is left; safe to call twice.

        While a tap is collecting (a live profile from pyprof.live), the
        sampler only lets its owner go: what was sampled so far is drained
        for take(), and sampling goes on for the tap until the last
        remove_tap() stops it (``force`` stops it at once).
        """
        global _running
        if not self._running:
            return
        if not force:
            with self._agg_lock:
                tapped = bool(self._taps)
            if tapped:
                self._drain(final=True)
                self.released = True
                self._warn_rate()
                return
        with self._drain_ctl:
            self._stopping = True  # no fork hook restarts the drain thread
            leaving = self._stop_drain_thread()
            if leaving:
                # A fork right after stop() must not see it either.
                _wait_until_gone(leaving, time.monotonic() + FORK_WAIT_S)
        self._remove_thread_hook()
        _lib.pyprof_sampler_stop()
        self._drain(final=True)
        with _running_lock:
            self._running = False
            if _running is self:
                _running = None
        self._warn_rate()

    def add_tap(self, holder: str = "") -> Aggregate:
        """Start a second aggregate that collects from now on, beside the
        main one, until remove_tap(); what take() returns is unchanged.

        A live profile request (pyprof.live) uses one to get the samples
        of the next N seconds without stopping a recording in progress.
        ``holder`` names it in the error of a start() refused while the
        sampler runs for taps only.
        """
        self.tap_holder = holder
        self._drain()  # what is in the ring now belongs to the past
        tap: Aggregate = {}
        with self._agg_lock:
            self._taps.append(tap)
        return tap

    def remove_tap(self, tap: Aggregate) -> Aggregate:
        """Drain what the ring holds, stop adding into tap, return it.

        The drain is final: samples of code still waiting for a name
        (3.9/3.10) are named now, so that the tap has them too.
        """
        if self._running:
            self._drain(final=True)
        with self._agg_lock:
            self._taps = [t for t in self._taps if t is not tap]
            last = not self._taps
        if last and self.released:
            self.stop(force=True)  # its owner stopped it meanwhile
        return tap

    def take(self, final: bool = True) -> Aggregate:
        """Return the aggregate so far and start a new one.

        With ``final`` False, samples still waiting for a qualified name
        (3.9/3.10) stay for a later take instead of forcing a search.
        """
        self._drain(final=final)
        with self._agg_lock:
            aggregate, self._aggregate = self._aggregate, {}
        self._update_stats()
        return aggregate

    # ---- threads ----------------------------------------------------------

    def _install_thread_hook(self) -> None:
        """Arm threading threads the moment they start, not at the next scan.

        threading.setprofile() hands a profile function to every thread
        started from now on; ours runs once, on the new thread's first
        Python event, arms its timer, notes its name and puts the previous
        thread profile function (normally None) in its place.
        """
        previous = getattr(threading, "_profile_hook", None)
        self._previous_thread_hook = previous

        def first_event(frame, event, arg):
            sys.setprofile(previous)
            if self._running:
                self._arm_current_thread()

        self._thread_hook = first_event
        threading.setprofile(first_event)

    def _remove_thread_hook(self) -> None:
        hook = getattr(self, "_thread_hook", None)
        if hook is not None and getattr(threading, "_profile_hook", None) is hook:
            threading.setprofile(self._previous_thread_hook)

    def _arm_current_thread(self) -> None:
        tid = _lib.pyprof_gettid()
        with self._threads_lock:
            self._thread_names[tid] = threading.current_thread().name
            if tid == self._drain_tid:
                return
            self._last_stack.pop(tid, None)  # a new thread: no sample yet
            if tid in self._armed:
                # This thread has just started, so a timer already filed
                # under its tid belongs to an earlier thread that had the
                # same id, or was made a moment ago by a scan: renew it.
                _lib.pyprof_thread_disarm(tid)
                del self._armed[tid]
            if _lib.pyprof_thread_arm(tid) == 0:
                # The thread-state id is learnt at the next scan; an empty
                # set there means "same thread, keep the timer".
                self._armed[tid] = set()
                self._ever_armed.add(tid)

    def _scan_threads(self) -> None:
        """Arm timers for new Python threads, delete those of gone ones."""
        ids = _ffi.new("uint64_t[]", MAX_THREAD_STATES)
        tids = _ffi.new("int32_t[]", MAX_THREAD_STATES)
        n = _lib.pyprof_threads_list(ids, tids, MAX_THREAD_STATES)
        present: Dict[int, Set[int]] = {}
        for i in range(n):
            if tids[i] > 0 and tids[i] != self._drain_tid:
                present.setdefault(tids[i], set()).add(ids[i])
        with self._threads_lock:
            for tid, states in present.items():
                old = self._armed.get(tid)
                if old is not None and (not old or old & states):
                    self._armed[tid] = states
                    continue
                if old is not None:
                    # Same tid, all-new thread states: the kernel reused the
                    # id for a new thread, whose CPU clock the old timer
                    # does not follow.
                    _lib.pyprof_thread_disarm(tid)
                # A refusal means the thread ended since the list was made.
                if _lib.pyprof_thread_arm(tid) == 0:
                    self._armed[tid] = states
                    self._ever_armed.add(tid)
            for tid in [t for t in self._armed if t not in present]:
                if self._armed[tid]:  # armed by the hook: not listed yet?
                    _lib.pyprof_thread_disarm(tid)
                    del self._armed[tid]
                else:
                    self._armed[tid] = {-1}  # gone at the next scan
            forked = self._forked_thread
            for thread in threading.enumerate():
                native = getattr(thread, "native_id", None)
                if forked is not None and thread is forked[0]:
                    native = forked[1]
                if native:
                    self._thread_names[native] = thread.name

    # ---- the drain thread -------------------------------------------------

    def _start_drain_thread(self) -> None:
        """Start a drain thread; the caller holds _drain_ctl.

        _thread rather than threading: the program's threading.enumerate()
        and active_count() stay as they are without pyprof. Nothing here
        needs threading's bookkeeping: stop() waits on our own lock, and
        the interpreter never waits for a _thread thread at exit (atexit
        stops this one before that).
        """
        stop = threading.Event()
        done = _thread.allocate_lock()
        done.acquire()
        box = [0]
        self._drain_stop, self._drain_done, self._drain_box = stop, done, box
        self._drain_ident = _thread.start_new_thread(
            self._drain_loop, (stop, done, box))

    def _stop_drain_thread(self, timeout: float = -1) -> int:
        """End the drain thread and wait until its loop is over; the caller
        holds _drain_ctl.

        Returns the kernel tid of the thread, now on its way out, or 0 when
        none ran, when ``timeout`` passed first or when called from the
        drain thread itself. What the ring still holds is drained by the
        next drain thread or by stop().
        """
        stop, done, box = self._drain_stop, self._drain_done, self._drain_box
        if stop is None:
            return 0
        stop.set()
        itself = _thread.get_ident() == self._drain_ident
        # Cleared now: the ident may be reused by a thread of the program.
        self._drain_stop = self._drain_done = None
        self._drain_ident = 0
        if itself or not done.acquire(True, timeout):
            return 0
        return box[0]

    def _drain_loop(self, stop: threading.Event, done, box: List[int]) -> None:
        # pyprof's own work: kept out of the heap profile too (first, so
        # that the int below is not sampled either).
        _lib.pyprof_mem_ignore_thread(1)
        tid = box[0] = _lib.pyprof_gettid()
        # Signals sent to the process go to the program's threads, never
        # here: a Python handler runs on the main thread only, and a signal
        # this thread took would not interrupt a main thread blocked in a
        # lock or a read (a multiprocessing worker waiting for work would
        # miss the pool's SIGTERM and hang its join).
        signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        try:
            with self._threads_lock:
                self._drain_tid = tid
                if tid in self._armed:
                    _lib.pyprof_thread_disarm(tid)
                    del self._armed[tid]
            while not stop.wait(self.drain_interval_s):
                self._check_signal()
                self._scan_threads()
                self._drain()
                hook = self.on_drain
                if hook is not None:
                    hook()
        finally:
            with self._threads_lock:
                if self._drain_tid == tid:
                    # The kernel may give this id to a new thread, which
                    # must then be sampled.
                    self._drain_tid = 0
            done.release()

    def _check_signal(self) -> None:
        """Leave our signal to the program if it has installed a handler
        for it since the last wake (see pyprof_sampler_check in C).

        Limitation: timer signals the kernel sends between the program's
        sigaction and this check (at most one drain interval, 20 ms, or
        100 ms at 250 Hz and below) reach the program's new handler.
        """
        old = self._signo
        rc = _lib.pyprof_sampler_check()
        if rc == 0:
            return
        took = (f"the program installed its own handler for "
                f"{signal_name(old)}, the signal pyprof sampled with")
        if rc > 0:
            self._signo = rc
            self.warnings.append(f"{took}; pyprof moved to {signal_name(rc)}")
        else:
            self._signo = 0
            elapsed = time.monotonic() - self._started_at
            if old == signal.SIGPROF and self._itimer:
                why = "the process-wide fallback timer has no other signal"
            else:
                why = "no free signal was left"
            self.warnings.append(
                f"{took}, and {why}: sampling stopped {elapsed:.1f}s into "
                f"the recording, so the profile covers only that part")

    # ---- fork -------------------------------------------------------------

    def _pause_for_fork(self) -> None:
        """Before a fork: end the drain thread and wait until the kernel
        no longer lists it, so the fork sees only the program's threads."""
        if _thread.get_ident() == self._drain_ident:
            return  # a finalizer run by the drain thread forks
        deadline = time.monotonic() + FORK_WAIT_S
        # Timeouts, not plain waits: this runs inside os.fork(), perhaps in
        # a signal handler that interrupted stop() on this very thread.
        if not self._drain_ctl.acquire(True, FORK_WAIT_S):
            return
        try:
            leaving = self._stop_drain_thread(timeout=FORK_WAIT_S)
        finally:
            self._drain_ctl.release()
        if leaving:
            _wait_until_gone(leaving, deadline)

    def _resume_after_fork(self, caller: Optional[types.FrameType]) -> None:
        """After a fork, in the parent: start a new drain thread (on 3.13
        only once os.fork() has returned to ``caller``)."""
        if not (_RESTART_AFTER_FORK_RETURNS and caller is not None
                and self._restart_later(caller)):
            self._restart_drain_thread()

    def _restart_drain_thread(self) -> None:
        if not self._drain_ctl.acquire(True, FORK_WAIT_S):
            return
        try:
            if self._running and not self._stopping and self._drain_stop is None:
                self._start_drain_thread()
        except RuntimeError:
            # No thread to be had (a limit on threads): stop() drains the
            # ring instead; the fork itself, or the program's next call,
            # must not fail for it.
            self._drain_stop = self._drain_done = None
        finally:
            self._drain_ctl.release()

    def _restart_later(self, caller: types.FrameType) -> bool:
        """Restart the drain thread at the forking thread's first call or
        return after os.fork() has returned; False if that cannot be
        arranged (then the caller restarts it at once).

        Limitation: on 3.13 a thread that forks and then never calls or
        returns again leaves the drain thread stopped, so samples wait in
        the ring (up to RING_SLOTS, then counted as dropped) until stop().
        """
        return call_when_fork_returns(caller, self._restart_drain_thread)

    # ---- draining -----------------------------------------------------------

    def _drain(self, final: bool = False) -> None:
        """Move what the ring holds into the aggregate; ``final`` also
        settles every sample still waiting for a name."""
        with self._drain_lock:
            # Code objects parked before this point are named only by
            # records already in the ring, which this drain resolves.
            parked = _lib.pyprof_codes_parked()
            groups, last, carry = self._read_ring()
            if groups or self._pending or last:
                self._resolve_into_aggregate(groups, final, last, carry)
            _lib.pyprof_codes_release(parked)

    def _read_ring(self) -> Tuple[Dict[bytes, List[int]],
                                  Dict[int, Optional[bytes]],
                                  Dict[int, List]]:
        """Group raw records by stack bytes: {key: [samples, periods]}.

        A sample's weight (1 + timer overruns) is the thread's CPU time
        since its previous sample, and the kernel notices an expired CPU
        timer only on a tick that finds the thread running. On a busy
        machine the scheduler can run a thread between ticks for tens of
        milliseconds, so one signal may carry 20-50 periods, spent in code
        the profiler never saw. Crediting all of them to the stack the
        signal lands on piles a whole gap onto one function (or misses
        one that ran only inside the gap). Instead the gap is shared:
        half to the thread's previous sample's stack, half to this one
        (the trapezoid rule). When both stacks are the same nothing
        changes; when they differ, the boundary lies somewhere in the gap
        and halves are the expected split. Totals are unchanged, and a
        weight of 1 (no overrun) is never split.

        Also returns, per thread seen, the key of its last record (None
        when that record had no Python frame), and the shares owed to the
        stacks of samples taken in earlier drains: {tid: [periods, key of
        the record that owes them]}.
        """
        groups: Dict[bytes, List[int]] = {}
        last: Dict[int, Optional[bytes]] = {}
        carry: Dict[int, List] = {}
        if self._buffer is None:  # never started
            return groups, last, carry
        size = self._record_size
        view = _ffi.buffer(self._buffer)
        while True:
            n = _lib.pyprof_sampler_drain(self._buffer, DRAIN_BATCH)
            for i in range(n):
                offset = i * size
                _, weight, tid, depth, _ = _HEAD.unpack_from(view, offset)
                if depth == 0:
                    self._empty += 1
                    last[tid] = None  # no Python stack to share a gap with
                    continue
                key = view[offset + _KEY_START:offset + 24 + _FRAME_SIZE * depth]
                share = weight // 2
                if share:
                    if tid in last:
                        previous = last[tid]
                        if previous is not None:
                            groups[previous][1] += share
                            weight -= share
                    elif tid in self._last_stack:
                        carry[tid] = [share, key]
                        weight -= share
                group = groups.get(key)
                if group is None:
                    groups[key] = [1, weight]
                else:
                    group[0] += 1
                    group[1] += weight
                last[tid] = key
            if n < DRAIN_BATCH:
                return groups, last, carry

    def _resolve_into_aggregate(self, groups: Dict[bytes, List[int]],
                                final: bool,
                                last: Dict[int, Optional[bytes]],
                                carry: Dict[int, List]) -> None:
        # Shares owed to stacks sampled in earlier drains (see _read_ring).
        for tid, (share, key) in carry.items():
            target = self._last_stack.get(tid)
            if target is None:  # the thread was replaced meanwhile
                groups[key][1] += share
            elif target[0] == "group":
                target[1][1] += share  # still waiting for names
            else:
                with self._agg_lock:
                    for aggregate in (self._aggregate, *self._taps):
                        entry = aggregate.get(target[1])
                        if entry is None:
                            aggregate[target[1]] = [0, share]
                        else:
                            entry[1] += share
                    self._periods += share
        # Distinct (code address, offset) pairs across all groups.
        decoded = []
        pairs: Dict[Tuple[int, int], int] = {}
        for key, counts in groups.items():
            tid, depth, cut = struct.unpack_from("<iII", key, 0)
            raw = struct.unpack_from("<" + "Qii" * depth, key, 12)
            frames = [(raw[3 * j], raw[3 * j + 1]) for j in range(depth)]
            if frames[0][0] == SUBINTERP_CODE:
                decoded.append((tid, 0, None, counts))
                continue
            for pair in frames:
                pairs.setdefault(pair, len(pairs))
            decoded.append((tid, cut, frames, counts))

        # Addresses -> code objects (strong references from here on) and
        # offsets -> lines, in C with the GIL. Valid: every address comes
        # from a record drained just now, and its code object is alive or
        # parked until pyprof_codes_release.
        n = len(pairs)
        codes = _ffi.new("void *[]", n)
        instrs = _ffi.new("int32_t[]", n)
        lines = _ffi.new("int32_t[]", n)
        for (address, instr), index in pairs.items():
            codes[index] = _ffi.cast("void *", address)
            instrs[index] = instr
        objects: Dict[int, types.CodeType] = {}
        if n and _lib.pyprof_codes_resolve(_ffi.cast("void *", id(objects)),
                                           codes, instrs, lines, n) != 0:
            raise MemoryError("pyprof: resolving sampled code objects")
        ready = self._pending
        self._pending = []
        for tid, cut, frames, counts in decoded:
            if frames is None:
                ready.append((tid, 0, None, counts))
                continue
            located = [(objects[address], lines[pairs[(address, instr)]])
                       for address, instr in frames]
            ready.append((tid, cut, located, counts))
        del objects

        all_codes = {id(code): code for group in ready if group[2] is not None
                     for code, _ in group[2]}
        info, unresolved = self._codes.lookup(list(all_codes.values()), force=final)
        half = self.max_frames // 2
        placed: Dict[int, tuple] = {}  # id(counts) -> where they went
        with self._agg_lock:
            for group in ready:
                tid, cut, located, (samples, periods) = group
                if located is None:
                    stack = (SUBINTERP_FRAME,)
                elif unresolved and any(id(code) in unresolved
                                        for code, _ in located):
                    self._pending.append(group)  # named at a later drain
                    placed[id(group[3])] = ("group", group[3])
                    continue
                else:
                    stack = tuple(info[id(code)] + (line,) for code, line in located)
                if cut:
                    stack = stack[:half] + (_marker(cut),) + stack[half:]
                thread = self._thread_names.get(tid) or f"thread-{tid}"
                entry = self._aggregate.get((thread, stack))
                if entry is None:
                    self._aggregate[(thread, stack)] = [samples, periods]
                else:
                    entry[0] += samples
                    entry[1] += periods
                for tap in self._taps:
                    entry = tap.get((thread, stack))
                    if entry is None:
                        tap[(thread, stack)] = [samples, periods]
                    else:
                        entry[0] += samples
                        entry[1] += periods
                self._samples += samples
                self._periods += periods
                placed[id(group[3])] = ("agg", (thread, stack))
        # Where each thread's latest sample now sits; a stack placed from
        # the pending list moves from "group" to "agg".
        for tid, target in list(self._last_stack.items()):
            if target[0] == "group" and id(target[1]) in placed:
                self._last_stack[tid] = placed[id(target[1])]
        for tid, key in last.items():
            if key is None:
                self._last_stack.pop(tid, None)
            else:
                self._last_stack[tid] = placed[id(groups[key])]

    # ---- statistics ---------------------------------------------------------

    def _update_stats(self) -> None:
        c = _ffi.new("pyprof_stats *")
        _lib.pyprof_sampler_get_stats(c)
        if self._periods:
            effective = self.rate_hz * self._samples / self._periods
        else:
            effective = float(self.rate_hz) if not self._samples else 0.0
        timer = {_lib.PYPROF_TIMER_THREAD_CPU: "thread-cpu",
                 _lib.PYPROF_TIMER_ITIMER: "itimer"}.get(c.timer, "none")
        self.stats = {
            "samples": self._samples,
            "periods": self._periods,
            "dropped": int(c.dropped),
            "truncated": int(c.truncated),
            "bad_frames": int(c.bad_frames),
            "timer": timer,
            "requested_hz": self.rate_hz,
            "effective_hz": round(effective, 1),
            "threads": len(getattr(self, "_ever_armed", ())),
            "signal": signal_name(c.signo) if c.timer else "none",
        }

    def _warn_rate(self) -> None:
        self._update_stats()
        stats = self.stats
        if stats["dropped"]:
            self.warnings.append(
                f"{stats['dropped']} samples were dropped because the sample "
                f"buffer was full; a lower rate (now {self.rate_hz} Hz) avoids it")
        if stats["samples"] >= 20 and stats["effective_hz"] < 0.8 * self.rate_hz:
            self.warnings.append(
                f"sampling at ~{stats['effective_hz']:.0f} Hz, below the "
                f"{self.rate_hz} Hz asked for: the kernel checks CPU timers on "
                f"its own tick, and only on ticks that find the thread running "
                f"(rarer on a busy machine); CPU time is still counted in full "
                f"(timer overruns weight each sample), but fewer samples mean "
                f"coarser shares")


def _wait_until_gone(tid: int, deadline: float) -> None:
    """Wait until kernel thread ``tid`` has exited, or ``deadline``.

    A drain thread whose loop is over still has to leave Python and exit;
    until then CPython's fork warning counts it (it reads the number of
    threads from /proc/self/stat).
    """
    task = f"/proc/self/task/{tid}"
    while os.path.exists(task) and time.monotonic() < deadline:
        time.sleep(0.0001)


def call_when_fork_returns(caller: types.FrameType, callback: Callable[[], None],
                           name: str = "pyprof") -> bool:
    """Call callback() at the forking thread's first call or return after
    os.fork() has returned, from an after_in_parent fork hook whose
    os.fork() was called by ``caller``; False when no monitoring slot is
    free (3.13 only: earlier versions have no sys.monitoring).

    This listens with a sys.monitoring tool of its own, so the program's
    profile and trace functions and its own monitoring tools are left
    alone. Until fork returns, the only events are those of other fork
    hooks, which run in new frames while ``caller`` still waits on the same
    instruction; once it returns, the next event is in ``caller`` itself or
    in a function it calls after moving on. A forked child releases every
    such tool (its callbacks belong to the parent).
    """
    monitoring = sys.monitoring
    tool = next((t for t in _MONITORING_TOOLS
                 if monitoring.get_tool(t) is None), None)
    if tool is None:
        return False
    monitoring.use_tool_id(tool, name)
    position = caller.f_lasti
    forking = _thread.get_ident()

    # Bound now: the events of other threads may come in while the
    # interpreter tears this module down.
    def on_event(*args, get_ident=_thread.get_ident, frame_of=sys._getframe):
        if get_ident() != forking:
            return
        frame = frame_of(1)
        if frame is not caller and caller.f_lasti == position:
            return  # still inside os.fork(): another fork hook
        _release_tool(tool)
        callback()

    for event in _TOOL_EVENTS:
        monitoring.register_callback(tool, event, on_event)
    monitoring.set_events(tool, sum(_TOOL_EVENTS))
    _tools_in_use.add(tool)
    return True


def _release_tool(tool: int) -> None:
    if tool in _tools_in_use:
        _tools_in_use.discard(tool)
        sys.monitoring.set_events(tool, 0)
        for event in _TOOL_EVENTS:
            sys.monitoring.register_callback(tool, event, None)
        sys.monitoring.free_tool_id(tool)


def _stop_at_exit() -> None:
    # Before the interpreter frees thread states, so no late signal reads
    # freed memory.
    sampler = _running
    if sampler is not None:
        sampler.stop(force=True)
    for tool in list(_tools_in_use):
        _release_tool(tool)


def _before_fork() -> None:
    sampler = _running
    if sampler is not None:
        sampler._pause_for_fork()


def _after_fork_in_parent() -> None:
    sampler = _running
    if sampler is not None:
        # The frame that called os.fork() (fork hooks are called from C);
        # none when C code forked with no Python frame below it.
        try:
            caller = sys._getframe(1)
        except ValueError:
            caller = None
        sampler._resume_after_fork(caller)


def _after_fork_in_child() -> None:
    # The child inherits no timers and no drain thread (the C core stopped
    # itself in its own fork hook, and _before_fork ended the drain thread);
    # what was sampled belongs to the parent.
    global _running, _running_lock
    # A restart another thread of the parent was waiting for has no
    # thread to happen on here.
    for tool in list(_tools_in_use):
        _release_tool(tool)
    sampler = _running
    _running = None
    _running_lock = threading.Lock()
    if sampler is not None:
        sampler._remove_thread_hook()
        sampler._reset_state()
        # The thread that forked is the child's one thread, under a new tid.
        current = threading.current_thread()
        tid = _lib.pyprof_gettid()
        sampler._forked_thread = (current, tid)
        sampler._thread_names[tid] = current.name
        hook = _fork_child_hook
        if hook is not None:
            hook(sampler)


# Called in a fork child with the parent's sampler, stopped and emptied,
# when one was running; pyprof record's bootstrap starts it again there so
# that the child samples itself. Must not raise.
_fork_child_hook: Optional[Callable[["Sampler"], None]] = None


def set_fork_child_hook(hook: Optional[Callable[["Sampler"], None]]) -> None:
    """Run hook(sampler) in the child after each fork of a sampled process."""
    global _fork_child_hook
    _fork_child_hook = hook


atexit.register(_stop_at_exit)
os.register_at_fork(before=_before_fork,
                    after_in_parent=_after_fork_in_parent,
                    after_in_child=_after_fork_in_child)
