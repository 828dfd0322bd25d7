"""Reading and writing pprof profiles: gzip'd perftools.profiles.Profile.

load() accepts what `go tool pprof` 1.19 accepts from a protobuf profile
(gzip'd or raw) and rejects what it rejects, with one-line ProfileErrors;
dump() and dumps() write the gzip'd form. The decoded Profile is the
generated protobuf message: string fields are indices into string_table,
and pyprof.graph turns them into names.
"""

from __future__ import annotations

import gzip
import io
import operator
import os
import zlib
from typing import Union

from pyprof._proto import profile_pb2
from pyprof.errors import ProfileError

# Largest decompressed profile load() accepts. A gzip stream expands up to
# about 1000 times, so a small hostile file could otherwise fill memory.
MAX_PROFILE_BYTES = 1 << 30

_GZIP_MAGIC = b"\x1f\x8b"
_HINT_NOT_PROFILE = (
    "pyprof reads pprof profiles (.pb.gz), "
    "e.g. from `pyprof record -o` or Go's runtime/pprof"
)

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]


def load(source: Source, *, max_bytes: int = MAX_PROFILE_BYTES) -> profile_pb2.Profile:
    """Read and check a profile from a file path or from bytes.

    Args:
        source: a path, or the profile's bytes (gzip'd or raw protobuf).
        max_bytes: the largest decompressed size accepted.

    Raises:
        ProfileError: the file cannot be read, or it is not a valid
            profile by the rules of `go tool pprof`; the message starts
            with "reading <path>" (or "reading profile" for bytes).
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        where = "reading profile"
        data = bytes(source)
    else:
        path = os.fspath(source)
        where = f"reading {path}"
        data = _read_file(path, where)
    if not data:
        raise ProfileError(f"{where}: empty input file", _HINT_NOT_PROFILE)
    gzipped = data[:2] == _GZIP_MAGIC
    if gzipped:
        data = _gunzip(data, max_bytes, where)
        if not data:
            raise ProfileError(f"{where}: empty input file", _HINT_NOT_PROFILE)
    elif len(data) > max_bytes:
        raise ProfileError(
            f"{where}: profile is larger than {max_bytes} bytes",
            "pass a larger max_bytes to pyprof.pprof.load if the file is trusted",
        )

    profile = profile_pb2.Profile()
    try:
        profile.ParseFromString(data)
        problem = _check(profile, data)
    except Exception:  # the protobuf runtimes raise different error classes
        problem = _UNRECOGNIZED
    if problem is _UNRECOGNIZED:
        cause = "not a pprof profile" if gzipped else "not a gzip'd pprof profile"
        raise ProfileError(f"{where}: {cause}", _HINT_NOT_PROFILE)
    if problem:
        raise ProfileError(
            f"{where}: {problem}", "the program that wrote this file wrote it wrongly"
        )
    return profile


def dumps(profile: profile_pb2.Profile) -> bytes:
    """The profile serialized and gzip'd, as pprof files are stored."""
    raw = profile.SerializeToString()
    out = io.BytesIO()
    # mtime=0 keeps the bytes reproducible for identical profiles.
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as gz:
        gz.write(raw)
    return out.getvalue()


def dump(profile: profile_pb2.Profile, path: Union[str, "os.PathLike[str]"]) -> None:
    """Write the profile gzip'd to path, all or nothing, by pyprof.outfile's
    rules: a regular file is replaced in one rename (readers never see a
    partial profile, a failure leaves any previous file untouched); a
    device or FIFO (-o /dev/null, -o /dev/stdout) is written directly; a
    symbolic link's target is written.

    Raises:
        ProfileError: the folder is missing or not writable, the disk is full.
    """
    from pyprof import outfile

    outfile.write(path, dumps(profile))


