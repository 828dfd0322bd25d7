"""Running the shell in tests: on pipes (byte-exact, like pprof's
line-based mode) and on a pseudo-terminal (pexpect), for pyprof and for
`go tool pprof`."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from sessions import PROFILE_PATHS
from sessions import script

PYPROF = [sys.executable, "-c", "from pyprof.cli import main; main()"]
GO = shutil.which("go")

# pprof's options and commands pyprof does not have: their rows are left
# out of pyprof's `o` and `help` listings.
UNSUPPORTED_OPTIONS = ("call_tree", "divide_by", "intel_syntax", "prune_from",
                       "tagleaf", "tagroot")
# Lines go tool pprof prints about finding binaries to symbolize; pyprof
# reads symbolized profiles only and prints none of them.
_SYMBOLIZATION = ("Local symbolization failed", "Some binary filenames not available",
                  "Try setting PPROF_BINARY_PATH", "Main binary filename not available")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]")


def need_go():
    """Skip without go, except under CI=true where go must be there."""
    if GO:
        return GO
    if os.environ.get("CI") == "true":
        pytest.fail("go is not installed (CI=true needs it for the live comparison)")
    pytest.skip("go is not installed; the stored expectations were compared instead")


def clean_env(folder, **extra):
    env = dict(os.environ, TZ="UTC", HOME=str(folder), PPROF_TMPDIR=str(folder),
               TERM="dumb", PYPROF_HISTFILE=str(folder / "history"))
    for name in ("PPROF_BINARY_PATH", "PYPROF_DEBUG", "PYTHONSTARTUP"):
        env.pop(name, None)
    env.update(extra)
    return env


def run_session(command, session, profile, folder, timeout=120):
    """Feed a session's lines on stdin; the CompletedProcess (bytes)."""
    return subprocess.run([*command, str(PROFILE_PATHS[profile])],
                          input=script(session),
                          capture_output=True, cwd=folder, env=clean_env(folder),
                          timeout=timeout)


def pyprof_session(session, profile, folder):
    return run_session([*PYPROF, "shell"], session, profile, folder)


def go_session(session, profile, folder):
    return run_session([need_go(), "tool", "pprof"], session, profile, folder)


def go_to_pyprof(stderr: str) -> str:
    """go tool pprof's stderr as pyprof prints it: without the
    symbolization notes and without the `o` rows of options pyprof lacks."""
    out = []
    for line in stderr.splitlines(True):
        if line.startswith(_SYMBOLIZATION):
            continue
        if re.match(r"  (%s) +=" % "|".join(UNSUPPORTED_OPTIONS), line):
            continue
        out.append(line)
    return "".join(out)


def terminal_text(text: str) -> str:
    """What a terminal transcript says: no colours or cursor controls, no
    carriage returns, backspaced characters gone."""
    text = ANSI.sub("", text).replace("\r", "")
    while True:
        erased = re.sub(r"[^\x08\n]\x08", "", text, count=1)
        if erased == text:
            return text.replace("\x08", "")  # backspaces at a line's start
        text = erased


def spawn(command, folder, **env):
    """A pexpect child on a 40x200 terminal."""
    import pexpect

    return pexpect.spawn(command[0], command[1:], cwd=str(folder),
                         env=clean_env(folder, TERM="xterm", **env),
                         encoding="utf-8", timeout=30, dimensions=(40, 200))
