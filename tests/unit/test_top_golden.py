"""-top layouts from pprof's own golden files, on its synthetic profiles.

Upstream pprof's driver tests build small "cpu" and "heap" profiles in code
and keep the text they print. The corpus README describes those profiles;
they are rebuilt here and our text must equal the golden file. Go 1.19
prints the same bytes for these cases (checked when the corpus was made).
Settings common to every upstream case: compact labels, nodecount 20,
nodefraction 0.05, edgefraction 0.01.
"""

import pytest

from profile_maker import CORPUS
from pyprof import graph
from pyprof._proto import profile_pb2
from pyprof.report.top import top_report

GOLDEN = CORPUS / "upstream" / "golden" / "internal" / "driver" / "testdata"


class Builder:
    def __init__(self, sample_types):
        self.p = profile_pb2.Profile(string_table=[""])
        self.index = {"": 0}
        self.functions = {}
        for t, u in sample_types:
            self.p.sample_type.add(type=self.s(t), unit=self.s(u))

    def s(self, text):
        if text not in self.index:
            self.index[text] = len(self.p.string_table)
            self.p.string_table.append(text)
        return self.index[text]

    def function(self, name, system_name, filename):
        if name not in self.functions:
            fid = len(self.functions) + 1
            self.p.function.add(id=fid, name=self.s(name),
                                system_name=self.s(system_name),
                                filename=self.s(filename))
            self.functions[name] = fid
        return self.functions[name]

    def location(self, lid, address, lines, files):
        loc = self.p.location.add(id=lid, mapping_id=1, address=address)
        for name, line in lines:
            system = "mangled" + name[4:] if name.startswith("line") else name
            fid = self.function(name, system, files[name])
            loc.line.add(function_id=fid, line=line)


CPU_FILES = {
    "line1000": "testdata/file1000.src",
    "line2000": "testdata/file2000.src", "line2001": "testdata/file2000.src",
    "line3000": "testdata/file3000.src", "line3001": "testdata/file3000.src",
    "line3002": "testdata/file3000.src",
}


def cpu_profile():
    b = Builder([("samples", "count"), ("cpu", "milliseconds")])
    b.p.period_type.type, b.p.period_type.unit = b.s("cpu"), b.s("milliseconds")
    b.p.period, b.p.duration_nanos = 1, 10_000_000_000
    b.p.mapping.add(id=1, memory_start=0x1000, memory_limit=0x4000,
                    filename=b.s("/path/to/testbinary"), has_functions=True,
                    has_filenames=True, has_line_numbers=True, has_inline_frames=True)
    b.location(1000, 0x1000, [("line1000", 1)], CPU_FILES)
    b.location(2000, 0x2000, [("line2001", 9), ("line2000", 4)], CPU_FILES)
    b.location(3000, 0x3000, [("line3002", 2), ("line3001", 5), ("line3000", 6)],
               CPU_FILES)
    b.location(3001, 0x3001, [("line3001", 8), ("line3000", 9)], CPU_FILES)
    b.location(3002, 0x3002, [("line3002", 5), ("line3000", 9)], CPU_FILES)
    for stack, v in (([1000, 2000, 3000], 1000), ([1000, 3001], 100),
                     ([2000, 3002], 10), ([3000], 10)):
        b.p.sample.add(location_id=stack, value=[v, v])
    return b.p


def heap_profile(types=("inuse_objects", "inuse_space")):
    files = dict(CPU_FILES, pruneme="prune.h", malloc="malloc.h")
    files["operator new"] = "new.h"
    b = Builder([(types[0], "count"), (types[1], "bytes")])
    b.p.period_type.type, b.p.period_type.unit = b.s("allocations"), b.s("bytes")
    b.p.period = 524288
    b.p.comment.extend([b.s("comment"), b.s("#hidden comment")])
    b.p.drop_frames = b.s(".*operator new.*|malloc")
    b.p.mapping.add(id=1, memory_start=0x1000, memory_limit=0x4000,
                    build_id=b.s("buildid"), has_functions=True,
                    has_filenames=True, has_line_numbers=True, has_inline_frames=True)
    b.location(1000, 0x1000, [("pruneme", 100), ("malloc", 100), ("line1000", 1)],
               files)
    b.location(2000, 0x2000, [("operator new", 100), ("line2001", 2),
                              ("line2000", 3)], files)
    b.location(3000, 0x3000, [("operator new", 100), ("line3002", 3),
                              ("line3001", 2), ("line3000", 4)], files)
    b.location(3001, 0x3001, [("pruneme", 100), ("operator new", 100),
                              ("line3001", 2), ("line3000", 4)], files)
    b.location(3002, 0x3002, [("line3002", 3), ("line3000", 4)], files)
    for stack, objects, space in (([1000, 2000, 3000], 10, 1024000),
                                  ([1000, 3001], 20, 4096000),
                                  ([2000, 3002], 40, 65536000),
                                  ([3000], 80, 32768000)):
        b.p.sample.add(location_id=stack, value=[objects, space])
    return b.p


CASES = {
    "pprof.cpu.flat.functions.text": (cpu_profile, {}),
    "pprof.cpu.flat.functions.noinlines.text": (cpu_profile, {"noinlines": True}),
    "pprof.cpu.flat.filefunctions.noinlines.text": (
        cpu_profile, {"granularity": "filefunctions", "noinlines": True}),
    "pprof.cpu.flat.addresses.noinlines.text": (
        cpu_profile, {"granularity": "addresses", "noinlines": True}),
    "pprof.heap.flat.files.text": (heap_profile, {"granularity": "files"}),
    "pprof.heap.flat.inuse_objects.text": (
        heap_profile, {"sample_index": "inuse_objects"}),
    "pprof.heap_alloc.flat.alloc_objects.text": (
        lambda: heap_profile(("alloc_objects", "alloc_space")),
        {"sample_index": "alloc_objects"}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_top_matches_upstream_golden_file(name):
    golden = GOLDEN / name
    assert golden.exists(), f"the shared corpus is missing: {golden}"
    make, flags = CASES[name]
    opts = graph.GraphOptions(nodecount=20, nodefraction=0.05, edgefraction=0.01,
                              **flags)
    report = top_report(graph.prepare(make()), opts, compact_labels=True)
    assert report.text() == golden.read_text()
