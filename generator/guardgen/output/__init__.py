"""Write and check: the only disk I/O for the output tree (manifest, atomic writes, comparison)
and for ``init``'s scaffold. Imports only the shared helpers.
"""

from __future__ import annotations

from .tree import (
    MANIFEST,
    Comparison,
    compare,
    digest,
    interrupted,
    read_manifest,
    recover,
    unified_diff,
    with_manifest,
    write,
)

__all__ = [
    "MANIFEST", "Comparison", "compare", "digest", "interrupted", "read_manifest", "recover",
    "unified_diff", "with_manifest", "write",
]
