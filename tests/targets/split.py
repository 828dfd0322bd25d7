"""Spend CPU in a 50/30/20 split across three functions.

Each round gives heavy(), medium() and light() 50%, 30% and 20% of about
100 ms of this thread's CPU time, measured with time.thread_time, so the
split holds on a busy machine too. Round lengths vary at random so that
phase boundaries never line up with the kernel's timer tick (a fixed
100 ms round could hand one function an extra tick every round).
Usage: python split.py [SECONDS_OF_CPU]
"""

import random
import sys
import time


def spin(cpu_seconds):
    end = time.thread_time() + cpu_seconds
    count = 0
    while time.thread_time() < end:
        count += 1
    return count


def heavy(round_s):
    return spin(0.5 * round_s)


def medium(round_s):
    return spin(0.3 * round_s)


def light(round_s):
    return spin(0.2 * round_s)


def main(total_cpu):
    rng = random.Random(5)
    rounds = max(1, round(total_cpu / 0.1))
    for _ in range(rounds):
        round_s = rng.uniform(0.07, 0.13)
        heavy(round_s)
        medium(round_s)
        light(round_s)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 2.5)
