"""`pyprof record --memory`: the heap profile of a known program."""

import sys

import pytest

from pyprof import pprof

from memhelp import TARGETS
from memhelp import leaf_values
from memhelp import run_pyprof

ALLOC_OBJECTS, ALLOC_SPACE, INUSE_OBJECTS, INUSE_SPACE = range(4)
BLOCK = 100_000 + 1  # a bytearray's buffer keeps a byte for the final NUL
ROUNDS = 16


def record(tmp_path, *args, target="split.py", program_args=()):
    cpu = tmp_path / "cpu.pb.gz"
    heap = tmp_path / "heap.pb.gz"
    done = run_pyprof(
        "record", "-o", str(cpu), "--memory", "--memory-output", str(heap), *args,
        "--", sys.executable, str(TARGETS / target), *program_args,
    )
    assert done.returncode == 0, done.stderr
    return done, cpu, heap


@pytest.mark.slow
def test_default_rate_estimates_the_split_and_keeps_only_the_second(tmp_path):
    done, cpu, heap = record(tmp_path, program_args=[str(ROUNDS)])
    assert "wrote" in done.stderr and str(heap) in done.stderr
    profile = pprof.load(str(heap))
    types = [(profile.string_table[t.type], profile.string_table[t.unit])
             for t in profile.sample_type]
    assert types == [("alloc_objects", "count"), ("alloc_space", "bytes"),
                     ("inuse_objects", "count"), ("inuse_space", "bytes")]
    assert profile.period == 512 * 1024
    assert profile.string_table[profile.period_type.type] == "space"
    assert profile.default_sample_type == 0  # pprof then shows inuse_space

    truth = {"sixty.<locals>.<listcomp>": 600, "forty.<locals>.<listcomp>": 400,
             "thirty.<locals>.<listcomp>": 300}
    if sys.version_info >= (3, 12):  # comprehensions are inlined
        truth = {name.split(".")[0]: n for name, n in truth.items()}
    measured = {name: leaf_values(profile, name) for name in truth}
    true_space = {name: n * BLOCK * ROUNDS for name, n in truth.items()}
    true_total = sum(true_space.values())
    total = sum(v[ALLOC_SPACE] for v in measured.values())
    # At the default rate a sample stands for about 512 KiB, so the
    # estimate of ~2 GB rests on ~3,700 samples: a 15% margin is more than
    # four standard deviations for each function.
    assert abs(total - true_total) <= 0.15 * true_total, (total, true_total)
    for name, values in measured.items():
        share = values[ALLOC_SPACE] / total
        true_share = true_space[name] / true_total
        assert abs(share - true_share) <= 0.15 * true_share, (name, share, true_share)

    inuse_total = sum(s.value[INUSE_SPACE] for s in profile.sample)
    kept = 400 * BLOCK
    forty = [n for n in truth if n.startswith("forty")][0]
    assert measured[forty][INUSE_SPACE] >= 0.8 * inuse_total
    # 40 MB kept is ~76 samples: a 50% margin is over four deviations.
    assert abs(measured[forty][INUSE_SPACE] - kept) <= 0.5 * kept
    for name in truth:
        if name != forty:
            assert measured[name][INUSE_SPACE] == 0


def test_rate_one_counts_every_allocation_exactly(tmp_path):
    done, cpu, heap = record(tmp_path, "--mem-rate", "1", target="exact.py")
    profile = pprof.load(str(heap))
    assert profile.period == 1
    source = (TARGETS / "exact.py").read_text().splitlines()
    keep_line = source.index("        out[i] = bytes(1000)") + 1
    drop_line = source.index("        block = bytearray(3000)") + 1

    def at_line(line):
        strings = profile.string_table
        names = {f.id: strings[f.name] for f in profile.function}
        total = [0, 0, 0, 0]
        for sample in profile.sample:
            leaf = [loc for loc in profile.location
                    if loc.id == sample.location_id[0]][0]
            if leaf.line[0].line == line and \
                    names[leaf.line[0].function_id] in ("keep", "drop"):
                total = [a + b for a, b in zip(total, sample.value)]
        return total

    bytes_size = sys.getsizeof(bytes(1000))
    objects, space, inuse_objects, inuse_space = at_line(keep_line)
    assert (inuse_objects, inuse_space) == (1000, 1000 * bytes_size)
    # 3.9 and 3.10 may allocate one small block of their own on that line
    # (an opcode cache, made when the loop turns hot, whose timing depends
    # on the run) and free it later; 3.11 and later never do.
    extra = objects - 1000
    assert extra in ((0, 1) if sys.version_info < (3, 11) else (0,)), objects
    assert 1000 * bytes_size <= space <= 1000 * bytes_size + 256 * extra
    # Each bytearray: the object and its buffer, both freed.
    objects, space, inuse_objects, inuse_space = at_line(drop_line)
    assert objects == 1000
    assert space == 500 * 3001 + 500 * (sys.getsizeof(bytearray()) )
    assert (inuse_objects, inuse_space) == (0, 0)


def test_record_memory_usage_errors_are_one_line(tmp_path):
    program = str(TARGETS / "exact.py")
    bad_rate = run_pyprof("record", "--memory", "--mem-rate", "0", "--",
                          sys.executable, program, cwd=tmp_path)
    assert bad_rate.returncode == 2
    assert "memory sampling rate" in bad_rate.stderr
    assert "Traceback" not in bad_rate.stderr

    same = run_pyprof("record", "--memory", "-o", "p.pb.gz", "--memory-output",
                      "p.pb.gz", "--", sys.executable, program, cwd=tmp_path)
    assert same.returncode == 2
    assert "--memory-output" in same.stderr

    missing = run_pyprof("record", "--memory", "--memory-output",
                         str(tmp_path / "nowhere" / "h.pb.gz"), "--",
                         sys.executable, program, cwd=tmp_path)
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    assert not list(tmp_path.glob("*.pb.gz"))
