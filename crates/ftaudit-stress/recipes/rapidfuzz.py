"""rapidfuzz (fuzz_cpp, or its AVX2 twin): similarity ratios of one query against 2,000 strings."""
FTAUDIT_RECIPE = {"version": 1, "modules": ["rapidfuzz.fuzz_cpp"], "unit": "ratio of one query against 2,000 choices"}

from rapidfuzz import fuzz


def shared(seed):
    return [f"choice number {n} of seed {seed} with some words" for n in range(2000)]


def work(shared, local, i):
    query = f"choice {i % 2000} seed words"
    scores = [fuzz.ratio(query, c) for c in shared]
    return round(max(scores), 4), round(sum(scores), 2)
