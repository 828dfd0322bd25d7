"""A small HTTP server for /debug/pprof/ on a daemon thread (stdlib only).

``serve()`` binds, starts the memory sampler (unless told not to) and
returns a ``Server`` that ``stop()`` shuts down. Each request gets its own
thread, so a 30-second CPU profile does not hold up a thread dump. While a
CPU profile is collected the request's thread watches its socket and
stops the collection as soon as the client hangs up. Between requests the
server only waits in the kernel for a connection (its thread wakes twice
a second to see whether it should stop).

It listens on 127.0.0.1 unless given another host; any other address
prints a warning, since whoever can reach it can read the program's
function names, file paths and command line.
"""

from __future__ import annotations

import http.server
import ipaddress
import re
import select
import socket
import socketserver
import sys
import threading
import urllib.parse
from typing import Optional
from typing import Tuple

from pyprof.errors import PyprofError
from pyprof.errors import UsageError
from pyprof.live import handlers

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 6060
POLL_INTERVAL_S = 0.5
ADDRESS_HINT = "give [HOST:]PORT, e.g. 6060, 127.0.0.1:6060 or 0.0.0.0:6060"


def parse_address(text: str) -> Tuple[str, int]:
    """``[HOST:]PORT`` -> (host, port). An empty host is 127.0.0.1 (never
    every interface, unlike Go's ":6060"); IPv6 hosts go in brackets.

    Raises:
        UsageError: not of that form, or the port is not 0 to 65535.
    """
    text = text.strip()
    found = re.fullmatch(r"(?:(\[[0-9A-Fa-f:.%\w]+\]|[^:\[\]]*):)?([0-9]+)", text)
    if not found:
        raise UsageError(f"reading the address {text!r}: not [HOST:]PORT",
                         hint=ADDRESS_HINT)
    host = (found.group(1) or "").strip("[]") or DEFAULT_HOST
    port = int(found.group(2))
    if port > 65535:
        raise UsageError(f"reading the address {text!r}: port {port} is above "
                         "65535", hint=ADDRESS_HINT + " (0 picks a free port)")
    return host, port


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "pyprof"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_POST(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, send_body: bool) -> None:
        path, _, query = self.path.partition("?")
        path = urllib.parse.unquote(path.split("#")[0])
        if path == handlers.PREFIX:
            answer = handlers.redirect(handlers.PREFIX + "/")
        elif not path.startswith(handlers.PREFIX + "/"):
            answer = handlers.error(404, "404 page not found")
        else:
            name = path[len(handlers.PREFIX) + 1:]
            answer = handlers.respond(name, query, self._client_gone,
                                      self.server.settings)
        if answer is None:  # the client left; nobody to answer
            self.close_connection = True
            return
        self.send_response(answer.status, answer.reason or None)
        for key, value in answer.headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if send_body:
            try:
                self.wfile.write(answer.body)
            except OSError:
                self.close_connection = True

    def _client_gone(self) -> bool:
        """True when the client has closed its side of the connection."""
        sock = self.connection
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return False
            return sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def log_message(self, format: str, *args) -> None:
        """Requests are not logged: the program's stderr is its own."""


class _HTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, settings: handlers.Settings) -> None:
        self.settings = settings
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def process_request(self, request, client_address) -> None:
        # As ThreadingMixIn does, with a thread name that says whose it is
        # in thread dumps.
        thread = threading.Thread(target=self.process_request_thread,
                                  args=(request, client_address),
                                  name="pyprof-http-request", daemon=True)
        thread.start()

    def handle_error(self, request, client_address) -> None:
        """A broken connection is the client's business, not the program's
        stderr."""


class Server:
    """A running /debug/pprof/ server; ``stop()`` (or ``with``) ends it."""

    def __init__(self, httpd: _HTTPServer, started_memory: bool) -> None:
        self._httpd = httpd
        self._started_memory = started_memory
        self.host, self.port = httpd.server_address[:2]
        self._thread = threading.Thread(
            target=httpd.serve_forever, args=(POLL_INTERVAL_S,),
            name="pyprof-http", daemon=True)
        self._thread.start()
        self._stopped = False

    @property
    def url(self) -> str:
        """The index page's address, e.g. http://127.0.0.1:6060/debug/pprof/."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{handlers.PREFIX}/"

    def stop(self) -> None:
        """Stop listening, and the memory sampler if serve() started it."""
        if self._stopped:
            return
        self._stopped = True
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
        if self._started_memory:
            heap = handlers._heap_module()
            if heap is not None and heap.running():
                heap.stop()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "serving"
        return f"<pyprof.live.Server {state} {self.url}>"


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
          memory: bool = True, max_seconds: int = handlers.DEFAULT_MAX_SECONDS,
          rate_hz: int = handlers.collect.DEFAULT_RATE_HZ,
          warn: bool = True) -> Server:
    """Serve /debug/pprof/ on host:port from a daemon thread.

    Args:
        host: interface to listen on; 127.0.0.1 by default. Any address
            that is not a loopback one prints a warning on stderr.
        port: TCP port; 0 picks a free one (see ``Server.port``).
        memory: start the memory sampler for heap and allocs (at its
            default rate) if it is not running yet.
        max_seconds: longest CPU profile or delta a client may ask for.
        rate_hz: CPU sampling rate when no recording is running already.
        warn: print the warning about non-loopback addresses.

    Raises:
        UsageError: bad port or limits.
        PyprofError: the address cannot be bound (in use, not local).
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise UsageError(f"serving profiles: port {port!r} is not 0 to 65535",
                         hint=ADDRESS_HINT)
    if isinstance(max_seconds, bool) or not isinstance(max_seconds, int) \
            or max_seconds < 1:
        raise UsageError(f"serving profiles: max_seconds {max_seconds!r} is not "
                         "a positive whole number", hint="e.g. max_seconds=600")
    from pyprof.session import check_rate

    check_rate(rate_hz)
    settings = handlers.Settings(max_seconds=max_seconds, rate_hz=rate_hz)
    where = f"serving profiles on {host}:{port}"
    try:
        httpd = _HTTPServer((host, port), settings)
    except OSError as exc:
        raise PyprofError(f"{where}: {(exc.strerror or str(exc)).lower()}",
                          hint="choose another port (0 picks a free one) or host"
                          ) from None
    started_memory = start_memory() if memory else False
    server = Server(httpd, started_memory)
    if warn and not is_loopback(host):
        sys.stderr.write(
            f"pyprof: warning: serving profiles on {host}:{server.port}, not "
            "on a loopback address: anyone who can reach it can read this "
            "program's function names, file paths and command line, and make "
            "it spend CPU on profiling\n")
        sys.stderr.flush()
    return server


def start_memory() -> bool:
    """Start the memory sampler at its default rate if there is one and it
    is not running; True when this call started it."""
    heap = handlers._heap_module()
    if heap is None or heap.running():
        return False
    try:
        heap.start()
    except Exception:  # no memory profiles, but the server still serves
        return False
    return True


def serve_from_environment(text: str) -> Optional[Server]:
    """Start a server for PYPROF_HTTP=[HOST:]PORT and say where it is on
    stderr; a failure is one warning line, never the program's end."""
    try:
        host, port = parse_address(text)
        server = serve(host, port)
    except PyprofError as exc:
        sys.stderr.write(f"pyprof: warning: not serving profiles: {exc.message}\n")
        return None
    sys.stderr.write(f"pyprof: serving profiles at {server.url}\n")
    sys.stderr.flush()
    return server
