"""Blocking calls behave as without pyprof: no EINTR reaches the program and
no call returns early, while two threads burn CPU under 1 kHz sampling.

Both timer kinds are checked: per-thread CPU timers (a blocked thread uses
no CPU, so its own timer stays quiet, but its neighbours' signals do not
touch it) and the process-wide ITIMER_PROF fallback (the kernel may pick
any thread, a blocked one included)."""

import pytest

BLOCKING = """
import os, queue, select, socket, subprocess, threading, ctypes, ctypes.util

stop = threading.Event()
def busy():
    while not stop.is_set():
        burn(0.01)
# Daemons: a failed check below must not leave the program hanging.
burners = [threading.Thread(target=busy, name=f"burner-{i}", daemon=True)
           for i in range(2)]
for t in burners:
    t.start()

took = {}
errors = []
def timed(name, call, wait, then=None):
    # Time call(); with `then`, a timer thread runs it `wait` s from now.
    start = time.monotonic()
    if then is not None:
        threading.Timer(wait, then).start()
    try:
        value = call()
    except Exception as exc:  # an EINTR would land here
        errors.append(f"{name}: {type(exc).__name__}: {exc}")
        value = None
    took[name] = [time.monotonic() - start, wait]
    return value

W = 0.3
timed("sleep", lambda: time.sleep(0.5), 0.5)
timed("sleep_1ms_x100", lambda: [time.sleep(0.001) for _ in range(100)], 0.1)

r, w = os.pipe()
got = timed("pipe_read", lambda: os.read(r, 1), W, lambda: os.write(w, b"x"))
assert got == b"x", got

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
buf = ctypes.create_string_buffer(1)
n = timed("libc_read", lambda: libc.read(r, buf, 1), W, lambda: os.write(w, b"y"))
assert n == 1, (n, ctypes.get_errno())

ready = timed("select", lambda: select.select([r], [], [], W), W)
assert ready == ([], [], []), ready
poller = select.poll()
poller.register(r, select.POLLIN)
assert timed("poll", lambda: poller.poll(W * 1000), W) == []

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)
def connect_and_send():
    client = socket.create_connection(server.getsockname())
    time.sleep(W)
    client.sendall(b"hello")
    client.close()
conn, _ = timed("accept", server.accept, W, connect_and_send)
data = timed("recv", lambda: conn.recv(5), 0)  # sent W after connecting
assert data == b"hello", data
conn.close()
server.close()
left, right = socket.socketpair()
left.settimeout(W)
def recv_timeout():
    try:
        left.recv(1)
    except socket.timeout:
        return "timeout"
assert timed("recv_timeout", recv_timeout, W) == "timeout"
left.close()
right.close()

assert timed("subprocess_wait",
             lambda: subprocess.Popen(["sleep", str(W)]).wait(), W) == 0

q = queue.Queue()
def get_empty():
    try:
        q.get(timeout=W)
    except queue.Empty:
        return "empty"
assert timed("queue_get_timeout", get_empty, W) == "empty"
assert timed("queue_get", q.get, W, lambda: q.put(1)) == 1

lock = threading.Lock()
lock.acquire()
assert timed("lock_acquire_timeout", lambda: lock.acquire(timeout=W), W) is False
assert timed("lock_acquire", lock.acquire, W, lock.release) is True

event = threading.Event()
assert timed("event_wait_timeout", lambda: event.wait(W), W) is False
cond = threading.Condition()
with cond:
    assert timed("condition_wait", lambda: cond.wait(W), W) is False

stop.set()
for t in burners:
    t.join()
report(took=took, errors=errors)
"""


@pytest.mark.slow
@pytest.mark.parametrize("timer", ["thread-cpu", "itimer"])
def test_blocking_calls_neither_fail_nor_return_early(run_program, timer):
    env = {"PYPROF_FORCE_ITIMER": "1"} if timer == "itimer" else {}
    run = run_program(BLOCKING, rate=1000, env=env, timeout=60)
    assert run.proc.returncode == 0, run.explain()
    result = run.result
    assert result["errors"] == [], result
    took = result["took"]
    early = {name: t for name, (t, wait) in took.items() if t < wait}
    assert early == {}, took
    # The burners were sampled the whole time, under their names.
    threads = run.by_thread()
    assert threads.get("burner-0", 0) > 0.3 and threads.get("burner-1", 0) > 0.3, (
        threads, run.explain())
