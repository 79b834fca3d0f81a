"""docs/lint-rules.md, generated from the rule registry."""

from __future__ import annotations

from .rules import REGISTRY


def markdown() -> str:
    """docs/lint-rules.md: every `guardgen lint` rule, generated from its registry."""
    out = ["<!-- Generated from guardgen's lint rule registry (guardgen.policy.lint.docs)."
           " Do not edit by hand. -->", "# Lint rules", "",
           "`guardgen lint` checks every policy document of the plan, or the JSON files given. "
           "Ids are stable: `GG` and three digits, the hundreds giving the area.", "",
           "| Id | Name | Severity | Applies to | Title |", "|---|---|---|---|---|"]
    out += [f"| [`{r.id}`](#{r.id.lower()}) | {r.name} | {r.severity} | "
            f"{', '.join(sorted(r.applies_to))} | {r.title} |" for r in REGISTRY]
    for r in REGISTRY:
        out += ["", f"## {r.id}", "", f"**{r.name}** ({r.severity}). {r.title}.", "",
                r.description, "", f"Source: <{r.source}>"]
    return "\n".join(out) + "\n"
