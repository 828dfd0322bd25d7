"""The shell's parts without a terminal: option values, a command's own
arguments, completion, pyprof's additions to pprof's syntax, and how
`pyprof FILE` reaches the shell."""

import io
import subprocess

import pytest

from pyprof import shell as sh
from sessions import SAMPLE
from shell_support import PYPROF
from shell_support import clean_env


def test_options_read_values_as_pprof_does():
    config = sh.Config()
    config.set("nodecount", "+7")
    config.set("nodefraction", "1e-05")
    config.set("mean", "yes")
    config.set("lines", "t")
    config.set("focus", "main\\.")

    assert config["nodecount"] == 7
    assert config.text("nodefraction") == "1e-05"
    assert config["mean"] is True
    assert config["granularity"] == "lines"
    assert config["focus"] == "main\\."
    for name, value, message in (
            ("nodecount", "1.5", 'strconv.Atoi: parsing "1.5": invalid syntax'),
            ("edgefraction", "1_0",
             'strconv.ParseFloat: parsing "1_0": invalid syntax'),
            ("trim", "nope", 'illegal value "nope" for bool variable'),
            ("sort", "size", 'invalid "sort" value "size"'),
            ("flat", "no", 'unknown config field "flat"')):
        with pytest.raises(sh.ShellError, match="^" + __import__("re").escape(message)):
            config.set(name, value)


@pytest.mark.parametrize("value, text", [
    (0.005, "0.005"), (1.0, "1"), (1e-05, "1e-05"), (123456.0, "123456"),
    (1e17, "100000000000000000"), (1e21, "1e+21"), (2.5e-07, "2.5e-07")])
def test_floats_print_as_go_prints_them(value, text):
    assert sh.go_float(value) == text


def test_a_commands_arguments_apply_to_it_alone():
    current = sh.Config()

    name, regexp, config = sh.parse_command(["top12", "-cum", "main", "-runtime",
                                             "x", ">out.txt"], current)

    assert (name, regexp) == ("top", None)
    assert config["nodecount"] == 12 and config["sort"] == "cum"
    assert config["focus"] == "main|x" and config["ignore"] == "runtime"
    assert config["output"] == "out.txt"
    assert current["sort"] == "flat" and current["focus"] == ""


def test_pyprof_takes_option_flags_on_a_command():
    name, regexp, config = sh.parse_command(
        ["list", "-lines", "busyLoop", "-nodefraction=0.1"], sh.Config())

    assert (name, regexp) == ("list", "busyLoop")
    assert config["granularity"] == "lines" and config["nodefraction"] == 0.1


@pytest.mark.parametrize("tokens, message", [
    (["proto"], "command proto is not available in pyprof (it has comments, dot, "
                "list, peek, png, raw, svg, text, top, traces, tree, web)"),
    (["nodecount", "5"], "did you mean: nodecount=5"),
    (["granularity"], 'unrecognized command: "granularity"'),
    (["peek", "-lines"], "command peek requires an argument"),
    (["top", ">"], "unexpected end of line after >"),
])
def test_bad_commands_say_why_in_one_line(tokens, message):
    with pytest.raises(sh.ShellError) as caught:
        sh.parse_command(tokens, sh.Config())
    assert str(caught.value) == message


