"""load → plan → render, as calls for the commands that need them. Imports config/, plan/,
render/ and output/; only cli/ imports it."""

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


def load(path: Path, display: str | None = None) -> config.Loaded:
    """Read and validate a guardgen.yaml, planning's checks included: a config this returns can
    be planned. Raises :class:`~guardgen.errors.ConfigError` with every problem, located."""
    return config.load(path, display, plan.CHECKS)


def loads(text: str, file: str = "guardgen.yaml") -> config.Loaded:
    """:func:`load` for config text (tests and ``init``)."""
    return config.loads(text, file, plan.CHECKS)


def output_dir(loaded: config.Loaded, override: Path | None = None) -> Path:
    """Where the tree goes: ``--output`` if given, else ``output:`` relative to the config."""
    if override is not None:
        return override
    return loaded.path.parent / loaded.config.output


def run(config_path: Path, out_override: Path | None = None) -> Result:
    """Load, validate, plan and render ``config_path``. Touches nothing on disk."""
    loaded = load(config_path)
    out = output_dir(loaded, out_override)
    # Headers name the config relative to the output tree: stable wherever the repo is cloned.
    source = Path(os.path.relpath(config_path.resolve(), out.resolve())).as_posix()
    p = plan.build(loaded.config)
    files = output.with_manifest(render.render(p, source))
    return Result(loaded, p, out, files)
