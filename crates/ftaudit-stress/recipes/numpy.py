"""numpy: matrix products, sorting and reductions on small arrays made per unit."""
FTAUDIT_RECIPE = {"version": 1, "modules": ["numpy._core._multiarray_umath"], "unit": "64x64 matmul, sort of 20,000, sums"}

import numpy as np


def work(shared, local, i):
    rng = np.random.default_rng(i)
    a = rng.standard_normal((64, 64))
    b = a @ a.T
    v = np.sort(rng.integers(0, 1_000_000, 20_000))
    return round(float(np.trace(b)), 6), int(v[::997].sum())
