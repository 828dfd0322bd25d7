"""The interactive `(pprof)` shell: one loaded profile, many reports.

``pyprof shell FILE|URL`` (see pyprof.commands.shell) loads a profile once,
prints its header and then reads commands at a ``(pprof)`` prompt, as
``go tool pprof FILE`` does:

* ``NAME=VALUE`` (or ``NAME`` for a boolean, or a choice such as ``cum``,
  ``lines``) changes an option for every later report; ``:`` clears the
  filters; a sample type's name (``cpu``, ``mean_cpu``) picks that value;
* ``top [N] [REGEX...] [-REGEX...] [-cum] [>FILE]`` and ``tree``, ``peek
  REGEX``, ``list REGEX``, ``traces``, ``raw``, ``comments`` print a report
  made by pyprof.report from the options in force, with the extra arguments
  applying to that report only (``topN`` is ``top N``);
* ``o``/``options``, ``help [NAME]``, ``q``/``quit``/``exit`` or Ctrl-D.

What is printed follows Go 1.19's pprof byte for byte: the prompt and the
reports on stdout; the header, option listings, help and errors on stderr,
one line each (in red on a terminal). Where pyprof departs from it, on
purpose, the README's "Interactive mode" section says so; in short, bare
``cum`` and ``-lines`` on a command work here, and the help texts are
pyprof's own words in pprof's layout.

On a terminal, lines are read with readline: line editing, a history kept
in $HOME/.pyprof_history (or $PYPROF_HISTFILE; none without either, and a
file that cannot be used is said once, before a prompt), and tab completion
of commands, options, option values and function names.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import shutil
import subprocess
import sys
import time
from typing import Callable
from typing import Dict
from typing import List
from typing import Optional
from typing import Sequence
from typing import Tuple

from pyprof.errors import PyprofError

PROMPT = "(pprof) "
GREETING = 'Entering interactive mode (type "help" for commands, "o" for options)'
HISTORY_ENV = "PYPROF_HISTFILE"
HISTORY_NAME = ".pyprof_history"
HISTORY_LINES = 1000
_COMMENT = "//:"  # starts a comment after an option's value, as in `o`'s listing
_GO_INT_MAX = (1 << 63) - 1


class ShellError(Exception):
    """A command that failed: its message is printed as one line and the
    shell reads the next command."""


# ---------------------------------------------------------------------------
# Options: pprof's configuration variables that pyprof honours.


@dataclasses.dataclass(frozen=True)
class Option:
    name: str
    kind: str  # "bool", "int", "float", "str" or "choice"
    default: object
    help: str  # first line: the summary shown by `help`
    choices: Tuple[str, ...] = ()
    listed: bool = True  # shown by `o` (pprof leaves source_path out)


_GRANULARITIES = ("functions", "filefunctions", "files", "lines", "addresses")

OPTIONS: Tuple[Option, ...] = (
    Option("output", "str", "",
           "File the next reports are written to instead of the screen"),
    Option("drop_negative", "bool", False,
           "Leave out nodes whose value is below zero\n"
           "Useful when comparing with -base or -diff_base."),
    Option("relative_percentages", "bool", False,
           "Percentages of what the filters keep\n"
           "When unset, percentages are of the whole profile, so that a\n"
           "filtered report can be compared with the unfiltered one."),
    Option("unit", "str", "minimum",
           "Unit the values are shown in\n"
           "A unit name such as ms, s, kB or MB scales every value to it;\n"
           "minimum picks the smallest unit that suits the values shown;\n"
           "auto picks the best unit for each value on its own."),
    Option("compact_labels", "bool", False,
           "Leave the File, Type and Time lines out of report headers"),
    Option("source_path", "str", "",
           "Folders searched for source files (list)", listed=False),
    Option("trim_path", "str", "",
           "Prefixes removed from file names before sources are searched"),
    Option("mean", "bool", False,
           "Show each value divided by the first value (its count)\n"
           "For a memory profile: bytes per allocation;\n"
           "for a time profile: time per event."),
    Option("sample_index", "str", "",
           "Which value of the samples to show (a number from 0, or a name)\n"
           "A profile may record several values per sample;\n"
           "sample_index=N picks the Nth, counting from 0."),
    Option("normalize", "bool", False,
           "Scale the profile to the totals of the -base profile"),
    Option("sort", "choice", "flat", "", choices=("cum", "flat")),
    Option("nodecount", "int", -1,
           "How many nodes a report shows at most\n"
           "The nodes with the smallest values are left out first;\n"
           "top shows 10 unless told, the other reports 80."),
    Option("nodefraction", "float", 0.005,
           "Leave out nodes under this fraction of the total"),
    Option("edgefraction", "float", 0.001,
           "Leave out edges under this fraction of the total"),
    Option("trim", "bool", True,
           "Apply the nodecount, nodefraction and edgefraction limits\n"
           "trim=false shows the whole profile, nothing left out."),
    Option("focus", "str", "",
           "Keep only samples with a frame matching this regexp\n"
           "Function names, file names and object names are matched."),
    Option("ignore", "str", "",
           "Drop samples with a frame matching this regexp\n"
           "Function names, file names and object names are matched."),
    Option("hide", "str", "",
           "Drop the frames matching this regexp, keep their samples\n"
           "The other frames of those samples are still shown.\n"
           "Function names, file names and object names are matched."),
    Option("show", "str", "",
           "Keep only the frames matching this regexp\n"
           "Function names, file names and object names are matched."),
    Option("show_from", "str", "",
           "Drop the frames above the outermost frame matching this regexp\n"
           "Function names, file names and object names are matched."),
    Option("tagfocus", "str", "",
           "Keep only samples with a label in this range or matching this regexp\n"
           "key=regexp looks at one label only.\n"
           "Numbers: 64kb, 1kb:10kb, bytes=32mb: (an open end is allowed).\n"
           "Strings: MainThread, Worker.*, thread=Main.*"),
    Option("tagignore", "str", "",
           "Drop samples with a label in this range or matching this regexp\n"
           "key=regexp looks at one label only.\n"
           "Numbers: 64kb, 1kb:10kb, bytes=32mb: (an open end is allowed).\n"
           "Strings: MainThread, Worker.*, thread=Main.*"),
    Option("tagshow", "str", "",
           "Show only the label keys matching this regexp"),
    Option("taghide", "str", "",
           "Hide the label keys matching this regexp"),
    Option("noinlines", "bool", False,
           "Count inlined functions as part of their caller\n"
           "Their time goes to the first caller that was not inlined."),
    Option("granularity", "choice", "functions", "", choices=_GRANULARITIES),
)
OPTION_BY_NAME: Dict[str, Option] = {o.name: o for o in OPTIONS}
# A choice's name (cum, lines...) sets its option.
CHOICE_OWNER: Dict[str, Option] = {c: o for o in OPTIONS for c in o.choices}
CHOICE_HELP = {
    "cum": "Sort by cumulative value (the function and all it calls)",
    "flat": "Sort by flat value (the function's own)",
    "functions": "One node per function\nFunctions of the same name in "
                 "different files are one node.",
    "filefunctions": "One node per function and file\nFunctions of the same "
                     "name in different files are separate nodes.",
    "files": "One node per source file",
    "lines": "One node per source line",
    "addresses": "One node per instruction address\nAddresses are shown "
                 "before the function names.",
}
# pprof's options that change nothing in pyprof's text reports yet.
UNSUPPORTED_OPTIONS = ("call_tree", "divide_by", "intel_syntax", "prune_from",
                       "tagleaf", "tagroot")


@dataclasses.dataclass(frozen=True)
class Command:
    summary: str
    usage: str = ""  # lines shown under "Usage:" by `help NAME`
    takes_regexp: bool = False


def _report_usage(name: str) -> str:
    return "\n".join((
        f"{name} [n] [focus_regex]* [-ignore_regex]* [-cum] >f",
        "Show at most n nodes",
        "Keep samples through focus_regex, drop those through ignore_regex.",
        "-cum orders the nodes by cumulative value",
        "A >f at the end writes the report to the file f",
    ))


def _graph_usage(name: str, redirect: bool = True) -> str:
    return "\n".join((
        f"{name} [n] [focus_regex]* [-ignore_regex]*" + (" >f" if redirect else ""),
        "Show at most n nodes (80 unless told)",
        "Keep samples through focus_regex, drop those through ignore_regex.",
    ) + (("A >f at the end writes the graph to the file f",) if redirect else ()))


_LIST_USAGE = "\n".join((
    "list<func_regex|address> [-focus_regex]* [-ignore_regex]*",
    "Show the functions func_regex matches, or the one at the address.",
    "Keep samples through focus_regex, drop those through ignore_regex.",
))

COMMANDS: Dict[str, Command] = {
    "comments": Command("Print the profile's comments"),
    "dot": Command("Print the call graph as Graphviz DOT text", _graph_usage("dot")),
    "png": Command("Draw the call graph as a PNG image (needs Graphviz)",
                   _graph_usage("png")),
    "svg": Command("Draw the call graph as an SVG image (needs Graphviz)",
                   _graph_usage("svg")),
    "web": Command("Draw the call graph as SVG and open it in a browser",
                   _graph_usage("web", redirect=False)),
    "list": Command("Print the source of the functions a regexp matches, "
                    "with their values", _LIST_USAGE, takes_regexp=True),
    "peek": Command("Print the callers and callees of the functions a regexp "
                    "matches",
                    "peek func_regex\nShow the callers and callees of the "
                    "functions func_regex matches.", takes_regexp=True),
    "raw": Command("Print the profile itself as text"),
    "text": Command("Print the nodes with the largest values as text",
                    _report_usage("text")),
    "top": Command("Print the nodes with the largest values as text",
                   _report_usage("top")),
    "traces": Command("Print every sample with its stack as text"),
    "tree": Command("Print each node with its callers and callees as text",
                    _report_usage("tree")),
}
# The commands whose report is an image: written to a file, never shown.
IMAGE_COMMANDS = ("png", "svg", "web")
# pprof's other commands: other pictures and viewers, binary formats.
UNSUPPORTED_COMMANDS = (
    "callgrind", "disasm", "eog", "evince", "gif", "gv", "kcachegrind",
    "pdf", "proto", "ps", "tags", "topproto", "weblist",
)
SHELL_WORDS = ("o", "options", "q", "quit", "exit", "help")


def _go_atoi(text: str) -> int:
    """Go's strconv.Atoi, with its error message."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ShellError(f'strconv.Atoi: parsing "{text}": invalid syntax')
    value = int(text)
    if not -_GO_INT_MAX - 1 <= value <= _GO_INT_MAX:
        raise ShellError(f'strconv.Atoi: parsing "{text}": value out of range')
    return value


