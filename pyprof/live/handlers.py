"""The /debug/pprof/ endpoints, apart from any web server.

Each request is a profile name (the path after ``/debug/pprof/``, empty
for the index) and a query string. ``route()`` answers at once with a
``Response``, or returns a ``Pending`` request for profiles that take
time (CPU for N seconds; heap, allocs and threads with ``seconds=N``,
which return the difference over N seconds). A server drives a Pending:
``start()``, wait the seconds while watching for the client leaving, then
``finish()`` or ``cancel()``. ``respond()`` does all of it for servers
that give each request a thread (the stdlib server, WSGI); pyprof.live.asgi
drives it without blocking the event loop.

Names, parameters, status codes and headers follow Go's net/http/pprof,
so that `go tool pprof URL` and `pyprof top URL` read these endpoints as
they read a Go program's. Where pyprof differs, on purpose: a ``seconds``
value that is not a positive whole number, or above the server's limit,
is refused with 400 (Go falls back to 30 s for a CPU profile), and
``threads`` is the primary name of what Go calls ``goroutine``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import html
import re
import time
import urllib.parse
from typing import Callable
from typing import ContextManager
from typing import Dict
from typing import List
from typing import Optional
from typing import Tuple
from typing import Union

from pyprof.errors import PyprofError
from pyprof.live import collect
from pyprof.live import threads as _threads

PREFIX = "/debug/pprof"
DEFAULT_CPU_SECONDS = 30
DEFAULT_MAX_SECONDS = 600

_DESCRIPTIONS = {
    "allocs": "Memory allocations sampled since the memory sampler started, "
              "freed or not. seconds=N gives those of the next N seconds.",
    "cmdline": "The program's command line, arguments separated by NUL bytes.",
    "goroutine": "Another name for threads, for tools that ask Go's name.",
    "heap": "Sampled allocations that are still alive. gc=1 runs a garbage "
            "collection first; seconds=N gives the change over N seconds.",
    "profile": "CPU profile of the next N seconds (seconds=N, default 30), "
               "for pyprof top URL or go tool pprof URL.",
    "threads": "The current stack of every thread. debug=1 groups identical "
               "stacks as text; debug=2 lists every thread with its name and "
               "state.",
}
_DELTA_PROFILES = ("allocs", "heap", "threads", "goroutine")


@dataclasses.dataclass
class Settings:
    """What a server lets clients ask for.

    max_seconds: longest CPU profile or delta a client may ask for.
    rate_hz: sampling rate of CPU profiles when nothing else is sampling
        (a recording in progress keeps its own rate).
    """

    max_seconds: int = DEFAULT_MAX_SECONDS
    rate_hz: int = collect.DEFAULT_RATE_HZ


@dataclasses.dataclass
class Response:
    status: int
    headers: List[Tuple[str, str]]
    body: bytes

    @property
    def reason(self) -> str:
        return _REASONS.get(self.status, "")


_REASONS = {200: "OK", 301: "Moved Permanently", 400: "Bad Request",
            404: "Not Found", 500: "Internal Server Error",
            501: "Not Implemented", 503: "Service Unavailable"}


def error(status: int, text: str) -> Response:
    """A plain-text error as Go's pprof handlers send them; pprof clients
    show the text of responses marked X-Go-Pprof."""
    return Response(status, [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("X-Go-Pprof", "1"),
        ("X-Content-Type-Options", "nosniff"),
    ], (text + "\n").encode("utf-8"))


def _profile_response(profile, filename: str) -> Response:
    from pyprof import pprof

    return Response(200, [
        ("Content-Type", "application/octet-stream"),
        ("Content-Disposition", f'attachment; filename="{filename}"'),
        ("X-Content-Type-Options", "nosniff"),
    ], pprof.dumps(profile))


def _text_response(text: str, kind: str = "plain") -> Response:
    return Response(200, [
        ("Content-Type", f"text/{kind}; charset=utf-8"),
        ("X-Content-Type-Options", "nosniff"),
    ], text.encode("utf-8"))


def redirect(location: str) -> Response:
    """Where a path lacking its final slash is sent (/debug/pprof)."""
    return Response(301, [("Location", location),
                          ("Content-Type", "text/plain; charset=utf-8")],
                    f"moved to {location}\n".encode("utf-8"))


# ---- pyprof's own allocations ----------------------------------------------


def own_work() -> ContextManager[None]:
    """A block of pyprof's own work (building and compressing answers,
    thread dumps, name lookups): the calling thread's allocations in it
    are left out of heap and allocs (its frees of sampled blocks are still
    seen); blocks nest."""
    try:
        from pyprof import _memory
    except ImportError:  # no C core: no memory sampler to hide from
        return contextlib.nullcontext()
    return _memory.pyprofs_own_work()


def own_thread() -> None:
    """The calling thread does only pyprof's work from now to its end (the
    live server's threads): its allocations are never sampled, and own_work()
    blocks inside leave it so. Never undone: leaving makes the memory
    sampler take the thread's next allocation as a sample."""
    try:
        from pyprof import _memory
    except ImportError:
        return
    _memory._lib.pyprof_mem_ignore_thread(1)
    # An own_work() block that is never left (its depth counts as entered).
    _memory._ignoring.depth = getattr(_memory._ignoring, "depth", 0) + 1


