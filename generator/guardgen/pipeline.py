"""load → plan → render, as one call for the commands that need the whole output tree."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import config, output, plan, render


@dataclass(frozen=True)
class Result:
    loaded: config.Loaded
    plan: plan.Plan
    out_dir: Path
    files: dict[str, str]  # relative path → text, manifest included


def output_dir(loaded: config.Loaded, override: Path | None = None) -> Path:
    """Where the tree goes: ``--output`` if given, else ``output:`` relative to the config."""
    if override is not None:
        return override
    return loaded.path.parent / loaded.config.output


def run(config_path: Path, out_override: Path | None = None) -> Result:
    """Load, validate, plan and render ``config_path``. Touches nothing on disk."""
    loaded = config.load(config_path)
    out = output_dir(loaded, out_override)
    # Headers name the config relative to the output tree: stable wherever the repo is cloned.
    source = Path(os.path.relpath(config_path.resolve(), out.resolve())).as_posix()
    p = plan.build(loaded.config)
    files = output.with_manifest(render.render(p, source))
    return Result(loaded, p, out, files)
