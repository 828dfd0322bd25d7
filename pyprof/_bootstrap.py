"""Child side of ``pyprof record``: start the sampler as the interpreter starts.

``pyprof record`` copies this file as ``sitecustomize.py`` into a private
spool folder and puts that folder first on the child's PYTHONPATH, so the
interpreter's ``site`` module imports it before the program runs. It then:

1. undoes what the parent changed (the PYPROF_* variables, its own folder
   on sys.path, and PYTHONPATH unless children are followed), so the
   program sees the environment it would have seen without pyprof;
2. imports the sitecustomize that this one shadows, if there is one;
3. starts a sampler session that appends its samples to a file of its
   own in the spool folder (pyprof/spool.py) every half second, and
   its last samples when the program ends: at exit (return, sys.exit, an
   uncaught exception, Ctrl-C), on os._exit, or on SIGTERM while the
   program leaves SIGTERM at its default action. A process that dies
   otherwise (SIGKILL, a crash) leaves all but its last half second.

Child processes: unless ``pyprof record --no-children`` is used, the
program's PYTHONPATH keeps the spool folder in front (the one trace of
pyprof in its environment), so every Python process it starts imports this
file too; those find their settings in the spool folder's settings file.
A fork of a sampled process starts sampling itself, into a new file, in
the child's fork hook (the parent's samples stay the parent's).

When pyprof cannot be loaded (another Python than the one pyprof is
installed for) the program runs anyway; the reason goes to a file in the
spool folder for the parent to report. This file must stay importable on
its own: it runs as a top-level module, not as part of the pyprof package.

Limitation: the SIGTERM handler is a Python-level one, so a program that
asks ``signal.getsignal(SIGTERM)`` sees it instead of SIG_DFL; a program
that installs its own handler replaces it and then saves no profile on
SIGTERM unless it exits normally (sys.exit in its handler is enough). Its
children get no such handler: a SIGTERM ends them as without pyprof, and
their spool gives all but the last half second.
"""

import os
import sys

# Environment variables set by the parent (pyprof/commands/record.py).
ENV_SPOOL = "PYPROF_SPOOL"  # spool folder; also marks a child of pyprof record
ENV_RATE = "PYPROF_RATE_HZ"
ENV_MAX_FRAMES = "PYPROF_MAX_FRAMES"
ENV_IMPORT_PATH = "PYPROF_IMPORT_PATH"  # folders needed to import pyprof
ENV_PYTHONPATH = "PYPROF_PYTHONPATH"  # "=<value>" if PYTHONPATH was set, else ""
# [HOST:]PORT to serve /debug/pprof/ on (pyprof record --http, or set by
# the user); read by the process pyprof record starts, not by its children.
ENV_HTTP = "PYPROF_HTTP"
# Its value in the process pyprof record starts ("" elsewhere); the server's
# modules are imported before sampling starts, so that the recording does
# not show pyprof importing them as the program's work.
_http = ""
ENV_CHILDREN = "PYPROF_CHILDREN"  # "1": follow child processes
ENV_MEM_RATE = "PYPROF_MEM_RATE"  # bytes per heap sample; "0": no heap profile
HEAP_FILE = "heap-{pid}.json"  # a process's heap snapshot (pyprof._memory)

SETTINGS_FILE = "settings.json"  # the program's settings, for its children
# Notes for the parent, one per process: "<kind>-<pid>.txt".
LOAD_ERROR_NOTE = "load-error"  # this Python cannot import pyprof
ERROR_NOTE = "error"  # pyprof loaded but could not start or save

# How often a process appends its new samples to its spool file.
FLUSH_INTERVAL_S = 0.5
# When a new process (or fork) first does: sooner, so that a short-lived
# one ended by a signal it cannot save on (a pool worker that
# Pool.terminate() ends) still leaves what it did up to then; the next
# flushes follow every FLUSH_INTERVAL_S.
FIRST_FLUSH_S = 0.1
# How often a process with a heap profile replaces its heap snapshot in the
# spool folder (what is left of it when it is killed or crashes); longer
# when taking one takes more than a fortieth of that, so that pyprof's
# drain thread never holds the GIL for more than 2.5% of the time.
HEAP_INTERVAL_S = 0.5


class _Nothing:
    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> bool:
        return False


_NOTHING = _Nothing()


