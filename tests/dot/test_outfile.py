"""-o PATH as every command writes it (pyprof.outfile): devices and FIFOs
are written into, symbolic links are followed, regular files are replaced
whole with their permission bits kept, and an input profile is never
overwritten.

No test here can damage a real /dev node: the ones that write to /dev/null
or /dev/full run in-process with the rename and the temporary file made to
fail loudly, so a regression raises instead of replacing the device.
"""

import os
import stat
import subprocess
import sys
import tempfile
import threading

import pytest

from pyprof import outfile
from pyprof import pprof
from pyprof.errors import ProfileError

from test_dot_cli import SAMPLE
from test_dot_cli import assert_error
from test_dot_cli import needs_graphviz
from test_dot_cli import pyprof


@pytest.fixture
def no_rename(monkeypatch):
    """Any temp-and-rename attempt fails the test before it touches a file."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"a rename or temporary file was attempted: {args}")

    monkeypatch.setattr(os, "replace", refuse)
    monkeypatch.setattr(os, "rename", refuse)
    monkeypatch.setattr(tempfile, "mkstemp", refuse)


def read_fifo(path, into):
    """Start a thread that reads the FIFO at path to its end into the list."""
    def run():
        with open(path, "rb") as src:
            into.append(src.read())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_dev_null_is_written_and_stays_a_device(no_rename):
    before = os.stat("/dev/null")
    assert stat.S_ISCHR(before.st_mode), "/dev/null is not a character device"
    outfile.write("/dev/null", b"x" * 10000)
    pprof.dump(pprof.load(str(SAMPLE)), "/dev/null")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_dev_full_says_the_disk_is_full(no_rename):
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    with pytest.raises(ProfileError) as caught:
        outfile.write("/dev/full", b"x" * 100000)
    assert caught.value.message == "writing /dev/full: no space left on device"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_fifo_gets_the_bytes_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    thread = read_fifo(fifo, got)
    outfile.write(fifo, b"abc" * 50000)
    thread.join(10)
    assert got == [b"abc" * 50000]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["pipe"]


def test_symlink_target_is_replaced_and_the_link_stays(tmp_path):
    (tmp_path / "target.txt").write_bytes(b"old")
    os.chmod(tmp_path / "target.txt", 0o640)
    (tmp_path / "link.txt").symlink_to("target.txt")
    outfile.write(tmp_path / "link.txt", b"new")
    assert os.readlink(tmp_path / "link.txt") == "target.txt"
    assert (tmp_path / "target.txt").read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(tmp_path / "target.txt").st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["link.txt", "target.txt"]


def test_dangling_symlink_creates_its_target(tmp_path):
    (tmp_path / "link.txt").symlink_to("made.txt")
    outfile.write(tmp_path / "link.txt", b"made")
    assert os.path.islink(tmp_path / "link.txt")
    assert (tmp_path / "made.txt").read_bytes() == b"made"


def test_regular_file_replaced_whole_keeping_its_mode(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"previous contents, longer than the new ones")
    os.chmod(path, 0o604)
    inode = os.stat(path).st_ino
    outfile.write(path, b"short")
    assert path.read_bytes() == b"short"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o604
    assert os.stat(path).st_ino != inode  # replaced by rename, not rewritten
    assert os.listdir(tmp_path) == ["out.bin"]


def test_new_file_gets_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        outfile.write(tmp_path / "new.bin", b"1")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.bin").st_mode) == 0o640


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "keep.bin"
    path.write_bytes(b"keep me")

    def broken(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(ProfileError) as caught:
        outfile.write(path, b"lost")
    assert "no space left on device" in caught.value.message
    assert path.read_bytes() == b"keep me"
    assert os.listdir(tmp_path) == ["keep.bin"]


def test_missing_folder_is_one_clear_error(tmp_path):
    with pytest.raises(ProfileError) as caught:
        outfile.write(tmp_path / "nowhere" / "x.bin", b"1")
    assert caught.value.message.startswith(f"writing {tmp_path}/nowhere/x.bin: ")
    assert "no such file" in caught.value.message


# ---- the commands ---------------------------------------------------------


def test_dot_into_a_fifo(tmp_path):
    fifo = tmp_path / "graph.fifo"
    os.mkfifo(fifo)
    got = []
    thread = read_fifo(fifo, got)
    done = pyprof("dot", "-o", str(fifo), str(SAMPLE))
    thread.join(30)
    assert done.returncode == 0, done.stderr
    expected = pyprof("dot", str(SAMPLE)).stdout
    assert expected.startswith(b"digraph")
    assert got == [expected]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_flame_through_a_symlink(tmp_path):
    (tmp_path / "target.html").write_text("orig")
    (tmp_path / "link.html").symlink_to(tmp_path / "target.html")
    done = pyprof("flame", "-o", str(tmp_path / "link.html"), str(SAMPLE))
    assert done.returncode == 0, done.stderr
    assert os.path.islink(tmp_path / "link.html")
    assert (tmp_path / "target.html").read_text().startswith("<!DOCTYPE html>")
    assert sorted(os.listdir(tmp_path)) == ["link.html", "target.html"]


def test_svg_into_a_symlink_to_a_fifo(tmp_path):
    needs_graphviz()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "g.svg").symlink_to("fifo")
    got = []
    thread = read_fifo(tmp_path / "fifo", got)
    done = pyprof("svg", "-o", str(tmp_path / "g.svg"), str(SAMPLE))
    thread.join(60)
    assert done.returncode == 0, done.stderr
    assert b"<svg" in got[0] and got[0].rstrip().endswith(b"</svg>")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)


def test_record_into_a_fifo(tmp_path):
    fifo = tmp_path / "cpu.fifo"
    os.mkfifo(fifo)
    got = []
    thread = read_fifo(fifo, got)
    done = subprocess.run(
        [sys.executable, "-c", "from pyprof.cli import main; main()", "record",
         "-o", str(fifo), "--", sys.executable, "-c", "sum(range(100000))"],
        capture_output=True, timeout=120)
    thread.join(30)
    assert done.returncode == 0, done.stderr
    profile = pprof.load(got[0])
    types = [profile.string_table[t.type] for t in profile.sample_type]
    assert types == ["samples", "cpu"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize("command, name", [("dot", "cpu.pb.gz"), ("flame", "cpu.html")])
def test_output_onto_an_input_is_refused(tmp_path, command, name):
    profile = tmp_path / name
    profile.write_bytes(SAMPLE.read_bytes())
    (tmp_path / ("alias-" + name)).symlink_to(profile)
    for output in (profile, tmp_path / ("alias-" + name)):
        done = pyprof(command, "-o", str(output), str(profile))
        lines = assert_error(done, 2, "is the input profile")
        assert lines[1] == "hint: write the output elsewhere with -o"
        assert profile.read_bytes() == SAMPLE.read_bytes()
    done = pyprof(command, "-o", str(profile), f"--base={profile}", str(SAMPLE))
    assert_error(done, 2, "is the input profile")
    assert profile.read_bytes() == SAMPLE.read_bytes()


def test_png_into_a_folder_hints_a_png_name(tmp_path):
    done = pyprof("png", "-o", str(tmp_path), str(SAMPLE))
    lines = assert_error(done, 2, "is a folder")
    assert lines[1] == f"hint: give a file name in it, e.g. -o {tmp_path}/graph.png"


def test_dev_stdout_redirected_to_a_file_writes_that_file(tmp_path):
    out = tmp_path / "out.dot"
    with open(out, "wb") as stdout:
        inode = os.fstat(stdout.fileno()).st_ino
        done = subprocess.run(
            [sys.executable, "-c", "from pyprof.cli import main; main()", "dot",
             "-o", "/dev/stdout", str(SAMPLE)],
            stdout=stdout, stderr=subprocess.PIPE, timeout=120)
    assert done.returncode == 0, done.stderr
    assert os.stat(out).st_ino == inode  # the shell's file, not a new one
    assert out.read_bytes() == pyprof("dot", str(SAMPLE)).stdout
    assert os.listdir(tmp_path) == ["out.dot"]


def test_dev_stdout_into_a_pipe():
    done = pyprof("dot", "-o", "/dev/stdout", str(SAMPLE))
    assert done.returncode == 0, done.stderr
    assert done.stdout == pyprof("dot", str(SAMPLE)).stdout


def test_flame_into_a_fifo_is_the_html_page(tmp_path):
    fifo = tmp_path / "page"
    os.mkfifo(fifo)
    got = []
    thread = read_fifo(fifo, got)
    done = pyprof("flame", "-o", str(fifo), str(SAMPLE))
    thread.join(30)
    assert done.returncode == 0, done.stderr
    assert got[0].startswith(b"<!DOCTYPE html>")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
