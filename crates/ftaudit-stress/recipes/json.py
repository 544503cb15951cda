"""json (_json): encode and decode a nested document of ~2,000 values."""
FTAUDIT_RECIPE = {"version": 1, "modules": ["_json"], "unit": "dumps+loads of a 2,000-value document", "stdlib": True}

import json


def shared(seed):
    return {"items": [{"id": n, "name": f"item-{n}-{seed}", "tags": ["a", "b", str(n % 7)], "price": n * 0.25}
                      for n in range(400)]}


def work(shared, local, i):
    text = json.dumps(shared, sort_keys=True)
    back = json.loads(text)
    return len(text), back["items"][i % 400]["name"]
