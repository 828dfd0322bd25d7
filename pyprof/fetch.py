"""Profiles given as URLs: fetched over HTTP and saved for offline use.

Every view accepts, in place of a file, the URL of a /debug/pprof endpoint
(``http://host:port/debug/pprof/profile``, or ``host:port/path`` as pprof
allows). As `go tool pprof` does, pyprof

* adds ``/debug/pprof/profile`` when the URL has no path, and
  ``?seconds=N`` when -seconds is given;
* prints ``Fetching profile over HTTP from URL`` on stderr while it waits,
  and ``Please wait... (N)`` when -seconds was given (not for a duration
  that only the URL's ``?seconds=N`` asks for: pprof does the same);
* waits at most -timeout seconds (default: 1.5 times the duration, from
  -seconds or the URL, or 60 s without one), plus 5 s for the transfer;
* saves what it fetched under the first of $PPROF_TMPDIR, $HOME/pprof and
  $TMPDIR (else /tmp) that it can create, as
  ``pprof.<binary>.<sample types>.NNN.pb.gz`` and says so on stderr
  ("Saved profile in PATH"), so the same view can be made offline. A
  folder it cannot use, and a profile it cannot save, are a warning on
  stderr, and the view goes on (as in pprof).

Only the standard library is used (urllib, imported when a URL is given,
so that reading files does not pay for it).
"""

from __future__ import annotations

import errno
import gzip
import os
import re
import tempfile
from typing import Callable
from typing import Optional
from typing import Tuple

from pyprof.errors import ProfileError

CPU_PROFILE_PATH = "/debug/pprof/profile"
DEFAULT_TIMEOUT_S = 60.0
# pprof's HTTP client gives the transfer this much on top of -timeout.
TRANSFER_GRACE_S = 5.0
# The largest response read; a profile server sending more is refused.
MAX_RESPONSE_BYTES = 1 << 30

_HOST_PORT = re.compile(r"[A-Za-z0-9.\-]+:[0-9]+(/.*)?|\[[0-9A-Fa-f:.]+\]:[0-9]+(/.*)?")


def is_url(source: str) -> bool:
    """Whether a view's input argument names a URL rather than a file.

    http:// and https:// always do; ``host:port/path`` does unless a file of
    that name exists (pprof reads ``host:port`` forms as URLs as well).
    """
    lowered = source.lower()
    if lowered.startswith(("http://", "https://")):
        return True
    return bool(_HOST_PORT.fullmatch(source)) and not os.path.exists(source)


def adjust_url(
    source: str, seconds: Optional[int] = None, timeout: Optional[float] = None
) -> Tuple[str, Optional[int], float]:
    """The URL pprof would fetch for source, the duration it asks the server
    for (None when unknown) and the time to wait, in seconds.

    Raises:
        ProfileError: source is not a usable URL.
    """
    import urllib.parse

    text = source if re.match(r"(?i)https?://", source) else "http://" + source
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError as exc:
        raise ProfileError(f"fetching {source}: {exc}",
                           "give a URL such as http://host:port/debug/pprof/profile"
                           ) from None
    if not parts.hostname:
        raise ProfileError(f"fetching {source}: no host in the URL",
                           "give a URL such as http://host:port/debug/pprof/profile")
    path = parts.path if parts.path not in ("", "/") else CPU_PROFILE_PATH
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    duration: Optional[int] = None
    if seconds is not None and seconds > 0:
        query = [(k, v) for k, v in query if k != "seconds"] + [("seconds", str(seconds))]
        duration = seconds
    else:
        given = [v for k, v in query if k == "seconds"]
        if given and re.fullmatch(r"[+-]?[0-9]+", given[0]):
            duration = int(given[0])
    # pprof sorts the query by key when it rebuilds the URL.
    query.sort(key=lambda kv: kv[0])
    url = urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc, path, urllib.parse.urlencode(query), parts.fragment))
    if timeout is None or timeout <= 0:
        timeout = duration * 1.5 if duration and duration > 0 else DEFAULT_TIMEOUT_S
    return url, duration, float(timeout)


def fetch(
    source: str,
    seconds: Optional[int] = None,
    timeout: Optional[float] = None,
    note: Callable[[str], None] = lambda line: None,
) -> Tuple[str, bytes]:
    """The URL fetched and the bytes of the profile source names.

    note receives pprof's progress lines.

    Raises:
        ProfileError: the server cannot be reached, answers with an error
            status, takes too long or sends too much; the message names
            the URL and the cause.
    """
    import urllib.error
    import urllib.request

    url, _, wait = adjust_url(source, seconds, timeout)
    note(f"Fetching profile over HTTP from {url}")
    if seconds is not None and seconds > 0:
        # Only for -seconds: a duration in the URL's query sets the wait alone.
        note(f"Please wait... ({go_duration(seconds)})")
    where = f"fetching {url}"
    request = urllib.request.Request(url, headers={"User-Agent": "pyprof"})
    try:
        with urllib.request.urlopen(request, timeout=wait + TRANSFER_GRACE_S) as resp:
            data = resp.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise ProfileError(f"{where}: {_status_error(exc)}",
                           "check the URL and that the server serves pprof profiles"
                           ) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, OSError) and reason.strerror:
            reason = reason.strerror.lower()
        raise ProfileError(f"{where}: {reason}",
                           "check that the server is running and the address is right"
                           ) from None
    except (OSError, ValueError) as exc:  # timeouts, resets, bad status lines
        cause = "timed out" if "timed out" in str(exc) else str(exc) or type(exc).__name__
        raise ProfileError(f"{where}: {cause}",
                           "raise -timeout, or check that the server is responsive"
                           ) from None
    if len(data) > MAX_RESPONSE_BYTES:
        raise ProfileError(f"{where}: response larger than {MAX_RESPONSE_BYTES} bytes",
                           "the server did not send a profile")
    return url, data


