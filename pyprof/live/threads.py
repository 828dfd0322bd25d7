"""Every thread's current stack: the `threads` (alias `goroutine`) endpoint.

A snapshot is taken from ``sys._current_frames()`` and
``threading.enumerate()``. Each thread gets a name, its daemon flag and a
state in words, read from two places: the kernel's scheduler state in
/proc/self/task/<tid>/stat (running, or sleeping) and the call the
thread's innermost Python frame is executing (``lock.acquire``,
``time.sleep``), so that a dump reads "blocked in waiter.acquire".

Three forms, as Go's goroutine endpoint offers them:

* a pprof profile (sample type ``goroutine``/``count``, the name Go's
  tools know), one sample per thread labelled ``thread`` and ``state``;
* ``debug=1``: text with identical stacks grouped and counted;
* ``debug=2``: every thread in full, with its name and state, innermost
  frame first, in the spirit of Go's full goroutine dump.

Limitation: the state is the best reading of a moment, not a fact. A
thread the kernel shows as sleeping outside any call is waiting for the
GIL; a thread that is not a ``threading`` thread has no kernel id here,
so only its call, not its scheduler state, is known.
"""

from __future__ import annotations

import dataclasses
import dis
import linecache
import re
import sys
import threading
import time
from typing import Dict
from typing import List
from typing import Optional
from typing import Tuple

Frame = Tuple[str, str, int, int]  # (qualified name, file, first line, line)

# The innermost instruction of a thread that is inside a call, per version.
_CALL_OPS = {name for name in dis.opname if name.startswith(("CALL", "PRECALL"))}
# Entering a `with` block calls the context manager's __enter__.
_WITH_OPS = {"BEFORE_WITH", "SETUP_WITH", "SETUP_ASYNC_WITH", "BEFORE_ASYNC_WITH"}
_WITH_STATEMENT = re.compile(r"(?:async\s+)?with\s+(.+?)(?:\s+as\s+[^:]+)?:", re.S)
_CALLEE = re.compile(r"([A-Za-z_][\w.]*)\s*\(")
_MAX_CALL_TEXT = 60

_SCHEDULER_STATES = {
    "R": "running",
    "S": "sleeping",
    "D": "in uninterruptible wait",
    "T": "stopped",
    "t": "stopped by a tracer",
    "Z": "exiting",
    "X": "exiting",
}


@dataclasses.dataclass
class ThreadStack:
    """One thread at the moment of the snapshot."""

    ident: int  # threading.get_ident()
    native_id: Optional[int]  # the kernel's thread id, when known
    name: str
    daemon: Optional[bool]  # None for threads threading does not know
    state: str
    frames: List[Frame]  # innermost first


class _Names:
    """Qualified names of code objects: co_qualname on 3.11 and later; on
    3.9 and 3.10 the sampler's search of the functions that own the code,
    so that names read the same as in CPU profiles."""

    def __init__(self) -> None:
        self._legacy = None

    def of(self, codes) -> Dict[int, Tuple[str, str, int]]:
        if sys.version_info >= (3, 11):
            return {id(c): (c.co_qualname, c.co_filename, c.co_firstlineno)
                    for c in codes}
        if self._legacy is None:
            from pyprof._sampler import _CodeNames

            self._legacy = _CodeNames()
        found, _ = self._legacy.lookup(list(codes), force=True)
        return found


_names = _Names()
_names_lock = threading.Lock()


