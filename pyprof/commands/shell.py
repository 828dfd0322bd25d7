"""``pyprof shell [FILE|URL ...] [options]``: pprof's interactive mode.

The profiles are read (or fetched and saved, see pyprof.fetch) once; their
header is printed on stderr and pyprof.shell reads commands at a
``(pprof)`` prompt until quit, exit or the end of input. Options given on
the command line (-cum, -sample_index=alloc_space, -focus=re...) are the
shell's starting values, as with `go tool pprof -cum FILE`.

``pyprof FILE`` and ``pyprof URL`` open the shell too (see pyprof.cli).
"""

from __future__ import annotations

import os
import sys
from typing import List
from typing import Optional
from typing import Tuple

import click

from pyprof.commands.top import DEFAULT_FILE
from pyprof.commands.top import parse_view_args
from pyprof.errors import PyprofError
from pyprof.errors import UsageError

USAGE = "usage: pyprof shell [FILE|URL...] [options]"

# Command-line settings that become the shell's starting options.
_STARTING = ("sample_index", "granularity", "noinlines", "nodecount",
             "nodefraction", "edgefraction", "drop_negative", "focus", "ignore",
             "hide", "show", "show_from", "tagfocus", "tagignore", "tagshow",
             "taghide", "relative_percentages", "mean", "unit", "trim_path",
             "source_path", "trim", "normalize")


