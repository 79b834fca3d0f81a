"""Text for `guardgen guardrails` and docs/guardrails.md: the catalog, read from the registries
and nothing else."""

from __future__ import annotations

import json
import textwrap

from .. import catalog
from ..errors import GuardgenError

# Parameters used to show a guardrail's policy when no organization is given.
EXAMPLE_PARAMS = catalog.Params(
    allowed_regions=("eu-west-1", "us-east-1"), imds_max_hop_limit=2, org_id="o-a1b2c3d4e5",
    trusted_accounts=("999999999999",),
    trusted_services=("logdelivery.elasticloadbalancing.amazonaws.com",),
    ec2=catalog.Ec2Settings(image_block_public_access=True,
                            snapshot_block_public_access="block_all_sharing",
                            serial_console_access="disabled"))
EXAMPLE_BREAK_GLASS = ("arn:aws:iam::*:role/BreakGlassAdmin",)
TYPE_NAMES = {"scp": "SCP", "rcp": "RCP", "declarative-ec2": "EC2 declarative policy"}
_SECTIONS = (("scp", "Service control policies (SCPs)"),
             ("rcp", "Resource control policies (RCPs)"),
             ("declarative-ec2", "EC2 declarative policy"))


def example_policy(g: catalog.Guardrail) -> dict[str, object]:
    """The guardrail's policy document with the example parameters."""
    if g.document is not None:
        return g.document(EXAMPLE_PARAMS)
    return {"Version": "2012-10-17",
            "Statement": catalog.statements(g, EXAMPLE_PARAMS, EXAMPLE_BREAK_GLASS)}


def _exemption(g: catalog.Guardrail) -> str:
    if g.policy_type == "declarative-ec2":
        return "It sets EC2 settings and denies no one, so nobody needs an exemption."
    if g.applies_to_everyone:
        return f"Applies to everyone, break-glass principals included: {g.why_everyone}."
    if g.policy_type == "rcp":
        return ("Break-glass principals are exempt from every Deny, but only inside the "
                "organization; so are the data perimeter's trusted accounts and AWS services.")
    return "Break-glass principals are exempt from every Deny."


def _as_dict(g: catalog.Guardrail) -> dict[str, object]:
    return {
        "id": g.id, "type": g.policy_type, "title": g.title, "description": g.description,
        "mistake": g.mistake, "mistake_title": catalog.MISTAKES[g.mistake], "source": g.source,
        "applies_to_everyone": g.applies_to_everyone,
        "parameters": [{"name": p.name, "description": p.description, "required": p.required}
                       for p in g.parameters],
        "example_policy": example_policy(g),
    }


def _examples_note() -> str:
    return (f"example parameters (allowed_regions {list(EXAMPLE_PARAMS.allowed_regions or ())}, "
            f"org_id {EXAMPLE_PARAMS.org_id}, trusted account "
            f"{list(EXAMPLE_PARAMS.trusted_accounts)}, trusted service "
            f"{list(EXAMPLE_PARAMS.trusted_services)}, break-glass {list(EXAMPLE_BREAK_GLASS)})")


def guardrails(guardrail_id: str | None, *, as_json: bool = False) -> str:
    """The catalog listing, or one guardrail explained with its example policy."""
    if guardrail_id is None:
        if as_json:
            return json.dumps([_as_dict(g) for g in catalog.ALL], indent=2) + "\n"
        width = max(len(g.id) for g in catalog.ALL)
        lines = [f"{g.id.ljust(width)}  {g.title}" for g in catalog.REGISTRY]
        for kind, heading in _SECTIONS[1:]:
            lines += ["", f"{heading}:"]
            lines += [f"{g.id.ljust(width)}  {g.title}" for g in catalog.ALL
                      if g.policy_type == kind]
        lines.append("\nRun `guardgen guardrails ID` to explain one and print its policy.")
        return "\n".join(lines) + "\n"
    g = catalog.BY_ID.get(guardrail_id)
    if g is None:
        raise GuardgenError(f"unknown guardrail {guardrail_id!r}; known: "
                            + ", ".join(x.id for x in catalog.ALL))
    if as_json:
        return json.dumps(_as_dict(g), indent=2) + "\n"
    wrap = textwrap.TextWrapper(width=88)
    out = [f"{g.id}: {g.title}", "", wrap.fill(g.description), "",
           f"Prevents: {catalog.MISTAKES[g.mistake]}", f"Source:   {g.source}"]
    if g.policy_type != "scp":
        out.append(f"Type:     {TYPE_NAMES[g.policy_type]}")
    out.append(wrap.fill(_exemption(g)))
    for p in g.parameters:
        need = "required" if p.required else "optional"
        out.append(f"Parameter organization.{p.name} ({need}): {p.description}")
    shown = (f"example parameters (allowed_regions {list(EXAMPLE_PARAMS.allowed_regions or ())}"
             f", break-glass {list(EXAMPLE_BREAK_GLASS)})" if g.policy_type == "scp"
             else _examples_note())
    out += ["", f"Policy, shown with {shown}:", json.dumps(example_policy(g), indent=2)]
    return "\n".join(out) + "\n"


def markdown() -> str:
    """docs/guardrails.md: the whole catalog, generated from the registries."""
    out = ["<!-- Generated from guardgen's guardrail registry by `guardgen guardrails "
           "--markdown`. Do not edit by hand. -->", "# Guardrails", "",
           "Most guardrails are service control policy fragments. Every Deny spares the "
           "organization's `break_glass_principals` unless the guardrail says it applies to "
           "everyone. Resource control policies (RCPs) bind everyone who reaches a member "
           "account's resources, so their Denies spare break-glass principals only inside the "
           "organization, and also the accounts and AWS services of "
           "`organization.data_perimeter`. The EC2 declarative policy sets account-wide EC2 "
           "settings and denies no one. The organization's own guardrails "
           "(`custom_guardrails:`) attach, pack and verify like these. Policies below are shown "
           f"with {_examples_note()}.", "",
           "| Id | Type | Title | Prevents |", "|---|---|---|---|"]
    out += [f"| [`{g.id}`](#{g.id}) | {TYPE_NAMES[g.policy_type]} | {g.title} | "
            f"{catalog.MISTAKES[g.mistake]} |" for g in catalog.ALL]
    for g in catalog.ALL:
        out += ["", f"## {g.id}", "", f"**{g.title}.** {g.description}", "",
                f"- Type: {TYPE_NAMES[g.policy_type]}",
                f"- Prevents: {catalog.MISTAKES[g.mistake]}", f"- Source: <{g.source}>",
                f"- {_exemption(g)}"]
        for p in g.parameters:
            need = "required" if p.required else "optional"
            out.append(f"- Parameter `organization.{p.name}` ({need}): {p.description}")
        out += ["", "```json", json.dumps(example_policy(g), indent=2), "```"]
    return "\n".join(out) + "\n"
