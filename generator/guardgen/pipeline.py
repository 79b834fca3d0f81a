"""load → plan → render, as calls for the commands that need them. Imports config/, plan/,
render/, output/ and adopt/; only cli/ imports it."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from . import config, output, plan, render, resources
from .errors import OutputError
from .plan import moves


@dataclass(frozen=True)
class Result:
    loaded: config.Loaded
    plan: plan.Plan
    out_dir: Path
    files: dict[str, str]  # relative path → text, manifest included
    digests: dict[str, str]  # relative path → the manifest's hash of it, for every other file


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
    return build(loaded, out, prune_moves=prune_moves)


def _source(loaded: config.Loaded, out: Path) -> str:
    # Headers name the config relative to the output tree: stable wherever the repo is cloned.
    return Path(os.path.relpath(loaded.path.resolve(), out.resolve())).as_posix()


def build(loaded: config.Loaded, out: Path, *, prune_moves: bool = False) -> Result:
    """:func:`run` for a config already loaded and an output already checked."""
    from . import adopt  # python-hcl2 and its grammar: only when a tree is built

    source = _source(loaded, out)
    p = plan.build(loaded.config)
    files = render.render(p, source)
    owned = output.read_manifest(out)
    user = adopt.user_terraform(out, files, owned)
    adopt.refuse_clashes(user, moves.declared_by_root(files, {f.rsplit("/", 1)[0] for f in user}))
    digests = {rel: output.digest(text) for rel, text in files.items()}  # for moves and manifest
    found = moves.derive(owned, adopt.Previous(out, owned), files, digests, loaded.config,
                         prune=prune_moves)
    moved = render.moved_files(found, p, source)
    digests.update({rel: output.digest(text) for rel, text in moved.items()})
    files = output.with_manifest({**files, **moved}, digests)
    return Result(loaded, p, out, files, digests)


def inputs_digest(loaded: config.Loaded, out: Path, *, prune_moves: bool = False) -> str:
    """A digest of everything :func:`build` reads apart from the output tree: this installation,
    the config as it was read and where it is, the custom guardrails as resolved from their
    files, where the tree goes and the flags that change it. Two runs with the same digest on the
    same tree render the same files."""
    custom = json.dumps([c.model_dump(mode="json") for c in loaded.config.custom_guardrails],
                        sort_keys=True)
    parts = [resources.build_digest(), sys.version, loaded.source.digest, str(loaded.path),
             os.path.abspath(out), _source(loaded, out), str(prune_moves), custom]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()