def _run_lines(lines, tmp_path):
    done = subprocess.run([*PYPROF, "shell", str(SAMPLE)], capture_output=True,
                          text=True, input="".join(line + "\n" for line in lines),
                          cwd=tmp_path, env=clean_env(tmp_path), timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split(sh.PROMPT)[1:], done.stderr


def test_bare_cum_and_lines_work_like_name_equals_true(tmp_path):
    # go tool pprof 1.19 answers `unknown config field "cum"` to a bare
    # choice; pyprof sets it, as `cum=true` does in both.
    bare, err = _run_lines(["cum", "top 3", "lines", "top 2"], tmp_path)
    spelled, _ = _run_lines(["cum=true", "top 3", "lines=true", "top 2"], tmp_path)

    assert "unknown config field" not in err
    assert bare == spelled
    assert "main.busyLoop" in bare[1].splitlines()[3]  # sorted by cum
    assert "sample.go:" in bare[3]


def test_a_report_goes_to_a_file_with_gt(tmp_path):
    reports, err = _run_lines(["top 3 >out.txt", "top 3"], tmp_path)

    assert "Generating report in out.txt\n" in err
    assert reports[0] == ""  # nothing on the screen
    assert (tmp_path / "out.txt").read_text() == reports[1]
    assert reports[1].startswith("Showing nodes accounting for 1540ms, 87.50% of")


def test_errors_keep_the_session_going(tmp_path):
    reports, err = _run_lines(["gif", "list (", "sample_index=bytes",
                               "divide_by=2", "top 1"], tmp_path)

    assert err.splitlines()[-4:] == [
        "command gif is not available in pyprof (it has comments, dot, list, peek, "
        "png, raw, svg, text, top, traces, tree, web)",
        "parsing argument regexp (: error parsing regexp: missing closing ): `(`",
        'sample_index "bytes" must be one of: [samples cpu]',
        "option divide_by is not available in pyprof",
    ]
    assert "Showing top 1 nodes out of 14" in reports[4]


def test_completion_offers_commands_options_values_and_functions():
    c = sh.Completer(["main.busyLoop", "main.main", "runtime.mapiternext"],
                     ["samples", "cpu"])

    assert c.candidates([], "tr") == ["traces", "tree", "trim", "trim_path"]
    assert c.candidates([], "sample_index=c") == ["sample_index=cpu"]
    assert c.candidates([], "granularity=fi") == [
        "granularity=filefunctions", "granularity=files"]
    assert c.candidates([], "focus=main.b") == ["focus=main.busyLoop"]
    assert c.candidates(["list"], "main.") == ["main.busyLoop", "main.main"]
    # A unique substring completes too.
    assert c.candidates(["peek"], "mapiter") == ["runtime.mapiternext"]
    assert c.candidates(["top10"], "-runtime.m") == ["-runtime.mapiternext"]
    assert c.candidates(["top"], "-li") == ["-lines"]
    assert c.candidates(["help"], "nodec") == ["nodecount"]
    assert c.candidates(["top"], "-c") == ["-cum"]
    assert c.candidates([], "sample_index=") == ["sample_index=samples",
                                                 "sample_index=cpu"]
    # A unique option name that takes a value is followed by "=", others
    # by a space.
    assert [c.complete(t, 0) for t in ("sample_i", "nodec", "cu", "tre")] == [
        "sample_index=", "nodecount=", "cum ", "tree "]


def test_plain_ui_reads_lines_and_prints_prompts():
    out = io.StringIO()
    out.buffer = io.BytesIO()
    ui = sh.PlainUI(io.StringIO("top\nlast"), out, io.StringIO())

    assert [ui.read_line("(pprof) "), ui.read_line("(pprof) "),
            ui.read_line("(pprof) ")] == ["top", "last", None]
    assert out.getvalue() == "(pprof) " * 3


def test_pyprof_file_opens_the_shell(tmp_path):
    done = subprocess.run([*PYPROF, str(SAMPLE), "-cum"], input="top 2\n",
                          capture_output=True, text=True, env=clean_env(tmp_path),
                          timeout=60)

    assert done.returncode == 0, done.stderr
    assert "Entering interactive mode" in done.stderr
    assert done.stdout.splitlines()[3].endswith("main.busyLoop")  # -cum applied


@pytest.mark.parametrize("args, status, first", [
    (["--version"], 0, "version 0.1.0"),
    (["--help"], 0, "Usage: "),
    (["frobnicate"], 2, "no such command 'frobnicate'"),
    (["missing.pb.gz"], 1, "pyprof: error: reading missing.pb.gz: "),
])
def test_the_group_still_answers_help_version_and_unknown_commands(
        args, status, first, tmp_path):
    done = subprocess.run([*PYPROF, *args], capture_output=True, text=True,
                          cwd=tmp_path, env=clean_env(tmp_path), timeout=60)
    text = done.stdout + done.stderr

    assert done.returncode == status
    assert first in text.splitlines()[0], text
    assert "Traceback" not in text
    if status:
        assert len(text.splitlines()) <= 2  # the error and a hint


def test_a_failing_report_prints_one_line_and_the_session_goes_on(monkeypatch):
    monkeypatch.delenv("PYPROF_DEBUG", raising=False)
    calls = []

    def broken(command, regexp, settings):
        calls.append(command)
        raise ValueError("boom")

    out = io.StringIO()
    out.buffer = io.BytesIO()
    err = io.StringIO()
    ui = sh.PlainUI(io.StringIO("top\ntop 2\n"), out, err)
    sh.Shell(ui, sh.Config(), ["cpu"], broken, lambda v: v).run()

    assert calls == ["top", "top"]
    assert err.getvalue().splitlines() == [
        "internal error running 'top': ValueError: boom (PYPROF_DEBUG=1 shows where)",
        "internal error running 'top 2': ValueError: boom (PYPROF_DEBUG=1 shows where)",
    ]


def test_bytes_that_are_not_utf8_are_refused_and_echoed_as_go_does(tmp_path):
    done = subprocess.run([*PYPROF, "shell", str(SAMPLE)],
                          input=b"list b\xff\xfec\nfocus=\xe9\ntop 1\n",
                          capture_output=True, cwd=tmp_path, env=clean_env(tmp_path),
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-2:] == [
        b"parsing argument regexp b\xff\xfec: error parsing regexp: invalid UTF-8: "
        b"`\xff\xfec`",
        b"parsing focus regexp: error parsing regexp: invalid UTF-8: `\xe9`",
    ]


@pytest.mark.parametrize("pattern, code, expr", [
    ("a{1001}", "invalid repeat count", "{1001}"),
    ("a{0,1001}", "invalid repeat count", "{0,1001}"),
    ("(ab{10}){101}", "invalid repeat count", "{101}"),
    ("((a{3}b){3}){112}", "invalid repeat count", "{112}"),
    ("a+{2}", "invalid nested repetition operator", "+{2}"),
    ("a??+", "invalid nested repetition operator", "??+"),
])
def test_expressions_go_refuses_are_refused(pattern, code, expr):
    from pyprof import goregexp

    with pytest.raises(goregexp.GoSyntaxError) as caught:
        goregexp.compile(pattern)
    assert (caught.value.code, caught.value.expr) == (code, expr)


@pytest.fixture(params=["re2", "re"])
def matcher(request, monkeypatch):
    """goregexp with google-re2 (a test dependency) and without it."""
    from pyprof import goregexp

    import re2  # noqa: F401 (must be installed: pip install -e '.[test]')

    if request.param == "re":
        monkeypatch.setattr(goregexp, "_RE2", False)
    return goregexp


@pytest.mark.parametrize("pattern", ["a{1000}", "(ab{10}){100}", "((a{3}b){3}){111}",
                                     "((a{900}){0}){2}", "a{2,}{", "a*?b+?c??"])
def test_expressions_go_takes_are_taken(pattern, matcher):
    assert matcher.compile(pattern) is not None


@pytest.mark.parametrize("pattern, text, found", [
    (r"^(?:main\.busy.*)$", "main.busyLoop", True),
    (r"\bmap\b", "runtime.map.x", True),
    (r"\d+", "x\u0663", False),  # \d is ASCII
    (r"[[:upper:]]\w+", "Pricer.price", True),
    (r"h\xe4ufig", "h\xe4ufig", True),
    ("busy", "main.\udcffbusy", True),  # a name that was not UTF-8
])
def test_both_matchers_agree_with_go(pattern, text, found, matcher):
    assert bool(matcher.compile(pattern).search(text)) is found


def test_with_re2_dollar_is_the_end_of_the_text_and_backtracking_is_gone():
    import time

    from pyprof import goregexp

    # Without re2, $ also matches before a final newline (goregexp's
    # Limitation), and this expression takes hours (the README's).
    assert goregexp.compile(r"^(?:main)$").match("main\n") is None
    started = time.monotonic()
    assert goregexp.compile(r"(.|.)*Z$").search("x" * 5000) is None
    assert time.monotonic() - started < 5


def test_an_unknown_sample_index_on_the_command_line_is_said_in_the_shell(tmp_path):
    from sessions import HEAP
    from shell_support import GO
    from shell_support import go_to_pyprof

    lines = b"top 1\no\nsample_index=1\ntop 1\n"
    runs = {}
    for name, command in (("py", [*PYPROF, "shell"]), ("go", [GO, "tool", "pprof"])):
        if command[0]:
            runs[name] = subprocess.run([*command, "-sample_index=bogus", str(HEAP)],
                                        input=lines, capture_output=True, cwd=tmp_path,
                                        env=clean_env(tmp_path), timeout=120)
    done = runs["py"]
    assert done.returncode == 0, done.stderr
    err = done.stderr.decode().splitlines()
    # No header (it would need the sample type); each report says why.
    assert err[:2] == [
        'Entering interactive mode (type "help" for commands, "o" for options)',
        'sample_index "bogus" must be one of: '
        '[alloc_objects alloc_space inuse_objects inuse_space]',
    ]
    assert any(line.startswith("  sample_index              = bogus ") for line in err)
    assert "Showing nodes accounting for" in done.stdout.decode()
    if "go" in runs:
        assert done.stdout == runs["go"].stdout
        assert done.stderr.decode() == go_to_pyprof(runs["go"].stderr.decode())


def test_unknown_command_has_one_prefix_and_the_guess_in_the_hint(tmp_path):
    done = subprocess.run([*PYPROF, "topp"], capture_output=True, text=True,
                          cwd=tmp_path, env=clean_env(tmp_path), timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "pyprof: error: no such command 'topp', and no file of that name",
        "hint: did you mean 'top'? see 'pyprof --help'",
    ]


def test_a_file_named_like_a_command_is_pointed_at_with_dot_slash(tmp_path):
    (tmp_path / "top").write_bytes(SAMPLE.read_bytes())
    done = subprocess.run([*PYPROF, "top"], capture_output=True, text=True,
                          cwd=tmp_path, env=clean_env(tmp_path), timeout=60)
    opened = subprocess.run([*PYPROF, "./top"], input="top 1\n", capture_output=True,
                            text=True, cwd=tmp_path, env=clean_env(tmp_path),
                            timeout=60)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "pyprof: error: reading profile.pb.gz: no such file",
        "hint: `pyprof top` ran the top command; "
        "`pyprof ./top` opens the file top here",
    ]
    assert opened.returncode == 0, opened.stderr
    assert "Showing top 1 nodes out of 14" in opened.stdout


