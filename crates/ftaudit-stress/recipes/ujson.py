"""ujson: encode and decode a 2,000-value document."""
FTAUDIT_RECIPE = {"version": 1, "modules": ["ujson"], "unit": "dumps+loads of a 2,000-value document"}

import ujson


def shared(seed):
    return {"items": [{"id": n, "name": f"item-{n}-{seed}", "tags": ["a", "b"], "price": n * 0.25} for n in range(400)]}


def work(shared, local, i):
    text = ujson.dumps(shared, sort_keys=True)
    return len(text), ujson.loads(text)["items"][i % 400]["id"]