_FLOAT = re.compile(
    r"[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|inf|infinity|nan)",
    re.IGNORECASE)


def _go_parse_float(text: str) -> float:
    """Go's strconv.ParseFloat for decimal text, with its error message."""
    if not _FLOAT.fullmatch(text):
        raise ShellError(f'strconv.ParseFloat: parsing "{text}": invalid syntax')
    value = float(text)
    if math.isinf(value) and "inf" not in text.lower():
        raise ShellError(f'strconv.ParseFloat: parsing "{text}": value out of range')
    return value


def go_float(value: float) -> str:
    """A float64 as Go's fmt.Sprint prints it: 0.005, 1, 1e-05, 1e+21."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    if mantissa.endswith(".0"):
        mantissa = mantissa[:-2]
    if not exponent:
        return mantissa
    power = int(exponent)
    if -4 <= power < 21:
        # repr switches to exponents at 1e16, Go at 1e21.
        return str(int(value)) if value == int(value) else text
    return f"{mantissa}e{'+' if power >= 0 else '-'}{abs(power):02d}"


def _go_parse_bool(text: str) -> bool:
    """Go's strconv.ParseBool (used for choices such as cum=true)."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(text)


def _pprof_bool(text: str) -> bool:
    """pprof's own reading of a boolean variable ("" and yes count as true)."""
    lowered = text.lower()
    if lowered in ("true", "t", "yes", "y", "1", ""):
        return True
    if lowered in ("false", "f", "no", "n", "0"):
        return False
    raise ShellError(f'illegal value "{text}" for bool variable')


