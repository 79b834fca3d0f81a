"""The command line: a thin layer over the pipeline. Errors become exit codes in one place.

Exit codes: 0 success; 1 ``check`` found the committed tree stale or edited; 2 invalid input or
usage (bad config, guardrails that do not fit, files guardgen will not overwrite).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from .errors import ConfigError, GuardgenError

if TYPE_CHECKING:  # only for annotations: keeps `guardgen --help` from importing the pipeline
    from .plan import Plan
    from .verify import Outcome

app = typer.Typer(
    help="Turn one organization description (guardgen.yaml) into the Terraform that locks an "
    "AWS Organization down.\n\nStart with `guardgen init DIR`, commit what it writes, and let CI "
    "run `guardgen check` on every change.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="The organization description.",
                                         dir_okay=False)]
OutputOpt = Annotated[Path | None, typer.Option(
    "--output", "-o", help="Output directory (default: `output:` in the config, relative to it; "
    "`terraform` if unset).", file_okay=False)]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")]

EXIT_OK, EXIT_STALE, EXIT_INVALID = 0, 1, 2


def _register_subcommands() -> None:
    from . import cli_alarms, cli_lint

    app.add_typer(cli_alarms.app, name="alarms")
    cli_lint.register(app)


_register_subcommands()


def _fail(exc: GuardgenError) -> NoReturn:
    if isinstance(exc, ConfigError):
        n = len(exc.problems)
        typer.echo(f"error: invalid configuration ({n} problem{'s' if n != 1 else ''}):", err=True)
        for p in exc.problems:
            typer.echo(f"  {p}", err=True)
    else:
        typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(EXIT_INVALID)


def _say(quiet: bool, msg: str) -> None:
    if not quiet:
        typer.echo(msg, err=True)


def _generate(config: Path, out: Path | None, force: bool, quiet: bool) -> None:
    from . import output, pipeline

    try:
        res = pipeline.run(config, out)
        output.recover(res.out_dir)
        cmp = output.compare(res.out_dir, res.files)
        output.write(res.out_dir, res.files, cmp, force=force)
    except GuardgenError as exc:
        _fail(exc)
    summary = (f"{len(res.plan.targets)} targets, {len(res.plan.policies)} SCPs, "
               f"{len(res.files)} files")
    if cmp.clean:
        _say(quiet, f"{res.out_dir}: up to date, nothing written ({summary}).")
        return
    _say(quiet, f"{res.out_dir}: {len(cmp.create)} created, {len(cmp.update)} updated, "
         f"{len(cmp.delete)} removed ({summary}).")


@app.command()
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


@app.command()
def check(
    config: ConfigOpt = Path("guardgen.yaml"),
    output_dir: OutputOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Fail (exit 1, with a diff) when the committed Terraform is stale or edited by hand.

    Renders in memory and compares with the output directory; writes nothing. Exit 0 when
    clean, 1 when different, 2 when the config is invalid. Run it in CI on every change.
    """
    from . import output, pipeline

    try:
        res = pipeline.run(config, output_dir)
        cmp = output.compare(res.out_dir, res.files)
    except GuardgenError as exc:
        _fail(exc)
    proofs = _verify(res.plan, [])
    if output.interrupted(res.out_dir):
        typer.echo(f"{res.out_dir}: a `guardgen generate` was interrupted before it finished; "
                   "run it again to complete the write.", err=True)
        raise typer.Exit(EXIT_STALE)
    failed = _report(proofs, quiet, verbose=False)
    if cmp.clean:
        _say(quiet, f"{res.out_dir}: up to date ({len(res.files)} files).")
    else:
        sys.stdout.write(output.unified_diff(cmp, res.files))
        typer.echo(f"\n{res.out_dir}: {len(cmp.create)} missing, {len(cmp.update)} different, "
                   f"{len(cmp.delete)} stale file(s). Run `guardgen generate` and commit the "
                   "result.", err=True)
    if failed or not cmp.clean:
        raise typer.Exit(EXIT_STALE)


