"""pyprof.pprof: round trips, and the errors load() and dump() report."""

import gzip
import os
import stat

import pytest

from pyprof import pprof
from pyprof._proto import profile_pb2
from pyprof.errors import ProfileError


def small_profile() -> profile_pb2.Profile:
    p = profile_pb2.Profile(
        string_table=["", "samples", "count", "cpu", "nanoseconds", "main", "app.py"],
        time_nanos=1_700_000_000_000_000_000,
        duration_nanos=2_000_000_000,
        period=10_000_000,
    )
    p.sample_type.add(type=1, unit=2)
    p.sample_type.add(type=3, unit=4)
    p.period_type.type, p.period_type.unit = 3, 4
    p.function.add(id=1, name=5, filename=6, start_line=3)
    p.location.add(id=1).line.add(function_id=1, line=7)
    p.sample.add(location_id=[1], value=[4, 40_000_000])
    return p


def test_dumps_then_load_gives_the_same_message():
    p = small_profile()
    data = pprof.dumps(p)
    assert data[:2] == b"\x1f\x8b"
    assert pprof.load(data) == p


def test_dumps_is_reproducible():
    assert pprof.dumps(small_profile()) == pprof.dumps(small_profile())


def test_load_accepts_raw_protobuf_and_a_path(tmp_path):
    p = small_profile()
    raw = tmp_path / "raw.pb"
    raw.write_bytes(p.SerializeToString())
    assert pprof.load(raw) == p
    assert pprof.load(str(raw)) == p


def test_dump_writes_gzip_readable_by_load(tmp_path):
    target = tmp_path / "out.pb.gz"
    pprof.dump(small_profile(), target)
    assert profile_pb2.Profile.FromString(gzip.decompress(target.read_bytes())) == (
        small_profile()
    )
    assert sorted(os.listdir(tmp_path)) == ["out.pb.gz"]
    mode = stat.S_IMODE(target.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def load_error(data) -> str:
    with pytest.raises(ProfileError) as info:
        pprof.load(data)
    assert info.value.exit_code == 1
    assert "\n" not in info.value.message and info.value.hint
    return info.value.message


def test_load_rejects_empty_input(tmp_path):
    empty = tmp_path / "empty.pb.gz"
    empty.write_bytes(b"")
    assert load_error(empty) == f"reading {empty}: empty input file"
    assert load_error(gzip.compress(b"")) == "reading profile: empty input file"


def test_load_rejects_garbage():
    assert load_error(b"this is not a profile\n") == (
        "reading profile: not a gzip'd pprof profile"
    )
    assert load_error(gzip.compress(b"\xff" * 40)) == (
        "reading profile: not a pprof profile"
    )


def test_load_rejects_truncated_gzip():
    data = pprof.dumps(small_profile())
    for cut in (3, 12, len(data) // 2, len(data) - 1):
        assert load_error(data[:cut]).startswith("reading profile: decompressing profile: ")


def test_load_rejects_corrupt_gzip_checksum():
    data = bytearray(pprof.dumps(small_profile()))
    data[-6] ^= 0xFF  # inside the CRC-32 trailer
    assert "decompressing profile" in load_error(bytes(data))


def test_load_refuses_a_decompression_bomb():
    bomb = gzip.compress(b"\0" * (4 << 20))
    assert len(bomb) < 8192
    with pytest.raises(ProfileError) as info:
        pprof.load(bomb, max_bytes=1 << 20)
    assert info.value.message == (
        "reading profile: decompressed profile is larger than 1048576 bytes"
    )


def test_load_reports_a_missing_file(tmp_path):
    missing = tmp_path / "nope.pb.gz"
    assert load_error(missing) == f"reading {missing}: no such file"


def malformed(mutate) -> str:
    p = small_profile()
    mutate(p)
    return load_error(p.SerializeToString())


def test_load_applies_go_validity_rules():
    assert malformed(lambda p: p.string_table.__setitem__(0, "x")) == (
        "reading profile: not a gzip'd pprof profile"
    )
    assert malformed(lambda p: setattr(p.function[0], "name", 99)) == (
        "reading profile: not a gzip'd pprof profile"
    )
    assert malformed(lambda p: p.sample[0].value.append(1)) == (
        "reading profile: malformed profile: mismatch: sample has 3 values vs. 2 types"
    )
    assert malformed(lambda p: p.sample[0].location_id.append(7)) == (
        "reading profile: malformed profile: sample has nil location"
    )
    assert malformed(lambda p: p.location[0].line.add(function_id=5)) == (
        "reading profile: malformed profile: location id: 1 has a line with nil function"
    )
    assert malformed(lambda p: p.function.add(id=1)) == (
        "reading profile: malformed profile: multiple functions with same id: 1"
    )
    assert malformed(lambda p: p.mapping.add(id=0)) == (
        "reading profile: malformed profile: found mapping with reserved ID=0"
    )
    assert malformed(lambda p: p.ClearField("sample_type")) == (
        "reading profile: malformed profile: missing sample type information"
    )


def test_load_detects_concatenated_profiles():
    one = small_profile().SerializeToString()
    assert load_error(one + one) == "reading profile: concatenated profiles detected"


def test_unknown_mapping_id_is_allowed():
    p = small_profile()
    p.location[0].mapping_id = 42
    assert pprof.load(p.SerializeToString()).location[0].mapping_id == 42


def test_dump_leaves_no_file_when_folder_is_unwritable(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):  # running as root: make writing fail otherwise
            target = folder / "missing-subdir" / "out.pb.gz"
        else:
            target = folder / "out.pb.gz"
        with pytest.raises(ProfileError) as info:
            pprof.dump(small_profile(), target)
        assert info.value.message.startswith(f"writing {target}: ")
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o700)


def test_dump_keeps_the_old_file_and_no_temp_file_when_replace_fails(
    tmp_path, monkeypatch
):
    target = tmp_path / "out.pb.gz"
    target.write_bytes(b"old")

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(ProfileError) as info:
        pprof.dump(small_profile(), target)
    assert info.value.message == f"writing {target}: no space left on device"
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.pb.gz"]


def test_dump_leaves_no_temp_file_on_interrupt(tmp_path, monkeypatch):
    target = tmp_path / "out.pb.gz"

    def interrupted(source, destination):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pprof.dump(small_profile(), target)
    assert os.listdir(tmp_path) == []
