"""pyprof dot, svg and png as a user runs them: DOT text on stdout or in
a file, pictures drawn by Graphviz, one-line errors with an exit status
and no file left behind when something is wrong (Graphviz missing or
failing, a bad folder, option or profile).
"""

import http.server
import os
import shutil
import stat
import subprocess
import sys
import threading
import xml.etree.ElementTree as ElementTree

import pytest

import dot_profiles as dp
from pyprof import graph
from pyprof import pprof
from pyprof.errors import PyprofError
from pyprof.report import dot

SAMPLE = dp.PROFILES / "report" / "testdata" / "sample.cpu"
DOT = shutil.which("dot")


def pyprof(*args, cwd=None, path=None):
    assert SAMPLE.exists(), f"the shared corpus is missing: {SAMPLE}"
    env = dict(os.environ, TZ="UTC")
    env.pop("PYPROF_DEBUG", None)
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-c", "from pyprof.cli import main; main()", *args],
        capture_output=True, env=env, cwd=cwd, timeout=120,
    )


def needs_graphviz():
    if DOT is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Graphviz is not installed; CI must install graphviz")
        pytest.skip("Graphviz is not installed (apt-get install graphviz)")


def assert_error(done, status, fragment):
    assert done.returncode == status, done.stderr
    assert done.stdout == b""
    lines = done.stderr.decode().splitlines()
    assert fragment in lines[0]
    assert lines[0].startswith("pyprof: error: ")
    assert "Traceback" not in done.stderr.decode()
    return lines


@pytest.fixture
def profile(tmp_path):
    shutil.copy(SAMPLE, tmp_path / "sample.cpu")
    return tmp_path / "sample.cpu"


def expected_dot(path, **options):
    prepared = graph.prepare(pprof.load(str(path)))
    return dot.dot_report(prepared, graph.GraphOptions(nodecount=80, **options))[0]


def test_dot_prints_the_graph_on_stdout(profile):
    done = pyprof("dot", str(profile))
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    assert text == expected_dot(profile)
    assert text.startswith('digraph "sample.bin" {\n')
    assert 'label="main\\nbusyLoop\\n' in text
    assert text.count("\nN") > 20