class Config:
    """The options in force: pprof's variables by name, typed values."""

    def __init__(self) -> None:
        self.values: Dict[str, object] = {o.name: o.default for o in OPTIONS}

    def copy(self) -> "Config":
        other = Config()
        other.values = dict(self.values)
        return other

    def __getitem__(self, name: str):
        return self.values[name]

    def text(self, name: str) -> str:
        """The value as `o` lists it."""
        value = self.values[name]
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return go_float(value)
        return str(value)

    def set(self, name: str, value: str) -> None:
        """name=value, as pprof's configure: a variable, or a choice set
        when value reads as true.

        Raises:
            ShellError: an unknown name or a bad value, in pprof's words.
        """
        if name in CHOICE_OWNER:
            try:
                on = _go_parse_bool(value)
            except ValueError:
                on = False
            if not on:
                raise ShellError(f'unknown config field "{name}"')
            self.values[CHOICE_OWNER[name].name] = name
            return
        option = OPTION_BY_NAME.get(name)
        if option is None:
            raise ShellError(f'unknown config field "{name}"')
        if option.kind == "choice":
            if value not in option.choices:
                raise ShellError(f'invalid "{name}" value "{value}"')
            self.values[name] = value
        elif option.kind == "int":
            self.values[name] = _go_atoi(value)
        elif option.kind == "float":
            self.values[name] = _go_parse_float(value)
        elif option.kind == "bool":
            self.values[name] = _pprof_bool(value)
        else:
            self.values[name] = value

    def settings(self) -> dict:
        """The settings pyprof.commands.views turns into GraphOptions."""
        v = self.values
        return {
            "sample_index": v["sample_index"], "granularity": v["granularity"],
            "noinlines": v["noinlines"], "cum_sort": v["sort"] == "cum",
            "nodecount": v["nodecount"], "nodefraction": v["nodefraction"],
            "edgefraction": v["edgefraction"], "drop_negative": v["drop_negative"],
            "focus": v["focus"], "ignore": v["ignore"], "hide": v["hide"],
            "show": v["show"], "show_from": v["show_from"],
            "tagfocus": v["tagfocus"], "tagignore": v["tagignore"],
            "tagshow": v["tagshow"], "taghide": v["taghide"],
            "relative_percentages": v["relative_percentages"], "mean": v["mean"],
            "unit": v["unit"], "trim_path": v["trim_path"],
            "source_path": v["source_path"], "trim": v["trim"],
        }


