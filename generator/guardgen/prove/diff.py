"""What a config change does, said for the people who review it. Pure.

:func:`compare` takes the plan of the config before a change and the plan after it and returns a
:class:`ChangeSet`: per root, OU and account the guardrails it gains and loses (accounts added,
removed or moved included), the SCPs created, changed and removed, the SCP slots each target uses,
the IAM roles and boundaries in member accounts with who can newly assume what, the alarms added
and removed, and the requests of the built-in ``verify`` suite whose decision changes. The
``format_*`` functions render it as text for a terminal, Markdown for a pull-request comment, or
JSON for tools. Nothing here reads a file or runs git: the command does that.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from .. import catalog
from ..plan import Plan, Target
from ..plan.iam import AccountPlan, BoundaryPlan, RolePlan
from ..policy.evaluate import Decision
from . import verify

Status = Literal["added", "removed", "changed"]
# Regions a built-in case may use as "a region the organization does not allow".
# OIDC issuers by the name people know them by.
_ISSUERS = {
    "token.actions.githubusercontent.com": "GitHub Actions",
    "gitlab.com": "GitLab CI",
    "agent.buildkite.com": "Buildkite",
    "app.terraform.io": "HCP Terraform",
}
# GitHub refuses comments over 65,536 characters; the Markdown stays below this.
MARKDOWN_MAX_CHARS = 60_000
_MARKDOWN_LIST_CAP = 25
_CUT = "*Cut to fit a comment: run `guardgen diff --format json` for everything.*"


@dataclass(frozen=True)
class Setting:
    """An organization-wide or monitoring setting whose value changes."""

    name: str
    before: str
    after: str


@dataclass(frozen=True)
class TargetChange:
    """What changes for one root, OU or account: its place and the guardrails in force on it."""

    kind: Literal["root", "ou", "account"]
    name: str  # as the generated README names it: "OU Workloads/Prod", "account app (1234...)"
    status: Status
    note: str  # where an account now sits, where it was, what it was called
    gained: tuple[tuple[str, str], ...]  # (guardrail id, where it is attached)
    lost: tuple[tuple[str, str], ...]  # (guardrail id, where it was attached)


@dataclass(frozen=True)
class ScpChange:
    """An SCP guardgen creates, changes or removes."""

    name: str
    target: str
    status: Status
    guardrails_before: tuple[str, ...]
    guardrails_after: tuple[str, ...]
    bytes_before: int | None
    bytes_after: int | None
    max_bytes: int


@dataclass(frozen=True)
class SlotChange:
    """How many of a target's SCP slots guardgen's policies use, before and after."""

    target: str
    before: int
    after: int
    free_before: int  # slots guardgen may use per target (limit minus reserved)
    free_after: int


@dataclass(frozen=True)
class RoleChange:
    """An IAM role in a member account: who may assume it and what it may do."""

    account: str
    role: str
    kind: str  # "ci" | "instance-profile" | "cross-account"
    status: Status
    trust_added: tuple[str, ...]  # who can newly assume it
    trust_removed: tuple[str, ...]  # who no longer can
    trust_conditions_changed: bool  # the same principals under other conditions (audience...)
    permissions_added: tuple[str, ...]
    permissions_removed: tuple[str, ...]
    settings: tuple[Setting, ...] = ()


@dataclass(frozen=True)
class BoundaryChange:
    """A permission boundary in a member account."""

    account: str
    name: str
    status: Status
    services_added: tuple[str, ...]
    services_removed: tuple[str, ...]
    enforced_before: bool | None
    enforced_after: bool | None


@dataclass(frozen=True)
class AlarmChange:
    id: str
    title: str
    status: Literal["added", "removed"]


@dataclass(frozen=True)
class OutcomeChange:
    """A request of the built-in verify suite that one set of accounts now decides otherwise."""

    accounts: tuple[str, ...]  # every account with the same SCPs before and after
    guardrail: str
    case: str  # the guardrail's words for the request
    principal: str  # "an administrator", "the root user" or a break-glass ARN pattern
    action: str
    resource: str
    before: Literal["allow", "deny"]
    after: Literal["allow", "deny"]
    decided_before: str  # the statements that denied it, or "" when allowed
    decided_after: str


@dataclass(frozen=True)
class ChangeSet:
    base: str  # what the "before" config is, e.g. "HEAD:guardgen.yaml"
    head: str
    base_missing: bool = False  # no config at the base: everything is new
    settings: tuple[Setting, ...] = ()
    targets: tuple[TargetChange, ...] = ()
    scps: tuple[ScpChange, ...] = ()
    slots: tuple[SlotChange, ...] = ()
    boundaries: tuple[BoundaryChange, ...] = ()
    roles: tuple[RoleChange, ...] = ()
    alarms: tuple[AlarmChange, ...] = ()
    monitoring: tuple[Setting, ...] = ()
    outcomes: tuple[OutcomeChange, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the change alters nothing a reviewer needs to know about."""
        return not (self.settings or self.targets or self.scps or self.slots or self.boundaries
                    or self.roles or self.alarms or self.monitoring or self.outcomes)


