"""`pyprof web` as a user runs it: prints its address, serves until Ctrl-C
and exits 0; bad input is one line and a status before anything is served."""

import http.server
import os
import signal
import socket
import subprocess
import threading

from conftest import PYPROF
from conftest import get_json
from conftest import pyprof


def start(*args, env=None):
    env = dict(env or os.environ, TZ="UTC")
    env.pop("PYPROF_DEBUG", None)
    return subprocess.Popen([*PYPROF, "web", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)


def stop(proc):
    """Ctrl-C for the server; its exit status and stderr."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return proc.returncode, err


def assert_error(done, status, fragment):
    assert done.returncode == status, done.stderr
    assert done.stdout == ""
    assert fragment in done.stderr.splitlines()[0]
    assert len(done.stderr.splitlines()) <= 2
    assert "Traceback" not in done.stderr


def test_serves_on_a_free_port_until_interrupted(corpus):
    proc = start("--no-browser", str(corpus["go_heap"]))
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"pyprof: serving {corpus['go_heap']} at http://127.0.0.1:")
        url = line.split(" at ")[1].split()[0]
        status, meta = get_json(url + "api/meta")
        assert status == 200
        assert meta["sample_types"][meta["default_index"]]["type"] == "inuse_space"
    finally:
        status, err = stop(proc)
    assert status == 0, err
    assert "Traceback" not in err


def test_command_line_options_are_the_pages_defaults(corpus):
    proc = start("--no-browser", "--sample-index=alloc_objects", "-focus=nothing|.",
                 str(corpus["go_heap"]))
    try:
        url = proc.stdout.readline().split(" at ")[1].split()[0]
        status, meta = get_json(url + "api/meta")
        assert meta["sample_types"][meta["default_index"]]["type"] == "alloc_objects"
        assert meta["filters"]["focus"] == "nothing|."
        _, top = get_json(url + "api/top")
        assert top["summary"]["type"] == "alloc_objects"
        assert top["summary"]["filters"] == {"focus": "nothing|."}
        # The page's own choice wins, an empty field clears the filter.
        status, top = get_json(url + "api/top?si=inuse_space&focus=")
        assert status == 200
        assert top["summary"]["type"] == "inuse_space"
        assert top["summary"]["filters"] == {}
    finally:
        stop(proc)


def test_port_in_use_is_one_line(corpus):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = pyprof("web", "--no-browser", "--port", str(port), str(corpus["go_heap"]))
    assert_error(done, 1, f"serving on 127.0.0.1:{port}: address already in use")
    assert "--port" in done.stderr


def test_bad_input_fails_before_serving(corpus, tmp_path):
    assert_error(pyprof("web", "--no-browser", str(tmp_path / "missing.pb.gz")),
                 1, "missing.pb.gz")
    assert_error(pyprof("web", "--no-browser", "--port", "70000",
                        str(corpus["go_heap"])), 2, "--port=70000 is not a port")
    assert_error(pyprof("web", "--no-browser", "-focus=(", str(corpus["go_heap"])),
                 2, "parsing focus regexp")
    assert_error(pyprof("web", "--no-browser", "--sample-index=cpu",
                        str(corpus["go_heap"])), 2, 'sample_index "cpu" must be one of')
    assert_error(pyprof("web", "--no-browser", "--frobnicate", str(corpus["go_heap"])),
                 2, "unknown option --frobnicate")


def test_help_names_the_options():
    done = pyprof("web", "--help")
    assert done.returncode == 0
    for option in ("--port", "--no-browser", "focus", "127.0.0.1"):
        assert option in done.stdout


def inuse_space_total(path):
    from pyprof import graph
    from pyprof import pprof

    prepared = graph.prepare(pprof.load(str(path)))
    return graph.report_total(prepared, graph.select_sample(prepared, "inuse_space"))


def test_serves_a_profile_fetched_from_a_url(corpus, tmp_path):
    body = corpus["go_heap"].read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/debug/pprof/heap" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    source = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=source.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{source.server_address[1]}/debug/pprof/heap"
    env = dict(os.environ, PPROF_TMPDIR=str(tmp_path), HOME=str(tmp_path))
    proc = start("--no-browser", url, env=env)
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"pyprof: serving {url} at http://127.0.0.1:"), line
        page = line.split(" at ")[1].split()[0]
        status, top = get_json(page + "api/top")
        assert status == 200
        assert top["summary"]["type"] == "inuse_space"
        assert top["summary"]["total"] == inuse_space_total(corpus["go_heap"])
    finally:
        status, err = stop(proc)
        source.shutdown()
        source.server_close()
    assert status == 0, err
    assert f"Fetching profile over HTTP from {url}" in err
    saved = list(tmp_path.glob("pprof.*.pb.gz"))
    assert len(saved) == 1 and f"Saved profile in {saved[0]}" in err


def test_browser_opens_only_where_one_can_show_the_page(monkeypatch):
    import webbrowser

    from pyprof.commands import web

    opened = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
    for name in ("CI", "DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(web.sys, "platform", "linux")
    assert web._open_browser("http://127.0.0.1:1/") is False  # no display
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("CI", "true")
    assert web._open_browser("http://127.0.0.1:1/") is False  # never on CI
    monkeypatch.delenv("CI")
    assert web._open_browser("http://127.0.0.1:2/") is True
    assert opened == ["http://127.0.0.1:2/"]
