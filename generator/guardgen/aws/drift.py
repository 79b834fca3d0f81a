"""Drift: the live organization compared with what the config generates. Pure.

The plan (``guardgen.plan.build`` of the config) says which OUs exist, which accounts sit in
which OU, and which SCPs (named ``guardgen-...``, content minified) attach to which target. The
live side is a fetched :class:`~guardgen.aws.organization.Organization`. OUs are matched by
their path of names (what the config describes), accounts by id, guardgen's SCPs by name; SCPs
with other names are not guardgen's and only count against the targets' quota.

Names in messages are JSON-escaped: they come from AWS and may hold line breaks or terminal
escape sequences.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..plan import Plan, Target
from ..policy.documents import minify
from .organization import Organization, OrgPolicy

# Every SCP guardgen generates is named so (plan/organization.py): the one way to tell them apart
# from SCPs made by hand or by other tools.
PREFIX = "guardgen-"

# Finding kinds, in report order, with what each means.
KINDS: dict[str, str] = {
    "ou-missing": "an OU of the config is not in the organization",
    "ou-extra": "an OU of the organization is not in the config",
    "ou-id-differs": "the OU at a path of the config has another id than the config adopts",
    "account-missing": "an account of the config is not in the organization",
    "account-misplaced": "an account is not in the OU the config places it in, so that OU's "
    "guardrails do not protect it",
    "scp-missing": "an SCP the config generates does not exist",
    "scp-extra": "a guardgen SCP exists that the config does not generate",
    "scp-detached": "a guardgen SCP is not attached to the target the config attaches it to",
    "scp-attached-elsewhere": "a guardgen SCP is attached to a target the config does not attach "
    "it to",
    "scp-content-differs": "a guardgen SCP's content is not what the config generates",
    "over-quota": "a target would hold more SCPs than AWS allows",
}
_ORDER = {k: i for i, k in enumerate(KINDS)}


@dataclass(frozen=True)
class Finding:
    """One difference between the organization and the config."""

    kind: str  # a key of KINDS
    subject: str  # the OU path, account id, SCP name or target id it is about
    message: str
    diff: str = ""  # scp-content-differs: a unified diff, one statement per line

    def to_json(self) -> dict[str, Any]:
        """The finding as JSON data."""
        return {"kind": self.kind, "subject": self.subject, "message": self.message,
                "diff": self.diff or None}


@dataclass(frozen=True)
class Drift:
    """Every finding of one comparison."""

    organization: str
    config: str
    findings: tuple[Finding, ...]

    @property
    def in_sync(self) -> bool:
        """True when nothing differs."""
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        """``{"organization", "config", "in_sync", "findings": [...]}``."""
        return {"organization": self.organization, "config": self.config, "in_sync": self.in_sync,
                "findings": [f.to_json() for f in self.findings]}


def _q(text: str) -> str:
    return json.dumps(text)


def _ou(path: Sequence[str]) -> str:
    return "OU " + _q("/".join(path))


def is_guardgen(policy: OrgPolicy) -> bool:
    """Tell whether an SCP is one guardgen generates (by its name)."""
    return policy.name.startswith(PREFIX) and not policy.aws_managed


def statement_lines(content: str) -> list[str]:
    """A policy as lines to diff: the document without its statements, then one per statement.

    Each line is minified JSON, so a diff shows exactly which statement changed and how.
    """
    try:
        doc = json.loads(content)
    except ValueError:
        return content.splitlines() or [content]
    if not isinstance(doc, dict):
        return [minify(doc)]
    statements = doc.get("Statement")
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list):
        return [minify(doc)]
    return [minify({k: v for k, v in doc.items() if k != "Statement"}),
            *(minify(s) for s in statements)]


def same_content(live: str, planned: str) -> bool:
    """Tell whether a live SCP says what the plan deploys: the same text, or the same JSON."""
    if live == planned:
        return True
    try:
        return bool(json.loads(live) == json.loads(planned))
    except ValueError:
        return False


def content_diff(live: OrgPolicy, planned: str) -> str:
    """A unified diff from the live SCP to the planned one, one statement per line."""
    return "".join(difflib.unified_diff(
        [line + "\n" for line in statement_lines(live.content)],
        [line + "\n" for line in statement_lines(planned)],
        f"live {live.name} ({live.id})", f"generated {live.name}", lineterm="\n"))


def _target_ids(org: Organization, plan: Plan) -> dict[str, str | None]:
    """Each plan target's identifier → the live id it is attached to, or None when it is missing."""
    live_ous = {u.path: u.id for u in org.units}
    ou_paths = {str(o.ident): o.path for o in plan.ous}
    accounts = {a.id for a in org.accounts}
    out: dict[str, str | None] = {}
    for t in plan.targets:
        if t.kind == "root":
            out[str(t.ident)] = org.root_id
        elif t.kind == "ou":
            out[str(t.ident)] = live_ous.get(ou_paths[str(t.ou)])
        else:
            out[str(t.ident)] = t.account_id if t.account_id in accounts else None
    return out


def _display(t: Target, ou_paths: dict[str, tuple[str, ...]], org: Organization) -> str:
    """A plan target for a message, its names JSON-escaped."""
    if t.kind == "ou":
        return _ou(ou_paths[str(t.ou)])
    if t.kind == "account" and t.account_id:
        return _where(org, t.account_id) if org.account(t.account_id) else f"account {t.account_id}"
    return "the root"


