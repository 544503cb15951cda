"""msgspec (_core): JSON and MessagePack encode/decode with a typed Struct."""
FTAUDIT_RECIPE = {"version": 1, "modules": ["msgspec._core"], "unit": "json+msgpack round trip of 300 Structs"}

import msgspec


class Item(msgspec.Struct):
    id: int
    name: str
    tags: list[str]


def shared(seed):
    items = [Item(n, f"item-{n}-{seed}", ["x", str(n % 5)]) for n in range(300)]
    return items, msgspec.json.Decoder(list[Item])


def work(shared, local, i):
    items, decoder = shared
    data = msgspec.json.encode(items)
    back = decoder.decode(data)
    packed = msgspec.msgpack.encode(items)
    return len(data), len(packed), back[i % 300].name
