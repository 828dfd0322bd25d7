"""A process that dies without saving still gives a profile: everything it
had spooled (all but its last half second), marked as recovered in the
profile's comments; the program's own status is passed through."""

import signal
import sys
import textwrap

import pytest

from children_helpers import last_line

# Burns 1 s of CPU in spooled(), then dies as argv[1] says. The spool is
# flushed every 0.5 s, so at least 0.5 s of spooled() is on disk by then.
DIES = textwrap.dedent(
    """
    import ctypes, os, signal, sys, time

    def spooled():
        end = time.thread_time() + 1.0
        while time.thread_time() < end:
            pass

    spooled()
    time.sleep(0.7)  # the next flush happens meanwhile
    print("dying", flush=True)
    how = sys.argv[1]
    if how == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif how == "segfault":
        ctypes.string_at(0)
    elif how == "abort":
        os.abort()
    elif how == "os_exit":
        os._exit(9)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "how, status",
    [
        ("sigkill", 128 + signal.SIGKILL),
        ("segfault", 128 + signal.SIGSEGV),
        ("abort", 128 + signal.SIGABRT),
    ],
)
def test_a_program_that_dies_is_recovered_from_its_spool(
    record, per_pid, tmp_path, how, status
):
    program = tmp_path / "dies.py"
    program.write_text(DIES)
    # faulthandler would print a traceback on SIGSEGV/SIGABRT; the program
    # behaves the same with or without pyprof, which is all that matters.
    result, path = record(sys.executable, str(program), how)

    assert result.returncode == status, result.stderr
    assert result.stdout == "dying\n"
    summary = last_line(result.stderr)
    assert summary.startswith("pyprof: wrote "), result.stderr
    name = signal.Signals(status - 128).name
    assert f"killed by {name}" in summary and "recovered from the spool" in summary
    cpu, notes = per_pid(path)
    (pid,) = cpu
    # All of it but what came after the last flush: 1 s was burnt, and
    # the flush during the sleep saved everything (margins for a busy
    # machine, where a flush can come late).
    assert 0.4e9 < cpu[pid]["spooled"] < 2e9, cpu
    line = next(c for c in notes if c.startswith(f"pid {pid}: "))
    assert "dies.py" in line and "recovered from its spool" in line


def test_os_exit_saves_everything_without_recovery(record, per_pid, tmp_path):
    program = tmp_path / "dies.py"
    program.write_text(DIES)
    result, path = record(sys.executable, str(program), "os_exit")

    assert result.returncode == 9, result.stderr
    assert result.stdout == "dying\n"
    assert "recovered" not in last_line(result.stderr), result.stderr
    cpu, notes = per_pid(path)
    (pid,) = cpu
    assert 0.5e9 < cpu[pid]["spooled"] < 2e9, (cpu, notes)
    assert not any("recovered" in c for c in notes), notes


def test_a_child_killed_midway_is_recovered_and_the_rest_saved(
    record, per_pid, tmp_path
):
    (tmp_path / "spinner.py").write_text(textwrap.dedent(
        """
        import time

        def in_child():
            end = time.thread_time() + 0.6
            while time.thread_time() < end:
                pass
            print("child burnt 0.6 s", flush=True)
            while True:
                pass

        in_child()
        """
    ))
    program = tmp_path / "kills_child.py"
    program.write_text(textwrap.dedent(
        """
        import subprocess, sys, time

        def in_parent():
            end = time.thread_time() + 0.3
            while time.thread_time() < end:
                pass

        child = subprocess.Popen([sys.executable, "spinner.py"],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline() == "child burnt 0.6 s\\n"
        # The child has flushed at least once while it burnt (0.6 s of CPU
        # take longer than the half-second flush interval), and again now.
        time.sleep(1.0)
        child.kill()
        child.wait()
        in_parent()
        print("child", child.returncode)
        """
    ))
    result, path = record(sys.executable, str(program))

    assert result.returncode == 0, result.stderr
    assert result.stdout == "child -9\n"
    summary = last_line(result.stderr)
    assert "1 process recovered" in summary, result.stderr
    # The messages say what the half-second flush interval can lose.
    assert "(the last half second before each ended may be missing)" in summary
    cpu, notes = per_pid(path)
    assert len(cpu) == 2, (cpu, notes)
    child = [pid for pid, funcs in cpu.items() if funcs.get("in_child")]
    parent = [pid for pid, funcs in cpu.items() if funcs.get("in_parent")]
    assert len(child) == 1 and len(parent) == 1 and child != parent, (cpu, notes)
    assert cpu[child[0]]["in_child"] > 0.1e9, (cpu, notes)
    recovered = [c for c in notes if "recovered from its spool" in c]
    assert len(recovered) == 1 and recovered[0].startswith(f"pid {child[0]}: ")
    assert recovered[0].endswith("so its last half second may be missing]")


def test_a_short_lived_child_killed_early_still_leaves_its_first_flush(
    record, per_pid, tmp_path
):
    """New processes flush a tenth of a second after they start (then every
    half second): a fork killed after 0.75 s leaves what those flushes saved;
    a child killed before its first flush is said to have lost its samples."""
    program = tmp_path / "short.py"
    program.write_text(textwrap.dedent(
        """
        import os, signal, subprocess, sys, time

        def in_fork():
            # 0.35 s of CPU, and past the flushes at 0.1 s and 0.6 s of
            # wall time, however little of the CPU a loaded machine gives.
            end, wall_end = time.thread_time() + 0.35, time.time() + 0.75
            while time.thread_time() < end or time.time() < wall_end:
                pass

        pid = os.fork()
        if pid == 0:
            in_fork()
            os.kill(os.getpid(), signal.SIGKILL)
        os.waitpid(pid, 0)
        # Killed before anything runs: only the header it wrote at start.
        code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
        print(subprocess.run([sys.executable, "-c", code]).returncode)
        """
    ))
    result, path = record(sys.executable, str(program))

    assert result.returncode == 0, result.stderr
    assert result.stdout == "-9\n"
    summary = last_line(result.stderr)
    assert "1 process recovered from the spool" in summary, result.stderr
    assert ("1 process ended before its first flush, without saving: its "
            "samples are missing") in summary, result.stderr
    cpu, notes = per_pid(path)
    (fork,) = [pid for pid, funcs in cpu.items() if funcs.get("in_fork")]
    # What ran before the last flush (0.6 s of wall time), which on a busy
    # machine may be a small part of the 0.35 s burnt: two samples at least.
    assert cpu[fork]["in_fork"] >= 0.02e9, (cpu, notes)
    lost = [c for c in notes if "before its first flush" in c]
    assert len(lost) == 1 and "-c 'import os" in lost[0], notes
    assert lost[0].endswith(
        "[ended without saving, before its first flush: its samples are missing]")
