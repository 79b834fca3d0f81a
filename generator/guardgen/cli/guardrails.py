"""`guardgen guardrails`: the catalog, one guardrail explained, or what a config attaches where."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import GuardgenError
from .common import fail

if TYPE_CHECKING:
    from ..plan import Plan


def organization(plan: Plan) -> str:
    """What one organization's plan attaches where and creates in which account."""
    from ..catalog import BY_ID

    out = [f"Guardrails of {plan.config.organization.name}:"]
    for t in plan.targets:
        if t.guardrails:
            out.append(f"  {t.display}: {', '.join(t.guardrails)}")
    for g in plan.guardrails:
        if g.id not in BY_ID:
            out.append(f"  ({g.id}: {g.title})")
    if plan.accounts:
        out.append("\nIAM in member accounts:")
        for a in plan.accounts:
            out.append(f"  {a.name} ({a.id}), Terraform root {a.directory}/:")
            for b in a.boundaries:
                out.append(f"    permission boundary {b.name}"
                           + (" (enforced by an SCP)" if b.enforced else ""))
            for o in a.oidc:
                out.append(f"    OIDC provider {o.url}")
            for r in a.roles:
                bound = f", boundary {r.boundary_name}" if r.boundary_name else ""
                out.append(f"    {r.kind} role {r.name}{bound}")
    return "\n".join(out) + "\n"



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
    from ..catalog import docs

    try:
        if config is not None:
            from .. import pipeline, plan

            text = docs.guardrails(None) + "\n" + organization(
                plan.build(pipeline.load(config).config))
            typer.echo(text, nl=False)
            return
        if as_markdown:
            typer.echo(docs.markdown(), nl=False)
            return
        typer.echo(docs.guardrails(guardrail_id, as_json=as_json), nl=False)
    except GuardgenError as exc:
        fail(exc)


def register(app: typer.Typer) -> None:
    """Add the command to the main app."""
    app.command()(guardrails)
