"""The local HTTP server behind `pyprof web`: the page, its static files and
the JSON views, on 127.0.0.1 only.

Paths, named after the command line's views:

    /                      the page (pyprof/web/static/index.html)
    /static/NAME           a file shipped in pyprof/web/static (scripts,
                           styles); nothing is fetched from the network
    /api/meta              files and sample types
    /api/top, /api/flame, /api/graph, /api/source?fn=RE, /api/peek?fn=RE
                           each view as JSON, for the query's sample type
                           (si) and filters (focus, ignore, hide, show,
                           tagfocus)

A view that cannot be made for a reason the user can fix (a bad regexp, an
unknown sample type, Graphviz missing) answers 400 with
{"error": message, "hint": hint}; anything else answers 500 with one line
naming the failure, never a traceback.
"""

from __future__ import annotations

import http.server
import json
import logging
import mimetypes
import os
import re
import sys
import threading
import urllib.parse
from pathlib import Path
from typing import Optional

from pyprof.errors import PyprofError
from pyprof.web.views import ProfileViews

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
_STATIC_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml"}
_API = ("meta", "top", "flame", "graph", "source", "peek")


class WebServer(http.server.ThreadingHTTPServer):
    """An HTTP server for one ProfileViews; port 0 takes a free port."""

    daemon_threads = True
    # Not reused: two servers on one port would split the requests.
    allow_reuse_address = False

    def __init__(self, views: ProfileViews, port: int = 0,
                 host: str = "127.0.0.1") -> None:
        self.views = views
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def start_thread(self) -> threading.Thread:
        """Serve in a daemon thread (for tests); stop with .stop()."""
        thread = threading.Thread(target=self.serve_forever, name="pyprof-web",
                                  daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: WebServer
    server_version = "pyprof"
    protocol_version = "HTTP/1.1"

    # An idle keep-alive connection is closed after this many seconds.
    timeout = 60

    def do_GET(self) -> None:
        if not self._host_allowed():
            # A page from elsewhere that renamed itself to 127.0.0.1 (DNS
            # rebinding) sends its own host name: it gets nothing.
            self._json(403, {"error": "pyprof web answers only requests for "
                             "127.0.0.1 or localhost", "hint": "open " + self.server.url})
            return
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if path in ("/", "/index.html"):
            self._static("index.html")
        elif path.startswith("/static/"):
            self._static(path[len("/static/"):])
        elif path.startswith("/api/") and path[len("/api/"):] in _API:
            self._api(path[len("/api/"):], url.query)
        elif path == "/favicon.ico":
            self._send(204, b"", "text/plain")
        else:
            self._json(404, {"error": f"no page {path}",
                             "hint": "open / for the profile's views"})

    def do_HEAD(self) -> None:
        self.do_GET()

    def _host_allowed(self) -> bool:
        host = self.headers.get("Host", "")
        port = self.server.server_address[1]
        return host in (f"127.0.0.1:{port}", f"localhost:{port}")

    def _api(self, view: str, query_text: str) -> None:
        # A parameter given twice counts once, the last time, as in pprof's UI.
        query = dict(urllib.parse.parse_qsl(query_text, keep_blank_values=True))
        views = self.server.views
        try:
            if view == "meta":
                result = views.meta()
            else:
                result = getattr(views, view)(query)
            # Encoded here, so that a failure is answered as one.
            data = _encode(result)
        except PyprofError as exc:
            # A bad request, unless the error says otherwise (503: the
            # server lacks a program such as Graphviz).
            status = getattr(exc, "http_status", 400)
            self._json(status, {"error": exc.message, "hint": exc.hint or ""})
            return
        except Exception as exc:  # a bug: one line to the page and the log
            if os.environ.get("PYPROF_DEBUG"):
                log.exception("pyprof web: /api/%s failed", view)
            message = f"making the {view} view: {type(exc).__name__}: {exc}"
            self._json(500, {"error": message,
                             "hint": "this is a bug in pyprof; please report it "
                             "with the profile"})
            return
        self._send(200, data, "application/json; charset=utf-8")

    def _static(self, name: str) -> None:
        if not _STATIC_NAME.fullmatch(name) or not (STATIC_DIR / name).is_file():
            self._json(404, {"error": f"no static file {name}", "hint": ""})
            return
        data = (STATIC_DIR / name).read_bytes()
        kind = _TYPES.get(Path(name).suffix) or (
            mimetypes.guess_type(name)[0] or "application/octet-stream")
        self._send(200, data, kind, cache=False)

    def _json(self, status: int, body: dict) -> None:
        self._send(status, _encode(body), "application/json; charset=utf-8")

    def _send(self, status: int, data: bytes, kind: str, cache: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        if not cache:
            self.send_header("Cache-Control", "no-store")
        # Nothing on the page loads from elsewhere; say so to the browser.
        self.send_header("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; "
                         "style-src 'self' 'unsafe-inline'")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:
        # Requests are not news to the user; PYPROF_DEBUG shows them.
        if os.environ.get("PYPROF_DEBUG"):
            sys.stderr.write("pyprof web: " + (format % args) + "\n")


def _encode(body: dict) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode("utf-8", "surrogateescape")


def make_server(views: ProfileViews, port: int = 0) -> WebServer:
    """A server on 127.0.0.1:port (0: a free port), not yet serving.

    Raises:
        PyprofError: the port cannot be bound (in use, not allowed).
    """
    try:
        return WebServer(views, port)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        hint: Optional[str] = "leave out --port to take a free one"
        raise PyprofError(f"serving on 127.0.0.1:{port}: "
                          f"{reason[:1].lower()}{reason[1:]}", hint) from None
