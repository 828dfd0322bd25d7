"""Fixtures for `pyprof web`: the corpus profiles, a recorded CPU profile,
servers on free ports (stopped after each test) and a headless Chromium.

The corpus lives beside the repository, in ../shared/corpus (PYPROF_CORPUS
points elsewhere); tests fail, not skip, when it is missing.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("PYPROF_CORPUS", REPO / ".." / "shared" / "corpus"))
PROFILES = CORPUS / "upstream" / "profiles" / "internal"
SAMPLE_CPU = PROFILES / "report" / "testdata" / "sample.cpu"
GO_HEAP = PROFILES / "driver" / "testdata" / "go.nomappings.crash"
PYPROF = [sys.executable, "-c", "from pyprof.cli import main; main()"]

# A program with two busy functions of known shares, for `pyprof record`.
PROGRAM = textwrap.dedent('''
    import time


    def inner_spin(seconds):
        end = time.thread_time() + seconds
        n = 0
        while time.thread_time() < end:
            n += sum(i * i for i in range(100))
        return n


    def outer_work():
        return inner_spin(0.5) + sum_squares(0.3)


    def sum_squares(seconds):
        end = time.thread_time() + seconds
        n = 0
        while time.thread_time() < end:
            n += sum(i * 3 for i in range(100))
        return n


    if __name__ == "__main__":
        outer_work()
''')


def pyprof(*args, timeout=60, **kwargs):
    """Run the pyprof command line; the CompletedProcess (text, captured)."""
    env = dict(os.environ, TZ="UTC")
    env.pop("PYPROF_DEBUG", None)
    kwargs.setdefault("env", env)
    return subprocess.run([*PYPROF, *args], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def top_text(path, *options):
    """`pyprof top --all --text` of path: (header lines, row lines)."""
    done = pyprof("top", "--all", "--text", *options, str(path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    legend = next(i for i, line in enumerate(lines) if line.split()[:1] == ["flat"])
    return lines[:legend], lines[legend + 1:]


def row_fields(line):
    """A `pyprof top` row as (flat, flat%, sum%, cum, cum%, name)."""
    return tuple(line.split(None, 5))


def get(url):
    """(status, JSON body) of a GET; errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def get_json(url):
    status, headers, body = get(url)
    assert headers["Content-Type"].startswith("application/json"), body[:200]
    return status, json.loads(body)


@pytest.fixture(scope="session")
def corpus():
    assert SAMPLE_CPU.exists() and GO_HEAP.exists(), (
        f"the shared corpus is missing: {CORPUS}")
    return {"sample_cpu": SAMPLE_CPU, "go_heap": GO_HEAP}


@pytest.fixture(scope="session")
def recorded(tmp_path_factory):
    """A CPU profile recorded by `pyprof record` from PROGRAM."""
    folder = tmp_path_factory.mktemp("recorded")
    program = folder / "spin.py"
    program.write_text(PROGRAM)
    out = folder / "spin.pb.gz"
    done = pyprof("record", "-o", str(out), "--", sys.executable, str(program),
                  cwd=str(folder), timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.exists()
    return out


@pytest.fixture
def serve():
    """serve(path, *options) -> a running WebServer for the profile at path,
    on a free port; every server is shut down after the test."""
    from pyprof.commands import views
    from pyprof.commands.top import parse_view_args
    from pyprof.web.server import make_server
    from pyprof.web.views import ProfileViews

    servers = []

    def start(path, *options):
        settings, _ = parse_view_args("web", options, "")
        settings["files"] = [str(path)]
        server = make_server(ProfileViews(views.load(settings), settings))
        servers.append(server)
        server.start_thread()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def artifacts():
    """Where screenshots go: $PYPROF_ARTIFACTS or tests/artifacts/ (ignored
    by git)."""
    folder = Path(os.environ.get("PYPROF_ARTIFACTS") or REPO / "tests" / "artifacts")
    folder = folder / "web"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _browser_paths():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return chromium, driver


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium driven by selenium, shared by a module's tests.

    Missing Chromium fails on CI (CI=true: .ci/run installs it) and skips
    elsewhere, with the package to install.
    """
    chromium, driver_path = _browser_paths()
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        webdriver = None
    missing = []
    if not chromium or not driver_path:
        missing.append("chromium and chromium-driver (apt-get install chromium "
                       "chromium-driver)")
    if webdriver is None:
        missing.append("selenium (pip install -e '.[test]')")
    if missing:
        message = "the browser tests need " + " and ".join(missing)
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--disable-gpu", "--window-size=1400,900",
                "--disable-extensions", "--no-first-run"):
        options.add_argument(arg)
    options.binary_location = chromium
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