def is_bool_like(name: str) -> bool:
    """Whether `name` alone (no =value) sets something: a boolean option
    or a choice."""
    if name in CHOICE_OWNER:
        return True
    option = OPTION_BY_NAME.get(name)
    return option is not None and option.kind == "bool"


# ---------------------------------------------------------------------------
# Help and option listings.


def _help_row(name: str, text: str) -> str:
    return "    %-16s %s" % (name, text.split("\n", 1)[0])


def help_text() -> str:
    """What `help` prints: commands, options and option groups, in pprof's
    layout."""
    commands = sorted(_help_row(n, c.summary) for n, c in COMMANDS.items())
    commands.append(_help_row("o/options", "List the options and their values"))
    commands.append(_help_row("q/quit/exit/^D", "Leave the shell"))
    variables = sorted(_help_row(o.name, o.help) for o in OPTIONS
                       if o.kind != "choice")
    groups = sorted(
        "\n".join([_help_row(o.name, "")]
                  + ["  " + _help_row(c, CHOICE_HELP[c]) for c in o.choices])
        for o in OPTIONS if o.kind == "choice")
    return ("  Commands:\n" + "\n".join(commands) + "\n\n"
            + "  Options:\n" + "\n".join(variables) + "\n\n"
            + "  Option groups (only set one per group):\n" + "\n".join(groups)
            + "\n  :   Clear focus/ignore/hide/tagfocus/tagignore\n\n"
            + '  type "help <cmd|option>" for more information\n')


def command_help(name: str) -> str:
    command = COMMANDS[name]
    text = command.summary + "\n"
    if command.usage:
        text += "  Usage:\n" + "".join(f"    {line}\n"
                                       for line in command.usage.split("\n"))
    return text + "\n"


# Options whose `help NAME` pprof ends without a blank line.
_HELP_WITHOUT_BLANK = ("compact_labels", "source_path", "trim_path", "nodefraction",
                       "edgefraction", "files", "lines")


def option_help(name: str, sample_types: Sequence[str]) -> Optional[str]:
    """`help NAME` for an option or a choice, or None."""
    end = "\n" if name in _HELP_WITHOUT_BLANK else "\n\n"
    if name in CHOICE_HELP:
        return CHOICE_HELP[name] + end
    option = OPTION_BY_NAME.get(name)
    if option is None or option.kind == "choice":
        return None
    text = option.help + "\n"
    if name == "sample_index":
        text += ("Or use sample_index=name, with name in "
                 f"[{' '.join(sample_types)}].\n")
    return text + end[1:]


def options_text(config: Config, sample_types: Sequence[str]) -> str:
    """What `o` prints: one line per option, sorted, with the choices."""
    rows = []
    for option in OPTIONS:
        if not option.listed:
            continue
        value = config.text(option.name)
        comment = ""
        if option.choices:
            comment = "[" + " | ".join(sorted(option.choices)) + "]"
        elif option.name == "sample_index":
            if value == "" and sample_types:
                # pprof lists the last type here, whatever the default is.
                value = sample_types[-1]
            comment = "[" + " | ".join(sample_types) + "]"
        elif option.name == "nodecount" and value == "-1":
            comment = "default"
        elif value == "":
            value = '""'
        if comment:
            comment = f"{_COMMENT} {comment}"
        rows.append("  %-25s = %-20s %s" % (option.name, value, comment))
    return "\n".join(sorted(rows)) + "\n"


# ---------------------------------------------------------------------------
# The line's parts.


def parse_command(tokens: List[str], current: Config
                  ) -> Tuple[str, Optional[str], Config]:
    """The command, its regexp (list, peek) and the options for this one
    report, from a line's tokens, as pprof's parseCommandLine reads them:
    a number is nodecount, >FILE the output, -cum the order, another
    -WORD an ignore regexp, any other word a focus regexp.

    pyprof also takes -NAME for a boolean option or a choice (-lines,
    -noinlines, -flat) and -NAME=VALUE for any option, for this report only.

    Raises:
        ShellError: an unknown command or a malformed line.
    """
    name, args = tokens[0], tokens[1:]
    if name not in COMMANDS and name not in UNSUPPORTED_COMMANDS:
        digits = re.search(r"[0-9]+$", name)
        if digits and digits.group() != name:
            name, args = name[:digits.start()], [digits.group()] + args
    if name in UNSUPPORTED_COMMANDS:
        raise ShellError(f"command {name} is not available in pyprof "
                         "(it has " + ", ".join(sorted(COMMANDS)) + ")")
    command = COMMANDS.get(name)
    if command is None:
        option = OPTION_BY_NAME.get(name)
        if (option is not None and option.kind != "choice") or name in CHOICE_OWNER \
                or name in UNSUPPORTED_OPTIONS:
            value = args[0] if args else "<val>"
            raise ShellError(f"did you mean: {name}={value}")
        raise ShellError(f'unrecognized command: "{name}"')

    config, rest = _take_options(args, current.copy())
    regexp = None
    if command.takes_regexp:
        if not rest:
            raise ShellError(f"command {name} requires an argument")
        regexp, rest = rest[0], rest[1:]
    focus: List[str] = []
    ignore: List[str] = []
    i = 0
    while i < len(rest):
        arg = rest[i]
        i += 1
        if re.fullmatch(r"[+-]?[0-9]+", arg) and abs(int(arg)) < 1 << 31:
            config.values["nodecount"] = int(arg)
        elif arg.startswith(">"):
            target = arg[1:]
            if not target:
                if i >= len(rest):
                    raise ShellError("unexpected end of line after >")
                target = rest[i]
                i += 1
            config.values["output"] = target
        elif arg.startswith("-"):
            if arg in ("-cum", "--cum"):
                config.values["sort"] = "cum"
            else:
                ignore.append(arg[1:])
        else:
            focus.append(arg)
    if focus and "".join(focus):
        config.values["focus"] = "|".join(f for f in focus if f)
    if ignore and "".join(ignore):
        config.values["ignore"] = "|".join(f for f in ignore if f)
    if config["nodecount"] == -1 and name in ("top", "text"):
        config.values["nodecount"] = 10
    return name, regexp, config