def _internal_work(function: Callable) -> Callable:
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with own_work():
            return function(*args, **kwargs)
    return wrapper


class Pending:
    """A request whose answer takes ``seconds``: start(), then finish()
    after the wait, or cancel() when the client has gone."""

    def __init__(self, seconds: int, begin: Callable[[], Optional[Response]],
                 end: Callable[[], Response], drop: Callable[[], None]) -> None:
        self.seconds = seconds
        self._begin, self._end, self._drop = begin, end, drop

    @_internal_work
    def start(self) -> Optional[Response]:
        """Begin collecting; a Response here is a refusal (send it)."""
        return self._begin()

    @_internal_work
    def finish(self) -> Response:
        return self._end()

    @_internal_work
    def cancel(self) -> None:
        self._drop()


# ---- routing ---------------------------------------------------------------


@_internal_work
def route(name: str, query: Union[str, bytes] = "",
          settings: Optional[Settings] = None) -> Union[Response, Pending]:
    """The answer to /debug/pprof/<name>?<query>; ``name`` is what
    follows the prefix's slash ("" for the index). A name with a slash
    of its own (``profile/``) is unknown, as in Go."""
    settings = settings or Settings()
    if isinstance(query, bytes):
        query = query.decode("latin-1")
    params = _parse_query(query)
    if name == "":
        return _text_response(index_page(), "html")
    if name == "cmdline":
        return _text_response("\x00".join(collect.argv()))
    if name == "profile":
        return _cpu(params, settings)
    if name in ("heap", "allocs", "threads", "goroutine"):
        if params.get("seconds", "") != "":  # an empty one is no delta, as in Go
            return _delta(name, params, settings)
        try:
            return _snapshot_response(name, params)
        except PyprofError as exc:
            return error(500, f"{name}: {exc.message}")
    return error(404, "Unknown profile")


def respond(name: str, query: Union[str, bytes] = "",
            disconnected: Optional[Callable[[], bool]] = None,
            settings: Optional[Settings] = None, *,
            cancelled: Optional[Callable[[], bool]] = None
            ) -> Optional[Response]:
    """route() and, for a Pending, the wait in this thread.

    Returns None when disconnected() said the client left during the wait
    (the collection is then stopped and dropped). When cancelled() turns
    true meanwhile (the server is stopping), the collection is dropped too
    and the answer is a 503 saying so.
    """
    answer = route(name, query, settings)
    if isinstance(answer, Response):
        return answer
    if cancelled is not None and cancelled():
        return _stopping_error(name)
    refusal = answer.start()
    if refusal is not None:
        return refusal

    def interrupted() -> bool:
        return bool((cancelled is not None and cancelled())
                    or (disconnected is not None and disconnected()))

    try:
        complete = collect.wait(answer.seconds, interrupted)
    except BaseException:
        answer.cancel()
        raise
    if not complete:
        answer.cancel()
        if cancelled is not None and cancelled():
            return _stopping_error(name)
        return None
    return answer.finish()


def _stopping_error(name: str) -> Response:
    return error(503, f"{name}: cancelled, the server is stopping (its "
                      "program called server.stop())")


def _parse_query(query: str) -> Dict[str, str]:
    """First value of each parameter, as Go's FormValue reads it."""
    params: Dict[str, str] = {}
    for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        params.setdefault(key, value)
    return params


def _int_param(params: Dict[str, str], key: str) -> int:
    """Go's strconv.Atoi with the error ignored: 0 for anything else."""
    text = params.get(key, "")
    return int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else 0


def _seconds(params: Dict[str, str], settings: Settings,
             default: Optional[int]) -> Union[int, Response]:
    text = params.get("seconds", "")
    if text == "" and default is not None:
        seconds = default
    elif not re.fullmatch(r"\+?[0-9]+", text.strip()) or int(text) <= 0:
        return error(400, 'invalid value for "seconds": must be a positive '
                          f"whole number, not {text!r}")
    else:
        seconds = int(text)
    if seconds > settings.max_seconds:
        return error(400, f"profile duration of {seconds}s exceeds this "
                          f"server's limit of {settings.max_seconds}s")
    return seconds


# ---- CPU -----------------------------------------------------------------------


def _cpu(params: Dict[str, str], settings: Settings) -> Union[Response, Pending]:
    seconds = _seconds(params, settings, DEFAULT_CPU_SECONDS)
    if isinstance(seconds, Response):
        return seconds
    collection = collect.CpuCollection(rate_hz=settings.rate_hz)

    def begin() -> Optional[Response]:
        try:
            collection.start()
        except collect.Busy:
            return error(500, "Could not enable CPU profiling: a CPU profile "
                              "is already being collected")
        except PyprofError as exc:
            return error(500, f"Could not enable CPU profiling: {exc.message}")
        return None

    def end() -> Response:
        return _profile_response(collection.finish(), "profile")

    return Pending(seconds, begin, end, collection.cancel)


