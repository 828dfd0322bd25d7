"""pyprof web's server over HTTP (urllib): the JSON views carry the numbers
the text views print, bad input is a 400 with one message, the page and its
files come from the package and nothing else is served."""

import re
import urllib.parse

import pytest

from conftest import get
from conftest import get_json
from conftest import pyprof
from conftest import row_fields
from conftest import top_text

GO_HEAP_TYPES = ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space"]


def api(server, view, **query):
    return get_json(server.url + f"api/{view}?" + urllib.parse.urlencode(query))


def test_meta_lists_every_sample_type(serve, corpus):
    from pyprof import pprof

    server = serve(corpus["go_heap"])
    status, meta = api(server, "meta")
    assert status == 200
    proto = pprof.load(str(corpus["go_heap"]))
    expected = [(proto.string_table[t.type], proto.string_table[t.unit])
                for t in proto.sample_type]
    assert [(t["type"], t["unit"]) for t in meta["sample_types"]] == expected
    assert sorted(t["type"] for t in meta["sample_types"]) == GO_HEAP_TYPES
    # Go heap profiles show inuse_space unless told otherwise, as pprof does.
    assert meta["sample_types"][meta["default_index"]]["type"] == "inuse_space"
    assert meta["files"] == [str(corpus["go_heap"])]


@pytest.mark.parametrize("name,options", [
    ("sample_cpu", ()),
    ("sample_cpu", ("si", "samples")),
    ("sample_cpu", ("focus", "mapiter")),
    ("sample_cpu", ("ignore", "mapassign|evacuate")),
    ("sample_cpu", ("hide", "mapiternext", "show", "main|runtime")),
    ("go_heap", ("si", "alloc_objects")),
    ("sample_cpu", ("g", "lines")),
    ("sample_cpu", ("g", "files", "focus", "busyLoop")),
])
def test_top_rows_are_pyprof_tops(serve, corpus, name, options):
    query = dict(zip(options[::2], options[1::2]))
    cli_options = [f"--{v}" if k == "g" else
                   f"--{'sample-index' if k == 'si' else k}={v}"
                   for k, v in query.items()]
    header, rows = top_text(corpus[name], *cli_options)
    status, top = api(serve(corpus[name]), "top", **query)
    assert status == 200, top
    assert top["header"] == header
    shown = [(r["flat_text"], r["flat_pct"], r["sum_pct"], r["cum_text"], r["cum_pct"],
              r["name"] + (" " + r["inline"] if r["inline"] else "")) for r in top["rows"]]
    assert shown == [row_fields(line) for line in rows]
    assert len(shown) > 0


def test_recorded_profile_top_and_total(serve, recorded):
    from pyprof import graph
    from pyprof import pprof

    _, rows = top_text(recorded)
    status, top = api(serve(recorded), "top")
    assert status == 200
    assert [r["name"] for r in top["rows"]] == [row_fields(line)[5] for line in rows]
    names = {r["name"] for r in top["rows"]}
    assert {"inner_spin", "outer_work", "sum_squares"} <= names
    prepared = graph.prepare(pprof.load(str(recorded)))
    index = graph.select_sample(prepared, "")
    assert top["summary"]["total"] == graph.report_total(prepared, index)
    assert top["summary"]["type"] == prepared.sample_types[index][0]


def test_tagfocus_keeps_the_threads_samples(serve, recorded):
    header, rows = top_text(recorded, "--tagfocus=thread=MainThread")
    status, top = api(serve(recorded), "top", tagfocus="thread=MainThread")
    assert status == 200
    assert top["header"] == header
    assert [r["name"] for r in top["rows"]] == [row_fields(line)[5] for line in rows]
    assert top["summary"]["filters"] == {"tagfocus": "thread=MainThread"}
    status, top = api(serve(recorded), "top", tagfocus="thread=NoSuchThread")
    assert status == 200 and top["rows"] == []


def test_sample_type_changes_the_total(serve, corpus):
    from pyprof import graph
    from pyprof import pprof

    prepared = graph.prepare(pprof.load(str(corpus["go_heap"])))
    server = serve(corpus["go_heap"])
    totals = {}
    for kind in GO_HEAP_TYPES:
        status, body = api(server, "top", si=kind)
        assert status == 200
        assert body["summary"]["type"] == kind
        index = [t for t, _ in prepared.sample_types].index(kind)
        totals[kind] = body["summary"]["total"]
        assert totals[kind] == graph.report_total(prepared, index)
        header, _ = top_text(corpus["go_heap"], f"--sample-index={kind}")
        assert body["header"] == header
    # Objects and bytes differ (this crash-time profile allocated what it
    # still holds, so alloc_* equals inuse_*).
    assert totals["inuse_objects"] != totals["inuse_space"]


def test_peek_blocks_match_pyprof_peek(serve, corpus):
    done = pyprof("peek", "--compact-labels", r"runtime\.mapiternext",
                  str(corpus["sample_cpu"]))
    assert done.returncode == 0, done.stderr
    status, body = api(serve(corpus["sample_cpu"]), "peek", fn=r"runtime\.mapiternext")
    assert status == 200
    assert body["text"] == done.stdout
    [block] = body["blocks"]
    assert block["name"] == "runtime.mapiternext"
    assert [e["name"] for e in block["callers"]] == ["main.busyLoop"]


