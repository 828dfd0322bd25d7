"""pyprof record follows the Python processes a program starts: subprocess,
os.fork and multiprocessing (fork, spawn, forkserver), each process's
samples labelled with its pid, its command line in the comments."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

from children_helpers import cpu_by_pid
from children_helpers import last_line

# Burns CPU in a function of the given name for a given CPU time; used by
# the programs below so that each process has a function of its own.
BURN = textwrap.dedent(
    """
    import time

    def burn(seconds):
        end = time.thread_time() + seconds
        n = 0
        while time.thread_time() < end:
            n += 1
        return n
    """
)


def write(tmp_path, name, body):
    path = tmp_path / name
    path.write_text(BURN + textwrap.dedent(body))
    return path


def only_pid_with(cpu, function):
    """The pids whose samples include function."""
    return sorted(pid for pid, funcs in cpu.items() if funcs.get(function, 0) > 0)


def test_subprocess_children_are_recorded_with_their_own_pid(record, per_pid, tmp_path):
    (tmp_path / "helper_mod.py").write_text(
        BURN + "def in_module():\n    burn(0.3)\nin_module()\nprint('module')\n"
    )
    script = write(tmp_path, "child_script.py", """
        def in_script():
            burn(0.3)
        in_script()
        print("script")
        raise SystemExit(3)
    """)
    main = write(tmp_path, "main.py", f"""
        import subprocess, sys
        def in_parent():
            burn(0.3)
        in_parent()
        code = "import time\\ndef in_dash_c():\\n    end = time.thread_time() + 0.3\\n    while time.thread_time() < end: pass\\nin_dash_c()\\nprint('dash c')"
        subprocess.run([sys.executable, "-c", code], check=True)
        status = subprocess.run([sys.executable, {str(script)!r}]).returncode
        subprocess.run([sys.executable, "-m", "helper_mod"], check=True, cwd={str(tmp_path)!r})
        print("script exited", status)
        sys.exit(7)
    """)
    result, path = record(sys.executable, str(main))

    assert result.returncode == 7, result.stderr
    assert result.stdout == "dash c\nscript\nmodule\nscript exited 3\n"
    assert "4 processes" in last_line(result.stderr)
    cpu, notes = per_pid(path)
    # Each function is in exactly one process, and each process is another.
    owners = [only_pid_with(cpu, f) for f in
              ("in_parent", "in_dash_c", "in_script", "in_module")]
    assert all(len(o) == 1 for o in owners), owners
    assert len({o[0] for o in owners}) == 4
    for pid, word in zip((o[0] for o in owners),
                         ("main.py", "-c", "child_script.py", "helper_mod")):
        line = next(c for c in notes if c.startswith(f"pid {pid}: "))
        assert word in line, line
    # Each process burnt about 0.3 s; a wide margin for a loaded machine.
    for owner, function in zip(owners, ("in_parent", "in_dash_c", "in_script",
                                        "in_module")):
        assert 0.1e9 < cpu[owner[0]][function] < 0.9e9, (function, cpu)


def test_a_fork_child_samples_itself_and_never_repeats_the_parents_samples(
    record, per_pid, tmp_path
):
    main = write(tmp_path, "forks.py", """
        import os, sys
        def before_fork():
            burn(0.4)
        def in_child():
            burn(0.4)
        def in_parent():
            burn(0.4)
        before_fork()
        pid = os.fork()
        if pid == 0:
            in_child()
            print("child", flush=True)
            os._exit(5)
        in_parent()
        _, status = os.waitpid(pid, 0)
        print("child status", os.waitstatus_to_exitcode(status)
              if hasattr(os, "waitstatus_to_exitcode") else status >> 8)
    """)
    result, path = record(sys.executable, str(main))

    assert result.returncode == 0, result.stderr
    assert result.stdout == "child\nchild status 5\n"
    cpu, notes = per_pid(path)
    parent = only_pid_with(cpu, "before_fork")
    child = only_pid_with(cpu, "in_child")
    assert len(parent) == 1 and len(child) == 1 and parent != child
    assert only_pid_with(cpu, "in_parent") == parent
    # The child's file starts at the fork: the parent's 0.4 s before it
    # are counted once, in the parent.
    assert 0.15e9 < cpu[parent[0]]["before_fork"] < 0.8e9
    assert 0.15e9 < cpu[child[0]]["in_child"] < 0.8e9
    fork_line = next(c for c in notes if c.startswith(f"pid {child[0]} "))
    assert f"(fork of pid {parent[0]})" in fork_line and "forks.py" in fork_line
    assert not any("recovered" in c for c in notes)


POOL = """
    import multiprocessing, os, sys

    def work(n):
        burn(0.25)
        return os.getpid()

    def in_main():
        burn(0.2)

    if __name__ == "__main__":
        ctx = multiprocessing.get_context(sys.argv[1])
        pool = ctx.Pool(2)
        pids = pool.map(work, range(4), chunksize=1)
        # close, not terminate (which `with` does): the workers then leave
        # on their own instead of by SIGTERM, and save everything.
        pool.close()
        pool.join()
        process = ctx.Process(target=work, args=(0,))
        process.start()
        process.join()
        in_main()
        print(len(set(pids)) >= 1, process.exitcode)
