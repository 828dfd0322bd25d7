"""The pieces of pyprof.live on their own: addresses, deltas, the profile
encoder, reading the call a thread is blocked in, the address warning."""

import threading
import time

import pytest

from pyprof import graph
from pyprof import pprof
from pyprof.builder import build_cpu_profile
from pyprof.errors import PyprofError
from pyprof.errors import UsageError
from pyprof.live import collect
from pyprof.live import handlers
from pyprof.live import server
from pyprof.live import threads


@pytest.mark.parametrize("text, expected", [
    ("6060", ("127.0.0.1", 6060)),
    (":6060", ("127.0.0.1", 6060)),
    ("0", ("127.0.0.1", 0)),
    ("0.0.0.0:80", ("0.0.0.0", 80)),
    ("localhost:6061", ("localhost", 6061)),
    ("[::1]:6060", ("::1", 6060)),
])
def test_parse_address(text, expected):
    assert server.parse_address(text) == expected


@pytest.mark.parametrize("text", ["", "host", "host:", "1:2:3", "65536", "-1",
                                  "h:6060x"])
def test_parse_address_refuses(text):
    with pytest.raises(UsageError) as info:
        server.parse_address(text)
    assert info.value.message.startswith("reading the address")


def test_loopback_addresses():
    assert server.is_loopback("127.0.0.1")
    assert server.is_loopback("127.0.0.2")
    assert server.is_loopback("::1")
    assert server.is_loopback("localhost")
    assert not server.is_loopback("0.0.0.0")
    assert not server.is_loopback("10.1.2.3")
    assert not server.is_loopback("example.org")


def test_serving_beyond_loopback_prints_a_warning(monkeypatch, capsys):
    # Bound on 127.0.0.1, but judged as another interface would be.
    monkeypatch.setattr(server, "is_loopback", lambda host: False)
    with server.serve("127.0.0.1", 0, memory=False) as srv:
        assert srv.url == f"http://127.0.0.1:{srv.port}/debug/pprof/"
    err = capsys.readouterr().err
    assert err.startswith(f"pyprof: warning: serving profiles on 127.0.0.1:{srv.port}")
    assert "anyone who can reach it" in err
    monkeypatch.undo()
    with server.serve("127.0.0.1", 0, memory=False):
        pass
    assert capsys.readouterr().err == ""


def test_serve_refuses_bad_arguments_and_busy_ports():
    with pytest.raises(UsageError):
        server.serve(port=70000)
    with pytest.raises(UsageError):
        server.serve(port=0, max_seconds=0)
    with server.serve(port=0, memory=False) as first:
        with pytest.raises(PyprofError) as info:
            server.serve(port=first.port, memory=False)
    assert "address already in use" in info.value.message


def test_an_idle_server_costs_next_to_no_cpu():
    with server.serve(port=0, memory=False):
        time.sleep(0.2)
        before = time.process_time()
        time.sleep(2)
        spent = time.process_time() - before
    # Four wakes to check for a stop request in 2 s; a busy loop would
    # spend the whole 2 s. 50 ms leaves room for a loaded machine.
    assert spent < 0.05, spent


def frame(name, line=1):
    return (name, "app.py", 1, line)


def cpu(aggregate):
    return build_cpu_profile(aggregate, period_ns=10_000_000, start_ns=1,
                             duration_ns=1, main_file="app.py")


def values_by_leaf(profile):
    prepared = graph.resolve(profile)
    out = {}
    for s in prepared.samples:
        key = (s.locations[0].lines[0][0].name, tuple(s.labels.get("thread", [])))
        out[key] = out.get(key, 0) + s.values[-1]
    return out


def test_delta_subtracts_equal_stacks_and_drops_what_cancels():
    before = cpu({("Main", (frame("a"), frame("main"))): [3, 3],
                  ("Main", (frame("b"), frame("main"))): [2, 2],
                  ("T1", (frame("a"), frame("main"))): [1, 1]})
    after = cpu({("Main", (frame("a"), frame("main"))): [5, 5],
                 ("Main", (frame("b"), frame("main"))): [2, 2],
                 ("Main", (frame("c"), frame("main"))): [4, 4],
                 ("T1", (frame("a"), frame("main"))): [1, 1]})
    result = collect.delta(before, after, start_ns=1_000, end_ns=3_001_000)
    assert values_by_leaf(result) == {("a", ("Main",)): 20_000_000,
                                      ("c", ("Main",)): 40_000_000}
    assert result.time_nanos == 3_001_000
    assert result.duration_nanos == 3_000_000
    # The result is a valid profile that pprof's checks accept.
    assert values_by_leaf(pprof.load(pprof.dumps(result))) == values_by_leaf(result)


