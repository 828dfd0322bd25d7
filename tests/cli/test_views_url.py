"""Views of profiles fetched over HTTP, as `go tool pprof URL` makes them.

A threaded http.server on 127.0.0.1, started by the tests, serves corpus
files, raw (not gzip'd) profiles, error statuses and a slow endpoint.
pyprof runs as a subprocess with HOME and PPROF_TMPDIR pointed at temporary
folders. With go installed, the same URL is also given to `go tool pprof`
and the stdout must be identical (skipped without go, except under CI=true).
"""

import gzip
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from corpus_paths import EXPECTED
from corpus_paths import SAMPLE
from corpus_paths import UPSTREAM

NOMAPPINGS = UPSTREAM / "profiles" / "internal" / "driver" / "testdata" / "go.nomappings.crash"
GO = shutil.which("go")


class Handler(http.server.BaseHTTPRequestHandler):
    queries: list = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        path, _, query = self.path.partition("?")
        Handler.queries.append((path, query))
        if path in ("/debug/pprof/profile", "/sample"):
            self._send(200, SAMPLE.read_bytes())
        elif path == "/debug/pprof/heap":
            self._send(200, NOMAPPINGS.read_bytes())
        elif path == "/raw":
            self._send(200, gzip.decompress(SAMPLE.read_bytes()))
        elif path == "/html":
            self._send(200, b"<html><body>hello</body></html>", "text/html")
        elif path == "/goerror":
            self._send(400, b"profile duration exceeds server's WriteTimeout\n",
                       "text/plain; charset=utf-8", {"X-Go-Pprof": "1"})
        elif path == "/slow":
            time.sleep(20)
            self._send(200, SAMPLE.read_bytes())
        else:
            self._send(404, b"no such profile\n", "text/plain")

    def _send(self, status, body, ctype="application/octet-stream", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in dict(headers).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    assert SAMPLE.exists(), f"the shared corpus is missing: {UPSTREAM}"
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def dirs(tmp_path):
    home = tmp_path / "home"
    saved = tmp_path / "saved"
    home.mkdir()
    return home, saved


def run(args, home, saved=None, command=None):
    env = dict(os.environ, TZ="UTC", HOME=str(home),
               PPROF_BINARY_PATH="/nonexistent-pprof-binaries")
    env.pop("PYPROF_DEBUG", None)
    env.pop("PPROF_TMPDIR", None)
    if saved is not None:
        env["PPROF_TMPDIR"] = str(saved)
    command = command or [sys.executable, "-c", "from pyprof.cli import main; main()"]
    return subprocess.run([*command, *args], capture_output=True, text=True,
                          env=env, timeout=60)


def test_top_of_a_url_matches_the_file_and_is_saved(server, dirs):
    home, saved = dirs
    url = f"http://{server}/sample"
    done = run(["top", "5", url], home, saved)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (EXPECTED / "top_n5.out").read_text()
    lines = done.stderr.splitlines()
    assert lines[0] == f"Fetching profile over HTTP from {url}"
    path = saved / "pprof.sample.bin.samples.cpu.001.pb.gz"
    assert lines[-1] == f"Saved profile in {path}"
    # Saved as pprof saves it: its mapping is marked as symbolized.
    raw = run(["raw", str(path)], home)
    assert raw.stdout == (EXPECTED / "raw.out").read_text().replace(
        "sample.bin  \n", "sample.bin  [FN]\n")
    # Reopened offline, the saved file gives the same view.
    again = run(["top", "5", str(path)], home)
    assert again.stdout == done.stdout
    # The next fetch takes the next free number.
    run(["top", url], home, saved)
    assert sorted(p.name for p in saved.iterdir()) == [
        "pprof.sample.bin.samples.cpu.001.pb.gz",
        "pprof.sample.bin.samples.cpu.002.pb.gz",
    ]


@pytest.mark.parametrize("view", ["tree", "traces", "raw"])
def test_every_view_reads_urls(server, dirs, view):
    home, saved = dirs
    done = run([view, f"http://{server}/sample"], home, saved)
    assert done.returncode == 0, done.stderr
    expected = (EXPECTED / f"{view}.out").read_text()
    if view == "raw":  # a fetched profile's mapping counts as symbolized
        expected = expected.replace("sample.bin  \n", "sample.bin  [FN]\n")
    assert done.stdout == expected


def test_peek_takes_the_regexp_then_the_url(server, dirs):
    home, saved = dirs
    done = run(["peek", r"runtime\.mapiternext", f"{server}/sample"], home, saved)
    assert done.stdout == (EXPECTED / "peek_mapiternext.out").read_text()


def test_host_port_without_path_means_the_cpu_profile_and_seconds_are_asked(
        server, dirs):
    home, saved = dirs
    Handler.queries.clear()
    done = run(["top", server, "-seconds", "3", "-nodecount=5"], home, saved)
    assert done.returncode == 0, done.stderr
    assert Handler.queries == [("/debug/pprof/profile", "seconds=3")]
    assert done.stderr.splitlines()[:2] == [
        f"Fetching profile over HTTP from http://{server}/debug/pprof/profile?seconds=3",
        "Please wait... (3s)",
    ]
    assert done.stdout == (EXPECTED / "top_n5.out").read_text()


def test_default_save_folder_is_home_pprof_and_names_follow_the_sample_types(
        server, dirs):
    home, _ = dirs
    done = run(["top", f"http://{server}/debug/pprof/heap"], home)
    assert done.returncode == 0, done.stderr
    # No mapping, so no binary name; the four sample types of a Go heap profile.
    saved = home / "pprof"
    names = [p.name for p in saved.iterdir()]
    assert names == ["pprof.alloc_objects.alloc_space.inuse_objects.inuse_space.001.pb.gz"]


def test_raw_protobuf_is_accepted_and_saved_gzipped(server, dirs):
    home, saved = dirs
    done = run(["traces", f"http://{server}/raw"], home, saved)
    assert done.stdout == (EXPECTED / "traces.out").read_text()
    (path,) = saved.iterdir()
    assert path.read_bytes()[:2] == b"\x1f\x8b"


def assert_error(done, fragment, saved=None):
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("pyprof: error:")]
    assert len(errors) == 1 and fragment in errors[0], done.stderr
    if saved is not None:
        assert not saved.exists() or not list(saved.iterdir())


