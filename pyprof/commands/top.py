"""``pyprof top``: the hottest functions of a profile, as pprof's -top.

``pyprof top [N] [FILE]`` shows the N nodes with the most flat time (10 by
default, like pprof's interactive ``top``; ``--all`` for every node) of FILE
(profile.pb.gz by default). When stdout is not a terminal, or with --text,
stdout is byte for byte what ``go tool pprof -top -nodecount=N FILE`` prints
(``go tool pprof -top FILE`` with --all); on a terminal the same numbers are
drawn as a table.

pprof's own single-dash spellings work too (-cum, -nodecount=5,
-sample_index=samples, -lines ...), so a pprof command line can be reused.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Dict
from typing import List
from typing import Optional
from typing import Tuple

import click

from pyprof.errors import UsageError

DEFAULT_FILE = "profile.pb.gz"
DEFAULT_ROWS = 10
USAGE_HINT = "usage: pyprof top [N] [FILE] [--all] [--cum] [--sample-index=TYPE]"

# Flags without a value: option spelling (after the dashes) -> setting.
_FLAGS: Dict[str, Tuple[str, object]] = {
    "all": ("all", True),
    "text": ("text", True),
    "cum": ("cum_sort", True),
    "flat": ("cum_sort", False),
    "noinlines": ("noinlines", True),
    "functions": ("granularity", "functions"),
    "filefunctions": ("granularity", "filefunctions"),
    "files": ("granularity", "files"),
    "lines": ("granularity", "lines"),
    "addresses": ("granularity", "addresses"),
}
# Options that take a value (-name=value, --name=value or "--name value").
_VALUED = ("sample_index", "nodecount", "nodefraction")


@click.command(
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--help", "show_help", is_flag=True, help="Show this help.")
@click.pass_context
def top(ctx: click.Context, args: Tuple[str, ...], show_help: bool) -> None:
    """Show the N hottest functions of FILE (10 and profile.pb.gz by default).

    \b
    Options (pprof's single-dash spellings work too):
      --all                 every node, like `go tool pprof -top`
      --cum                 sort by cumulative instead of flat time
      --sample-index=TYPE   the value to show (a type name or a number)
      --nodecount=N         same as the N argument
      --nodefraction=F      hide nodes under F of the total (0.005)
      --lines, --files, --filefunctions, --addresses, --noinlines
                            aggregate by line, file... instead of function
      --text                plain text even on a terminal
    """
    if show_help:
        click.echo(ctx.get_help())
        return
    settings = parse_args(args)

    # Imported here so that `pyprof --help` does not load protobuf and rich.
    from pyprof import graph
    from pyprof import pprof
    from pyprof.errors import ProfileError
    from pyprof.report.top import top_report

    path = settings.pop("file")
    as_text = settings.pop("text") or not sys.stdout.isatty()
    show_all = settings.pop("all")
    if show_all:
        settings["nodecount"] = 0
    profile = pprof.load(path)
    try:
        prepared = graph.prepare(profile)
        report = top_report(prepared, graph.GraphOptions(**settings))
    except graph.GraphError as exc:
        if "sample_index" in str(exc):
            raise UsageError(
                f"showing {path}: {exc}",
                "pass --sample-index with one of the types listed",
            ) from None
        raise ProfileError(f"showing {path}: {exc}", None) from None

    if as_text:
        # Bytes, so that names print exactly as pprof prints them whatever
        # the locale's encoding.
        data = report.text().encode("utf-8", "surrogateescape")
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            # The reader (e.g. `head`) has what it wanted; stay quiet.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
    else:
        from pyprof.render import print_top

        print_top(report)


def parse_args(args: Tuple[str, ...]) -> dict:
    """Settings for graph.GraphOptions plus file, all and text.

    Raises:
        UsageError: an unknown option, a bad value, too many arguments.
    """
    settings: dict = {"file": None, "all": False, "text": False}
    positional: List[str] = []
    nodecount: Optional[int] = None
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            positional.extend(args[i:])
            break
        if not arg.startswith("-") or re.fullmatch(r"-[0-9]+", arg):
            positional.append(arg)
            continue
        name, has_value, value = arg.lstrip("-").partition("=")
        name = name.replace("-", "_")
        if name in _FLAGS and not has_value:
            key, setting = _FLAGS[name]
            settings[key] = setting
            continue
        if name not in _VALUED:
            raise UsageError(f"top: unknown option {arg}", USAGE_HINT)
        if not has_value:
            if i >= len(args):
                raise UsageError(f"top: option {arg} needs a value", USAGE_HINT)
            value = args[i]
            i += 1
        if name == "sample_index":
            settings["sample_index"] = value
        elif name == "nodecount":
            nodecount = _positive_int(value, f"--nodecount={value}")
        else:
            settings["nodefraction"] = _fraction(value)

    if len(positional) > 2:
        raise UsageError(
            f"top: too many arguments: {' '.join(positional)}", USAGE_HINT
        )
    count_text: Optional[str] = None
    if len(positional) == 2:
        count_text, settings["file"] = positional
    elif len(positional) == 1:
        if re.fullmatch(r"[+-]?[0-9]+", positional[0]):
            count_text = positional[0]
        else:
            settings["file"] = positional[0]
    if count_text is not None:
        count = _positive_int(count_text, f"N={count_text}")
        if nodecount is not None and nodecount != count:
            raise UsageError(
                f"top: N={count} and --nodecount={nodecount} disagree",
                "give one of them",
            )
        nodecount = count
    settings["nodecount"] = DEFAULT_ROWS if nodecount is None else nodecount
    settings["file"] = settings["file"] or DEFAULT_FILE
    return settings


def _positive_int(text: str, what: str) -> int:
    if not re.fullmatch(r"\+?[0-9]+", text.strip()) or int(text) <= 0:
        raise UsageError(
            f"top: {what} is not a positive integer",
            "give the number of rows, e.g. `pyprof top 20 profile.pb.gz`, "
            "or --all for every row",
        )
    return int(text)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise UsageError(
            f"top: --nodefraction={text} is not a number from 0 to 1",
            "e.g. --nodefraction=0.001 shows nodes down to 0.1% of the total",
        )
    return value
