"""Are the guardrails the config asks for really in force on an account? (the article's mistake 6)

Pure: the organization as read by :mod:`.organization` and the config's plan in, audit findings
out. A guardrail protects an account only when guardgen's SCP that carries it exists with the
content the config generates and is attached to a target on the account's path from the root,
and when the account sits in the OU the config places it in; :func:`guardgen.aws.drift.analyze`
already finds each of those differences, so this keeps the ones on the account's path.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..plan import Plan
from .audit import BY_ID, RANK, AccountAudit, Finding, Unknown
from .drift import analyze
from .organization import Organization

CHECK = BY_ID["guardrails-not-in-force"]
# Drift kinds that leave a planned guardrail without effect on an account.
_HOLES = {"scp-missing": "does not exist", "scp-detached": "is not attached where the config "
          "attaches it", "scp-content-differs": "does not say what the config generates"}


def _path_targets(plan: Plan, account_id: str) -> set[str]:
    """Idents of the plan's targets on the account's path: the root, its OUs, the account."""
    idents = {"root"}
    for ou in plan.ous:
        if any(i == account_id for _, i in ou.accounts):
            idents |= {str(o.ident) for o in plan.ous if ou.path[:len(o.path)] == o.path}
    idents |= {str(t.ident) for t in plan.targets if t.account_id == account_id}
    return idents


def findings(org: Organization, plan: Plan, account_id: str) -> list[Finding]:
    """The guardrails the config puts in force on ``account_id`` that the organization does not.

    Nothing for the management account: SCPs never restrict it, whatever is attached.
    """
    if account_id == plan.config.organization.management_account_id:
        return []
    drift = analyze(org, plan)
    on_path = _path_targets(plan, account_id)
    policies = {p.name: p for p in plan.policies if str(p.target.ident) in on_path}
    out = []
    for d in drift.findings:
        if d.kind in _HOLES and d.subject in policies:
            pol = policies[d.subject]
            out.append(Finding(CHECK.id, CHECK.severity, account_id,
                               f"{', '.join(pol.guardrails)} (on {pol.target.display}) not in force: "
                               f"SCP {pol.name} {_HOLES[d.kind]}", CHECK.mistake))
        elif d.kind == "account-misplaced" and d.subject == account_id:
            out.append(Finding(CHECK.id, CHECK.severity, account_id, d.message, CHECK.mistake))
    return out


def merged(audit: AccountAudit, more: Iterable[Finding] = (),
           unknown: Iterable[Unknown] = ()) -> AccountAudit:
    """The audit with more findings and unknowns, in the audit's order."""
    found = sorted({*audit.findings, *more}, key=lambda x: (-RANK[x.severity], x.id, x.resource,
                                                             x.message))
    return AccountAudit(audit.account, tuple(found),
                        tuple(sorted({*audit.unknown, *unknown}, key=lambda u: (u.check, u.step))))


def unavailable(reason: str) -> Unknown:
    """The check could not run: the organization cannot be read, or no config was given."""
    return Unknown(CHECK.id, CHECK.needs[0], reason)