def _verify(plan: Plan, files: list[Path]) -> list[Outcome]:
    from . import verify

    scenarios = verify.builtin_scenarios(plan)
    for f in files:
        scenarios += verify.load_scenarios(f)
    return verify.run(plan, scenarios)


def _report(outcomes: list[Outcome], quiet: bool, verbose: bool) -> int:
    """Print failing scenarios (all of them with ``verbose``); return how many failed."""
    failed = [o for o in outcomes if not o.ok]
    for o in outcomes if verbose else failed:
        typer.echo(o.describe())
    if failed:
        typer.echo(f"verify: {len(failed)} of {len(outcomes)} scenarios failed.", err=True)
    else:
        _say(quiet, f"verify: all {len(outcomes)} scenarios hold.")
    return len(failed)


@app.command()
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
    from . import scaffold

    try:
        written = scaffold.init(directory, force=force)
    except GuardgenError as exc:
        _fail(exc)
    for path in written:
        _say(quiet, f"wrote {path}")
    _generate(directory / "guardgen.yaml", None, False, quiet)
    _say(quiet, f"Next: cd {directory} && edit guardgen.yaml && guardgen generate")


@app.command()
def guardrails(
    guardrail_id: Annotated[str | None, typer.Argument(
        metavar="ID", help="Explain one guardrail and print its policy.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    as_markdown: Annotated[bool, typer.Option(
        "--markdown", help="The whole catalog as Markdown (docs/guardrails.md).")] = False,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="Also show what this organization attaches where and creates in "
        "each member account.", dir_okay=False)] = None,
) -> None:
    """List the SCP guardrails, or explain one and print its policy JSON."""
    from . import explain

    try:
        if config is not None:
            from . import config as config_mod
            from . import plan

            text = explain.guardrails(None) + "\n" + explain.organization(
                plan.build(config_mod.load(config).config))
            typer.echo(text, nl=False)
            return
        if as_markdown:
            typer.echo(explain.markdown(), nl=False)
            return
        typer.echo(explain.guardrails(guardrail_id, as_json=as_json), nl=False)
    except GuardgenError as exc:
        _fail(exc)


@app.command()
def verify(
    files: Annotated[list[Path] | None, typer.Argument(
        metavar="[FILES]...", help="Scenario files (YAML with a `scenarios:` list).",
        dir_okay=False)] = None,
    config: ConfigOpt = Path("guardgen.yaml"),
    verbose: Annotated[bool, typer.Option("--verbose", "-v",
                                          help="Print every scenario, not only failures.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Prove the guardrails do what they claim, offline.

    Evaluates requests against the SCPs each account really gets (root to account,
    FullAWSAccess included), its permission boundary and identity policies, following AWS's
    policy evaluation logic. Always runs the built-in suite derived from the guardrail catalog
    (every guardrail denies what it must, leaves the rest alone, and spares break-glass
    principals); scenario files add your own expectations:

    \b
    scenarios:
      - name: workload admin cannot stop cloudtrail
        principal: arn:aws:iam::444444444444:role/Admin
        account: "444444444444"
        action: cloudtrail:StopLogging
        resource: arn:aws:cloudtrail:us-east-1:444444444444:trail/org
        context: { "aws:RequestedRegion": us-east-1 }
        expect: deny

    Exit 0 when every expectation holds, 1 otherwise (each failure names the statement that
    decided), 2 for invalid input. `guardgen check` runs the built-in suite too.
    """
    from . import config as config_mod
    from . import plan as plan_mod

    try:
        p = plan_mod.build(config_mod.load(config).config)
        outcomes = _verify(p, list(files or []))
    except GuardgenError as exc:
        _fail(exc)
    if _report(outcomes, quiet, verbose):
        raise typer.Exit(EXIT_STALE)


@app.command()
def schema() -> None:
    """Print the JSON Schema of guardgen.yaml (for editors and validation)."""
    from . import config

    typer.echo(json.dumps(config.json_schema(), indent=2, sort_keys=True))


@app.command()
def version() -> None:
    """Print guardgen's version."""
    from . import __version__

    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    app()