"""


@pytest.mark.slow
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_multiprocessing_workers_are_recorded(record, per_pid, tmp_path, method):
    main = write(tmp_path, "pool.py", POOL)
    result, path = record(sys.executable, str(main), method, timeout=180)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "True 0\n"
    cpu, notes = per_pid(path)
    main_pid = only_pid_with(cpu, "in_main")
    workers = only_pid_with(cpu, "work")
    assert len(main_pid) == 1
    assert main_pid[0] not in workers
    # The pool's workers and the lone Process: at least two processes ran
    # work(); together they burnt 5 x 0.25 s.
    assert len(workers) >= 2, notes
    total = sum(cpu[pid]["work"] for pid in workers)
    assert 0.6e9 < total < 2.5e9, cpu
    # Workers leave through os._exit (fork) or sys.exit (spawn): either
    # way they saved everything, none needed recovering.
    assert not any("recovered" in c for c in notes), notes
    for pid in workers:
        assert any(c.startswith(f"pid {pid}") for c in notes), notes


def test_no_children_records_only_the_program(record, per_pid, tmp_path):
    main = write(tmp_path, "main.py", """
        import os, subprocess, sys
        def in_parent():
            burn(0.3)
        in_parent()
        subprocess.run([sys.executable, "-c", "import os; print(os.environ.get('PYTHONPATH'))"])
        pid = os.fork()
        if pid == 0:
            burn(0.3)
            os._exit(0)
        os.waitpid(pid, 0)
    """)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    result, path = record(sys.executable, str(main), env=env,
                          options=["--no-children"])

    assert result.returncode == 0, result.stderr
    assert result.stdout == "None\n"  # the child saw the user's environment
    cpu, notes = per_pid(path)
    assert len(cpu) == 1
    (pid,) = cpu
    assert cpu[pid]["in_parent"] > 0
    assert len([c for c in notes if c.startswith("pid ")]) == 1


def test_tagfocus_on_pid_separates_processes(record, pyprof_run, tmp_path, per_pid):
    main = write(tmp_path, "main.py", """
        import os
        def in_parent():
            burn(0.3)
        def in_child():
            burn(0.3)
        pid = os.fork()
        if pid == 0:
            in_child()
            os._exit(0)
        in_parent()
        os.waitpid(pid, 0)
    """)
    result, path = record(sys.executable, str(main))
    assert result.returncode == 0, result.stderr
    cpu, _ = per_pid(path)
    (child,) = only_pid_with(cpu, "in_child")
    (parent,) = only_pid_with(cpu, "in_parent")

    ours = pyprof_run("top", "--all", "--text", f"-tagfocus=pid={child}", str(path))
    assert ours.returncode == 0, ours.stderr
    assert "in_child" in ours.stdout and "in_parent" not in ours.stdout
    ours_parent = pyprof_run(
        "top", "--all", "--text", f"-tagfocus=pid={parent}", str(path)
    )
    assert "in_parent" in ours_parent.stdout, ours_parent.stdout
    assert "in_child" not in ours_parent.stdout, ours_parent.stdout

    go = shutil.which("go")
    if go is None:
        if os.environ.get("CI") == "true":
            pytest.fail("go is needed under CI=true")
        pytest.skip("go is not installed: cannot compare with go tool pprof")
    theirs = subprocess.run(
        [go, "tool", "pprof", "-top", f"-tagfocus=pid={child}", str(path)],
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PPROF_TMPDIR=str(tmp_path)),
    )
    assert theirs.returncode == 0, theirs.stderr
    assert theirs.stdout == ours.stdout
    assert "in_child" in theirs.stdout and "in_parent" not in theirs.stdout
    # Every sample with its pid label, as Go prints it.
    go_traces = subprocess.run(
        [go, "tool", "pprof", "-traces", str(path)],
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PPROF_TMPDIR=str(tmp_path)),
    )
    our_traces = pyprof_run("traces", "--text", str(path))
    assert f"pid:  {child}" in go_traces.stdout
    assert our_traces.stdout == go_traces.stdout


def test_a_fork_that_execs_python_is_recorded_as_the_new_program(
    record, per_pid, tmp_path
):
    main = write(tmp_path, "execs.py", """
        import os, sys
        def before_fork():
            burn(0.2)
        before_fork()
        pid = os.fork()
        if pid == 0:
            code = "import time\\ndef after_exec():\\n    end = time.thread_time() + 0.3\\n    while time.thread_time() < end: pass\\nafter_exec()\\nprint('exec ran')"
            os.execv(sys.executable, [sys.executable, "-c", code])
        _, status = os.waitpid(pid, 0)
        print("status", status)
    """)
    result, path = record(sys.executable, str(main))

    assert result.returncode == 0, result.stderr
    assert result.stdout == "exec ran\nstatus 0\n"
    cpu, notes = per_pid(path)
    (parent,) = only_pid_with(cpu, "before_fork")
    (child,) = only_pid_with(cpu, "after_exec")
    assert parent != child
    # The fork lived too briefly to leave a file of its own: the pid's one
    # line is the program exec ran.
    lines = [c for c in notes if c.startswith(f"pid {child}")]
    assert len(lines) == 1 and "after_exec" in lines[0], notes
    assert not any("recovered" in c for c in notes)


def test_a_fork_child_leaving_a_profile_block_leaves_the_parents_file(tmp_path):
    """pyprof.profile(path): the child that leaves the block after a fork
    writes nothing; the parent's file has the parent's samples."""
    out = tmp_path / "api.pb.gz"
    program = tmp_path / "api.py"
    program.write_text(BURN + textwrap.dedent(f"""
        import os, sys
        import pyprof

        def in_parent():
            burn(0.3)

        with pyprof.profile({str(out)!r}):
            pid = os.fork()
            if pid == 0:
                burn(0.1)
                sys.exit(0)  # leaves the with block in the child
            os.waitpid(pid, 0)
            in_parent()
        print("mtime", os.path.getmtime({str(out)!r}))
    """))
    result = subprocess.run([sys.executable, str(program)], capture_output=True,
                            text=True, timeout=120, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("mtime") == 1  # the child printed nothing
    from pyprof import pprof

    cpu = cpu_by_pid(pprof.load(str(out)))
    assert cpu[None]["in_parent"] > 0  # the API's profiles have no pid label


def test_a_child_that_outlives_the_program_is_marked_still_running(
    record, per_pid, tmp_path
):
    """pyprof waits a moment for processes still running when the program
    ends, then writes what they have spooled and says so."""
    (tmp_path / "lingers.py").write_text(BURN + textwrap.dedent("""
        import os, sys
        def before_sleep():
            burn(0.7)
        before_sleep()
        print(os.getpid(), flush=True)
        time.sleep(30)  # outlives the program and pyprof's wait
    """))
    main = write(tmp_path, "main.py", """
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "lingers.py"],
                                 stdout=subprocess.PIPE, text=True)
        print(child.stdout.readline().strip(), flush=True)
    """)
    result, path = record(sys.executable, str(main))
    child_pid = int(result.stdout.split()[0])
    try:
        assert result.returncode == 0, result.stderr
        cpu, notes = per_pid(path)
        assert cpu[child_pid]["before_sleep"] > 0.2e9
        line = next(c for c in notes if c.startswith(f"pid {child_pid}: "))
        assert "still running" in line and "lingers.py" in line
        assert "recovered" not in last_line(result.stderr)
    finally:
        os.kill(child_pid, signal.SIGKILL)


def thread_cpu(profile):
    """{(pid, thread label): CPU ns}."""
    strings = profile.string_table
    result = {}
    for sample in profile.sample:
        labels = {strings[lb.key]: lb for lb in sample.label}
        key = (labels["pid"].num, strings[labels["thread"].str])
        result[key] = result.get(key, 0) + sample.value[-1]
    return result


def test_a_plain_fork_child_keeps_the_forking_threads_name(
    record, pyprof_run, load_profile, tmp_path
):
    """threading names the forking thread's copy in the child as it was
    named (MainThread for the main thread), though its kernel id is new."""
    main = write(tmp_path, "names.py", """
        import os, threading
        def in_parent():
            burn(0.2)
        def in_child():
            burn(0.2)
        def in_thread_child():
            burn(0.2)
        def fork_here(work):
            pid = os.fork()
            if pid == 0:
                print(threading.current_thread().name, flush=True)
                work()
                os._exit(0)
            os.waitpid(pid, 0)
        fork_here(in_child)
        thread = threading.Thread(target=fork_here, args=(in_thread_child,),
                                  name="forker")
        thread.start()
        thread.join()
        in_parent()
    """)
    result, path = record(sys.executable, "-W", "ignore::DeprecationWarning",
                          str(main))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "MainThread\nforker\n"
    profile = load_profile(path)
    cpu = cpu_by_pid(profile)
    by_thread = thread_cpu(profile)
    (parent,) = only_pid_with(cpu, "in_parent")
    (child,) = only_pid_with(cpu, "in_child")
    (thread_child,) = only_pid_with(cpu, "in_thread_child")
    assert len({parent, child, thread_child}) == 3
    assert {thread for pid, thread in by_thread if pid == child} == {"MainThread"}
    assert {thread for pid, thread in by_thread
            if pid == thread_child} == {"forker"}
    assert not any(thread.startswith("thread-") for _, thread in by_thread)

    kept = pyprof_run("top", "--all", "--text", "-tagfocus=thread=MainThread",
                      str(path))
    assert kept.returncode == 0, kept.stderr
    assert "in_parent" in kept.stdout and "in_child" in kept.stdout, kept.stdout
    assert "in_thread_child" not in kept.stdout, kept.stdout


def test_an_undecodable_file_name_is_written_one_way_everywhere(
    record, load_profile, tmp_path
):
    """A byte the file system's encoding cannot decode is \\xNN in every
    string of the profile: comments as well as file names."""
    name = os.fsdecode(b"bad\xff.py")
    (tmp_path / name).write_text(BURN + "burn(0.05)\n")
    result, path = record(sys.executable, name)
    assert result.returncode == 0, result.stderr
    profile = load_profile(path)
    strings = list(profile.string_table)
    comments_text = [profile.string_table[c] for c in profile.comment]
    assert not any("\\udcff" in s or "\udcff" in s for s in strings), strings
    assert any(s.endswith("bad\\xff.py") for s in strings), strings
    process = [c for c in comments_text if c.startswith("pid ")]
    assert len(process) == 1 and process[0].endswith("'bad\\xff.py'"), process
