"""Spend CPU in a 50/30/20 split across three functions.

Each round gives heavy(), medium() and light() 50%, 30% and 20% of a round
of this thread's CPU time (0.1 s on average unless told), measured with
time.thread_time, so the split holds on a busy machine too. Round lengths
vary at random so that phase boundaries never line up with the kernel's
timer tick (fixed rounds could hand one function an extra tick each round).
Usage: python split.py [SECONDS_OF_CPU [MEAN_ROUND_SECONDS]]
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


def main(total_cpu, mean_round_s=0.1):
    rng = random.Random(5)
    rounds = max(1, round(total_cpu / mean_round_s))
    for _ in range(rounds):
        round_s = mean_round_s * rng.uniform(0.7, 1.3)
        heavy(round_s)
        medium(round_s)
        light(round_s)


if __name__ == "__main__":
    main(*([float(arg) for arg in sys.argv[1:3]] or [2.5]))
