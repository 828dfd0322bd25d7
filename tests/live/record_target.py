"""Busy in record_busy() until stdin closes; then prints what it saw of
PYPROF_HTTP (pyprof must leave the program's environment as it was)."""

import os
import sys
import threading

done = threading.Event()


def record_busy():
    total = 0
    while not done.is_set():
        total += sum(i * i for i in range(500))
    return total


def wait_for_stdin():
    sys.stdin.read()
    done.set()


threading.Thread(target=wait_for_stdin, daemon=True).start()
record_busy()
print("PYPROF_HTTP=" + str(os.environ.get("PYPROF_HTTP")), flush=True)
