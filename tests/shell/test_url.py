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

    for done, name in zip(runs, saved):
        assert done.returncode == 0, done.stderr
        # No "Please wait...": pprof prints it for -seconds, not for ?seconds=.
        assert done.stderr.splitlines()[:2] == [
            f"Fetching profile over HTTP from {live_url}",
            f"Saved profile in {tmp_path / name}",
        ]
        assert "spin_for_the_shell_test" in done.stdout
    assert len(saved) == 2
    assert re.fullmatch(r"pprof\.(.+\.)?samples\.cpu\.001\.pb\.gz", saved[0]), saved
    assert saved[1] == saved[0].replace(".001.", ".002.")
    if GO:
        # go tool pprof prints the same lines and names the file the same way.
        theirs = _shell([live_url], tmp_path / "go", lines=("quit",),
                        command=[GO, "tool", "pprof"])
        assert [p.name for p in (tmp_path / "go").iterdir()
                if p.name.startswith("pprof.")] == [saved[0]], theirs.stderr
        assert theirs.stderr.splitlines()[:2] == [
            f"Fetching profile over HTTP from {live_url}",
            f"Saved profile in {tmp_path / 'go' / saved[0]}",
        ]


def test_seconds_flag_prints_please_wait_as_go_does(live_url, tmp_path):
    url = live_url.replace("?seconds=1", "")
    done = _shell(["-seconds", "1", url], tmp_path, lines=("quit",))
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[:2] == [
        f"Fetching profile over HTTP from {url}?seconds=1",
        "Please wait... (1s)",
    ]
    if GO:
        theirs = _shell(["-seconds", "1", url], tmp_path / "go", lines=("quit",),
                        command=[GO, "tool", "pprof"])
        assert theirs.stderr.splitlines()[:2] == done.stderr.splitlines()[:2]


def test_unusable_pprof_tmpdir_warns_and_saves_under_home(corpus_url, tmp_path):
    in_the_way = tmp_path / "notadir"
    in_the_way.write_text("a file, not a folder\n")
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home, PPROF_TMPDIR=str(in_the_way))
    runs = {}
    for name, command in (("py", [*PYPROF, "shell"]), ("go", [GO, "tool", "pprof"])):
        if name == "go" and not GO:
            continue
        for old in home.glob("pprof/*"):
            old.unlink()
        runs[name] = subprocess.run([*command, corpus_url], input="top 1\n",
                                    capture_output=True, text=True, cwd=tmp_path,
                                    env=env, timeout=120)
    done = runs["py"]
    assert done.returncode == 0, done.stderr
    saved = home / "pprof" / "pprof.sample.bin.samples.cpu.001.pb.gz"
    assert done.stderr.splitlines()[:3] == [
        f"Fetching profile over HTTP from {corpus_url}",
        f"Could not use temp dir {in_the_way}: mkdir {in_the_way}: not a directory",
        f"Saved profile in {saved}",
    ]
    assert saved.read_bytes()[:2] == b"\x1f\x8b"
    assert "Showing top 1 nodes out of 14" in done.stdout
    if "go" in runs:
        assert go_to_pyprof(runs["go"].stderr).splitlines()[:3] == \
            done.stderr.splitlines()[:3]
        assert runs["go"].stdout == done.stdout
