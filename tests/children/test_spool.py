"""The spool file format: what a reader gets back from whole, torn and
damaged files (a process can die in the middle of a write)."""

import os

from pyprof import spool

FRAME_A = ("main", "/app/main.py", 1, 3)
FRAME_B = ("work", "/app/main.py", 10, 12)


def write_two_flushes(folder):
    writer = spool.Writer(str(folder), {"ppid": 1, "argv": ["python", "x.py"],
                                        "start_ns": 5, "period_ns": 10})
    writer.samples({("MainThread", (FRAME_B, FRAME_A)): [2, 3]})
    writer.samples({("MainThread", (FRAME_B, FRAME_A)): [1, 1],
                    ("worker", (FRAME_A,)): [4, 4]})
    return writer


def test_flushes_add_up_and_an_end_record_marks_a_clean_exit(tmp_path):
    writer = write_two_flushes(tmp_path)
    writer.end({"duration_ns": 7, "stats": {"dropped": 1}, "warnings": ["w"],
                "main_file": "/app/x.py"})
    (path,) = spool.list_files(str(tmp_path))
    got = spool.read(path)

    assert got.ended and not got.damaged and spool.has_ended(path)
    assert got.pid == os.getpid() and got.ppid == 1
    assert got.argv == ["python", "x.py"]
    assert got.aggregate == {
        ("MainThread", (FRAME_B, FRAME_A)): [3, 4],
        ("worker", (FRAME_A,)): [4, 4],
    }
    assert (got.duration_ns, got.stats, got.warnings, got.main_file) == (
        7, {"dropped": 1}, ["w"], "/app/x.py")


def test_a_torn_last_record_is_dropped_and_the_rest_kept(tmp_path):
    writer = write_two_flushes(tmp_path)
    writer.close()
    (path,) = spool.list_files(str(tmp_path))
    whole = open(path, "rb").read()
    complete = spool.read(path).aggregate
    # Cut the file at every length inside the last record: never an error,
    # never a partial record's samples.
    with open(path, "rb") as src:
        data = src.read()
    last_start = data.rindex(b"S{") - 4
    for cut in range(last_start + 1, len(whole)):
        with open(path, "wb") as out:
            out.write(whole[:cut])
        got = spool.read(path)
        assert got.damaged and not got.ended and not spool.has_ended(path)
        assert got.aggregate == {("MainThread", (FRAME_B, FRAME_A)): [2, 3]}
    assert complete[("worker", (FRAME_A,))] == [4, 4]


def test_garbage_after_the_header_keeps_the_header(tmp_path):
    writer = spool.Writer(str(tmp_path), {"ppid": 1, "argv": ["p"],
                                          "start_ns": 1, "period_ns": 1})
    os.write(writer.fd, b"\x05\x00\x00\x00S{not json")
    writer.close()
    (path,) = spool.list_files(str(tmp_path))
    got = spool.read(path)
    assert got.has_header and got.damaged and got.aggregate == {}


def test_a_fork_child_closing_its_copy_never_writes(tmp_path):
    writer = spool.Writer(str(tmp_path), {"ppid": 1, "argv": [], "start_ns": 1,
                                          "period_ns": 1})
    size = os.path.getsize(writer.path)
    writer.close()
    writer.samples({("t", (FRAME_A,)): [1, 1]})
    assert os.path.getsize(writer.path) == size


def test_a_lazy_writer_creates_its_file_only_at_the_first_flush(tmp_path):
    writer = spool.Writer(str(tmp_path), {"ppid": 1, "argv": [], "start_ns": 1,
                                          "period_ns": 1}, lazy=True)
    assert spool.list_files(str(tmp_path)) == []
    writer.samples({("t", (FRAME_A,)): [1, 1]})
    (path,) = spool.list_files(str(tmp_path))
    assert spool.read(path).aggregate == {("t", (FRAME_A,)): [1, 1]}

    unused = spool.Writer(str(tmp_path), {"ppid": 1, "argv": [], "start_ns": 1,
                                          "period_ns": 1}, lazy=True)
    unused.close()  # a fork child that exec'd: nothing on disk
    unused.samples({("t", (FRAME_A,)): [1, 1]})
    assert len(spool.list_files(str(tmp_path))) == 1