# -- comparing ------------------------------------------------------------------------------------

def compare(base: Plan | None, head: Plan, base_label: str = "before",
            head_label: str = "after") -> ChangeSet:
    """The change set from ``base`` to ``head``.

    Args:
        base: The plan before the change; None when there was no config (everything is new).
        head: The plan after the change.
        base_label: How to name the base in the output (``HEAD:guardgen.yaml``).
        head_label: How to name the head (``guardgen.yaml``).

    Returns:
        Every change, each list in the order of the head config (removed items after, in the
        order of the base config).
    """
    return ChangeSet(
        base=base_label, head=head_label, base_missing=base is None,
        settings=tuple(_settings(base, head)),
        targets=tuple(_targets(base, head)),
        scps=tuple(_scps(base, head)),
        slots=tuple(_slots(base, head)),
        boundaries=tuple(_boundaries(base, head)),
        roles=tuple(_roles(base, head)),
        alarms=tuple(_alarms(base, head)),
        monitoring=tuple(_monitoring(base, head)),
        outcomes=tuple(_outcomes(base, head)) if base is not None else (),
    )


def _joined(values: Iterable[object]) -> str:
    return ", ".join(str(v) for v in values) or "none"


def _list_setting(name: str, before: Sequence[str], after: Sequence[str]) -> list[Setting]:
    """A list-valued setting, when its members change (order alone changes nothing)."""
    if set(before) == set(after):
        return []
    return [Setting(name, _joined(before), _joined(after))]


def _settings(base: Plan | None, head: Plan) -> list[Setting]:
    if base is None:
        return []
    b, h = base.config.organization, head.config.organization
    out: list[Setting] = []
    for name in ("scp_limits", "reserved_scp_slots", "home_region", "imds_max_hop_limit",
                 "deploy_role_name"):
        before, after = getattr(b, name), getattr(h, name)
        if before != after:
            out.append(Setting(name, str(before), str(after)))
    out += _list_setting("break_glass_principals", b.break_glass_principals,
                         h.break_glass_principals)
    out += _list_setting("allowed_regions", b.allowed_regions or [], h.allowed_regions or [])
    return out


@dataclass(frozen=True)
class _Place:
    target: Target
    ou: tuple[str, ...] | None = None  # the OU path an account sits in
    account: str = ""  # an account's name


def _places(p: Plan | None) -> dict[tuple[str, ...], _Place]:
    """Every target of a plan by a key that survives renames of what it does not name: the
    root, OUs by path, accounts by id."""
    if p is None:
        return {}
    path_of = {str(ou.ident): ou.path for ou in p.ous}
    accounts = {account_id: (ou.path, name) for ou in p.ous for name, account_id in ou.accounts}
    out: dict[tuple[str, ...], _Place] = {}
    for t in p.targets:
        if t.kind == "root":
            out[("root",)] = _Place(t)
        elif t.kind == "ou":
            out[("ou", *path_of[str(t.ident)])] = _Place(t)
        elif t.account_id is not None:
            out[("account", t.account_id)] = _Place(t, *accounts[t.account_id])
    return out


def _ou_name(path: tuple[str, ...] | None) -> str:
    return "OU " + "/".join(path) if path else "the root"


def _targets(base: Plan | None, head: Plan) -> list[TargetChange]:
    before, after = _places(base), _places(head)
    out: list[TargetChange] = []
    for key, now in after.items():
        t = now.target
        was = before.get(key)
        in_force = tuple(t.in_force)
        if was is None:
            note = f"new, in {_ou_name(now.ou)}" if t.kind == "account" else "new"
            out.append(TargetChange(t.kind, t.display, "added", note, in_force, ()))
            continue
        old = dict(was.target.in_force)
        new = dict(in_force)
        gained = tuple((g, w) for g, w in in_force if g not in old)
        lost = tuple((g, w) for g, w in was.target.in_force if g not in new)
        notes = []
        if t.kind == "account" and was.ou != now.ou:
            notes.append(f"moved from {_ou_name(was.ou)} to {_ou_name(now.ou)}")
        if t.kind == "account" and was.account != now.account:
            notes.append(f"renamed from {was.account}")
        if gained or lost or notes:
            out.append(TargetChange(t.kind, t.display, "changed", "; ".join(notes), gained, lost))
    for key, was in before.items():
        if key not in after:
            t = was.target
            note = (f"no longer in the config (was in {_ou_name(was.ou)})" if t.kind == "account"
                    else "no longer in the config")
            out.append(TargetChange(t.kind, t.display, "removed", note, (), tuple(t.in_force)))
    return out