def test_encode_keeps_what_resolve_reads():
    original = cpu({("Main", (frame("a", 3), frame("main", 9))): [2, 2],
                    ("T1", (frame("<module>", 1),)): [1, 1]})
    again = collect.encode(graph.resolve(original))
    first, second = graph.resolve(original), graph.resolve(again)
    assert second.sample_types == first.sample_types
    assert second.period == first.period and second.period_type == first.period_type
    assert [(s.values, s.labels, [[(f.name, f.filename, f.start_line, ln)
                                    for f, ln in loc.lines] for loc in s.locations])
            for s in second.samples] == \
        [(s.values, s.labels, [[(f.name, f.filename, f.start_line, ln)
                                for f, ln in loc.lines] for loc in s.locations])
         for s in first.samples]
    assert [m.file for m in second.mappings] == ["app.py"]


@pytest.mark.parametrize("call, callee", [
    ("lock.acquire()", "lock.acquire"),
    ("self._lock.acquire(True, timeout)", "self._lock.acquire"),
    ("f(g(x))", "f"),
    ("items[0].wait(timeout=f(1))", "items[0].wait"),
    ("x", None),
])
def test_callee_of_a_call(call, callee):
    assert threads._callee_of(call) == callee


def test_states_of_threads_waiting_sleeping_and_running():
    gate = threading.Lock()
    gate.acquire()
    stop = threading.Event()

    def parked():
        gate.acquire()

    def napping():
        while not stop.is_set():
            time.sleep(0.05)

    def spinning():
        while not stop.is_set():
            pass

    started = [threading.Thread(target=f, name=f.__name__, daemon=True)
               for f in (parked, napping, spinning)]
    for t in started:
        t.start()
    try:
        time.sleep(0.3)
        expected = {"parked": "blocked in gate.acquire",
                    "napping": "blocked in time.sleep", "spinning": "running"}
        found = {}
        for _ in range(100):
            # A moment may catch the spinner waiting for the GIL or the
            # napper awake between two sleeps: look again.
            found = {t.name: t for t in threads.snapshot()}
            if all(found[n].state == s for n, s in expected.items()):
                break
            time.sleep(0.02)
    finally:
        stop.set()
        gate.release()
        for t in started:
            t.join()
    assert found["parked"].state == "blocked in gate.acquire"
    assert found["parked"].frames[0][0] == (
        "test_states_of_threads_waiting_sleeping_and_running.<locals>.parked")
    assert found["parked"].daemon is True
    assert found["napping"].state == "blocked in time.sleep"
    assert found["spinning"].state == "running"
    assert found[threading.current_thread().name].state == "running"
    assert found[threading.current_thread().name].frames[0][0] == "snapshot"


def test_full_and_grouped_text_forms():
    stacks = [
        threads.ThreadStack(1, 101, "MainThread", False, "running",
                            [frame("main", 4)]),
        threads.ThreadStack(2, 102, 'w"1', True, "blocked in q.get",
                            [frame("work", 7), frame("Thread.run", 9)]),
        threads.ThreadStack(3, 103, "w2", True, "blocked in q.get",
                            [frame("work", 7), frame("Thread.run", 9)]),
    ]
    assert threads.full_text(stacks) == (
        'thread 101 "MainThread" [running]:\nmain(...)\n\tapp.py:4\n\n'
        'thread 102 "w\\"1" [blocked in q.get, daemon]:\nwork(...)\n\tapp.py:7\n'
        'Thread.run(...)\n\tapp.py:9\n\n'
        'thread 103 "w2" [blocked in q.get, daemon]:\nwork(...)\n\tapp.py:7\n'
        'Thread.run(...)\n\tapp.py:9\n\n')
    assert threads.grouped_text(stacks) == (
        "threads profile: total 3\n"
        '2 @ "w\\"1" "w2"\n#\twork\tapp.py:7\n#\tThread.run\tapp.py:9\n\n'
        '1 @ "MainThread"\n#\tmain\tapp.py:4\n\n')


def test_seconds_are_checked_before_anything_starts():
    settings = handlers.Settings(max_seconds=10)
    for query in ("seconds=-5", "seconds=+", "seconds=1e3", "seconds=11"):
        answer = handlers.route("heap", query, settings)
        assert isinstance(answer, handlers.Response) and answer.status == 400, query
    pending = handlers.route("profile", "seconds=10", settings)
    assert isinstance(pending, handlers.Pending) and pending.seconds == 10
    # The default of 30 s is held to the limit as well.
    assert handlers.route("profile", "", settings).status == 400
    assert handlers.route("profile", "", handlers.Settings()).seconds == 30