def snapshot() -> List[ThreadStack]:
    """Every Python thread of the process but pyprof's drain thread,
    ordered as threading.enumerate() lists them, then the others."""
    frames = sys._current_frames()
    current = threading.get_ident()
    hidden = _hidden_idents()
    known = {t.ident: t for t in threading.enumerate() if t.ident is not None}
    order = [i for i in known if i in frames]
    order += sorted(i for i in frames if i not in known)

    raw = []
    codes = {}
    for ident in order:
        if ident in hidden:
            continue
        stack = []
        frame = frames[ident]
        while frame is not None:
            stack.append(frame)
            codes[id(frame.f_code)] = frame.f_code
            frame = frame.f_back
        raw.append((ident, stack))
    with _names_lock:
        info = _names.of(codes.values())

    server = sys.modules.get("pyprof.live.server")
    own = dict(getattr(server, "own_threads", {}))
    threads = []
    for ident, stack in raw:
        thread = known.get(ident)
        native = getattr(thread, "native_id", None) if thread else None
        if thread is not None:
            name, daemon = thread.name, thread.daemon
        elif ident in own:  # pyprof's server: daemon threads of _thread
            (name, native), daemon = own[ident], True
        else:
            name, daemon = f"thread-{ident}", None
        resolved = []
        for frame in stack:
            code = frame.f_code
            qual, filename, first = info.get(
                id(code), (code.co_name, code.co_filename, code.co_firstlineno))
            resolved.append((qual, filename, first, frame.f_lineno or 0))
        state = _state(ident == current, native, stack[0] if stack else None)
        threads.append(ThreadStack(ident, native, name, daemon, state, resolved))
    del frames, raw
    return threads


def _hidden_idents() -> set:
    """pyprof's own drain thread, which the program never sees either."""
    sampler_module = sys.modules.get("pyprof._sampler")
    sampler = getattr(sampler_module, "_running", None)
    ident = getattr(sampler, "_drain_ident", 0)
    return {ident} if ident else set()


def _state(is_current: bool, native_id: Optional[int], frame) -> str:
    """The thread's state in words: "running", "blocked in lock.acquire"..."""
    if is_current:
        return "running"
    scheduler = _scheduler_state(native_id) if native_id else None
    call = _current_call(frame) if frame is not None else None
    if scheduler is None:
        return f"in {call}" if call else "unknown"
    if scheduler == "R":
        return f"running in {call}" if call else "running"
    if scheduler in ("S", "D"):
        if call:
            return f"blocked in {call}"
        return "waiting for the GIL"
    return _SCHEDULER_STATES.get(scheduler, f"state {scheduler}")


def _scheduler_state(native_id: int) -> Optional[str]:
    """The one-letter state of a thread of this process, from /proc."""
    try:
        with open(f"/proc/self/task/{native_id}/stat", "rb") as src:
            text = src.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name is in parentheses and may itself hold them.
    rest = text[text.rfind(")") + 1:].split()
    return rest[0] if rest else None


def _current_call(frame) -> Optional[str]:
    """The function the frame is calling right now (text of its source,
    such as ``self._lock.acquire``), or None when it is not in a call."""
    code = frame.f_code
    lasti = frame.f_lasti
    raw = code.co_code
    if lasti < 0 or lasti >= len(raw):
        return None
    opname = dis.opname[raw[lasti]]
    entering = opname in _WITH_OPS
    if opname not in _CALL_OPS and not entering:
        return None
    text = None
    if sys.version_info >= (3, 11):
        text = _call_source(code, lasti, entering)
    if text is None:
        # No column positions (3.9, 3.10): the last call on the line, or
        # the context expression of a `with` on it.
        line = linecache.getline(code.co_filename, frame.f_lineno or 0).strip()
        statement = _WITH_STATEMENT.match(line) if entering else None
        if statement:
            text = statement.group(1).strip() + ".__enter__"
        else:
            found = _CALLEE.findall(line)
            text = found[-1] if found else None
    if not text:
        return None
    text = " ".join(text.split())
    return text if len(text) <= _MAX_CALL_TEXT else text[:_MAX_CALL_TEXT - 3] + "..."