def _scps(base: Plan | None, head: Plan) -> list[ScpChange]:
    before = {p.name: p for p in base.policies} if base else {}
    after = {p.name: p for p in head.policies}
    limit = head.limits.max_bytes
    out: list[ScpChange] = []
    for name, p in after.items():
        old = before.get(name)
        if old is None:
            out.append(ScpChange(name, p.target.display, "added", (), p.guardrails, None, p.size,
                                 limit))
        elif old.content != p.content:
            out.append(ScpChange(name, p.target.display, "changed", old.guardrails, p.guardrails,
                                 old.size, p.size, limit))
    for name, old in before.items():
        if name not in after:
            out.append(ScpChange(name, old.target.display, "removed", old.guardrails, (),
                                 old.size, None, limit))
    return out


def _slots(base: Plan | None, head: Plan) -> list[SlotChange]:
    def used(p: Plan | None) -> dict[tuple[str, ...], tuple[str, int]]:
        counts: dict[str, int] = {}
        for pol in p.policies if p else ():
            counts[str(pol.target.ident)] = counts.get(str(pol.target.ident), 0) + 1
        return {key: (place.target.display, counts.get(str(place.target.ident), 0))
                for key, place in _places(p).items()}

    before, after = used(base), used(head)
    free_before = base.slots if base else head.slots
    out: list[SlotChange] = []
    for key in [*after, *(k for k in before if k not in after)]:
        name = (after.get(key) or before[key])[0]
        n_before, n_after = before.get(key, ("", 0))[1], after.get(key, ("", 0))[1]
        if n_before != n_after:
            out.append(SlotChange(name, n_before, n_after, free_before, head.slots))
    return out


def _accounts(p: Plan | None) -> dict[str, AccountPlan]:
    return {a.id: a for a in p.accounts} if p else {}


def _account_display(a: AccountPlan) -> str:
    return f"account {a.name} ({a.id})"


def _boundaries(base: Plan | None, head: Plan) -> list[BoundaryChange]:
    before, after = _accounts(base), _accounts(head)
    out: list[BoundaryChange] = []
    for account_id in [*after, *(k for k in before if k not in after)]:
        a = after.get(account_id) or before[account_id]
        old = {b.name: b for b in before[account_id].boundaries} if account_id in before else {}
        new = {b.name: b for b in after[account_id].boundaries} if account_id in after else {}
        for name in [*new, *(n for n in old if n not in new)]:
            b_old, b_new = old.get(name), new.get(name)
            s_old, s_new = _services(b_old), _services(b_new)
            added = tuple(s for s in s_new if s not in s_old)
            removed = tuple(s for s in s_old if s not in s_new)
            e_old = b_old.enforced if b_old else None
            e_new = b_new.enforced if b_new else None
            if b_old is None:
                status: Status = "added"
            elif b_new is None:
                status = "removed"
            elif added or removed or e_old != e_new or b_old.document != b_new.document:
                status = "changed"
            else:
                continue
            out.append(BoundaryChange(_account_display(a), name, status, added, removed, e_old,
                                      e_new))
    return out


def _services(b: BoundaryPlan | None) -> tuple[str, ...]:
    """The service prefixes a boundary document allows (its AllowedServices statement)."""
    if b is None:
        return ()
    out: list[str] = []
    for stmt in b.document.get("Statement", []):
        if stmt.get("Effect") == "Allow":
            out += [a.removesuffix(":*") for a in _as_list(stmt.get("Action"))]
    return tuple(out)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def trustees(trust: Mapping[str, Any]) -> tuple[str, ...]:
    """Who a trust policy lets assume the role, one phrase each, read from the document itself.

    Args:
        trust: A role trust policy.

    Returns:
        For an OIDC provider, its CI system and each subject (``GitHub Actions
        repo:o/r:ref:refs/heads/main``); for AWS principals, the ARN (``with external id`` when
        the statement requires one); for services, ``service NAME``. In document order.
    """
    out: list[str] = []
    for stmt in _as_list(trust.get("Statement")):
        if not isinstance(stmt, Mapping) or stmt.get("Effect") != "Allow":
            continue
        cond = stmt.get("Condition") or {}
        principal = stmt.get("Principal")
        if principal == "*":
            out.append("anyone (Principal *)")
            continue
        if not isinstance(principal, Mapping):
            continue
        for kind, values in principal.items():
            for v in _as_list(values):
                if kind == "Federated":
                    host = str(v).split(":oidc-provider/", 1)[-1]
                    name = _ISSUERS.get(host, host)
                    subs = [s for op in cond.values() if isinstance(op, Mapping)
                            for s in _as_list(op.get(f"{host}:sub"))]
                    out += [f"{name} {s}" for s in subs] or [f"{name} (any subject)"]
                elif kind == "AWS":
                    external = any("sts:ExternalId" in op for op in cond.values()
                                   if isinstance(op, Mapping))
                    out.append(str(v) + (" with external id" if external else ""))
                else:
                    out.append(f"service {v}")
    return tuple(dict.fromkeys(out))


