"""Record what `go tool pprof` (Go 1.19) prints for each session of
sessions.py: tests/shell/expected/<session>.<profile>.{out,err}.

Run from the repository root with go on PATH:

    python tests/shell/make_expected.py

Each session's lines go to go tool pprof's stdin (its line-based
interactive mode: the prompt and the reports on stdout, everything else on
stderr), with TZ=UTC, HOME and PPROF_TMPDIR in a temporary folder, and the
current folder a temporary one (so `list` finds no sources, as in the
tests). Files are written as they come, nothing edited.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sessions import EXPECTED  # noqa: E402
from sessions import PROFILE_PATHS  # noqa: E402
from sessions import RUNS  # noqa: E402
from sessions import script  # noqa: E402


def record(go: str, session: str, profile: str, folder: str):
    env = dict(os.environ, TZ="UTC", HOME=folder, PPROF_TMPDIR=folder, TERM="dumb")
    env.pop("PPROF_BINARY_PATH", None)
    return subprocess.run([go, "tool", "pprof", str(PROFILE_PATHS[profile])],
                          input=script(session), capture_output=True, cwd=folder,
                          env=env, timeout=120)


def main() -> int:
    go = shutil.which("go")
    if not go:
        print("make_expected.py: go is not on PATH", file=sys.stderr)
        return 1
    EXPECTED.mkdir(exist_ok=True)
    for session, profile in RUNS:
        with tempfile.TemporaryDirectory() as folder:
            done = record(go, session, profile, folder)
        stem = EXPECTED / f"{session}.{profile}"
        stem.with_suffix(stem.suffix + ".out").write_bytes(done.stdout)
        stem.with_suffix(stem.suffix + ".err").write_bytes(done.stderr)
        print(f"{stem.name}: exit {done.returncode}, {len(done.stdout)} bytes out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
