"""A program that starts and stops the memory profiler itself while
pyprof record --memory records it."""
from pyprof import heap


def keep():
    return [bytes(1000) for _ in range(10000)]


heap.start(1)
kept = keep()
inside = sum(x.value[3] for x in heap.profile().sample)
heap.stop()
print("inside", inside)
