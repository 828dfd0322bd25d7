"""The synthetic profiles of pprof's driver tests, for the DOT golden files.

The shared corpus README (../shared/corpus/upstream/README.md) describes
how upstream built them; they are rebuilt here as Profile messages. Names
are given already readable ("line1000") with the system name kept apart
("mangled1000"), as pprof's test symbolizer leaves them.
"""

import os
from pathlib import Path

from pyprof._proto import profile_pb2

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("PYPROF_CORPUS", REPO / ".." / "shared" / "corpus"))
UPSTREAM = CORPUS / "upstream"
GOLDEN = UPSTREAM / "golden" / "internal" / "driver" / "testdata"
REPORT_GOLDEN = UPSTREAM / "golden" / "internal" / "report" / "testdata"
PROFILES = UPSTREAM / "profiles" / "internal"

FILES = {
    "line1000": "testdata/file1000.src",
    "line2000": "testdata/file2000.src", "line2001": "testdata/file2000.src",
    "line3000": "testdata/file3000.src", "line3001": "testdata/file3000.src",
    "line3002": "testdata/file3000.src",
    "pruneme": "prune.h", "malloc": "malloc.h", "operator new": "new.h",
}


class Builder:
    def __init__(self, sample_types, mapping_file="", build_id=""):
        self.p = profile_pb2.Profile(string_table=[""])
        self.index = {"": 0}
        self.functions = {}
        for t, u in sample_types:
            self.p.sample_type.add(type=self.s(t), unit=self.s(u))
        self.p.mapping.add(id=1, memory_start=0x1000, memory_limit=0x4000,
                           filename=self.s(mapping_file), build_id=self.s(build_id),
                           has_functions=True, has_filenames=True,
                           has_line_numbers=True, has_inline_frames=True)

    def s(self, text):
        if text not in self.index:
            self.index[text] = len(self.p.string_table)
            self.p.string_table.append(text)
        return self.index[text]

    def function(self, name, filename, system_name=None):
        if name not in self.functions:
            if system_name is None:
                system_name = "mangled" + name[4:] if name.startswith("line") else name
            fid = len(self.functions) + 1
            self.p.function.add(id=fid, name=self.s(name),
                                system_name=self.s(system_name),
                                filename=self.s(filename))
            self.functions[name] = fid
        return self.functions[name]

    def location(self, lid, lines):
        """lines: (name, line), innermost first; the location's address is
        its id read as hexadecimal (1000 -> 0x1000)."""
        loc = self.p.location.add(id=lid, mapping_id=1, address=int(str(lid), 16))
        for name, line in lines:
            loc.line.add(function_id=self.function(name, FILES[name]), line=line)

    def sample(self, stack, values, labels=None, numbers=None):
        s = self.p.sample.add(location_id=stack, value=values)
        for key, value in (labels or {}).items():
            s.label.add(key=self.s(key), str=self.s(value))
        for key, values in (numbers or {}).items():
            for v in values:
                s.label.add(key=self.s(key), num=v)
        return s


def cpu_profile():
    b = Builder([("samples", "count"), ("cpu", "milliseconds")],
                mapping_file="/path/to/testbinary")
    b.p.period_type.type, b.p.period_type.unit = b.s("cpu"), b.s("milliseconds")
    b.p.period, b.p.duration_nanos = 1, 10_000_000_000
    b.location(1000, [("line1000", 1)])
    b.location(2000, [("line2001", 9), ("line2000", 4)])
    b.location(3000, [("line3002", 2), ("line3001", 5), ("line3000", 6)])
    b.location(3001, [("line3001", 8), ("line3000", 9)])
    b.location(3002, [("line3002", 5), ("line3000", 9)])
    b.sample([1000, 2000, 3000], [1000, 1000], {"key1": "tag1", "key2": "tag1"})
    b.sample([1000, 3001], [100, 100], {"key1": "tag2", "key3": "tag2"})
    b.sample([2000, 3002], [10, 10], {"key1": "tag3", "key2": "tag2"})
    b.sample([3000], [10, 10], {"key1": "tag4", "key2": "tag1"})
    return b.p


