"""Child side of ``pyprof record``: start the sampler as the interpreter starts.

``pyprof record`` copies this file as ``sitecustomize.py`` into a private
spool folder and puts that folder first on the child's PYTHONPATH, so the
interpreter's ``site`` module imports it before the program runs. It then:

1. undoes what the parent changed (PYTHONPATH, the PYPROF_* variables,
   its own folder on sys.path), so the program and its own children see
   the environment they would have seen without pyprof;
2. imports the sitecustomize that this one shadows, if there is one;
3. starts a sampler session, and writes the recording as JSON into the
   spool folder when the program ends: at exit (return, sys.exit, an
   uncaught exception, Ctrl-C) or on SIGTERM while the program leaves
   SIGTERM at its default action.

When pyprof cannot be loaded (another Python than the one pyprof is
installed for) the program runs anyway; the reason goes to a file in the
spool folder for the parent to report. This file must stay importable on
its own: it runs as a top-level module, not as part of the pyprof package.

Limitation: the SIGTERM handler is a Python-level one, so a program that
asks ``signal.getsignal(SIGTERM)`` sees it instead of SIG_DFL; a program
that installs its own handler replaces it and then saves no profile on
SIGTERM unless it exits normally (sys.exit in its handler is enough).
"""

import os
import sys

# Environment variables set by the parent (pyprof/commands/record.py).
ENV_SPOOL = "PYPROF_SPOOL"  # spool folder; also marks a child of pyprof record
ENV_RATE = "PYPROF_RATE_HZ"
ENV_MAX_FRAMES = "PYPROF_MAX_FRAMES"
ENV_IMPORT_PATH = "PYPROF_IMPORT_PATH"  # folders needed to import pyprof
ENV_PYTHONPATH = "PYPROF_PYTHONPATH"  # "=<value>" if PYTHONPATH was set, else ""

RECORDING_FILE = "recording.json"
LOAD_ERROR_FILE = "load-error.txt"  # this Python cannot import pyprof
ERROR_FILE = "error.txt"  # pyprof loaded but could not start or save
STARTED_FILE = "started"  # the sampler ran; a missing recording is then news


def _restore_environment(spool: str) -> dict:
    """Remove every trace of the parent's set-up; return its settings."""
    env = os.environ
    settings = {
        "rate_hz": env.pop(ENV_RATE, "100"),
        "max_frames": env.pop(ENV_MAX_FRAMES, "128"),
        "import_path": env.pop(ENV_IMPORT_PATH, ""),
    }
    saved = env.pop(ENV_PYTHONPATH, "")
    if saved.startswith("="):
        env["PYTHONPATH"] = saved[1:]
    else:
        env.pop("PYTHONPATH", None)

    here = os.path.realpath(spool)
    sys.path[:] = [p for p in sys.path if not p or os.path.realpath(p) != here]
    return settings


def _chain_sitecustomize() -> None:
    """Import the sitecustomize module this file stands in for, as site would."""
    ours = sys.modules.pop("sitecustomize", None)
    try:
        import sitecustomize  # noqa: F401  (the next one on sys.path)
    except ImportError as exc:
        if exc.name != "sitecustomize":
            _report_sitecustomize_error(exc)
    except Exception as exc:  # site prints these and carries on; so do we
        _report_sitecustomize_error(exc)
    finally:
        # The import system expects a module under this name when this file
        # finishes: the real one if it loaded, else this one.
        if "sitecustomize" not in sys.modules and ours is not None:
            sys.modules["sitecustomize"] = ours


def _report_sitecustomize_error(exc: BaseException) -> None:
    if sys.flags.verbose:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    else:
        sys.stderr.write(
            "Error in sitecustomize; set PYTHONVERBOSE for traceback:\n"
            f"{type(exc).__name__}: {exc}\n"
        )


def _leave_note(spool: str, text: str, name: str = ERROR_FILE) -> None:
    """Leave a note for the parent in the spool folder; best effort."""
    try:
        with open(os.path.join(spool, name), "w", encoding="utf-8") as out:
            out.write(text)
    except OSError:
        pass


def _import_session(import_path: str):
    """Import pyprof.session, borrowing pyprof's folders only for the import."""
    extra = [p for p in import_path.split(os.pathsep) if p and p not in sys.path]
    sys.path.extend(extra)
    try:
        import pyprof.session as session
        import pyprof._sampler  # noqa: F401  (load the C core now, not at exit)
    finally:
        for folder in extra:
            if folder in sys.path:
                sys.path.remove(folder)
    return session


class _Writer:
    """Stops the session once and saves its recording in the spool folder."""

    def __init__(self, session_module, session, spool: str) -> None:
        self.session_module = session_module
        self.session = session
        self.spool = spool
        self.pid = os.getpid()
        self.done = False
        self.terminating = False

    def write(self) -> None:
        # A forked child inherits atexit handlers and signal handlers; only
        # the process pyprof started writes the recording.
        if self.done or os.getpid() != self.pid:
            return
        self.done = True
        try:
            main_file = self.session_module.main_file_of()
            recording = self.session.stop(main_file=main_file)
            recording.save(os.path.join(self.spool, RECORDING_FILE))
        except Exception as exc:
            _leave_note(self.spool, f"saving the recording failed: {exc}")

    def on_sigterm(self, signum, frame) -> None:
        """Save, then die by SIGTERM as the program would have without us."""
        import signal

        # A second SIGTERM while saving (the terminal's and the parent's
        # forwarded copy, say) must not cut the first one short.
        if self.terminating:
            return
        self.terminating = True
        self.write()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)


def _start(spool: str, settings: dict) -> None:
    try:
        session_module = _import_session(settings["import_path"])
    except Exception as exc:
        version = "%d.%d" % sys.version_info[:2]
        _leave_note(
            spool,
            f"{os.path.basename(sys.executable)} (CPython {version}) cannot load "
            f"pyprof: {type(exc).__name__}: {exc}",
            LOAD_ERROR_FILE,
        )
        return
    try:
        session = session_module.Session(
            rate_hz=int(settings["rate_hz"]), max_frames=int(settings["max_frames"])
        )
        session.start()
    except Exception as exc:
        text = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        _leave_note(spool, text.replace("\n", "; "))
        return

    import atexit
    import signal

    _leave_note(spool, str(os.getpid()), STARTED_FILE)
    writer = _Writer(session_module, session, spool)
    atexit.register(writer.write)
    try:
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, writer.on_sigterm)
    except ValueError:  # not the main thread: cannot happen at start-up
        pass


def _boot() -> None:
    spool = os.environ.pop(ENV_SPOOL, None)
    if not spool:
        return
    settings = _restore_environment(spool)
    _chain_sitecustomize()
    _start(spool, settings)


if __name__ == "sitecustomize":
    _boot()
