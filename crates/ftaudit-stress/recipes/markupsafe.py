"""markupsafe (_speedups): escape 20 KiB of HTML-ish text."""
FTAUDIT_RECIPE = {"version": 1, "modules": ["markupsafe._speedups"], "unit": "escape 20 KiB"}

import markupsafe


def shared(seed):
    return ("<a href='x?y=1&z=2'>\"quoted\" & <b>bold</b></a> " * 400) + str(seed)


def work(shared, local, i):
    out = markupsafe.escape(shared[i % 13:])
    return len(out), str(out)[:40]
