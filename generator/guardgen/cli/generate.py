"""`guardgen generate`, `check` and `init`: write the tree, compare it, scaffold a landing zone."""

from __future__ import annotations

import sys
import time
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import GuardgenError
from .common import EXIT_STALE, ConfigOpt, OutputOpt, QuietOpt, fail, say
from .verify import prove, report_failures

if TYPE_CHECKING:
    from ..plan import Plan

DEFAULT_WAIT = 5.0
ForceLocationOpt = Annotated[bool, typer.Option(
    "--force-output-location", help="Write even where guardgen refuses to by default: the "
    "config's own folder or a parent of it, the root folder, a home or system folder.")]
WaitOpt = Annotated[float, typer.Option(
    "--wait", min=0, help="Seconds to wait for another guardgen run on the same output to finish "
    "before giving up (exit 2).")]


def _generate(config: Path, out: Path | None, force: bool, quiet: bool, *,
              force_location: bool = False, wait: float = DEFAULT_WAIT,
              prune_moves: bool = False) -> None:
    from .. import output, pipeline

    started = time.time_ns()
    try:
        loaded = pipeline.load(config)
        out_dir = pipeline.checked_output_dir(loaded, out, force_location=force_location)
        inputs = pipeline.inputs_digest(loaded, out_dir, prune_moves=prune_moves)
        output.prepare(out_dir)
        with output.OutputLock(out_dir, exclusive=True, wait=wait,
                               command="guardgen generate") as lock:
            for note in output.recover(out_dir):
                say(quiet, f"note: {note}")
            known = output.cache.unchanged(out_dir, inputs)
            notes: list[str] = []
            if known is None:
                res = pipeline.build(loaded, out_dir, prune_moves=prune_moves)
                cmp = output.compare(out_dir, res.files, keep_text=False,
                                     known=output.cache.vouched(out_dir), digests=res.digests)
                stamps: dict[str, output.Stamp | None] = {}
                notes = output.write(out_dir, res.files, cmp, force=force, stamps=stamps)
                summary = (f"{len(res.plan.targets)} targets, {len(res.plan.policies)} SCPs, "
                           f"{len(res.files)} files")
                output.cache.remember(out_dir, inputs, summary, res.files, started, stamps)
        for warning in [*notes, *lock.warnings]:
            typer.echo(f"warning: {warning}", err=True)
    except GuardgenError as exc:
        fail(exc)
    if known is not None or cmp.clean:
        say(quiet, f"{out_dir}: up to date, nothing written ({known or summary}).")
        return
    say(quiet, f"{out_dir}: {len(cmp.create)} created, {len(cmp.update)} updated, "
        f"{len(cmp.delete)} removed ({summary}).")


