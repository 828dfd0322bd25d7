"""pyprof record as a user sees it: the program behaves as without pyprof.

Exit status, stdio, argv, sys.path[0], __main__ and the environment pass
through unchanged; bad input gives one error line, a status and no file.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest


def seen(stdout):
    """The JSON report show_env.py prints on its first line."""
    return json.loads(stdout.splitlines()[0])


def last_line(stderr):
    lines = stderr.strip().splitlines()
    return lines[-1] if lines else ""


def direct_run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60)


class TestPassthrough:
    def test_program_sees_the_same_start_up_as_without_pyprof(
        self, record, targets, tmp_path
    ):
        cmd = [sys.executable, str(targets / "show_env.py"), "0", "a b", "--flag"]
        result, path = record(*cmd, options=["--no-children"])
        plain = direct_run(cmd, tmp_path)

        assert result.returncode == 0, result.stderr
        assert seen(result.stdout) == seen(plain.stdout)
        assert seen(result.stdout)["argv"][1:] == ["0", "a b", "--flag"]
        assert seen(result.stdout)["main_name"] == "__main__"
        # Only the PYPROF_* variables the user had set themselves get through.
        users_own = sorted(k for k in os.environ if k.startswith("PYPROF"))
        assert seen(result.stdout)["pyprof_vars"] == users_own
        assert path.exists()

    def test_pythonpath_is_restored_not_leaked(self, record, targets, tmp_path):
        env = dict(os.environ, PYTHONPATH=str(tmp_path / "mine"))
        result, _ = record(
            sys.executable, str(targets / "show_env.py"), env=env,
            options=["--no-children"],
        )
        assert seen(result.stdout)["pythonpath"] == str(tmp_path / "mine")
        assert not seen(result.stdout)["sitecustomize_in_path"]

        env.pop("PYTHONPATH")
        result, _ = record(
            sys.executable, str(targets / "show_env.py"), env=env,
            options=["--no-children"],
        )
        assert seen(result.stdout)["pythonpath"] is None

    def test_following_children_leaves_only_the_spool_on_pythonpath(
        self, record, targets, tmp_path
    ):
        """Children are followed through PYTHONPATH: the spool folder is put
        in front of the user's own value; nothing else changes."""
        env = dict(os.environ, PYTHONPATH=str(tmp_path / "mine"))
        result, _ = record(sys.executable, str(targets / "show_env.py"), env=env)
        first, rest = seen(result.stdout)["pythonpath"].split(os.pathsep, 1)
        assert os.path.basename(first).startswith("pyprof-")
        assert rest == str(tmp_path / "mine")
        assert not seen(result.stdout)["sitecustomize_in_path"]
        users_own = sorted(k for k in os.environ if k.startswith("PYPROF"))
        assert seen(result.stdout)["pyprof_vars"] == users_own

    def test_a_real_sitecustomize_still_runs(self, record, tmp_path):
        site = tmp_path / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text("import builtins\nbuiltins.MARK = 42\n")
        env = dict(os.environ, PYTHONPATH=str(site))
        result, path = record(sys.executable, "-c", "print(MARK)", env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "42\n"
        assert path.exists()

    def test_a_broken_sitecustomize_fails_as_without_pyprof(self, record, tmp_path):
        site = tmp_path / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text("raise RuntimeError('broken site')\n")
        env = dict(os.environ, PYTHONPATH=str(site))
        cmd = [sys.executable, "-c", "print('ran')"]
        result, path = record(*cmd, env=env, ignore_pythonpath=True)
        plain = subprocess.run(cmd, env=env, capture_output=True, text=True)

        assert result.returncode == plain.returncode == 0
        assert result.stdout == plain.stdout == "ran\n"
        ours = result.stderr.strip().splitlines()
        assert ours[:-1] == plain.stderr.strip().splitlines()
        assert ours[-1].startswith("pyprof: wrote ")
        assert path.exists()

    def test_stdin_and_stdout_pass_through(self, record):
        result, path = record(
            sys.executable,
            "-c",
            "import sys; print(sys.stdin.read().upper(), end='')",
            input="hi there\n",
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == "HI THERE\n"
        assert path.exists()

    def test_summary_is_one_line_on_stderr(self, record, targets):
        result, path = record(sys.executable, str(targets / "fib.py"), "0.5")
        assert result.returncode == 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        # The sampler may add a note on the effective rate of a busy machine.
        summary = re.fullmatch(
            r"pyprof: wrote (.+): (\d+) samples, ([\d.]+)s, ([\d.]+)s CPU"
            r"(, \d+ dropped)?(, \d+ truncated)?(; .+)?",
            lines[0],
        )
        assert summary, lines[0]
        assert summary.group(1) == str(path)
        assert int(summary.group(2)) > 0
        assert 0.2 < float(summary.group(4)) < 1.0  # fib.py burns 0.5 s of CPU

    def test_options_after_the_command_belong_to_the_program(
        self, pyprof_run, tmp_path
    ):
        result = pyprof_run(
            "record",
            sys.executable,
            "-c",
            "import sys; print(sys.argv[1:])",
            "-o",
            "--rate",
            cwd=str(tmp_path),
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == "['-o', '--rate']\n"
        assert (tmp_path / "profile.pb.gz").exists()  # the default -o

    def test_run_a_package_with_dash_m(self, record, targets):
        env = dict(os.environ, PYTHONPATH=str(targets))
        result, path = record(sys.executable, "-m", "demo_pkg", "x", env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "demo_pkg main __main__ ['x']\n"
        assert path.exists()

    def test_console_script_on_path(self, record, targets, tmp_path, load_profile):
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        script = bin_dir / "fibtool"
        script.write_text(
            f"#!{sys.executable}\n"
            "import runpy, sys\n"
            f"sys.argv = [{str(targets / 'fib.py')!r}, '0.5']\n"
            f"runpy.run_path(sys.argv[0], run_name='__main__')\n"
        )
        script.chmod(0o755)
        env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        result, path = record("fibtool", env=env)
        assert result.returncode == 0, result.stderr
        profile = load_profile(path)
        names = {profile.string_table[f.name] for f in profile.function}
        assert "fib" in names

    def test_bare_script_runs_with_this_python(self, record, targets, tmp_path):
        script = tmp_path / "plain.py"
        script.write_text("import sys\nprint(sys.executable)\n")
        result, path = record("plain.py")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == sys.executable
        assert path.exists()


def test_profile_that_cannot_be_written_fails_a_successful_run(record, tmp_path):
    # The program removes the output folder: pyprof checked it at start,
    # but cannot write there at the end.
    folder = tmp_path / "out"
    folder.mkdir()
    result, path = record(
        sys.executable,
        "-c",
        f"import shutil; shutil.rmtree({str(folder)!r}); print('ran')",
        output=folder / "p.pb.gz",
    )
    assert result.stdout == "ran\n"
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("pyprof: error: ") and "p.pb.gz" in lines[0]
    assert "Traceback" not in result.stderr
    assert not path.exists()


def test_deep_stacks_are_truncated_and_counted(record, load_profile, tmp_path):
    script = tmp_path / "deep.py"
    script.write_text(
        "import time\n"
        "def down(n):\n"
        "    if n:\n"
        "        return down(n - 1)\n"
        "    end = time.thread_time() + 0.5\n"
        "    while time.thread_time() < end:\n"
        "        pass\n"
        "down(60)\n"
    )
    result, path = record(
        sys.executable, str(script), options=["--max-frames", "16"]
    )
    assert result.returncode == 0, result.stderr
    # The summary ends its counts with ", N truncated".
    counts = last_line(result.stderr).split(" truncated")[0]
    truncated = int(counts.rsplit(", ", 1)[1])
    assert truncated > 0

    profile = load_profile(path)
    strings = profile.string_table
    names = {f.id: strings[f.name] for f in profile.function}
    comments = [strings[c] for c in profile.comment]
    assert any(c.startswith(f"{truncated} stacks truncated") for c in comments)
    for sample in profile.sample:
        assert len(sample.location_id) <= 16
    markers = [n for n in names.values() if n.startswith("[truncated ")]
    assert markers


class TestExitStatus:
    @pytest.mark.parametrize("status", [0, 3])
    def test_exit_status_passes_through(self, record, targets, status):
        result, path = record(sys.executable, str(targets / "show_env.py"), str(status))
        assert result.returncode == status
        assert path.exists()

    def test_uncaught_exception_exits_1_with_traceback(self, record, targets):
        result, path = record(sys.executable, str(targets / "show_env.py"), "raise")
        assert result.returncode == 1
        assert "Traceback (most recent call last)" in result.stderr
        assert "RuntimeError: show_env failed on purpose" in result.stderr
        assert last_line(result.stderr).startswith("pyprof: wrote ")
        assert path.exists()

    def test_sigkill_gives_137_and_says_so(self, record, targets):
        # The program dies after 0.3 s of CPU: before or after its first
        # flush to the spool (tests/children checks what is recovered).
        result, path = record(sys.executable, str(targets / "show_env.py"), "kill")
        assert result.returncode == 137
        assert "killed by SIGKILL" in last_line(result.stderr)

    @pytest.mark.parametrize(
        "mode, signum, status",
        [("term", signal.SIGTERM, 143), ("usr1", signal.SIGUSR1, 5)],
        ids=["SIGTERM", "SIGUSR1"],
    )
    def test_signals_sent_to_pyprof_reach_the_program(
        self, tmp_path, targets, load_profile, pyprof_argv, mode, signum, status
    ):
        out = tmp_path / "sig.pb.gz"
        cmd = [*pyprof_argv, "record", "-o", str(out), "--"]
        cmd += [sys.executable, str(targets / "show_env.py"), mode]
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            proc.stdout.readline()  # the JSON report
            assert proc.stdout.readline() == "ready\n"
            time.sleep(0.3)
            proc.send_signal(signum)  # to pyprof, which forwards it
            _, stderr = proc.communicate(timeout=60)
        finally:
            kill_group(proc)
        assert proc.returncode == status, stderr
        assert last_line(stderr).startswith(f"pyprof: wrote {out}: ")
        assert load_profile(out).sample

    def test_sigint_reaches_the_program_and_the_profile_is_written(
        self, tmp_path, targets, load_profile, pyprof_argv
    ):
        # A terminal sends Ctrl-C to the whole process group: do the same.
        out = tmp_path / "int.pb.gz"
        cmd = [*pyprof_argv, "record", "-o", str(out), "--"]
        cmd += [sys.executable, str(targets / "show_env.py"), "term"]
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            proc.stdout.readline()
            assert proc.stdout.readline() == "ready\n"
            time.sleep(0.3)
            os.killpg(proc.pid, signal.SIGINT)
            _, stderr = proc.communicate(timeout=60)
        finally:
            kill_group(proc)
        assert proc.returncode == 130, stderr
        assert "KeyboardInterrupt" in stderr
        assert last_line(stderr).startswith(f"pyprof: wrote {out}: ")
        assert load_profile(out).sample


def kill_group(proc):
    """End pyprof and the program it runs, so a failed test leaves no orphan."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class TestBadInput:
    def check_error(self, result, status, fragment, tmp_path):
        assert result.returncode == status
        lines = result.stderr.strip().splitlines()
        assert lines[0].startswith("pyprof: error: ")
        assert fragment in lines[0]
        assert "Traceback" not in result.stderr
        assert len(lines) <= 2  # the error, then at most one hint line
        assert not (tmp_path / "profile.pb.gz").exists()

    def test_missing_command(self, tmp_path, pyprof_run):
        result = pyprof_run("record", "-o", str(tmp_path / "profile.pb.gz"))
        self.check_error(result, 2, "no command", tmp_path)

    def test_command_not_found_is_127(self, record, tmp_path):
        result, _ = record("pyprof-no-such-command-anywhere")
        self.check_error(result, 127, "command not found", tmp_path)

    def test_missing_script_path_is_127(self, record, tmp_path):
        result, _ = record(str(tmp_path / "nope.py"))
        self.check_error(result, 127, "no such file", tmp_path)

    def test_not_executable_is_126(self, record, tmp_path):
        data = tmp_path / "notes.txt"
        data.write_text("not a program\n")
        result, _ = record(str(data))
        self.check_error(result, 126, "not executable", tmp_path)

    def test_output_in_missing_folder_is_2_and_program_not_started(
        self, record, tmp_path
    ):
        marker = tmp_path / "started"
        result, _ = record(
            sys.executable,
            "-c",
            f"open({str(marker)!r}, 'w').close()",
            output=tmp_path / "missing" / "p.pb.gz",
        )
        self.check_error(result, 2, "does not exist", tmp_path)
        assert not marker.exists()

    def test_output_in_unwritable_folder_is_2(self, record, tmp_path):
        # /proc refuses new files even to root.
        result, _ = record(sys.executable, "-c", "pass", output="/proc/p.pb.gz")
        self.check_error(result, 2, "cannot create files in /proc", tmp_path)

    def test_output_under_a_file_is_2(self, record, tmp_path):
        (tmp_path / "plain").write_text("")
        result, _ = record(
            sys.executable, "-c", "pass", output=tmp_path / "plain" / "p.pb.gz"
        )
        self.check_error(result, 2, "is not a folder", tmp_path)

    def test_max_frames_out_of_range_is_2(self, pyprof_run, tmp_path):
        command = [sys.executable, "-c", "pass"]
        result = pyprof_run(
            "record", "--max-frames", "2", "--", *command, cwd=str(tmp_path)
        )
        self.check_error(result, 2, "out of range", tmp_path)

    def test_unknown_option_is_2(self, pyprof_run, tmp_path):
        result = pyprof_run(
            "record", "--rat", "5", "--", sys.executable, "-c", "1", cwd=str(tmp_path)
        )
        self.check_error(result, 2, "no such option", tmp_path)
        assert "--rat" in result.stderr

    def test_option_value_of_the_wrong_type_is_one_line(self, pyprof_run, tmp_path):
        command = [sys.executable, "-c", "pass"]
        result = pyprof_run("record", "--rate", "abc", "--", *command, cwd=tmp_path)
        self.check_error(result, 2, "'abc' is not a valid integer", tmp_path)

    def test_empty_output_path_is_refused_before_the_program_runs(
        self, pyprof_run, tmp_path
    ):
        marker = tmp_path / "ran"
        command = [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]
        result = pyprof_run("record", "-o", "", "--", *command, cwd=tmp_path)
        self.check_error(result, 2, "the output path: it is empty", tmp_path)
        assert not marker.exists()

    @pytest.mark.parametrize("rate", ["0", "10001", "-5"])
    def test_rate_out_of_range_is_2(self, record, tmp_path, rate):
        result, _ = record(sys.executable, "-c", "pass", rate=rate)
        self.check_error(result, 2, "out of range", tmp_path)


def other_python():
    """Another installed CPython version than this one, or None."""
    import glob

    mine = "%d.%d" % sys.version_info[:2]
    for version in ("3.9", "3.10", "3.11", "3.12", "3.13"):
        if version == mine:
            continue
        pattern = f"~/.pyenv/versions/{version}.*/bin/python{version}"
        found = glob.glob(os.path.expanduser(pattern))
        found = found or [p for p in [shutil.which(f"python{version}")] if p]
        if found:
            return found[0]
    return None


def test_python_that_cannot_load_pyprof_runs_without_profile(record, tmp_path):
    """The program runs anyway; one line says why there is no profile."""
    other = other_python()
    env = dict(os.environ)
    if other is None:
        # Same Python, but a broken package named pyprof shadows the real one.
        shadow = tmp_path / "shadow" / "pyprof"
        shadow.mkdir(parents=True)
        (shadow / "__init__.py").write_text("raise ImportError('shadowed')\n")
        env["PYTHONPATH"] = str(shadow.parent)
    result, path = record(
        other or sys.executable, "-c", "print('ran')", env=env, ignore_pythonpath=True
    )
    assert result.stdout == "ran\n"
    assert result.returncode == 0
    assert "no profile written" in last_line(result.stderr)
    assert "cannot load pyprof" in last_line(result.stderr)
    assert not path.exists()


def test_shadowed_pyprof_runs_without_profile(record, tmp_path):
    shadow = tmp_path / "shadow" / "pyprof"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('shadowed')\n")
    env = dict(os.environ, PYTHONPATH=str(shadow.parent))
    result, path = record(
        sys.executable, "-c", "print('ran')", env=env, ignore_pythonpath=True
    )
    assert result.stdout == "ran\n"
    assert result.returncode == 0
    assert "cannot load pyprof: ImportError: shadowed" in last_line(result.stderr)
    assert not path.exists()


def test_os_exit_still_writes_the_profile(record):
    result, path = record(sys.executable, "-c", "import os; os._exit(4)")
    assert result.returncode == 4
    assert last_line(result.stderr).startswith("pyprof: wrote ")
    assert path.exists()


def test_python_without_site_runs_without_profile(record):
    result, path = record(sys.executable, "-S", "-c", "print('ran')")
    assert result.stdout == "ran\n"
    assert result.returncode == 0
    assert "never started pyprof's sampler" in last_line(result.stderr)
    assert not path.exists()
