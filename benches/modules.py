"""Lists the extension modules of a site-packages folder, one dotted name a line, sorted.

The set ftaudit's probe imports: every file with an extension-module name (names.py), one entry
per dotted name. Usage: python modules.py SITE_PACKAGES
"""

import os
import sys

from names import module_name_for


def main():
    root = sys.argv[1]
    names = set()
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for file in files:
            relative = os.path.relpath(os.path.join(folder, file), root).replace(os.sep, "/")
            name = module_name_for(relative)
            if name:
                names.add(name)
    if not names:
        sys.exit(f"modules.py: no extension modules under {root}")
    print("\n".join(sorted(names)))


if __name__ == "__main__":
    main()
