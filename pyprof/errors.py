"""Errors that reach the user as one line on stderr and an exit status.

Every failure pyprof expects (a missing file, a bad option, a profile it
cannot parse) is raised as a PyprofError. The command line prints it as

    pyprof: error: <what pyprof was doing>: <the cause>
    hint: <what to try>

and exits with ``exit_code``; no traceback unless PYPROF_DEBUG is set.
"""

from __future__ import annotations

from typing import Optional


class PyprofError(Exception):
    """An expected failure, reported without a traceback.

    Args:
        message: what pyprof was doing and why it failed, lowercase first,
            e.g. ``"reading p.pb.gz: not a gzip'd pprof profile"``.
        hint: one short line telling the user what to try, or None.
        exit_code: the process status; 1 for runtime failures.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        hint: Optional[str] = None,
        exit_code: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def format(self) -> str:
        """The text printed on stderr, without a trailing newline."""
        text = f"pyprof: error: {self.message}"
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text


class UsageError(PyprofError):
    """The command line was wrong: a missing argument, a value out of range."""

    exit_code = 2


class ProfileError(PyprofError):
    """A profile could not be read, decoded or written."""
