"""GG6xx rules. SCP guardrail conventions: break-glass exemptions."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from ... import evaluate, iamcatalog
from ..model import POLICY_VERSION, SCP_EXAMPLES_DOC, Doc, Hit, Rule, Stmt, as_list, placeholders, scalar

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


class _PrincipalContext(Mapping[str, str]):
    """The request context of a break-glass principal as evaluation fills it: aws:PrincipalArn,
    aws:PrincipalAccount and, for a user, aws:username. Other keys depend on the request: with
    ``anything`` they stand for any value ('*'), without it they are missing."""

    def __init__(self, arn: str, anything: bool) -> None:
        account = arn.split(":", 5)[4] if arn.count(":") >= 5 else "*"
        self.known = {"aws:principalarn": arn, "aws:principalaccount": account}
        resource = arn.split(":", 5)[-1]
        if resource.startswith("user/"):
            self.known["aws:username"] = resource.rsplit("/", 1)[-1]
        self.anything = anything

    def __getitem__(self, key: str) -> str:
        if key in self.known:
            return self.known[key]
        if self.anything:
            return "*"
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.known)

    def __len__(self) -> int:
        return len(self.known)


def _resolve(value: str, arn: str, variables: bool, anything: bool) -> str | None:
    """A condition value as evaluation sees it for a request by ``arn``: its policy variables
    substituted by the evaluator's own function, None when one never resolves (a template
    placeholder such as ${Account}, or a key the request lacks): such a value matches nothing."""
    if not variables or "${" not in value:
        return value
    return evaluate.substitute(value, _PrincipalContext(arn, anything))


def _spared(s: Stmt, arn: str, variables: bool) -> bool:
    """Tell whether a Deny statement's conditions leave the principal ``arn`` alone."""
    for c in s.conditions:
        if c.key.lower() != "aws:principalarn" or c.set_op:
            continue
        if c.base in _EXEMPT_GLOB or c.base in _EXEMPT_EXACT:
            for raw in c.values:
                v = _resolve(raw, arn, variables, anything=False)
                if v is None:
                    continue  # matches nothing, so it exempts no one
                if c.base in _EXEMPT_GLOB and iamcatalog.arn_covers(v, arn):
                    return True
                if c.base in _EXEMPT_EXACT and (
                        v == arn or (c.base.endswith("IgnoreCase") and v.lower() == arn.lower())):
                    return True
        # A Deny aimed at other principals only (arn:aws:iam::*:root, say) cannot reach it.
        if c.base in _TARGET and not c.if_exists and not any(
                v is not None and iamcatalog.arns_intersect(v, arn)
                for v in (_resolve(raw, arn, variables, anything=True) for raw in c.values)):
            return True
    return False


def _dead_exemptions(s: Stmt) -> list[str]:
    return [v for c in s.conditions if c.key.lower() == "aws:principalarn"
            and c.base in _EXEMPT_GLOB | _EXEMPT_EXACT for v in c.values if placeholders(v)]


def _check_break_glass(doc: Doc) -> Iterator[Hit]:
    if not doc.options.break_glass:
        return
    variables = isinstance(doc.document, dict) and doc.document.get("Version") == POLICY_VERSION
    for s in doc.statements:
        if s.effect != "Deny" or normalized_statement(s.data) in doc.options.everyone:
            continue
        missing = [arn for arn in doc.options.break_glass if not _spared(s, arn, variables)]
        if missing:
            pointer = s.at("Condition") if "Condition" in s.data else s.pointer
            dead = _dead_exemptions(s)
            why = (f" (the exemption {dead[0]!r} holds a template placeholder that is never "
                   "filled in, so it spares no one)" if dead else "")
            yield pointer, ("this Deny also applies to the break-glass principal(s) "
                            f"{', '.join(missing)}{why}: add them to an ArnNotLike on aws:PrincipalArn")



RULES: tuple[Rule, ...] = (
    Rule("GG601", "scp-deny-without-break-glass", "SCP Deny does not spare the break-glass principals",
         "error", frozenset({"scp"}),
         "Every SCP Deny must carry ArnNotLike (or StringNotLike) on aws:PrincipalArn covering each "
         "break-glass principal, or the emergency path is locked too. Spared: Denies whose own "
         "aws:PrincipalArn test cannot match them (a Deny aimed at arn:aws:iam::*:root), and "
         "Denies that apply to everyone by design: when linting a plan, the statements of its "
         "guardrails with applies_to_everyone=True (deny-leave-organization); when linting files, "
         "statements equal to those guardrails' (Sid aside). Break-glass principals come from "
         "organization.break_glass_principals, or --break-glass for files. Policy variables in "
         "an exemption are resolved as guardgen verify resolves them (${aws:PrincipalAccount} is "
         "the principal's account); a template placeholder such as ${Account} or [ROLE] is never "
         "filled in, so an exemption holding one spares no one.",
         SCP_EXAMPLES_DOC, _check_break_glass),
)
