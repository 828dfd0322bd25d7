"""Where a sample's weight goes when one signal stands for many periods.

On a loaded machine the kernel can let a thread run tens of milliseconds
of CPU between two SIGPROFs (it checks CPU timers only on ticks that find
the thread running), so one sample carries many timer overruns. Its weight
is shared between the thread's previous stack and its current one.
"""

import struct
import subprocess
import sys

from pyprof import _sampler


def _stack_a():
    return 1


def _stack_b():
    return 2


class _FakeCore:
    """Stands in for the C core's drain: hands out prepared records, one
    batch per call to drain(), with the real core's record layout."""

    def __init__(self, real, max_frames):
        self._real = real
        self.size = 24 + 16 * max_frames
        self.batches = []

    def __getattr__(self, name):
        return getattr(self._real, name)

    def record(self, tid, weight, codes):
        head = struct.pack("<QIiII", 0, weight, tid, len(codes), 0)
        frames = b"".join(struct.pack("<Qii", id(c), 0, 0) for c in codes)
        return (head + frames).ljust(self.size, b"\0")

    def pyprof_sampler_drain(self, buffer, max_records):
        if not self.batches:
            return 0
        batch = self.batches.pop(0)[:max_records]
        blob = b"".join(batch)
        _sampler._ffi.memmove(buffer, blob, len(blob))
        return len(batch)


def _run_drains(monkeypatch, batches):
    sampler = _sampler.Sampler(rate_hz=1000, max_frames=8)
    fake = _FakeCore(_sampler._lib, 8)
    monkeypatch.setattr(_sampler, "_lib", fake)
    sampler._record_size = fake.size
    sampler._buffer = _sampler._ffi.new("char[]", fake.size * _sampler.DRAIN_BATCH)
    sampler._thread_names[7] = "main"
    a, b = _stack_a.__code__, _stack_b.__code__
    codes = {"A": [a], "B": [b], "-": []}
    for batch in batches:
        fake.batches = [[fake.record(7, w, codes[s]) for s, w in batch]]
        sampler._drain(final=True)
    totals = {}
    for (thread, frames), (samples, periods) in sampler._aggregate.items():
        assert thread == "main"
        entry = totals.setdefault(frames[0][0], [0, 0])
        entry[0] += samples
        entry[1] += periods
    return totals


def test_a_long_gap_is_shared_with_the_previous_stack(monkeypatch):
    # A(1) A(4) B(10) B(3): B's 10 periods straddle the A->B boundary.
    totals = _run_drains(monkeypatch, [[("A", 1), ("A", 4), ("B", 10), ("B", 3)]])
    assert totals == {"_stack_a": [2, 1 + 4 + 5], "_stack_b": [2, 5 + 3]}


def test_the_share_crosses_drains_and_an_empty_sample_breaks_the_chain(monkeypatch):
    totals = _run_drains(monkeypatch, [
        [("A", 1), ("A", 2)],          # A: 1 + 1, one period to the first A
        [("B", 8)],                    # 4 go back to A, drained earlier
        [("-", 6), ("A", 9)],          # no Python stack: dropped, as before;
    ])                                 # the A after it keeps all 9
    assert totals == {"_stack_a": [3, 1 + 1 + 1 + 4 + 9], "_stack_b": [1, 4]}


def test_four_equal_functions_under_load_each_near_a_quarter(scenario):
    """Four functions of equal CPU in sequence while two busy processes
    compete for the two cores: none missing, each near its true share."""
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(2)]
    try:
        result = scenario("""
            def meth(): burn(0.3)
            def smeth(): burn(0.3)
            def cmeth(): burn(0.3)
            def prop(): burn(0.3)
            def tail(): burn(0.1)  # the CPU after the last signal is never seen

            s = Sampler(rate_hz=1000)
            s.start()
            meth(); smeth(); cmeth(); prop(); tail()
            s.stop()
            agg = s.take()
            report(cpu=by_name(agg, anywhere=True), period=s.period_ns,
                   stats=s.stats)
        """, timeout=180)
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    ms = {name: result["cpu"].get(name, 0) * result["period"] / 1e6
          for name in ("meth", "smeth", "cmeth", "prop")}
    for name, value in ms.items():
        assert 225 <= value <= 375, ms  # 300 ms each, within 25%
    assert 1000 <= sum(ms.values()) <= 1400, ms
