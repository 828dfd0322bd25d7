"""`help` in pprof's layout: the same commands and options, in the same
order and columns, less those pyprof lacks. The descriptions are pyprof's
own words, so only the names, usage lines and fixed lines are compared."""

import re

from sessions import EXPECTED
from shell_support import UNSUPPORTED_OPTIONS
from shell_support import go_to_pyprof
from shell_support import pyprof_session

UNSUPPORTED_COMMANDS = ("callgrind", "disasm", "eog", "evince", "gif", "gv",
                        "kcachegrind", "pdf", "proto", "ps", "tags", "topproto",
                        "weblist")
ROW = re.compile(r"^( {4}| {6})(\S+) ")


def _skeleton(text, drop=()):
    """The full help with each listing row cut to its indent and name
    (rows named in drop left out); other lines as they are."""
    out = []
    for line in text.splitlines():
        row = ROW.match(line)
        if row and row.group(2) in drop:
            continue
        out.append(row.group(1) + row.group(2) if row else line)
    return out


def _split_topics(text):
    """The full help, then one block per `help NAME` (each ends with a
    blank line, as pprof prints them)."""
    full, _, rest = text.partition('  type "help <cmd|option>" for more information\n')
    return full, rest


def test_help_lists_pprofs_commands_and_options_in_its_layout(tmp_path):
    go_err = (EXPECTED / "help.sample.cpu.err").read_text()
    done = pyprof_session("help", "sample.cpu", tmp_path)
    go_full, go_rest = _split_topics(go_to_pyprof(go_err))
    full, rest = _split_topics(done.stderr.decode())

    assert done.returncode == 0
    assert full.splitlines()[:5] == go_full.splitlines()[:5]  # header and greeting
    drop = UNSUPPORTED_COMMANDS + UNSUPPORTED_OPTIONS
    assert _skeleton(full) == _skeleton(go_full, drop)
    assert "    o/options        " in full and "    q/quit/exit/^D   " in full
    assert "  :   Clear focus/ignore/hide/tagfocus/tagignore\n" in full


def test_help_topics_match_pprofs_shape_and_errors(tmp_path):
    go_err = (EXPECTED / "help.sample.cpu.err").read_text()
    done = pyprof_session("help", "sample.cpu", tmp_path)
    _, go_rest = _split_topics(go_err)
    _, rest = _split_topics(done.stderr.decode())

    # Usage lines of top, list, peek and tree are pprof's syntax, and the
    # unknown topics are refused with pprof's words.
    for syntax in ("    top [n] [focus_regex]* [-ignore_regex]* [-cum] >f\n",
                   "    list<func_regex|address> [-focus_regex]* [-ignore_regex]*\n",
                   "    peek func_regex\n",
                   "    tree [n] [focus_regex]* [-ignore_regex]* [-cum] >f\n"):
        assert syntax in go_rest and syntax in rest
    for line in ("Unknown command: foo\n", "Unknown command: o\n",
                 "Unknown command: granularity\n"):
        assert line in go_rest and line in rest
    assert rest.count("\n\n") == go_rest.count("\n\n")  # one block per topic
    assert "Or use sample_index=name, with name in [samples cpu].\n" in rest
