"""A small HTTP server for /debug/pprof/ on threads of its own (stdlib only).

``serve()`` binds, starts the memory sampler (unless told not to) and
returns a ``Server`` that ``stop()`` shuts down. Each connection gets its
own thread, so a 30-second CPU profile does not hold up a thread dump.
While a CPU profile is collected the connection's thread watches its
socket and stops the collection as soon as the client hangs up; a
connection that sends nothing for ``IDLE_TIMEOUT_S`` is closed.

The server stays out of the program's way:

* its threads are started with ``_thread``, so threading.enumerate() and
  active_count() do not list them (thread dumps still show them, named
  pyprof-http and pyprof-http-request), they take none of the process's
  signals, and their allocations are not sampled into heap and allocs;
* between requests the accepting thread waits in the kernel, and it is
  not running while the process forks: it is ended before the fork and
  started again in the parent (on 3.13 once os.fork() has returned, since
  that version counts threads after the fork hooks), so os.fork() in a
  program served this way gives no "multi-threaded" DeprecationWarning
  (3.12 and later) on its account;
* a forked child closes its copies of the listening socket and of the
  connections, so the port is free once the serving process ends.

Limitation: a fork while a request is being answered (or while a client
keeps an idle connection open, up to ``IDLE_TIMEOUT_S``) still sees that
connection's thread, and 3.12+ warns then.

It listens on 127.0.0.1 unless given another host; any other address
prints a warning, since whoever can reach it can read the program's
function names, file paths and command line.
"""

from __future__ import annotations

import _thread
import http.server
import errno
import ipaddress
import os
import re
import select
import signal
import socket
import socketserver
import sys
import threading
import time
import urllib.parse
import weakref
from typing import Callable
from typing import Dict
from typing import Optional
from typing import Tuple

from pyprof import _sampler
from pyprof.errors import PyprofError
from pyprof.errors import UsageError
from pyprof.live import handlers

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 6060
ADDRESS_HINT = "give [HOST:]PORT, e.g. 6060, 127.0.0.1:6060 or 0.0.0.0:6060"
BIND_HINT = ("choose another port, or 0 for a free one (the port may be "
             "another program's, or this one's from an earlier run)")
# A connection that sends no request for this long is closed.
IDLE_TIMEOUT_S = 60.0
# How long stop() waits for requests in progress to end, and a fork for
# the accepting thread to leave.
STOP_WAIT_S = 2.0
FORK_WAIT_S = 1.0

# pyprof's own server threads, ident -> (name, kernel tid), for thread
# dumps (they are not in threading.enumerate()).
own_threads: Dict[int, Tuple[str, int]] = {}


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


def _own_thread(name: str) -> None:
    """Set up the calling thread as one of the server's: named in thread
    dumps, no signals (they are the program's: a signal taken here would
    not interrupt the main thread's blocking call), no memory sampling."""
    handlers.own_thread()
    own_threads[_thread.get_ident()] = (name, threading.get_native_id())
    signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "pyprof"
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        self.timeout = IDLE_TIMEOUT_S  # read when setup() sets up the socket
        super().setup()

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
                                      self.server.settings,
                                      cancelled=self.server.stopping.is_set)
        if answer is None:  # the client left; nobody to answer
            self.close_connection = True
            return
        if self.server.stopping.is_set():
            self.close_connection = True
        self.send_response(answer.status, answer.reason or None)
        for key, value in answer.headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
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


class _HTTPServer(http.server.HTTPServer):
    """http.server's server with a connection per _thread thread; the
    accepting loop is Server's."""

    def __init__(self, address, settings: handlers.Settings) -> None:
        self.settings = settings
        self.stopping = threading.Event()  # set by stop(): cancel and close
        self.connections: Dict[int, socket.socket] = {}
        self.connections_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # As http.server's, without its reverse DNS lookup of the host
        # (server_name is read by nothing here; the lookup can take seconds).
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request, client_address) -> None:
        _thread.start_new_thread(self._connection, (request, client_address))

    def _connection(self, request, client_address) -> None:
        _own_thread("pyprof-http-request")
        ident = _thread.get_ident()
        with self.connections_lock:
            self.connections[ident] = request
        try:
            if not self.stopping.is_set():
                self.finish_request(request, client_address)
        except Exception:  # a broken connection is the client's business
            pass
        finally:
            with self.connections_lock:
                self.connections.pop(ident, None)
            self.shutdown_request(request)
            own_threads.pop(ident, None)

    def handle_error(self, request, client_address) -> None:
        """A broken connection is the client's business, not the program's
        stderr."""


