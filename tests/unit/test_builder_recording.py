"""Recording: the raw result a `pyprof record` child hands to its parent."""

import json

import pytest

from pyprof.session import Recording

FRAME_A = ("work", "/app/a.py", 3, 5)
FRAME_B = ("<module>", "/app/a.py", 1, 9)


def recording(**changes):
    options = dict(
        period_ns=1_000_000,
        start_ns=123,
        duration_ns=456,
        stats={"samples": 7, "periods": 9, "dropped": 0, "truncated": 0},
        warnings=[],
        main_file="/app/a.py",
    )
    options.update(changes)
    aggregate = {
        ("MainThread", (FRAME_A, FRAME_B)): [5, 6],
        ("worker", (FRAME_B,)): [2, 3],
    }
    return Recording(aggregate, **options)


def test_save_and_load_give_back_the_same_recording(tmp_path):
    original = recording(warnings=["sampling at ~240 Hz"])
    path = tmp_path / "recording.json"
    original.save(str(path))
    loaded = Recording.load(str(path))

    assert loaded.aggregate == original.aggregate
    assert loaded.stats == original.stats
    assert loaded.warnings == ["sampling at ~240 Hz"]
    assert loaded.period_ns == 1_000_000
    assert (loaded.start_ns, loaded.duration_ns) == (123, 456)
    assert loaded.main_file == "/app/a.py"
    assert [p.name for p in tmp_path.iterdir()] == ["recording.json"]  # no temp left


def test_counts_and_cpu_time():
    rec = recording()
    assert rec.sample_count == 7
    assert rec.cpu_ns == 9 * 1_000_000


def test_comments_name_the_command_then_what_went_wrong():
    clean = recording()
    assert clean.comments("python a.py") == ["python a.py"]

    troubled = recording(
        stats={"dropped": 4, "truncated": 2}, warnings=["sampling at ~240 Hz"]
    )
    assert troubled.comments("python a.py") == [
        "python a.py",
        "4 samples dropped: the sample buffer was full",
        "2 stacks truncated: deeper than --max-frames",
        "sampling at ~240 Hz",
    ]


def test_another_format_version_is_refused(tmp_path):
    path = tmp_path / "recording.json"
    recording().save(str(path))
    data = json.loads(path.read_text())
    data["format"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="unknown spool format 99"):
        Recording.load(str(path))
