"""load → plan → render, as calls for the commands that need them. Imports config/, plan/,
render/, output/ and adopt/; only cli/ imports it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import adopt, config, output, plan, render
from .errors import OutputError
from .plan import moves


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


def checked_output_dir(loaded: config.Loaded, override: Path | None = None, *,
                       force_location: bool = False) -> Path:
    """:func:`output_dir`, refused when it is the config itself, its folder or a parent, the
    root or a system folder, unless ``force_location``.

    Raises:
        OutputError: naming the folder and why it was refused.
    """
    out = output_dir(loaded, override)
    problem = None if force_location else output.location_problem(out, loaded.path)
    if problem is not None:
        source = "--output" if override is not None else f"`output: {loaded.config.output}` in the config"
        raise OutputError(f"refusing to write the tree into {out} ({source}): {problem}. Choose "
                          "a folder of its own, or pass --force-output-location if you mean it.")
    return out


def run(config_path: Path, out_override: Path | None = None, *,
        force_location: bool = False, prune_moves: bool = False) -> Result:
    """Load, validate, plan and render ``config_path``. Writes nothing; reads the output tree to
    carry renames over as ``moved`` blocks and to check the user's own .tf files in its roots.

    Args:
        config_path: The config file.
        out_override: ``--output``, if given.
        force_location: Accept an output location refused by default.
        prune_moves: Drop the moved blocks earlier generations wrote (``--prune-moves``).

    Raises:
        ConfigError: the config is invalid.
        OutputError: the output location is refused (see :func:`checked_output_dir`), its
            manifest is unreadable, or a .tf file of the user's in one of its roots declares
            what guardgen generates there.
    """
    loaded = load(config_path)
    out = checked_output_dir(loaded, out_override, force_location=force_location)
    # Headers name the config relative to the output tree: stable wherever the repo is cloned.
    source = Path(os.path.relpath(config_path.resolve(), out.resolve())).as_posix()
    p = plan.build(loaded.config)
    files = render.render(p, source)
    owned = output.read_manifest(out)
    user = adopt.user_terraform(out, files, owned)
    adopt.refuse_clashes(user, moves.declared_by_root(files, {f.rsplit("/", 1)[0] for f in user}))
    found = moves.derive(owned, adopt.Previous(out, owned), files, loaded.config, prune=prune_moves)
    files = output.with_manifest({**files, **render.moved_files(found, p, source)})
    return Result(loaded, p, out, files)
