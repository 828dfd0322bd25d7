"""pyprof flame as a user runs it: the HTML page, the SVG, and bad input."""

import json
import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from flame_support import EXPECTED
from flame_support import HEAP
from flame_support import SAMPLE
from flame_support import corpus
from flame_support import pyprof
from pyprof import flame

SVG = "{http://www.w3.org/2000/svg}"


def embedded(html_text):
    """The JSON payload the page carries."""
    found = re.search(r'<script type="application/json" id="pyprof-flame-data">'
                      r"(.*?)</script>", html_text, re.S)
    assert found
    return json.loads(found.group(1))


def test_html_is_self_contained_and_carries_every_sample_type(tmp_path):
    done = pyprof("flame", corpus(SAMPLE), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "pyprof: wrote flame.html: 18 frames, cpu total 1.76s\n"
    text = (tmp_path / "flame.html").read_text(encoding="utf-8")
    # Nothing refers to the network: no URLs, no src=/href= at all, and the
    # page's own policy forbids every load.
    assert not re.search(r"https?:|//[a-z]", text.replace(
        'http-equiv="Content-Security-Policy"', ""))
    assert not re.search(r"\b(src|href)\s*=", text)
    assert "@import" not in text and "url(" not in text
    assert "default-src 'none'" in text
    payload = embedded(text)
    types = [d["sample_type"] for d in payload["datasets"]]
    assert types == ["samples", "cpu"] and payload["selected"] == 1
    cpu, samples = payload["datasets"][1], payload["datasets"][0]
    assert cpu["total"] == flame.nested(cpu)["cum"] == 1_760_000_000
    assert samples["total"] == flame.nested(samples)["cum"] == 176
    assert [f["name"] for f in cpu["frames"]] == [f["name"] for f in samples["frames"]]
    assert not list(tmp_path.glob(".*.tmp"))


def test_view_options_apply(tmp_path):
    out = tmp_path / "f.html"
    done = pyprof("flame", "-o", out, "--focus=mapiter", "-sample_index=samples",
                  "--lines", corpus(SAMPLE))
    assert done.returncode == 0, done.stderr
    data = embedded(out.read_text())["datasets"][0]
    assert data["sample_type"] == "samples" and data["granularity"] == "lines"
    assert data["filters"] == ["focus=mapiter"]
    assert data["total"] == 176 and 0 < flame.nested(data)["cum"] < 176
    assert all(re.search(r":\d+$", f["name"]) for f in data["frames"])


def test_svg_parses_and_its_root_carries_the_total(tmp_path):
    out = tmp_path / "f.svg"
    done = pyprof("flame", corpus(SAMPLE), "--output", out)
    assert done.returncode == 0, done.stderr
    root = ET.parse(out).getroot()
    assert root.tag == SVG + "svg"
    assert root.get("data-total") == "1760000000"
    assert root.get("data-unit") == "nanoseconds"
    width = float(root.get("width"))
    groups = root.findall(SVG + "g")
    first = groups[0]
    assert first.find(SVG + "text").text == "all: 1.76s (100.00%)"
    assert first.find(SVG + "title").text.startswith("all\ncum 1.76s (100.00%)")
    assert float(first.find(SVG + "rect").get("width")) == width - 20
    # go tool pprof -top's row: "1.28s 72.73% 72.73% 1.37s 77.84% runtime.mapiternext";
    # mapiternext is called from one place only, so one frame has it all.
    row = next(line.split() for line in (EXPECTED / "sample.cpu" / "top.out")
               .read_text().splitlines() if line.endswith(" runtime.mapiternext"))
    (group,) = [g for g in groups
                if g.find(SVG + "title").text.startswith("runtime.mapiternext\n")]
    assert group.find(SVG + "title").text == (
        f"runtime.mapiternext\ncum {row[3]} ({row[4]}), flat {row[0]} ({row[1]})")
    # Widths are in proportion to cum.
    assert float(group.find(SVG + "rect").get("width")) == pytest.approx(
        (width - 20) * 1.37 / 1.76, abs=0.01)


def test_svg_flame_orientation_puts_the_root_at_the_bottom(tmp_path):
    icicle, flame_svg = tmp_path / "i.svg", tmp_path / "f.svg"
    assert pyprof("flame", corpus(SAMPLE), "-o", icicle).returncode == 0
    assert pyprof("flame", corpus(SAMPLE), "-o", flame_svg,
                  "--orientation=flame").returncode == 0

    def root_y(path):
        rects = ET.parse(path).getroot().findall(f"{SVG}g/{SVG}rect")
        return float(rects[0].get("y")), max(float(r.get("y")) for r in rects)

    top, bottom = root_y(icicle), root_y(flame_svg)
    assert top[0] < top[1]
    assert bottom[0] == bottom[1]


def test_heap_profile_page_has_the_four_types(tmp_path):
    out = tmp_path / "heap.html"
    done = pyprof("flame", corpus(HEAP), "-o", out)
    assert done.returncode == 0, done.stderr
    payload = embedded(out.read_text())
    assert [d["sample_type"] for d in payload["datasets"]] == [
        "alloc_objects", "alloc_space", "inuse_objects", "inuse_space"]
    assert all(flame.nested(d)["cum"] == d["total"] for d in payload["datasets"])


def assert_error(done, status, fragment):
    assert done.returncode == status, done.stderr
    lines = done.stderr.splitlines()
    assert fragment in lines[0], lines
    assert lines[0].startswith("pyprof: error: ")
    assert len(lines) <= 2 and "Traceback" not in done.stderr


@pytest.mark.parametrize("args, status, fragment", [
    (["missing.pb.gz"], 1, "missing.pb.gz"),
    ([str(SAMPLE), "-o", "x.png"], 2, "cannot tell the format of -o x.png"),
    ([str(SAMPLE), "-o", "nowhere/x.html"], 2, "does not exist"),
    ([str(SAMPLE), "-focus=("], 2, "parsing focus regexp"),
    ([str(SAMPLE), "-sample_index=bogus"], 2, "sample_index"),
    ([str(SAMPLE), "--orientation=sideways"], 2, "not icicle or flame"),
    ([str(SAMPLE), "--max-nodes=lots"], 2, "not a whole number"),
    ([str(SAMPLE), "--bogus"], 2, "unknown option --bogus"),
    ([str(SAMPLE), "-o"], 2, "needs a value"),
])
def test_bad_input_is_one_line_and_leaves_no_file(tmp_path, args, status, fragment):
    corpus(SAMPLE)
    shutil.copy(SAMPLE, tmp_path / "sample.cpu")
    done = pyprof("flame", *args, cwd=tmp_path)
    assert_error(done, status, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample.cpu"]


def test_not_a_profile_leaves_an_older_page_untouched(tmp_path):
    (tmp_path / "junk.pb.gz").write_bytes(b"not a profile at all")
    (tmp_path / "flame.html").write_text("old")
    done = pyprof("flame", "junk.pb.gz", cwd=tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) <= 2
    assert (tmp_path / "flame.html").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flame.html", "junk.pb.gz"]


def test_help_lists_own_and_view_options():
    done = pyprof("flame", "--help")
    assert done.returncode == 0
    for word in ("--output", "--orientation", "--max-nodes", "--focus", "--lines"):
        assert word in done.stdout


def test_colour_and_values_are_stable():
    assert flame.fnv1a("") == 0x811C9DC5
    keys = ["json", "prog", "a", "asyncio", "hashlib", "numpy", "runtime", "main"]
    colours = flame.palette(keys)
    assert colours == flame.palette(reversed(keys))
    hues = sorted(int(c[4:c.index(",")]) for c in colours.values())
    # Eight packages round the circle: no two hues closer than 20 degrees.
    gaps = [b - a for a, b in zip(hues, hues[1:])] + [hues[0] + 360 - hues[-1]]
    assert min(gaps) >= 20, colours
    assert flame.value_label(1_760_000_000, "nanoseconds") == "1.76s"
    assert flame.value_label(3 * 1024 * 1024, "bytes") == "3MB"


class _Serve:
    """A profile served on 127.0.0.1 at /debug/pprof/profile, for one test."""

    def __init__(self, body: bytes):
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                found = self.path.startswith("/debug/pprof/profile")
                data = body if found else b"no such profile\n"
                self.send_response(200 if found else 404)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/debug/pprof/profile"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_url_is_fetched_saved_and_drawn(tmp_path):
    served = _Serve(corpus(SAMPLE).read_bytes())
    try:
        env_home = tmp_path / "home"
        env_home.mkdir()
        out = tmp_path / "url.svg"
        done = pyprof("flame", served.url, "-seconds=1", "-o", out,
                      env={"HOME": str(env_home), "PPROF_TMPDIR": str(tmp_path / "saved")})
        missing = pyprof("flame", served.url.replace("profile", "nothing"),
                         "-o", tmp_path / "none.svg",
                         env={"HOME": str(env_home),
                              "PPROF_TMPDIR": str(tmp_path / "saved")})
    finally:
        served.close()
    assert done.returncode == 0, done.stderr
    assert "Saved profile in " in done.stderr
    assert list((tmp_path / "saved").iterdir())
    root = ET.parse(out).getroot()
    assert root.get("data-total") == "1760000000"
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert not (tmp_path / "none.svg").exists()


def test_names_cannot_break_out_of_the_page_or_the_svg(tmp_path):
    from pyprof._proto import profile_pb2

    evil = "</script><script>alert(1)</script><!--&{x}\u2028"
    p = profile_pb2.Profile(string_table=["", "samples", "count", evil, "a<b>.py"])
    p.sample_type.add(type=1, unit=2)
    p.function.add(id=1, name=3, filename=4)
    p.location.add(id=1).line.add(function_id=1, line=1)
    p.sample.add(location_id=[1], value=[5])
    source = tmp_path / "evil.pb"
    source.write_bytes(p.SerializeToString())
    assert pyprof("flame", source, "-o", tmp_path / "e.html").returncode == 0
    text = (tmp_path / "e.html").read_text(encoding="utf-8")
    assert "<script>alert" not in text and "<!--&" not in text
    data = embedded(text)["datasets"][0]
    assert data["frames"][0]["name"] == evil
    assert data["frames"][0]["file"] == "a<b>.py"
    assert pyprof("flame", source, "-o", tmp_path / "e.svg").returncode == 0
    root = ET.parse(tmp_path / "e.svg").getroot()
    titles = [g.find(SVG + "title").text for g in root.findall(SVG + "g")]
    assert titles[1].startswith(evil + "\n")
