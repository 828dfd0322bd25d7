"""CPU shares, threads and lines measured through Sampler."""


def test_cpu_split_50_30_20_within_5_points(scenario):
    result = scenario("""
        def fifty(s): burn(s)
        def thirty(s): burn(s)
        def twenty(s): burn(s)

        s = Sampler(rate_hz=1000)
        s.start()
        for _ in range(60):  # interleaved, 3 s of CPU in all
            fifty(0.025); thirty(0.015); twenty(0.010)
        s.stop()
        agg = s.take()
        cpu = by_name(agg, anywhere=True)
        total = sum(p for (_, _), (_, p) in agg.items())
        report(shares={k: cpu.get(k, 0) / total for k in ("fifty", "thirty", "twenty")},
               cpu_ns=total * s.period_ns, stats=s.stats)
    """)
    shares = result["shares"]
    assert abs(shares["fifty"] - 0.50) < 0.05, shares
    assert abs(shares["thirty"] - 0.30) < 0.05, shares
    assert abs(shares["twenty"] - 0.20) < 0.05, shares
    # Overruns weight each sample, so the total stays near the 3 s burnt
    # even though the kernel only checks CPU timers on its tick.
    assert 2.4e9 < result["cpu_ns"] < 3.9e9, result
    assert result["stats"]["timer"] == "thread-cpu"
    assert result["stats"]["dropped"] == 0


def test_four_busy_threads_share_evenly_and_idle_thread_is_quiet(scenario):
    result = scenario("""
        import threading
        stop_idle = threading.Event()
        s = Sampler(rate_hz=1000)
        s.start()
        idle = threading.Thread(target=stop_idle.wait, name="idle")
        idle.start()
        busy = [threading.Thread(target=burn, args=(0.6,), name=f"busy-{i}")
                for i in range(4)]
        for t in busy: t.start()
        for t in busy: t.join()
        stop_idle.set(); idle.join()
        s.stop()
        per_thread = {}
        for (thread, frames), (_, periods) in s.take().items():
            per_thread[thread] = per_thread.get(thread, 0) + periods
        report(per_thread=per_thread, stats=s.stats)
    """)
    per_thread = result["per_thread"]
    busy_total = sum(per_thread.get(f"busy-{i}", 0) for i in range(4))
    for i in range(4):
        share = per_thread.get(f"busy-{i}", 0) / busy_total
        assert abs(share - 0.25) < 0.08, per_thread
    assert per_thread.get("idle", 0) <= 0.01 * busy_total, per_thread
    assert result["stats"]["threads"] >= 6  # main, idle, 4 busy


def test_hot_line_is_the_top_name_and_line(scenario):
    result = scenario("""
        import inspect
        def hot():
            total = 0
            for i in range(3000):
                total += 1
            for i in range(30000):
                total += (i * i) % 7 + (i ^ 5) // 3  # the hot line
            return total
        line = next(n for n, text in enumerate(inspect.getsource(hot).splitlines())
                    if "the hot line" in text) + hot.__code__.co_firstlineno
        s = Sampler(rate_hz=1000)
        s.start()
        end = time.process_time() + 1.0
        while time.process_time() < end:
            hot()
        s.stop()
        leaf = {}
        for (thread, frames), (_, periods) in s.take().items():
            key = (frames[0][0], frames[0][3])
            leaf[key] = leaf.get(key, 0) + periods
        top = max(leaf, key=leaf.get)
        report(top=list(top), line=line, share=leaf[top] / sum(leaf.values()))
    """)
    assert result["top"] == ["hot", result["line"]]
    assert result["share"] > 0.5, result


def test_effective_rate_warning_above_kernel_tick(scenario):
    result = scenario("""
        s = Sampler(rate_hz=5000)
        s.start()
        burn(0.8)
        s.stop()
        s.take()
        report(stats=s.stats, warnings=s.warnings, period=s.period_ns)
    """)
    stats = result["stats"]
    assert result["period"] == 200_000
    assert stats["requested_hz"] == 5000
    assert stats["effective_hz"] == round(5000 * stats["samples"] / stats["periods"], 1)
    # CPU time is counted in full: 0.8 s at 5 kHz is about 4000 periods.
    assert 3000 < stats["periods"] < 5200, stats
    if stats["effective_hz"] < 4000:
        assert any("below the 5000 Hz asked for" in w for w in result["warnings"])
