"""The C core's ring buffer and stack truncation, through the cffi module."""

import struct

import pytest

from pyprof import _core

ffi = _core.ffi
lib = _core.lib
HEAD = struct.Struct("<QIiII")


def records(buf, size, n):
    """(head fields, [(code, instr, zero), ...]) for n popped records."""
    view = ffi.buffer(buf)
    out = []
    for i in range(n):
        time_ns, weight, tid, depth, truncated = HEAD.unpack_from(view, i * size)
        raw = struct.unpack_from("<" + "Qii" * depth, view, i * size + 24)
        frames = [raw[j:j + 3] for j in range(0, 3 * depth, 3)]
        out.append(((time_ns, weight, tid, depth, truncated), frames))
    return out


@pytest.fixture
def ring():
    made = []

    def make(nslots, max_frames=16):
        r = lib.pyprof_ring_new(nslots, max_frames)
        assert r != ffi.NULL
        made.append(r)
        return r

    yield make
    for r in made:
        lib.pyprof_ring_free(r)


def pop_all(r, limit=100000):
    size = lib.pyprof_ring_record_size(r)
    buf = ffi.new("char[]", size * 256)
    got = []
    while len(got) < limit:
        n = lib.pyprof_ring_pop(r, buf, 256)
        got.extend(records(buf, size, n))
        if n < 256:
            break
    return got


def test_record_size_is_header_plus_fixed_frames(ring):
    r = ring(8, max_frames=16)
    assert lib.pyprof_ring_record_size(r) == 24 + 16 * 16
    assert ffi.sizeof("pyprof_record_head") == 24
    assert ffi.sizeof("pyprof_frame") == 16


def test_ring_geometry_is_checked():
    assert lib.pyprof_ring_new(6, 16) == ffi.NULL  # not a power of two
    assert lib.pyprof_ring_new(8, 3) == ffi.NULL  # too few frames


def test_wrap_around_keeps_order_over_many_laps(ring):
    r = ring(8)
    pattern = 0
    for lap in range(50):
        batch = 1 + lap % 8
        for _ in range(batch):
            assert lib.pyprof_ring_test_push(r, 7, pattern % 16, pattern) == 0
            pattern += 1
        got = pop_all(r)
        assert [head[0] for head, _ in got] == list(range(pattern - batch, pattern))
        size = lib.pyprof_ring_record_size(r)
        for head, frames in got:
            assert len(frames) == head[3] == head[0] % 16
    assert lib.pyprof_ring_dropped(r) == 0


def test_full_ring_drops_and_counts_exactly(ring):
    r = ring(8)
    results = [lib.pyprof_ring_test_push(r, 1, 3, i) for i in range(20)]
    assert results == [0] * 8 + [lib.PYPROF_EFULL] * 12
    assert lib.pyprof_ring_dropped(r) == 12
    got = pop_all(r)
    assert [head[0] for head, _ in got] == list(range(8))
    # Space freed by the consumer is usable again.
    assert lib.pyprof_ring_test_push(r, 1, 3, 99) == 0
    assert [head[0] for head, _ in pop_all(r)] == [99]
    assert lib.pyprof_ring_dropped(r) == 12


def test_concurrent_producers_never_tear_a_record(ring):
    nthreads, count = 4, 40000
    r = ring(256, max_frames=32)
    size = lib.pyprof_ring_record_size(r)
    buf = ffi.new("char[]", size * 128)
    assert lib.pyprof_ring_test_spawn(r, nthreads, count) == 0
    popped = 0
    last = {}
    torn = 0
    out_of_order = 0
    while popped + lib.pyprof_ring_dropped(r) < nthreads * count:
        n = lib.pyprof_ring_pop(r, buf, 128)
        for i in range(n):
            rec = ffi.cast("char *", buf) + i * size
            if not lib.pyprof_ring_test_check(rec, 32):
                torn += 1
        for (time_ns, _, tid, _, _), _ in records(buf, size, n):
            seq = time_ns & 0xFFFFFFFF
            if seq <= last.get(tid, -1):
                out_of_order += 1
            last[tid] = seq
        popped += n
    failed = lib.pyprof_ring_test_join()
    popped += len(pop_all(r))
    assert torn == 0
    assert out_of_order == 0
    assert failed == lib.pyprof_ring_dropped(r)
    assert popped + failed == nthreads * count
    assert popped > 0


@pytest.mark.parametrize("total, max_frames", [
    (0, 8), (1, 8), (7, 8), (8, 8), (9, 8), (10, 8), (11, 8), (12, 8),
    (13, 8), (100, 8), (5, 5), (6, 5), (17, 5), (128, 128), (129, 128),
    (191, 128), (192, 128), (193, 128), (300, 128), (1000, 128),
])
def test_truncation_keeps_innermost_and_outermost(total, max_frames):
    size = 24 + 16 * max_frames
    buf = ffi.new("char[]", size)
    assert lib.pyprof_ring_test_trunc(total, max_frames, buf) == 0
    (head, frames), = records(buf, size, 1)
    depth, cut = head[3], head[4]
    codes = [code for code, _, _ in frames]
    stack = list(range(1, total + 1))  # innermost first
    if total <= max_frames:
        assert (depth, cut) == (total, 0)
        assert codes == stack
    else:
        inner = max_frames // 2
        outer = max_frames - inner - 1  # one place left for the marker
        assert depth == max_frames - 1
        assert cut == total - depth
        assert codes == stack[:inner] + stack[total - outer:]
    assert [instr for _, instr, _ in frames] == [c - 1 for c in codes]
    assert all(zero == 0 for _, _, zero in frames)
