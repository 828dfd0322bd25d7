"""The data behind `pyprof web`'s page: each view of one loaded profile as
a JSON-able dict, for the query a page sends.

A query names the sample type (``si``), pprof's filters (``focus``,
``ignore``, ``hide``, ``show``, ``tagfocus``) and the granularity (``g``:
functions, filefunctions, files, lines or addresses); they apply to every
view on top of the options given on the command line. The views are the text
views' own reports (pyprof.report.top, tree, listing), the flame graph's
data (pyprof.flame) and the call graph's SVG (pyprof.report.dot), so the
page shows the numbers `pyprof top` prints.

Every failure the user can cause (a bad regexp, an unknown sample type, a
function regexp that names nothing, Graphviz missing) is raised as a
PyprofError with the command line's message; the server sends it as a 400
(a 503 when the error has http_status 503: Graphviz is missing).
"""

from __future__ import annotations

import os
import threading
from typing import Callable
from typing import Dict
from typing import List
from typing import Mapping
from typing import Optional

from pyprof.errors import PyprofError
from pyprof.errors import UsageError

# Query parameter -> setting of pyprof.commands.top.parse_view_args.
QUERY_SETTINGS = {
    "si": "sample_index",
    "focus": "focus",
    "ignore": "ignore",
    "hide": "hide",
    "show": "show",
    "tagfocus": "tagfocus",
    "g": "granularity",
}
GRANULARITIES = ("functions", "filefunctions", "files", "lines", "addresses")
# The source view shows at most this many functions; a regexp matching more
# (e.g. ".") would make a page of every source file. The rest are counted.
MAX_SOURCE_ROUTINES = 50


