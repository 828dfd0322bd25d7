"""``pyprof tree``, ``traces``, ``peek``, ``raw`` and ``list``: pprof's other
text views, and the loading and option handling every view shares.

Each command reads FILE... (profile.pb.gz by default; several files are
merged as pprof merges them) and takes pprof's options in either spelling
(-focus=re or --focus=re). When stdout is not a terminal, or with --text,
stdout is byte for byte what ``go tool pprof -tree`` (-traces, -peek RE,
-raw, -list RE) prints for the same files and options; on a terminal the
same content is drawn with rich.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from typing import Callable
from typing import List
from typing import Tuple

import click

from pyprof.commands.top import DEFAULT_FILE
from pyprof.commands.top import parse_view_args
from pyprof.errors import ProfileError
from pyprof.errors import PyprofError
from pyprof.errors import UsageError

# Options every view accepts, for the commands' --help.
OPTIONS_HELP = """
\b
Options (pprof's single-dash spellings work too, e.g. -focus=re):
  --text                   plain text (pprof's) even on a terminal
  --sample-index=TYPE      the value to show (a type name or a number)
  --mean                   divide each value by the first one (mean_TYPE)
  --cum / --flat           sort by cumulative or flat value
  --functions, --filefunctions, --files, --lines, --addresses, --noinlines
  --focus=RE, --ignore=RE  keep samples with a frame matching / none matching
  --hide=RE, --show=RE     drop frames matching / not matching
  --show-from=RE           cut stacks above the outermost matching frame
  --tagfocus=F, --tagignore=F   samples by label: key=regexp, or a numeric
                           range such as 1kb:64kb
  --tagshow=RE, --taghide=RE    label keys shown in traces and raw
  --nodecount=N, --nodefraction=F, --edgefraction=F, --trim=false
  --relative-percentages   percentages of what the filters keep
  --drop-negative          drop nodes with negative values
  --unit=UNIT              minimum (default), auto, or e.g. ms, MB
  --base=FILE, --diff-base=FILE, --normalize   compare against FILE
  --source-path=DIRS, --trim-path=PREFIXES     where sources are (list)
  --compact-labels         header without File/Type/Time lines
  --seconds=N, --timeout=N  for a URL FILE (http://host:port/debug/pprof/...):
                           profile for N s, wait at most N s; the fetched
                           profile is saved in $PPROF_TMPDIR or ~/pprof
"""


def view_command(name: str, summary: str, takes_regexp: bool = False):
    """A click command that passes its raw arguments to the view."""
    def decorate(run: Callable):
        @click.command(
            name=name,
            context_settings={"ignore_unknown_options": True,
                              "help_option_names": []},
            add_help_option=False,
            help=summary + "\n" + OPTIONS_HELP,
        )
        @click.argument("args", nargs=-1, type=click.UNPROCESSED)
        @click.option("--help", "show_help", is_flag=True, help="Show this help.")
        @click.pass_context
        def command(ctx: click.Context, args: Tuple[str, ...], show_help: bool):
            if show_help:
                click.echo(ctx.get_help())
                return
            regex = "REGEX " if takes_regexp else ""
            usage = f"usage: pyprof {name} {regex}[FILE...] [options]"
            settings, positional = parse_view_args(name, args, usage)
            regexp = None
            if takes_regexp:
                if not positional:
                    raise UsageError(f"{name}: missing the REGEX argument", usage)
                regexp = positional.pop(0)
            settings["files"] = positional or [DEFAULT_FILE]
            with gc_paused():
                run(settings, regexp)
        return command
    return decorate


@contextlib.contextmanager
def gc_paused():
    """Python's cycle collector off while a view is made.

    A large profile becomes hundreds of thousands of small objects that live
    until the view is printed; the collector would walk them again and
    again (a third of the time on the corpus's large.cpu) and would find
    nothing, since a profile's objects form no cycles that outlive it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load(settings: dict):
    """The prepared profile of settings' files and -base/-diff_base files.

    Raises:
        ProfileError: a file cannot be read or the files do not merge.
    """
    files = settings["files"]
    bases = settings["base"] or settings["diff_base"]
    sources = [_load_one(path, settings) for path in files]
    base_protos = [_load_one(path, settings) for path in bases]
    return _prepare(settings, sources, base_protos)


def load_for_top(settings: dict, opts):
    """(prepared profile, trimmed graph or None): for a single file shown
    without filters, graph.quick_trimmed_graph's faster road when it
    applies, which yields both at once.

    Raises:
        ProfileError: a file cannot be read or the files do not merge.
        PyprofError: a bad sample index (as report_errors words it).
    """
    from pyprof import graph

    if len(settings["files"]) != 1 or settings["base"] or settings["diff_base"]:
        return load(settings), None
    proto = _load_one(settings["files"][0], settings)
    quick = report_errors(settings, lambda: graph.quick_trimmed_graph(proto, opts))
    if quick is not None:
        return quick
    return _prepare(settings, [proto], []), None


def _prepare(settings: dict, sources: list, base_protos: list):
    from pyprof import graph

    files = settings["files"]
    bases = settings["base"] or settings["diff_base"]
    try:
        if len(sources) == 1 and not base_protos:
            return graph.prepare(sources[0])
        return graph.prepare_many(sources, base_protos,
                                  diff_base=bool(settings["diff_base"]),
                                  normalize=settings["normalize"])
    except graph.GraphError as exc:
        raise ProfileError(f"merging {' '.join(files + bases)}: {exc}",
                           "give profiles of the same kind") from None


def _load_one(source: str, settings: dict):
    """A profile from a file, or fetched from a URL and saved as pprof
    saves it (see pyprof.fetch)."""
    from pyprof import fetch
    from pyprof import pprof

    if not fetch.is_url(source):
        return pprof.load(source)
    url, data = fetch.fetch(source, settings.get("seconds"), settings.get("timeout"),
                            note=_note)
    try:
        profile = pprof.load(data)
    except ProfileError as exc:
        message = exc.message.replace("reading profile", f"reading {url}", 1)
        raise ProfileError(message, exc.hint) from None
    if any(not m.has_functions for m in profile.mapping):
        # Saved as pprof saves it: with the mappings it counts as symbolized.
        fetch.mark_symbolized(profile)
        data = pprof.dumps(profile)
    # Limitation: with several inputs pprof saves their merge in one file;
    # pyprof saves each fetched profile on its own, so reopening them offline
    # needs the same files and options again.
    fetch.save(profile, data, note=_note)  # "Saved profile in PATH", or a warning
    return profile


def _note(line: str) -> None:
    click.echo(line, err=True)


def graph_options(settings: dict, default_nodecount: int = 0):
    """graph.GraphOptions from parsed settings (-trim=false clears the
    node and edge limits, as in pprof)."""
    import dataclasses

    from pyprof import graph

    fields = {f.name for f in dataclasses.fields(graph.GraphOptions)}
    values = {k: v for k, v in settings.items() if k in fields}
    values.setdefault("nodecount", default_nodecount)
    if settings.get("all"):
        values["nodecount"] = 0
    if not settings.get("trim", True):
        values.update(nodecount=0, nodefraction=0.0, edgefraction=0.0)
    return graph.GraphOptions(**values)


def report_errors(settings: dict, make: Callable):
    """make() with graph errors turned into one-line user errors."""
    from pyprof import graph
    from pyprof.report.tree import NoMatchError

    what = "showing " + " ".join(settings["files"])
    try:
        return make()
    except NoMatchError as exc:
        raise PyprofError(f"{what}: {exc}",
                          "check the regexp against `pyprof top --all`") from None
    except graph.GraphError as exc:
        text = str(exc)
        if "sample_index" in text:
            raise UsageError(
                f"{what}: {text}", "pass --sample-index with one of the types listed"
            ) from None
        if "regexp" in text:
            raise UsageError(f"{what}: {text}") from None
        raise ProfileError(f"{what}: {text}") from None


def print_notes(notes: List[str]) -> None:
    """pprof's informational stderr lines about the filters."""
    for note in notes:
        click.echo(note, err=True)


def wants_text(settings: dict) -> bool:
    return settings["text"] or not sys.stdout.isatty()


def write_text(text: str) -> None:
    """The report on stdout as UTF-8 bytes; a closed pipe ends quietly."""
    data = text.encode("utf-8", "surrogateescape")
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        # The reader (e.g. `head`) has what it wanted; stay quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


@view_command("tree", "Show each function with its callers and callees (pprof -tree).")
def tree(settings: dict, regexp) -> None:
    _tree_or_peek(settings, None)


@view_command("peek", "Show the callers and callees of the functions REGEX "
              "matches (pprof -peek).", takes_regexp=True)
def peek(settings: dict, regexp) -> None:
    _tree_or_peek(settings, regexp)


def _tree_or_peek(settings: dict, regexp) -> None:
    from pyprof.report.tree import tree_report

    prepared = load(settings)
    # pprof's graph views show 80 nodes unless told otherwise.
    opts = graph_options(settings, default_nodecount=80)
    report = report_errors(settings, lambda: tree_report(
        prepared, opts, peek=regexp, compact_labels=settings["compact_labels"]))
    print_notes(report.notes)
    if wants_text(settings):
        write_text(report.text())
    else:
        from pyprof.render import print_tree

        print_tree(report)


@view_command("traces", "Show every sample's stack with its value (pprof -traces).")
def traces(settings: dict, regexp) -> None:
    from pyprof.report.traces import traces_report

    prepared = load(settings)
    opts = graph_options(settings)
    report = report_errors(settings, lambda: traces_report(prepared, opts))
    print_notes(report.notes)
    if wants_text(settings):
        write_text(report.text())
    else:
        from pyprof.render import print_traces

        print_traces(report)


@view_command("raw", "Dump the merged profile: samples, locations, mappings "
              "(pprof -raw).")
def raw(settings: dict, regexp) -> None:
    from pyprof.report.raw import raw_text

    prepared = load(settings)
    settings = dict(settings, granularity="addresses", noinlines=False)
    opts = graph_options(settings)
    # The dump is plain text on a terminal too.
    write_text(report_errors(settings, lambda: raw_text(prepared, opts)))


@view_command("list", "Show the source lines of the functions REGEX matches, "
              "with their values (pprof -list).", takes_regexp=True)
def list_(settings: dict, regexp) -> None:
    from pyprof.report.listing import list_report

    prepared = load(settings)
    opts = graph_options(settings)
    report = report_errors(settings, lambda: list_report(prepared, opts, regexp))
    print_notes(report.notes)
    if wants_text(settings):
        write_text(report.text())
    else:
        from pyprof.render import print_list

        print_list(report)
