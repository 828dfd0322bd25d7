"""Helpers for the child-process and hard-exit tests: CPU per process.

A module of its own (not conftest) so that test files can import it by a
name no other test folder uses."""

from collections import defaultdict


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
