"""Every job of the shared corpus, as a pyprof command, against Go 1.19.

Each `go tool pprof` command line in corpus/upstream/manifest.json becomes
the pyprof command of the same view (-top -> top --all, -tree -> tree,
-peek RE -> peek RE, -list RE -> list RE, -traces, -raw) with pprof's
other flags passed unchanged; stdout must be the saved stdout, byte for
byte. Commands run in the corpus folder, as the saved ones did.
"""

import json
import time

import pytest
from click.testing import CliRunner

from profile_maker import CORPUS
from pyprof.cli import cli

UPSTREAM = CORPUS / "upstream"
VIEWS = {"-top": "top", "-tree": "tree", "-traces": "traces", "-raw": "raw",
         "-peek": "peek", "-list": "list"}


def jobs():
    manifest = UPSTREAM / "manifest.json"
    if not manifest.exists():
        # Parametrizing cannot fail; the test below reports the missing corpus.
        return ["corpus-missing"]
    return json.loads(manifest.read_text())["jobs"]


def job_id(job):
    return job if isinstance(job, str) else job["id"]


def pyprof_argv(argv):
    """`go tool pprof FLAGS FILE` as pyprof's arguments."""
    flags = list(argv[3:])
    view = next(f for f in flags if f in VIEWS)
    at = flags.index(view)
    command = [VIEWS[view]]
    if view in ("-peek", "-list"):
        command.append(flags[at + 1])
        del flags[at:at + 2]
    else:
        del flags[at]
    if view == "-top" and not any(f.startswith("-nodecount") for f in flags):
        command.append("--all")  # `go tool pprof -top` has no row limit
    return command + flags


def runner():
    """A CliRunner whose stdout holds the report only (click < 8.2 mixes
    stderr in unless told not to)."""
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:
        return CliRunner()


@pytest.fixture
def in_corpus(monkeypatch):
    monkeypatch.chdir(UPSTREAM)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("job", jobs(), ids=job_id)
def test_view_matches_go_tool_pprof(job, in_corpus):
    assert job != "corpus-missing", f"the shared corpus is missing: {UPSTREAM}"
    assert job["exit_code"] == 0
    result = runner().invoke(cli, pyprof_argv(job["argv"]), catch_exceptions=False)
    assert result.exit_code == 0
    expected = (UPSTREAM / job["stdout"]).read_bytes()
    assert result.stdout_bytes == expected


def test_corpus_covers_every_view():
    views = {pyprof_argv(job["argv"])[0] for job in jobs() if job != "corpus-missing"}
    assert views == {"top", "tree", "traces", "raw", "peek", "list"}
