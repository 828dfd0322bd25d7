"""Known allocations for --mem-rate 1: 1000 bytes objects of 1000 bytes
kept, 500 bytearrays of 3000 bytes freed, and one bytearray grown by
realloc."""

KEEP = 1000
DROP = 500


def keep():
    out = [None] * KEEP
    for i in range(KEEP):
        out[i] = bytes(1000)
    return out


def drop():
    for _ in range(DROP):
        block = bytearray(3000)
        del block


def grow():
    buf = bytearray()
    for _ in range(200):
        buf += b"x" * 1000
    return buf


kept = keep()
drop()
grown = grow()
