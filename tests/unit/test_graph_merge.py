"""graph.prepare's merge step: what Go 1.19 does to every profile it reads."""

from profile_maker import ProfileMaker
from pyprof import graph


def stacks(prepared):
    return [
        ([loc.lines[0][0].name for loc in s.locations], s.values)
        for s in prepared.samples
    ]


def test_equal_stacks_are_summed_in_first_position_and_zeros_dropped():
    m = ProfileMaker()
    m.sample(["a", "main"], 1, 10)
    m.sample(["b", "main"], 0, 0)
    m.sample(["c", "main"], 2, 20)
    m.sample(["a", "main"], 3, 30)
    p = graph.prepare(m.p)
    assert stacks(p) == [(["a", "main"], [4, 40]), (["c", "main"], [2, 20])]


def test_samples_that_cancel_out_are_dropped():
    m = ProfileMaker()
    m.sample(["a", "main"], 1, 10)
    m.sample(["b", "main"], 2, 20)
    m.sample(["a", "main"], -1, -10)
    p = graph.prepare(m.p)
    assert stacks(p) == [(["b", "main"], [2, 20])]
    assert [loc.id for loc in p.locations] == [1, 2]
    assert graph.total(p, 1) == 20


def test_labels_keep_samples_apart():
    m = ProfileMaker()
    for thread in ("MainThread", "worker", "MainThread"):
        m.sample(["a", "main"], 1, 10)
        label = m.p.sample[-1].label.add(key=m.s("thread"), str=m.s(thread))
        assert label.str
    p = graph.prepare(m.p)
    assert [(s.labels, s.values) for s in p.samples] == [
        ({"thread": ["MainThread"]}, [2, 20]),
        ({"thread": ["worker"]}, [1, 10]),
    ]


def test_locations_and_functions_renumbered_in_order_of_use():
    m = ProfileMaker()
    m.location(("unused", 1))
    m.sample(["leaf", "root"], 1, 10)
    m.sample(["other", "root"], 1, 10)
    p = graph.prepare(m.p)
    assert [(loc.id, loc.lines[0][0].name, loc.lines[0][0].id) for loc in p.locations] == [
        (1, "leaf", 1), (2, "root", 2), (3, "other", 3),
    ]
    assert [(mp.id, mp.file) for mp in p.mappings] == [(1, "")]
    assert p.notes == ["Main binary filename not available."]


def test_numeric_labels_decode_with_padded_units():
    m = ProfileMaker()
    m.sample(["a"], 1, 10)
    s = m.p.sample[-1]
    s.label.add(key=m.s("bytes"), num=64)
    s.label.add(key=m.s("bytes"), num=128, num_unit=m.s("bytes"))
    s.label.add(key=m.s("empty"))  # neither string nor number: dropped
    p = graph.prepare(m.p)
    assert p.samples[0].num_labels == {"bytes": [64, 128]}
    assert p.samples[0].num_units == {"bytes": ["", "bytes"]}
