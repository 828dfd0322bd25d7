"""graph.quick_trimmed_graph, the C road for `pyprof top` on large files,
gives exactly the top text of the general road (merge, then the Python
graph) on the corpus and on the property test's random profiles."""

import dataclasses

import pytest

from pyprof import graph
from pyprof import pprof
from pyprof.report.top import top_report
from profile_maker import CORPUS
from test_views_property import make_profile

UPSTREAM = CORPUS / "upstream"

CORPUS_FILES = sorted(p for p in (UPSTREAM / "profiles").rglob("*") if p.is_file())
OPTIONS = [
    {},
    {"cum_sort": True},
    {"granularity": "lines"},
    {"granularity": "files"},
    {"granularity": "filefunctions"},
    {"nodecount": 5},
    {"nodefraction": 0.0},
    {"mean": True},
    {"drop_negative": True},
    {"sample_index": "0"},
    {"noinlines": True},
    {"trim_path": "/usr/lib/go/src", "unit": "auto"},
]


@pytest.fixture(autouse=True)
def every_size(monkeypatch):
    """The quick road for small profiles too, so that these are tested."""
    monkeypatch.setattr(graph, "_QUICK_MIN_SAMPLES", 0)


def both_roads(proto, opts):
    """(quick text or None, general text)."""
    general = top_report(graph.prepare(proto), opts).text()
    quick = graph.quick_trimmed_graph(proto, opts)
    if quick is None:
        return None, general
    prepared, trimmed = quick
    return top_report(prepared, opts, trimmed=trimmed).text(), general


def test_corpus_files_agree():
    assert len(CORPUS_FILES) >= 4
    taken = 0
    for path in CORPUS_FILES:
        proto = pprof.load(str(path))
        # The general road takes seconds per view of large.cpu: a few do.
        for extra in OPTIONS if len(proto.sample) < 5000 else OPTIONS[:3]:
            opts = dataclasses.replace(graph.GraphOptions(), **extra)
            try:
                quick, general = both_roads(proto, opts)
            except graph.GraphError:
                continue  # e.g. no sample types: the general road says so too
            if quick is not None:
                taken += 1
                assert quick == general, (path.name, extra)
    # sample.cpu (all options) and large.cpu (three) take the quick road.
    assert taken >= len(OPTIONS) + 3


def test_random_profiles_agree():
    taken = 0
    for seed in range(60):
        proto = make_profile(seed)
        proto = pprof.load(pprof.dumps(proto))
        for extra in OPTIONS[:8]:
            opts = dataclasses.replace(graph.GraphOptions(), **extra)
            quick, general = both_roads(proto, opts)
            if quick is not None:
                taken += 1
                assert quick == general, (seed, extra)
    assert taken >= 40


def test_filters_and_small_files_take_the_general_road(monkeypatch):
    proto = pprof.load(str(UPSTREAM / "profiles" / "internal" / "proftest"
                           / "testdata" / "large.cpu"))
    assert graph.quick_trimmed_graph(proto, graph.GraphOptions()) is not None
    focused = dataclasses.replace(graph.GraphOptions(), focus="runtime")
    assert graph.quick_trimmed_graph(proto, focused) is None
    monkeypatch.setattr(graph, "_QUICK_MIN_SAMPLES", len(proto.sample) + 1)
    assert graph.quick_trimmed_graph(proto, graph.GraphOptions()) is None
