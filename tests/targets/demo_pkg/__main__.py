import sys
import time


def work():
    end = time.thread_time() + 0.3
    while time.thread_time() < end:
        pass


if __name__ == "__main__":
    work()
    print("demo_pkg main", __name__, sys.argv[1:])
