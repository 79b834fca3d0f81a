"""`guardgen generate`, `check` and `init`: write the tree, compare it, scaffold a landing zone."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import GuardgenError
from .common import EXIT_STALE, ConfigOpt, OutputOpt, QuietOpt, fail, say
from .verify import prove, report


def _generate(config: Path, out: Path | None, force: bool, quiet: bool) -> None:
    from .. import output, pipeline

    try:
        res = pipeline.run(config, out)
        output.recover(res.out_dir)
        cmp = output.compare(res.out_dir, res.files)
        output.write(res.out_dir, res.files, cmp, force=force)
    except GuardgenError as exc:
        fail(exc)
    summary = (f"{len(res.plan.targets)} targets, {len(res.plan.policies)} SCPs, "
               f"{len(res.files)} files")
    if cmp.clean:
        say(quiet, f"{res.out_dir}: up to date, nothing written ({summary}).")
        return
    say(quiet, f"{res.out_dir}: {len(cmp.create)} created, {len(cmp.update)} updated, "
        f"{len(cmp.delete)} removed ({summary}).")


def generate(
    config: ConfigOpt = Path("guardgen.yaml"),
    output_dir: OutputOpt = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite generated files edited by hand and files guardgen did not "
        "write.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Write the Terraform for the config. Unchanged input writes nothing.

    guardgen owns the files listed in the output's .guardgen-manifest.json: it rewrites them,
    removes the ones no longer generated, and never touches any other file.
    """
    _generate(config, output_dir, force, quiet)


def check(
    config: ConfigOpt = Path("guardgen.yaml"),
    output_dir: OutputOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Fail (exit 1, with a diff) when the committed Terraform is stale or edited by hand.

    Renders in memory and compares with the output directory; writes nothing. Exit 0 when
    clean, 1 when different, 2 when the config is invalid. Run it in CI on every change.
    """
    from .. import output, pipeline

    try:
        res = pipeline.run(config, output_dir)
        cmp = output.compare(res.out_dir, res.files)
    except GuardgenError as exc:
        fail(exc)
    proofs = prove(res.plan, [])
    if output.interrupted(res.out_dir):
        typer.echo(f"{res.out_dir}: a `guardgen generate` was interrupted before it finished; "
                   "run it again to complete the write.", err=True)
        raise typer.Exit(EXIT_STALE)
    failed = report(proofs, quiet, verbose=False)
    if cmp.clean:
        say(quiet, f"{res.out_dir}: up to date ({len(res.files)} files).")
    else:
        sys.stdout.write(output.unified_diff(cmp, res.files))
        typer.echo(f"\n{res.out_dir}: {len(cmp.create)} missing, {len(cmp.update)} different, "
                   f"{len(cmp.delete)} stale file(s). Run `guardgen generate` and commit the "
                   "result.", err=True)
    if failed or not cmp.clean:
        raise typer.Exit(EXIT_STALE)


def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the landing zone.",
                                              file_okay=False)] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing guardgen.yaml "
                                        "and workflow.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Scaffold a demo landing zone: a commented guardgen.yaml, its Terraform and a CI workflow.

    Needs no AWS credentials. Edit guardgen.yaml for your organization, then run
    `guardgen generate`.
    """
    from ..output import scaffold

    try:
        written = scaffold.init(directory, force=force)
    except GuardgenError as exc:
        fail(exc)
    for path in written:
        say(quiet, f"wrote {path}")
    _generate(directory / "guardgen.yaml", None, False, quiet)
    say(quiet, f"Next: cd {directory} && edit guardgen.yaml && guardgen generate")


def register(app: typer.Typer) -> None:
    """Add the commands to the main app, in the order `--help` lists them."""
    app.command()(generate)
    app.command()(check)
    app.command()(init)
