"""Helpers for the child-process and hard-exit tests: CPU per process."""

from collections import defaultdict

import pytest


def cpu_by_pid(profile):
    """{pid: {function name: cumulative CPU ns}}; pid None when unlabelled."""
    strings = profile.string_table
    names = {f.id: strings[f.name] for f in profile.function}
    lines = {
        loc.id: [names[line.function_id] for line in loc.line]
        for loc in profile.location
    }
    result = defaultdict(lambda: defaultdict(int))
    for sample in profile.sample:
        pids = [lb.num for lb in sample.label if strings[lb.key] == "pid"]
        pid = pids[0] if pids else None
        for name in {n for loc in sample.location_id for n in lines[loc]}:
            result[pid][name] += sample.value[-1]
    return {pid: dict(funcs) for pid, funcs in result.items()}


def comments(profile):
    return [profile.string_table[c] for c in profile.comment]


def last_line(stderr):
    lines = stderr.strip().splitlines()
    return lines[-1] if lines else ""


@pytest.fixture
def per_pid(load_profile):
    """per_pid(path) -> (cpu_by_pid, comments) of a written profile."""

    def read(path):
        profile = load_profile(path)
        return cpu_by_pid(profile), comments(profile)

    return read