def _take_options(args: List[str], config: Optional[Config]
                  ) -> Tuple[Optional[Config], List[str]]:
    """pyprof's -NAME / -NAME=VALUE arguments applied to config (when
    given) and the other arguments."""
    rest = []
    for arg in args:
        name, has_value, value = arg.lstrip("-").partition("=")
        if arg.startswith("-") and arg not in ("-cum", "--cum") and (
                (has_value and (name in OPTION_BY_NAME or name in CHOICE_OWNER))
                or (not has_value and is_bool_like(name))):
            if config is not None:
                config.set(name, value if has_value else "true")
            continue
        rest.append(arg)
    return config, rest


# ---------------------------------------------------------------------------
# The shell.


class PlainUI:
    """Lines from a pipe or a dumb terminal: the prompt on stdout, messages
    on stderr, as pprof's line-based interface."""

    def __init__(self, stdin=None, stdout=None, stderr=None) -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr

    def read_line(self, prompt: str) -> Optional[str]:
        """The next line without its newline; None at the end of input."""
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            return None
        return line[:-1] if line.endswith("\n") else line

    def print(self, text: str) -> None:
        self.write_err(text if text.endswith("\n") else text + "\n")

    def write_err(self, text: str) -> None:
        """Text on stderr; bytes of the input that were not UTF-8 (read as
        surrogate escapes) are written back as they came, as Go does."""
        buffer = getattr(self.stderr, "buffer", None)
        if buffer is None:
            self.stderr.write(text)
            self.stderr.flush()
            return
        self.stderr.flush()
        buffer.write(text.encode("utf-8", "surrogateescape"))
        buffer.flush()

    def print_error(self, text: str) -> None:
        self.print(text)

    def write_report(self, text: str) -> None:
        data = text.encode("utf-8", "surrogateescape")
        self.stdout.flush()
        self.stdout.buffer.write(data)
        self.stdout.buffer.flush()

    def close(self) -> None:
        pass


class TerminalUI(PlainUI):
    """A terminal: readline's line editing, history and completion, and
    errors in red as pprof shows them."""

    def __init__(self, completer: "Completer", history: Optional[str]) -> None:
        super().__init__()
        import readline

        self.readline = readline
        self.history = history
        self.history_error: Optional[str] = None
        # A problem with the history file: said once, before the next prompt.
        self.history_note: Optional[str] = None
        readline.set_completer_delims(" \t\n")
        readline.set_completer(completer.complete)
        if "libedit" in (readline.__doc__ or ""):
            readline.parse_and_bind("bind ^I rl_complete")
        else:
            readline.parse_and_bind("tab: complete")
            # A Tab that completes part of a word lists the choices left
            # (without, a second Tab after a partial completion only rings).
            readline.parse_and_bind("set show-all-if-ambiguous on")
        readline.set_history_length(HISTORY_LINES)
        problem = history_problem(history) if history else None
        if problem:
            self._history_failed("using", OSError(0, problem))
        if self.history and os.path.exists(self.history):
            try:
                readline.read_history_file(history)
                if readline.get_current_history_length() > HISTORY_LINES:
                    # Trimmed here rather than on leaving, so that lines
                    # another session appended meanwhile are kept.
                    readline.write_history_file(history)
            except OSError as exc:
                self._history_failed("reading", exc)

    def read_line(self, prompt: str) -> Optional[str]:
        if self.history_note:
            self.print(self.history_note)
            self.history_note = None
        before = self.readline.get_current_history_length()
        try:
            line = input(prompt)
        except EOFError:
            self.stdout.write("\n")
            return None
        if self.history and self.readline.get_current_history_length() > before:
            self._save_history()
        return line

    def _save_history(self) -> None:
        try:
            if not os.path.exists(self.history):
                self.readline.write_history_file(self.history)
            else:
                self.readline.append_history_file(1, self.history)
        except OSError as exc:
            self._history_failed("writing", exc)

    def _history_failed(self, doing: str, exc: OSError) -> None:
        if self.history_error is None:
            self.history_error = exc.strerror or str(exc)
            self.history_note = (f"{doing} the history file {self.history}: "
                                 f"{self.history_error} (history is not kept; "
                                 f"set {HISTORY_ENV} to another file)")
        self.history = None

    def print_error(self, text: str) -> None:
        if not text.endswith("\n"):
            text += "\n"
        self.write_err("\033[0;31m" + text + "\033[0m")


