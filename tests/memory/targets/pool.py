"""A multiprocessing pool (start method argv[1]) whose workers allocate
~20 MB per task; "terminate" as argv[2] ends the pool as `with Pool()` does."""
import multiprocessing
import sys
import time


def child_work(i):
    keep = [bytes(1000) for _ in range(20000)]
    time.sleep(0.8)  # outlive a periodic heap snapshot (allocating nothing)
    return len(keep)


if __name__ == "__main__":
    pool = multiprocessing.get_context(sys.argv[1]).Pool(2)
    print(sum(pool.map(child_work, range(4))))
    if sys.argv[2:] == ["terminate"]:
        pool.terminate()
    else:
        pool.close()
    pool.join()
