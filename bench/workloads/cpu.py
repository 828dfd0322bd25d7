"""Pure-Python CPU work with few calls: loops over integers, strings, dicts.

About 1-2 s of CPU on a 2020s server core. Each function runs a long loop so
that the call rate stays low and the cost of a profiler is the cost of
sampling, not of hooking calls.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _report  # noqa: E402

SCALE = int(os.environ.get("PYPROF_BENCH_SCALE", "1000")) / 1000


def primes_below(limit):
    sieve = bytearray([1]) * limit
    sieve[0:2] = b"\0\0"
    count = 0
    for n in range(2, limit):
        if sieve[n]:
            count += 1
            for multiple in range(n * n, limit, n):
                sieve[multiple] = 0
    return count


def mix_integers(rounds):
    state = 0x12345678
    total = 0
    for i in range(rounds):
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        total += state % 1000 + i % 7
    return total


def count_words(rounds):
    words = "the quick brown fox jumps over the lazy dog again and again".split()
    counts = {}
    for i in range(rounds):
        word = words[i % len(words)]
        key = word[: 1 + i % 4]
        counts[key] = counts.get(key, 0) + 1
    return len(counts)


def body():
    primes = primes_below(int(4_000_000 * SCALE))
    mixed = mix_integers(int(3_000_000 * SCALE))
    words = count_words(int(3_000_000 * SCALE))
    return {"check": [primes, mixed, words]}


if __name__ == "__main__":
    _report.run(body)
