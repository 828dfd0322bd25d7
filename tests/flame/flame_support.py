"""What the flame graph tests share (no pytest magic): corpus paths, the
pyprof command line, tree walks, a headless Chromium with no network."""

import collections
import os
import subprocess
import sys
from pathlib import Path

from pyprof.flame import nested

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("PYPROF_CORPUS", REPO / ".." / "shared" / "corpus"))
UPSTREAM = CORPUS / "upstream"
PROFILES = UPSTREAM / "profiles" / "internal"
SAMPLE = PROFILES / "report" / "testdata" / "sample.cpu"
CPPBENCH = PROFILES / "driver" / "testdata" / "cppbench.cpu_no_samples_type"
HEAP = PROFILES / "driver" / "testdata" / "go.nomappings.crash"
LARGE = PROFILES / "proftest" / "testdata" / "large.cpu"
EXPECTED = UPSTREAM / "expected"
TARGETS = REPO / "tests" / "targets"


def corpus(path: Path) -> Path:
    """path, which must exist: the corpus is part of the test set-up."""
    assert path.exists(), f"the shared corpus is missing: {path}"
    return path


def pyprof(*args, cwd=None, timeout=120, env=None):
    """Run the pyprof command line; env adds to the environment."""
    env = dict(os.environ, TZ="UTC", **(env or {}))
    env.pop("PYPROF_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-c", "from pyprof.cli import main; main()", *map(str, args)],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout,
    )


def walk(data):
    """(node, name, names of its ancestors) for every node below the root."""
    frames = data["frames"]
    work = [(child, ()) for child in nested(data).get("children", ())]
    while work:
        node, above = work.pop()
        name = frames[node["frame"]]["name"] if node["frame"] >= 0 else node["name"]
        yield node, name, above
        work.extend((c, above + (name,)) for c in node.get("children", ()))


def per_name(data):
    """name -> [flat summed over every place, cum summed over the places not
    inside another place of the same name]: what pprof's top shows."""
    frames = data["frames"]
    values = collections.defaultdict(lambda: [0, 0])
    open_places = collections.Counter()  # name -> places on the current path
    # Depth first; a None entry closes the place of the name after it.
    work = [(child, None) for child in reversed(nested(data).get("children", ()))]
    while work:
        node, closing = work.pop()
        if node is None:
            open_places[closing] -= 1
            continue
        name = frames[node["frame"]]["name"] if node["frame"] >= 0 else node["name"]
        values[name][0] += node["flat"]
        if not open_places[name]:
            values[name][1] += node["cum"]
        open_places[name] += 1
        work.append((None, name))
        work.extend((c, None) for c in reversed(node.get("children", ())))
    return dict(values)


def artifacts_dir() -> Path:
    folder = Path(os.environ.get("PYPROF_ARTIFACTS", REPO / "tests" / "artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