def _own_work():
    """A block of pyprof's own work: its allocations stay out of the heap
    profile (pyprof._memory.pyprofs_own_work), when there is one."""
    memory = sys.modules.get("pyprof._memory")
    return _NOTHING if memory is None else memory.pyprofs_own_work()


def _restore_environment(spool: str) -> dict:
    """Remove the parent's set-up from the environment; return its settings.

    When child processes are followed, PYTHONPATH keeps the spool folder in
    front and the settings go to the spool folder for the children.
    """
    env = os.environ
    settings = {
        "rate_hz": env.pop(ENV_RATE, "100"),
        "max_frames": env.pop(ENV_MAX_FRAMES, "128"),
        "import_path": env.pop(ENV_IMPORT_PATH, ""),
        "children": env.pop(ENV_CHILDREN, "0"),
        "mem_rate": env.pop(ENV_MEM_RATE, "0"),
    }
    saved = env.pop(ENV_PYTHONPATH, "")
    if settings["children"] == "1":
        _save_settings(spool, settings)
    elif saved.startswith("="):
        env["PYTHONPATH"] = saved[1:]
    else:
        env.pop("PYTHONPATH", None)
    _hide_folder(spool)
    return settings


def _hide_folder(spool: str) -> None:
    """Take the spool folder off sys.path: the program does not see it."""
    here = os.path.realpath(spool)
    sys.path[:] = [p for p in sys.path if not p or os.path.realpath(p) != here]


def _save_settings(spool: str, settings: dict) -> None:
    import json

    path = os.path.join(spool, SETTINGS_FILE)
    try:
        with open(path + ".tmp", "w", encoding="utf-8") as out:
            json.dump(settings, out)
        os.replace(path + ".tmp", path)
    except OSError:
        pass


def _load_settings(spool: str):
    """The settings a child finds in the spool folder, or None."""
    import json

    try:
        with open(os.path.join(spool, SETTINGS_FILE), encoding="utf-8") as src:
            settings = json.load(src)
    except (OSError, ValueError):
        return None
    return settings if isinstance(settings, dict) else None


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


def _leave_note(spool: str, text: str, kind: str = ERROR_NOTE) -> None:
    """Leave this process's note for the parent in the spool folder; best
    effort (the folder is gone when the process outlives pyprof record)."""
    name = f"{kind}-{os.getpid()}.txt"
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
        if _http:
            try:
                import pyprof._memory  # noqa: F401  (the server starts it)
                import pyprof.heap  # noqa: F401
                import pyprof.live.server  # noqa: F401
            except Exception:  # _serve_http says so, after the recording starts
                pass
    finally:
        for folder in extra:
            if folder in sys.path:
                sys.path.remove(folder)
    return session


# This process's recorder: the one that saves at exit, on SIGTERM and on
# os._exit. A fork child gets its own (see _on_fork_child).
_current = None
_terminating = False
# Set when the process has begun to exit (atexit or os._exit) and is
# saving: a SIGTERM then (multiprocessing sends one to pool workers that
# seem slow to leave) must not cut the save short; without pyprof the
# process would already be gone, so the signal is ignored.
_exiting = False


