"""regex (_regex): one compiled pattern with Unicode classes, shared by every thread."""
FTAUDIT_RECIPE = {"version": 1, "modules": ["regex._regex"], "unit": "findall over 24 KiB with one shared pattern"}

import regex


def shared(seed):
    text = " ".join(f"Wörd{n} naïve-{n * seed} café{n % 9}" for n in range(1200))[: 24 * 1024]
    return regex.compile(r"\p{L}+(\d+)"), text


def work(shared, local, i):
    pattern, text = shared
    found = pattern.findall(text, i % 40)
    return len(found), found[-1] if found else None
