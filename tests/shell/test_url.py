"""A URL opens the shell on a fetched profile: pprof's progress lines, the
profile saved under $PPROF_TMPDIR as pprof.<program>.<types>.NNN.pb.gz with
a counter that never overwrites (.001, then .002), the saved path printed.

Profiles come from a threaded http.server on 127.0.0.1 serving a corpus
file, and from a live Python program serving /debug/pprof/ with
pyprof.serve(); both are started and stopped by the tests.
"""

import http.server
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from sessions import SAMPLE
from shell_support import GO
from shell_support import PYPROF
from shell_support import clean_env
from shell_support import go_to_pyprof
from shell_support import need_go


class _Corpus(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body = SAMPLE.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def corpus_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Corpus)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/debug/pprof/profile"
    finally:
        server.shutdown()
        server.server_close()


def _shell(args, folder, lines=("top 3",), command=None):
    folder.mkdir(exist_ok=True)
    return subprocess.run([*(command or [*PYPROF, "shell"]), *args],
                          input="".join(line + "\n" for line in lines),
                          capture_output=True, text=True, cwd=folder,
                          env=clean_env(folder), timeout=120)


def test_url_is_fetched_saved_with_a_counter_and_shown(corpus_url, tmp_path):
    first = _shell([corpus_url], tmp_path)
    second = _shell([corpus_url], tmp_path, command=PYPROF)  # `pyprof URL`
    offline = _shell([str(SAMPLE)], tmp_path)
    saved = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("pprof."))

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert saved == ["pprof.sample.bin.samples.cpu.001.pb.gz",
                     "pprof.sample.bin.samples.cpu.002.pb.gz"]
    for done, name in ((first, saved[0]), (second, saved[1])):
        assert done.stderr.splitlines()[:3] == [
            f"Fetching profile over HTTP from {corpus_url}",
            f"Saved profile in {tmp_path / name}",
            "File: sample.bin",
        ]
        assert done.stdout == offline.stdout
    assert "Showing top 3 nodes out of 14" in first.stdout


def test_url_session_matches_go_tool_pprof(corpus_url, tmp_path):
    go = need_go()
    theirs = _shell([corpus_url], tmp_path / "go", command=[go, "tool", "pprof"])
    mine = _shell([corpus_url], tmp_path / "py")

    assert mine.stdout == theirs.stdout
    assert mine.stderr.replace(str(tmp_path / "py"), "DIR") == \
        go_to_pyprof(theirs.stderr).replace(str(tmp_path / "go"), "DIR")


LIVE_PROGRAM = textwrap.dedent("""
    import sys
    import pyprof

    server = pyprof.serve("127.0.0.1", 0, memory=False)
    print(server.port, flush=True)

    def spin_for_the_shell_test():
        total = 0
        for i in range(20000):
            total += i * i
        return total

    while True:
        spin_for_the_shell_test()
""")


@pytest.fixture
def live_url(tmp_path):
    errors = tmp_path / "live.err"
    with open(errors, "w") as stderr:
        program = subprocess.Popen([sys.executable, "-c", LIVE_PROGRAM],
                                   stdout=subprocess.PIPE, stderr=stderr, text=True,
                                   env=clean_env(tmp_path), start_new_session=True)
    try:
        port = program.stdout.readline().strip()
        assert port.isdigit(), "the live program did not start: " + errors.read_text()
        yield f"http://127.0.0.1:{port}/debug/pprof/profile?seconds=1"
    finally:
        os.killpg(program.pid, signal.SIGKILL)
        program.wait()


def test_live_pyprof_endpoint_twice_gives_001_then_002(live_url, tmp_path):
    lines = ("top 5", "peek spin_for")
    runs = [_shell([live_url], tmp_path, lines=lines) for _ in range(2)]
    saved = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("pprof."))

    for done in runs:
        assert done.returncode == 0, done.stderr
        assert "Please wait... (1s)" in done.stderr
        assert "spin_for_the_shell_test" in done.stdout
    assert len(saved) == 2
    assert re.fullmatch(r"pprof\.(.+\.)?samples\.cpu\.001\.pb\.gz", saved[0]), saved
    assert saved[1] == saved[0].replace(".001.", ".002.")
    assert f"Saved profile in {tmp_path / saved[0]}" in runs[0].stderr
    assert f"Saved profile in {tmp_path / saved[1]}" in runs[1].stderr
    if GO:
        # go tool pprof names the same program's profile the same way.
        theirs = _shell([live_url], tmp_path / "go", lines=("quit",),
                        command=[GO, "tool", "pprof"])
        assert [p.name for p in (tmp_path / "go").iterdir()
                if p.name.startswith("pprof.")] == [saved[0]], theirs.stderr
