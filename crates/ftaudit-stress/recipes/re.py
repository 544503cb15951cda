"""re (_sre): one compiled pattern shared by every thread, searched over 32 KiB of text."""
FTAUDIT_RECIPE = {"version": 1, "modules": ["_sre"], "unit": "findall over 32 KiB with one shared pattern", "stdlib": True}

import random
import re


def shared(seed):
    rng = random.Random(seed)
    text = " ".join(f"{rng.choice(['user', 'admin', 'guest'])}{rng.randint(0, 9999)}@example.{rng.choice(['com', 'org'])}"
                    for _ in range(1500))
    return re.compile(r"(\w+?)(\d+)@example\.(com|org)"), text[: 32 * 1024]


def work(shared, local, i):
    pattern, text = shared
    found = pattern.findall(text, i % 50)
    return len(found), found[0] if found else None