class ProfileViews:
    """One loaded (prepared) profile and the views the page asks for.

    Views are made one at a time: the graph code is not written for
    threads, and a second request for a big profile would only halve the
    speed of the first.
    """

    def __init__(self, prepared, settings: dict) -> None:
        self.prepared = prepared
        self.settings = settings
        self._lock = threading.Lock()

    # -- the page's requests ------------------------------------------------

    def meta(self) -> dict:
        """The files and every sample type, with the one shown by default."""
        from pyprof import graph

        types = [{"type": t, "unit": u} for t, u in self.prepared.sample_types]
        try:
            default = graph.select_sample(self.prepared,
                                          self.settings.get("sample_index", ""))
        except graph.GraphError:
            default = graph.select_sample(self.prepared, "")
        return {
            "files": list(self.settings["files"]),
            "sample_types": types,
            "default_index": default,
            "filters": {q: self.settings.get(s, "") or ""
                        for q, s in QUERY_SETTINGS.items() if q not in ("si", "g")},
            "granularities": list(GRANULARITIES),
            "granularity": self.settings.get("granularity") or "functions",
            "views": ["flame", "top", "graph", "source", "peek"],
            "has_flame": _module("pyprof.flame") is not None,
        }

    def top(self, query: Mapping[str, str]) -> dict:
        """Every row of `pyprof top --all` with the query's settings."""
        from pyprof.report.top import top_report

        settings = self._settings(query)

        def make():
            opts = self._graph_options(dict(settings, all=True))
            return top_report(self.prepared, opts,
                              compact_labels=settings["compact_labels"])

        report = self._run(settings, make)
        rows = [
            {"name": r.name, "inline": r.inline, "flat": r.flat, "cum": r.cum,
             "flat_text": r.flat_text, "flat_pct": r.flat_pct.strip(),
             "sum_pct": r.sum_pct.strip(), "cum_text": r.cum_text,
             "cum_pct": r.cum_pct.strip()}
            for r in report.rows
        ]
        return {"summary": self._summary(settings), "header": report.header,
                "rows": rows, "notes": report.notes}

    def flame(self, query: Mapping[str, str]) -> dict:
        """pyprof.flame's tree for the query's settings."""
        flame = _module("pyprof.flame")
        if flame is None:
            raise PyprofError("drawing the flame graph: this pyprof has no "
                              "flame graph module", "update pyprof")
        settings = self._settings(query)
        # The page's header names the files in full; the graph, their names.
        title = " ".join(os.path.basename(f) for f in settings["files"])
        data = self._run(settings, lambda: flame.flame_data(
            self.prepared, self._graph_options(settings), title=title))
        return {"summary": self._summary(settings), "flame": data}

    def graph(self, query: Mapping[str, str]) -> dict:
        """The call graph as SVG text from Graphviz's dot."""
        dot = _module("pyprof.report.dot")
        if dot is None:
            raise PyprofError("drawing the call graph: this pyprof has no "
                              "call graph module", "update pyprof")
        settings = self._settings(query)
        if dot.graphviz_program() is None:
            missing = PyprofError("drawing the call graph: Graphviz's `dot` program "
                                  "is not installed", dot.GRAPHVIZ_HINT)
            missing.http_status = 503  # the server cannot, the request is fine
            raise missing
        svg, notes = self._run(settings, lambda: dot.render_svg_and_notes(
            self.prepared, settings))
        return {"summary": self._summary(settings), "svg": svg, "notes": notes}

    def source(self, query: Mapping[str, str]) -> dict:
        """`pyprof list FN`: the source lines of the functions FN matches."""
        from pyprof.report.listing import list_report

        settings = self._settings(query)
        regexp = _function_regexp(query, "source")
        report = self._run(settings, lambda: list_report(
            self.prepared, self._graph_options(settings), regexp))
        routines = []
        for r in report.routines[:MAX_SOURCE_ROUTINES]:
            routines.append({
                "function": r.function, "file": r.file, "flat_text": r.flat_text,
                "cum_text": r.cum_text, "cum_pct": r.cum_pct.strip(),
                "error": r.error,
                "lines": [{"number": ln.number, "flat": ln.flat, "cum": ln.cum,
                           "flat_text": ln.flat_text, "cum_text": ln.cum_text,
                           "text": ln.text} for ln in r.lines],
            })
        return {"summary": self._summary(settings), "total_text": report.total_text,
                "routines": routines, "more": len(report.routines) - len(routines),
                "notes": report.notes}

    def peek(self, query: Mapping[str, str]) -> dict:
        """`pyprof peek FN`: callers and callees of the functions FN matches."""
        from pyprof.report.tree import tree_report

        settings = self._settings(query)
        regexp = _function_regexp(query, "peek")
        report = self._run(settings, lambda: tree_report(
            self.prepared, self._graph_options(settings, 80), peek=regexp,
            compact_labels=True))

        def edges(rows) -> List[dict]:
            return [{"name": e.name, "weight": e.weight, "text": e.text,
                     "pct": e.pct.strip(), "inline": e.inline} for e in rows]

        blocks = [
            {"name": b.name, "flat_text": b.flat_text, "flat_pct": b.flat_pct.strip(),
             "cum_text": b.cum_text, "cum_pct": b.cum_pct.strip(),
             "callers": edges(b.callers), "callees": edges(b.callees)}
            for b in report.blocks
        ]
        return {"summary": self._summary(settings), "blocks": blocks,
                "text": report.text(), "notes": report.notes}

    # -- shared steps -------------------------------------------------------

    def _settings(self, query: Mapping[str, str]) -> dict:
        """The command line's settings with the query's sample type and
        filters in place of its own."""
        settings = dict(self.settings)
        for param, key in QUERY_SETTINGS.items():
            if param in query:
                settings[key] = query[param]
        if settings.get("granularity", "functions") not in GRANULARITIES:
            raise UsageError(f"showing the profile: unknown granularity "
                             f"{settings['granularity']!r}",
                             "choose one of " + ", ".join(GRANULARITIES))
        if settings.get("sample_index") is None:
            settings["sample_index"] = ""
        return settings

    def _graph_options(self, settings: dict, default_nodecount: int = 0):
        from pyprof.commands import views

        return views.graph_options(settings, default_nodecount)

    def _run(self, settings: dict, make: Callable):
        """make() under the lock, with the cycle collector paused and graph
        errors turned into PyprofErrors, as the text views do."""
        from pyprof.commands import views

        with self._lock, views.gc_paused():
            try:
                return views.report_errors(settings, make)
            except PyprofError as exc:
                if not exc.hint and "regexp" in exc.message:
                    exc.hint = ("filters and function names are regular "
                                "expressions (Go's syntax); escape ( [ . * + ? "
                                "with a backslash to match them as text")
                raise

    def _summary(self, settings: dict) -> dict:
        """The sample type, its unit and the report's total (100%)."""
        from pyprof import graph
        from pyprof.report import measure

        def make():
            opts = self._graph_options(settings)
            index = graph.select_sample(self.prepared, opts.sample_index)
            if opts.relative_percentages:
                total = graph.select(self.prepared, opts).total
            else:
                total = graph.report_total(self.prepared, index, opts.mean)
            return index, total

        index, total = self._run(settings, make)
        sample_type, unit = self.prepared.sample_types[index]
        return {
            "index": index, "type": sample_type, "unit": unit, "total": total,
            "total_text": measure.label(total, unit),
            "filters": {q: settings.get(s) or "" for q, s in QUERY_SETTINGS.items()
                        if q not in ("si", "g") and settings.get(s)},
            "granularity": settings.get("granularity") or "functions",
        }


def _function_regexp(query: Mapping[str, str], view: str) -> str:
    regexp = query.get("fn", "")
    if not regexp:
        raise UsageError(f"{view}: no function regexp given",
                         "type a function name or regexp, or click a row of the "
                         "top table")
    return regexp


_MODULES: Dict[str, Optional[object]] = {}


def _module(name: str):
    """An optional module (the flame graph, the call graph) or None when this
    build does not have it."""
    import importlib

    if name not in _MODULES:
        try:
            _MODULES[name] = importlib.import_module(name)
        except ImportError:
            return None
    return _MODULES[name]