# ---- memory and threads ----------------------------------------------------


def _heap_module():
    """pyprof.heap, or None when this pyprof has no memory sampler."""
    try:
        from pyprof import heap
    except ImportError:
        return None
    return heap


def _memory_refusal(name: str) -> Optional[Response]:
    heap = _heap_module()
    if heap is None:
        return error(501, f"{name}: this pyprof has no memory sampler")
    if not heap.running():
        return error(501, f"{name}: the memory sampler is not running (the "
                          "server was started with memory=False, or it was "
                          "stopped)")
    return None


def _take(name: str):
    """A snapshot of heap, allocs or threads as a profile message."""
    if name in ("heap", "allocs"):
        kind = "inuse_space" if name == "heap" else "alloc_space"
        return _heap_module().profile(default_sample_type=kind)
    return _threads.build_profile(_threads.snapshot(), _threads.main_file(),
                                  (collect.command_line(),))


def _snapshot_response(name: str, params: Dict[str, str]) -> Response:
    if name in ("heap", "allocs"):
        refusal = _memory_refusal(name)
        if refusal is not None:
            return refusal
        if name == "heap" and _int_param(params, "gc") > 0:
            gc.collect()
    debug = _int_param(params, "debug")
    if name in ("threads", "goroutine"):
        if debug >= 2:
            return _text_response(_threads.full_text(_threads.snapshot()))
        if debug == 1:
            return _text_response(_threads.grouped_text(_threads.snapshot()))
    profile = _take(name)
    if debug != 0:
        return _text_response(traces_text(profile))
    return _profile_response(profile, name)


def _delta(name: str, params: Dict[str, str],
           settings: Settings) -> Union[Response, Pending]:
    seconds = _seconds(params, settings, None)
    if isinstance(seconds, Response):
        return seconds
    if _int_param(params, "debug") != 0:
        return error(400, "seconds and debug cannot be used together")
    if name in ("heap", "allocs"):
        refusal = _memory_refusal(name)
        if refusal is not None:
            return refusal
    first: list = []

    def begin() -> Optional[Response]:
        try:
            first.append((_take(name), time.time_ns()))
        except PyprofError as exc:
            return error(500, f"{name}: {exc.message}")
        return None

    def end() -> Response:
        before, start_ns = first[0]
        try:
            after = _take(name)
        except PyprofError as exc:
            return error(500, f"{name}: {exc.message}")
        profile = collect.delta(before, after, start_ns, time.time_ns())
        return _profile_response(profile, f"{name}-delta")

    return Pending(seconds, begin, end, first.clear)


def traces_text(profile) -> str:
    """debug=1 for pprof profiles: every sample's stack, as pprof -traces."""
    from pyprof import graph
    from pyprof.report.traces import traces_report

    return traces_report(graph.prepare(profile), graph.GraphOptions()).text()


# ---- the index page ----------------------------------------------------------


def index_page() -> str:
    """The HTML page at /debug/pprof/: each profile with a count (threads,
    samples held by the memory sampler; 0 where counting makes no sense)
    and what it is."""
    counts = {"threads": _threads.count()}
    counts["goroutine"] = counts["threads"]
    heap = _heap_module()
    if heap is not None and heap.running():
        try:
            # One snapshot's samples: heap and allocs list the same ones.
            counts["heap"] = counts["allocs"] = len(heap.profile().sample)
        except Exception:  # the page must not fail for a count
            pass
    rows = []
    items = []
    for name in sorted(_DESCRIPTIONS):
        link = f"{name}?debug=1" if name != "profile" else "profile?seconds=30"
        rows.append(f"<tr><td>{counts.get(name, 0)}</td>"
                    f"<td><a href='{html.escape(link)}'>{name}</a></td></tr>")
        items.append(f"<li><b>{name}</b>: {html.escape(_DESCRIPTIONS[name])}</li>")
    return "\n".join([
        "<!DOCTYPE html>",
        "<html>",
        "<head><meta charset='utf-8'><title>/debug/pprof/</title></head>",
        "<body>",
        "<h1>/debug/pprof/</h1>",
        f"<p>Profiles of {html.escape(collect.command_line())} (pyprof). "
        "Add debug=1 to a link for text; read a profile with "
        "<code>pyprof top URL</code> or <code>go tool pprof URL</code>.</p>",
        "<table>",
        "<thead><tr><th>Count</th><th>Profile</th></tr></thead>",
        *rows,
        "</table>",
        "<p><a href='threads?debug=2'>full thread stack dump</a></p>",
        "<ul>",
        *items,
        "</ul>",
        "</body>",
        "</html>",
        "",
    ])
