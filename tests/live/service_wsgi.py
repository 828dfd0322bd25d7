"""A WSGI application under the standard library's wsgiref server, with
/debug/pprof/ mounted by pyprof.live.wsgi.middleware in front of it.

/work?ms=N keeps the request busy in busy_handler() for N ms of CPU; any
other path is the application's own 404. Prints {"port": PORT} when ready
and serves until stdin closes.
"""

import json
import socketserver
import sys
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler
from wsgiref.simple_server import WSGIServer
from wsgiref.simple_server import make_server

from pyprof.live.wsgi import middleware


def busy_handler(ms):
    end = time.process_time() + ms / 1000
    total = 0
    while time.process_time() < end:
        total += sum(i * i for i in range(500))
    return total


def application(environ, start_response):
    if environ["PATH_INFO"] == "/work":
        ms = int(environ.get("QUERY_STRING", "").partition("ms=")[2] or 50)
        body = str(busy_handler(ms)).encode()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"the application's own 404\n"]


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main():
    httpd = make_server("127.0.0.1", 0, middleware(application),
                        server_class=ThreadingWSGIServer, handler_class=QuietHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    print(json.dumps({"port": httpd.server_address[1]}), flush=True)
    sys.stdin.read()
    httpd.shutdown()


if __name__ == "__main__":
    main()
