"""Live profiles of a program that is not changed: pyprof record --http and
PYPROF_HTTP; and pyprof.serve() beside pyprof.start() in one process."""

import os
import re
import socket
import subprocess
import sys
import threading
import time

import pytest

from live_helpers import HERE
from live_helpers import cpu_by_function
from live_helpers import get
from pyprof import pprof

TARGET = str(HERE / "record_target.py")


def start_recording(pyprof_argv, tmp_path, options=(), env=None):
    out = tmp_path / "recorded.pb.gz"
    process = subprocess.Popen(
        [*pyprof_argv, "record", "-o", str(out), *options, "--",
         sys.executable, TARGET],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env, cwd=str(tmp_path))
    return process, out


def served_url(process):
    """The URL the program's pyprof announced on stderr."""
    line = process.stderr.readline()
    found = re.fullmatch(
        r"pyprof: serving profiles at (http://127\.0\.0\.1:\d+/debug/pprof/)\n", line)
    if not found:
        process.kill()
        raise AssertionError(line + process.stderr.read())
    return found.group(1)


def finish(process):
    out, err = process.communicate("", timeout=60)
    return process.returncode, out, err


@pytest.mark.parametrize("how", ["option", "environment"])
def test_recorded_program_serves_profiles_while_the_recording_goes_on(
        pyprof_argv, tmp_path, how):
    env = dict(os.environ)
    options = ()
    if how == "option":
        options = ("--http", "0")
    else:
        env["PYPROF_HTTP"] = "127.0.0.1:0"
    process, out = start_recording(pyprof_argv, tmp_path, options, env)
    try:
        url = served_url(process)
        status, _, body = get(url + "profile?seconds=1")
        threads_status, _, dump = get(url + "threads?debug=2")
    finally:
        code, stdout, stderr = finish(process)
    assert code == 0, stderr
    assert status == 200
    live = pprof.load(body)
    cum, total = cpu_by_function(live)
    assert total >= 5 * live.period
    assert cum["record_busy"] >= 0.5 * total
    assert threads_status == 200 and b"record_busy(...)" in dump
    # The recording was not disturbed: it has the whole run, live part included.
    recorded = pprof.load(str(out))
    rec_cum, rec_total = cpu_by_function(recorded)
    assert rec_cum["record_busy"] >= cum["record_busy"] * 0.9
    assert recorded.duration_nanos > live.duration_nanos
    # The program's environment is its own.
    assert stdout.strip().splitlines()[-1] == "PYPROF_HTTP=None"
    assert "wrote" in stderr


def test_bad_http_address_is_a_usage_error(pyprof_run, tmp_path):
    result = pyprof_run("record", "-o", str(tmp_path / "p.pb.gz"), "--http",
                        "localhost:http", "--", sys.executable, "-c", "pass")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "pyprof: error: reading the address 'localhost:http': not [HOST:]PORT")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "p.pb.gz").exists()


def test_port_in_use_under_http_option_fails_before_the_program_runs(
        pyprof_run, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = pyprof_run("record", "-o", str(tmp_path / "p.pb.gz"), "--http",
                            str(port), "--", sys.executable, "-c", "print('ran')")
    assert result.returncode == 1
    assert result.stdout == ""  # the program did not run
    lines = result.stderr.splitlines()
    assert lines[0] == (f"pyprof: error: serving profiles on 127.0.0.1:{port}: "
                        "address already in use")
    assert "0 for a free one" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "p.pb.gz").exists()


def test_port_in_use_under_pyprof_http_warns_with_a_hint_and_the_program_runs(
        pyprof_run, tmp_path, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("PYPROF_HTTP", str(port))
        result = pyprof_run("record", "-o", str(tmp_path / "p.pb.gz"), "--",
                            sys.executable, "-c", "print('ran')")
    assert result.returncode == 0
    assert result.stdout == "ran\n"
    warning = result.stderr.splitlines()[0]
    assert warning.startswith(
        f"pyprof: warning: not serving profiles: serving profiles on "
        f"127.0.0.1:{port}: address already in use; the program runs without it")
    assert "0 for a free one" in warning
    assert (tmp_path / "p.pb.gz").exists()


def test_http_adds_no_imports_to_the_recording(pyprof_run, tmp_path):
    # pyprof's server modules are imported before sampling starts: at
    # 10 kHz their ~0.1 s of imports would be hundreds of samples.
    out = tmp_path / "p.pb.gz"
    result = pyprof_run("record", "--rate", "10000", "--http", "0", "-o", str(out),
                        "--", sys.executable, "-c", "pass")
    assert result.returncode == 0, result.stderr
    profile = pprof.load(out.read_bytes())
    strings = profile.string_table
    names = {f.id: strings[f.name] for f in profile.function}
    stacks = {loc.id: [names[line.function_id] for line in loc.line]
              for loc in profile.location}
    for sample in profile.sample:
        stack = [name for loc in sample.location_id for name in stacks[loc]]
        if "_serve_http" in stack:
            assert "_find_and_load" not in stack[:stack.index("_serve_http")], stack


def test_serve_beside_pyprof_start_taps_the_running_recording():
    import pyprof

    stop = threading.Event()

    def tapped_worker():
        while not stop.is_set():
            sum(i * i for i in range(500))

    pyprof.start()
    server = None
    worker = threading.Thread(target=tapped_worker, daemon=True)
    try:
        server = pyprof.serve(port=0, memory=False)
        worker.start()
        time.sleep(0.3)
        status, _, body = get(server.url + "profile?seconds=1")
    finally:
        stop.set()
        worker.join()
        if server is not None:
            server.stop()
        recording = pyprof.stop()
    assert status == 200
    live = pprof.load(body)
    cum, total = cpu_by_function(live)
    assert total >= 5 * live.period
    assert cum["test_serve_beside_pyprof_start_taps_the_running_recording.<locals>"
               ".tapped_worker"] >= 0.5 * total
    rec_cum, _ = cpu_by_function(recording.proto)
    name = next(n for n in rec_cum if n.endswith("tapped_worker"))
    assert rec_cum[name] >= 0.9 * cum[name]
