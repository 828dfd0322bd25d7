"""pyprof.live.asgi driven by a small hand-written ASGI server loop (the
ASGI 3 calling convention: scope, receive, send), in this process."""

import asyncio
import threading
import time

import pytest

from live_helpers import cpu_by_function
from pyprof import pprof
from pyprof.live import asgi

FOREVER = 3600


async def inner_app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    body = b"inner " + scope["path"].encode()
    await send({"type": "http.response.body", "body": body})


async def drive(app, path, query=b"", root_path="", method="GET",
                disconnect_after=None):
    """One request; returns (status, headers, body), or None when nothing
    was sent. The client hangs up after disconnect_after seconds."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "path": path, "query_string": query,
             "root_path": root_path, "headers": []}
    requested = False

    async def receive():
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(FOREVER if disconnect_after is None else disconnect_after)
        return {"type": "http.disconnect"}

    sent = []

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    if not sent:
        return None
    start, body = sent
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, body["body"]


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def busy_thread():
    stop = threading.Event()

    def asgi_busy_worker():
        while not stop.is_set():
            sum(i * i for i in range(500))

    thread = threading.Thread(target=asgi_busy_worker, name="busy", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join()


def test_middleware_passes_other_paths_to_the_app():
    app = asgi.PprofMiddleware(inner_app, memory=False)
    assert run(drive(app, "/orders"))[2] == b"inner /orders"
    assert run(drive(app, "/debug/pprofile"))[2] == b"inner /debug/pprofile"
    status, headers, body = run(drive(app, "/debug/pprof/"))
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b">threads</a>" in body
    status, headers, _ = run(drive(app, "/debug/pprof"))
    assert (status, headers["location"]) == (301, "/debug/pprof/")
    status, _, body = run(drive(app, "/debug/pprof/nope"))
    assert (status, body) == (404, b"Unknown profile\n")


@pytest.mark.parametrize("path", ["/debug/pprof/threads", "/threads"])
def test_mounted_app_reads_either_style_of_path(path):
    # Newer Starlette keeps the mount point in path and sets root_path;
    # other routers strip it.
    app = asgi.PprofApp(memory=False)
    status, _, body = run(drive(app, path, b"debug=1", root_path="/debug/pprof"))
    assert status == 200
    assert body.startswith(b"threads profile: total ")


def test_cpu_profile_waits_without_blocking_the_loop(busy_thread):
    app = asgi.PprofMiddleware(inner_app, memory=False)

    async def both():
        profile = asyncio.ensure_future(
            drive(app, "/debug/pprof/profile", b"seconds=2"))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        other = await drive(app, "/orders")
        quick = time.monotonic() - started
        return await profile, other, quick

    (status, headers, body), other, quick = run(both())
    assert other[2] == b"inner /orders"
    assert quick < 1.0
    assert status == 200
    assert headers["content-disposition"] == 'attachment; filename="profile"'
    profile = pprof.load(body)
    cum, total = cpu_by_function(profile)
    assert total >= 10 * profile.period
    assert cum["busy_thread.<locals>.asgi_busy_worker"] >= 0.5 * total


def test_second_cpu_profile_is_refused_and_a_hang_up_frees_the_profiler():
    app = asgi.PprofApp(memory=False)

    async def scenario():
        first = asyncio.ensure_future(
            drive(app, "/profile", b"seconds=30", disconnect_after=1.0))
        await asyncio.sleep(0.4)
        refused = await drive(app, "/profile", b"seconds=1")
        started = time.monotonic()
        abandoned = await first
        waited = time.monotonic() - started
        after = await drive(app, "/profile", b"seconds=1")
        return refused, abandoned, waited, after

    refused, abandoned, waited, after = run(scenario())
    assert refused[0] == 500
    assert refused[1]["x-go-pprof"] == "1"
    assert refused[2].startswith(b"Could not enable CPU profiling: ")
    assert abandoned is None  # nothing is sent to a client that left
    assert waited < 5
    assert after[0] == 200
    pprof.load(after[2])


def test_lifespan_when_standing_alone():
    app = asgi.PprofApp(memory=False)
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message["type"])

    run(app({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_head_sends_no_body():
    app = asgi.PprofApp(memory=False)
    status, headers, body = run(drive(app, "/cmdline", method="HEAD"))
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0
