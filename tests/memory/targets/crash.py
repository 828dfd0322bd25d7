"""Keeps ~30 MB, then dies the way argv[1] says without saving anything."""
import ctypes
import os
import signal
import sys
import time


def keep():
    return [bytes(1000) for _ in range(30000)]


kept = keep()
end = time.monotonic() + 1.5  # three periodic heap snapshots
while time.monotonic() < end:
    pass
sys.stdout.flush()
if sys.argv[1] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
elif sys.argv[1] == "segv":
    ctypes.string_at(0)
else:
    os.abort()
