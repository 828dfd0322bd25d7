"""Profiles given as URLs: fetched over HTTP and saved for offline use.

Every view accepts, in place of a file, the URL of a /debug/pprof endpoint
(``http://host:port/debug/pprof/profile``, or ``host:port/path`` as pprof
allows). As `go tool pprof` does, pyprof

* adds ``/debug/pprof/profile`` when the URL has no path, and
  ``?seconds=N`` when -seconds is given;
* prints ``Fetching profile over HTTP from URL`` (and ``Please wait...``
  when a duration is known) on stderr while it waits;
* waits at most -timeout seconds (default: 1.5 times the duration, or 60 s
  without one), plus 5 s for the transfer;
* saves what it fetched under $PPROF_TMPDIR, else ~/pprof, as
  ``pprof.<binary>.<sample types>.NNN.pb.gz`` and says so on stderr
  ("Saved profile in PATH"), so the same view can be made offline.

Only the standard library is used (urllib, imported when a URL is given,
so that reading files does not pay for it).
"""

from __future__ import annotations

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

    url, duration, wait = adjust_url(source, seconds, timeout)
    note(f"Fetching profile over HTTP from {url}")
    if duration and duration > 0:
        note(f"Please wait... ({duration}s)")
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


def save_dir() -> str:
    """Where fetched profiles go: $PPROF_TMPDIR, else ~/pprof."""
    folder = os.environ.get("PPROF_TMPDIR")
    if not folder:
        folder = os.path.join(os.path.expanduser("~"), "pprof")
    return folder


def saved_prefix(profile) -> str:
    """pprof's name for a saved profile: pprof.<binary>.<type>.<type>..."""
    strings = profile.string_table
    prefix = "pprof."
    if profile.mapping and strings[profile.mapping[0].filename]:
        prefix += os.path.basename(strings[profile.mapping[0].filename]) + "."
    for t in profile.sample_type:
        prefix += strings[t.type] + "."
    return prefix


def save(profile, data: bytes) -> str:
    """Store a fetched profile (gzip'd) in save_dir() under the first free
    name pprof.<...>.NNN.pb.gz and return its path.

    The file appears complete or not at all: the bytes are written to a
    temporary file that is then hard-linked to the free name (which fails
    rather than overwrite a file saved meanwhile).

    Raises:
        ProfileError: the folder cannot be made or written.
    """
    folder = save_dir()
    if data[:2] != b"\x1f\x8b":
        data = gzip.compress(data, mtime=0)
    where = f"saving the fetched profile in {folder}"
    try:
        os.makedirs(folder, mode=0o755, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".pprof.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ProfileError(f"{where}: {exc.strerror or exc}",
                           "set PPROF_TMPDIR to a writable folder") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        prefix = saved_prefix(profile)
        for index in range(1, 10000):
            path = os.path.join(folder, f"{prefix}{index:03d}.pb.gz")
            try:
                os.link(tmp, path)
            except FileExistsError:
                continue
            return path
        raise ProfileError(f"{where}: no free name {prefix}NNN.pb.gz",
                           "remove old profiles from the folder")
    except OSError as exc:
        raise ProfileError(f"{where}: {exc.strerror or exc}",
                           "set PPROF_TMPDIR to a writable folder") from None
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


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
