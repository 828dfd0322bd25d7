"""The shell on a pseudo-terminal (pexpect): readline editing, completion,
history, red errors, Ctrl-C and Ctrl-D; and the same reports as on pipes,
and as go tool pprof shows on a terminal."""

import subprocess

import pexpect
import pytest

from sessions import SAMPLE
from shell_support import PYPROF
from shell_support import clean_env
from shell_support import need_go
from shell_support import spawn
from shell_support import terminal_text

PROMPT = "(pprof) "


def _start(tmp_path, command=None):
    child = spawn(command or [*PYPROF, "shell", str(SAMPLE)], tmp_path)
    child.expect_exact(PROMPT)
    return child, child.before


def _say(child, keys):
    """Type keys and Enter; what the terminal shows until the next prompt."""
    child.send(keys + "\r")
    child.expect_exact(PROMPT)
    return child.before


def _quit(child):
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def _piped(lines, tmp_path):
    """The reports the same lines print on pipes (compared with go's
    there), one per command."""
    done = subprocess.run([*PYPROF, "shell", str(SAMPLE)], capture_output=True,
                          text=True, input="".join(line + "\n" for line in lines),
                          env=clean_env(tmp_path), cwd=tmp_path, timeout=60)
    return done.stdout.split(PROMPT)[1:]


def test_terminal_shows_the_piped_reports(tmp_path):
    child, greeting = _start(tmp_path)
    lines = ("top 3", "tree", "peek mapiter")
    shown = [terminal_text(_say(child, line)) for line in lines]
    status = _quit(child)

    assert terminal_text(greeting).startswith("File: sample.bin\nType: cpu\n")
    assert shown == [f"{line}\n{text}"
                     for line, text in zip(lines, _piped(lines, tmp_path))]
    assert status == 0


def test_errors_are_red_and_the_session_goes_on(tmp_path):
    child, _ = _start(tmp_path)
    error = _say(child, "foo")
    after = terminal_text(_say(child, "top 1"))
    _quit(child)

    assert '\x1b[0;31munrecognized command: "foo"\r\n\x1b[0m' in error
    assert "Showing top 1 nodes out of 14" in after


def test_tab_completes_commands_options_and_function_names(tmp_path):
    child, _ = _start(tmp_path)
    tree = terminal_text(_say(child, "tre\t"))
    listing = terminal_text(_say(child, "list busyL\t"))
    _say(child, "sample_index=sa\t")
    options = terminal_text(_say(child, "o"))
    _quit(child)

    assert tree.startswith("tree \n") and "| main.busyLoop" in tree
    assert listing.startswith("list main.busyLoop \n")
    assert "ROUTINE ======================== main.busyLoop in " in listing
    assert "sample_index              = samples" in options


def test_tab_lists_values_completes_equals_and_flags(tmp_path):
    from sessions import HEAP

    child, _ = _start(tmp_path, [*PYPROF, "shell", str(HEAP)])
    # sample_i<Tab> gives "sample_index=", "al<Tab>" lists the two alloc_
    # types at once, "s<Tab>" completes the second.
    child.send("sample_i\t")
    child.expect_exact("sample_index=")
    child.send("al\t")
    child.expect_exact("sample_index=alloc_objects  sample_index=alloc_space")
    child.expect_exact(PROMPT + "sample_index=alloc_")
    _say(child, "s\t")
    options = terminal_text(_say(child, "o"))
    cum = terminal_text(_say(child, "top -c\t1"))
    _quit(child)

    assert "sample_index              = alloc_space" in options
    assert cum.startswith("top -cum 1\n")
    assert "Showing nodes accounting for 1.68MB" in cum


def test_history_is_kept_across_sessions(tmp_path):
    child, _ = _start(tmp_path)
    first = terminal_text(_say(child, "top 2 -cum"))
    _quit(child)
    child, _ = _start(tmp_path)
    again = terminal_text(_say(child, "\x1b[A"))  # up arrow, then Enter
    _quit(child)

    assert (tmp_path / "history").read_text().splitlines()[-1] == "top 2 -cum"
    assert again.endswith(first.split("\n", 1)[1])
    assert "Showing top 2 nodes out of 14" in again


@pytest.mark.parametrize("case", ["folder", "no_folder", "no_home"])
def test_an_unusable_history_file_is_said_once_and_the_session_goes_on(case, tmp_path):
    env = clean_env(tmp_path, TERM="xterm")
    if case == "folder":
        (tmp_path / "dir").mkdir()
        env["PYPROF_HISTFILE"] = str(tmp_path / "dir")
        note = f"using the history file {tmp_path / 'dir'}: it is a folder"
    elif case == "no_folder":
        env["PYPROF_HISTFILE"] = str(tmp_path / "missing" / "h")
        note = (f"using the history file {tmp_path / 'missing' / 'h'}: "
                f"no folder {tmp_path / 'missing'}")
    else:  # no HOME, no PYPROF_HISTFILE: no history, nothing said
        del env["HOME"], env["PYPROF_HISTFILE"]
        note = None
    child = pexpect.spawn(PYPROF[0], [*PYPROF[1:], "shell", str(SAMPLE)],
                          cwd=str(tmp_path), env=env, encoding="utf-8", timeout=30,
                          dimensions=(40, 200))
    child.expect_exact(PROMPT)
    seen = terminal_text(child.before)
    seen += terminal_text(_say(child, "top 1")) + terminal_text(_say(child, "top 1"))
    status = _quit(child)

    assert status == 0
    assert seen.count("Showing top 1 nodes out of 14") == 2
    assert seen.count("history is not kept") == (1 if note else 0), seen
    if note:
        assert f"{note} (history is not kept; set PYPROF_HISTFILE to another file)\n" \
            in seen
    assert sorted(p.name for p in tmp_path.iterdir()) == (
        ["dir"] if case == "folder" else [])


def test_history_keeps_the_last_thousand_lines(tmp_path):
    (tmp_path / "history").write_text("".join(f"top {i}\n" for i in range(1, 1201)))
    child, _ = _start(tmp_path)
    recalled = terminal_text(_say(child, "\x1b[A"))
    _say(child, "top 2")
    _quit(child)
    lines = (tmp_path / "history").read_text().splitlines()

    assert recalled.startswith("top 1200\n")  # the newest line comes back first
    assert len(lines) <= 1001 and lines[-2:] == ["top 1200", "top 2"]
    assert lines[0] != "top 1"  # the oldest went


def test_ctrl_c_clears_the_line_and_ctrl_d_leaves(tmp_path):
    child, _ = _start(tmp_path)
    child.send("top 5")
    child.expect_exact("top 5")  # echoed: readline has the line
    child.sendintr()
    child.expect_exact(PROMPT)
    after = terminal_text(_say(child, "top 1"))

    assert "Showing top 1 nodes" in after and "top 5" not in after
    assert _quit(child) == 0


@pytest.mark.parametrize("line", ["top 3", "top -cum 4", "foo", "list busyLoop",
                                  "sample_index=foo"])
def test_terminal_matches_go_tool_pprof_on_a_terminal(line, tmp_path):
    go = need_go()
    outputs = []
    for command in ([go, "tool", "pprof", str(SAMPLE)],
                    [*PYPROF, "shell", str(SAMPLE)]):
        child, _ = _start(tmp_path, command)
        outputs.append(terminal_text(_say(child, line)))
        child.send("quit\r")
        child.expect(pexpect.EOF)
        child.close()

    assert outputs[1] == outputs[0]
