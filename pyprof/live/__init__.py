"""Live profiling: Go's /debug/pprof/ endpoints in a running Python program.

Three ways to turn it on:

* ``pyprof.serve(port=6060)`` (or ``pyprof.live.serve``): a small server of
  its own on a daemon thread (pyprof.live.server);
* ``pyprof record --http 6060 -- python app.py``, or PYPROF_HTTP=6060 under
  ``pyprof record``: the same for a program that is not changed;
* mounted in a web application: pyprof.live.wsgi (Flask, Django) and
  pyprof.live.asgi (Starlette, FastAPI) serve the same paths through the
  application's own routing and middleware; ``respond()`` answers one
  request for any other framework.

What each path returns is decided in pyprof.live.handlers; the profiles
come from pyprof.live.collect (CPU, deltas) and pyprof.live.threads.
"""

from pyprof.live.handlers import PREFIX
from pyprof.live.handlers import Response
from pyprof.live.handlers import Settings
from pyprof.live.handlers import respond
from pyprof.live.server import Server
from pyprof.live.server import serve
from pyprof.live.server import start_memory

__all__ = ["PREFIX", "Response", "Server", "Settings", "respond", "serve",
           "start_memory"]
