"""Property test: on random valid profiles, pyprof's -top and -traces text
is the text `go tool pprof` prints, byte for byte.

The generator below is seeded (seed = profile number), so a failure names
a profile that can be rebuilt with make_profile(seed). It mixes what real
profiles contain: one to three sample types, a default sample type or
not, mappings or none, addresses, inlined frames, locations shared by many
stacks, recursion (direct and through another function), empty stacks,
zero and negative values, string and numeric labels (with and without
units), and duplicate samples that Go merges.

Runs go once per profile and view (in parallel); skips without go, except
under CI=true where it fails.
"""

import os
import random
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from pyprof import graph
from pyprof import pprof
from pyprof._proto import profile_pb2
from pyprof.report.top import top_report
from pyprof.report.traces import traces_report

GO = shutil.which("go")
PROFILES = 100
SAMPLE_TYPES = [("samples", "count"), ("cpu", "nanoseconds"), ("alloc_space", "bytes"),
                ("alloc_objects", "count"), ("delay", "nanoseconds"),
                ("wall", "microseconds")]
NAMES = ["main.main", "main.(*Server).handle", "runtime.mallocgc", "encoding/json.Marshal",
         "app.Shop.checkout", "app.render.<locals>.draw", "<lambda>", "parse",
         "worker.run", "sort.Slice", "bytes.(*Buffer).Write", "compute", "fib",
         "net/http.(*conn).serve", "io.Copy", "a", "b_c", "hash/crc32.update"]
FILES = ["main.go", "/src/app/shop.py", "app/render.py", "/usr/lib/go/src/sort/sort.go",
         "x.c", ""]
# Binaries that exist nowhere, so that pprof's symbolization finds nothing.
BINARIES = ["/nonexistent/bin/server", "/nonexistent/lib/libc.so.6", "",
            "/nonexistent/python3.11"]


def make_profile(seed: int) -> profile_pb2.Profile:
    rnd = random.Random(seed)
    p = profile_pb2.Profile(string_table=[""])
    strings = {"": 0}

    def s(text):
        if text not in strings:
            strings[text] = len(p.string_table)
            p.string_table.append(text)
        return strings[text]

    types = rnd.sample(SAMPLE_TYPES, rnd.randint(1, 3))
    for t, u in types:
        p.sample_type.add(type=s(t), unit=s(u))
    if rnd.random() < 0.3:
        p.default_sample_type = s(rnd.choice(types)[0])
    period_type = rnd.choice(types)
    p.period_type.type, p.period_type.unit = s(period_type[0]), s(period_type[1])
    p.period = rnd.choice([0, 1, 10_000_000, 524288])
    if rnd.random() < 0.7:
        p.time_nanos = rnd.randint(1_500_000_000, 1_800_000_000) * 10**9
    p.duration_nanos = rnd.choice([0, 10**9, rnd.randint(1, 10**11)])
    if rnd.random() < 0.3:
        p.comment.append(s(f"comment {seed}"))

    for i in range(rnd.randint(0, 3)):
        start = 0x400000 * (i + 1)
        p.mapping.add(id=i + 1, memory_start=start, memory_limit=start + 0x100000,
                      file_offset=rnd.choice([0, 0x1000]),
                      filename=s(rnd.choice(BINARIES)),
                      has_functions=rnd.random() < 0.7,
                      has_filenames=rnd.random() < 0.5,
                      has_line_numbers=rnd.random() < 0.5,
                      has_inline_frames=rnd.random() < 0.3)

    functions = []
    for i, name in enumerate(rnd.sample(NAMES, rnd.randint(2, len(NAMES)))):
        fid = i + 1
        p.function.add(id=fid, name=s(name),
                       system_name=s(name if rnd.random() < 0.5 else ""),
                       filename=s(rnd.choice(FILES)), start_line=rnd.randint(0, 200))
        functions.append(fid)

    locations = []
    for i in range(rnd.randint(2, 40)):
        lid = i + 1
        loc = p.location.add(id=lid)
        if p.mapping:
            m = rnd.choice(p.mapping)
            loc.mapping_id = m.id
            if rnd.random() < 0.8:
                loc.address = m.memory_start + rnd.randint(0, 0xFFFFF)
        elif rnd.random() < 0.3:
            loc.address = rnd.randint(1, 1 << 40)
        # Mostly symbolized; some bare addresses; some inlined chains.
        if rnd.random() < 0.9:
            for _ in range(rnd.choice([1, 1, 1, 2, 3])):
                loc.line.add(function_id=rnd.choice(functions), line=rnd.randint(0, 300))
        locations.append(lid)

    def stack():
        depth = rnd.choice([0, 1, 2, 3, 4, 5, 6, 8, 12])
        frames = [rnd.choice(locations) for _ in range(depth)]
        if frames and rnd.random() < 0.3:  # recursion: repeat a stretch
            cut = rnd.randint(0, len(frames) - 1)
            frames = frames[: cut + 1] + frames[cut:]
        return frames

    def value():
        r = rnd.random()
        if r < 0.1:
            return 0
        if r < 0.2:
            return -rnd.randint(1, 10**6)
        return rnd.choice([1, 7, 1000, 10_000_000, rnd.randint(1, 10**9)])

    stacks = [stack() for _ in range(rnd.randint(1, 15))]
    for _ in range(rnd.randint(1, 60)):
        sample = p.sample.add(location_id=rnd.choice(stacks),
                              value=[value() for _ in types])
        if rnd.random() < 0.3:
            sample.label.add(key=s("phase"), str=s(rnd.choice(["draw", "parse", "idle"])))
        if rnd.random() < 0.15:
            sample.label.add(key=s("user"), str=s(rnd.choice(["ann", "bob"])))
        if rnd.random() < 0.2:
            unit = rnd.choice(["", "bytes"])
            sample.label.add(key=s("bytes"), num=rnd.choice([64, 4096, 1 << 20]),
                             num_unit=s(unit) if unit else 0)
    return p


