"""pyprof.serve() in a real service (tests/live/service_http.py): every
path fetched over HTTP, checked for status, headers and content."""

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from live_helpers import Load
from live_helpers import cpu_by_function
from live_helpers import get
from live_helpers import labels_of
from live_helpers import need_go
from live_helpers import start_service
from live_helpers import wait_until
from pyprof import pprof

MAX_SECONDS = 60


@pytest.fixture(scope="module")
def service():
    svc = start_service("service_http.py", MAX_SECONDS)
    base = f"http://127.0.0.1:{svc.ports['pprof']}/debug/pprof/"
    work = f"http://127.0.0.1:{svc.ports['app']}/work?ms=30"
    yield base, work, svc
    stderr = svc.close()
    assert "Traceback" not in stderr, stderr


def busiest_share(data):
    profile = pprof.load(data)
    cum, total = cpu_by_function(profile)
    return profile, cum, total


def test_index_lists_every_profile_with_a_count(service):
    base, _, _ = service
    status, headers, body = get(base)
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["X-Content-Type-Options"] == "nosniff"
    page = body.decode()
    for name in ("allocs", "cmdline", "goroutine", "heap", "profile", "threads"):
        assert f">{name}</a>" in page
    # The service has at least its main thread, the waiter, the allocator,
    # its app server and pyprof's server: the threads count says so.
    row = page.split(">threads</a>")[0].rsplit("<tr><td>", 1)[1]
    assert int(row.split("<")[0]) >= 5
    assert "threads?debug=2" in page


