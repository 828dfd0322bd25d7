"""``pyprof record``: run a program under the sampler and write its profile.

The program runs as a child process. A private spool folder, put first on
its PYTHONPATH, holds a ``sitecustomize.py`` (pyprof/_bootstrap.py) that
starts the sampler when the child's interpreter starts; the program, and
every Python process it starts or forks unless ``--no-children`` is given,
appends its samples to a spool file of its own there (pyprof/spool.py).
This process only waits: it ignores Ctrl-C (the terminal sends it to the
child too) and forwards the other signals a user sends. When the program
has ended it waits briefly for processes still saving, merges every spool
file into one pprof file with a ``pid`` label on each sample, moves it
into place, prints one summary line on stderr and exits with the
program's status.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import List
from typing import Optional
from typing import Sequence
from typing import Tuple

import click

from pyprof import _bootstrap
from pyprof import heap
from pyprof import spool as spool_files
from pyprof.builder import build_multiprocess_cpu_profile
from pyprof.errors import PyprofError
from pyprof.errors import UsageError
from pyprof.session import MAX_RATE_HZ
from pyprof.session import MIN_RATE_HZ
from pyprof.session import check_max_frames
from pyprof.session import check_output_folder
from pyprof.session import check_rate

# Shell conventions for a command that cannot run.
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126

# Signals a user sends to "the program": passed on to the child.
FORWARDED_SIGNALS = ("SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")

USAGE_HINT = "usage: pyprof record [-o FILE] [--rate HZ] -- python app.py [ARGS...]"

# After the program ends, how long to wait for its other processes (a
# forkserver, a resource tracker, a daemon) to save their samples.
STRAGGLER_WAIT_S = 2.0


# Options end at COMMAND: everything after it belongs to the program.
@click.command(context_settings={"allow_interspersed_args": False})
@click.option(
    "-o",
    "--output",
    default="profile.pb.gz",
    show_default=True,
    metavar="FILE",
    help="Where to write the gzipped pprof profile.",
)
@click.option(
    "--rate",
    "rate_hz",
    type=int,
    default=100,
    show_default=True,
    metavar="HZ",
    help=f"Samples per second of CPU time, {MIN_RATE_HZ} to {MAX_RATE_HZ}.",
)
@click.option(
    "--max-frames",
    type=int,
    default=128,
    show_default=True,
    metavar="N",
    help="Deepest stack kept; deeper stacks are truncated in the middle.",
)
@click.option(
    "--children/--no-children",
    default=True,
    show_default=True,
    help="Also record the Python processes COMMAND starts or forks.",
)
@click.option(
    "--memory",
    is_flag=True,
    help="Also write a heap profile (Go's four heap sample types).",
)
@click.option(
    "--memory-output",
    default="heap.pb.gz",
    show_default=True,
    metavar="FILE",
    help="Where --memory writes the heap profile (implies --memory).",
)
@click.option(
    "--mem-rate",
    type=int,
    default=512 * 1024,
    show_default=True,
    metavar="BYTES",
    help="Mean bytes allocated between heap samples; 1 for all (implies --memory).",
)
@click.option(
    "--http",
    metavar="[HOST:]PORT",
    expose_value=False,
    callback=lambda ctx, param, value: _http_option(value),
    help="Serve /debug/pprof/ from the program while it runs "
    "(127.0.0.1 unless HOST is given; port 0 picks a free one).",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def record(
    output: str,
    rate_hz: int,
    max_frames: int,
    children: bool,
    memory: bool,
    memory_output: str,
    mem_rate: int,
    command: Sequence[str],
) -> None:
    """Run COMMAND under the profiler and write its CPU profile.

    COMMAND is `python app.py`, `python -m pkg`, a console script such as
    `pytest -x`, or a script path. Put `--` before it when it has options.
    Python processes it starts (subprocess, os.fork, multiprocessing) are
    recorded into the same profile, each sample labelled with its pid.
    pyprof exits with COMMAND's status.
    """
    check_rate(rate_hz)
    check_max_frames(max_frames)
    if not command:
        raise UsageError("recording: no command to run", hint=USAGE_HINT)
    check_output_folder(output)
    memory = memory or _given("memory_output") or _given("mem_rate")
    if memory:
        heap.check_rate(mem_rate)
        heap.check_distinct_output(memory_output, output)
    argv = resolve_command(list(command))
    if memory:
        heap.check_not_an_input(memory_output, argv)

    spool = tempfile.mkdtemp(prefix="pyprof-")
    try:
        env = child_environment(spool, rate_hz, max_frames, children)
        env[_bootstrap.ENV_MEM_RATE] = str(mem_rate if memory else 0)
        pid, returncode = run_child(argv, env)
        wrote = report_and_write(spool, output, command, returncode, pid)
        if memory and heap.write_recorded(spool, memory_output, command) is False:
            wrote = False
    finally:
        shutil.rmtree(spool, ignore_errors=True)
    status = 128 - returncode if returncode < 0 else returncode
    # A profile that could not be written fails a program that succeeded,
    # so that `pyprof record ... && pyprof top` stops there.
    sys.exit(1 if status == 0 and wrote is False else status)


def _given(name: str) -> bool:
    """True when the option was on the command line (not its default)."""
    ctx = click.get_current_context()
    return ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT


def _http_option(value: Optional[str]) -> Optional[str]:
    """--http: checked here, handed to the program as PYPROF_HTTP, which
    pyprof's start-up hook in the program reads (pyprof/_bootstrap.py)."""
    if value is not None:
        from pyprof.live.server import check_bindable
        from pyprof.live.server import parse_address

        host, port = parse_address(value)
        # Asked for on the command line: an address the program could not
        # serve on ends pyprof here, before the program starts.
        check_bindable(host, port)
        host = f"[{host}]" if ":" in host else host
        os.environ[_bootstrap.ENV_HTTP] = f"{host}:{port}"
    return value