def index_flags(seed):
    """The sample index shown: the default for even seeds, the last type
    (by number) for odd ones."""
    if seed % 2 == 0:
        return []
    return [f"-sample_index={len(make_profile(seed).sample_type) - 1}"]


def go_text(path, view, flags=()):
    env = dict(os.environ, TZ="UTC", HOME=os.path.dirname(path),
               PPROF_TMPDIR=os.path.dirname(path),
               PPROF_BINARY_PATH="/nonexistent-pprof-binaries")
    done = subprocess.run([GO, "tool", "pprof", view, *flags, path],
                          capture_output=True, env=env, timeout=120)
    return done.returncode, done.stdout.decode("utf-8", "surrogateescape")


def pyprof_text(path, view, flags=()):
    prepared = graph.prepare(pprof.load(path))
    index = [f.partition("=")[2] for f in flags if f.startswith("-sample_index=")]
    opts = graph.GraphOptions(sample_index=index[0] if index else "")
    if view == "-top":
        return top_report(prepared, opts).text()
    return traces_report(prepared, opts).text()


@pytest.fixture(scope="module")
def go_outputs(tmp_path_factory):
    if not GO:
        if os.environ.get("CI") == "true":
            pytest.fail("go is required under CI=true")
        pytest.skip("go is not installed")
    folder = tmp_path_factory.mktemp("random")
    jobs = []
    for seed in range(PROFILES):
        path = str(folder / f"p{seed}.pb.gz")
        pprof.dump(make_profile(seed), path)
        jobs += [(seed, path, "-top"), (seed, path, "-traces")]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(lambda job: go_text(job[1], job[2], index_flags(job[0])), jobs)
        return {(seed, view): (path, out) for (seed, path, view), out in zip(jobs, results)}


def test_generator_is_deterministic_and_varied():
    assert make_profile(3) == make_profile(3)
    kinds = set()
    for seed in range(PROFILES):
        p = make_profile(seed)
        kinds.add(len(p.sample_type))
        kinds.add("mappings" if p.mapping else "none")
        kinds |= {"negative" for smp in p.sample if any(v < 0 for v in smp.value)}
        kinds |= {"labels" for smp in p.sample if smp.label}
        kinds |= {"inline" for loc in p.location if len(loc.line) > 1}
        kinds |= {"empty" for smp in p.sample if not smp.location_id}
        kinds |= {"recursion" for smp in p.sample
                  if len(set(smp.location_id)) < len(smp.location_id)}
    assert kinds == {1, 2, 3, "mappings", "none", "negative", "labels", "inline",
                     "empty", "recursion"}


@pytest.mark.parametrize("view", ["-top", "-traces"])
def test_random_profiles_match_go(go_outputs, view, utc):
    mismatches = []
    for seed in range(PROFILES):
        path, (status, expected) = go_outputs[(seed, view)]
        assert status == 0, f"go tool pprof {view} failed on profile {seed}"
        mine = pyprof_text(path, view, index_flags(seed))
        if mine != expected:
            mismatches.append(seed)
    assert not mismatches, f"{view} differs from go tool pprof for seeds {mismatches}"