class _Recorder:
    """Spools one process's samples to its own file and saves the rest
    when the process ends."""

    def __init__(self, session_module, session, spool: str, forked: bool) -> None:
        import _thread
        import time

        from pyprof import spool as spool_module

        self.session_module = session_module
        self.session = session
        self.spool = spool
        self.pid = os.getpid()
        self.once = _thread.allocate_lock()  # held for good by finish()
        self.monotonic = time.monotonic
        self.next_flush = time.monotonic() + FIRST_FLUSH_S
        self.next_heap = time.monotonic() + FIRST_FLUSH_S  # as for samples
        self.heap_lock = _thread.allocate_lock()
        self.heap_saved = False  # the last heap snapshot is in the spool
        self.heap_spooled = False  # a periodic one was taken
        sampler = session.sampler
        self.process = {
            "pid": self.pid,
            "ppid": os.getppid(),
            "argv": spool_module.command_line_of_self(),
            "forked": forked,
            "start_ns": session.start_ns,
        }
        self.writer = spool_module.Writer(spool, {
            "ppid": self.process["ppid"],
            "argv": self.process["argv"],
            "forked": forked,
            "start_ns": session.start_ns,
            "period_ns": sampler.period_ns,
        }, lazy=forked)
        sampler.on_drain = self.on_drain

    def on_drain(self) -> None:
        """On the drain thread: append what was sampled since the last flush."""
        now = self.monotonic()
        if now < self.next_flush or self.once.locked():
            return
        self.next_flush = now + FLUSH_INTERVAL_S
        sampler = self.session.sampler
        try:
            self.writer.samples(sampler.take(final=False))
        except Exception as exc:
            sampler.on_drain = None
            _leave_note(self.spool, f"spooling samples failed: {exc}")
        if self.session.mem_rate and now >= self.next_heap:
            self.spool_heap()

    def spool_heap(self) -> None:
        """On the drain thread: replace this process's heap snapshot in
        the spool folder with the current one, unless the last one is in."""
        with self.heap_lock:
            if self.heap_saved or self.once.locked():
                return
            began = self.monotonic()
            try:
                heap = sys.modules["pyprof.heap"]
                if not heap.running():
                    return
                with _own_work():
                    snap = heap.snapshot(self.session_module.main_file_of())
                    snap.ended = False
                    self.save_heap(snap)
            except Exception as exc:
                self.session.mem_rate = 0  # no more tries
                _leave_note(self.spool, f"spooling the heap profile failed: {exc}")
            # The first one's time is mostly one-off imports: not a measure.
            took = (self.monotonic() - began) if self.heap_spooled else 0.0
            self.heap_spooled = True
            self.next_heap = self.monotonic() + max(HEAP_INTERVAL_S, 40 * took)

    def save_heap(self, snap) -> None:
        snap.process = self.process
        snap.save(os.path.join(self.spool, HEAP_FILE.format(pid=self.pid)))

    def finish(self) -> None:
        """Stop sampling and save the last samples: once, and only in the
        process this recorder belongs to (a fork child inherits the parent's
        atexit and signal handlers)."""
        with _own_work():
            if os.getpid() != self.pid or not self.once.acquire(False):
                return
            self._finish()

    def _finish(self) -> None:
        try:
            main_file = self.session_module.main_file_of()
            recording = self.session.stop(main_file=main_file)
            if self.session.heap_snapshot is not None:
                with self.heap_lock:
                    self.save_heap(self.session.heap_snapshot)
                    self.heap_saved = True
            self.writer.samples(recording.aggregate)
            self.writer.end({
                "duration_ns": recording.duration_ns,
                "stats": recording.stats,
                "warnings": recording.warnings,
                "main_file": recording.main_file,
            })
        except Exception as exc:
            _leave_note(self.spool, f"saving the recording failed: {exc}")


def _finish() -> None:
    recorder = _current
    if recorder is not None:
        recorder.finish()


def _finish_at_exit() -> None:
    global _exiting
    _exiting = True
    _finish()


def _on_sigterm(signum, frame) -> None:
    """Save, then die by SIGTERM as the program would have without us."""
    import signal

    global _terminating
    # A second SIGTERM while saving (the terminal's and the parent's
    # forwarded copy, say) must not cut the first one short.
    if _terminating or _exiting:
        return
    _terminating = True
    _finish()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _on_fork_child(sampler) -> None:
    """In a fork child: sample it from now on, into a file of its own."""
    global _current
    parent = _current
    if parent is None or parent.session.sampler is not sampler:
        return
    _current = None
    parent.once.acquire(False)
    parent.writer.close()  # the parent's file is never written from here
    try:
        # The memory sampler starts afresh here too (Session.restart_after_fork):
        # the child's heap profile is its own, from the fork on.
        with _own_work():
            parent.session.restart_after_fork()
            _current = _Recorder(parent.session_module, parent.session,
                                 parent.spool, forked=True)
    except Exception as exc:
        _leave_note(parent.spool, f"sampling a forked child failed: {exc}")


def _default_sigterm_in_child() -> None:
    """Child processes keep SIGTERM's default action: a SIGTERM ends them
    at once, and their spool file gives all but the last flush.

    A Python-level handler runs only when the main thread next checks for
    signals, and a signal that lands just before the thread blocks in a
    lock is not seen until the lock is free: a multiprocessing worker
    waiting for work when the pool sends SIGTERM would hang the pool's
    join. Only the program itself, where a lost profile costs most, takes
    that risk (see the limitation above).
    """
    import signal

    try:
        if signal.getsignal(signal.SIGTERM) is _on_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except ValueError:  # forked from a thread the child does not run on
        pass


