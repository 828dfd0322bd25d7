"""/debug/pprof/ inside an ASGI application (Starlette, FastAPI, any ASGI 3 app).

* ``PprofApp()``: an ASGI application serving the index at its root, to
  mount under "/debug/pprof" (``app.mount("/debug/pprof", PprofApp())`` in
  FastAPI and Starlette), so the application's own middleware wraps it.
* ``PprofMiddleware(app)``: ``app`` with /debug/pprof/... answered first.

Nothing here blocks the event loop: a CPU profile or delta waits with
asyncio while it listens for ``http.disconnect`` (a client that hangs up
stops and drops the collection at once), and starting, finishing and
encoding run on the loop's default executor.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable
from typing import Callable
from typing import Optional

from pyprof.live import handlers
from pyprof.live import server as _server

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class PprofApp:
    """An ASGI application serving /debug/pprof/ at its root.

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

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        # Routers differ: some strip the mount point from path, some (newer
        # Starlette) keep it and set root_path.
        if root and (path == root or path.startswith(root + "/")):
            path = path[len(root):]
        if path == "":
            answer = handlers.redirect(root + "/")
        else:
            query = scope.get("query_string", b"")
            answer = await serve_async(path.lstrip("/"), query, receive, self.settings)
        if answer is not None:
            await _send(answer, send, scope.get("method") == "HEAD")


class PprofMiddleware:
    """``app`` with the paths under ``prefix`` served by pyprof."""

    def __init__(self, app, prefix: str = handlers.PREFIX, *, memory: bool = True,
                 max_seconds: int = handlers.DEFAULT_MAX_SECONDS) -> None:
        self.app = app
        self.prefix = "/" + prefix.strip("/")
        self.pprof = PprofApp(memory=memory, max_seconds=max_seconds)

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != self.prefix and not path.startswith(self.prefix + "/"):
            await self.app(scope, receive, send)
            return
        inner = dict(scope)
        inner["root_path"] = scope.get("root_path", "") + self.prefix
        inner["path"] = path[len(self.prefix):]
        await self.pprof(inner, receive, send)


async def serve_async(name: str, query, receive: Receive,
                      settings: Optional[handlers.Settings] = None
                      ) -> Optional[handlers.Response]:
    """pyprof.live.respond() for an event loop: None when the client left."""
    loop = asyncio.get_running_loop()
    # Snapshots (a large heap, every thread's stack) are built off the loop.
    answer = await loop.run_in_executor(None, handlers.route, name, query, settings)
    if isinstance(answer, handlers.Response):
        return answer
    refusal = await loop.run_in_executor(None, answer.start)
    if refusal is not None:
        return refusal
    gone = asyncio.ensure_future(_disconnected(receive))
    try:
        done, _ = await asyncio.wait({gone}, timeout=answer.seconds)
    except BaseException:
        gone.cancel()
        await loop.run_in_executor(None, answer.cancel)
        raise
    if done:
        await loop.run_in_executor(None, answer.cancel)
        return None
    gone.cancel()
    return await loop.run_in_executor(None, answer.finish)


async def _disconnected(receive: Receive) -> None:
    """Return when the client has gone (the request body is read and
    dropped on the way; these endpoints take none)."""
    while True:
        message = await receive()
        if message.get("type") == "http.disconnect":
            return


async def _send(answer: handlers.Response, send: Send, head: bool) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1"))
               for k, v in answer.headers]
    headers.append((b"content-length", str(len(answer.body)).encode("ascii")))
    await send({"type": "http.response.start", "status": answer.status,
                "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else answer.body})


async def _lifespan(receive: Receive, send: Send) -> None:
    """Standing alone as the server's application: nothing to set up."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
