"""hashlib (OpenSSL's _hashlib): SHA-256 of 256 KiB; the C code releases nothing shared."""
FTAUDIT_RECIPE = {"version": 1, "modules": ["_hashlib"], "unit": "sha256 of 256 KiB", "stdlib": True}

import hashlib


def shared(seed):
    return bytes((seed + i * 7) % 256 for i in range(256 * 1024))


def work(shared, local, i):
    return hashlib.sha256(shared + i.to_bytes(4, "little")).hexdigest()