def resolve_command(command: List[str]) -> List[str]:
    """The argv to execute for COMMAND, as a shell would find it.

    A bare name is looked up on PATH; a path (or a file in the current
    folder that is not on PATH) runs directly when it is executable and
    starts with ``#!`` or is a binary, and with this Python otherwise.
    """
    name = command[0]
    if "/" not in name:
        found = shutil.which(name)
        if found:
            return [found, *command[1:]]
        if not os.path.isfile(name):
            raise PyprofError(
                f"starting {name}: command not found",
                hint="check the spelling, or give the script's path",
                exit_code=EXIT_NOT_FOUND,
            )
    if not os.path.exists(name):
        raise PyprofError(
            f"starting {name}: no such file",
            hint="check the path of the script",
            exit_code=EXIT_NOT_FOUND,
        )
    if os.path.isdir(name):
        raise PyprofError(
            f"starting {name}: it is a folder, not a program",
            hint="give a script, or run a package with: python -m PACKAGE",
            exit_code=EXIT_NOT_EXECUTABLE,
        )
    if _runs_by_itself(name):
        return command
    if name.endswith((".py", ".pyw")) or _looks_like_python(name):
        return [sys.executable, *command]
    raise PyprofError(
        f"starting {name}: permission denied (not executable and not a Python script)",
        hint=f"chmod +x {name}, or run it as: pyprof record -- python {name}",
        exit_code=EXIT_NOT_EXECUTABLE,
    )


def _runs_by_itself(path: str) -> bool:
    """True for an executable file the kernel can start: #! script or binary."""
    if not os.access(path, os.X_OK) or not _any_exec_bit(path):
        return False
    with open(path, "rb") as src:
        head = src.read(4)
    return head.startswith(b"#!") or head == b"\x7fELF"


def _any_exec_bit(path: str) -> bool:
    # os.access(X_OK) is true for root whenever any x bit is set, and for
    # root with no x bit at all on some systems; check the mode as well.
    return bool(os.stat(path).st_mode & 0o111)


