"""A program that does everything at once, for `make stress` (stress.py).

For SECONDS (argument 1, default 30) it: starts and ends threads, forks
children that work and exit, compiles and runs code with exec and eval,
sends itself signals and catches them (SIGUSR1 from kill, SIGALRM from an
ITIMER_REAL), raises and catches exceptions, recurses, and allocates and
frees memory. It checks its own results and measures its resident memory
twice a second; the last line it prints is RESULT and a JSON object.
"""

import json
import os
import random
import signal
import sys
import threading
import time
import warnings

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
PAGE = os.sysconf("SC_PAGE_SIZE")

# Forking with threads running is the point here.
warnings.simplefilter("ignore", DeprecationWarning)

caught = {"SIGUSR1": 0, "SIGALRM": 0}
sent = {"SIGUSR1": 0}
counts = {"threads": 0, "forks": 0, "fork_failures": 0, "execs": 0,
          "exceptions": 0, "allocated_mb": 0.0}
lock = threading.Lock()
stop = threading.Event()


def on_usr1(signum, frame):
    caught["SIGUSR1"] += 1


def on_alrm(signum, frame):
    caught["SIGALRM"] += 1


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def burn(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def recurse(n):
    return 0 if n == 0 else recurse(n - 1) + 1


def allocate():
    blocks = [bytes(random.randrange(1, 64 * 1024)) for _ in range(20)]
    table = {i: [i] * 10 for i in range(500)}
    size = sum(len(b) for b in blocks) + len(table)
    with lock:
        counts["allocated_mb"] += size / 2**20


SOURCE = """
def compiled_here(n):
    total = 0
    for i in range(n):
        total += i * i
    return total
result = compiled_here(2000)
"""


def execute():
    space = {}
    exec(compile(SOURCE, "<stress>", "exec"), space)
    assert space["result"] == sum(i * i for i in range(2000))
    assert eval(compile("sum(range(100))", "<stress-eval>", "eval")) == 4950
    with lock:
        counts["execs"] += 1


def fail_and_catch():
    try:
        recurse(50)
        raise ValueError("expected")
    except ValueError:
        with lock:
            counts["exceptions"] += 1


def short_thread():
    burn(0.001)
    allocate()
    fail_and_catch()


def thread_churn():
    while not stop.is_set():
        batch = [threading.Thread(target=short_thread) for _ in range(5)]
        for t in batch:
            t.start()
        for t in batch:
            t.join()
        with lock:
            counts["threads"] += len(batch)


def worker(name):
    generator = (i * i for i in range(10**9))
    while not stop.is_set():
        burn(0.002)
        next(generator)
        execute()
        allocate()
        fail_and_catch()
        recurse(random.randrange(10, 400))


def forker():
    while not stop.is_set():
        time.sleep(0.2)
        pid = os.fork()
        if pid == 0:
            burn(0.005)
            os._exit(7)
        _, status = os.waitpid(pid, 0)
        with lock:
            counts["forks"] += 1
            if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 7:
                counts["fork_failures"] += 1


def main():
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGALRM, on_alrm)
    signal.setitimer(signal.ITIMER_REAL, 0.01, 0.01)
    sys.setrecursionlimit(5000)
    threads = [threading.Thread(target=thread_churn, name="churn")]
    threads += [threading.Thread(target=worker, args=(i,), name=f"worker-{i}")
                for i in range(2)]
    threads.append(threading.Thread(target=forker, name="forker"))
    for t in threads:
        t.start()
    start = time.monotonic()
    rss = []
    next_rss = start
    while time.monotonic() - start < SECONDS:
        os.kill(os.getpid(), signal.SIGUSR1)
        sent["SIGUSR1"] += 1
        burn(0.003)
        allocate()
        time.sleep(0.002)
        if time.monotonic() >= next_rss:
            rss.append(round(rss_mb(), 2))
            next_rss += 0.5
    stop.set()
    for t in threads:
        t.join()
    signal.setitimer(signal.ITIMER_REAL, 0)
    time.sleep(0.05)  # the last SIGUSR1 handlers run
    print("RESULT " + json.dumps({"sent": sent, "caught": caught,
                                  "counts": counts, "rss_mb": rss,
                                  "seconds": SECONDS}), flush=True)


if __name__ == "__main__":
    main()
