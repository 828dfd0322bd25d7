"""The `raw` view: pprof's debug dump of the merged, filtered profile, as
`go tool pprof -raw` prints it (Go 1.19's layout)."""

from __future__ import annotations

import time
from typing import List

from pyprof import graph


def raw_text(prepared: graph.Prepared, opts: graph.GraphOptions) -> str:
    """The -raw text: header, samples, locations and mappings.

    Raises:
        graph.GraphError: bad options or filters.
    """
    p = graph.select(prepared, opts).profile
    out = ["Comment: " + c for c in p.comments]
    out.append("PeriodType: %s %s" % p.period_type)
    out.append(f"Period: {p.period}")
    if p.time_nanos:
        out.append("Time: " + go_time(p.time_nanos))
    if p.duration_nanos:
        out.append("Duration: " + go_duration(p.duration_nanos)[:4])
    out.append("Samples:")
    out.append(" ".join(
        f"{t}/{u}" + ("[dflt]" if t == p.default_sample_type else "")
        for t, u in p.sample_types
    ))
    for s in p.samples:
        out.append("".join(" %10d" % v for v in s.values) + ": "
                   + "".join(f"{loc.id} " for loc in s.locations))
        if s.labels:
            out.append(" " * 16 + " ".join(sorted(
                f"{k}:[{' '.join(v)}]" for k, v in s.labels.items())))
        if s.num_labels:
            out.append(" " * 16 + " ".join(sorted(
                _num_label(k, v, s.num_units.get(k, []))
                for k, v in s.num_labels.items())))
    out.append("Locations")
    out += [_location(loc) for loc in p.locations]
    out.append("Mappings")
    out += [_mapping(m) for m in p.mappings]
    return "\n".join(out) + "\n"


def _num_label(key: str, values: List[int], units: List[str]) -> str:
    if len(units) == len(values):
        return f"{key}:[" + " ".join(f"{v} {u}" for v, u in zip(values, units)) + "]"
    return f"{key}:[" + " ".join(str(v) for v in values) + "]"


def _location(loc: graph.Location) -> str:
    head = "%6d: %#x " % (loc.id, loc.address)
    if loc.mapping is not None:
        head += f"M={loc.mapping.id} "
    if loc.is_folded:
        head += "[F] "
    if not loc.lines:
        return head
    rows = []
    for fn, line in loc.lines:
        text = f"{fn.name} {fn.filename}:{line} s={fn.start_line}"
        if fn.name != fn.system_name:
            text += f"({fn.system_name})"
        rows.append(head + text)
        head = " " * 13
    return "\n".join(rows)


def _mapping(m: graph.Mapping) -> str:
    bits = "".join(flag for flag, on in (
        ("[FN]", m.has_functions), ("[FL]", m.has_filenames),
        ("[LN]", m.has_line_numbers), ("[IN]", m.has_inline_frames)) if on)
    return "%d: %#x/%#x/%#x %s %s %s" % (m.id, m.start, m.limit, m.offset, m.file,
                                        m.build_id, bits)


def go_time(time_nanos: int) -> str:
    """Go's time.Time.String() in the local zone:
    "2023-11-14 22:13:20.123456789 +0000 UTC" (fraction without trailing
    zeros, none when zero)."""
    seconds, nanos = divmod(time_nanos, 1_000_000_000)
    t = time.localtime(seconds)
    text = time.strftime("%Y-%m-%d %H:%M:%S", t)
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    offset = time.strftime("%z", t)
    zone = t.tm_zone or offset
    return f"{text} {offset} {zone}"


def go_duration(ns: int) -> str:
    """Go's time.Duration.String(): "2.5s", "1m40s", "1.5ms", "0s"."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < 1_000_000_000:
        for limit, prec, unit in ((1_000, 0, "ns"), (1_000_000, 3, "µs"),
                                  (1_000_000_000, 6, "ms")):
            if u < limit:
                return sign + _frac(u, prec) + unit
    text = _frac(u % 60_000_000_000, 9) + "s"
    minutes = u // 60_000_000_000
    if minutes:
        text = f"{minutes % 60}m" + text
        if minutes // 60:
            text = f"{minutes // 60}h" + text
    return sign + text


def _frac(v: int, prec: int) -> str:
    whole, frac = divmod(v, 10 ** prec) if prec else (v, 0)
    digits = f"{frac:0{prec}d}".rstrip("0") if prec else ""
    return f"{whole}." + digits if digits else str(whole)
