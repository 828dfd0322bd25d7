"""Heap profiles that must not be lost: the program's own heap.start()/stop()
under a recording, crashes, pool workers, and pyprof's own allocations kept
out."""

import os
import sys

import pytest

from pyprof import pprof

from memhelp import TARGETS
from memhelp import run_pyprof
from memhelp import run_snippet

ALLOC_OBJECTS, ALLOC_SPACE, INUSE_OBJECTS, INUSE_SPACE = range(4)
MB = 1 << 20


def record(tmp_path, target, *args, program_args=(), status=0):
    cpu = tmp_path / "cpu.pb.gz"
    heap = tmp_path / "heap.pb.gz"
    done = run_pyprof(
        "record", "-o", str(cpu), "--memory-output", str(heap), *args,
        "--", sys.executable, str(TARGETS / target), *program_args,
        cwd=tmp_path,
    )
    assert done.returncode == status, done.stderr
    assert heap.exists(), done.stderr
    return done, pprof.load(str(heap))


def through(profile, name):
    """Per pid, the four values summed over samples whose stack passes
    through function `name` (pid 0: no label)."""
    strings = profile.string_table
    names = {f.id: strings[f.name] for f in profile.function}
    funcs = {loc.id: {names[line.function_id] for line in loc.line}
             for loc in profile.location}
    totals = {}
    for sample in profile.sample:
        if any(name in funcs[i] for i in sample.location_id):
            pid = next((label.num for label in sample.label
                        if strings[label.key] == "pid"), 0)
            entry = totals.setdefault(pid, [0, 0, 0, 0])
            for i in range(4):
                entry[i] += sample.value[i]
    return totals


def comments(profile):
    return [profile.string_table[c] for c in profile.comment]


def test_programs_own_start_and_stop_keep_the_recordings_profile(tmp_path):
    done, profile = record(tmp_path, "own_start_stop.py", "--mem-rate", "1")
    kept = 10000 * sys.getsizeof(bytes(1000))
    assert int(done.stdout.split()[-1]) >= kept  # the program's own view
    values = sum(through(profile, "keep").values(), [])
    # Exact at rate 1: the list's items are still in use at exit.
    assert values[INUSE_OBJECTS] >= 10000 and values[INUSE_SPACE] >= kept
    assert values[ALLOC_SPACE] >= kept


def test_api_users_share_the_sampler_and_stop_leaves_only_its_hold():
    result = run_snippet("""
        import pyprof
        from pyprof.errors import PyprofError

        def keep():
            return [bytes(1000) for _ in range(1000)]

        heap.start(rate_bytes=1)
        pyprof.start(memory=True, mem_rate=1)
        a = keep()
        heap.stop()  # the program's hold only
        still = heap.running()
        p = pyprof.stop()
        first = anywhere(p.heap.snapshot.aggregate, "keep")
        after_first = heap.running()

        pyprof.start(memory=True, mem_rate=1)
        heap.start(1); heap.profile(); heap.stop()
        b = keep()
        p = pyprof.stop()
        second = p.heap is not None and heap.running()

        heap.start(1)
        try:
            pyprof.start(memory=True, mem_rate=4096)
            refused = ""
        except PyprofError as exc:
            refused = exc.format()
        heap.stop()
        report(still=still, first=first, after_first=after_first,
               second_heap=p.heap is not None, second_running=second,
               refused=refused, end=heap.running())
    """)
    assert result["still"] is True
    # The 1000 bytes objects, the list and its array of items.
    assert 1000 <= result["first"][INUSE_OBJECTS] <= 1003, result["first"]
    assert result["after_first"] is False
    assert result["second_heap"] is True and result["second_running"] is False
    assert "already running at 1 bytes per sample, not 4096" in result["refused"]
    assert "pyprof.heap.start()" in result["refused"]
    assert result["end"] is False


def test_each_api_start_is_a_hold_of_its_own():
    # A library and the application (or two threads) that each call
    # heap.start() and heap.stop(): the first to stop leaves the other's
    # profile running; a stop too many changes nothing.
    result = run_snippet("""
        import threading
        from pyprof.errors import PyprofError
        heap.start()                     # the application
        heap.start()                     # a library joins
        heap.stop()                      # the library is done
        app_still = heap.running()
        heap.profile()                   # the application's snapshot
        heap.stop()
        after_app = heap.running()
        heap.stop()                      # one too many
        errors = []
        def user():
            for _ in range(200):
                heap.start()
                try:
                    heap.profile()
                except PyprofError as exc:
                    errors.append(str(exc))
                heap.stop()
        threads = [threading.Thread(target=user) for _ in range(4)]
        for t in threads: t.start()
        for t in threads: t.join()
        report(app_still=app_still, after_app=after_app, errors=errors[:3],
               end=heap.running())
    """)
    assert result["app_still"] is True
    assert result["after_app"] is False
    assert result["errors"] == []
    assert result["end"] is False


def test_profile_context_manager_records_memory(tmp_path):
    out = tmp_path / "h.pb.gz"
    result = run_snippet(f"""
        import pyprof
        with pyprof.profile(memory_path={str(out)!r}, mem_rate=1) as rec:
            kept = [bytes(1000) for _ in range(2000)]
        report(heap=rec.profile.heap is not None)
    """)
    assert result["heap"] is True
    profile = pprof.load(str(out))
    assert sum(s.value[INUSE_OBJECTS] for s in profile.sample) >= 2000


