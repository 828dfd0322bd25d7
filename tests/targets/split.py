"""Spend CPU in a 50/30/20 split across three functions.

Each round gives heavy() 50 ms, medium() 30 ms and light() 20 ms of this
thread's CPU time, measured with time.thread_time, so the split holds on a
busy machine too. Usage: python split.py [SECONDS_OF_CPU]
"""

import sys
import time


def spin(cpu_seconds):
    end = time.thread_time() + cpu_seconds
    count = 0
    while time.thread_time() < end:
        count += 1
    return count


def heavy():
    return spin(0.050)


def medium():
    return spin(0.030)


def light():
    return spin(0.020)


def main(total_cpu):
    rounds = max(1, round(total_cpu / 0.1))
    for _ in range(rounds):
        heavy()
        medium()
        light()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 2.5)