def _web(tmp_path, **env):
    (tmp_path / "tmp").mkdir()
    environment = clean_env(tmp_path, TMPDIR=str(tmp_path / "tmp"), **env)
    environment.pop("DISPLAY", None)
    if "BROWSER" not in env:
        environment.pop("BROWSER", None)
    return subprocess.run([*PYPROF, "shell", str(SAMPLE)], input="web 5\nquit\n",
                          capture_output=True, text=True, cwd=tmp_path,
                          env=environment, timeout=120)


def test_web_opens_the_svg_in_browser_and_removes_it_on_leaving(tmp_path):
    browser = tmp_path / "browser"
    browser.write_text("#!/bin/sh\necho \"$1\" > \"$0.args\"; cp \"$1\" \"$0.svg\"\n")
    browser.chmod(0o755)
    done = _web(tmp_path, BROWSER=str(browser))

    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1].startswith("Entering interactive mode")
    opened = (tmp_path / "browser.args").read_text().strip()
    assert opened == str(tmp_path / "tmp" / "pprof001.svg")
    svg = (tmp_path / "browser.svg").read_text()
    assert "<svg" in svg and "busyLoop" in svg
    assert list((tmp_path / "tmp").iterdir()) == []  # removed when the shell ended


def test_web_without_a_browser_says_where_the_svg_is(tmp_path):
    import shutil

    bin_dir = tmp_path / "bin"  # Graphviz's dot, and no browser
    bin_dir.mkdir()
    (bin_dir / "dot").symlink_to(shutil.which("dot"))
    done = _web(tmp_path, PATH=str(bin_dir))

    kept = tmp_path / "tmp" / "pprof001.svg"
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"No browser to open {kept} (set BROWSER to one); the graph is in that file")
    assert "<svg" in kept.read_text()