def heap_profile(types=("inuse_objects", "inuse_space"), extra_sizes=()):
    """pprof's heap test profile; each sample has a numeric label "bytes"
    (and extra_sizes appended to it, for heap_sizetags)."""
    b = Builder([(types[0], "count"), (types[1], "bytes")], build_id="buildid")
    b.p.period_type.type, b.p.period_type.unit = b.s("allocations"), b.s("bytes")
    b.p.period = 524288
    b.p.comment.extend([b.s("comment"), b.s("#hidden comment")])
    b.p.drop_frames = b.s(".*operator new.*|malloc")
    b.location(1000, [("pruneme", 100), ("malloc", 100), ("line1000", 1)])
    b.location(2000, [("operator new", 100), ("line2001", 2), ("line2000", 3)])
    b.location(3000, [("operator new", 100), ("line3002", 3), ("line3001", 2),
                      ("line3000", 4)])
    b.location(3001, [("pruneme", 100), ("operator new", 100), ("line3001", 2),
                      ("line3000", 4)])
    b.location(3002, [("line3002", 3), ("line3000", 4)])
    for stack, objects, space, size in (([1000, 2000, 3000], 10, 1024000, 102400),
                                        ([1000, 3001], 20, 4096000, 204800),
                                        ([2000, 3002], 40, 65536000, 1638400),
                                        ([3000], 80, 32768000, 409600)):
        b.sample(stack, [objects, space], numbers={"bytes": [size, *extra_sizes]})
    return b.p


def heap_alloc_profile():
    return heap_profile(("alloc_objects", "alloc_space"))


def heap_sizetags_profile():
    return heap_profile(extra_sizes=(2, 4, 8, 16, 32, 64, 128, 256))


def contention_profile():
    b = Builder([("contentions", "count"), ("delay", "nanoseconds")],
                build_id="buildid-contention")
    b.p.period_type.type, b.p.period_type.unit = b.s("contentions"), b.s("count")
    b.p.period = 524288
    b.p.comment.extend([b.s("Comment #1"), b.s("Comment #2")])
    b.location(1000, [("line1000", 1)])
    b.location(2000, [("line2001", 2), ("line2000", 3)])
    b.location(3000, [("line3002", 2), ("line3001", 3), ("line3000", 5)])
    b.location(3001, [("line3001", 3), ("line3000", 5)])
    b.location(3002, [("line3002", 4), ("line3000", 3)])
    b.sample([1000, 2000, 3000], [10, 10240000])
    b.sample([1000, 3001], [20, 40960000])
    b.sample([2000, 3002], [40, 65536000])
    b.sample([3000], [80, 32768000])
    return b.p


def long_name_funcs_profile():
    b = Builder([("samples", "count"), ("cpu", "milliseconds")],
                mapping_file="/path/to/testbinary")
    b.p.period_type.type, b.p.period_type.unit = b.s("cpu"), b.s("milliseconds")
    b.p.period, b.p.duration_nanos = 1, 10_000_000_000
    names = {
        1000: ("path/to/package1.object.function1", "path/to/package1.go", 1),
        2000: ("(anonymous namespace)::Bar::Foo", "a/long/path/to/package2.cc", 4),
        3000: ("java.bar.foo.FooBar.run(java.lang.Runnable)", "FooBar.java", 9),
    }
    for lid, (name, filename, line) in names.items():
        # No system name: pprof would otherwise take the C++-looking name
        # for one to simplify (upstream's test symbolizer leaves it alone).
        loc = b.p.location.add(id=lid, mapping_id=1, address=int(str(lid), 16))
        loc.line.add(function_id=b.function(name, filename, system_name=""),
                     line=line)
    b.sample([1000, 2000, 3000], [1000, 1000])
    b.sample([1000, 2000], [100, 100])
    b.sample([3000], [10, 10])
    return b.p


