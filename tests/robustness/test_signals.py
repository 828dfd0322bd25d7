"""The program's own signals and timers keep working under pyprof record.

pyprof's per-thread timers deliver a real-time signal the program does not
use (the highest free one, SIGRTMAX in these programs), so SIGPROF,
SIGALRM, SIGVTALRM, setitimer and the program's POSIX timers stay its own.
"""

import signal
import sys

import pytest

# Python-visible counters for a handler; `hits` per signal number.
HANDLERS = """
import signal
hits = {}
def count(signum, frame):
    hits[signum] = hits.get(signum, 0) + 1
"""

SIGRTMAX_NAME = f"SIGRTMIN+{signal.SIGRTMAX - signal.SIGRTMIN}"


def no_signal_warning(stderr):
    return "signal" not in stderr and "SIGPROF" not in stderr


def test_itimer_prof_and_sigprof_handler_keep_their_rate(run_program):
    run = run_program(HANDLERS, """
        signal.signal(signal.SIGPROF, count)
        signal.setitimer(signal.ITIMER_PROF, 0.01, 0.01)
        start = time.process_time()
        burn(1.0)
        used = time.process_time() - start
        signal.setitimer(signal.ITIMER_PROF, 0)
        report(hits=hits.get(signal.SIGPROF, 0), used=used)
    """, rate=1000)
    assert run.proc.returncode == 0, run.explain()
    used, hits = run.result["used"], run.result["hits"]
    # One SIGPROF per 10 ms of the process's CPU time, as without pyprof.
    assert 0.6 * used / 0.01 <= hits <= 1.3 * used / 0.01 + 2, run.result
    # pyprof sampled all along, on its own signal.
    assert run.cpu_in("burn") > 0.6, run.explain()
    assert no_signal_warning(run.proc.stderr), run.proc.stderr


def test_sigalrm_and_sigvtalrm_timers_keep_their_rate(run_program):
    run = run_program(HANDLERS, """
        signal.signal(signal.SIGALRM, count)
        signal.signal(signal.SIGVTALRM, count)
        signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)
        signal.setitimer(signal.ITIMER_VIRTUAL, 0.01, 0.01)
        import os
        wall = time.monotonic()
        user = os.times().user  # burn() spends much of its time in the kernel
        for _ in range(5):
            burn(0.1)
            time.sleep(0.1)
        wall = time.monotonic() - wall
        user = os.times().user - user
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        report(alrm=hits.get(signal.SIGALRM, 0),
               vtalrm=hits.get(signal.SIGVTALRM, 0), wall=wall, user=user)
    """, rate=1000)
    assert run.proc.returncode == 0, run.explain()
    r = run.result
    # ITIMER_REAL: one per 50 ms of wall time, never more.
    assert 0.7 * r["wall"] / 0.05 - 1 <= r["alrm"] <= r["wall"] / 0.05 + 1, r
    # ITIMER_VIRTUAL: one per 10 ms of user CPU (os.times() counts in 10 ms
    # ticks, hence the slack).
    assert 0.5 * r["user"] / 0.01 - 3 <= r["vtalrm"] <= 1.3 * r["user"] / 0.01 + 3, r
    assert run.cpu_in("burn") > 0.3, run.explain()
    assert no_signal_warning(run.proc.stderr), run.proc.stderr


TIMER_CREATE = """
import ctypes, ctypes.util

class timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]

class itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", timespec), ("it_value", timespec)]

class sigevent(ctypes.Structure):  # Linux, 64 bytes
    _fields_ = [("sigev_value", ctypes.c_void_p), ("sigev_signo", ctypes.c_int),
                ("sigev_notify", ctypes.c_int), ("_pad", ctypes.c_int * 12)]

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
try:
    libc.timer_create
except AttributeError:  # glibc before 2.34 keeps them in librt
    libc = ctypes.CDLL(ctypes.util.find_library("rt"), use_errno=True)

def posix_timer(signo, interval):
    event = sigevent(sigev_signo=signo, sigev_notify=0)  # SIGEV_SIGNAL
    timer = ctypes.c_void_p()
    if libc.timer_create(1, ctypes.byref(event), ctypes.byref(timer)):  # CLOCK_MONOTONIC
        raise OSError(ctypes.get_errno(), "timer_create")
    spec = itimerspec(timespec(0, int(interval * 1e9)), timespec(0, int(interval * 1e9)))
    if libc.timer_settime(timer, 0, ctypes.byref(spec), None):
        raise OSError(ctypes.get_errno(), "timer_settime")
    return timer
"""


def test_timer_create_timers_of_the_program_keep_their_rate(run_program):
    run = run_program(HANDLERS, TIMER_CREATE, """
        signal.signal(signal.SIGUSR1, count)
        signal.signal(signal.SIGRTMIN, count)
        wall = time.monotonic()
        timers = [posix_timer(signal.SIGUSR1, 0.02), posix_timer(signal.SIGRTMIN, 0.05)]
        for _ in range(4):
            burn(0.1)
            time.sleep(0.1)
        for timer in timers:
            libc.timer_delete(timer)
        wall = time.monotonic() - wall
        report(usr1=hits.get(signal.SIGUSR1, 0), rtmin=hits.get(signal.SIGRTMIN, 0),
               wall=wall)
    """, rate=1000)
    assert run.proc.returncode == 0, run.explain()
    r = run.result
    assert 0.7 * r["wall"] / 0.02 - 1 <= r["usr1"] <= r["wall"] / 0.02 + 1, r
    assert 0.7 * r["wall"] / 0.05 - 1 <= r["rtmin"] <= r["wall"] / 0.05 + 1, r
    assert run.cpu_in("burn") > 0.25, run.explain()
    assert no_signal_warning(run.proc.stderr), run.proc.stderr


