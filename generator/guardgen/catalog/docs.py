"""Text for `guardgen guardrails` and docs/guardrails.md: the catalog, read from the registry and
nothing else."""

from __future__ import annotations

import json
import textwrap

from .. import catalog
from ..errors import GuardgenError

# Parameters used to show a guardrail's policy when no organization is given.
EXAMPLE_PARAMS = catalog.Params(allowed_regions=("eu-west-1", "us-east-1"), imds_max_hop_limit=2)
EXAMPLE_BREAK_GLASS = ("arn:aws:iam::*:role/BreakGlassAdmin",)


def example_policy(g: catalog.Guardrail) -> dict[str, object]:
    return {"Version": "2012-10-17",
            "Statement": catalog.statements(g, EXAMPLE_PARAMS, EXAMPLE_BREAK_GLASS)}


def _as_dict(g: catalog.Guardrail) -> dict[str, object]:
    return {
        "id": g.id, "title": g.title, "description": g.description,
        "mistake": g.mistake, "mistake_title": catalog.MISTAKES[g.mistake], "source": g.source,
        "applies_to_everyone": g.applies_to_everyone,
        "parameters": [{"name": p.name, "description": p.description, "required": p.required}
                       for p in g.parameters],
        "example_policy": example_policy(g),
    }


def guardrails(guardrail_id: str | None, *, as_json: bool = False) -> str:
    """The catalog listing, or one guardrail explained with its example policy."""
    if guardrail_id is None:
        if as_json:
            return json.dumps([_as_dict(g) for g in catalog.REGISTRY], indent=2) + "\n"
        width = max(len(g.id) for g in catalog.REGISTRY)
        lines = [f"{g.id.ljust(width)}  {g.title}" for g in catalog.REGISTRY]
        lines.append("\nRun `guardgen guardrails ID` to explain one and print its policy.")
        return "\n".join(lines) + "\n"
    g = catalog.BY_ID.get(guardrail_id)
    if g is None:
        raise GuardgenError(f"unknown guardrail {guardrail_id!r}; known: "
                            + ", ".join(x.id for x in catalog.REGISTRY))
    if as_json:
        return json.dumps(_as_dict(g), indent=2) + "\n"
    wrap = textwrap.TextWrapper(width=88)
    out = [f"{g.id}: {g.title}", "", wrap.fill(g.description), "",
           f"Prevents: {catalog.MISTAKES[g.mistake]}", f"Source:   {g.source}"]
    if g.applies_to_everyone:
        out.append(wrap.fill(f"Applies to everyone, break-glass principals included: "
                             f"{g.why_everyone}."))
    else:
        out.append("Break-glass principals are exempt from every Deny.")
    for p in g.parameters:
        need = "required" if p.required else "optional"
        out.append(f"Parameter organization.{p.name} ({need}): {p.description}")
    out += ["", "Policy, shown with example parameters (allowed_regions "
            f"{list(EXAMPLE_PARAMS.allowed_regions or ())}, break-glass "
            f"{list(EXAMPLE_BREAK_GLASS)}):", json.dumps(example_policy(g), indent=2)]
    return "\n".join(out) + "\n"


def markdown() -> str:
    """docs/guardrails.md: the whole catalog, generated from the registry."""
    out = ["<!-- Generated from guardgen's guardrail registry by `guardgen guardrails "
           "--markdown`. Do not edit by hand. -->", "# Guardrails", "",
           "Every guardrail is a service control policy fragment. Every Deny spares the "
           "organization's `break_glass_principals` unless the guardrail says it applies to "
           "everyone. Policies below are shown with example parameters (allowed_regions "
           f"{list(EXAMPLE_PARAMS.allowed_regions or ())}, break-glass "
           f"{list(EXAMPLE_BREAK_GLASS)}).", "",
           "| Id | Title | Prevents |", "|---|---|---|"]
    out += [f"| [`{g.id}`](#{g.id}) | {g.title} | {catalog.MISTAKES[g.mistake]} |"
            for g in catalog.REGISTRY]
    for g in catalog.REGISTRY:
        out += ["", f"## {g.id}", "", f"**{g.title}.** {g.description}", "",
                f"- Prevents: {catalog.MISTAKES[g.mistake]}", f"- Source: <{g.source}>"]
        if g.applies_to_everyone:
            out.append(f"- Applies to everyone, break-glass principals included: "
                       f"{g.why_everyone}.")
        else:
            out.append("- Break-glass principals are exempt.")
        for p in g.parameters:
            need = "required" if p.required else "optional"
            out.append(f"- Parameter `organization.{p.name}` ({need}): {p.description}")
        out += ["", "```json", json.dumps(example_policy(g), indent=2), "```"]
    return "\n".join(out) + "\n"
