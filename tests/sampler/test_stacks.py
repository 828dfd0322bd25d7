"""What the sampled stacks contain: names, truncation, threads."""


def test_qualified_names_on_every_version(scenario):
    result = scenario("""
        class Shop:
            def checkout(self):
                burn(0.15)

        def outer():
            def inner():
                burn(0.15)
            inner()

        square = lambda: burn(0.15)

        import functools
        def deco(func):
            @functools.wraps(func)
            def wrapper(*args):
                return func(*args)
            return wrapper

        class Outer:
            class Inner:
                @deco
                def deep(self):
                    burn(0.15)

        s = Sampler(rate_hz=1000)
        s.start()
        Shop().checkout()
        outer()
        square()
        [burn(0.15) for _ in range(1)]
        Outer.Inner().deep()
        burn(0.15)
        s.stop()
        stacks = [[f[0] for f in frames] for (_, frames), _ in s.take().items()]
        report(stacks=stacks, version=list(sys.version_info[:2]))
    """)
    stacks = result["stacks"]
    callers = {tuple(stack[1:3]) for stack in stacks if stack[0] == "burn"}
    assert ("Shop.checkout", "<module>") in callers, callers
    assert ("outer.<locals>.inner", "outer") in callers, callers
    assert ("<lambda>", "<module>") in callers, callers
    # functools.wraps copies __qualname__ onto the wrapper function; the
    # wrapper's code keeps its own name.
    assert ("Outer.Inner.deep", "deco.<locals>.wrapper") in callers, callers
    if result["version"] < [3, 12]:
        assert ("<listcomp>", "<module>") in callers, callers
    assert all(stack[-1] == "<module>" for stack in stacks)


def test_deep_recursion_is_truncated_with_one_marker(scenario):
    result = scenario("""
        sys.setrecursionlimit(2000)
        def down(n):
            if n == 0:
                burn(0.5)
            else:
                down(n - 1)
        s = Sampler(rate_hz=1000, max_frames=128)
        s.start()
        down(300)
        s.stop()
        stacks = [[list(f) for f in frames] for (_, frames), _ in s.take().items()]
        report(stacks=stacks, stats=s.stats)
    """)
    assert result["stats"]["truncated"] > 0
    deep = [st for st in result["stacks"] if st[0][0] == "burn"]
    assert deep
    for stack in deep:
        assert len(stack) == 128
        markers = [i for i, f in enumerate(stack) if f[0].startswith("[truncated")]
        assert markers == [64]
        # burn + 301 down frames + <module> = 303; 127 kept.
        assert stack[64] == ["[truncated 176 frames]", "", 0, 0]
        assert [f[0] for f in stack[:64]] == ["burn"] + ["down"] * 63
        assert [f[0] for f in stack[65:]] == ["down"] * 62 + ["<module>"]


def test_thread_started_after_start_with_low_level_api_is_sampled(scenario):
    result = scenario("""
        import _thread, threading
        done = threading.Event()
        def raw_worker():
            burn(0.4)
            done.set()
        s = Sampler(rate_hz=1000)
        s.start()
        _thread.start_new_thread(raw_worker, ())
        done.wait(30)
        time.sleep(0.05)
        s.stop()
        threads = {}
        for (thread, frames), (_, periods) in s.take().items():
            if frames[-1][0] == "raw_worker":
                threads[thread] = threads.get(thread, 0) + periods
        report(threads=threads)
    """)
    threads = result["threads"]
    assert len(threads) == 1, threads
    (name, periods), = threads.items()
    assert name.startswith("thread-")
    assert periods > 200  # 0.4 s at 1 kHz; first 20 ms may be missed


def test_start_stop_start_again(scenario):
    result = scenario("""
        runs = []
        s = Sampler(rate_hz=500)
        for _ in range(3):
            s.start()
            burn(0.2)
            s.stop()
            s.stop()  # idempotent
            runs.append(sum(p for _, (_, p) in s.take().items()))
        other = Sampler(rate_hz=500)
        other.start(); burn(0.2); other.stop()
        runs.append(sum(p for _, (_, p) in other.take().items()))
        report(runs=runs)
    """)
    for periods in result["runs"]:
        assert 60 < periods < 140, result  # 0.2 s at 500 Hz = 100


def test_take_while_running_returns_and_resets(scenario):
    result = scenario("""
        s = Sampler(rate_hz=1000)
        s.start()
        burn(0.3)
        first = sum(p for _, (_, p) in s.take().items())
        burn(0.3)
        s.stop()
        second = sum(p for _, (_, p) in s.take().items())
        third = s.take()
        report(first=first, second=second, third=len(third))
    """)
    assert 200 < result["first"] < 400
    assert 200 < result["second"] < 400
    assert result["third"] == 0


def test_c_thread_entering_python_is_sampled(scenario):
    result = scenario("""
        from pyprof import _core
        s = Sampler(rate_hz=1000)
        s.start()
        source = (b"import time\\n"
                  b"def from_c_thread():\\n"
                  b"    end = time.thread_time() + 0.4\\n"
                  b"    while time.thread_time() < end: pass\\n"
                  b"from_c_thread()\\n")
        rc = _core.lib.pyprof_test_c_thread(source)
        s.stop()
        periods = sum(p for (_, frames), (_, p) in s.take().items()
                      if frames[0][0] == "from_c_thread")
        report(rc=rc, periods=periods)
    """)
    assert result["rc"] == 0
    assert result["periods"] > 250, result  # 0.4 s at 1 kHz


def test_short_lived_threads_are_sampled_from_their_start(scenario):
    # Each thread lives ~10 ms, less than the drain's 20 ms scan: only
    # arming at thread start catches them (without it: ~40 of 400 periods).
    # The kernel checks CPU timers on its tick, so the CPU a thread uses
    # after its last tick is never sampled: expect ~75% of 400.
    result = scenario("""
        import threading
        s = Sampler(rate_hz=1000)
        s.start()
        for i in range(40):
            t = threading.Thread(target=burn, args=(0.010,), name=f"short-{i}")
            t.start(); t.join()
        s.stop()
        per_name = {}
        for (thread, frames), (_, p) in s.take().items():
            per_name[thread] = per_name.get(thread, 0) + p
        short = sum(p for name, p in per_name.items() if name.startswith("short-"))
        report(short=short, names=sorted(per_name))
    """)
    assert 200 < result["short"] < 480, result  # 40 x 10 ms = 400 periods
    assert not any(n.startswith("thread-") for n in result["names"]), result