def source_profile():
    """The profile of pprof's report test behind source.dot: functions in
    testdata/source1 and /some/path/testdata/source2, values in "cycles".

    The value column's type is left empty: upstream's test passes no type,
    so its legend has no "Type:" line, and neither has pprof's for an
    unnamed type. Lines carry columns, which Go 1.19 ignores.
    """
    p = profile_pb2.Profile(string_table=[""])
    index = {"": 0}

    def s(text):
        if text not in index:
            index[text] = len(p.string_table)
            p.string_table.append(text)
        return index[text]

    for kind, unit in (("samples", "count"), ("", "cycles")):
        p.sample_type.add(type=s(kind), unit=s(unit))
    p.period_type.type, p.period_type.unit = s("cpu"), s("millisecond")
    p.period, p.duration_nanos = 10, 10_000_000_000
    p.mapping.add(id=1, has_functions=True, has_filenames=True,
                  has_line_numbers=True, has_inline_frames=True)
    for fid, (name, filename) in enumerate((
            ("main", "testdata/source1"), ("foo", "testdata/source1"),
            ("bar", "testdata/source1"), ("tee", "/some/path/testdata/source2")), 1):
        p.function.add(id=fid, name=s(name), filename=s(filename))
    # Location id: lines (function id, line, column), innermost first.
    locations = {1: [(1, 2, 2)], 2: [(2, 4, 4)], 3: [(3, 10, 0)], 4: [(4, 2, 0)],
                 5: [(4, 8, 0)], 6: [(4, 7, 0), (3, 6, 0)]}
    for lid, lines in locations.items():
        loc = p.location.add(id=lid, mapping_id=1)
        for fid, line, column in lines:
            loc.line.add(function_id=fid, line=line, column=column)
    for stack, cycles in (([1], 1), ([3, 2, 1], 10), ([5, 3, 1], 100), ([4, 1], 1000),
                          ([5, 4, 1], 10000)):
        p.sample.add(location_id=stack, value=[1, cycles])
    return p


def cpu_more_profile():
    """The cpu profile with other weights and one more stack, to compare
    against it (-base, -diff_base): some calls grow, some shrink."""
    p = cpu_profile()
    for sample, scale in zip(p.sample, (3, 0.5, 2, 1)):
        sample.value[:] = [int(v * scale) for v in sample.value]
    extra = p.sample.add(location_id=[3002, 1000], value=[40, 40])
    strings = list(p.string_table)
    extra.label.add(key=strings.index("key1"), str=strings.index("tag2"))
    return p


def odd_names_profile():
    """Names that need escaping or shortening in DOT: quotes, backslashes,
    a newline, Go module versions and type parameters, C++ namespaces,
    Python's qualified names; a quote in a label and in the binary's name."""
    b = Builder([("samples", "count"), ("cpu", "nanoseconds")],
                mapping_file='/usr/bin/py"thon 3')
    names = ['q"uote', "back\\slash", "pkg/v2/mod.Type.method",
             "std::vector<int>::push_back", "new\nline", "<module>",
             "Pricer.price.<locals>.discounted", "main.(*T[...]).M"]
    for i, name in enumerate(names, 1):
        fid = b.function(name, f"dir/file{i % 3}.py", system_name="")
        loc = b.p.location.add(id=i, mapping_id=1, address=0x1000 + i)
        loc.line.add(function_id=fid, line=10 * i)
    b.sample([1, 2, 3, 4, 5, 6], [3, 30_000_000], {"thread": 'Main"Thread'})
    b.sample([7, 8, 6], [2, 20_000_000], {"thread": "worker"})
    return b.p


def random_profile(seed):
    """A small random profile: stacks up to 7 deep over a dozen functions
    (recursion, inlined frames), string labels on some samples and 0 to 6
    numeric "bytes" labels on others. The same seed gives the same one."""
    import random

    rnd = random.Random(seed)
    b = Builder([("samples", "count"), ("space", "bytes")], mapping_file="/bin/x")
    names = [f"f{i}" for i in range(rnd.randint(3, 12))]
    locations = {}

    def location(lines):
        if lines not in locations:
            lid = len(locations) + 1
            loc = b.p.location.add(id=lid, mapping_id=1, address=0x1000 + lid)
            for name, line in lines:
                fid = b.function(name, "app.py", system_name="")
                loc.line.add(function_id=fid, line=line)
            locations[lines] = lid
        return locations[lines]

    for _ in range(rnd.randint(1, 25)):
        stack = []
        for _ in range(rnd.randint(1, 7)):
            inlined = rnd.randint(2, 3) if rnd.random() < 0.2 else 1
            lines = tuple((rnd.choice(names), rnd.randint(1, 4))
                          for _ in range(inlined))
            stack.append(location(lines))
        space = rnd.choice([1, 10, 100, 1000, 4096, 65536, 10**6]) * rnd.randint(1, 9)
        labels = {}
        if rnd.random() < 0.5:
            labels["k"] = rnd.choice("abc")
        if rnd.random() < 0.3:
            labels["j"] = rnd.choice("xy")
        sizes = [rnd.choice([8, 64, 100, 512, 4096, 1 << 20, 3 << 20])
                 for _ in range(rnd.choice([0, 0, 1, 2, 6]))]
        b.sample(stack, [rnd.randint(1, 5), space], labels, {"bytes": sizes})
    return b.p