def history_path() -> Optional[str]:
    """Where the shell keeps its history: $PYPROF_HISTFILE, else
    $HOME/.pyprof_history; None (no history kept, nothing said) when
    neither is set."""
    if os.environ.get(HISTORY_ENV):
        return os.environ[HISTORY_ENV]
    if os.environ.get("HOME"):
        return os.path.join(os.environ["HOME"], HISTORY_NAME)
    return None


def history_problem(path: str) -> Optional[str]:
    """Why path cannot be the history file, in a few words; None when it
    looks usable (a file, or a name in an existing folder)."""
    if os.path.isdir(path):
        return "it is a folder"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"no folder {folder}"
    if os.path.exists(path):
        if not os.access(path, os.R_OK | os.W_OK):
            return "it cannot be read and written"
    elif not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} cannot be written"
    return None


class Completer:
    """readline completion: commands and options first, option values after
    NAME=, function names in a report command's arguments."""

    def __init__(self, functions: Sequence[str], sample_types: Sequence[str],
                 line_buffer: Callable[[], str] = lambda: "",
                 begin: Callable[[], int] = lambda: 0) -> None:
        self.functions = sorted(set(functions))
        self.sample_types = list(sample_types)
        self.line_buffer = line_buffer
        self.begin = begin
        self._matches: List[str] = []

    @classmethod
    def for_readline(cls, functions, sample_types) -> "Completer":
        import readline

        return cls(functions, sample_types, readline.get_line_buffer,
                   readline.get_begidx)

    def complete(self, text: str, state: int) -> Optional[str]:
        if state == 0:
            try:
                before = self.line_buffer()[:self.begin()].split()
                self._matches = self.candidates(before, text)
            except Exception:  # a completer must never break the prompt
                self._matches = []
            if len(self._matches) == 1:
                only = self._matches[0]
                self._matches = [only + self._after(before, only)]
        return self._matches[state] if state < len(self._matches) else None

    @staticmethod
    def _after(before: List[str], match: str) -> str:
        """What follows a unique completion: "=" after the name of an
        option that takes a value (so that the next Tab offers values),
        else a space."""
        if not before and match in OPTION_BY_NAME and not is_bool_like(match):
            return "="
        return " "

    def candidates(self, before: List[str], text: str) -> List[str]:
        """Completions of text, the word being typed after the words
        `before` on the line."""
        if not before:
            name, eq, value = text.partition("=")
            if eq:
                return [f"{name}={v}" for v in self._values(name, value)]
            words = list(COMMANDS) + list(SHELL_WORDS) + list(OPTION_BY_NAME) \
                + list(CHOICE_OWNER) + self.sample_types
            return sorted({w for w in words if w.startswith(text)})
        if before[0] == "help" and len(before) == 1:
            words = list(COMMANDS) + list(OPTION_BY_NAME) + list(CHOICE_OWNER)
            return sorted(w for w in words if w.startswith(text))
        command = re.sub(r"[0-9]+$", "", before[0]) or before[0]
        if command in COMMANDS:
            if text.startswith("-"):
                # compact_labels works as a flag too, but is left out here
                # so that -c completes the common -cum.
                names = [n for n in OPTION_BY_NAME
                         if is_bool_like(n) and n != "compact_labels"]
                names += list(CHOICE_OWNER)
                flags = ["-cum"] + ["-" + n for n in names]
                found = [f for f in flags if f.startswith(text)]
                if found:
                    return sorted(set(found))
                return ["-" + f for f in self._functions(text[1:])]
            return self._functions(text)
        return []

    def _values(self, name: str, partial: str) -> List[str]:
        option = OPTION_BY_NAME.get(name)
        if option is None:
            return []
        if option.choices:
            values: Sequence[str] = option.choices
        elif option.kind == "bool":
            values = ("true", "false")
        elif name == "sample_index":
            values = self.sample_types
        elif name in ("focus", "ignore", "hide", "show", "show_from"):
            return self._functions(partial)
        else:
            return []
        return [v for v in values if v.startswith(partial)]

    def _functions(self, text: str) -> List[str]:
        """Function names starting with text; else the one name containing
        it (pprof completes a unique substring match)."""
        found = [f for f in self.functions if f.startswith(text)]
        if found:
            return found
        inside = [f for f in self.functions if text in f]
        return inside if len(inside) == 1 else []