def test_dot_writes_a_file_with_o(profile, tmp_path):
    for spelling in (["-o", "g.dot"], ["--output", "g.dot"], ["-output=g.dot"],
                     ["--output=g.dot"]):
        done = pyprof("dot", str(profile), *spelling, "-lines", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout == b""
        assert done.stderr.decode() == "pyprof: wrote g.dot\n"
        assert (tmp_path / "g.dot").read_text() == expected_dot(profile,
                                                                granularity="lines")
        (tmp_path / "g.dot").unlink()


def test_call_tree_in_both_spellings(profile):
    pprof_style = pyprof("dot", "-call_tree", "-nodecount=10", str(profile))
    ours = pyprof("dot", "--call-tree", "--nodecount", "10", str(profile))
    assert pprof_style.returncode == ours.returncode == 0
    assert pprof_style.stdout == ours.stdout
    plain = pyprof("dot", "-nodecount=10", str(profile))
    assert plain.stdout != ours.stdout
    off = pyprof("dot", "-call_tree=false", "-nodecount=10", str(profile))
    assert off.stdout == plain.stdout


def test_svg_draws_every_node(profile, tmp_path):
    needs_graphviz()
    done = pyprof("svg", str(profile), "-o", "g.svg", "-nodecount=12", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    root = ElementTree.parse(tmp_path / "g.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    ns = {"s": "http://www.w3.org/2000/svg"}
    titles = [t.text for t in root.iterfind(".//s:g[@class='node']/s:title", ns)]
    # Twelve nodes and the legend, each under its DOT name.
    assert sorted(t for t in titles if t.startswith("N")) == sorted(
        f"N{i}" for i in range(1, 13))
    texts = " ".join(t.text or "" for t in root.iterfind(".//s:text", ns))
    assert "busyLoop" in texts and "Type: cpu" in texts
    # Without -o the picture goes to stdout.
    piped = pyprof("svg", str(profile), "-nodecount=12", cwd=tmp_path)
    assert piped.stdout == (tmp_path / "g.svg").read_bytes()


def test_png_is_a_png_image(profile, tmp_path):
    needs_graphviz()
    done = pyprof("png", str(profile), "-o", "g.png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = (tmp_path / "g.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(data[16:20], "big")
    assert width > 200


def test_missing_graphviz_is_one_line_and_no_file(profile, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    for command in ("svg", "png"):
        done = pyprof(command, str(profile), "-o", f"g.{command}", cwd=tmp_path,
                      path=str(empty))
        lines = assert_error(done, 1,
                             "Graphviz's `dot` program, which is not installed")
        assert lines[1] == "hint: " + dot.GRAPHVIZ_HINT
        assert "apt-get install graphviz" in lines[1]
        assert not (tmp_path / f"g.{command}").exists()
    # The DOT text needs no Graphviz.
    done = pyprof("dot", str(profile), path=str(empty))
    assert done.returncode == 0


def test_failing_graphviz_is_one_line_and_no_file(profile, tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    script = fake / "dot"
    script.write_text("#!/bin/sh\necho 'Error: something broke' >&2\nexit 3\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    done = pyprof("svg", str(profile), "-o", "g.svg", cwd=tmp_path, path=str(fake))
    lines = assert_error(done, 1, "Graphviz's dot failed: Error: something broke")
    assert len(lines) == 2
    assert not (tmp_path / "g.svg").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "sample.cpu"]


def test_bad_output_folder_is_a_usage_error(profile, tmp_path):
    done = pyprof("dot", str(profile), "-o", str(tmp_path / "nope" / "g.dot"))
    assert_error(done, 2, "does not exist")
    done = pyprof("svg", str(profile), "-o", str(tmp_path))
    assert_error(done, 2, "is a folder")
    done = pyprof("dot", str(profile), "-o")
    assert_error(done, 2, "needs a file name")


def test_bad_profile_or_option_leaves_no_file(tmp_path):
    bad = tmp_path / "bad.pb.gz"
    bad.write_bytes(b"not a profile")
    done = pyprof("dot", str(bad), "-o", "g.dot", cwd=tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr.decode()
    assert not (tmp_path / "g.dot").exists()
    done = pyprof("dot", str(SAMPLE), "--bogus", "-o", "g.dot", cwd=tmp_path)
    assert_error(done, 2, "unknown option --bogus")
    done = pyprof("dot", str(SAMPLE), "-sample_index=nope", cwd=tmp_path)
    assert_error(done, 2, "sample_index")
    done = pyprof("dot", str(SAMPLE), "-call_tree=maybe", cwd=tmp_path)
    assert_error(done, 2, "invalid boolean value")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.pb.gz"]


def test_png_refuses_a_terminal(profile):
    # A pseudo-terminal as stdout: the image would be garbage on screen.
    import pty

    main, secondary = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-c", "from pyprof.cli import main; main()", "png",
             str(profile)], stdout=secondary, stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(secondary)
        os.close(main)
    assert done.returncode == 2
    assert b"write it to a file" in done.stderr


def test_help_lists_the_graph_options():
    done = pyprof("dot", "--help")
    assert done.returncode == 0
    text = done.stdout.decode()
    assert "--call-tree" in text and "-o FILE" in text and "--focus" in text


def test_render_functions_for_other_views(profile):
    prepared = graph.prepare(pprof.load(str(profile)))
    settings = {"nodecount": 5, "call_tree": False, "focus": "main"}
    text = dot.render_dot(prepared, settings)
    want = dot.dot_report(prepared, graph.GraphOptions(nodecount=5, focus="main"))[0]
    assert text == want
    # Without a nodecount, graphs show 80 nodes as in pprof.
    assert dot.render_dot(prepared, {}) == expected_dot(profile)
    if DOT is not None:
        svg = dot.render_svg(prepared, settings)
        assert svg.lstrip().startswith("<?xml") and "</svg>" in svg


def test_quotes_in_names_still_draw(tmp_path):
    # pprof's DOT text leaves the quotes of the binary's name and of a
    # label value unescaped, which Graphviz refuses; the pictures escape
    # them, the DOT text stays pprof's.
    needs_graphviz()
    pprof.dump(dp.odd_names_profile(), tmp_path / "odd.pb.gz")
    text = pyprof("dot", "odd.pb.gz", cwd=tmp_path).stdout.decode()
    assert text.startswith('digraph "py"thon 3" {')
    assert 'label = "thread:Main"Thread"' in text
    for flags in ([], ["-lines"], ["-call_tree"]):
        done = pyprof("svg", "odd.pb.gz", "-o", "odd.svg", *flags, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        root = ElementTree.parse(tmp_path / "odd.svg").getroot()
        texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
        assert 'thread:Main"Thread' in texts
        assert "q\"uote" in texts and "back\\slash" in texts


class ProfileHandler(http.server.BaseHTTPRequestHandler):
    """Serves sample.cpu as a running Go program's CPU profile."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = SAMPLE.read_bytes() if self.path.startswith("/debug/pprof/profile") \
            else b"no such profile\n"
        self.send_response(200 if body != b"no such profile\n" else 404)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_dot_of_a_url_is_the_dot_of_the_saved_profile(profile, tmp_path):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ProfileHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    env = dict(os.environ, TZ="UTC", HOME=str(tmp_path),
               PPROF_TMPDIR=str(tmp_path / "saved"))
    env.pop("PYPROF_DEBUG", None)
    url = f"http://127.0.0.1:{httpd.server_address[1]}/debug/pprof/profile"
    try:
        done = subprocess.run(
            [sys.executable, "-c", "from pyprof.cli import main; main()", "dot", url,
             "-seconds=1", "-o", str(tmp_path / "g.dot")],
            capture_output=True, env=env, timeout=120)
        missing = subprocess.run(
            [sys.executable, "-c", "from pyprof.cli import main; main()", "dot",
             url.replace("profile", "nothing"), "-o", str(tmp_path / "h.dot")],
            capture_output=True, env=env, timeout=120)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert done.returncode == 0, done.stderr
    assert "Saved profile in" in done.stderr.decode()
    saved = list((tmp_path / "saved").iterdir())
    assert len(saved) == 1
    assert (tmp_path / "g.dot").read_text() == expected_dot(saved[0])
    assert (tmp_path / "g.dot").read_text() == expected_dot(profile)
    assert missing.returncode != 0 and not (tmp_path / "h.dot").exists()
    assert "Traceback" not in missing.stderr.decode()


def test_names_longer_than_graphvizs_limit_are_cut_in_pictures(tmp_path):
    # Graphviz refuses quoted strings over 16384 bytes; the DOT text keeps
    # the whole name, the pictures a shortened one.
    needs_graphviz()
    from pyprof._proto import profile_pb2

    long_name = "f" * 20000 + "\u00e9"
    p = profile_pb2.Profile(string_table=["", "samples", "count", long_name, "main",
                                          "x.py"])
    p.sample_type.add(type=1, unit=2)
    for i, name in ((1, 3), (2, 4)):
        p.function.add(id=i, name=name, filename=5)
        p.location.add(id=i).line.add(function_id=i, line=1)
    p.sample.add(location_id=[1, 2], value=[5])
    pprof.dump(p, tmp_path / "long.pb.gz")
    text = pyprof("dot", "long.pb.gz", cwd=tmp_path).stdout.decode()
    assert long_name in text
    done = pyprof("svg", "long.pb.gz", "-o", "long.svg", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    root = ElementTree.parse(tmp_path / "long.svg").getroot()
    texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    cut = [t for t in texts if t.startswith("ffff")]
    assert cut and all(t.endswith("\u2026") and len(t) <= 4000 for t in cut), [
        (len(t), t[-5:]) for t in cut]


def test_a_syntax_error_from_graphviz_keeps_its_cause():
    needs_graphviz()
    with pytest.raises(PyprofError) as caught:
        dot.run_graphviz("digraph { a -> }", "svg")
    assert "syntax error in line 1" in caught.value.message
    assert caught.value.hint.startswith("the DOT text is pyprof's")