def _call_source(code, lasti: int, entering: bool) -> Optional[str]:
    """The callee's text from the call instruction's source positions."""
    try:
        positions = list(code.co_positions())
        line, end_line, col, end_col = positions[lasti // 2]
    except (IndexError, ValueError):
        return None
    if None in (line, end_line, col, end_col):
        return None
    lines = [linecache.getline(code.co_filename, n) for n in range(line, end_line + 1)]
    if not any(lines):
        return None
    # Columns are byte offsets into UTF-8 lines.
    encoded = [x.encode("utf-8") for x in lines]
    if len(encoded) == 1:
        source = encoded[0][col:end_col]
    else:
        source = encoded[0][col:] + b"".join(encoded[1:-1]) + encoded[-1][:end_col]
    text = source.decode("utf-8", "replace").strip()
    if entering:
        # 3.11 points at the whole statement, later versions at the
        # context expression.
        statement = _WITH_STATEMENT.match(text)
        if statement:
            text = statement.group(1).strip()
        return f"{text}.__enter__" if text else None
    return _callee_of(text)


def _callee_of(call: str) -> Optional[str]:
    """``a.b(c, d(e))`` -> ``a.b``: the text before the last argument list."""
    if not call.endswith(")"):
        return None
    depth = 0
    for pos in range(len(call) - 1, -1, -1):
        char = call[pos]
        if char == ")":
            depth += 1
        elif char == "(":
            depth -= 1
            if depth == 0:
                callee = call[:pos].strip()
                return callee or None
    return None


# ---- the three forms -----------------------------------------------------


def build_profile(threads: List[ThreadStack], main_file: str = "",
                  comments: Tuple[str, ...] = ()):
    """A pprof profile with one sample of value 1 per thread."""
    from pyprof._proto import profile_pb2
    from pyprof.builder import MAPPING_ID
    from pyprof.builder import _Tables

    profile = profile_pb2.Profile()
    tables = _Tables(profile)
    count = profile_pb2.ValueType(type=tables.string("goroutine"),
                                  unit=tables.string("count"))
    profile.sample_type.append(count)
    profile.period_type.CopyFrom(count)
    profile.period = 1
    profile.time_nanos = time.time_ns()
    profile.mapping.add(id=MAPPING_ID, filename=tables.string(main_file),
                        has_functions=True, has_filenames=True,
                        has_line_numbers=True)
    thread_key = tables.string("thread")
    state_key = tables.string("state")
    for thread in threads:
        sample = profile.sample.add(
            location_id=[tables.location(f) for f in thread.frames], value=[1])
        sample.label.add(key=thread_key, str=tables.string(thread.name))
        sample.label.add(key=state_key, str=tables.string(thread.state))
    for comment in comments:
        profile.comment.append(tables.string(comment))
    return profile


def grouped_text(threads: List[ThreadStack]) -> str:
    """debug=1: identical stacks once each, with how many threads share
    them and their names; the largest groups first."""
    groups: Dict[Tuple[Frame, ...], List[str]] = {}
    for thread in threads:
        groups.setdefault(tuple(thread.frames), []).append(thread.name)
    out = [f"threads profile: total {len(threads)}"]
    ordered = sorted(groups.items(), key=lambda item: -len(item[1]))
    for frames, names in ordered:
        out.append(f"{len(names)} @ " + " ".join(_quote(n) for n in names))
        for name, filename, _, line in frames:
            out.append(f"#\t{name}\t{filename}:{line}")
        out.append("")
    return "\n".join(out) + "\n"


def full_text(threads: List[ThreadStack]) -> str:
    """debug=2: every thread with its id, name, state and whole stack."""
    out = []
    for thread in threads:
        tid = thread.native_id if thread.native_id else thread.ident
        daemon = ", daemon" if thread.daemon else ""
        out.append(f"thread {tid} {_quote(thread.name)} [{thread.state}{daemon}]:")
        for name, filename, _, line in thread.frames:
            out.append(f"{name}(...)")
            out.append(f"\t{filename}:{line}")
        out.append("")
    return "\n".join(out) + ("\n" if out else "")


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def count() -> int:
    """How many threads a snapshot would list (for the index page)."""
    return len(set(sys._current_frames()) - _hidden_idents())


def main_file() -> str:
    from pyprof.session import main_file_of

    return main_file_of()


__all__ = ["ThreadStack", "snapshot", "build_profile", "grouped_text",
           "full_text", "count"]