class Shell:
    """The command loop over one prepared profile.

    make_report(command, regexp, settings) returns (report, notes for
    stderr) and raises ShellError for a report that cannot be made; the
    report is text, or bytes for an image (png, svg, web).
    """

    def __init__(self, ui, config: Config, sample_types: Sequence[str],
                 make_report: Callable[[str, Optional[str], dict],
                                       Tuple[str, List[str]]],
                 check_sample_index: Callable[[str], str]) -> None:
        self.ui = ui
        self.config = config
        self.sample_types = list(sample_types)
        self.make_report = make_report
        self.check_sample_index = check_sample_index
        self.temporary_files: List[str] = []  # pages given to browsers
        self.shortcuts: Dict[str, List[str]] = {
            ":": ["focus=", "ignore=", "hide=", "tagfocus=", "tagignore="]}
        for t in self.sample_types:
            self.shortcuts[t] = [f"sample_index={t}"]
            self.shortcuts["total_" + t] = ["mean=0", f"sample_index={t}"]
            self.shortcuts["mean_" + t] = ["mean=1", f"sample_index={t}"]

    def run(self) -> None:
        """Read and run commands until quit or the end of input."""
        try:
            while True:
                try:
                    line = self.ui.read_line(PROMPT)
                except KeyboardInterrupt:
                    if not isinstance(self.ui, TerminalUI):
                        raise
                    self.ui.stdout.write("\n")
                    continue
                if line is None:
                    return
                try:
                    if not self.execute(line):
                        return
                except KeyboardInterrupt:
                    if not isinstance(self.ui, TerminalUI):
                        raise
                    self.ui.print_error("interrupted")
        finally:
            self.close()
            self.ui.close()

    def execute(self, line: str) -> bool:
        """Run one input line; False when it asks to leave."""
        stripped = line.strip()
        for part in self.shortcuts.get(stripped, [stripped]):
            try:
                if not self._execute_one(part):
                    return False
            except ShellError as exc:
                self.ui.print_error(str(exc))
            except PyprofError as exc:
                self.ui.print_error(exc.message)
            except Exception as exc:  # a bug must not end a long session
                if os.environ.get("PYPROF_DEBUG"):
                    raise
                self.ui.print_error(
                    f"internal error running {part!r}: {type(exc).__name__}: {exc} "
                    "(PYPROF_DEBUG=1 shows where)")
        return True

    def _execute_one(self, line: str) -> bool:
        name, eq, value = line.partition("=")
        name = name.strip()
        if name in UNSUPPORTED_OPTIONS:
            raise ShellError(f"option {name} is not available in pyprof")
        if name in OPTION_BY_NAME or name in CHOICE_OWNER:
            if eq:
                comment = value.rfind(_COMMENT)
                if comment != -1:
                    value = value[:comment]
                value = value.strip()
            elif is_bool_like(name):
                # pprof 1.19 refuses a bare choice (cum, lines); pyprof
                # takes it as cum=true, as pprof's help suggests.
                value = "true"
            else:
                raise ShellError(f"please specify a value, e.g. {name}=<val>")
            if name == "sample_index":
                value = self.check_sample_index(value)
            self.config.set(name, value)
            return True

        tokens = line.split()
        if not tokens:
            return True
        word = tokens[0]
        if word in ("o", "options"):
            self.ui.print(options_text(self.config, self.sample_types))
            return True
        if word in ("exit", "quit", "q"):
            return False
        if word == "help":
            self._help(" ".join(tokens[1:]))
            return True
        command, regexp, config = parse_command(tokens, self.config)
        self._report(command, regexp, config)
        return True

    def _help(self, topic: str) -> None:
        if not topic:
            self.ui.print(help_text())
        elif topic in COMMANDS:
            self.ui.print(command_help(topic))
        elif option_help(topic, self.sample_types) is not None:
            self.ui.print(option_help(topic, self.sample_types))
        elif topic in UNSUPPORTED_COMMANDS or topic in UNSUPPORTED_OPTIONS:
            self.ui.print_error(f"{topic} is not available in pyprof")
        else:
            self.ui.print_error("Unknown command: " + topic)

    def _report(self, command: str, regexp: Optional[str], config: Config) -> None:
        settings = config.settings()
        nodecount = settings["nodecount"]
        if command in ("top", "text"):
            settings["nodecount"] = 0 if nodecount == -1 else nodecount
        elif nodecount == -1:
            settings["nodecount"] = 80
        settings["compact_labels"] = config["compact_labels"]
        if regexp is not None:
            check_regexp(regexp, "argument regexp " + regexp)
        for name in ("focus", "ignore", "hide", "show", "show_from"):
            if config[name]:
                check_regexp(config[name], name + " regexp")
        text, notes = self.make_report(command, regexp, settings)
        for note in notes:
            self.ui.print_error(note)
        data = text if isinstance(text, bytes) else \
            text.encode("utf-8", "surrogateescape")
        if command == "web":
            self.show_in_browser(data)
            return
        output = config["output"]
        if not output and command in IMAGE_COMMANDS:
            # An image is never shown on the screen: pprof names a file.
            output, f = new_numbered_file("", "profile", "." + command)
            self.ui.print_error("Generating report in " + output)
            with f:
                f.write(data)
            return
        if not output:
            self.ui.write_report(text)
            return
        self.ui.print_error("Generating report in " + output)
        try:
            with open(output, "wb") as f:
                f.write(data)
        except OSError as exc:
            raise ShellError(f"open {output}: {_go_reason(exc)}") from None

    def show_in_browser(self, svg: bytes) -> None:
        """pprof's `web`: the SVG in a new $TMPDIR/pprofNNN.svg, opened with
        the first browser that starts ($BROWSER, chrome, google-chrome,
        chromium, firefox, sensible-browser, then xdg-open on a desktop).
        The file is removed when the session ends (see close()), unless no
        browser could take it: then where it is is printed, and it stays."""
        path, f = new_numbered_file(os.environ.get("TMPDIR") or "/tmp", "pprof", ".svg")
        with f:
            f.write(svg)
        for browser in browser_commands():
            args = browser.split(" ")
            if not shutil.which(args[0]):
                continue
            try:
                subprocess.Popen([*args, path], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, start_new_session=True)
            except OSError:
                continue
            self.temporary_files.append(path)
            time.sleep(1)  # as pprof: let the browser read the file first
            return
        self.ui.print_error(f"No browser to open {path} (set BROWSER to one); "
                            "the graph is in that file")

    def close(self) -> None:
        """Remove the files made for browsers, as pprof does on leaving."""
        for path in self.temporary_files:
            try:
                os.unlink(path)
            except OSError:
                pass
        self.temporary_files = []


