"""xxhash: xxh3_64 and xxh128 of 1 MiB."""
FTAUDIT_RECIPE = {"version": 1, "modules": ["xxhash._xxhash"], "unit": "xxh3_64+xxh128 of 1 MiB"}

import xxhash


def shared(seed):
    return bytes((seed + k * 13) % 256 for k in range(1 << 20))


def work(shared, local, i):
    data = shared[i % 1024:]
    return xxhash.xxh3_64_intdigest(data), xxhash.xxh128_hexdigest(data)
