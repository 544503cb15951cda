"""zlib: compress and decompress 64 KiB of text-like data."""
FTAUDIT_RECIPE = {"version": 1, "modules": ["zlib"], "unit": "compress+decompress 64 KiB", "stdlib": True}

import random
import zlib


def shared(seed):
    rng = random.Random(seed)
    words = [bytes(rng.choices(b"abcdefghij", k=rng.randint(2, 9))) for _ in range(400)]
    return b" ".join(rng.choice(words) for _ in range(12000))[: 64 * 1024]


def work(shared, local, i):
    packed = zlib.compress(shared[i % 97:] + shared[: i % 97], 6)
    return zlib.crc32(zlib.decompress(packed)), len(packed)


def check(i, result):
    return result[1] > 0