def browser_commands() -> List[str]:
    """The commands pprof tries to open a page with, in its order."""
    found = [os.environ["BROWSER"]] if os.environ.get("BROWSER") else []
    found += ["chrome", "google-chrome", "chromium", "firefox", "sensible-browser"]
    if os.environ.get("DISPLAY"):
        found.append("xdg-open")
    return found


def new_numbered_file(folder: str, prefix: str, suffix: str):
    """(name, open binary file) for the first of prefix001suffix,
    prefix002suffix, ... in folder ("" for the current one) that does not
    exist, created exclusively as pprof does.

    Raises:
        ShellError: the folder cannot be written, or all 9999 names are taken.
    """
    for index in range(1, 10000):
        name = os.path.join(folder, f"{prefix}{index:03d}{suffix}")
        try:
            return name, open(name, "xb")
        except FileExistsError:
            continue
        except OSError as exc:
            raise ShellError(f"open {name}: {_go_reason(exc)}") from None
    raise ShellError(f"could not create file of the form {prefix}001{suffix}")


def _go_reason(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    return reason[:1].lower() + reason[1:]


def check_regexp(pattern: str, what: str) -> None:
    """Compile pattern as Go would.

    Raises:
        ShellError: "parsing <what>: error parsing regexp: ..." in Go's
            words for the common mistakes.
    """
    from pyprof import goregexp

    try:
        goregexp.compile(pattern)
    except re.error as exc:
        raise ShellError(f"parsing {what}: {go_regexp_message(exc, pattern)}") from None


def go_regexp_message(exc: re.error, pattern: str) -> str:
    """Go's regexp/syntax wording for a Python re.error: the error and the
    part of the expression it is about. Errors without a Go counterpart
    here keep Python's message."""
    msg, pos = exc.msg, exc.pos or 0
    if getattr(exc, "expr", None) is not None and getattr(exc, "code", None):
        code, expr = exc.code, exc.expr  # goregexp.GoSyntaxError: Go's own words
    elif msg.startswith("missing ), unterminated subpattern"):
        code, expr = "missing closing )", pattern
    elif msg.startswith("unbalanced parenthesis"):
        code, expr = "unexpected )", pattern
    elif msg in ("unterminated character set", "missing closing ]"):
        code, expr = "missing closing ]", pattern[pos:]
    elif msg == "nothing to repeat":
        operator = re.match(r"(\*|\+|\?|\{[0-9]*,?[0-9]*\})\??", pattern[pos:])
        code = "missing argument to repetition operator"
        expr = operator.group() if operator else pattern[pos:pos + 1]
    elif msg == "multiple repeat":
        code = "invalid nested repetition operator"
        expr = pattern[max(pos - 1, 0):pos + 1]
    elif msg.startswith("bad escape"):
        code, expr = "invalid escape sequence", pattern[pos:pos + 2]
    elif msg.startswith("bad character range"):
        code, expr = "invalid character class range", msg.rsplit(" ", 1)[-1]
    elif msg.startswith("trailing backslash"):
        code, expr = "trailing backslash at end of expression", ""
    else:
        return msg
    return f"error parsing regexp: {code}: `{expr}`"
