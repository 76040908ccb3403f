"""Imports every generated Python module, so a broken or stale gen/python fails loudly."""

import importlib
import pathlib
import sys

root = pathlib.Path(sys.argv[1]).resolve()
sys.path.insert(0, str(root))
modules = sorted(
    ".".join(p.relative_to(root).with_suffix("").parts) for p in root.rglob("*.py")
)
for name in modules:
    importlib.import_module(name)
print(f"imported {len(modules)} generated Python modules")
