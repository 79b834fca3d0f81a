"""Shared fixtures: the repository layout and a CLI runner that drives the real entry point."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from guardgen.cli import app

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


@pytest.fixture
def cli() -> Callable[..., object]:
    runner = CliRunner()

    def invoke(*args: str | os.PathLike[str]) -> object:
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def acme(tmp_path: Path) -> Path:
    """A copy of the acme example config in an empty directory."""
    cfg = tmp_path / "guardgen.yaml"
    cfg.write_text(ACME.read_text(encoding="utf-8"), encoding="utf-8")
    return cfg
