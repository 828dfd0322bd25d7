"""Four threads burn the same CPU time while a fifth one waits.

Threads are named burner-0..burner-3 and idle. Each burner spins until its
own CPU clock (time.thread_time) has advanced by the given seconds, so all
four get the same CPU however the scheduler shares the cores.
Usage: python threads.py [CPU_SECONDS_PER_BURNER]
"""

import sys
import threading
import time


def burn(cpu_seconds):
    end = time.thread_time() + cpu_seconds
    count = 0
    while time.thread_time() < end:
        count += 1


def main(per_thread):
    stop = threading.Event()
    idle = threading.Thread(target=stop.wait, name="idle")
    idle.start()
    burners = [
        threading.Thread(target=burn, args=(per_thread,), name=f"burner-{i}")
        for i in range(4)
    ]
    for thread in burners:
        thread.start()
    for thread in burners:
        thread.join()
    stop.set()
    idle.join()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 0.6)