def test_prefix_without_slash_redirects_and_other_paths_are_404(service):
    base, _, _ = service
    root = base.rstrip("/")
    port = int(base.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /debug/pprof HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    head = reply.split(b"\r\n\r\n")[0].decode()
    assert head.startswith("HTTP/1.1 301")
    assert "Location: /debug/pprof/" in head
    status, headers, body = get(base + "nonsense")
    assert status == 404
    assert headers["X-Go-Pprof"] == "1"
    assert body == b"Unknown profile\n"
    assert get(root.replace("/debug/pprof", "/elsewhere"))[0] == 404


def test_cmdline_is_the_argv_nul_separated(service):
    base, _, svc = service
    status, headers, body = get(base + "cmdline")
    assert status == 200
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    argv = body.decode().split("\x00")
    # As Go's starts with the program: the interpreter as it was started,
    # then the script and its arguments; the index page shows the same.
    assert argv[0] == sys.executable
    assert argv[1].endswith("service_http.py")
    assert argv[2:] == [str(MAX_SECONDS)]
    page = get(base)[2].decode()
    assert f"Profiles of {sys.executable} {argv[1]} {MAX_SECONDS} (pyprof)" in page


@pytest.mark.parametrize("name", ["profile/", "heap/", "threads/", "cmdline/",
                                  "profile/x"])
def test_a_name_with_a_trailing_slash_is_an_unknown_profile(service, name):
    base, _, _ = service
    started = time.monotonic()
    status, headers, body = get(base + name + "?seconds=5")
    assert (status, body) == (404, b"Unknown profile\n")
    assert time.monotonic() - started < 4  # not a CPU profile


def test_cpu_profile_shows_the_busy_handler(service):
    base, work, _ = service
    with Load(work) as load:
        status, headers, body = get(base + "profile?seconds=2")
    assert load.requests > 0
    assert status == 200
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"] == 'attachment; filename="profile"'
    profile, cum, total = busiest_share(body)
    strings = profile.string_table
    assert [strings[t.type] for t in profile.sample_type] == ["samples", "cpu"]
    assert 1.5e9 <= profile.duration_nanos <= 20e9
    assert total >= 10 * profile.period, total
    assert cum["busy_handler"] >= 0.5 * total, (cum["busy_handler"], total)


@pytest.mark.slow
def test_go_tool_pprof_and_pyprof_top_read_the_url(service, tmp_path, pyprof_run):
    go = need_go()
    base, work, _ = service
    env = {"PPROF_TMPDIR": str(tmp_path), "HOME": str(tmp_path),
           "PATH": "/usr/bin:/bin:/usr/local/bin"}
    url = base + "profile?seconds=2"
    with Load(work):
        go_run = subprocess.run([go, "tool", "pprof", "-top", url], env=env,
                                capture_output=True, text=True, timeout=120)
        ours = pyprof_run("top", url, env={**env, "PATH": env["PATH"]})
    assert go_run.returncode == 0, go_run.stderr
    assert ours.returncode == 0, ours.stderr
    for out in (go_run.stdout, ours.stdout):
        assert "Type: cpu" in out
        assert "busy_handler" in out
    assert "Saved profile in" in go_run.stderr and "Saved profile in" in ours.stderr


def test_second_cpu_profile_at_once_is_refused_with_500(service, pyprof_run, tmp_path):
    base, _, _ = service
    first = {}
    thread = threading.Thread(
        target=lambda: first.update(zip(("status", "headers", "body"),
                                        get(base + "profile?seconds=5"))))
    thread.start()
    try:
        time.sleep(0.8)
        status, headers, body = get(base + "profile?seconds=1")
        # pyprof's own client shows the server's reason.
        ours = pyprof_run("top", base + "profile?seconds=1",
                          env={**os.environ, "PPROF_TMPDIR": str(tmp_path)})
    finally:
        thread.join(30)
    assert ours.returncode == 1
    assert "server response: 500 Internal Server Error - Could not enable CPU " \
        "profiling: a CPU profile is already being collected" in ours.stderr
    assert status == 500
    assert headers["X-Go-Pprof"] == "1"
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert body.startswith(b"Could not enable CPU profiling: ")
    assert b"already" in body
    assert first["status"] == 200
    pprof.load(first["body"])


def test_client_that_hangs_up_stops_the_collection(service):
    base, _, _ = service
    port = int(base.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /debug/pprof/profile?seconds=50 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.5)
    # Were the 50 s collection still running, this would be refused (500).
    started = time.monotonic()
    assert wait_until(lambda: get(base + "profile?seconds=1")[0] == 200, timeout=15)
    assert time.monotonic() - started < 15


@pytest.mark.parametrize("query", ["seconds=-1", "seconds=0", "seconds=abc",
                                   "seconds=1.5", f"seconds={MAX_SECONDS + 1}",
                                   "seconds=99999999999999999999"])
def test_bad_seconds_are_400(service, query):
    base, _, _ = service
    for name in ("profile", "heap", "threads"):
        status, headers, body = get(f"{base}{name}?{query}")
        assert status == 400, (name, query)
        assert headers["X-Go-Pprof"] == "1"
        assert b"seconds" in body or b"limit" in body


def test_seconds_with_debug_is_400(service):
    base, _, _ = service
    status, _, body = get(base + "heap?seconds=1&debug=1")
    assert status == 400
    assert b"debug" in body


def test_thread_dump_shows_the_blocked_waiter(service):
    base, _, _ = service
    status, headers, body = get(base + "threads?debug=2")
    assert status == 200
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    blocks = body.decode().split("\n\n")
    waiter = [b for b in blocks if '"order-waiter"' in b]
    assert len(waiter) == 1, body.decode()
    lines = waiter[0].splitlines()
    assert lines[0].startswith("thread ")
    assert "[blocked in orders.acquire, daemon]:" in lines[0]
    assert lines[1] == "wait_for_orders(...)"
    assert lines[2].strip().endswith("service_http.py:" + lines[2].rsplit(":", 1)[1])
    assert '"MainThread"' in body.decode()


def test_grouped_thread_text_counts_threads(service):
    base, _, _ = service
    status, _, body = get(base + "threads?debug=1")
    assert status == 200
    text = body.decode()
    total = int(text.splitlines()[0].rsplit(" ", 1)[1])
    groups = [int(line.split(" @ ")[0]) for line in text.splitlines() if " @ " in line]
    assert sum(groups) == total >= 5
    assert '"order-waiter"' in text
    assert "#\twait_for_orders\t" in text


@pytest.mark.parametrize("name", ["threads", "goroutine"])
def test_threads_profile_has_one_sample_per_thread(service, name):
    base, _, _ = service
    status, headers, body = get(base + name)
    assert status == 200
    assert headers["Content-Disposition"] == f'attachment; filename="{name}"'
    profile = pprof.load(body)
    strings = profile.string_table
    assert [(strings[t.type], strings[t.unit]) for t in profile.sample_type] == [
        ("goroutine", "count")]
    assert all(list(s.value) == [1] for s in profile.sample)
    labels = labels_of(profile)
    waiter = [lb for lb in labels if lb["thread"] == "order-waiter"]
    assert waiter == [{"thread": "order-waiter", "state": "blocked in orders.acquire"}]
    assert len(labels) >= 5


def test_heap_and_allocs_are_memory_profiles(service):
    base, _, _ = service
    for name, default in (("heap", "inuse_space"), ("allocs", "alloc_space")):
        status, headers, body = get(f"{base}{name}?gc=1")
        assert status == 200, body
        assert headers["Content-Disposition"] == f'attachment; filename="{name}"'
        profile = pprof.load(body)
        strings = profile.string_table
        types = [strings[t.type] for t in profile.sample_type]
        assert set(types) == {"alloc_objects", "alloc_space", "inuse_objects",
                              "inuse_space"}
        assert strings[profile.default_sample_type] in (default, "")
        cum, total = cpu_by_function(profile)
        assert total > 0
        if name == "allocs":
            index = types.index("alloc_space")
            allocated = sum(s.value[index] for s in profile.sample)
            assert allocated > 0


def test_allocs_delta_shows_what_was_allocated_meanwhile(service):
    base, _, _ = service
    status, headers, body = get(base + "allocs?seconds=2")
    assert status == 200, body
    assert headers["Content-Disposition"] == 'attachment; filename="allocs-delta"'
    profile = pprof.load(body)
    strings = profile.string_table
    types = [strings[t.type] for t in profile.sample_type]
    index = types.index("alloc_space")
    names = {f.id: strings[f.name] for f in profile.function}
    by_function = {}
    for s in profile.sample:
        leaf_functions = {names[ln.function_id] for loc_id in s.location_id
                          for loc in profile.location if loc.id == loc_id
                          for ln in loc.line}
        for fn in leaf_functions:
            by_function[fn] = by_function.get(fn, 0) + s.value[index]
    # The allocator thread makes ~25 MB/s; the delta holds only these 2 s,
    # not what it allocated since the start.
    assert by_function.get("allocate_orders", 0) > 1_000_000
    assert 1.5e9 <= profile.duration_nanos <= 20e9
    status, _, full = get(base + "allocs")
    whole = pprof.load(full)
    whole_space = sum(s.value[index] for s in whole.sample)
    assert sum(s.value[index] for s in profile.sample) < whole_space


def test_threads_delta_is_a_profile(service):
    base, _, _ = service
    status, headers, body = get(base + "threads?seconds=1")
    assert status == 200
    assert headers["Content-Disposition"] == 'attachment; filename="threads-delta"'
    profile = pprof.load(body)
    assert 0.9e9 <= profile.duration_nanos <= 20e9
