"""bz2 (_bz2): compress and decompress 32 KiB."""
FTAUDIT_RECIPE = {"version": 1, "modules": ["_bz2"], "unit": "compress+decompress 32 KiB", "stdlib": True}

import bz2


def shared(seed):
    return bytes((seed * 31 + i * i) % 251 for i in range(32 * 1024))


def work(shared, local, i):
    packed = bz2.compress(shared[i % 64:], 5)
    return len(packed), len(bz2.decompress(packed))
