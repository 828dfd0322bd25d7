"""The C edge counter (csrc/graphagg.c) gives _add_edges' Python result:
the same edges, weights, inline flags and order."""

import random

from pyprof import graph


def _random_input(seed):
    rnd = random.Random(seed)
    nodes = [graph.Node((f"f{i}", "", 0, "", 0, 0, "")) for i in range(40)]
    keys = {}
    for loc_id in range(1, 301):
        # One to three lines (inlined calls), some repeating a function.
        keys[loc_id] = [nodes[rnd.randrange(40)].key for _ in range(rnd.choice((1, 1, 2, 3)))]
    members = [n for n in nodes if rnd.random() < 0.8]
    weighted = []
    for _ in range(3000):
        depth = rnd.randint(0, 25)
        ids = [rnd.randint(1, 300) for _ in range(depth)]
        if depth > 3 and rnd.random() < 0.3:
            ids += ids[:3]  # recursion
        weighted.append((ids, rnd.randint(-5, 50), 0))
    return weighted, keys, members


def _edges(members):
    return [
        (caller.key, callee.key, edge[0], edge[1])
        for caller in members
        for callee, edge in caller.out_edges.items()
    ] + [
        (caller.key, callee.key, edge[0], edge[1])
        for callee in members
        for caller, edge in callee.in_edges.items()
    ]


def test_c_edges_equal_python_edges(monkeypatch):
    calls = []
    in_c = graph._add_edges_in_c

    def spy(*args):
        calls.append(in_c(*args))
        return calls[-1]

    for seed in range(5):
        weighted, keys, members = _random_input(seed)
        monkeypatch.setattr(graph, "_add_edges_in_c", spy)
        graph._add_edges(weighted, keys, members)
        from_c = _edges(members)
        for n in members:
            n.in_edges, n.out_edges = {}, {}
        monkeypatch.setattr(graph, "_add_edges_in_c", lambda *args: False)
        graph._add_edges(weighted, keys, members)
        assert from_c == _edges(members)
        assert len(from_c) > 100
    assert calls == [True] * 5
