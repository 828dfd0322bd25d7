"""One line of hot() does nearly all the work; it carries the marker below."""

import sys
import time


def hot(cpu_seconds):
    end = time.thread_time() + cpu_seconds
    total = 0
    i = 0
    while time.thread_time() < end:
        i += 1
        for j in range(200):
            total += (j * j) % 7 + (j * 3) % 5 + (j ^ 1234) % 11 + (j | 77) % 13  # HOT
    return total


if __name__ == "__main__":
    hot(float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)