# Servers serving in this process, for the fork hooks.
_serving: "weakref.WeakSet[Server]" = weakref.WeakSet()


class Server:
    """A running /debug/pprof/ server; ``stop()`` (or ``with``) ends it."""

    def __init__(self, httpd: _HTTPServer, started_memory: bool) -> None:
        self._httpd = httpd
        self._started_memory = started_memory
        self.host, self.port = httpd.server_address[:2]
        httpd.socket.setblocking(False)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._ctl = threading.Lock()  # starts and stops of the loop thread
        self._halt = False
        self._done: Optional[object] = None  # released as the loop ends
        self._tid_box = [0]
        self._stopped = False
        with self._ctl:
            self._start_loop()
        _serving.add(self)

    @property
    def url(self) -> str:
        """The index page's address, e.g. http://127.0.0.1:6060/debug/pprof/."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{handlers.PREFIX}/"

    def stop(self) -> None:
        """Stop listening, cancel the CPU profiles and deltas being
        collected (their clients get a 503 saying so), wait (up to
        STOP_WAIT_S) until requests in progress are over, and stop the
        memory sampler if serve() started it."""
        if self._stopped:
            return
        self._stopped = True
        _serving.discard(self)
        httpd = self._httpd
        httpd.stopping.set()
        with self._ctl:
            self._stop_loop(STOP_WAIT_S)
        httpd.server_close()
        for fd in (self._wake_r, self._wake_w):
            _close_fd(fd)
        deadline = time.monotonic() + STOP_WAIT_S
        while time.monotonic() < deadline:
            with httpd.connections_lock:
                if not httpd.connections:
                    break
            time.sleep(0.01)
        if self._started_memory:
            heap = handlers._heap_module()
            if heap is not None and heap.running():
                heap.stop(owner="live")

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "serving"
        return f"<pyprof.live.Server {state} {self.url}>"

    # ---- the accepting thread -------------------------------------------

    def _start_loop(self) -> None:
        """Start the accepting thread; the caller holds _ctl."""
        done = _thread.allocate_lock()
        done.acquire()
        self._halt = False
        self._done = done
        self._tid_box = box = [0]
        _thread.start_new_thread(self._loop, (done, box))

    def _stop_loop(self, timeout: float) -> int:
        """End the accepting thread and wait (up to timeout) until its loop
        is over; the caller holds _ctl. Returns its kernel tid, 0 if none
        ran or it did not end in time."""
        done, box = self._done, self._tid_box
        if done is None:
            return 0
        self._halt = True
        self._done = None
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        if not done.acquire(True, timeout):
            return 0
        return box[0]

    def _loop(self, done, box) -> None:
        _own_thread("pyprof-http")
        try:
            box[0] = threading.get_native_id()
            poller = select.poll()
            listening = self._httpd.socket.fileno()
            poller.register(listening, select.POLLIN)
            poller.register(self._wake_r, select.POLLIN)
            while not self._halt:
                events = poller.poll()
                if self._halt:
                    break
                for fd, _ in events:
                    if fd == self._wake_r:
                        try:
                            os.read(self._wake_r, 512)
                        except OSError:
                            pass
                    elif fd == listening:
                        self._accept()
        except Exception:  # the server ends; never the program's stderr
            pass
        finally:
            own_threads.pop(_thread.get_ident(), None)
            done.release()

    def _accept(self) -> None:
        httpd = self._httpd
        try:
            request, client_address = httpd.socket.accept()
        except OSError:  # gone before we took it, or out of files
            return
        try:
            httpd.process_request(request, client_address)
        except Exception:  # no thread to be had
            httpd.shutdown_request(request)

    # ---- fork -------------------------------------------------------------

    def _pause_for_fork(self) -> None:
        if not self._ctl.acquire(True, FORK_WAIT_S):
            return
        try:
            tid = self._stop_loop(FORK_WAIT_S)
        finally:
            self._ctl.release()
        if tid:
            _wait_until_gone(tid, time.monotonic() + FORK_WAIT_S)

    def _resume(self) -> None:
        if not self._ctl.acquire(True, FORK_WAIT_S):
            return
        try:
            if not self._stopped and self._done is None:
                self._start_loop()
        except RuntimeError:  # no thread to be had: no more serving
            pass
        finally:
            self._ctl.release()

    def _close_in_child(self) -> None:
        """In a forked child: let go of the parent's sockets (closed, not
        shut down, so the parent's connections go on)."""
        self._stopped = True
        self._done = None
        httpd = self._httpd
        for sock in [httpd.socket, *httpd.connections.values()]:
            try:
                sock.close()
            except OSError:
                pass
        httpd.connections = {}
        httpd.connections_lock = threading.Lock()
        for fd in (self._wake_r, self._wake_w):
            _close_fd(fd)
        self._ctl = threading.Lock()


