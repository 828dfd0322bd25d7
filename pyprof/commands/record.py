"""``pyprof record``: run a program under the sampler and write its profile.

The program runs as a child process. A private spool folder, put first on
its PYTHONPATH, holds a ``sitecustomize.py`` (pyprof/_bootstrap.py) that
starts the sampler when the child's interpreter starts and saves the raw
recording there when the program ends. This process only waits: it ignores
Ctrl-C (the terminal sends it to the child too), forwards the other
signals a user sends, then builds the pprof file from the recording, moves
it into place, prints one summary line on stderr and exits with the
child's status.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from typing import List
from typing import Optional
from typing import Sequence

import click

from pyprof import _bootstrap
from pyprof.errors import PyprofError
from pyprof.errors import UsageError
from pyprof.session import MAX_RATE_HZ
from pyprof.session import MIN_RATE_HZ
from pyprof.session import Profile
from pyprof.session import Recording
from pyprof.session import check_max_frames
from pyprof.session import check_output_folder
from pyprof.session import check_rate

# Shell conventions for a command that cannot run.
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126

# Signals a user sends to "the program": passed on to the child.
FORWARDED_SIGNALS = ("SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")

USAGE_HINT = "usage: pyprof record [-o FILE] [--rate HZ] -- python app.py [ARGS...]"


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
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def record(output: str, rate_hz: int, max_frames: int, command: Sequence[str]) -> None:
    """Run COMMAND under the profiler and write its CPU profile.

    COMMAND is `python app.py`, `python -m pkg`, a console script such as
    `pytest -x`, or a script path. Put `--` before it when it has options.
    pyprof exits with COMMAND's status.
    """
    check_rate(rate_hz)
    check_max_frames(max_frames)
    if not command:
        raise UsageError("recording: no command to run", hint=USAGE_HINT)
    check_output_folder(output)
    argv = resolve_command(list(command))

    spool = tempfile.mkdtemp(prefix="pyprof-")
    try:
        returncode = run_child(argv, child_environment(spool, rate_hz, max_frames))
        wrote = report_and_write(spool, output, command, returncode)
    finally:
        shutil.rmtree(spool, ignore_errors=True)
    status = 128 - returncode if returncode < 0 else returncode
    # A profile that could not be written fails a program that succeeded,
    # so that `pyprof record ... && pyprof top` stops there.
    sys.exit(1 if status == 0 and wrote is False else status)


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


def child_environment(spool: str, rate_hz: int, max_frames: int) -> dict:
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


def run_child(argv: List[str], env: dict) -> int:
    """Run the program; return its returncode (-N for death by signal N)."""
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
    return status


def report_and_write(
    spool: str, output: str, command: Sequence[str], returncode: int
) -> Optional[bool]:
    """Write the profile the child left in the spool, or say why there is none.

    Returns True when the profile was written, False when pyprof failed to
    write one it had, None when the program left none (killed, or a Python
    that could not load pyprof).
    """
    recording_path = os.path.join(spool, _bootstrap.RECORDING_FILE)
    if os.path.exists(recording_path):
        return _write_profile(recording_path, output, command)
    for name in (_bootstrap.LOAD_ERROR_FILE, _bootstrap.ERROR_FILE):
        path = os.path.join(spool, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as src:
                reason = src.read().strip()
            if name == _bootstrap.LOAD_ERROR_FILE:
                reason += (
                    "; run the program with the Python pyprof is installed "
                    f"for ({sys.executable})"
                )
            _say(f"no profile written: {reason}")
            return None
    if returncode < 0:
        _say(
            f"no profile written: the program was killed by "
            f"{_signal_name(-returncode)} before pyprof could save its samples"
        )
        return None
    if os.path.exists(os.path.join(spool, _bootstrap.STARTED_FILE)):
        _say(
            "no profile written: the program ended without running its exit "
            "handlers (os._exit?), so its samples were never saved"
        )
        return None
    _say(
        "no profile written: the program never started pyprof's sampler "
        "(is it a Python program? python -E, -I and -S skip the start-up "
        "hook pyprof needs)"
    )
    return None


def _write_profile(recording_path: str, output: str, command: Sequence[str]) -> bool:
    try:
        recording = Recording.load(recording_path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _say(f"no profile written: the program's recording is unreadable ({exc})")
        return False
    command_line = " ".join(shlex.quote(part) for part in command)
    try:
        Profile(recording, command_line=command_line).write(output)
    except PyprofError as exc:
        click.echo(exc.format(), err=True)
        return False
    _say(summary(output, recording))
    return True


def summary(output: str, recording: Recording) -> str:
    """The one line printed after a profile is written."""
    parts = [
        f"wrote {output}: {recording.sample_count} samples",
        f"{recording.duration_ns / 1e9:.2f}s",
        f"{recording.cpu_ns / 1e9:.2f}s CPU",
    ]
    dropped = int(recording.stats.get("dropped", 0) or 0)
    truncated = int(recording.stats.get("truncated", 0) or 0)
    if dropped:
        parts.append(f"{dropped} dropped")
    if truncated:
        parts.append(f"{truncated} truncated")
    text = ", ".join(parts)
    if recording.warnings:
        text += "; " + "; ".join(recording.warnings)
    return text


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _say(text: str) -> None:
    click.echo(f"pyprof: {text}", err=True)