def _looks_like_python(path: str) -> bool:
    """A file with no extension that is not executable: try it with Python."""
    return "." not in os.path.basename(path)


def child_environment(
    spool: str, rate_hz: int, max_frames: int, children: bool = True
) -> dict:
    """The child's environment: ours plus what the bootstrap needs to start."""
    shutil.copyfile(_bootstrap.__file__, os.path.join(spool, "sitecustomize.py"))
    env = dict(os.environ)
    saved = env.get("PYTHONPATH")
    env[_bootstrap.ENV_PYTHONPATH] = "" if saved is None else "=" + saved
    env["PYTHONPATH"] = spool if not saved else spool + os.pathsep + saved
    env[_bootstrap.ENV_SPOOL] = spool
    env[_bootstrap.ENV_RATE] = str(rate_hz)
    env[_bootstrap.ENV_MAX_FRAMES] = str(max_frames)
    env[_bootstrap.ENV_IMPORT_PATH] = os.pathsep.join(_import_path())
    env[_bootstrap.ENV_CHILDREN] = "1" if children else "0"
    return env


def _import_path() -> List[str]:
    """Folders a child interpreter needs on sys.path to import pyprof's core."""
    import pyprof

    folders = [os.path.dirname(os.path.dirname(os.path.abspath(pyprof.__file__)))]
    try:
        import _cffi_backend

        backend = getattr(_cffi_backend, "__file__", None)
        if backend:
            folders.append(os.path.dirname(os.path.abspath(backend)))
    except ImportError:
        pass
    return list(dict.fromkeys(folders))


def run_child(argv: List[str], env: dict) -> Tuple[int, int]:
    """Run the program; return its pid and returncode (-N for death by
    signal N)."""
    try:
        child = subprocess.Popen(argv, env=env, close_fds=False)
    except FileNotFoundError as exc:
        raise PyprofError(
            f"starting {argv[0]}: {exc.strerror}",
            hint="check the #! line of the script",
            exit_code=EXIT_NOT_FOUND,
        ) from None
    except OSError as exc:
        raise PyprofError(
            f"starting {argv[0]}: {exc.strerror or exc}",
            hint="check that the file is a program or a Python script",
            exit_code=EXIT_NOT_EXECUTABLE,
        ) from None

    def forward(signum, frame):
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass

    previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN)}
    for name in FORWARDED_SIGNALS:
        signum = getattr(signal, name)
        previous[signum] = signal.signal(signum, forward)
    try:
        status = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return child.pid, status


def report_and_write(
    spool: str, output: str, command: Sequence[str], returncode: int, pid: int
) -> Optional[bool]:
    """Write the profile the processes left in the spool, or say why there
    is none.

    ``pid`` is the program's (the process this one started). Returns True
    when the profile was written, False when pyprof failed to write one it
    had, None when the program left none (killed before its first flush,
    or a Python that could not load pyprof).
    """
    _wait_for_stragglers(spool)
    processes = []
    for path in spool_files.list_files(spool):
        try:
            processes.append(spool_files.read(path))
        except OSError:
            continue
    processes = [p for p in processes if p.has_header]
    saved = any(p.ended for p in processes) or any(p.aggregate for p in processes)
    if saved:
        return _write_profile(processes, spool, output, command, returncode, pid)

    for kind in (_bootstrap.LOAD_ERROR_NOTE, _bootstrap.ERROR_NOTE):
        reason = _read_note(spool, kind, pid)
        if reason is not None:
            if kind == _bootstrap.LOAD_ERROR_NOTE:
                reason += (
                    "; run the program with the Python pyprof is installed "
                    f"for ({sys.executable})"
                )
            _say(f"no profile written: {reason}")
            return None
    if returncode < 0:
        _say(
            f"no profile written: the program was killed by "
            f"{_signal_name(-returncode)} before pyprof could save any samples"
        )
        return None
    if processes:
        _say(
            "no profile written: the program ended before pyprof could save "
            "any samples"
        )
        return None
    _say(
        "no profile written: the program never started pyprof's sampler "
        "(is it a Python program? python -E, -I and -S skip the start-up "
        "hook pyprof needs)"
    )
    return None