def analyze(org: Organization, plan: Plan, config: str = "guardgen.yaml") -> Drift:
    """Compare the organization with the plan of a config.

    Args:
        org: The fetched organization.
        plan: ``guardgen.plan.build`` of the loaded config.
        config: How to name the config in the report.

    Returns:
        Every finding, ordered by kind (as :data:`KINDS` lists them), then subject.
    """
    out: list[Finding] = []
    live_ous = {u.path: u for u in org.units}
    planned_ous = {o.path: o for o in plan.ous}
    for path, o in planned_ous.items():
        unit = live_ous.get(path)
        if unit is None:
            adopt = f" (the config adopts {o.import_id})" if o.import_id else ""
            out.append(Finding("ou-missing", "/".join(path), f"{_ou(path)} is not in the organization"
                               f"{adopt}; `terraform apply` of the generated tree would create it"))
        elif o.import_id and o.import_id != unit.id:
            out.append(Finding("ou-id-differs", "/".join(path), f"{_ou(path)} is {unit.id} in the "
                               f"organization, but the config adopts {o.import_id}"))
    for path, u in live_ous.items():
        if path not in planned_ous:
            out.append(Finding("ou-extra", "/".join(path), f"{_ou(path)} ({u.id}) is in the "
                               "organization but not in the config"))

    accounts = {a.id: a for a in org.accounts}
    for o in plan.ous:
        for name, account_id in o.accounts:
            found = accounts.get(account_id)
            label = f"account {_q(name)} ({account_id})"
            if found is None:
                out.append(Finding("account-missing", account_id, f"{label}, placed in {_ou(o.path)} "
                                   "by the config, is not in the organization"))
                continue
            at = org.path_of(found.parent_id)
            if at != o.path:
                here = "the root" if at == () else _ou(at) if at else found.parent_id
                out.append(Finding("account-misplaced", account_id, f"{label} is in {here}, not in "
                                   f"{_ou(o.path)} where the config places it: the guardrails of "
                                   f"{_ou(o.path)} do not protect it"))

    targets = _target_ids(org, plan)
    ou_paths = {str(o.ident): o.path for o in plan.ous}
    live_scps = {p.name: p for p in org.policies if is_guardgen(p)}
    planned_at: Counter[str] = Counter()
    for pol in plan.policies:
        where = targets[str(pol.target.ident)]
        if where is not None:
            planned_at[where] += 1
        live = live_scps.get(pol.name)
        if live is None:
            out.append(Finding("scp-missing", pol.name, f"SCP {_q(pol.name)} for "
                               f"{_display(pol.target, ou_paths, org)} does not exist"))
            continue
        if not same_content(live.content, pol.content):
            out.append(Finding("scp-content-differs", pol.name, f"SCP {_q(pol.name)} ({live.id}) "
                               "does not say what the config generates", content_diff(live, pol.content)))
        if where is not None and where not in live.targets:
            out.append(Finding("scp-detached", pol.name, f"SCP {_q(pol.name)} ({live.id}) is not "
                               f"attached to {_display(pol.target, ou_paths, org)}"))
        for t in live.targets:
            if t != where:
                out.append(Finding("scp-attached-elsewhere", pol.name, f"SCP {_q(pol.name)} "
                                   f"({live.id}) is also attached to {_where(org, t)}"))
    planned_names = {p.name for p in plan.policies}
    for name, extra in live_scps.items():
        if name not in planned_names:
            attached = ", ".join(_where(org, t) for t in extra.targets)
            out.append(Finding("scp-extra", name, f"SCP {_q(name)} ({extra.id}) is not generated by "
                               "the config" + (f"; attached to {attached}" if attached else "")))

    limit = plan.limits.policies_per_target
    live_targets = [org.root_id, *(u.id for u in org.units), *(a.id for a in org.accounts)]
    for t in dict.fromkeys([*live_targets, *planned_at]):
        in_place = org.attached(t)
        others = [p for p in in_place if not is_guardgen(p)]
        need = max(len(in_place), len(others) + planned_at[t])
        if need > limit:
            out.append(Finding("over-quota", t, f"{_where(org, t)} would hold {need} SCPs, more than "
                               f"the {limit} AWS allows: {len(others)} not guardgen's ("
                               + ", ".join(_q(p.name) for p in others)
                               + f") and {planned_at[t]} generated (reserved_scp_slots is "
                               f"{plan.config.organization.reserved_scp_slots})"))
    out.sort(key=lambda f: (_ORDER[f.kind], f.subject, f.message))
    return Drift(org.id, config, tuple(out))


def _where(org: Organization, target_id: str) -> str:
    if target_id == org.root_id:
        return "the root"
    found = org.unit(target_id)
    if found is not None:
        return _ou(found.path)
    account = org.account(target_id)
    return f"account {_q(account.name)} ({account.id})" if account else target_id


def format_text(drift: Drift) -> str:
    """The report for a terminal: a line per finding, diffs indented below theirs."""
    if drift.in_sync:
        return f"Organization {drift.organization} is in sync with {drift.config}.\n"
    n = len(drift.findings)
    lines = [f"Organization {drift.organization} has drifted from {drift.config}: {n} "
             f"finding{'s' if n != 1 else ''}."]
    width = max(len(f.kind) for f in drift.findings)
    for f in drift.findings:
        lines.append(f"  {f.kind.ljust(width)}  {f.message}")
        lines += ["      " + line for line in f.diff.splitlines()]
    return "\n".join(lines) + "\n"


def format_json(drift: Drift) -> str:
    """The report as JSON (``Drift.to_json``), indented, ending with a newline."""
    return json.dumps(drift.to_json(), indent=2, ensure_ascii=False) + "\n"
