"""The floor for the import probe: every module imported once, in one process, in order.

A failing import is counted and the run goes on; a module that crashes the process ends it
(and the benchmark reports that run as failed). Usage: python import_all.py MODULES_FILE
"""

import importlib
import sys


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        names = [line.strip() for line in f if line.strip()]
    failed = 0
    for name in names:
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - SystemExit from a module counts as a failed import too
            failed += 1
    print(f"{len(names)} modules, {failed} failed to import, GIL enabled at the end: {sys._is_gil_enabled()}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
