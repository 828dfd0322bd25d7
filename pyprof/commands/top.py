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

import dataclasses
import os
import re
from typing import Dict
from typing import List
from typing import Optional
from typing import Tuple

import click

from pyprof.errors import UsageError

DEFAULT_FILE = "profile.pb.gz"
DEFAULT_ROWS = 10
USAGE_HINT = "usage: pyprof top [N] [FILE...] [--all] [--cum] [--sample-index=TYPE]"

# Flags without a value: option spelling (after the dashes) -> setting.
# Shared by every view command (pyprof.commands.views).
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
    "mean": ("mean", True),
    "relative_percentages": ("relative_percentages", True),
    "drop_negative": ("drop_negative", True),
    "compact_labels": ("compact_labels", True),
    "normalize": ("normalize", True),
    "trim": ("trim", True),
}
# pprof's old spellings of -sample_index (and -mean_delay, which adds -mean).
_LEGACY_INDEX = {
    "inuse_space": "inuse_space", "inuse_objects": "inuse_objects",
    "alloc_space": "alloc_space", "alloc_objects": "alloc_objects",
    "total_delay": "delay", "contentions": "contentions", "mean_delay": "delay",
}
# Options that take a value (-name=value, --name=value or "--name value").
_VALUED = ("sample_index", "nodecount", "nodefraction", "edgefraction", "focus",
           "ignore", "hide", "show", "show_from", "tagfocus", "tagignore",
           "tagshow", "taghide", "unit", "base", "diff_base", "source_path",
           "trim_path", "seconds", "timeout")
_FRACTIONS = ("nodefraction", "edgefraction")
_LISTS = ("base", "diff_base")  # may be given several times
_TRUE = ("1", "t", "T", "true", "TRUE", "True")
_FALSE = ("0", "f", "F", "false", "FALSE", "False")


