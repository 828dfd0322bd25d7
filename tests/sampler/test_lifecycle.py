"""Code-object lifetime, fork, fallbacks and the SIGPROF handler's owner."""

import signal

import pytest

from pyprof._sampler import Sampler
from pyprof._sampler import SamplerError


def test_freed_code_objects_are_never_misattributed(scenario):
    # Fresh functions are compiled, run for ~0.5 ms and thrown away while
    # sampling at 10 kHz, so code addresses are freed and reused all the
    # time. Each function's name encodes its file and first line.
    result = scenario("""
        import re
        from pyprof import _core
        s = Sampler(rate_hz=10000)
        s.start()
        made = 0
        # 2.5 s of this thread's CPU (a wall-clock bound would shrink the
        # test on a loaded machine), with a wall-clock safety net.
        end, deadline = time.thread_time() + 2.5, time.monotonic() + 30
        while time.thread_time() < end and time.monotonic() < deadline:
            first = 1 + made % 40
            name = f"f_{made}_{first}"
            source = "\\n" * (first - 1) + (
                f"def {name}():\\n"
                "    stop = time.thread_time() + 0.0005\\n"
                "    while time.thread_time() < stop: pass\\n")
            namespace = {"time": time}
            exec(compile(source, f"<gen-{made}>", "exec"), namespace)
            namespace[name]()
            del namespace
            made += 1
        s.stop()
        checked, bad = 0, []
        for (_, frames), _ in s.take().items():
            for name, filename, start, line in frames:
                m = re.fullmatch(r"f_(\\d+)_(\\d+)", name)
                if m:
                    checked += 1
                    if (filename != f"<gen-{m.group(1)}>" or start != int(m.group(2))
                            or not start <= line <= start + 2):
                        bad.append([name, filename, start, line])
        report(made=made, checked=checked, bad=bad[:5], nbad=len(bad),
               parked=_core.lib.pyprof_codes_parked(), stats=s.stats)
    """)
    assert result["made"] > 1000, result
    assert result["checked"] > 100, result
    assert result["nbad"] == 0, result
    assert result["parked"] == 0, result  # all released after stop
    assert result["stats"]["bad_frames"] == 0, result


def test_fork_while_sampling_neither_hangs_nor_crashes(scenario):
    result = scenario("""
        import os, threading
        s = Sampler(rate_hz=2000)
        s.start()
        workers = [threading.Thread(target=burn, args=(0.5,)) for _ in range(2)]
        for w in workers: w.start()
        statuses = []
        for round in range(5):
            burn(0.02)
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    burn(0.05)
                    if round == 0:
                        # The child comes out stopped and may sample anew.
                        child = Sampler(rate_hz=1000)
                        child.start(); burn(0.2); child.stop()
                        n = sum(p for _, (_, p) in child.take().items())
                        code = 0 if 120 < n < 300 else 3
                except BaseException:
                    code = 4
                os._exit(code)
            deadline = time.monotonic() + 30
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    statuses.append(status)
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, 9); os.waitpid(pid, 0)
                    statuses.append("hung")
                    break
                time.sleep(0.005)
        for w in workers: w.join()
        burn(0.1)
        s.stop()
        total = sum(p for _, (_, p) in s.take().items())
        report(statuses=statuses, total=total)
    """)
    assert result["statuses"] == [0] * 5, result
    # Parent: 2 x 0.5 s of workers + ~0.2 s of main, at 2 kHz.
    assert result["total"] > 1500, result


def test_falls_back_to_itimer_with_a_warning(scenario):
    result = scenario("""
        s = Sampler(rate_hz=500)
        s.start()
        burn(0.4)
        s.stop()
        agg = s.take()
        burn(0.2)  # no late SIGPROF may kill us after stop
        report(stats=s.stats, warnings=s.warnings,
               periods=sum(p for _, (_, p) in agg.items()))
    """, env={"PYPROF_FORCE_ITIMER": "1"})
    assert result["stats"]["timer"] == "itimer"
    assert any("ITIMER_PROF" in w for w in result["warnings"])
    assert 120 < result["periods"] < 260, result