def grants(role: RolePlan) -> tuple[str, ...]:
    """What a planned role may do, one phrase per action and resource, plus managed policies."""
    out = [f"managed policy {arn}" for arn in role.managed_policy_arns]
    for stmt in _as_list((role.policy or {}).get("Statement")):
        if stmt.get("Effect") != "Allow":
            continue
        cond = stmt.get("Condition")
        when = f" when {json.dumps(cond, sort_keys=True)}" if cond else ""
        out += [f"{a} on {r}{when}" for a in _as_list(stmt.get("Action"))
                for r in _as_list(stmt.get("Resource"))]
    return tuple(dict.fromkeys(out))


def _roles(base: Plan | None, head: Plan) -> list[RoleChange]:
    before, after = _accounts(base), _accounts(head)
    out: list[RoleChange] = []
    for account_id in [*after, *(k for k in before if k not in after)]:
        a = after.get(account_id) or before[account_id]
        old = {r.name: r for r in before[account_id].roles} if account_id in before else {}
        new = {r.name: r for r in after[account_id].roles} if account_id in after else {}
        for name in [*new, *(n for n in old if n not in new)]:
            r_old, r_new = old.get(name), new.get(name)
            t_old = trustees(r_old.trust) if r_old else ()
            t_new = trustees(r_new.trust) if r_new else ()
            g_old = grants(r_old) if r_old else ()
            g_new = grants(r_new) if r_new else ()
            settings = _role_settings(r_old, r_new) if r_old and r_new else []
            if r_old is None and r_new is not None and r_new.boundary_name:
                settings = [Setting("permissions boundary", "none", r_new.boundary_name)]
            conditions = bool(r_old and r_new and t_old == t_new and r_old.trust != r_new.trust)
            added = tuple(x for x in t_new if x not in t_old)
            removed = tuple(x for x in t_old if x not in t_new)
            p_added = tuple(x for x in g_new if x not in g_old)
            p_removed = tuple(x for x in g_old if x not in g_new)
            if r_old is None:
                status: Status = "added"
            elif r_new is None:
                status = "removed"
            elif added or removed or conditions or p_added or p_removed or settings:
                status = "changed"
            else:
                continue
            kind = r_new.kind if r_new else r_old.kind if r_old else ""
            out.append(RoleChange(_account_display(a), name, kind, status, added, removed,
                                  conditions, p_added, p_removed, tuple(settings)))
    return out


def _role_settings(old: RolePlan, new: RolePlan) -> list[Setting]:
    out = []
    for name, attr in (("permissions boundary", "boundary_name"),
                       ("max session duration", "max_session_duration"),
                       ("description", "description"), ("instance profile", "instance_profile")):
        b, a = getattr(old, attr), getattr(new, attr)
        if b != a:
            out.append(Setting(name, "none" if b is None else str(b), "none" if a is None else str(a)))
    return out


def _alarms(base: Plan | None, head: Plan) -> list[AlarmChange]:
    def chosen(p: Plan | None) -> dict[str, str]:
        m = p.monitoring if p else None
        return {a.alarm.id: a.alarm.title for a in m.alarms} if m else {}

    before, after = chosen(base), chosen(head)
    out = [AlarmChange(i, t, "added") for i, t in after.items() if i not in before]
    out += [AlarmChange(i, t, "removed") for i, t in before.items() if i not in after]
    return out


def _monitoring(base: Plan | None, head: Plan) -> list[Setting]:
    b = base.monitoring if base else None
    h = head.monitoring
    if b is None and h is None:
        return []
    if b is None or h is None:
        where = (h or b)
        assert where is not None
        state = f"in {where.account_name} ({where.account_id})"
        return [Setting("monitoring", "none" if b is None else state,
                        "none" if h is None else state)]
    out: list[Setting] = []
    pairs = (("account", f"{b.account_name} ({b.account_id})", f"{h.account_name} ({h.account_id})"),
             ("trail", "create" if b.create_trail else "existing",
              "create" if h.create_trail else "existing"),
             ("log group", b.log_group_name, h.log_group_name),
             ("log retention days", str(b.retention_days), str(h.retention_days)))
    out += [Setting(n, x, y) for n, x, y in pairs if x != y]
    out += _list_setting("notify emails", b.emails, h.emails)
    return out


# -- requests that change outcome -----------------------------------------------------------------

def _chains(p: Plan) -> dict[str, tuple[str, ...]]:
    """Member account id → the idents of its targets, from the root down."""
    ou_by_path = {ou.path: ou for ou in p.ous}
    account_target = {t.account_id: t for t in p.targets if t.account_id}
    mgmt = p.config.organization.management_account_id
    out: dict[str, tuple[str, ...]] = {}
    for ou in p.ous:
        chain = ("root", *(str(ou_by_path[ou.path[:i]].ident) for i in range(1, len(ou.path) + 1)))
        for _, account_id in ou.accounts:
            if account_id != mgmt:  # SCPs never restrict the management account
                out[account_id] = (*chain, str(account_target[account_id].ident))
    return out