def _wait_for_stragglers(spool: str) -> None:
    """Give processes that outlive the program a moment to save (a
    multiprocessing forkserver ends when the program does, for one)."""
    deadline = time.monotonic() + STRAGGLER_WAIT_S
    while time.monotonic() < deadline:
        if not any(
            spool_files.is_running(spool_files.pid_of(os.path.basename(path)))
            and not spool_files.has_ended(path)
            for path in spool_files.list_files(spool)
        ):
            return
        time.sleep(0.02)


def _read_note(spool: str, kind: str, pid: int) -> Optional[str]:
    path = os.path.join(spool, f"{kind}-{pid}.txt")
    try:
        with open(path, encoding="utf-8", errors="replace") as src:
            return src.read().strip()
    except OSError:
        return None


def _notes(spool: str) -> List[str]:
    """Comments for the processes' notes (a child that ran another Python,
    a process whose last samples could not be saved)."""
    notes = []
    for kind in (_bootstrap.LOAD_ERROR_NOTE, _bootstrap.ERROR_NOTE):
        prefix = kind + "-"
        for name in sorted(os.listdir(spool)):
            if not (name.startswith(prefix) and name.endswith(".txt")):
                continue
            pid = name[len(prefix):-len(".txt")]
            if pid.isdigit():
                text = _read_note(spool, kind, int(pid))
                if text:
                    notes.append(f"pid {pid}: {text}")
    return notes


class _Merged:
    """Every process's spool, merged: totals, comments and the profile."""

    def __init__(self, processes: List[spool_files.ProcessSpool], top_pid: int):
        self.processes = processes
        self.top_pid = top_pid
        self.period_ns = next((p.period_ns for p in processes if p.period_ns), 1)
        self.start_ns = min(p.start_ns for p in processes)
        self.duration_ns = max(p.end_ns for p in processes) - self.start_ns
        self.samples = sum(p.sample_count for p in processes)
        periods = sum(c[1] for p in processes for c in p.aggregate.values())
        self.cpu_ns = periods * self.period_ns
        self.dropped = sum(int(p.stats.get("dropped", 0) or 0) for p in processes)
        self.truncated = sum(int(p.stats.get("truncated", 0) or 0) for p in processes)
        self.warnings = list(dict.fromkeys(w for p in processes for w in p.warnings))
        # A process that exec'd left a file without an end record; the
        # new program under the same pid starts a later file.
        later = {}
        for index, proc in enumerate(processes):
            later[proc.pid] = index
        self.exec_replaced = {
            id(p) for i, p in enumerate(processes)
            if later[p.pid] != i and not p.ended
        }
        unsaved = [
            p for p in processes if not p.ended and id(p) not in self.exec_replaced
        ]
        self.running = {id(p) for p in unsaved if spool_files.is_running(p.pid)}
        ended = [p for p in unsaved if id(p) not in self.running]
        self.recovered = [p for p in ended if p.aggregate]
        # Ended (killed, crashed, or a worker that Pool.terminate() ended)
        # before its first flush: whatever it did is not in the profile.
        self.lost = [p for p in ended if not p.aggregate]
        top = [p for p in processes if p.pid == top_pid]
        self.main_file = next(
            (p.main_file for p in reversed(top or processes) if p.main_file), ""
        )

    def process_comment(self, proc: spool_files.ProcessSpool) -> str:
        command = _one_line(" ".join(shlex.quote(part) for part in proc.argv))
        text = f"pid {proc.pid}"
        if proc.forked:
            text += f" (fork of pid {proc.ppid})"
        text += f": {command}"
        if id(proc) in self.exec_replaced:
            text += " [replaced by exec]"
        elif not proc.ended:
            if id(proc) in self.running:
                text += " [still running: samples up to its last flush]"
            elif not proc.aggregate:
                text += (
                    " [ended without saving, before its first flush: "
                    "its samples are missing]"
                )
            else:
                text += (
                    " [recovered from its spool: it ended without saving, so its "
                    "last half second may be missing]"
                )
        return text

    def comments(self, command_line: str, notes: List[str]) -> List[str]:
        lines = [command_line]
        if self.dropped:
            lines.append(f"{self.dropped} samples dropped: the sample buffer was full")
        if self.truncated:
            lines.append(f"{self.truncated} stacks truncated: deeper than --max-frames")
        lines.extend(self.warnings)
        lines.extend(self.process_comment(p) for p in self.processes)
        lines.extend(notes)
        return lines

    def profile(self, command_line: str, notes: List[str]):
        return build_multiprocess_cpu_profile(
            [(p.pid, p.aggregate) for p in self.processes],
            period_ns=self.period_ns,
            start_ns=self.start_ns,
            duration_ns=self.duration_ns,
            comments=self.comments(command_line, notes),
            main_file=self.main_file,
        )


