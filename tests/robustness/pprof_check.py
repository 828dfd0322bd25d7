"""go tool pprof as the reference reader of the profiles these tests make.

Locally a missing go skips the check; in CI (CI=true) it is a failure."""

import os
import shutil
import subprocess

import pytest


def go_tool():
    """go, or a skip (a failure in CI) when it is not installed."""
    go = shutil.which("go")
    if go is None:
        if os.environ.get("CI") == "true":
            pytest.fail("go is required in CI: go tool pprof is the reference")
        pytest.skip("go is not installed; install golang-go to check with pprof")
    return go


def go_reads(path):
    """go tool pprof -raw reads the file without an error; its output."""
    proc = subprocess.run([go_tool(), "tool", "pprof", "-raw", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout
