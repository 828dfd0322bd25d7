"""Reports drawn for a terminal with rich: same numbers, easier to scan.

Text for pipes and files comes from the report objects themselves
(TopReport.text()); this module only decides how a terminal shows them.
"""

from __future__ import annotations

from typing import Optional

from pyprof.report.top import TopReport


def top_table(report: TopReport):
    """A rich Table of the top rows: numbers right-aligned, names last."""
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for column in report.COLUMNS:
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("name", justify="left", overflow="fold")
    for r in report.rows:
        table.add_row(
            r.flat_text, r.flat_pct.strip(), r.sum_pct.strip(),
            r.cum_text, r.cum_pct.strip(), _escape(r.name) + _inline(r.inline),
        )
    return table


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _inline(label: str) -> str:
    return f" [dim]{label}[/dim]" if label else ""


def print_top(report: TopReport, console: Optional[object] = None) -> None:
    """Header lines, then the table, on console (stdout by default)."""
    from rich.console import Console

    console = console or Console(highlight=False)
    for line in report.header:
        console.print(line, markup=False)
    console.print(top_table(report))
