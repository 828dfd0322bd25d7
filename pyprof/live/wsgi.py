"""/debug/pprof/ inside a WSGI application (Flask, Django, any PEP 3333 app).

Two pieces:

* ``PprofApp()``: a WSGI application serving the index at its own root,
  to mount where a router mounts applications (e.g. Werkzeug's
  DispatcherMiddleware under "/debug/pprof"). It reads PATH_INFO below
  its mount point and builds links from SCRIPT_NAME.
* ``middleware(app)``: the application ``app`` with requests for
  /debug/pprof/... answered before they reach it.

To keep the application's own routing and middleware (authentication, say)
in front of the endpoints, call pyprof.live.respond() from one of the
application's views instead; the README shows it for Flask and Django.

Requests block their worker for the seconds a CPU profile or delta takes,
as they do in Go. Limitation: WSGI gives an application no way to notice
that its client went away, so a collection runs its full length even when
nobody waits for it (a second CPU profile request meanwhile gets 500).
"""

from __future__ import annotations

from typing import Callable
from typing import Iterable
from typing import Optional

from pyprof.live import handlers
from pyprof.live import server as _server

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


class PprofApp:
    """A WSGI application serving /debug/pprof/ at its root.

    Args:
        memory: start the memory sampler (heap, allocs) now if it is not
            running yet.
        max_seconds: longest CPU profile or delta a client may ask for.
    """

    def __init__(self, *, memory: bool = True,
                 max_seconds: int = handlers.DEFAULT_MAX_SECONDS) -> None:
        self.settings = handlers.Settings(max_seconds=max_seconds)
        if memory:
            _server.start_memory()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        name = environ.get("PATH_INFO", "")
        if name == "":
            # The index's links are relative: it must be read at ".../".
            answer = handlers.redirect(environ.get("SCRIPT_NAME", "") + "/")
        else:
            query = environ.get("QUERY_STRING", "")
            answer = handlers.respond(name.lstrip("/"), query, None, self.settings)
        return _send(answer, environ, start_response)


def middleware(app: WSGIApp, prefix: str = handlers.PREFIX, *,
               memory: bool = True,
               max_seconds: int = handlers.DEFAULT_MAX_SECONDS) -> WSGIApp:
    """``app`` with the paths under ``prefix`` served by pyprof.

    Flask: ``app.wsgi_app = middleware(app.wsgi_app)``; Django, in wsgi.py:
    ``application = middleware(get_wsgi_application())``.
    """
    prefix = "/" + prefix.strip("/")
    pprof = PprofApp(memory=memory, max_seconds=max_seconds)

    def wrapped(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path != prefix and not path.startswith(prefix + "/"):
            return app(environ, start_response)
        inner = dict(environ)
        inner["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
        inner["PATH_INFO"] = path[len(prefix):]
        return pprof(inner, start_response)

    wrapped.pprof = pprof  # type: ignore[attr-defined]
    return wrapped


def _send(answer: Optional[handlers.Response], environ: dict,
          start_response: Callable) -> Iterable[bytes]:
    if answer is None:  # cannot happen without a disconnect check
        answer = handlers.error(500, "the client went away")
    status = f"{answer.status} {answer.reason}".rstrip()
    headers = list(answer.headers) + [("Content-Length", str(len(answer.body)))]
    start_response(status, headers)
    if environ.get("REQUEST_METHOD") == "HEAD":
        return [b""]
    return [answer.body]
