"""build_cpu_profile: a sampler aggregate becomes the profile pprof expects."""

import os
import shutil
import subprocess

import pytest

from pyprof import pprof
from pyprof.builder import build_cpu_profile

PERIOD = 10_000_000  # 100 Hz

MODULE = ("<module>", "/app/main.py", 1, 30)
MAIN = ("main", "/app/main.py", 10, 12)
PARSE = ("Parser.parse", "/app/parse.py", 5, 7)
PARSE_OTHER_LINE = ("Parser.parse", "/app/parse.py", 5, 9)
LAMBDA = ("main.<locals>.<lambda>", "/app/main.py", 11, 11)
OTHER_FILE_MAIN = ("main", "/lib/other.py", 1, 2)
TRUNCATED = ("[truncated 40 frames]", "", 0, 0)

AGGREGATE = {
    ("MainThread", (PARSE, MAIN, MODULE)): [30, 31],
    ("MainThread", (PARSE_OTHER_LINE, MAIN, MODULE)): [10, 10],
    ("worker-1", (LAMBDA, MAIN, MODULE)): [5, 5],
    ("worker-1", (OTHER_FILE_MAIN,)): [2, 2],
    ("worker-2", (PARSE, TRUNCATED, MODULE)): [1, 1],
    ("idle", (MAIN, MODULE)): [0, 0],
}


def build(aggregate=AGGREGATE, **kwargs):
    options = dict(
        period_ns=PERIOD,
        start_ns=1_700_000_000_000_000_000,
        duration_ns=2_500_000_000,
        comments=["python main.py", "3 samples dropped: the sample buffer was full"],
        main_file="/app/main.py",
    )
    options.update(kwargs)
    return build_cpu_profile(aggregate, **options)


def text(profile, index):
    return profile.string_table[index]


def stacks(profile):
    """Each sample as (thread, [(name, file, start, line) leaf first], values)."""
    functions = {f.id: f for f in profile.function}
    locations = {loc.id: loc for loc in profile.location}
    result = []
    for sample in profile.sample:
        frames = []
        for location_id in sample.location_id:
            (line,) = locations[location_id].line
            function = functions[line.function_id]
            frames.append(
                (
                    text(profile, function.name),
                    text(profile, function.filename),
                    function.start_line,
                    line.line,
                )
            )
        labels = {text(profile, lb.key): text(profile, lb.str) for lb in sample.label}
        result.append((labels["thread"], frames, list(sample.value)))
    return result


def test_header_is_a_cpu_profile():
    profile = build()
    assert profile.string_table[0] == ""
    def pair(value_type):
        return text(profile, value_type.type), text(profile, value_type.unit)

    assert [pair(t) for t in profile.sample_type] == [
        ("samples", "count"),
        ("cpu", "nanoseconds"),
    ]
    assert pair(profile.period_type) == ("cpu", "nanoseconds")
    assert text(profile, profile.default_sample_type) == "cpu"
    assert profile.period == PERIOD
    assert profile.time_nanos == 1_700_000_000_000_000_000
    assert profile.duration_nanos == 2_500_000_000
    assert [text(profile, c) for c in profile.comment] == [
        "python main.py",
        "3 samples dropped: the sample buffer was full",
    ]


def test_samples_keep_stacks_threads_and_values():
    profile = build()
    assert stacks(profile) == [
        ("MainThread", [PARSE, MAIN, MODULE], [30, 31 * PERIOD]),
        ("MainThread", [PARSE_OTHER_LINE, MAIN, MODULE], [10, 10 * PERIOD]),
        ("worker-1", [LAMBDA, MAIN, MODULE], [5, 5 * PERIOD]),
        ("worker-1", [OTHER_FILE_MAIN], [2, 2 * PERIOD]),
        ("worker-2", [PARSE, TRUNCATED, MODULE], [1, 1 * PERIOD]),
    ]  # the all-zero "idle" entry is left out


def test_one_function_per_name_file_and_first_line():
    profile = build()
    keys = [
        (text(profile, f.name), text(profile, f.filename), f.start_line)
        for f in profile.function
    ]
    assert len(keys) == len(set(keys))
    frames = [PARSE, MAIN, MODULE, LAMBDA, OTHER_FILE_MAIN, TRUNCATED]
    assert sorted(keys) == sorted({frame[:3] for frame in frames})
    assert [f.id for f in profile.function] == list(range(1, len(keys) + 1))
    # Go 1.19 demangles names equal to their system name: leave it empty.
    assert all(f.system_name == 0 for f in profile.function)


def test_one_location_per_function_and_line_all_in_one_mapping():
    profile = build()
    keys = [(loc.line[0].function_id, loc.line[0].line) for loc in profile.location]
    assert len(keys) == len(set(keys)) == 7  # PARSE has two lines
    assert [loc.id for loc in profile.location] == list(range(1, 8))
    assert {loc.mapping_id for loc in profile.location} == {1}
    (mapping,) = profile.mapping
    assert mapping.id == 1
    assert text(profile, mapping.filename) == "/app/main.py"
    assert mapping.has_functions and mapping.has_filenames and mapping.has_line_numbers
    assert mapping.memory_start == mapping.memory_limit == 0


def test_string_table_has_no_duplicates():
    profile = build()
    assert len(set(profile.string_table)) == len(profile.string_table)


def test_round_trip_through_the_codec():
    profile = build()
    again = pprof.load(pprof.dumps(profile))
    assert again == profile


def test_empty_aggregate_is_a_valid_empty_profile():
    profile = build({})
    assert len(profile.sample) == 0 and len(profile.location) == 0
    assert pprof.load(pprof.dumps(profile)) == profile


def go_pprof(*args):
    """Run `go tool pprof ARGS` in UTC; None when go is absent (not in CI)."""
    go = shutil.which("go")
    if go is None:
        if os.environ.get("CI") == "true":
            pytest.fail("go is required in CI (go tool pprof is the reference)")
        pytest.skip("go is not installed; go tool pprof checks need it")
    env = dict(os.environ, TZ="UTC")
    return subprocess.run(
        [go, "tool", "pprof", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize(
    "options",
    [
        ["-top"],
        ["-top", "-lines"],
        ["-traces"],
        ["-top", "-tagfocus", "thread=MainThread"],
        ["-raw"],
    ],
    ids=["top", "lines", "traces", "tagfocus", "raw"],
)
def test_go_pprof_reads_it_without_a_word_on_stderr(tmp_path, options):
    path = tmp_path / "built.pb.gz"
    pprof.dump(build(), str(path))
    result = go_pprof(*options, str(path))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "<unknown>" not in result.stdout


def test_go_pprof_shows_names_threads_and_totals(tmp_path):
    path = tmp_path / "built.pb.gz"
    pprof.dump(build(), str(path))

    top = go_pprof("-top", str(path)).stdout
    assert "File: main.py\n" in top
    assert "Type: cpu\n" in top
    assert "Total samples = 490ms" in top  # 31 + 10 + 5 + 2 + 1 periods of 10ms
    assert "  Parser.parse\n" in top and "  <module>\n" in top
    assert "  main.<locals>.<lambda>\n" in top

    lines = go_pprof("-top", "-lines", str(path)).stdout
    assert "Parser.parse /app/parse.py:7\n" in lines

    focused = go_pprof("-top", "-tagfocus", "thread=worker-1", str(path)).stdout
    assert "Showing nodes accounting for 70ms, 14.29% of 490ms total" in focused
