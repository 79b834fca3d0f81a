"""Where the templates and modules that ship with guardgen live.

In a wheel they are inside the package (``guardgen/templates``); in a source checkout or an
editable install they are the top-level ``templates/`` and ``modules/`` of the repository.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """The directory ``name`` (``templates`` or ``modules``) for this installation."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"guardgen's {name}/ directory is missing from this installation")


def module_files(names: set[str]) -> dict[str, str]:
    """Every file of the named reusable modules, keyed ``modules/<module>/<file>``, sorted."""
    root = data_dir("modules")
    return {
        "modules/" + p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for name in sorted(names)
        for p in sorted((root / name).rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")
    }


@cache
def build_digest() -> str:
    """A digest of this installation's code and data: what a generation depends on besides its
    inputs. Every file of the package, the templates and the modules."""
    h = hashlib.sha256()
    for root in (_PACKAGE, data_dir("templates"), data_dir("modules")):
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if name.endswith((".pyc", ".pyo")):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, "rb") as fh:
                    data = fh.read()
                h.update(f"{os.path.relpath(path, root)}\0{len(data)}\0".encode())
                h.update(data)
    return h.hexdigest()
