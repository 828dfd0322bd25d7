"""Threads of every kind are sampled under their names; thousands of
short-lived ones neither crash pyprof nor leave timers behind; a ring that
overflows says how many samples it lost."""

import re

THREADS = """
import _thread, ctypes, ctypes.util, threading
from concurrent.futures import ThreadPoolExecutor

def named_work():
    burn(0.3)
worker = threading.Thread(target=named_work, name="worker-A")
worker.start()
worker.join()

def pool_work(_):
    burn(0.1)
with ThreadPoolExecutor(max_workers=2, thread_name_prefix="pool") as pool:
    list(pool.map(pool_work, range(6)))

def daemon_work():
    burn(0.3)
daemon = threading.Thread(target=daemon_work, name="daemon-x", daemon=True)
daemon.start()
daemon.join()

done = _thread.allocate_lock()
done.acquire()
def low_level_work():
    burn(0.3)
    done.release()
_thread.start_new_thread(low_level_work, ())
done.acquire()

# A thread started by C (pthread_create) that enters Python through a
# ctypes callback, as C libraries' threads do.
libc = ctypes.CDLL(ctypes.util.find_library("c"))
START = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)
def c_thread_work(arg):
    burn(0.3)
    return None
start_routine = START(c_thread_work)
handle = ctypes.c_ulong()
assert libc.pthread_create(ctypes.byref(handle), None, start_routine, None) == 0
assert libc.pthread_join(handle, None) == 0

# A daemon still burning when the program exits.
def forever():
    while True:
        burn(0.01)
threading.Thread(target=forever, name="daemon-at-exit", daemon=True).start()
burn(0.2)
report(ok=True)
"""


def test_every_kind_of_thread_is_sampled_under_its_name(run_program):
    run = run_program(THREADS, rate=1000)
    assert run.proc.returncode == 0, run.explain()
    assert run.result == {"ok": True}

    def cpu(function, thread_matches):
        return run.cpu(lambda names, files, labels: function in names
                       and re.fullmatch(thread_matches, labels.get("thread", "")))

    assert cpu("named_work", "worker-A") > 0.15, run.by_thread()
    assert cpu("pool_work", r"pool_[01]") > 0.3, run.by_thread()
    assert cpu("daemon_work", "daemon-x") > 0.15, run.by_thread()
    # Threads threading does not know get a name from their kernel id, or
    # threading's "Dummy-N" once the thread has asked for current_thread().
    assert cpu("low_level_work", r"thread-\d+|Dummy-\d+") > 0.15, run.by_thread()
    assert cpu("c_thread_work", r"thread-\d+|Dummy-\d+") > 0.15, run.by_thread()
    assert cpu("forever", "daemon-at-exit") > 0.05, run.by_thread()
    assert cpu("<module>", "MainThread") > 0.1, run.by_thread()


SHORT_LIVED = """
import os, threading

def timers():
    with open("/proc/self/timers") as f:
        return sum(line.startswith("ID:") for line in f)

def tasks():
    return len(os.listdir("/proc/self/task"))

time.sleep(0.3)  # pyprof's drain thread has started and armed us
before = (timers(), tasks())

def short():
    burn(0.0003)

for batch in range(100):
    threads = [threading.Thread(target=short) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
time.sleep(0.5)  # two drain scans: the timers of ended threads are gone
after = (timers(), tasks())
report(before=before, after=after, alive=threading.active_count())
"""


def test_thousands_of_short_lived_threads_leave_no_timers(run_program):
    run = run_program(SHORT_LIVED, rate=1000, timeout=180)
    assert run.proc.returncode == 0, run.explain()
    r = run.result
    assert r["alive"] == 1, r
    # The main thread's timer before and after; the drain thread's task.
    assert r["after"] == r["before"], r
    assert r["before"][0] == 1, r
    # The 2,000 threads were sampled. Limitation (see pyprof._sampler): the
    # kernel checks CPU timers on its tick, so a thread living well under
    # one tick (these use 0.3 ms) is seen only now and then.
    assert run.cpu_in("short") > 0, run.by_thread()
    short_threads = [t for t in run.by_thread() if t.startswith("Thread-")]
    assert len(short_threads) > 10, run.by_thread()


def test_an_overflowing_ring_reports_what_it_lost(run_program):
    # An 8-slot ring and a main thread that keeps the GIL in long C calls
    # (the drain thread needs the GIL): the ring overflows.
    run = run_program("""
        start = time.process_time()
        while time.process_time() - start < 1.0:
            sum(range(5_000_000))
        report(ok=True)
    """, rate=1000, env={"PYPROF_RING_SLOTS": "8"})
    assert run.proc.returncode == 0, run.explain()
    assert run.result == {"ok": True}
    dropped = [c for c in run.comments if "samples dropped" in c]
    assert dropped, run.comments
    count = int(dropped[0].split()[0])
    assert count > 0
    assert f"{count} dropped" in run.proc.stderr, run.proc.stderr
    assert run.cpu_in("<module>") > 0.05, run.explain()
