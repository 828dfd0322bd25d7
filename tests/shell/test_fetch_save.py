"""Where a fetched profile is saved (pyprof.fetch), as pprof chooses:
$PPROF_TMPDIR, then $HOME/pprof, then $TMPDIR or /tmp; a folder that
cannot be made is a warning and the next one is tried."""

import errno

import pytest

from pyprof import fetch
from pyprof import pprof
from sessions import SAMPLE


@pytest.mark.parametrize("seconds, text", [(1, "1s"), (59, "59s"), (60, "1m0s"),
                                           (90, "1m30s"), (3600, "1h0m0s"),
                                           (3725, "1h2m5s")])
def test_durations_read_as_go_prints_them(seconds, text):
    assert fetch.go_duration(seconds) == text


def test_folders_in_pprof_order(monkeypatch, tmp_path):
    monkeypatch.setenv("PPROF_TMPDIR", str(tmp_path / "t"))
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "x"))
    assert fetch.save_dirs() == [str(tmp_path / "t"), str(tmp_path / "h" / "pprof"),
                                 str(tmp_path / "x")]
    monkeypatch.delenv("PPROF_TMPDIR")
    monkeypatch.delenv("HOME")
    monkeypatch.delenv("TMPDIR")
    assert fetch.save_dirs() == ["/tmp"]


def test_a_file_in_the_way_is_not_a_directory(tmp_path):
    in_the_way = tmp_path / "f"
    in_the_way.write_text("")
    for target in (in_the_way, in_the_way / "below" / "deeper"):
        with pytest.raises(OSError) as caught:
            fetch.make_dirs(str(target))
        assert caught.value.errno == errno.ENOTDIR
        assert caught.value.filename == str(in_the_way)
    fetch.make_dirs(str(tmp_path / "a" / "b"))
    fetch.make_dirs(str(tmp_path / "a" / "b"))  # existing: fine
    assert (tmp_path / "a" / "b").is_dir()


def test_without_home_the_profile_goes_to_tmpdir_after_warnings(monkeypatch, tmp_path):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("PPROF_TMPDIR", str(tmp_path / "file" / "sub"))
    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    lines = []
    data = SAMPLE.read_bytes()
    path = fetch.save(pprof.load(data), data, note=lines.append)
    expected = tmp_path / "tmp" / "pprof.sample.bin.samples.cpu.001.pb.gz"
    assert path == str(expected)
    assert lines == [
        f"Could not use temp dir {tmp_path / 'file' / 'sub'}: "
        f"mkdir {tmp_path / 'file'}: not a directory",
        f"Saved profile in {expected}",
    ]
    assert pprof.load(expected.read_bytes()).sample  # a complete profile
    assert [p.name for p in (tmp_path / "tmp").iterdir()] == [expected.name]


def test_no_usable_folder_is_one_error(monkeypatch, tmp_path):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("PPROF_TMPDIR", str(tmp_path / "file" / "a"))
    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "file" / "b"))
    lines = []
    data = SAMPLE.read_bytes()
    with pytest.raises(fetch.ProfileError) as caught:
        fetch.save(pprof.load(data), data, note=lines.append)
    assert "no folder could be created" in caught.value.message
    assert len(lines) == 2
    assert all(line.startswith("Could not use temp dir") for line in lines)