@click.command(
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--help", "show_help", is_flag=True, help="Show this help.")
@click.pass_context
def top(ctx: click.Context, args: Tuple[str, ...], show_help: bool) -> None:
    """Show the N hottest functions of FILE (10, profile.pb.gz by default).

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
    FILE may be a URL (http://host:port/debug/pprof/profile); -seconds=N
    asks for N seconds, -timeout=N waits at most N seconds, and the fetched
    profile is saved under $PPROF_TMPDIR or ~/pprof.
    Several FILEs are merged. pprof's filters and other options (--focus,
    --ignore, --hide, --show, --tagfocus, --mean, --unit, --base, ...) work
    as described in `pyprof tree --help`.
    """
    if show_help:
        click.echo(ctx.get_help())
        return
    settings = parse_top_args(args)

    # Imported here so that `pyprof --help` does not load protobuf and rich.
    from pyprof.commands import views
    from pyprof.report.top import top_report

    with views.gc_paused():
        opts = views.graph_options(settings)
        prepared, trimmed = views.load_for_top(settings, opts)
        report = views.report_errors(settings, lambda: top_report(
            prepared, opts, compact_labels=settings["compact_labels"],
            trimmed=trimmed))
        views.print_notes(report.notes)
        if views.wants_text(settings):
            views.write_text(report.text())
        else:
            from pyprof.render import print_top

            print_top(report)


def parse_args(args: Tuple[str, ...]) -> dict:
    """Settings for graph.GraphOptions plus file (the first file), all and
    text.

    Raises:
        UsageError: an unknown option or a bad value.
    """
    from pyprof.graph import GraphOptions

    settings = parse_top_args(args)
    wanted = {f.name for f in dataclasses.fields(GraphOptions)}
    wanted |= {"file", "all", "text"}
    return {k: v for k, v in settings.items() if k in wanted}


def parse_top_args(args: Tuple[str, ...]) -> dict:
    """parse_args' settings plus the other view settings of parse_view_args
    (compact_labels, trim, base, diff_base, normalize) and files (several
    are merged as pprof merges them).

    Raises:
        UsageError: an unknown option or a bad value.
    """
    settings, positional = parse_view_args("top", args, USAGE_HINT)
    nodecount = settings.pop("nodecount", None)
    # [N] FILE...: a leading argument that starts like a number (and is not
    # a file) is the row count.
    count_text: Optional[str] = None
    first = positional[0] if positional else ""
    if re.match(r"[+-]?[0-9]", first) and (
        re.fullmatch(r"[+-]?[0-9]+", first)
        or not (os.path.exists(first) or _looks_like_url(first))
    ):
        count_text = positional.pop(0)
    settings["files"] = positional or [DEFAULT_FILE]
    settings["file"] = settings["files"][0]
    if count_text is not None:
        count = _positive_int(count_text, f"N={count_text}", "top")
        if nodecount is not None and nodecount != count:
            raise UsageError(
                f"top: N={count} and --nodecount={nodecount} disagree",
                "give one of them",
            )
        nodecount = count
    settings["nodecount"] = DEFAULT_ROWS if nodecount is None else nodecount
    return settings


def parse_view_args(
    command: str, args: Tuple[str, ...], usage: str
) -> Tuple[dict, List[str]]:
    """pprof's options, in its single-dash spelling or as --long-options,
    and the positional arguments, for every view command.

    Returns the settings (graph.GraphOptions fields, plus text, all,
    compact_labels, trim, base, diff_base and normalize; nodecount only
    when given) and the positional arguments in order.

    Raises:
        UsageError: an unknown option or a bad value.
    """
    settings: dict = {"all": False, "text": False, "compact_labels": False,
                      "trim": True, "normalize": False, "base": [], "diff_base": []}
    positional: List[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            positional.extend(args[i:])
            break
        if not arg.startswith("-") or re.fullmatch(r"-[0-9]+", arg) or arg == "-":
            positional.append(arg)
            continue
        name, has_value, value = arg.lstrip("-").partition("=")
        name = name.replace("-", "_")
        if name in _LEGACY_INDEX and not has_value:
            settings["sample_index"] = _LEGACY_INDEX[name]
            if name == "mean_delay":
                settings["mean"] = True
            continue
        if name in _FLAGS:
            key, setting = _FLAGS[name]
            if has_value and isinstance(setting, bool):
                if value not in _TRUE + _FALSE:
                    raise UsageError(
                        f"{command}: invalid boolean value {value!r} for {arg}", usage)
                setting = value in _TRUE
            elif has_value:
                raise UsageError(f"{command}: option -{name} takes no value", usage)
            settings[key] = setting
            continue
        if name not in _VALUED:
            raise UsageError(f"{command}: unknown option {arg}", usage)
        if not has_value:
            if i >= len(args):
                raise UsageError(f"{command}: option {arg} needs a value", usage)
            value = args[i]
            i += 1
        if name == "nodecount":
            settings["nodecount"] = _count(value, command)
        elif name in ("seconds", "timeout"):
            settings[name] = _seconds(value, name, command)
        elif name in _FRACTIONS:
            settings[name] = _fraction(value, name, command)
        elif name in _LISTS:
            settings[name].append(value)
        else:
            settings[name] = value
    if settings["base"] and settings["diff_base"]:
        raise UsageError(f"{command}: -base and -diff_base cannot both be given",
                         "use -diff_base for percentages of the base")
    return settings, positional


def _looks_like_url(text: str) -> bool:
    from pyprof.fetch import is_url

    return is_url(text)


def _count(text: str, command: str) -> int:
    if not re.fullmatch(r"\+?[0-9]+", text.strip()):
        raise UsageError(
            f"{command}: --nodecount={text} is not a whole number",
            "e.g. --nodecount=20; 0 means no limit",
        )
    return int(text)


def _seconds(text: str, name: str, command: str) -> int:
    if not re.fullmatch(r"\+?[0-9]+", text.strip()):
        raise UsageError(
            f"{command}: -{name}={text} is not a whole number of seconds",
            "e.g. -seconds=30 to profile for 30 s when reading a URL",
        )
    return int(text)


def _positive_int(text: str, what: str, command: str = "top") -> int:
    if not re.fullmatch(r"\+?[0-9]+", text.strip()) or int(text) <= 0:
        raise UsageError(
            f"{command}: {what} is not a positive integer",
            "give the number of rows, e.g. `pyprof top 20 profile.pb.gz`, "
            "or --all for every row",
        )
    return int(text)


def _fraction(text: str, name: str = "nodefraction", command: str = "top") -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise UsageError(
            f"{command}: --{name}={text} is not a number from 0 to 1",
            "e.g. --nodefraction=0.001 shows nodes down to 0.1% of the total",
        )
    return value
