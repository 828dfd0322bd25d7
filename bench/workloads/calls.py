"""Many small calls: recursion, tiny methods and a property, a lambda.

About 1-2 s of CPU, most of it in call overhead (several million Python
calls a second), which is where a tracing profiler such as cProfile pays
per call and a sampling profiler should not.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _report  # noqa: E402

SCALE = int(os.environ.get("PYPROF_BENCH_SCALE", "1000")) / 1000


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


class Point:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y

    @property
    def norm1(self):
        return abs(self.x) + abs(self.y)

    def moved(self, dx, dy):
        return Point(self.x + dx, self.y + dy)


def walk(steps):
    point = Point(0, 0)
    total = 0
    step = lambda i: (i % 3) - 1  # noqa: E731
    for i in range(steps):
        point = point.moved(step(i), step(i + 1))
        total += point.norm1
    return total


def body():
    fibs = sum(fib(27) for _ in range(int(25 * SCALE)))
    walked = walk(int(2_400_000 * SCALE))
    return {"check": [fibs, walked]}


if __name__ == "__main__":
    _report.run(body)
