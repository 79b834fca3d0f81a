"""`guardgen diff`: what a config change does to the organization, said for its reviewers.

The config before the change comes from git (``git show REF:./guardgen.yaml``, read-only) or from
a file; both configs are planned in memory and compared by :mod:`guardgen.prove.diff`.
"""

from __future__ import annotations

import subprocess
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import GuardgenError
from .common import ConfigOpt, fail

if TYPE_CHECKING:  # only for annotations: keeps `guardgen --help` from importing the pipeline
    from ..plan import Plan


class DiffFormat(str, Enum):
    """Output formats of `guardgen diff`."""

    TEXT = "text"
    MARKDOWN = "markdown"
    JSON = "json"


class GitError(GuardgenError):
    """git could not give the config at the base revision; the message says why."""


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              check=False, timeout=60)
    except FileNotFoundError:
        raise GitError("git is not installed; use --base-config FILE to compare with a file") from None


def config_at(ref: str, config: Path) -> str | None:
    """The text of ``config`` at git revision ``ref``, or None when the file is not there.

    Runs only read-only git commands, in the config's directory, naming the file relative to it
    (``REF:./NAME``), so a config anywhere in the repository works.

    Raises:
        GitError: Not a git repository, or ``ref`` names no commit.
    """
    if ref.startswith("-"):
        raise GitError(f"--base {ref!r}: a git revision cannot start with '-'")
    cwd = config.resolve().parent
    if not cwd.is_dir():
        raise GitError(f"{config}: its directory does not exist")
    found = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd)
    if found.returncode != 0:
        inside = _git(["rev-parse", "--is-inside-work-tree"], cwd)
        if inside.returncode != 0:
            raise GitError(f"{cwd} is not in a git repository; use --base-config FILE to compare "
                           "with a file")
        raise GitError(f"--base {ref!r} is not a commit in this repository (a shallow clone "
                       "may lack it: fetch more history)")
    spec = f"{ref}:./{config.name}"
    if _git(["cat-file", "-e", spec], cwd).returncode != 0:
        return None
    shown = _git(["show", spec], cwd)
    if shown.returncode != 0:
        raise GitError(f"git show {spec}: {shown.stderr.strip()}")
    return shown.stdout


def _plan_text(text: str, label: str) -> Plan:
    from .. import pipeline, plan

    return plan.build(pipeline.loads(text, label).config)


def diff(
    config: ConfigOpt = Path("guardgen.yaml"),
    base: Annotated[str | None, typer.Option(
        "--base", metavar="REF", help="Git revision whose config is the 'before' (default: "
        "HEAD, i.e. what the working config changes).", show_default=False)] = None,
    base_config: Annotated[Path | None, typer.Option(
        "--base-config", metavar="FILE", dir_okay=False, help="Compare with this config file "
        "instead of a git revision.", show_default=False)] = None,
    fmt: Annotated[DiffFormat, typer.Option(
        "--format", help="text, markdown (for a pull-request comment or $GITHUB_STEP_SUMMARY) "
        "or json.")] = DiffFormat.TEXT,
) -> None:
    """Say what a config change does: guardrails, SCPs, roles, alarms and verify outcomes.

    Plans the config at --base (a git revision, default HEAD) or --base-config and the working
    config, and prints per root, OU and account the guardrails gained and lost, the SCPs created,
    changed and removed, the SCP slots used, IAM roles and who can newly assume them, boundaries,
    alarms, and the built-in verify requests whose decision changes. Writes nothing.

    Exit 0 (whether or not anything changes), 2 when a config is invalid or git cannot give the
    base.
    """
    from .. import pipeline, plan
    from ..prove import diff as changes

    if base is not None and base_config is not None:
        fail("give --base or --base-config, not both")
    try:
        head = plan.build(pipeline.load(config).config)
        if base_config is not None:
            before: Plan | None = plan.build(pipeline.load(base_config).config)
            label = str(base_config)
        else:
            ref = base or "HEAD"
            label = f"{ref}:{config.name}"
            text = config_at(ref, config)
            before = _plan_text(text, label) if text is not None else None
        cs = changes.compare(before, head, label, str(config))
    except GuardgenError as exc:
        fail(exc)
    render = {DiffFormat.TEXT: changes.format_text, DiffFormat.MARKDOWN: changes.format_markdown,
              DiffFormat.JSON: changes.format_json}[fmt]
    typer.echo(render(cs), nl=False)


def register(app: typer.Typer) -> None:
    """Add the ``diff`` command to a Typer app.

    Args:
        app: The root app (guardgen's, or a test's); the command is named ``diff``.
    """
    app.command()(diff)