def test_source_lines_carry_their_values(serve, recorded):
    done = pyprof("list", "--text", "^inner_spin$", str(recorded))
    assert done.returncode == 0, done.stderr
    status, body = api(serve(recorded), "source", fn="^inner_spin$")
    assert status == 200, body
    [routine] = body["routines"]
    assert routine["function"] == "inner_spin" and routine["file"].endswith("spin.py")
    assert routine["error"] == ""
    # The same lines, numbers and values as `pyprof list`.
    listed = [line for line in done.stdout.splitlines()
              if re.match(r"\s*\S+\s+\S+\s+\d+:", line)]
    shown = ["%10s %10s %6d:%s" % (ln["flat_text"], ln["cum_text"], ln["number"],
                                  ln["text"]) for ln in routine["lines"]]
    assert shown == listed
    hot = [ln for ln in routine["lines"] if ln["cum"]]
    assert any("while time.thread_time() < end" in ln["text"]
               or "sum(i * i" in ln["text"] for ln in hot)


@pytest.mark.parametrize("view", ["top", "flame", "peek", "source", "graph"])
def test_bad_regexp_is_a_400_with_one_message(serve, corpus, view):
    status, body = api(serve(corpus["sample_cpu"]), view, focus="(", fn="main")
    assert status == 400
    assert "parsing focus regexp" in body["error"]
    assert "\n" not in body["error"] and "Traceback" not in body["error"]
    assert body["hint"]


def test_unknown_sample_type_names_the_types(serve, corpus):
    status, body = api(serve(corpus["go_heap"]), "top", si="cpu")
    assert status == 400
    assert 'sample_index "cpu" must be one of: [alloc_objects alloc_space ' \
           'inuse_objects inuse_space]' in body["error"]


def test_peek_and_source_need_a_matching_regexp(serve, corpus):
    server = serve(corpus["sample_cpu"])
    for view in ("peek", "source"):
        status, body = api(server, view)
        assert status == 400 and "no function regexp" in body["error"]
        status, body = api(server, view, fn="no_such_function")
        assert status == 400
        assert "no matches found for regexp: no_such_function" in body["error"]
    status, body = api(server, "peek", fn="[")
    assert status == 400 and "parsing argument regexp [" in body["error"]


def test_page_and_static_files_are_local(serve, corpus):
    server = serve(corpus["sample_cpu"])
    status, headers, page = get(server.url)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    text = page.decode()
    for src in re.findall(r'(?:src|href)="([^"]+)"', text):
        assert src.startswith("/static/"), src
        status, headers, body = get(server.url + src.lstrip("/"))
        if src.endswith("app.js"):
            assert status == 200 and "javascript" in headers["Content-Type"]
    assert not re.search(r"https?://", text)
    status, headers, body = get(server.url + "static/app.js")
    assert not re.search(rb"https?://", body)
    assert "default-src 'self'" in headers["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["static/../views.py", "static/%2e%2e/server.py",
                                  "static/.hidden", "api/nothing", "etc/passwd"])
def test_other_paths_are_404(serve, corpus, path):
    status, _, body = get(serve(corpus["sample_cpu"]).url + path)
    assert status == 404
    assert b"import" not in body


def test_call_graph_is_svg_or_says_how_to_install_graphviz(serve, corpus,
                                                           monkeypatch, tmp_path):
    import shutil

    server = serve(corpus["sample_cpu"])
    status, body = api(server, "graph")
    if shutil.which("dot"):
        assert status == 200, body
        assert "<svg" in body["svg"] and "main.busyLoop" in body["svg"]
        status, body = api(server, "graph", focus="NoSuchFunction")
        assert status == 200, body
        assert body["notes"] == ["Focus expression matched no samples"]
    # Without Graphviz on PATH the view says so and how to install it.
    monkeypatch.setenv("PATH", str(tmp_path))
    status, body = api(server, "graph")
    assert status == 503
    assert "graphviz" in (body["error"] + body["hint"]).lower()
    assert "install" in body["hint"]


def test_unknown_granularity_is_a_400(serve, corpus):
    status, body = api(serve(corpus["sample_cpu"]), "flame", g="bytes")
    assert status == 400
    assert "unknown granularity 'bytes'" in body["error"]
    assert "lines" in body["hint"]


def test_requests_for_other_host_names_are_refused(serve, corpus):
    import http.client

    server = serve(corpus["sample_cpu"])
    port = server.server_address[1]
    for host, status in ((f"attacker.example:{port}", 403), (f"localhost:{port}", 200)):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", "/api/meta", headers={"Host": host})
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        assert response.status == status, body
        assert (b"sample_types" in body) == (status == 200)


def test_a_stack_3000_frames_deep_is_served(serve, tmp_path):
    from pyprof import pprof
    from pyprof._proto import profile_pb2

    depth = 3000
    p = profile_pb2.Profile(string_table=["", "samples", "count", "f.py"])
    p.sample_type.add(type=1, unit=2)
    for i in range(1, depth + 1):
        p.string_table.append(f"f{i}")
        p.function.add(id=i, name=len(p.string_table) - 1, filename=3)
        p.location.add(id=i).line.add(function_id=i, line=i)
    p.sample.add(location_id=list(range(1, depth + 1)), value=[4])
    path = tmp_path / "deep.pb.gz"
    pprof.dump(p, path)
    status, body = api(serve(path), "flame")
    assert status == 200, body
    tree = body["flame"]["tree"]
    assert len(tree["frame"]) == depth + 1
    assert tree["cum"] == [4] * (depth + 1)
    assert tree["parent"] == list(range(-1, depth))


def test_a_failure_to_encode_is_a_500_with_its_cause(serve, corpus, monkeypatch):
    from pyprof.web import views

    server = serve(corpus["sample_cpu"])
    monkeypatch.setattr(views.ProfileViews, "top",
                        lambda self, query: {"rows": [object()]})
    status, body = api(server, "top")
    assert status == 500
    assert body["error"].startswith("making the top view: TypeError: ")
