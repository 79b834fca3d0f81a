"""`guardgen init`: the demo landing zone's files (the Terraform is written by generate).

Besides the commented config, init writes the config's JSON Schema beside it, which the config's
``yaml-language-server`` modeline names so that editors complete and explain every field offline,
and, unless asked not to, the CI file for GitHub Actions or GitLab CI.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from .. import __version__
from ..errors import OutputError
from ..resources import data_dir

CONFIG = "guardgen.yaml"
# Beside the config: the modeline names it by a relative path, which editors resolve against the
# config's directory, so it works offline and in any clone.
SCHEMA = "guardgen.schema.json"
MODELINE = f"# yaml-language-server: $schema={SCHEMA}"
Ci = Literal["github", "gitlab", "none"]
CI_FILES: dict[str, tuple[str, str]] = {  # --ci → (template, where init writes it)
    "github": ("guardgen-workflow.yml", ".github/workflows/guardgen.yml"),
    "gitlab": ("guardgen-gitlab-ci.yml", ".gitlab-ci.yml"),
}


def _template(name: str) -> str:
    return (data_dir("templates") / "init" / name).read_text(encoding="utf-8")


def demo_config() -> str:
    """The embedded default organization description, commented for a first read, with the
    modeline that points editors at :data:`SCHEMA`."""
    return _template("guardgen.yaml").replace("@MODELINE@", MODELINE)


def schema() -> str:
    """The committed JSON Schema of guardgen.yaml, as it ships with this installation."""
    return (data_dir("schema") / SCHEMA).read_text(encoding="utf-8")


def ci_file(ci: Ci) -> tuple[str, str] | None:
    """Where the CI file for ``ci`` goes and its text (installing exactly this guardgen
    version), or None for ``none``."""
    if ci == "none":
        return None
    template, path = CI_FILES[ci]
    return path, _template(template).replace("@VERSION@", __version__)


def files(ci: Ci = "github") -> dict[str, str]:
    """Every file init writes, by path relative to the landing zone's directory."""
    out = {CONFIG: demo_config(), SCHEMA: schema()}
    found = ci_file(ci)
    if found is not None:
        out[found[0]] = found[1]
    return out


def init(directory: Path, *, force: bool = False, ci: Ci = "github",
         demo: bool = True) -> list[Path]:
    """Write the demo config, its schema and the CI file for ``ci`` into ``directory``.

    Refuses to overwrite any of them unless ``force``; writes none when it refuses. Without
    ``demo`` the config is left out (``init --from-aws`` writes one read from the organization).

    Raises:
        OutputError: Some of the files exist already (each is named).
    """
    if ci != "none" and ci not in CI_FILES:
        raise OutputError(f"unknown CI system {ci!r}: use github, gitlab or none")
    planned = {directory / rel: text for rel, text in files(ci).items() if demo or rel != CONFIG}
    existing = [p for p in planned if p.exists()]
    if existing and not force:
        raise OutputError("already exists: " + ", ".join(str(p) for p in existing)
                          + " (use --force to overwrite)")
    for path, text in planned.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return list(planned)
