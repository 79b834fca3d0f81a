"""Shared fixtures: a CLI runner that drives the real entry point, a copy of the acme config.

Plain helpers (the repository layout, tree digests) live in ``support.py``: test modules import
them from there, because tests/aws has a conftest.py of its own and only one module can be
named ``conftest``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from guardgen.cli import app
from support import ACME

# Records of past generations (guardgen.output.cache) go to a folder of this run's own, never to
# the user's cache; every guardgen the tests start inherits it.
os.environ["GUARDGEN_CACHE_DIR"] = tempfile.mkdtemp(prefix="guardgen-test-cache-")


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