def generate(
    config: ConfigOpt = Path("guardgen.yaml"),
    output_dir: OutputOpt = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite generated files edited by hand and files guardgen did not "
        "write.")] = False,
    force_output_location: ForceLocationOpt = False,
    wait: WaitOpt = DEFAULT_WAIT,
    prune_moves: Annotated[bool, typer.Option(
        "--prune-moves", help="Drop the moved blocks earlier renames left in the tree (keep those "
        "this run needs). Run it once every state has been applied with them.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Write the Terraform for the config. Unchanged input writes nothing.

    guardgen owns the files listed in the output's .guardgen-manifest.json: it rewrites them,
    removes the ones no longer generated, and never touches any other file. The new tree
    replaces the old one in a single step, so a crash leaves one or the other, never a mix; one
    run at a time writes an output (.guardgen.lock). When the config renames an OU, an account, a
    role or a boundary, moved.tf tells Terraform to move rather than destroy; those blocks stay
    until --prune-moves. When nothing changed since the last run, a record kept outside the tree
    (~/.cache/guardgen; GUARDGEN_CACHE_DIR=off to turn it off) answers without rendering.
    """
    _generate(config, output_dir, force, quiet, force_location=force_output_location, wait=wait,
              prune_moves=prune_moves)


def check(
    config: ConfigOpt = Path("guardgen.yaml"),
    output_dir: OutputOpt = None,
    force_output_location: ForceLocationOpt = False,
    wait: WaitOpt = DEFAULT_WAIT,
    quiet: QuietOpt = False,
) -> None:
    """Fail (exit 1, with a diff) when the committed Terraform is stale or edited by hand.

    Renders in memory and compares with the output directory; writes nothing. Exit 0 when
    clean, 1 when different, 2 when the config is invalid. Run it in CI on every change.
    """
    from .. import forked, output, pipeline, plan

    try:
        loaded = pipeline.load(config)
        out_dir = pipeline.checked_output_dir(loaded, output_dir,
                                              force_location=force_output_location)
        # Proving needs only the config: planned again on the second core while this one
        # builds and compares the tree; without one, proved afterwards from the same plan.
        with forked.maybe(lambda: _failures(plan.build(loaded.config)),
                          instead=lambda: _failures(res.plan)) as proved:
            res = pipeline.build(loaded, out_dir)
            left, cmp = output.compare_consistent(res.out_dir, res.files, wait=wait)
            total, lines = proved.result()
    except GuardgenError as exc:
        fail(exc)
    if left is not None and left.state in ("building", "swapping"):
        # The tree is the one from before that run: a diff against it says nothing useful.
        typer.echo(f"{left.describe(res.out_dir)} Compared with this config, "
                   f"{len(cmp.create)} file(s) are missing, {len(cmp.update)} different and "
                   f"{len(cmp.delete)} stale.", err=True)
        raise typer.Exit(EXIT_STALE)
    if left is not None:
        say(quiet, f"note: {left.describe(res.out_dir)}")
    failed = report_failures(total, lines, len(lines), quiet)
    if cmp.clean:
        say(quiet, f"{res.out_dir}: up to date ({len(res.files)} files).")
    else:
        sys.stdout.write(output.unified_diff(cmp, res.files))
        for problem in cmp.blocked:
            typer.echo(f"{problem}", err=True)
        typer.echo(f"\n{res.out_dir}: {len(cmp.create)} missing, {len(cmp.update)} different, "
                   f"{len(cmp.delete)} stale file(s)"
                   + (f", {len(cmp.blocked)} in the way" if cmp.blocked else "")
                   + ". Run `guardgen generate` and commit the result.", err=True)
    if failed or not cmp.clean:
        raise typer.Exit(EXIT_STALE)


def _failures(p: Plan) -> tuple[int, list[str]]:
    """How many built-in scenarios the plan has, and each failing one described."""
    outcomes = prove(p, [])
    return len(outcomes), [o.describe() for o in outcomes if not o.ok]


class InitCi(str, Enum):
    """CI systems `guardgen init --ci` writes a pipeline for."""

    GITHUB = "github"
    GITLAB = "gitlab"
    NONE = "none"


def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the landing zone.",
                                              file_okay=False)] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing guardgen.yaml, "
                                        "its schema and the CI file.")] = False,
    ci: Annotated[InitCi, typer.Option(
        "--ci", help="The CI file to write: github (.github/workflows/guardgen.yml), gitlab "
        "(.gitlab-ci.yml) or none.")] = InitCi.GITHUB,
    from_aws: Annotated[bool, typer.Option(
        "--from-aws", help="Start from the live organization instead of the demo: the config "
        "`guardgen import` writes (read-only; --profile, --region, --endpoint-url and the AWS "
        "environment as for import).")] = False,
    profile: Annotated[str | None, typer.Option("--profile", help="With --from-aws: AWS profile.")
                       ] = None,
    region: Annotated[str | None, typer.Option("--region", help="With --from-aws: AWS region.")
                      ] = None,
    endpoint_url: Annotated[str | None, typer.Option(
        "--endpoint-url", help="With --from-aws: send every call to this endpoint.")] = None,
    break_glass: Annotated[list[str] | None, typer.Option(
        "--break-glass", help="With --from-aws: a break-glass principal ARN (repeatable).")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Scaffold a demo landing zone: a commented guardgen.yaml, its Terraform and a CI file.

    Also writes guardgen.schema.json beside the config, for editors. The CI file installs this
    guardgen version and runs check, lint and terraform fmt, comments what a pull request
    changes, and shows where terraform plan runs with OIDC credentials. Needs no AWS
    credentials. Edit guardgen.yaml for your organization, then run `guardgen generate`.
    """
    from ..output import scaffold

    try:
        if from_aws:
            from . import org

            # The demo's other files are checked first, so a refusal writes nothing at all.
            others = [directory / rel for rel in scaffold.files(ci.value) if rel != scaffold.CONFIG]
            taken = [str(p) for p in others if p.exists()]
            if taken and not force:
                fail("already exists: " + ", ".join(taken) + " (use --force to overwrite)")
            written = [org.import_to(directory, profile=profile, region=region,
                                     endpoint_url=endpoint_url, break_glass=break_glass,
                                     force=force, quiet=quiet)]
            written += scaffold.init(directory, force=True, ci=ci.value, demo=False)
        else:
            written = scaffold.init(directory, force=force, ci=ci.value)
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