def test_http_error_status_names_url_and_status(server, dirs):
    home, saved = dirs
    done = run(["top", f"http://{server}/missing"], home, saved)
    assert_error(done, f"fetching http://{server}/missing: server response: 404 Not Found",
                 saved)


def test_go_pprof_endpoint_error_body_is_shown(server, dirs):
    home, saved = dirs
    done = run(["top", f"http://{server}/goerror"], home, saved)
    assert_error(done, "server response: 400 Bad Request - profile duration exceeds "
                       "server's WriteTimeout", saved)


def test_not_a_profile_names_the_url(server, dirs):
    home, saved = dirs
    done = run(["tree", f"http://{server}/html"], home, saved)
    assert_error(done, f"reading http://{server}/html: not a gzip'd pprof profile", saved)


def test_unreachable_server(dirs):
    home, saved = dirs
    import socket

    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = run(["top", f"http://127.0.0.1:{port}/debug/pprof/profile"], home, saved)
    assert_error(done, f"fetching http://127.0.0.1:{port}/debug/pprof/profile: "
                       "connection refused", saved)


def test_timeout_is_honoured(server, dirs):
    home, saved = dirs
    started = time.monotonic()
    # The server answers after 20 s; -timeout=1 plus pprof's 5 s for the
    # transfer gives up long before, even on a loaded machine.
    done = run(["top", f"http://{server}/slow", "-timeout=1"], home, saved)
    assert_error(done, f"fetching http://{server}/slow: timed out", saved)
    assert time.monotonic() - started < 16


def test_bad_seconds_value_is_a_usage_error(server, dirs):
    home, saved = dirs
    bad = run(["top", f"http://{server}/sample", "-seconds=soon"], home, saved)
    assert bad.returncode == 2 and bad.stdout == ""
    assert "-seconds=soon is not a whole number of seconds" in bad.stderr


@pytest.mark.parametrize("args", [
    ["-top"], ["-top", "-nodecount=3"], ["-tree"], ["-traces"], ["-raw"],
    ["-top", "-seconds=2"], ["-peek", "mapiter"],
])
def test_same_stdout_as_go_tool_pprof_on_the_same_url(server, dirs, args):
    if not GO:
        if os.environ.get("CI") == "true":
            pytest.fail("go is required under CI=true")
        pytest.skip("go is not installed")
    home, saved = dirs
    url = f"http://{server}/sample"
    go = run([*args, url], home, saved, command=[GO, "tool", "pprof"])
    assert go.returncode == 0, go.stderr
    view = args[0].lstrip("-")
    rest = args[1:]
    if view == "top":
        rest = ["--all", *rest] if not any("nodecount" in a for a in rest) else rest
    mine = run([view, *rest, url], home, saved)
    assert mine.returncode == 0, mine.stderr
    assert mine.stdout == go.stdout
    go_saved = [line for line in go.stderr.splitlines() if line.startswith("Saved profile in")]
    my_saved = [line for line in mine.stderr.splitlines()
                if line.startswith("Saved profile in")]
    assert len(go_saved) == len(my_saved) == 1
    # Both name the file alike: pprof.<binary>.<types>.NNN.pb.gz
    assert Path(go_saved[0].split()[-1]).name[:-10] == Path(my_saved[0].split()[-1]).name[:-10]
