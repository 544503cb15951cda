"""PyYAML's libyaml binding (yaml._yaml): CSafeLoader and CSafeDumper on a 300-entry document."""
FTAUDIT_RECIPE = {"version": 1, "modules": ["yaml._yaml"], "unit": "safe_dump+load of 300 mappings with the C classes"}

import yaml


def shared(seed):
    return [{"name": f"n{k}", "value": k * seed, "flags": [True, False, None], "ratio": k / 7} for k in range(300)]


def work(shared, local, i):
    text = yaml.dump(shared, Dumper=yaml.CSafeDumper)
    back = yaml.load(text, Loader=yaml.CSafeLoader)
    return len(text), back[i % 300]["name"]
