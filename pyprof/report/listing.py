"""The `list` view: source lines of the functions a regexp names, with the
flat and cum value of each line, as `go tool pprof -list` prints it.

Source files are looked up as pprof does: absolute names as they are,
relative ones under every -source_path folder (the current folder by
default) and each of its parents, after -trim_path prefixes are removed.
Profiles written by pyprof record absolute file names, so their sources
are found wherever the profile is read on the machine that recorded it.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Dict
from typing import List
from typing import Optional
from typing import Tuple

from pyprof import goregexp
from pyprof import graph
from pyprof.report import measure
from pyprof.report.top import _Formatter
from pyprof.report.tree import NoMatchError

MARGIN = 5  # lines shown around the sampled ones when start_line is unknown


@dataclasses.dataclass
class SourceLine:
    number: int
    flat: int
    cum: int
    flat_text: str  # "." for zero
    cum_text: str
    text: str


@dataclasses.dataclass
class Routine:
    function: str
    file: str  # "" when the function has no source information
    flat_text: str
    cum_text: str
    cum_pct: str
    lines: List[SourceLine]
    error: str  # why the source could not be read, or ""


@dataclasses.dataclass
class ListReport:
    total_text: str
    routines: List[Routine]
    notes: List[str]

    def text(self) -> str:
        out = [f"Total: {self.total_text}"]
        for r in self.routines:
            if not r.file:
                out.append(f"No source information for {r.function}")
                continue
            out.append(f"ROUTINE ======================== {r.function} in {r.file}")
            out.append("%10s %10s (flat, cum) %s of Total"
                       % (r.flat_text, r.cum_text, r.cum_pct))
            if r.error:
                out.append(f" Error: {r.error}")
                continue
            out += ["%10s %10s %6d:%s" % (ln.flat_text, ln.cum_text, ln.number, ln.text)
                    for ln in r.lines]
        return "\n".join(out) + "\n"


def list_report(prepared: graph.Prepared, opts: graph.GraphOptions,
                regexp: str) -> ListReport:
    """The -list view for functions whose name matches regexp.

    Raises:
        graph.GraphError: bad options or filters; NoMatchError when the
            regexp names no function.
    """
    try:
        symbol = goregexp.compile(regexp)
    except re.error as exc:
        raise graph.GraphError(f"parsing argument regexp {regexp}: {exc}") from None
    opts = dataclasses.replace(opts, granularity="lines", nodecount=0,
                               nodefraction=0.0, edgefraction=0.0)
    sel = graph.select(prepared, opts)
    _, sample_unit = prepared.sample_types[sel.index]
    fmt = _Formatter(sample_unit, opts.unit)
    nodes = graph.build_graph(sel.profile, opts, sel.index, obj_names=True)

    by_function: Dict[str, List[graph.Node]] = {}
    for n in nodes:
        if symbol.search(n.key[0]):
            by_function.setdefault(n.key[0], []).append(n)
    if not by_function:
        raise NoMatchError(f"no matches found for regexp: {regexp}")

    reader = _SourceReader(opts.source_path or os.getcwd(), opts.trim_path)
    routines = []
    for name in sorted(by_function):
        by_file: Dict[str, List[graph.Node]] = {}
        for n in by_function[name]:
            if n.key[3]:
                by_file.setdefault(n.key[3], []).append(n)
        if not by_file:
            routines.append(Routine(name, "", "", "", "", [], ""))
            continue
        # Files by name, then by the start line of their first node.
        for file in sorted(by_file, key=lambda f: (f, by_file[f][0].key[4])):
            fns = by_file[file]
            flat_sum = sum(n.flat for n in fns)
            cum_sum = sum(n.cum for n in fns)
            lines, error = _source_lines(file, reader, fns, fmt)
            routines.append(Routine(
                name, file, fmt(flat_sum), fmt(cum_sum),
                measure.percentage(cum_sum, sel.total), lines, error,
            ))
    return ListReport(fmt(sel.total), routines, sel.notes)


def _source_lines(file: str, reader: "_SourceReader", fns: List[graph.Node],
                  fmt) -> Tuple[List[SourceLine], str]:
    """The window pprof prints: from the function's start line (or 5 lines
    above the first sampled line) to 5 lines below the last one."""
    first_line, first_start = fns[0].key[5], fns[0].key[4]
    start = first_start if first_start else first_line - MARGIN
    end = first_line + MARGIN
    per_line: Dict[int, List[graph.Node]] = {}
    for n in fns:
        lineno, node_start = n.key[5], n.key[4] or n.key[5] - MARGIN
        # pprof widens the window at one end per node, start first.
        if node_start < start:
            start = node_start
        elif lineno + MARGIN > end:
            end = lineno + MARGIN
        per_line.setdefault(lineno, []).append(n)
    start = max(start, 1)

    rows = []
    for lineno in range(start, end + 1):
        text = reader.line(file, lineno)
        if text is None:
            break
        here = per_line.get(lineno, [])
        flat, cum = sum(n.flat for n in here), sum(n.cum for n in here)
        rows.append(
            SourceLine(lineno, flat, cum, _dot(flat, fmt), _dot(cum, fmt), text)
        )
    error = reader.errors.get(file)
    if error:
        return [], error
    return rows, ""


def _dot(value: int, fmt) -> str:
    return "." if value == 0 else fmt(value)


class _SourceReader:
    """Source files by the name the profile gives, read once each."""

    def __init__(self, search_path: str, trim: str) -> None:
        self.search_path = search_path
        self.trim = trim
        self.files: Dict[str, List[str]] = {}
        self.errors: Dict[str, str] = {}

    def line(self, path: str, lineno: int) -> Optional[str]:
        lines = self.files.get(path)
        if lines is None:
            lines = self.files[path] = self._read(path)
        if lineno <= 0 or lineno > len(lines):
            return None
        return lines[lineno - 1]

    def _read(self, path: str) -> List[str]:
        try:
            data = self._open(path)
        except _NotFound as exc:
            self.errors[path] = str(exc)
            return []
        lines = data.decode("utf-8", "surrogateescape").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]

    def _open(self, path: str) -> bytes:
        path = graph.trim_path(path, self.trim, self.search_path)
        if path.startswith("/"):
            try:
                with open(path, "rb") as f:
                    return f.read()
            except OSError as exc:
                reason = os.strerror(exc.errno) if exc.errno else str(exc)
                raise _NotFound(f"open {path}: {reason[:1].lower()}{reason[1:]}")
        for folder in filter(None, self.search_path.split(":")):
            while True:
                candidate = graph._clean_path(folder + "/" + path)
                try:
                    with open(candidate, "rb") as f:
                        return f.read()
                except OSError:
                    pass
                # Go's filepath.Dir: "/a/b" -> "/a" -> "/" -> "/"; "a" -> ".".
                parent = graph._clean_path(folder[: folder.rfind("/") + 1])
                if parent == folder:
                    break
                folder = parent
        raise _NotFound(f"could not find file {path} on path {self.search_path}")


class _NotFound(Exception):
    pass