def _status_error(exc) -> str:
    """pprof's wording: the status, and the body when a Go pprof endpoint
    explains the failure in plain text."""
    status = f"server response: {exc.code} {exc.reason}"
    headers = exc.headers or {}
    if headers.get("X-Go-Pprof") and "text/plain" in (headers.get("Content-Type") or ""):
        try:
            body = exc.read(4096).decode("utf-8", "replace").strip()
        except OSError:
            body = ""
        if body:
            status += " - " + " ".join(body.split())
    return status


def go_duration(seconds: int) -> str:
    """A whole number of seconds as Go prints a time.Duration: 45s, 1m30s,
    2h0m0s."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def save_dirs() -> list:
    """The folders a fetched profile may go to, best first: $PPROF_TMPDIR,
    $HOME/pprof (when HOME is set), then $TMPDIR or /tmp, as in pprof."""
    folders = []
    if os.environ.get("PPROF_TMPDIR"):
        folders.append(os.environ["PPROF_TMPDIR"])
    if os.environ.get("HOME"):
        folders.append(os.path.join(os.environ["HOME"], "pprof"))
    folders.append(os.environ.get("TMPDIR") or "/tmp")
    return folders


def make_dirs(folder: str) -> None:
    """Create folder and its missing parents (mode 0755).

    Raises:
        OSError: with the path that stopped it as filename; a file in the
            way is reported as ENOTDIR ("not a directory"), not as
            "file exists".
    """
    missing = []
    path = os.path.abspath(folder)
    while not os.path.lexists(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    if os.path.lexists(path) and not os.path.isdir(path):
        raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            if not os.path.isdir(path):
                raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path) from None
        except OSError as exc:
            exc.filename = path
            raise


def _cause(exc: OSError, op: str) -> str:
    """An OSError in Go's words: "mkdir /x: not a directory"."""
    text = (exc.strerror or str(exc))
    text = text[:1].lower() + text[1:]
    return f"{op} {exc.filename}: {text}" if exc.filename else text


def choose_save_dir(note: Callable[[str], None]) -> str:
    """The first folder of save_dirs() that exists or can be created; each
    one that cannot is a warning line given to note.

    Raises:
        ProfileError: none of them can be used.
    """
    for folder in save_dirs():
        try:
            make_dirs(folder)
        except OSError as exc:
            note(f"Could not use temp dir {folder}: {_cause(exc, 'mkdir')}")
            continue
        return folder
    raise ProfileError("saving the fetched profile: no folder could be created",
                       "set PPROF_TMPDIR to a writable folder")


def saved_prefix(profile) -> str:
    """pprof's name for a saved profile: pprof.<binary>.<type>.<type>..."""
    strings = profile.string_table
    prefix = "pprof."
    if profile.mapping and strings[profile.mapping[0].filename]:
        prefix += os.path.basename(strings[profile.mapping[0].filename]) + "."
    for t in profile.sample_type:
        prefix += strings[t.type] + "."
    return prefix


def save(profile, data: bytes, note: Callable[[str], None] = lambda line: None
         ) -> Optional[str]:
    """Store a fetched profile (gzip'd) under the first free name
    pprof.<...>.NNN.pb.gz in choose_save_dir(), tell note
    "Saved profile in PATH" and return the path.

    The file appears complete or not at all: the bytes are written to a
    temporary file that is then hard-linked to the free name (which fails
    rather than overwrite a file saved meanwhile). When it cannot be
    written, note is told "Could not save profile: CAUSE" and None is
    returned: the profile is still shown, as in pprof.

    Raises:
        ProfileError: no folder can be used at all.
    """
    folder = choose_save_dir(note)
    if data[:2] != b"\x1f\x8b":
        data = gzip.compress(data, mtime=0)
    prefix = saved_prefix(profile)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".pprof.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        for index in range(1, 10000):
            path = os.path.join(folder, f"{prefix}{index:03d}.pb.gz")
            try:
                os.link(tmp, path)
            except FileExistsError:
                continue
            note(f"Saved profile in {path}")
            return path
        note(f"Could not save profile: could not create file of the form "
             f"{prefix}001.pb.gz")
    except OSError as exc:
        if exc.filename is None or tmp is None or exc.filename == tmp:
            exc.filename = os.path.join(folder, f"{prefix}001.pb.gz")
        note(f"Could not save profile: {_cause(exc, 'open')}")
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return None


def mark_symbolized(profile) -> None:
    """Set has_functions on the mappings pprof would count as symbolized.

    For a fetched profile pprof asks the server's symbol endpoint for the
    addresses of each mapping without has_functions; a mapping with no
    address left to resolve needs no request and is marked as having
    functions (visible as [FN] in -raw, and in the saved file).

    Limitation: pyprof does no remote symbolization. Addresses without
    function names stay addresses, where pprof would ask the server (and
    fail when the server has no symbol endpoint); and a profile without
    mappings keeps none in the saved file, where pprof saves its
    placeholder mapping marked [FN].
    """
    strings = profile.string_table
    pending = {loc.mapping_id for loc in profile.location
               if loc.address != 0 and not loc.line}
    for m in profile.mapping:
        name = strings[m.filename]
        unsymbolizable = (name.startswith(("[", "linux-vdso")) or "/dev/dri/" in name)
        if not m.has_functions and not unsymbolizable and m.id not in pending:
            m.has_functions = True
