"""`pyprof top` text against Go 1.19's saved -top outputs for upstream profiles.

Every job in the corpus manifest that runs `go tool pprof -top` is replayed
through pyprof's own argument parser (pprof's flags are accepted as they
are) and must give the same stdout, byte for byte.
"""

import json

import pytest

from profile_maker import CORPUS
from pyprof import graph
from pyprof import pprof
from pyprof.commands.top import parse_args
from pyprof.report.top import top_report

UPSTREAM = CORPUS / "upstream"


def top_jobs():
    manifest = UPSTREAM / "manifest.json"
    if not manifest.exists():
        # Parametrizing cannot fail; the test below reports the missing corpus.
        return ["corpus-missing"]
    jobs = json.loads(manifest.read_text())["jobs"]
    return [job for job in jobs if "-top" in job["argv"]]


def job_id(job):
    return job if isinstance(job, str) else job["id"]


def pyprof_args(pprof_flags):
    """pprof's -top command line as `pyprof top` arguments."""
    args = [flag for flag in pprof_flags if flag != "-top"]
    if not any(flag.startswith("-nodecount=") for flag in args):
        args.append("--all")  # `go tool pprof -top` has no row limit
    return args


@pytest.mark.parametrize("job", top_jobs(), ids=job_id)
def test_top_matches_go_tool_pprof(job, utc):
    assert job != "corpus-missing", f"the shared corpus is missing: {UPSTREAM}"
    assert job["exit_code"] == 0
    settings = parse_args(tuple(pyprof_args(job["argv"][3:-1])) + (job["profiles"][0],))
    path = UPSTREAM / settings.pop("file")
    if settings.pop("all"):
        settings["nodecount"] = 0
    settings.pop("text")
    report = top_report(graph.prepare(pprof.load(path)), graph.GraphOptions(**settings))
    expected = (UPSTREAM / job["stdout"]).read_text(encoding="utf-8")
    assert report.text() == expected


def test_corpus_has_the_top_jobs():
    ids = {job_id(job) for job in top_jobs()}
    assert {"sample.cpu/top", "large.cpu/top_n5", "go.nomappings.crash/top"} <= ids
