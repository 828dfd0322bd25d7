"""``pyprof flame``: a profile's flame graph as one HTML file or an SVG.

``pyprof flame [FILE|URL ...] [-o flame.html]`` writes a self-contained page
(script, style and data inlined; it opens from disk with no network) with
the interactive graph of pyprof/web/static/flame.js; ``-o NAME.svg`` writes a
static SVG instead. Every view option works (filters, -sample_index,
granularity, -base ...), as in `pyprof top`.
"""

from __future__ import annotations

import os
import re
from typing import List
from typing import Tuple

import click

from pyprof import outfile
from pyprof.commands.top import DEFAULT_FILE
from pyprof.commands.top import parse_view_args
from pyprof.commands.views import OPTIONS_HELP
from pyprof.errors import UsageError

DEFAULT_OUTPUT = "flame.html"
USAGE = ("usage: pyprof flame [FILE|URL...] [-o flame.html|NAME.svg] "
         "[--orientation=icicle|flame] [view options]")


@click.command(
    name="flame",
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
    help="""Write the flame graph of FILE (profile.pb.gz by default) to
-o OUTPUT: flame.html (an interactive page, everything inlined, no network
needed) unless OUTPUT ends in .svg (a static picture).

\b
Own options:
  -o, --output=FILE        .html/.htm (default flame.html) or .svg
  --orientation=icicle     the root at the top (default); =flame: at the bottom
  --max-nodes=N            fold the smallest frames past N nodes (100000;
                           0: never)
""" + OPTIONS_HELP,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--help", "show_help", is_flag=True, help="Show this help.")
@click.pass_context
def flame(ctx: click.Context, args: Tuple[str, ...], show_help: bool) -> None:
    if show_help:
        click.echo(ctx.get_help())
        return
    own, rest = _own_options(args)
    settings, positional = parse_view_args("flame", tuple(rest), USAGE)
    settings["files"] = positional or [DEFAULT_FILE]
    output = own["output"]
    _check_output(output)
    outfile.refuse_inputs("flame", output, settings["files"] + settings["base"]
                          + settings["diff_base"])

    from pyprof import flame as flame_module
    from pyprof.commands import views

    with views.gc_paused():
        prepared = views.load(settings)
        opts = views.graph_options(settings)
        title = " ".join(os.path.basename(f.rstrip("/")) or f
                         for f in settings["files"])

        icicle = own["orientation"] == "icicle"
        if output.lower().endswith(".svg"):
            data = views.report_errors(settings, lambda: flame_module.flame_data(
                prepared, opts, title=title, max_nodes=own["max_nodes"]))
            views.print_notes(data["notes"])
            text = flame_module.render_svg(data, icicle=icicle)
        else:
            # Every sample type, so that the page can switch offline.
            datasets, selected = views.report_errors(
                settings, lambda: flame_module.flame_datasets(
                    prepared, opts, title=title, max_nodes=own["max_nodes"]))
            data = datasets[selected]
            views.print_notes(data["notes"])
            text = flame_module.render_html(datasets, selected=selected,
                                            icicle=icicle, title=title)
    outfile.write(output, text.encode("utf-8", "surrogateescape"))
    folded = data["folded"]["nodes"]
    click.echo(
        f"pyprof: wrote {output}: {data['nodes']} "
        f"frame{'' if data['nodes'] == 1 else 's'}, "
        f"{data['sample_type'] or 'value'} total "
        f"{flame_module.value_label(data['total'], data['unit'])}"
        + (f" ({folded} small frames folded)" if folded else ""),
        err=True,
    )


def _own_options(args: Tuple[str, ...]) -> Tuple[dict, List[str]]:
    """-o/--output, --orientation and --max-nodes; the other arguments are
    the view's (parse_view_args)."""
    own = {"output": DEFAULT_OUTPUT, "orientation": "icicle", "max_nodes": None}
    rest: List[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            rest.extend(args[i - 1:])
            break
        found = re.fullmatch(r"(-o|--?output|--?orientation|--?max[-_]nodes)(=(.*))?",
                             arg, re.S)
        if not found:
            rest.append(arg)
            continue
        name = found.group(1).lstrip("-").replace("_", "-")
        value = found.group(3)
        if value is None:
            if i >= len(args):
                raise UsageError(f"flame: option {arg} needs a value", USAGE)
            value = args[i]
            i += 1
        if name in ("o", "output"):
            own["output"] = value
        elif name == "orientation":
            if value not in ("icicle", "flame"):
                raise UsageError(f"flame: --orientation={value} is not icicle or flame",
                                 USAGE)
            own["orientation"] = value
        else:
            if not re.fullmatch(r"\+?[0-9]+", value.strip()):
                raise UsageError(f"flame: --max-nodes={value} is not a whole number",
                                 "e.g. --max-nodes=20000; 0 never folds")
            own["max_nodes"] = int(value)
    if own["max_nodes"] is None:
        from pyprof.flame import DEFAULT_MAX_NODES

        own["max_nodes"] = DEFAULT_MAX_NODES
    return own, rest


def _check_output(output: str) -> None:
    """Fail before any work when the output cannot be written. A device or
    FIFO (-o /dev/stdout) without an extension gets the HTML page."""
    if not output.lower().endswith((".html", ".htm", ".svg")) and \
            not outfile.is_special(output):
        raise UsageError(f"flame: cannot tell the format of -o {output}",
                         "give a name ending in .html (interactive page) or .svg")
    outfile.check("flame", output, "flame.html")