def _one_line(text: str, limit: int = 200) -> str:
    """A command line fit for a one-line comment: control characters
    escaped, cut to limit characters."""
    text = "".join(
        ch if ch.isprintable() else _escape(ch)
        for ch in text
    )
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text or "?"


def _escape(ch: str) -> str:
    """One unprintable character as an escape; a byte that could not be
    decoded (a lone surrogate from surrogateescape) as \\xNN, as the
    profile's other strings write it (pyprof.builder._valid_utf8)."""
    if "\udc80" <= ch <= "\udcff":
        return "\\x%02x" % (ord(ch) - 0xDC00)
    return ch.encode("unicode_escape").decode("ascii")


def _write_profile(
    processes: List[spool_files.ProcessSpool],
    spool: str,
    output: str,
    command: Sequence[str],
    returncode: int,
    top_pid: int,
) -> bool:
    from pyprof import pprof

    merged = _Merged(processes, top_pid)
    command_line = " ".join(shlex.quote(part) for part in command)
    try:
        pprof.dump(merged.profile(command_line, _notes(spool)), output)
    except PyprofError as exc:
        click.echo(exc.format(), err=True)
        return False
    _say(summary(output, merged, returncode))
    return True


def summary(output: str, merged: _Merged, returncode: int = 0) -> str:
    """The one line printed after a profile is written."""
    parts = [
        f"wrote {output}: {merged.samples} samples",
        f"{merged.duration_ns / 1e9:.2f}s",
        f"{merged.cpu_ns / 1e9:.2f}s CPU",
    ]
    if len(merged.processes) > 1:
        parts.append(f"{len({p.pid for p in merged.processes})} processes")
    if merged.dropped:
        parts.append(f"{merged.dropped} dropped")
    if merged.truncated:
        parts.append(f"{merged.truncated} truncated")
    text = ", ".join(parts)
    if merged.recovered or merged.lost:
        if returncode < 0:
            text += f"; the program was killed by {_signal_name(-returncode)}"
    if merged.recovered:
        count = len(merged.recovered)
        text += (
            f"; {count} process{'es' if count > 1 else ''} recovered from the "
            f"spool (the last half second before each ended may be missing)"
        )
    if merged.lost:
        count = len(merged.lost)
        text += (
            f"; {count} process{'es' if count > 1 else ''} ended before "
            f"{'their' if count > 1 else 'its'} first flush, without saving: "
            f"{'their' if count > 1 else 'its'} samples are missing"
        )
    if merged.warnings:
        text += "; " + "; ".join(merged.warnings)
    return text


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _say(text: str) -> None:
    click.echo(f"pyprof: {text}", err=True)