@pytest.mark.parametrize("how, status", [("kill", 137), ("segv", 139),
                                         ("abort", 134)])
def test_a_crashed_program_leaves_its_last_heap_snapshot(tmp_path, how, status):
    done, profile = record(tmp_path, "crash.py", "--mem-rate", "65536",
                           program_args=[how], status=status)
    assert "recovered from a periodic snapshot" in done.stderr
    assert any("[recovered: its last periodic heap snapshot" in line
               for line in comments(profile)), comments(profile)
    (values,) = through(profile, "keep").values()
    true = 30000 * sys.getsizeof(bytes(1000))
    # 2,000 samples at this rate: the estimate is within a few percent.
    assert abs(values[INUSE_SPACE] - true) <= 0.25 * true, (values, true)


@pytest.mark.parametrize("method, end", [("fork", "close"),
                                         ("forkserver", "close"),
                                         ("spawn", "terminate"),
                                         ("fork", "terminate")])
def test_pool_workers_allocations_are_recorded_per_process(tmp_path, method, end):
    done, profile = record(tmp_path, "pool.py", "--mem-rate", "16384",
                           program_args=[method, end])
    per_pid = through(profile, "child_work")
    notes = comments(profile)
    assert per_pid and 0 not in per_pid, (per_pid, notes)
    top = [line for line in notes if line.startswith("pid ") and "pool.py" in line
           and "fork of" not in line]
    assert len(top) == 1, notes
    top_pid = int(top[0].split()[1].rstrip(":"))
    assert top_pid not in per_pid
    for pid in per_pid:
        assert any(line.startswith(f"pid {pid}") for line in notes), (pid, notes)
    if method == "fork":
        assert any(f"(fork of pid {top_pid})" in line for line in notes), notes
    total = sum(v[ALLOC_SPACE] for v in per_pid.values())
    # A task's bytes objects, plus its list growing by realloc (each
    # realloc counts its full new size: 5% to 8% more, measured at rate 1).
    task = 1.07 * 20000 * sys.getsizeof(bytes(1000))
    if end == "close":
        # All four tasks; a sample stands for ~16 kB, so 5,000 samples.
        assert abs(total - 4 * task) <= 0.2 * 4 * task, (total, 4 * task)
    else:
        # Terminated workers: what their last periodic snapshots saw, at
        # least one task each of the two.
        assert 1.5 * task <= total <= 1.2 * 4 * task, (total, task)


def test_pyprofs_own_allocations_are_left_out(tmp_path):
    done, profile = record(tmp_path, "hello.py", "--mem-rate", "1")
    assert done.stdout == "hi\n"
    strings = profile.string_table
    package = os.path.dirname(os.path.abspath(pprof.__file__)) + os.sep
    files = {strings[f.filename] for f in profile.function}
    ours = sorted(f for f in files
                  if f.startswith(package) or f.endswith("sitecustomize.py"))
    assert ours == [], ours
    assert any(strings[f.name] == "<module>" and strings[f.filename].endswith(
        "hello.py") for f in profile.function)


def test_memory_options_imply_memory_and_never_replace_an_input(tmp_path):
    script = tmp_path / "hi.py"
    script.write_text('print("hi")\n')
    before = script.read_bytes()
    refused = run_pyprof("record", "-o", "cpu.pb.gz", "--memory-output", "hi.py",
                         "--", sys.executable, "hi.py", cwd=tmp_path)
    assert refused.returncode == 2
    assert "would replace hi.py" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert script.read_bytes() == before
    for option in (["--mem-rate", "4096"], ["--memory-output", "mem.pb.gz"]):
        done = run_pyprof("record", "-o", "cpu.pb.gz", *option, "--",
                          sys.executable, "hi.py", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        written = tmp_path / ("mem.pb.gz" if "--memory-output" in option
                              else "heap.pb.gz")
        assert written.exists(), done.stderr
        profile = pprof.load(str(written))
        assert len(profile.sample_type) == 4
        written.unlink()


def test_the_programs_code_called_by_pyprof_stays_in_the_profile():
    # An application behind pyprof's WSGI middleware: its stacks pass
    # through pyprof's frames, but its own code is innermost, so they stay;
    # what the program's call into pyprof's API allocates does not.
    result = run_snippet("""
        from pyprof.live import wsgi

        def app(environ, start_response):
            global kept
            kept = [bytes(1000) for _ in range(1000)]
            start_response("200 OK", [])
            return [b"ok"]

        heap.start(1)
        wsgi.middleware(app)({"PATH_INFO": "/x", "REQUEST_METHOD": "GET",
                              "SCRIPT_NAME": ""}, lambda *args: None)
        heap.profile()  # pyprof's work, on the program's thread
        snap = heap.snapshot()
        heap.stop()
        files = sorted({f[1] for frames in snap.aggregate for f in frames[:1]})
        report(app=anywhere(snap.aggregate, "app"), leaves=files)
    """)
    assert 1000 <= result["app"][INUSE_OBJECTS] <= 1003, result["app"]
    package = os.path.dirname(os.path.abspath(pprof.__file__)) + os.sep
    assert not [f for f in result["leaves"] if f.startswith(package)], result["leaves"]
