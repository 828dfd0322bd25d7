"""The shell sessions the tests replay: input lines per session and the
corpus profiles each is run on.

Each session is fed on stdin to `go tool pprof PROFILE` (by
make_expected.py, whose outputs are stored in expected/) and to `pyprof
shell PROFILE`; stdout must be the same bytes, stderr the same once the
documented differences are taken out (see shell_support.go_to_pyprof).
"""

import os
from pathlib import Path

CORPUS = Path(os.environ.get(
    "PYPROF_CORPUS",
    Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"))
PROFILES = CORPUS / "upstream" / "profiles" / "internal"
SAMPLE = PROFILES / "report" / "testdata" / "sample.cpu"
HEAP = PROFILES / "driver" / "testdata" / "go.nomappings.crash"
CPPBENCH = PROFILES / "driver" / "testdata" / "cppbench.cpu_no_samples_type"
LARGE = PROFILES / "proftest" / "testdata" / "large.cpu"
EXPECTED = Path(__file__).resolve().parent / "expected"

SESSIONS = {
    # The reports, their defaults, and per-command arguments.
    "reports": [
        "top", "top3", "top -cum 5", "top 2 main", "top 3 -runtime", "text 2",
        "tree", "peek mapiter", "list busyLoop", "traces", "raw", "comments",
        "top 1 2 3", "  top   2  ", "", "quit",
    ],
    # Options set at the prompt persist; a command's arguments do not.
    "options": [
        "nodecount=5", "top", "cum=true", "top 3", "flat=true", "top 3",
        "sort=cum", "top 3", "sort=flat", "focus=mapassign", "top", "tree",
        ":", "top 2", "unit=ms", "top 2", "unit=auto", "top 2", "unit=minimum",
        "granularity=lines", "top 3", "lines=true", "top 2", "functions=true",
        "nodefraction=0.1", "top", "nodefraction=0.005", "hide=runtime", "top",
        "hide=", "show=main", "top", "show=", "ignore=mapiternext", "top",
        "ignore=", "trim=false", "tree", "trim=true", "noinlines=true", "top 4",
        "noinlines=false", "mean=true", "top 2", "mean=false",
        "relative_percentages=true", "focus=evacuate", "top 3", "focus=",
        "nodecount=3 //: a comment", "top", "compact_labels=false", "top 2",
        "peek busyLoop", "traces", "compact_labels=true", "output=report.txt",
        "top 2", "tree", "o", "output=", "exit",
    ],
    # Sample types: by name, by number, the shortcuts, and bad ones.
    "sample_index": [
        "o", "sample_index=samples", "top 3", "o", "sample_index=0", "top 2",
        "sample_index=1", "sample_index=foo", "sample_index=2",
        "sample_index=-1", "total_cpu", "top 2", "mean_cpu", "top 2", "samples",
        "top 2", "cpu", "mean=false", "o", "q",
    ],
    # Errors: one line each, and the session goes on.
    "errors": [
        "foo", "foo bar", "nodecount", "nodecount 5", "nodecount=x",
        "nodecount=99999999999999999999", "nodefraction=abc", "mean=maybe",
        "granularity=foo", "cum=false", "list", "peek", "list (", "peek [z",
        "list nomatch", "peek nomatch", "focus=(", "top", "focus=", "ignore=[",
        "tree", "ignore=", "hide=*", "top 2", "hide=", "top 4 >", "output",
        "tagfocus=thread=nothing", "top 2", "tagfocus=", "top 2",
    ],
    # Expressions Go's regexp package refuses though Python's re would take
    # them: repeat counts over 1000 (nested counts multiplied), nested
    # repetition operators.
    "regexps": [
        "list a{1001}", "list a{2,1}", "peek (a{2}){600}", "list (a{2}){500}",
        "focus=x{2}{3}", "top 2", "focus=", "list x**", "list a*?+",
        "list a{1000}", "hide=((a{600}){0}){2}", "top 1", "hide=",
        "ignore=(a|b{3}){400}", "top 1", "ignore=", "top 1",
        # Python's re would backtrack for hours here; RE2 (google-re2, a
        # test dependency) answers at once, as Go does.
        "focus=(.|.)*Z$", "top 2", "focus=",
    ],
    # Call graphs: DOT text on stdout like a report; images (Graphviz)
    # into profileNNN.png/.svg, or the file after >.
    "graphs": [
        "dot", "dot 3", "dot -cum main", "nodecount=4", "dot", "dot >x.dot",
        "png", "svg", "svg >y.svg", "svg", "output=z.svg", "svg", "output=",
        "focus=nomatch", "dot", "focus=",
    ],
    # A large profile (a million samples): the defaults and a few options.
    "large": [
        "top", "top -cum 5", "tree", "nodecount=4", "lines=true", "top",
        "focus=runtime", "top -cum", "o",
    ],
    # Help: the same commands and options in pprof's layout (the wording
    # is pyprof's own, see the README).
    "help": [
        "help", "help top", "help list", "help peek", "help tree",
        "help traces", "help nodecount", "help cum", "help lines",
        "help sample_index", "help focus", "help foo", "help o",
        "help granularity",
    ],
}

# Which sessions run on which profiles (names as in expected/).
RUNS = [
    ("reports", "sample.cpu"), ("options", "sample.cpu"),
    ("sample_index", "sample.cpu"), ("errors", "sample.cpu"),
    ("help", "sample.cpu"), ("regexps", "sample.cpu"), ("graphs", "sample.cpu"),
    ("graphs", "go.nomappings.crash"),
    ("reports", "go.nomappings.crash"), ("sample_index", "go.nomappings.crash"),
    ("options", "go.nomappings.crash"),
    ("reports", "cppbench.cpu_no_samples_type"),
    ("large", "large.cpu"),
]
PROFILE_PATHS = {
    "sample.cpu": SAMPLE,
    "go.nomappings.crash": HEAP,
    "cppbench.cpu_no_samples_type": CPPBENCH,
    "large.cpu": LARGE,
}


def script(session: str) -> bytes:
    return "".join(line + "\n" for line in SESSIONS[session]).encode()
