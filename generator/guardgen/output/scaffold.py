"""`guardgen init`: the demo landing zone's files (the Terraform is written by generate)."""

from __future__ import annotations

import os
from pathlib import Path

from .. import __version__
from ..errors import OutputError
from ..resources import data_dir

CONFIG = "guardgen.yaml"
WORKFLOW = ".github/workflows/guardgen.yml"


def demo_config() -> str:
    """The embedded default organization description, commented for a first read."""
    return (data_dir("templates") / "init" / "guardgen.yaml").read_text(encoding="utf-8")


def workflow() -> str:
    text = (data_dir("templates") / "init" / "guardgen-workflow.yml").read_text(encoding="utf-8")
    return text.replace("@VERSION@", __version__)


def init(directory: Path, *, force: bool = False) -> list[Path]:
    """Write the demo config and CI workflow into ``directory``. Refuses to overwrite either
    unless ``force``; writes neither when it refuses."""
    files = {directory / CONFIG: demo_config(), directory / WORKFLOW: workflow()}
    existing = [p for p in files if p.exists()]
    if existing and not force:
        raise OutputError("already exists: " + ", ".join(str(p) for p in existing)
                          + " (use --force to overwrite)")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return list(files)