def test_previous_sigprof_handler_is_restored(scenario):
    result = scenario("""
        import os, signal
        hits = []
        signal.signal(signal.SIGPROF, lambda *args: hits.append(1))
        s = Sampler(rate_hz=1000)
        s.start()
        burn(0.2)
        s.stop()
        sampled = sum(p for _, (_, p) in s.take().items())
        during = len(hits)
        os.kill(os.getpid(), signal.SIGPROF)
        time.sleep(0.05)
        report(during=during, after=len(hits), sampled=sampled)
    """)
    assert result["during"] == 0
    assert result["after"] == 1
    assert result["sampled"] > 100


def test_stop_with_busy_threads_leaves_no_pending_signal(scenario):
    result = scenario("""
        import threading
        for _ in range(3):
            s = Sampler(rate_hz=10000)
            s.start()
            ts = [threading.Thread(target=burn, args=(0.1,)) for _ in range(3)]
            for t in ts: t.start()
            burn(0.05)
            s.stop()
            for t in ts: t.join()
        burn(0.1)
        report(ok=True, stats=s.stats)
    """)
    assert result["ok"]


@pytest.mark.parametrize("rate", [0, -5, 1.5, True, "100", 10**7])
def test_bad_rate_is_refused(rate):
    with pytest.raises(SamplerError, match="rate"):
        Sampler(rate_hz=rate)


def test_only_one_sampler_runs_at_a_time(scenario):
    result = scenario("""
        s = Sampler(rate_hz=100)
        s.start()
        errors = []
        for attempt in (s.start, Sampler(rate_hz=100).start):
            try:
                attempt()
            except SamplerError as exc:
                errors.append(str(exc))
        s.stop()
        report(errors=errors)
    """)
    assert len(result["errors"]) == 2
    assert all("already running" in e for e in result["errors"])


def test_exit_without_stop_with_busy_daemon_threads(scenario):
    # The interpreter finalises while threads still burn CPU; the sampler
    # must be stopped (atexit) before thread states are freed.
    for attempt in range(4):
        result = scenario("""
            import threading
            def forever():
                while True:
                    burn(0.01)
            s = Sampler(rate_hz=5000)
            s.start()
            for _ in range(3):
                threading.Thread(target=forever, daemon=True).start()
            burn(0.1)
            report(ok=True)
        """)
        assert result["ok"]


def test_timers_of_ended_threads_are_deleted(scenario):
    result = scenario("""
        import threading
        from pyprof import _core
        def armed():
            stats = _core.ffi.new("pyprof_stats *")
            _core.lib.pyprof_sampler_get_stats(stats)
            return stats.armed
        s = Sampler(rate_hz=1000)
        s.start()
        gate = threading.Event()
        workers = [threading.Thread(target=gate.wait) for _ in range(5)]
        for w in workers: w.start()
        time.sleep(0.1)
        while_running = armed()
        gate.set()
        for w in workers: w.join()
        time.sleep(0.1)  # a few drain intervals
        after = armed()
        s.stop()
        report(while_running=while_running, after=after, at_stop=armed(),
               threads=s.stats["threads"])
    """)
    assert result["while_running"] == 6, result  # main + 5 workers
    assert result["after"] == 1, result  # main only
    assert result["at_stop"] == 0, result
    assert result["threads"] == 6, result


def test_our_signal_from_elsewhere_is_not_a_sample(scenario):
    result = scenario("""
        import os, signal
        from pyprof import _core
        s = Sampler(rate_hz=100)
        s.start()
        stats = _core.ffi.new("pyprof_stats *")
        _core.lib.pyprof_sampler_get_stats(stats)
        for _ in range(50):
            os.kill(os.getpid(), stats.signo)
        _core.lib.pyprof_sampler_get_stats(stats)
        s.stop()
        report(stray=stats.stray, signo=stats.signo)
    """)
    assert result["stray"] == 50
    assert signal.SIGRTMIN <= result["signo"] <= signal.SIGRTMAX
