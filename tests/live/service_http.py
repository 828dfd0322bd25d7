"""A small web service on the standard library's http.server, with pyprof
serving /debug/pprof/ on a port of its own.

GET /work?ms=N keeps its handler busy in busy_handler() for N ms of CPU.
A thread named "order-waiter" stays blocked in wait_for_orders() on a lock
that is never released, and a thread named "allocator" keeps allocating in
allocate_orders(). Prints {"app": PORT, "pprof": PORT} on stdout when ready,
then serves until stdin closes.
"""

import http.server
import json
import socketserver
import sys
import threading
import time

import pyprof

orders = threading.Lock()
orders.acquire()
kept = []


def wait_for_orders():
    orders.acquire()


def allocate_orders():
    while True:
        kept.append([bytearray(64 * 1024) for _ in range(4)])
        if len(kept) > 200:
            del kept[:100]
        time.sleep(0.01)


def busy_handler(ms):
    end = time.process_time() + ms / 1000
    total = 0
    while time.process_time() < end:
        total += sum(i * i for i in range(500))
    return total


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/work"):
            ms = int(self.path.partition("ms=")[2] or 50)
            body = str(busy_handler(ms)).encode()
            self.send_response(200)
        else:
            body = b"not here"
            self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class App(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    threading.Thread(target=wait_for_orders, name="order-waiter", daemon=True).start()
    threading.Thread(target=allocate_orders, name="allocator", daemon=True).start()
    app = App(("127.0.0.1", 0), Handler)
    threading.Thread(target=app.serve_forever, name="app", daemon=True).start()
    max_seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    server = pyprof.serve(port=0, max_seconds=max_seconds)
    print(json.dumps({"app": app.server_address[1], "pprof": server.port}), flush=True)
    sys.stdin.read()
    server.stop()
    app.shutdown()


if __name__ == "__main__":
    main()
