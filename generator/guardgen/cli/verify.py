"""`guardgen verify`: prove the guardrails against AWS's policy evaluation logic, offline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import GuardgenError
from .common import EXIT_STALE, ConfigOpt, QuietOpt, fail, say

if TYPE_CHECKING:  # only for annotations: keeps `guardgen --help` from importing the pipeline
    from ..plan import Plan
    from ..prove.verify import Outcome


def prove(plan: Plan, files: list[Path]) -> list[Outcome]:
    """The built-in scenarios of the plan plus those of ``files``, evaluated."""
    from ..prove import verify

    scenarios = verify.builtin_scenarios(plan)
    for f in files:
        scenarios += verify.load_scenarios(f)
    return verify.run(plan, scenarios)


def _prove_files(scps: list[Path], files: list[Path]) -> list[Outcome]:
    from ..prove import verify

    if not files:
        fail("--scp proves scenario files: name at least one (YAML with a `scenarios:` list)")
    policies = [verify.load_scp(p, p.as_posix()) for p in scps]
    scenarios = [s for f in files for s in verify.load_scenarios(f)]
    return verify.run_scps(policies, scenarios)


def report(outcomes: list[Outcome], quiet: bool, verbose: bool) -> int:
    """Print failing scenarios (all of them with ``verbose``); return how many failed."""
    failed = [o for o in outcomes if not o.ok]
    for o in outcomes if verbose else []:
        typer.echo(o.describe())
    return report_failures(len(outcomes), [] if verbose else [o.describe() for o in failed],
                           len(failed), quiet)


def report_failures(total: int, lines: list[str], failed: int, quiet: bool) -> int:
    """Print ``lines`` (the failures described) and the verdict on ``total`` scenarios."""
    for line in lines:
        typer.echo(line)
    if failed:
        typer.echo(f"verify: {failed} of {total} scenarios failed.", err=True)
    else:
        say(quiet, f"verify: all {total} scenarios hold.")
    return failed


def verify(
    files: Annotated[list[Path] | None, typer.Argument(
        metavar="[FILES]...", help="Scenario files (YAML with a `scenarios:` list).",
        dir_okay=False)] = None,
    config: ConfigOpt = Path("guardgen.yaml"),
    verbose: Annotated[bool, typer.Option("--verbose", "-v",
                                          help="Print every scenario, not only failures.")] = False,
    quiet: QuietOpt = False,
    scp: Annotated[list[Path] | None, typer.Option(
        "--scp", dir_okay=False, help="Prove the scenario files against this SCP file instead of "
        "a config's guardrails (repeatable: each file is one level from the root down).")] = None,
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

    With --scp, no config is read: the scenario files are proved against the SCP files given
    (hand-written or third-party), each one level below the root with FullAWSAccess beside it;
    a scenario may list `scps: [FILE, ...]` to choose its own chain.

    Exit 0 when every expectation holds, 1 otherwise (each failure names the statement that
    decided), 2 for invalid input. `guardgen check` runs the built-in suite too.
    """
    from .. import pipeline, plan

    try:
        if scp:
            outcomes = _prove_files(scp, list(files or []))
        else:
            p = plan.build(pipeline.load(config).config)
            outcomes = prove(p, list(files or []))
    except GuardgenError as exc:
        fail(exc)
    if report(outcomes, quiet, verbose):
        raise typer.Exit(EXIT_STALE)


def register(app: typer.Typer) -> None:
    """Add the command to the main app."""
    app.command()(verify)
