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


def _console(console):
    from rich.console import Console

    return console or Console(highlight=False)


def print_tree(report, console: Optional[object] = None) -> None:
    """The tree (or peek) view as one table: each node in bold with its
    callers above and its callees below, indented and dimmed."""
    from rich.table import Table

    console = _console(console)
    for line in report.header:
        console.print(line, markup=False)
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for column in ("flat", "flat%", "sum%", "cum", "cum%", "calls", "calls%"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("function, with its callers (↑) and callees (↓)",
                     justify="left", overflow="fold")
    for i, b in enumerate(report.blocks):
        if i:
            table.add_row(end_section=False)
        for e in b.callers:
            table.add_row("", "", "", "", "", e.text, e.pct.strip(),
                          f"[dim]  ↑ {_escape(e.name)}[/dim]" + _inline_edge(e))
        table.add_row(b.flat_text, b.flat_pct.strip(), b.sum_pct.strip(),
                      b.cum_text, b.cum_pct.strip(), "", "",
                      f"[bold]{_escape(b.name)}[/bold]")
        for e in b.callees:
            table.add_row("", "", "", "", "", e.text, e.pct.strip(),
                          f"[dim]  ↓ {_escape(e.name)}[/dim]" + _inline_edge(e))
    console.print(table)


def _inline_edge(edge) -> str:
    return " [dim](inline)[/dim]" if edge.inline else ""


def print_traces(report, console: Optional[object] = None) -> None:
    """Each sample's stack under a rule, its value on the leaf frame."""
    console = _console(console)
    for line in report.header:
        console.print(line, markup=False)
    for t in report.traces:
        console.rule(style="dim")
        for label in t.labels:
            console.print(f"[cyan]{_escape(label)}[/cyan]")
        for i, (name, inline) in enumerate(t.frames):
            value = f"[bold]{t.value_text:>10}[/bold]" if i == 0 else " " * 10
            mark = " [dim](inline)[/dim]" if inline else ""
            console.print(f"{value}   {_escape(name)}{mark}")
    console.rule(style="dim")


def print_list(report, console: Optional[object] = None) -> None:
    """Source listings: line numbers, values, and the hot lines in colour."""
    from rich.table import Table

    console = _console(console)
    console.print(f"Total: {report.total_text}", markup=False)
    for r in report.routines:
        if not r.file:
            console.print(f"No source information for {r.function}", markup=False)
            continue
        console.print()
        console.print(f"[bold]{_escape(r.function)}[/bold] in {_escape(r.file)}")
        console.print(f"{r.flat_text} flat, {r.cum_text} cum ({r.cum_pct.strip()} "
                      "of total)", markup=False)
        if r.error:
            console.print(f"[red]error:[/red] {_escape(r.error)}")
            continue
        table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
        for column in ("flat", "cum", "line"):
            table.add_column(column, justify="right", no_wrap=True)
        table.add_column("source", justify="left", no_wrap=True, overflow="ellipsis")
        for ln in r.lines:
            style = "bold red" if ln.flat else ("yellow" if ln.cum else "")
            source = _escape(ln.text.expandtabs(8))
            table.add_row(ln.flat_text, ln.cum_text, str(ln.number),
                          f"[{style}]{source}[/{style}]" if style else source)
        console.print(table)
