"""``pyprof dot``, ``svg`` and ``png``: the call graph of a profile.

``pyprof dot [FILE|URL ...] [-o out.dot]`` writes the DOT text that
``go tool pprof -dot`` writes for the same files and options, byte for
byte (on stdout without -o). ``pyprof svg`` and ``pyprof png`` lay that
text out with Graphviz's ``dot`` program (-Tsvg, -Tpng); without Graphviz
they say so and write nothing.

The view options are those of every pyprof view (see ``pyprof tree
--help``), with pprof's defaults for graphs: at most 80 nodes, nodes under
0.5% and edges under 0.1% of the total left out. ``--call-tree`` (pprof's
-call_tree) draws a tree: a function called along two paths gets a node
for each.
"""

from __future__ import annotations

import os
import sys
from typing import List
from typing import Optional
from typing import Tuple

import click

from pyprof import outfile
from pyprof.commands.top import DEFAULT_FILE
from pyprof.commands.top import parse_view_args
from pyprof.commands.views import OPTIONS_HELP
from pyprof.errors import PyprofError
from pyprof.errors import UsageError

_TRUE = ("1", "t", "T", "true", "TRUE", "True")
_FALSE = ("0", "f", "F", "false", "FALSE", "False")

GRAPH_HELP = """
\b
Call graph options:
  -o FILE, --output=FILE   write to FILE (stdout when not given)
  --call-tree              a tree: one node per distinct path of callers
Graphs show at most 80 nodes unless --nodecount says otherwise.
"""


def graph_command(name: str, fmt: Optional[str], summary: str):
    """A click command writing the call graph as DOT text (fmt None) or
    laid out by Graphviz in format fmt ("svg", "png")."""

    @click.command(
        name=name,
        context_settings={"ignore_unknown_options": True, "help_option_names": []},
        add_help_option=False,
        help=summary + "\n" + GRAPH_HELP + OPTIONS_HELP,
    )
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    @click.option("--help", "show_help", is_flag=True, help="Show this help.")
    @click.pass_context
    def command(ctx: click.Context, args: Tuple[str, ...], show_help: bool) -> None:
        if show_help:
            click.echo(ctx.get_help())
            return
        usage = f"usage: pyprof {name} [FILE...] [-o FILE] [options]"
        rest, output, call_tree = split_graph_options(name, args, usage)
        settings, positional = parse_view_args(name, rest, usage)
        settings["files"] = positional or [DEFAULT_FILE]
        settings["call_tree"] = call_tree
        run(name, fmt, settings, output)

    return command


def split_graph_options(command: str, args: Tuple[str, ...],
                        usage: str) -> Tuple[List[str], Optional[str], bool]:
    """args without the output and call-tree options, the output file
    (None for stdout) and whether to draw a tree.

    Raises:
        UsageError: an option without its value, a bad boolean.
    """
    rest: List[str] = []
    output: Optional[str] = None
    call_tree = False
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            rest += args[i - 1:]
            break
        name, has_value, value = arg.partition("=")
        if name in ("-o", "--output", "-output"):
            if not has_value:
                if i >= len(args):
                    raise UsageError(f"{command}: option {arg} needs a file name",
                                     usage)
                value = args[i]
                i += 1
            if not value:
                raise UsageError(f"{command}: option {name} needs a file name", usage)
            output = value
        elif name.lstrip("-").replace("-", "_") == "call_tree" and name.startswith("-"):
            if has_value and value not in _TRUE + _FALSE:
                raise UsageError(
                    f"{command}: invalid boolean value {value!r} for {name}", usage)
            call_tree = not has_value or value in _TRUE
        else:
            rest.append(arg)
    return rest, output, call_tree


def run(name: str, fmt: Optional[str], settings: dict, output: Optional[str]) -> None:
    """Load, draw and write; every expected failure is a PyprofError."""
    from pyprof.commands import views
    from pyprof.report import dot

    if output is not None:
        outfile.check(name, output, f"graph.{fmt or 'dot'}")
        outfile.refuse_inputs(name, output, settings["files"] + settings["base"]
                              + settings["diff_base"])
    elif fmt == "png" and sys.stdout.isatty():
        raise UsageError(f"{name}: a PNG image is not for a terminal",
                         f"write it to a file: pyprof {name} -o graph.png")
    if fmt is not None and dot.graphviz_program() is None:
        raise PyprofError(f"{name}: drawing the call graph needs Graphviz's `dot` "
                          "program, which is not installed", dot.GRAPHVIZ_HINT)

    with views.gc_paused():
        prepared = views.load(settings)
        opts = views.graph_options(settings, default_nodecount=dot.DEFAULT_NODECOUNT)
        text, notes = views.report_errors(
            settings, lambda: dot.dot_report(prepared, opts, settings["call_tree"],
                                             for_graphviz=fmt is not None))
    views.print_notes(notes)
    data = text.encode("utf-8", "surrogateescape")
    if fmt is not None:
        data = dot.run_graphviz(text, fmt)
    if output is None:
        _write_stdout(data)
        return
    outfile.write(output, data)
    click.echo(f"pyprof: wrote {output}", err=True)


def _write_stdout(data: bytes) -> None:
    """data on stdout; a closed pipe ends quietly."""
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


dot = graph_command("dot", None, "Write the call graph as Graphviz DOT text "
                    "(pprof -dot).")
svg = graph_command("svg", "svg", "Draw the call graph as an SVG image with "
                    "Graphviz (pprof -svg).")
png = graph_command("png", "png", "Draw the call graph as a PNG image with "
                    "Graphviz (pprof -png).")
