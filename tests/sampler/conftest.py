"""Sampler tests run each scenario in a fresh interpreter: a crash in the
signal handler then fails one test instead of killing pytest."""

import json
import os
import pathlib
import subprocess
import sys
import tempfile
import textwrap

import pytest

import pyprof

PACKAGE_PARENT = str(pathlib.Path(pyprof.__file__).resolve().parent.parent)

PRELUDE = textwrap.dedent("""
    import json, sys, time
    from pyprof._sampler import Sampler, SamplerError

    def burn(seconds):
        # Burn this thread's own CPU time, whatever the other threads do.
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass

    def by_name(agg, anywhere=False):
        # CPU periods per function name: at the leaf, or anywhere on the stack.
        out = {}
        for (thread, frames), (samples, periods) in agg.items():
            names = {f[0] for f in frames} if anywhere else {frames[0][0]}
            for name in names:
                out[name] = out.get(name, 0) + periods
        return out

    def report(**values):
        print("RESULT " + json.dumps(values))
""")


def run_scenario(body: str, timeout: float = 90, env: dict = None) -> dict:
    """Run PRELUDE + body in a new interpreter; return what it report()ed."""
    script = PRELUDE + textwrap.dedent(body)
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(
        [PACKAGE_PARENT, full_env.get("PYTHONPATH", "")])
    full_env.update(env or {})
    with tempfile.TemporaryDirectory(prefix="pyprof-scenario-") as folder:
        path = pathlib.Path(folder) / "scenario.py"
        path.write_text(script)
        proc = subprocess.run([sys.executable, str(path)], capture_output=True,
                              text=True, timeout=timeout, env=full_env,
                              cwd=folder)
    assert proc.returncode == 0, (
        f"scenario exited with {proc.returncode}\nstdout:\n{proc.stdout}\n"
        f"stderr:\n{proc.stderr}")
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    assert lines, f"scenario reported nothing\nstderr:\n{proc.stderr}"
    return json.loads(lines[-1][len("RESULT "):])


@pytest.fixture
def scenario():
    return run_scenario
