"""Allocates 60 MB, 40 MB and 30 MB in three functions, keeps only the
second; ROUNDS times over (the earlier rounds' blocks are all freed), so
that the sampled estimate is tight enough to test at the default rate."""

import sys

BLOCK = 100_000
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 1


def sixty():
    return [bytearray(BLOCK) for _ in range(600)]


def forty():
    return [bytearray(BLOCK) for _ in range(400)]


def thirty():
    return [bytearray(BLOCK) for _ in range(300)]


kept = None
for _ in range(ROUNDS):
    dropped = sixty()
    del dropped
    kept = None
    kept = forty()
    dropped = thirty()
    del dropped