def _read_file(path: str, where: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise ProfileError(
            f"{where}: no such file",
            "record one with `pyprof record -o profile.pb.gz -- python app.py`",
        ) from None
    except OSError as exc:
        raise ProfileError(f"{where}: {_reason(exc)}", None) from None


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def _gunzip(data: bytes, max_bytes: int, where: str) -> bytes:
    """Decompress every gzip member of data, refusing more than max_bytes."""
    out = bytearray()
    rest = data
    while rest:
        if rest[:2] != _GZIP_MAGIC:
            raise _gzip_error(where, "invalid header after the first gzip member")
        member = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pending = rest
        try:
            while pending and not member.eof:
                out += member.decompress(pending, max_bytes + 1 - len(out))
                if len(out) > max_bytes:
                    raise ProfileError(
                        f"{where}: decompressed profile is larger than "
                        f"{max_bytes} bytes",
                        "this is not a profile pyprof wrote; "
                        "pass a larger max_bytes to pyprof.pprof.load if trusted",
                    )
                pending = member.unconsumed_tail
        except zlib.error as exc:
            raise _gzip_error(where, str(exc)) from None
        if not member.eof:
            raise _gzip_error(where, "unexpected end of file")
        rest = member.unused_data
    return bytes(out)


def _gzip_error(where: str, cause: str) -> ProfileError:
    return ProfileError(
        f"{where}: decompressing profile: {cause}",
        "the file is truncated or corrupt; copy it again from its source",
    )


# _check() returns this when Go 1.19 would not recognize the data as a
# protobuf profile at all (as opposed to a recognized but malformed one).
_UNRECOGNIZED = object()


def _check(p: profile_pb2.Profile, data: bytes):
    """What Go 1.19's reader finds wrong with p: None when nothing,
    _UNRECOGNIZED when it would not take data for a protobuf profile at all,
    else the message it gives (without the "reading X: " prefix)."""
    strings = p.string_table
    if len(strings) == 0 or strings[0] != "":
        return _UNRECOGNIZED
    n = len(strings)

    def bad(*indices: int) -> bool:
        return any(i < 0 or i >= n for i in indices)

    # Go resolves these indices while decoding; one out of range means the
    # data is not taken for a protobuf profile.
    if bad(p.drop_frames, p.keep_frames, p.default_sample_type, *p.comment):
        return _UNRECOGNIZED
    if bad(p.period_type.type, p.period_type.unit):
        return _UNRECOGNIZED
    for vt in p.sample_type:
        if bad(vt.type, vt.unit):
            return _UNRECOGNIZED
    for items, fields in ((p.mapping, ("filename", "build_id")),
                          (p.function, ("name", "system_name", "filename"))):
        for field in fields:
            # One list per field: far faster than a test per item when
            # there are tens of thousands of functions.
            indices = list(map(operator.attrgetter(field), items))
            if indices and bad(min(indices), max(indices)):
                return _UNRECOGNIZED
    # One pass over the samples: label indices (not a profile at all) and
    # the per-sample checks, whose failure is reported only after the
    # checks Go makes before them.
    types = len(p.sample_type)
    location_ids = {loc.id for loc in p.location}
    known = location_ids.issuperset
    sample_problem = None
    for s in p.sample:
        if s.label:
            for lb in s.label:
                if bad(lb.key) or (lb.str and bad(lb.str)):
                    return _UNRECOGNIZED
                if not lb.str and lb.num_unit and bad(lb.num_unit):
                    return _UNRECOGNIZED
        if sample_problem is None:
            if len(s.value) != types:
                sample_problem = (
                    f"malformed profile: mismatch: sample has {len(s.value)} "
                    f"values vs. {types} types"
                )
            elif not known(s.location_id):
                sample_problem = "malformed profile: sample has nil location"
    if p.time_nanos and _has_two_times(data):
        return "concatenated profiles detected"

    # The structural checks, in the order Go makes them.
    if types == 0 and len(p.sample):
        return "malformed profile: missing sample type information"
    if sample_problem is not None:
        return sample_problem
    for kind, items, id_name in (
        ("mapping", p.mapping, "ID"),
        ("function", p.function, "ID"),
        ("location", p.location, "id"),
    ):
        ids = [item.id for item in items]
        seen = set(ids)
        if 0 in seen or len(seen) != len(ids):
            seen = set()
            for item_id in ids:
                if item_id == 0:
                    return f"malformed profile: found {kind} with reserved {id_name}=0"
                if item_id in seen:
                    return f"malformed profile: multiple {kind}s with same id: {item_id}"
                seen.add(item_id)
        if kind == "function":
            function_ids = seen
    used = {line.function_id for loc in p.location for line in loc.line}
    if used <= function_ids:  # function ids are never 0 by now
        return None
    for loc in p.location:
        for line in loc.line:
            if line.function_id not in function_ids:
                return (
                    f"malformed profile: location id: {loc.id} has a line "
                    "with nil function"
                )
    return None


def _has_two_times(data: bytes) -> bool:
    """Whether the top level of data sets time_nanos twice, the first time
    to a non-zero value: the sign of two profiles concatenated."""
    pos, end, seen_nonzero = 0, len(data), False
    while pos < end:
        # Keys and lengths below 128 take one byte: read those inline, the
        # loop runs once per sample, location, function and string.
        key = data[pos]
        pos += 1
        if key >= 0x80:
            key, pos = _varint(data, pos - 1)
        wire = key & 7
        if wire == 2:
            size = data[pos]
            pos += 1
            if size >= 0x80:
                size, pos = _varint(data, pos - 1)
            pos += size
        elif wire == 0:
            value, pos = _varint(data, pos)
            if key >> 3 == 9:
                if seen_nonzero:
                    return True
                seen_nonzero = value != 0
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            return False
    return False


def _varint(data: bytes, pos: int):
    value = shift = 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7
