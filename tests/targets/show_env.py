"""Print what a program sees of its start-up, as JSON, then exit as asked.

Usage: python show_env.py [STATUS] [ARGS...]. STATUS may be "raise" for
an uncaught exception, "kill" to die by SIGKILL, "term" to wait for SIGTERM
while burning CPU, "usr1" to burn CPU until SIGUSR1 then exit with status 5,
or a number for sys.exit.
"""

import json
import os
import signal
import sys
import time

import __main__

report = {
    "argv": sys.argv,
    "path0": sys.path[0],
    "main_name": __name__,
    "main_file": getattr(__main__, "__file__", None),
    "pythonpath": os.environ.get("PYTHONPATH"),
    "pyprof_vars": sorted(k for k in os.environ if k.startswith("PYPROF")),
    "sitecustomize_in_path": any(
        os.path.exists(os.path.join(p or ".", "sitecustomize.py"))
        and "pyprof-" in p
        for p in sys.path
    ),
}
print(json.dumps(report), flush=True)

what = sys.argv[1] if len(sys.argv) > 1 else "0"
end = time.thread_time() + 0.3
while time.thread_time() < end:
    pass
if what == "raise":
    raise RuntimeError("show_env failed on purpose")
if what == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
if what == "usr1":
    signal.signal(signal.SIGUSR1, lambda signum, frame: sys.exit(5))
if what in ("term", "usr1"):
    print("ready", flush=True)
    while True:
        sum(range(100))
sys.exit(int(what))