def _close_fd(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def _wait_until_gone(tid: int, deadline: float) -> None:
    """Wait until kernel thread ``tid`` has left the process (CPython's
    fork warning counts the threads /proc lists), or ``deadline``."""
    task = f"/proc/self/task/{tid}"
    while os.path.exists(task) and time.monotonic() < deadline:
        time.sleep(0.0001)


# CPython 3.13 counts threads for its fork warning after the after_in_parent
# hooks (3.12 before them), so there the accepting thread is started again
# at the forking thread's first call or return after os.fork() returns, seen
# with a sys.monitoring tool of our own.
_RESTART_AFTER_FORK_RETURNS = sys.version_info[:2] == (3, 13)


def _resume_after_fork_returns(restart: Callable[[], None]) -> bool:
    """Call restart() at the forking thread's first Python event after
    os.fork() has returned; False when that cannot be arranged."""
    try:
        caller = sys._getframe(2)  # os.fork()'s caller (hooks run from C)
    except ValueError:
        return False
    return _sampler.call_when_fork_returns(caller, restart, "pyprof-http")


def _before_fork() -> None:
    for server in list(_serving):
        server._pause_for_fork()


def _after_fork_in_parent() -> None:
    servers = list(_serving)
    if not servers:
        return

    def restart() -> None:
        for server in servers:
            server._resume()

    if not (_RESTART_AFTER_FORK_RETURNS and _resume_after_fork_returns(restart)):
        restart()


def _after_fork_in_child() -> None:
    global _serving
    # A restart waiting for the parent's fork to return was dropped with
    # the sampler's monitoring tools (pyprof._sampler's own fork hook).
    servers = list(_serving)
    _serving = weakref.WeakSet()
    own_threads.clear()
    for server in servers:
        server._close_in_child()


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                    after_in_child=_after_fork_in_child)


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
        raise _bind_error(where, exc) from None
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
    """Start the memory sampler at its default rate, or join it at the rate
    it runs at; True when this call took a hold (Server.stop() leaves it),
    so that the program's own heap.stop() or pyprof.stop() leaves the
    server its heap profiles."""
    heap = handlers._heap_module()
    if heap is None:
        return False
    try:
        heap.start(heap.rate() or heap.DEFAULT_RATE, owner="live")
    except Exception:  # no memory profiles, but the server still serves
        return False
    return True


def check_bindable(host: str, port: int) -> None:
    """Raise the PyprofError serve() would raise if host:port cannot be
    bound now (pyprof record --http checks before the program starts)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise _bind_error(f"serving profiles on {host}:{port}", exc) from None


def _bind_error(where: str, exc: OSError) -> PyprofError:
    if exc.errno == errno.EADDRINUSE:
        hint = BIND_HINT
    else:
        hint = ("give an address of this machine, e.g. 127.0.0.1 (the "
                "default) or 0.0.0.0 for every interface")
    return PyprofError(f"{where}: {(exc.strerror or str(exc)).lower()}", hint=hint)


def serve_from_environment(text: str) -> Optional[Server]:
    """Start a server for PYPROF_HTTP=[HOST:]PORT and say where it is on
    stderr; a failure is one warning line, never the program's end."""
    try:
        host, port = parse_address(text)
        server = serve(host, port)
    except PyprofError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        sys.stderr.write(f"pyprof: warning: not serving profiles: {exc.message}"
                         f"; the program runs without it{hint}\n")
        return None
    sys.stderr.write(f"pyprof: serving profiles at {server.url}\n")
    sys.stderr.flush()
    return server
