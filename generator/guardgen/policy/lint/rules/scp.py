"""GG6xx rules. SCP guardrail conventions: break-glass exemptions."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from ... import iamcatalog
from ..model import SCP_EXAMPLES_DOC, Doc, Hit, Rule, Stmt, as_list, scalar

# -- rules: SCP conventions ------------------------------------------------------------------------

def normalized_statement(statement: Mapping[str, Any]) -> str:
    """A statement's meaning as text, for comparing statements: no Sid, element lists sorted,
    action names lower-cased."""
    out: dict[str, Any] = {}
    for key, value in statement.items():
        if key == "Sid":
            continue
        if key in ("Action", "NotAction", "Resource", "NotResource"):
            items = [str(v) for v in as_list(value)]
            out[key] = sorted(v.lower() for v in items) if key.endswith("Action") else sorted(items)
        elif key == "Condition" and isinstance(value, dict):
            out[key] = {op: {k: sorted(scalar(v) for v in as_list(vals)) for k, vals in tests.items()}
                        if isinstance(tests, dict) else tests for op, tests in value.items()}
        else:
            out[key] = value
    return json.dumps(out, sort_keys=True)


_EXEMPT_GLOB = frozenset({"ArnNotLike", "ArnNotEquals", "StringNotLike"})
_EXEMPT_EXACT = frozenset({"StringNotEquals", "StringNotEqualsIgnoreCase"})
_TARGET = frozenset({"ArnLike", "ArnEquals", "StringLike", "StringEquals"})


def _spared(s: Stmt, arn: str) -> bool:
    """Tell whether a Deny statement's conditions leave the principal ``arn`` alone."""
    for c in s.conditions:
        if c.key.lower() != "aws:principalarn" or c.set_op:
            continue
        if c.base in _EXEMPT_GLOB and any(iamcatalog.arn_covers(v, arn) for v in c.values):
            return True
        if c.base in _EXEMPT_EXACT and any(
                v == arn or (c.base.endswith("IgnoreCase") and v.lower() == arn.lower()) for v in c.values):
            return True
        # A Deny aimed at other principals only (arn:aws:iam::*:root, say) cannot reach it.
        if c.base in _TARGET and not c.if_exists and not any(
                iamcatalog.arns_intersect(v, arn) for v in c.values):
            return True
    return False


def _check_break_glass(doc: Doc) -> Iterator[Hit]:
    if not doc.options.break_glass:
        return
    for s in doc.statements:
        if s.effect != "Deny" or normalized_statement(s.data) in doc.options.everyone:
            continue
        missing = [arn for arn in doc.options.break_glass if not _spared(s, arn)]
        if missing:
            pointer = s.at("Condition") if "Condition" in s.data else s.pointer
            yield pointer, ("this Deny also applies to the break-glass principal(s) "
                            f"{', '.join(missing)}: add them to an ArnNotLike on aws:PrincipalArn")



RULES: tuple[Rule, ...] = (
    Rule("GG601", "scp-deny-without-break-glass", "SCP Deny does not spare the break-glass principals",
         "error", frozenset({"scp"}),
         "Every SCP Deny must carry ArnNotLike (or StringNotLike) on aws:PrincipalArn covering each "
         "break-glass principal, or the emergency path is locked too. Spared: Denies whose own "
         "aws:PrincipalArn test cannot match them (a Deny aimed at arn:aws:iam::*:root), and "
         "Denies that apply to everyone by design: when linting a plan, the statements of its "
         "guardrails with applies_to_everyone=True (deny-leave-organization); when linting files, "
         "statements equal to those guardrails' (Sid aside). Break-glass principals come from "
         "organization.break_glass_principals, or --break-glass for files.",
         SCP_EXAMPLES_DOC, _check_break_glass),
)
