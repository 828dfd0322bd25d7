"""Robustness tests: real programs under ``pyprof record``.

Each test writes a small program, records it, and checks three things: the
program's own output (a JSON line it prints, starting with RESULT), its
exit status, and the profile. Programs report what they measured; the
tests hold the margins, wide enough for a loaded two-core machine.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import pytest

# The pyprof command line, run by the Python under test.
PYPROF = [sys.executable, "-c", "from pyprof.cli import main; main()"]

# Available to every program: burn this thread's CPU, report a result.
PRELUDE = textwrap.dedent(
    """
    import json, sys, time

    def burn(seconds):
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass

    def report(**values):
        print("RESULT " + json.dumps(values), flush=True)
    """
)


class Run:
    """One recorded program: its process, result, profile and samples."""

    def __init__(self, proc, path, profile):
        self.proc = proc
        self.path = path
        self.profile = profile
        lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
        self.result = json.loads(lines[-1][len("RESULT "):]) if lines else None
        self.samples = []  # (names leaf first, files leaf first, labels, ns)
        if profile is None:
            return
        strings = profile.string_table
        functions = {f.id: (strings[f.name], strings[f.filename])
                     for f in profile.function}
        locations = {loc.id: [functions[line.function_id] for line in loc.line]
                     for loc in profile.location}
        for sample in profile.sample:
            frames = [f for loc in sample.location_id for f in locations[loc]]
            labels = {strings[lb.key]: strings[lb.str] if lb.str else lb.num
                      for lb in sample.label}
            self.samples.append(([f[0] for f in frames], [f[1] for f in frames],
                                 labels, sample.value[-1]))

    @property
    def comments(self):
        return [self.profile.string_table[i] for i in self.profile.comment]

    def cpu(self, predicate):
        """CPU seconds of the samples whose (names, files, labels) match."""
        return sum(ns for names, files, labels, ns in self.samples
                   if predicate(names, files, labels)) / 1e9

    def cpu_in(self, name):
        """CPU seconds of samples with ``name`` anywhere on the stack."""
        return self.cpu(lambda names, files, labels: name in names)

    def by_thread(self):
        out = defaultdict(float)
        for _, _, labels, ns in self.samples:
            out[labels.get("thread", "")] += ns / 1e9
        return dict(out)

    def explain(self):
        return (f"exit {self.proc.returncode}\nstdout:\n{self.proc.stdout}\n"
                f"stderr:\n{self.proc.stderr}")


@pytest.fixture
def run_program(tmp_path, load_profile):
    """run_program(source, rate=1000, env=None, options=(), name="prog.py",
    timeout=120) -> Run. The program gets PRELUDE first."""
    def run(*sources, rate=1000, env=None, options=(), name="prog.py",
            timeout=120, expect_profile=True):
        program = tmp_path / name
        text = "\n".join(textwrap.dedent(part) for part in (PRELUDE, *sources))
        program.write_text(text, encoding="utf-8")
        out = tmp_path / "profile.pb.gz"
        if out.exists():
            out.unlink()
        full_env = dict(os.environ)
        full_env.update(env or {})
        cmd = [*PYPROF, "record", "-o", str(out), "--rate", str(rate),
               *options, "--", sys.executable, str(program)]
        # Own process group: a test that times out ends pyprof and the
        # program both, leaving nothing running.
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True,
                                 env=full_env, cwd=str(tmp_path),
                                 start_new_session=True)
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            stdout, stderr = child.communicate()
            pytest.fail(f"timed out after {timeout}s\nstdout:\n{stdout}\n"
                        f"stderr:\n{stderr}")
        proc = subprocess.CompletedProcess(cmd, child.returncode, stdout, stderr)
        profile = load_profile(out) if out.exists() else None
        result = Run(proc, out, profile)
        if expect_profile:
            assert profile is not None, "no profile\n" + result.explain()
        return result

    return run