@click.command(
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--help", "show_help", is_flag=True, help="Show this help.")
@click.pass_context
def shell(ctx: click.Context, args: Tuple[str, ...], show_help: bool) -> None:
    """Explore FILE (or a profile fetched from URL) at a (pprof) prompt.

    \b
    At the prompt, as in `go tool pprof FILE`:
      top [N] [-cum], topN    the N hottest functions (10 by default)
      tree, peek RE, list RE  callers and callees, source lines
      traces, raw, comments   samples, the whole profile, its comments
      dot, svg, png, web      the call graph: DOT text, images, a browser
      NAME=VALUE              set an option (cum, nodecount=20, focus=re,
                              sample_index=..., unit=ms, lines, ...)
      o, help [NAME], quit    options, help, leave (or Ctrl-D)
    FILE defaults to profile.pb.gz; pprof's options given here (-cum,
    -focus=re, -sample_index=..., see `pyprof tree --help`) are the
    starting values. A URL is fetched once and saved under $PPROF_TMPDIR
    or ~/pprof. History is kept in ~/.pyprof_history ($PYPROF_HISTFILE).
    Regexps are matched by RE2 with `pip install 'pyprof[re2]'`.
    """
    if show_help:
        click.echo(ctx.get_help())
        return
    settings, positional = parse_view_args("shell", args, USAGE)
    settings["files"] = positional or [DEFAULT_FILE]
    run_shell(settings)


def run_shell(settings: dict) -> None:
    """Load the profiles of settings, greet, and run the command loop.

    Raises:
        ProfileError: a profile cannot be read.
    """
    from pyprof import graph
    from pyprof import shell as sh
    from pyprof.commands import views

    with views.gc_paused():
        prepared = views.load(settings)
    sample_types = [t for t, _ in prepared.sample_types]
    config = _starting_config(settings, prepared)

    functions = sorted({fn.name for loc in prepared.locations
                        for fn, _ in loc.lines if fn.name})
    ui = _make_ui(functions, sample_types)
    greeting = _greeting_lines(prepared, config)
    if greeting:  # none when the starting sample_index is unknown, as in pprof
        ui.print("\n".join(greeting))
    ui.print(sh.GREETING)

    def make_report(command: str, regexp: Optional[str], report_settings: dict):
        with views.gc_paused():
            try:
                return _make_report(prepared, command, regexp, report_settings)
            except graph.GraphError as exc:
                raise sh.ShellError(str(exc)) from None

    def check_sample_index(value: str) -> str:
        try:
            return sample_types[graph.select_sample(prepared, value)]
        except graph.GraphError as exc:
            raise sh.ShellError(str(exc)) from None

    sh.Shell(ui, config, sample_types, make_report, check_sample_index).run()


def _starting_config(settings: dict, prepared):
    """The shell's options: pprof's defaults, compact headers (as pprof's
    interactive mode), then what the command line set."""
    from pyprof import graph
    from pyprof import shell as sh

    config = sh.Config()
    config.values["compact_labels"] = True
    for name in _STARTING:
        if name in settings:
            config.values[name] = settings[name]
    if settings.get("cum_sort") is not None:
        config.values["sort"] = "cum" if settings["cum_sort"] else "flat"
    if settings.get("compact_labels"):
        config.values["compact_labels"] = True
    if config["sample_index"]:
        try:
            index = graph.select_sample(prepared, config["sample_index"])
        except graph.GraphError:
            # Kept as given, as pprof does: the header is left out and each
            # report says which types there are, until sample_index is set.
            return config
        config.values["sample_index"] = prepared.sample_types[index][0]
    return config


def _greeting_lines(prepared, config) -> List[str]:
    """The header pprof prints on entry: File, Type, Time, Duration, and a
    note when the chosen value has no samples."""
    from pyprof import graph
    from pyprof.report.top import _Formatter
    from pyprof.report.top import profile_labels

    try:
        index = graph.select_sample(prepared, config["sample_index"])
    except graph.GraphError:
        return []
    sample_type, sample_unit = prepared.sample_types[index]
    if config["mean"]:
        sample_type = "mean_" + sample_type
    total = graph.report_total(prepared, index, config["mean"])
    lines = profile_labels(prepared, sample_type, sample_unit, total,
                           _Formatter(sample_unit, config["unit"]))
    if total == 0 and len(prepared.sample_types) > 1:
        lines.append("No samples were found with the default sample value type.")
        lines.append('Try "sample_index" command to analyze different sample values.')
    return lines


def _make_ui(functions: List[str], sample_types: List[str]):
    import os

    from pyprof import shell as sh

    term = os.environ.get("TERM", "").lower()
    if sys.stdin.isatty() and sys.stdout.isatty() and term not in ("", "dumb"):
        try:
            completer = sh.Completer.for_readline(functions, sample_types)
            return sh.TerminalUI(completer, sh.history_path())
        except ImportError:  # a Python built without readline
            pass
    return sh.PlainUI()


def _make_report(prepared, command: str, regexp: Optional[str], settings: dict
                 ) -> Tuple[str, List[str]]:
    """The text of one report and its notes for stderr.

    Raises:
        graph.GraphError: bad options or filters, or a regexp that
            matches nothing (pprof's message).
    """
    from pyprof.commands import views

    opts = views.graph_options(settings)
    compact = settings["compact_labels"]
    if command in ("top", "text"):
        from pyprof.report.top import top_report

        report = top_report(prepared, opts, compact_labels=compact)
    elif command in ("tree", "peek"):
        from pyprof.report.tree import tree_report

        report = tree_report(prepared, opts, peek=regexp, compact_labels=compact)
    elif command == "list":
        from pyprof.report.listing import list_report

        report = list_report(prepared, opts, regexp)
    elif command == "traces":
        from pyprof.report.traces import traces_report

        report = traces_report(prepared, opts)
    elif command == "raw":
        import dataclasses

        from pyprof.report.raw import raw_text

        opts = dataclasses.replace(opts, granularity="addresses", noinlines=False)
        return raw_text(prepared, opts), []
    elif command == "comments":
        return "".join(c + "\n" for c in prepared.comments), []
    elif command in ("dot", "png", "svg", "web"):
        return _graph(prepared, opts, command)
    else:
        raise AssertionError(f"no report for {command}")
    return report.text(), report.notes


def _graph(prepared, opts, command: str):
    """The call graph: DOT text for dot, else the image Graphviz draws
    (bytes; svg for web), and pprof's notes.

    Raises:
        ShellError: Graphviz is missing or fails.
    """
    from pyprof import shell as sh
    from pyprof.report import dot

    text, notes = dot.dot_report(prepared, opts, for_graphviz=command != "dot")
    if command == "dot":
        return text, notes
    try:
        return dot.run_graphviz(text, "svg" if command == "web" else command), notes
    except PyprofError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        raise sh.ShellError(exc.message + hint) from None


class OpenProfileGroup(click.Group):
    """pyprof's command group: `pyprof FILE` and `pyprof URL` open the shell.

    When the first argument is no command but names a file that exists, a
    URL, or a path (it has a / or a dot: no command does), the whole line
    goes to `pyprof shell`; a mistyped file name then reads as a missing
    file, not as an unknown command. Other words stay unknown commands.
    """

    # A command name that is also a file here (`pyprof top` next to a
    # profile named top): a failure then hints at ./top.
    shadowed: Optional[str] = None

    def resolve_command(self, ctx: click.Context, args: List[str]):
        name = args[0] if args else ""
        if (name and not name.startswith("-") and self.get_command(ctx, name) is None
                and _names_a_profile(name)):
            return "shell", self.get_command(ctx, "shell"), list(args)
        if name and self.get_command(ctx, name) is not None and os.path.isfile(name):
            self.shadowed = name
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            # One "pyprof: error:" prefix, and the commands the word is close
            # to (the same with every click version).
            import difflib

            message = exc.format_message().partition(". Did you mean ")[0].rstrip(".")
            close = difflib.get_close_matches(name, self.list_commands(ctx))
            hint = ("did you mean " + " or ".join(f"'{c}'" for c in close) + "? "
                    if close else "")
            raise UsageError(
                f"{message[:1].lower()}{message[1:]}, and no file of that name",
                hint + "see 'pyprof --help'") from None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PyprofError as exc:
            name = self.shadowed
            if name and DEFAULT_FILE in exc.message:
                exc.hint = (f"`pyprof {name}` ran the {name} command; "
                            f"`pyprof ./{name}` opens the file {name} here")
            raise


def _names_a_profile(word: str) -> bool:
    import os

    from pyprof.fetch import is_url

    return os.path.exists(word) or is_url(word) or "/" in word or "." in word
