"""All CPU in a recursive function: fib() runs for the given CPU seconds."""

import sys
import time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main(total_cpu):
    end = time.thread_time() + total_cpu
    while time.thread_time() < end:
        fib(20)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)