def _wrap_os_exit() -> None:
    """Make os._exit save this process's last samples before it exits.

    os._exit skips atexit; multiprocessing's forked workers leave through
    it, and so do many forking servers' children.
    """
    real_exit = os._exit

    def _exit(status):
        _finish_at_exit()
        real_exit(status)

    for name in ("__name__", "__qualname__", "__doc__"):
        setattr(_exit, name, getattr(real_exit, name, None))
    os._exit = _exit


def _start(spool: str, settings: dict, top: bool = True) -> None:
    try:
        session_module = _import_session(settings["import_path"])
        if int(settings.get("mem_rate") or 0):
            import pyprof._memory  # noqa: F401  (for _own_work)
            import pyprof.heap  # noqa: F401
    except Exception as exc:
        version = "%d.%d" % sys.version_info[:2]
        _leave_note(
            spool,
            f"{os.path.basename(sys.executable)} (CPython {version}) cannot load "
            f"pyprof: {type(exc).__name__}: {exc}",
            LOAD_ERROR_NOTE,
        )
        return
    # From here on the memory sampler may run: pyprof's start-up stays out
    # of the heap profile.
    with _own_work():
        _start_session(session_module, spool, settings, top)


def _start_session(session_module, spool: str, settings: dict, top: bool) -> None:
    global _current
    try:
        session = session_module.Session(
            rate_hz=int(settings["rate_hz"]),
            max_frames=int(settings["max_frames"]),
            mem_rate=int(settings.get("mem_rate") or 0),
        )
        session.start()
    except Exception as exc:
        text = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        _leave_note(spool, text.replace("\n", "; "))
        return
    try:
        _current = _Recorder(session_module, session, spool, forked=False)
    except Exception as exc:  # the spool folder is gone or full
        session.stop()
        _leave_note(spool, f"cannot spool samples: {exc}")
        return

    import atexit
    import signal

    atexit.register(_finish_at_exit)
    _wrap_os_exit()
    if settings.get("children") == "1":
        sys.modules["pyprof._sampler"].set_fork_child_hook(_on_fork_child)
    if not top:
        return  # see _default_sigterm_in_child
    try:
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
            os.register_at_fork(after_in_child=_default_sigterm_in_child)
    except ValueError:  # not the main thread: cannot happen at start-up
        pass


def _serve_http(address: str) -> None:
    """Serve /debug/pprof/ for PYPROF_HTTP once pyprof is loaded; the
    program runs on whatever happens (a failure is one line on stderr).

    protobuf is imported into the program only when a profile is asked for.
    """
    if "pyprof" not in sys.modules:  # this Python could not load pyprof
        return
    try:
        from pyprof.live.server import serve_from_environment
    except Exception as exc:
        sys.stderr.write(f"pyprof: warning: not serving profiles: {exc}\n")
        return
    serve_from_environment(address)


def _in_subinterpreter() -> bool:
    """True in an interpreter of this process other than the main one.

    A subinterpreter runs site, and so this file, as it starts. The main
    interpreter's sampler already covers the whole process (a stack in a
    subinterpreter shows as one ``[subinterpreter]`` frame), and the C core
    is one per process (from 3.12 it refuses to load there at all), so
    starting pyprof again would only leave a false error note for the
    process.
    """
    try:
        import _interpreters as interpreters  # 3.13
    except ImportError:
        try:
            import _xxsubinterpreters as interpreters  # 3.9 to 3.12
        except ImportError:
            return False
    current, main = interpreters.get_current(), interpreters.get_main()
    if isinstance(current, tuple):  # 3.13: (id, how it was made)
        current, main = current[0], main[0]
    return current != main


def _boot() -> None:
    spool = os.environ.pop(ENV_SPOOL, None)
    top = bool(spool)
    if top:  # the process pyprof record started
        settings = _restore_environment(spool)
    else:  # a process the program started: its settings are in the spool
        spool = os.path.dirname(os.path.abspath(__file__))
        settings = _load_settings(spool)
        _hide_folder(spool)
    _chain_sitecustomize()
    # The process pyprof record started has popped ENV_SPOOL before any
    # subinterpreter can exist, so only the other branch needs to ask.
    if settings is not None and (top or not _in_subinterpreter()):
        _start(spool, settings, top=top)


if __name__ == "sitecustomize":
    _http = os.environ.pop(ENV_HTTP, "") if os.environ.get(ENV_SPOOL) else ""
    _boot()
    if _http:
        _serve_http(_http)
