"""Numbers as pprof prints them: scaled values, percentages, times.

These follow Go 1.19's pprof exactly (unit families, "%.2f" with ".00"
dropped, percentages "%5.2f%%" or "%5.2g%%"), since `pyprof top` output is
compared byte for byte with `go tool pprof`.
"""

from __future__ import annotations

import time
from typing import List
from typing import Optional
from typing import Tuple

# (canonical name, aliases, factor) per family; the first entry of each
# family is its default unit when a value has to be shown in it.
_Unit = Tuple[str, Tuple[str, ...], float]
_FAMILIES: List[Tuple[_Unit, List[_Unit]]] = [
    (
        ("B", ("b", "byte"), 1.0),
        [
            ("B", ("b", "byte"), 1.0),
            ("kB", ("kb", "kbyte", "kilobyte"), float(1 << 10)),
            ("MB", ("mb", "mbyte", "megabyte"), float(1 << 20)),
            ("GB", ("gb", "gbyte", "gigabyte"), float(1 << 30)),
            ("TB", ("tb", "tbyte", "terabyte"), float(1 << 40)),
            ("PB", ("pb", "pbyte", "petabyte"), float(1 << 50)),
        ],
    ),
    (
        ("s", (), 1e9),
        [
            ("ns", ("ns", "nanosecond"), 1.0),
            ("us", ("μs", "us", "microsecond"), 1e3),
            ("ms", ("ms", "millisecond"), 1e6),
            ("s", ("s", "sec", "second"), 1e9),
            ("hrs", ("hour", "hr"), 3.6e12),
        ],
    ),
    (
        ("GCU", (), 1.0),
        [
            ("n*GCU", ("nanogcu",), 1e-9),
            ("u*GCU", ("microgcu",), 1e-6),
            ("m*GCU", ("milligcu",), 1e-3),
            ("GCU", ("gcu",), 1.0),
            ("k*GCU", ("kilogcu",), 1e3),
            ("M*GCU", ("megagcu",), 1e6),
            ("G*GCU", ("gigagcu",), 1e9),
            ("T*GCU", ("teragcu",), 1e12),
            ("P*GCU", ("petagcu",), 1e15),
        ],
    ),
]

# Units without a family that print with no suffix.
_BARE = ("count", "sample", "unit", "minimum", "auto")


def _sniff(units: List[_Unit], name: str) -> Optional[_Unit]:
    name = name.lower()
    if len(name) > 2 and name.endswith("s"):
        name = name[:-1]
    for unit in units:
        if name in unit[1]:
            return unit
    return None


def same_family(a: str, b: str) -> bool:
    """Whether both units are known units of one family (time, bytes...)."""
    return any(_sniff(units, a) is not None and _sniff(units, b) is not None
               for _, units in _FAMILIES)


def scale(value: int, from_unit: str, to_unit: str) -> Tuple[float, str]:
    """value in from_unit expressed in to_unit ("minimum"/"auto": best fit).

    Returns the number and the unit abbreviation to print after it.
    """
    if value < 0:
        number, unit = scale(-value, from_unit, to_unit)
        return -number, unit
    for default, units in _FAMILIES:
        source = _sniff(units, from_unit)
        if source is None:
            continue
        v = float(value) * source[2]
        if to_unit in ("minimum", "auto"):
            best = 0.0
            best_name = ""
            for name, _, factor in units:
                if factor >= best and v / factor >= 1.0:
                    best, best_name = factor, name
            if best:
                return v / best, best_name
            return v / default[2], default[0]
        target = _sniff(units, to_unit) or default
        return v / target[2], target[0]
    if to_unit in _BARE:
        return float(value), ""
    return float(value), to_unit


def scaled_label(value: int, from_unit: str, to_unit: str) -> str:
    """e.g. 1980000000 nanoseconds -> "1.98s"; zero is always "0"."""
    number, unit = scale(value, from_unit, to_unit)
    text = f"{number:.2f}"
    if text.endswith(".00"):
        text = text[:-3]
    if text in ("0", "-0"):
        return "0"
    return text + unit


def label(value: int, unit: str) -> str:
    """value auto-scaled in its own unit family."""
    return scaled_label(value, unit, "auto")


def percentage(value: int, total: int) -> str:
    """|value/total| as pprof prints it: "  100%", "41.95%", "  0.5%"."""
    ratio = abs(value / total) * 100 if total != 0 else 0.0
    if 99.95 <= ratio <= 100.05:
        return "  100%"
    if ratio >= 1.0:
        return f"{ratio:5.2f}%"
    return f"{ratio:5.2g}%"


_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def profile_time(time_nanos: int) -> str:
    """Local time as Go's layout "Jan 2, 2006 at 3:04pm (MST)"."""
    t = time.localtime(time_nanos // 1_000_000_000)
    hour = t.tm_hour % 12 or 12
    ampm = "am" if t.tm_hour < 12 else "pm"
    zone = t.tm_zone or time.strftime("%z", t)
    return (
        f"{_MONTHS[t.tm_mon - 1]} {t.tm_mday}, {t.tm_year} at "
        f"{hour}:{t.tm_min:02d}{ampm} ({zone})"
    )
