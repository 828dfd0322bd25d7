"""Under ``pyprof record`` a program sees no trace of the sampler: its
threads are its own, and its forks are those of a program without pyprof."""

import sys
import textwrap

FORKS = textwrap.dedent(
    """
    import os
    import time

    end = time.thread_time() + 0.2
    while time.thread_time() < end:
        pass
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert status == 0, status
    print("forked")
    """
)

THREADS = textwrap.dedent(
    """
    import threading
    import time

    end = time.thread_time() + 0.1
    while time.thread_time() < end:
        pass
    time.sleep(0.1)  # the drain thread has started by now
    print(threading.active_count(), [t.name for t in threading.enumerate()])
    """
)


def pyprof_lines_removed(stderr):
    """stderr without pyprof's own lines (its summary on the last one)."""
    return [line for line in stderr.splitlines() if not line.startswith("pyprof")]


def test_fork_in_a_single_threaded_program_gives_no_warning(record, tmp_path):
    program = tmp_path / "forks.py"
    program.write_text(FORKS)
    # "always", not "error": fork() clears the exception its warning raises.
    cmd = [sys.executable, "-W", "always::DeprecationWarning", str(program)]

    result, path = record(*cmd, rate=1000)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "forked\n"
    assert pyprof_lines_removed(result.stderr) == [], result.stderr
    assert path.exists()


def test_program_sees_the_same_threads_as_without_pyprof(record, tmp_path):
    program = tmp_path / "threads.py"
    program.write_text(THREADS)
    import subprocess

    plain = subprocess.run([sys.executable, str(program)], capture_output=True,
                           text=True, timeout=60)
    result, _ = record(sys.executable, str(program), rate=1000)

    assert plain.stdout == "1 ['MainThread']\n"
    assert result.returncode == 0, result.stderr
    assert result.stdout == plain.stdout