def _signatures(p: Plan) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Member account id → what decides every request there: the SCP texts at each level of its
    chain, from the root down."""
    by_target: dict[str, list[str]] = {}
    for pol in p.policies:
        by_target.setdefault(str(pol.target.ident), []).append(pol.content)
    return {account: tuple(tuple(by_target.get(i, ())) for i in chain)
            for account, chain in _chains(p).items()}


def _regions(base: Plan, head: Plan) -> tuple[str, str]:
    """A region both configs allow (else the head's), and one neither allows."""
    def allowed(p: Plan) -> list[str]:
        org = p.config.organization
        return list(org.allowed_regions or [org.home_region])

    both = [r for r in allowed(head) if r in allowed(base)]
    region = (both or allowed(head))[0]
    taken = {*(base.config.organization.allowed_regions or []),
             *(head.config.organization.allowed_regions or [])}
    return region, next(r for r in verify.FAR_REGIONS if r not in taken)


@dataclass(frozen=True)
class _Request:
    guardrail: str
    case: str
    who: str
    scenario: verify.Scenario


def _requests(base: Plan, head: Plan, account: str, guardrails: Sequence[str],
              head_ids: set[str]) -> list[_Request]:
    """The built-in cases of ``guardrails`` in ``account``, each as an administrator (or the
    root user) and, for denied cases, as every break-glass principal of either config. Cases
    take their parameters from the head config when the guardrail is in force there
    (``head_ids``), else from the base."""
    region, other = _regions(base, head)
    guards = {g.id: g for g in (*base.guardrails, *head.guardrails)} | catalog.BY_ID
    exempt_all = [*head.config.organization.break_glass_principals,
                  *base.config.organization.break_glass_principals]
    out: list[_Request] = []
    seen: set[tuple[str, str, str, str]] = set()
    for gid in guardrails:
        g = guards[gid]
        if g.policy_type != "scp":  # RCP and EC2 cases are not administrator requests
            continue
        params = (head if gid in head_ids else base).config.params
        for case in g.cases(params):
            ctx = {"aws:RequestedRegion": region}
            ctx.update({k: verify.fill_case(v, account, region, other) for k, v in case.context})
            resource = verify.fill_case(case.resource, account, region, other)
            admin = verify.admin_principal(case.principal, account)
            who = [("the root user" if case.principal == "root" else "an administrator", admin)]
            if case.denied and case.principal != "root":
                who += [(arn, verify.concrete_principal(arn, account))
                        for arn in dict.fromkeys([*exempt_all, *g.also_exempt])]
            for label, principal in who:
                key = (principal, case.action, resource, json.dumps(ctx, sort_keys=True))
                if key in seen:
                    continue
                seen.add(key)
                out.append(_Request(gid, case.note, label, verify.Scenario(
                    name=f"{gid}: {case.note} ({label})", principal=principal, account=account,
                    action=case.action, resource=resource, context=ctx,
                    expect="deny" if case.denied else "allow", guardrail=gid)))
    return out


def _decided(d: Decision) -> str:
    if d.allowed:
        return ""
    named = [f"{m.policy} ({m.sid})" if m.sid else m.policy for m in d.deciding]
    return ", ".join(dict.fromkeys(named)) or d.reason


def _outcomes(base: Plan, head: Plan) -> list[OutcomeChange]:
    sigs_b, sigs_h = _signatures(base), _signatures(head)
    names = {t.account_id: t.display for t in head.targets if t.account_id}
    in_force_b = {t.account_id: [g for g, _ in t.in_force] for t in base.targets if t.account_id}
    in_force_h = {t.account_id: [g for g, _ in t.in_force] for t in head.targets if t.account_id}
    # Accounts whose SCPs are the same before and after, and the same as each other's, decide
    # every request alike (the account appears only inside ARNs): evaluate one of each group.
    # Accounts whose SCPs do not change decide nothing differently and are left out.
    groups: dict[tuple[Any, ...], list[str]] = {}
    for account, after in sigs_h.items():
        before = sigs_b.get(account)
        if before is not None and before != after:
            groups.setdefault((before, after), []).append(account)
    requests: list[tuple[tuple[str, ...], _Request]] = []
    for accounts in groups.values():
        rep = accounts[0]
        ids = list(dict.fromkeys([*in_force_h[rep], *in_force_b[rep]]))
        shown = tuple(names[a] for a in accounts)
        requests += [(shown, r) for r in _requests(base, head, rep, ids, set(in_force_h[rep]))]
    scenarios = [r.scenario for _, r in requests]
    was = verify.run(base, scenarios)
    now = verify.run(head, scenarios)
    # The same request flipping the same way for the same reason in several groups is one row
    # (a guardrail added at the root flips it in every OU): the accounts are merged.
    merged: dict[tuple[str, ...], OutcomeChange] = {}
    for (shown, r), o_b, o_h in zip(requests, was, now, strict=True):
        if o_b.decision.decision == o_h.decision.decision:
            continue
        s = r.scenario
        change = OutcomeChange(shown, r.guardrail, r.case, r.who, s.action, s.resource,
                               o_b.decision.decision, o_h.decision.decision,
                               _decided(o_b.decision), _decided(o_h.decision))
        key = (change.guardrail, change.case, change.principal, change.action, change.before,
               change.after, change.decided_before, change.decided_after)
        if key in merged:
            first = merged[key]
            merged[key] = replace(first, accounts=(*first.accounts, *shown))
        else:
            merged[key] = change
    return list(merged.values())


# -- rendering ------------------------------------------------------------------------------------

_VERB = {"allow": "allowed", "deny": "denied"}
_KIND = {"ci": "CI role", "instance-profile": "instance profile role",
         "cross-account": "cross-account role"}


def _counts(cs: ChangeSet) -> str:
    parts = []
    for n, one, many in ((len(cs.targets), "target changes protection", "targets change protection"),
                         (len(cs.scps), "SCP changes", "SCPs change"),
                         (len(cs.roles), "role changes", "roles change"),
                         (len(cs.boundaries), "boundary changes", "boundaries change"),
                         (len(cs.alarms), "alarm changes", "alarms change"),
                         (len(cs.outcomes), "request changes outcome", "requests change outcome")):
        if n:
            parts.append(f"{n} {one if n == 1 else many}")
    return ", ".join(parts)


def _grouped(targets: Sequence[TargetChange]) -> list[tuple[list[TargetChange], TargetChange]]:
    """Targets whose only change is the same set of guardrails gained and lost, grouped: a
    guardrail added at the root is one entry, not one per account."""
    out: list[tuple[list[TargetChange], TargetChange]] = []
    index: dict[tuple[Any, ...], int] = {}
    for t in targets:
        if t.status != "changed" or t.note:
            out.append(([t], t))
            continue
        key = (t.gained, t.lost)
        if key in index:
            out[index[key]][0].append(t)
        else:
            index[key] = len(out)
            out.append(([t], t))
    return out


def _size(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def _scp_line(s: ScpChange) -> str:
    if s.status == "added":
        return (f"+ {s.name} ({s.target}): {_joined(s.guardrails_after)}; "
                f"{_size(s.bytes_after)} of {s.max_bytes:,} bytes")
    if s.status == "removed":
        return f"- {s.name} ({s.target}): {_joined(s.guardrails_before)}"
    gained = [g for g in s.guardrails_after if g not in s.guardrails_before]
    lost = [g for g in s.guardrails_before if g not in s.guardrails_after]
    what = "; ".join(x for x in (f"now holds {_joined(gained)}" if gained else "",
                                 f"no longer holds {_joined(lost)}" if lost else "") if x)
    return (f"~ {s.name} ({s.target}): {_size(s.bytes_before)} → {_size(s.bytes_after)} of "
            f"{s.max_bytes:,} bytes" + (f"; {what}" if what else "; statements changed"))


def _outcome_line(o: OutcomeChange) -> str:
    before = _VERB[o.before] + (f" by {o.decided_before}" if o.decided_before else "")
    after = _VERB[o.after] + (f" by {o.decided_after}" if o.decided_after else "")
    return (f"{o.action} by {o.principal} ({o.guardrail}: {o.case}): {before} → {after}")


def _role_lines(r: RoleChange) -> list[str]:
    mark = {"added": "+", "removed": "-", "changed": "~"}[r.status]
    lines = [f"{mark} role {r.role} ({_KIND.get(r.kind, r.kind)})"]
    if r.status == "removed":
        return lines
    lines += [f"    can newly assume it: {x}" for x in r.trust_added]
    lines += [f"    can no longer assume it: {x}" for x in r.trust_removed]
    if r.trust_conditions_changed:
        lines.append("    trust conditions changed (same principals)")
    lines += [f"    may now: {x}" for x in r.permissions_added]
    lines += [f"    may no longer: {x}" for x in r.permissions_removed]
    lines += [f"    {s.name}: {s.before} → {s.after}" for s in r.settings]
    return lines


def _boundary_line(b: BoundaryChange) -> str:
    mark = {"added": "+", "removed": "-", "changed": "~"}[b.status]
    enforced = (" (enforced by an SCP)" if b.enforced_after else "") if b.status != "removed" else ""
    parts = []
    if b.status == "added":
        parts.append("allows " + _joined(b.services_added))
    else:
        if b.services_added:
            parts.append("now allows " + _joined(b.services_added))
        if b.services_removed:
            parts.append("no longer allows " + _joined(b.services_removed))
        if b.status == "changed" and b.enforced_before != b.enforced_after:
            parts.append("now enforced by an SCP" if b.enforced_after else "no longer enforced")
    return f"{mark} boundary {b.name}{enforced}" + (": " + "; ".join(parts) if parts else "")


def _by_account(items: Sequence[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for x in items:
        out.setdefault(x.account, []).append(x)
    return out


def format_text(cs: ChangeSet) -> str:
    """The change set for a terminal or a CI log.

    Args:
        cs: What :func:`compare` returned.

    Returns:
        Sections (settings, guardrails in force, SCPs, slots, IAM, monitoring, requests whose
        outcome changes), each only when it has something to say; ends with a newline.
    """
    lines = [f"guardgen diff: {cs.base} → {cs.head}"]
    if cs.base_missing:
        lines.append(f"{cs.base} does not exist: everything below is new.")
    if cs.empty:
        lines.append("No change to guardrails, SCPs, IAM roles or monitoring.")
        return "\n".join(lines) + "\n"
    lines.append(_counts(cs) + ".")
    if cs.settings:
        lines += ["", "Organization settings"]
        lines += [f"  {s.name}: {s.before} → {s.after}" for s in cs.settings]
    if cs.targets:
        lines += ["", "Guardrails in force"]
        for group, t in _grouped(cs.targets):
            head = ", ".join(x.name for x in group)
            lines.append(f"  {head}" + (f": {t.note}" if t.note else ""))
            lines += [f"    + {g} (attached at {w})" for g, w in t.gained]
            lines += [f"    - {g} (was attached at {w})" for g, w in t.lost]
    if cs.scps:
        lines += ["", "SCPs"]
        lines += [f"  {_scp_line(s)}" for s in cs.scps]
    if cs.slots:
        lines += ["", "SCP slots used by guardgen"]
        lines += [f"  {s.target}: {s.before} of {s.free_before} → {s.after} of {s.free_after}"
                  for s in cs.slots]
    if cs.boundaries or cs.roles:
        lines += ["", "IAM in member accounts"]
        boundaries, roles = _by_account(cs.boundaries), _by_account(cs.roles)
        for account in dict.fromkeys([*boundaries, *roles]):
            lines.append(f"  {account}")
            lines += [f"    {_boundary_line(b)}" for b in boundaries.get(account, [])]
            lines += [f"    {x}" for r in roles.get(account, []) for x in _role_lines(r)]
    if cs.alarms or cs.monitoring:
        lines += ["", "Monitoring"]
        lines += [f"  {'+' if a.status == 'added' else '-'} alarm {a.id}: {a.title}"
                  for a in cs.alarms]
        lines += [f"  {s.name}: {s.before} → {s.after}" for s in cs.monitoring]
    if cs.outcomes:
        lines += ["", "Requests that change outcome (built-in verify scenarios)"]
        for o in cs.outcomes:
            lines.append(f"  {', '.join(o.accounts)}: {_outcome_line(o)}")
    return "\n".join(lines) + "\n"


# What Markdown, HTML or GitHub may act on in the middle of a line (emphasis, links, tags,
# table cells, entities, mentions and issue references). Every line this module writes starts
# with its own text, so line-start syntax (headings, lists) cannot be triggered by a name.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&@#])")


def md(text: str) -> str:
    """Text safe to place in Markdown: every character Markdown or HTML could act on escaped,
    line breaks flattened (names come from the config and may hold anything)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))


def code(text: str) -> str:
    """A Markdown code span that shows ``text`` literally, whatever backticks it holds."""
    text = " ".join(text.splitlines())
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cap(items: Sequence[str], limit: int = _MARKDOWN_LIST_CAP) -> str:
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"


def _rows(items: Sequence[Any], limit: int = _MARKDOWN_LIST_CAP * 2) -> tuple[Sequence[Any], str]:
    """The first ``limit`` items, and a line saying how many were left out (or "")."""
    if len(items) <= limit:
        return items, ""
    return items[:limit], f"\n{len(items) - limit} more: run `guardgen diff --format json` for all."


def format_markdown(cs: ChangeSet) -> str:
    """The change set as Markdown for a pull-request comment or ``$GITHUB_STEP_SUMMARY``.

    Args:
        cs: What :func:`compare` returned.

    Returns:
        A heading, a one-line summary, then one section per kind of change. Names from the
        config are escaped; long lists are cut, and the whole stays within
        :data:`MARKDOWN_MAX_CHARS` (``--format json`` has everything).
    """
    out = ["### guardgen diff", "",
           f"{code(cs.base)} → {code(cs.head)}" + (": no config at the base, everything is new"
                                                  if cs.base_missing else "")]
    if cs.empty:
        out += ["", "No change to guardrails, SCPs, IAM roles or monitoring."]
        return "\n".join(out) + "\n"
    out += ["", f"**{_counts(cs)}.**"]
    sections: list[list[str]] = []
    if cs.settings:
        sections.append(["#### Organization settings", "", "| Setting | Before | After |",
                         "|---|---|---|",
                         *(f"| {code(s.name)} | {md(s.before)} | {md(s.after)} |"
                           for s in cs.settings)])
    if cs.targets:
        lines = ["#### Guardrails in force", ""]
        groups, more = _rows(_grouped(cs.targets))
        for group, t in groups:
            names = _cap([f"**{md(x.name)}**" for x in group])
            lines.append(f"- {names}" + (f": {md(t.note)}" if t.note else ""))
            lines += [f"  - gains {code(g)} (attached at {md(w)})" for g, w in t.gained]
            lines += [f"  - loses {code(g)} (was attached at {md(w)})" for g, w in t.lost]
        sections.append(lines + ([more] if more else []))
    if cs.scps:
        lines = ["#### Service control policies", "",
                 "| | SCP | Attached to | Guardrails | Bytes |", "|---|---|---|---|---|"]
        scps, more = _rows(cs.scps)
        for s in scps:
            mark = {"added": "created", "removed": "removed", "changed": "changed"}[s.status]
            guards = s.guardrails_before if s.status == "removed" else s.guardrails_after
            size = (f"{_size(s.bytes_before)} → {_size(s.bytes_after)}" if s.status == "changed"
                    else _size(s.bytes_after if s.status == "added" else s.bytes_before))
            lines.append(f"| {mark} | {code(s.name)} | {md(s.target)} | "
                         f"{', '.join(code(g) for g in guards) or 'none'} | {size} of "
                         f"{s.max_bytes:,} |")
        sections.append(lines + ([more] if more else []))
    if cs.slots:
        slots, more = _rows(cs.slots)
        sections.append(["#### SCP slots used by guardgen", "", "| Target | Before | After |",
                         "|---|---|---|",
                         *(f"| {md(s.target)} | {s.before} of {s.free_before} | {s.after} of "
                           f"{s.free_after} |" for s in slots), *([more] if more else [])])
    if cs.boundaries or cs.roles:
        lines = ["#### IAM in member accounts", ""]
        boundaries, roles = _by_account(cs.boundaries), _by_account(cs.roles)
        for account in dict.fromkeys([*boundaries, *roles]):
            lines.append(f"- **{md(account)}**")
            for b in boundaries.get(account, []):
                lines.append(f"  - {md(_boundary_line(b)[2:])} ({b.status})")
            for r in roles.get(account, []):
                lines.append(f"  - role {code(r.role)} ({_KIND.get(r.kind, r.kind)}): {r.status}")
                lines += [f"    - can newly assume it: {code(x)}" for x in r.trust_added]
                lines += [f"    - can no longer assume it: {code(x)}" for x in r.trust_removed]
                if r.trust_conditions_changed:
                    lines.append("    - trust conditions changed (same principals)")
                lines += [f"    - may now: {code(x)}" for x in r.permissions_added]
                lines += [f"    - may no longer: {code(x)}" for x in r.permissions_removed]
                lines += [f"    - {md(s.name)}: {md(s.before)} → {md(s.after)}" for s in r.settings]
        sections.append(lines)
    if cs.alarms or cs.monitoring:
        sections.append(["#### Monitoring", "",
                         *(f"- alarm {code(a.id)} {a.status}: {md(a.title)}" for a in cs.alarms),
                         *(f"- {md(s.name)}: {md(s.before)} → {md(s.after)}"
                           for s in cs.monitoring)])
    if cs.outcomes:
        lines = ["#### Requests that change outcome", "",
                 "From guardgen's built-in verify scenarios, evaluated against the SCPs before "
                 "and after.", "", "| Accounts | Request | Before | After |", "|---|---|---|---|"]
        outcomes, more = _rows(cs.outcomes)
        for o in outcomes:
            who = code(o.principal) if o.principal.startswith("arn:") else o.principal
            req = f"{code(o.action)} by {who} ({code(o.guardrail)}: {md(o.case)})"
            before = _VERB[o.before] + (f" by {code(o.decided_before)}" if o.decided_before else "")
            after = _VERB[o.after] + (f" by {code(o.decided_after)}" if o.decided_after else "")
            lines.append(f"| {_cap([md(a) for a in o.accounts], 5)} | {req} | {before} | {after} |")
        sections.append(lines + ([more] if more else []))
    used = sum(len(line) + 1 for line in out)
    for section in sections:
        for line in ["", *section]:
            if used + len(line) + 1 > MARKDOWN_MAX_CHARS - len(_CUT) - 2:
                # The blank line ends a table or list, so the note stands on its own.
                out += ["", _CUT]
                return "\n".join(out) + "\n"
            out.append(line)
            used += len(line) + 1
    return "\n".join(out) + "\n"


def format_json(cs: ChangeSet) -> str:
    """The change set as JSON for tools: every field of :class:`ChangeSet`, pairs as objects."""
    data = asdict(cs)
    data["empty"] = cs.empty
    for t in data["targets"]:
        t["gained"] = [{"guardrail": g, "attached_at": w} for g, w in t["gained"]]
        t["lost"] = [{"guardrail": g, "attached_at": w} for g, w in t["lost"]]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
