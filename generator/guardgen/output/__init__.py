"""Write and check: the only disk I/O for the output tree (manifest, atomic swap of the whole
tree, lock, comparison, where an output may go) and for ``init``'s scaffold. Imports only the
shared helpers.
"""

from __future__ import annotations

from . import cache
from .atomic import Leftover, Stamp
from .location import location_problem
from .lock import LOCK, LockedError, OutputLock
from .tree import (
    MANIFEST,
    Comparison,
    compare,
    compare_consistent,
    digest,
    interrupted,
    prepare,
    read_manifest,
    recover,
    unified_diff,
    with_manifest,
    write,
)

__all__ = [
    "LOCK", "MANIFEST", "Comparison", "cache", "Leftover", "LockedError", "OutputLock", "Stamp", "compare",
    "compare_consistent",
    "digest", "interrupted", "location_problem", "prepare", "read_manifest", "recover",
    "unified_diff", "with_manifest", "write",
]
