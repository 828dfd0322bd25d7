"""Writing the files a user names with -o: one writer for every command.

The rules, in the order they are applied:

- A symbolic link is followed; its final target gets the rules below
  (the link itself stays a link).
- A path that exists and is not a regular file (a character device such
  as /dev/null or /dev/stdout's terminal, a FIFO, a socket) is opened and
  written directly: no temporary file, no rename, so the node stays what
  it was and a reader at the other end of a FIFO gets the bytes. So is a
  path given under /dev or /proc (/dev/stdout, /dev/fd/3): when it leads to
  a regular file (``-o /dev/stdout > out.txt``) that file is written
  through the descriptor the shell opened, not replaced behind its back.
- A regular file or a path that does not exist yet is written to a
  temporary file in the same folder which then replaces the target in one
  rename: a reader never sees half a file, a failure leaves the previous
  file untouched and no partial file behind. An existing file keeps its
  permission bits; a new one gets the mode ``open()`` would give it.

``refuse_inputs`` stops a command from writing over one of the profiles it
reads (``pyprof dot -o cpu.pb.gz cpu.pb.gz``).
"""

from __future__ import annotations

import os
import stat
import tempfile
from typing import Iterable
from typing import Optional
from typing import Union

from pyprof.errors import ProfileError
from pyprof.errors import UsageError

PathLike = Union[str, "os.PathLike[str]"]


def target(path: PathLike) -> str:
    """The absolute path that gets written: path with its symbolic links
    resolved (a dangling link gives the path it points to)."""
    return os.path.realpath(os.fspath(path))


def is_special(path: PathLike) -> bool:
    """Whether path is written directly: it exists (its links followed) and
    is not a regular file or a folder (a device, a FIFO, a socket), or it
    exists and is given under /dev or /proc."""
    path = os.fspath(path)
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    if stat.S_ISDIR(mode):
        return False
    given = os.path.abspath(path)
    return not stat.S_ISREG(mode) or given.startswith(("/dev/", "/proc/"))


def check(command: str, path: PathLike, example: str) -> None:
    """Fail before any work when path cannot be written.

    command is the word that starts the message ("flame", "svg"); example is
    a file name for the hint ("graph.svg").

    Raises:
        UsageError: path is empty or a folder, its folder is missing or not
            writable.
    """
    path = os.fspath(path)
    if not path:
        raise UsageError(f"{command}: the output path is empty",
                         f"give a file name, e.g. -o {example}")
    if os.path.isdir(path):
        raise UsageError(f"{command}: the output {path} is a folder",
                         f"give a file name in it, e.g. -o "
                         f"{os.path.join(path, example)}")
    if is_special(path):
        if not os.access(path, os.W_OK):
            raise UsageError(f"{command}: cannot write to {path}: permission denied",
                             "write elsewhere with -o")
        return
    folder = os.path.dirname(target(path))
    if not os.path.isdir(folder):
        cause = "is not a folder" if os.path.exists(folder) else "does not exist"
        raise UsageError(f"{command}: the output folder {folder} {cause}",
                         "create it first, or write elsewhere with -o")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{command}: cannot write to the folder {folder}",
                         "write elsewhere with -o")


def refuse_inputs(command: str, path: PathLike, inputs: Iterable[str]) -> None:
    """Refuse an output that is one of the command's input files.

    Only an existing regular file can be an input overwritten by mistake;
    URLs and paths that do not exist are ignored.

    Raises:
        UsageError: path and one of inputs name the same file.
    """
    path = os.fspath(path)
    try:
        out = os.stat(path)
    except OSError:
        return
    if not stat.S_ISREG(out.st_mode):
        return
    for source in inputs:
        try:
            given = os.stat(source)
        except (OSError, ValueError):
            continue
        if (given.st_dev, given.st_ino) == (out.st_dev, out.st_ino):
            raise UsageError(
                f"{command}: the output {path} is the input profile {source}; "
                "writing it would destroy the profile",
                "write the output elsewhere with -o")


def write(path: PathLike, data: bytes, hint: Optional[str] = None) -> None:
    """data into path, following the module's rules.

    Raises:
        ProfileError: "writing PATH: <cause>", e.g. the folder is missing or
            not writable, the disk is full (also when the target is
            /dev/full).
    """
    path = os.fspath(path)
    try:
        if is_special(path):
            _write_direct(path, data)
        else:
            _write_replacing(target(path), data)
    except OSError as exc:
        raise ProfileError(f"writing {path}: {_reason(exc)}",
                           hint or _hint(exc)) from None


def _write_direct(path: str, data: bytes) -> None:
    # open() follows the links (/dev/stdout -> /proc/self/fd/1 -> the
    # terminal or pipe); O_TRUNC is ignored by devices and FIFOs.
    with open(path, "wb") as out:
        out.write(data)


def _write_replacing(path: str, data: bytes) -> None:
    folder = os.path.dirname(path)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, temporary = tempfile.mkstemp(
        prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        # mkstemp makes the file 0600; give it the target's mode.
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def _hint(exc: OSError) -> str:
    if isinstance(exc, (FileNotFoundError, NotADirectoryError, PermissionError,
                        IsADirectoryError)):
        return "choose a folder that exists and that you can write to"
    return "free some space or write elsewhere with -o"
