"""The Python API: pyprof.start/stop, the profile object, pyprof.profile().

Each test runs in a fresh interpreter: a sampler arms process-wide timers,
and the test process itself must stay unprofiled.
"""

import subprocess
import sys
import textwrap

BURN = textwrap.dedent(
    """
    import time

    def burn(seconds):
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass
    """
)


def run_python(code, cwd):
    result = subprocess.run(
        [sys.executable, "-c", BURN + textwrap.dedent(code)],
        cwd=str(cwd),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result


def test_start_stop_write(tmp_path, load_profile, cpu_shares):
    result = run_python(
        """
        import pyprof
        pyprof.start(rate_hz=500)
        burn(0.5)
        profile = pyprof.stop()
        profile.write("api.pb.gz")
        print(profile.stats["samples"], len(profile.proto.sample))
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    samples, distinct = map(int, result.stdout.split())
    assert samples > 0 and distinct > 0

    functions, total = cpu_shares(load_profile(tmp_path / "api.pb.gz"))
    assert 0.3e9 < total < 1.0e9  # about 0.5 s of CPU
    assert functions["burn"][1] > 0.9 * total


def test_context_manager_writes_also_when_the_block_raises(tmp_path, load_profile):
    result = run_python(
        """
        import pyprof
        try:
            with pyprof.profile("ctx.pb.gz", rate_hz=500):
                burn(0.3)
                raise KeyError("inside")
        except KeyError:
            print("propagated")
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "propagated\n"
    profile = load_profile(tmp_path / "ctx.pb.gz")
    assert sum(s.value[1] for s in profile.sample) > 0


def test_starting_twice_is_a_clear_error_and_the_first_keeps_running(tmp_path):
    result = run_python(
        """
        import pyprof
        pyprof.start()
        try:
            pyprof.start()
        except pyprof.PyprofError as exc:
            print(exc.format().splitlines()[0])
        burn(0.2)
        print(len(pyprof.stop().proto.sample) > 0)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "pyprof: error: starting the profiler: it is already running",
        "True",
    ]


def test_stop_without_start_is_a_clear_error(tmp_path):
    result = run_python(
        """
        import pyprof
        try:
            pyprof.stop()
        except pyprof.PyprofError as exc:
            print(exc.message)
        """,
        tmp_path,
    )
    assert result.stdout == "stopping the profiler: it is not running\n"


def test_bad_rate_is_a_usage_error(tmp_path):
    result = run_python(
        """
        import pyprof
        from pyprof.errors import UsageError
        for rate in (0, 10001):
            try:
                pyprof.start(rate_hz=rate)
            except UsageError as exc:
                print(exc.exit_code, exc.message)
        """,
        tmp_path,
    )
    assert result.stdout.splitlines() == [
        "2 setting the sampling rate: 0 Hz is out of range",
        "2 setting the sampling rate: 10001 Hz is out of range",
    ]


def test_context_manager_refuses_a_folder_before_the_block_runs(tmp_path):
    result = run_python(
        """
        import pyprof
        try:
            with pyprof.profile("."):
                print("the block ran")
        except pyprof.PyprofError as exc:
            print(exc.message)
        """,
        tmp_path,
    )
    assert result.stdout == "checking the output path .: it is a folder\n"


def test_import_is_light(tmp_path):
    result = run_python(
        """
        import sys
        import pyprof
        heavy = [m for m in ("google.protobuf", "rich", "click", "pyprof._sampler")
                 if m in sys.modules]
        print(heavy)
        """,
        tmp_path,
    )
    assert result.stdout == "[]\n", result.stderr
