"""Helpers for the live-profiling tests: start the example services, fetch
URLs, keep a service busy, read CPU shares out of a profile."""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def child_env(**extra):
    """The environment for a service: pyprof importable from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.update(extra)
    return env


class Service:
    """A service program run as a child; ``ports`` is the JSON it printed."""

    def __init__(self, argv, env=None):
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=env or child_env(), text=True)
        line = self.process.stdout.readline()
        if not line:
            self.process.kill()
            raise AssertionError("service did not start: " + self.process.stderr.read())
        self.ports = json.loads(line)

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.stderr.read()


def start_service(name, *args):
    return Service([sys.executable, str(HERE / name), *map(str, args)])


def get(url, timeout=60):
    """(status, headers, body) of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


class Load:
    """Threads that keep requesting a URL until stopped (``with Load(url):``)."""

    def __init__(self, url, threads=2):
        self.url = url
        self.stop = threading.Event()
        self.requests = 0
        self.threads = [threading.Thread(target=self._run, daemon=True)
                        for _ in range(threads)]

    def _run(self):
        while not self.stop.is_set():
            status, _, _ = get(self.url)
            assert status == 200
            self.requests += 1

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)


def cpu_by_function(profile):
    """{function: cum value} of the last value column, and the total."""
    strings = profile.string_table
    names = {f.id: strings[f.name] for f in profile.function}
    lines = {loc.id: [names[ln.function_id] for ln in loc.line]
             for loc in profile.location}
    cum = defaultdict(int)
    total = 0
    for sample in profile.sample:
        value = sample.value[-1]
        total += value
        for name in {n for loc in sample.location_id for n in lines[loc]}:
            cum[name] += value
    return cum, total


def labels_of(profile):
    """Each sample's string labels as a dict, in sample order."""
    strings = profile.string_table
    return [{strings[lb.key]: strings[lb.str] for lb in s.label}
            for s in profile.sample]


def need_go():
    """The go binary; a skip without it, a failure under CI=true."""
    go = shutil.which("go")
    if go is None:
        if os.environ.get("CI") == "true":
            pytest.fail("go is not installed (CI needs it for go tool pprof)")
        pytest.skip("go is not installed: no go tool pprof to compare with")
    return go


def wait_until(predicate, timeout=10.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