def test_program_taking_pyprofs_signal_gets_it_and_pyprof_moves(run_program):
    run = run_program(HANDLERS, """
        def before():
            burn(0.3)
        def after():
            burn(0.4)
        before()
        signal.signal(signal.SIGRTMAX, count)
        after()
        import os
        os.kill(os.getpid(), signal.SIGRTMAX)
        time.sleep(0.05)
        report(hits=hits.get(signal.SIGRTMAX, 0))
    """, rate=1000)
    assert run.proc.returncode == 0, run.explain()
    hits = run.result["hits"]
    # Its own signal arrives. Limitation: timer signals sent before pyprof
    # notices (one drain interval, 20 ms) reach the handler too: at most
    # one per kernel tick of CPU time in that interval.
    assert 1 <= hits <= 1 + 10, run.result
    expected = f"SIGRTMIN+{signal.SIGRTMAX - signal.SIGRTMIN - 1}"
    assert f"handler for {SIGRTMAX_NAME}" in run.proc.stderr, run.proc.stderr
    assert f"moved to {expected}" in run.proc.stderr, run.proc.stderr
    assert f"moved to {expected}" in " ".join(run.comments)
    # Sampling went on after the move.
    assert run.cpu_in("before") > 0.15, run.explain()
    assert run.cpu_in("after") > 0.2, run.explain()


def test_program_taking_every_signal_stops_sampling_with_a_warning(run_program):
    run = run_program(HANDLERS, """
        import os
        def before():
            burn(0.3)
        def after():
            burn(0.3)
        before()
        for signo in range(signal.SIGRTMIN, signal.SIGRTMAX + 1):
            signal.signal(signo, count)
        signal.signal(signal.SIGPROF, count)
        time.sleep(0.3)  # pyprof notices within a drain interval
        after()
        for signo in range(signal.SIGRTMIN, signal.SIGRTMAX + 1):
            os.kill(os.getpid(), signo)
        os.kill(os.getpid(), signal.SIGPROF)
        time.sleep(0.05)
        report(hits={str(k): v for k, v in hits.items()})
    """, rate=1000)
    assert run.proc.returncode == 0, run.explain()
    hits = run.result["hits"]
    wanted = list(range(signal.SIGRTMIN, signal.SIGRTMAX + 1)) + [signal.SIGPROF]
    assert sorted(int(k) for k in hits) == sorted(wanted), hits
    # Each one at least once (its own kill); extra timer signals only in
    # the moment before pyprof noticed.
    assert sum(hits.values()) <= len(wanted) + 10, hits
    assert "no free signal was left: sampling stopped" in run.proc.stderr, \
        run.proc.stderr
    assert run.cpu_in("before") > 0.15, run.explain()
    assert run.cpu_in("after") < 0.05, run.explain()


def test_itimer_fallback_stops_when_the_program_takes_sigprof(run_program):
    run = run_program(HANDLERS, """
        def before():
            burn(0.3)
        before()
        signal.signal(signal.SIGPROF, count)
        signal.setitimer(signal.ITIMER_PROF, 0.01, 0.01)
        start = time.process_time()
        burn(0.6)
        used = time.process_time() - start
        signal.setitimer(signal.ITIMER_PROF, 0)
        report(hits=hits.get(signal.SIGPROF, 0), used=used)
    """, rate=1000, env={"PYPROF_FORCE_ITIMER": "1"})
    assert run.proc.returncode == 0, run.explain()
    used, hits = run.result["used"], run.result["hits"]
    # The program's 10 ms ITIMER_PROF replaced pyprof's 1 ms one at once.
    assert 0.6 * used / 0.01 <= hits <= 1.3 * used / 0.01 + 10, run.result
    assert "handler for SIGPROF" in run.proc.stderr, run.proc.stderr
    assert "sampling stopped" in run.proc.stderr, run.proc.stderr
    assert run.cpu_in("before") > 0.15, run.explain()


def test_api_start_refuses_the_fallback_when_sigprof_is_taken(tmp_path):
    import subprocess

    program = tmp_path / "api.py"
    program.write_text(HANDLERS + """
import pyprof
from pyprof.errors import PyprofError
signal.signal(signal.SIGPROF, count)
try:
    pyprof.start()
except PyprofError as exc:
    print("refused:", exc.message)
else:
    print("started")
""")
    import os
    env = dict(os.environ, PYPROF_FORCE_ITIMER="1")
    proc = subprocess.run([sys.executable, str(program)], capture_output=True,
                          text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("refused:"), proc.stdout
    assert "SIGPROF" in proc.stdout and "program uses" in proc.stdout, proc.stdout
