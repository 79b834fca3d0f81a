"""Helpers shared by the test modules: where the repository and its examples are, tree digests."""

from __future__ import annotations

import hashlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
ACME = EXAMPLES / "acme" / "guardgen.yaml"


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its hash: compares trees byte for byte."""
    if not root.exists():
        return {}
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }
