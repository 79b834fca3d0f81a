"""The organization's plan: which guardrails attach where, how their statements pack into SCPs
and resource control policies (each type within its own per-target quota), the EC2 declarative
policy of each target, and the IAM and monitoring plans assembled with them. Pure."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .. import catalog
from ..config.custom_load import guardrails as custom_guardrails
from ..config.models import Backend, Config, walk
from ..errors import BudgetError
from ..hcl import Raw, identifiers, slug
from ..policy.documents import minify, pretty
from ..policy.limits import (
    DECLARATIVE_MAX_BYTES,
    MAX_DESCRIPTION,
    MAX_POLICY_NAME,
    PROFILES,
    ScpLimits,
)
from . import iam, monitoring

POLICY_VERSION = "2012-10-17"


def size(text: str) -> int:
    """AWS counts SCP size in characters; UTF-8 bytes is the safe upper bound we enforce."""
    return len(text.encode("utf-8"))


@dataclass(frozen=True)
class OuPlan:
    ident: Raw
    name: str
    path: tuple[str, ...]
    parent: Raw | None  # None: the organization root
    import_id: str | None
    accounts: tuple[tuple[str, str], ...]  # (name, id) that must sit in this OU


@dataclass(frozen=True)
class Target:
    kind: Literal["root", "ou", "account"]
    ident: Raw
    display: str
    guardrails: tuple[str, ...]  # attached here
    inherited: tuple[tuple[str, str], ...]  # listed here but already attached above: (id, where)
    in_force: tuple[tuple[str, str], ...] = ()  # every guardrail that applies: (id, where)
    ou: Raw | None = None  # the OU resource for kind == "ou"
    account_id: str | None = None


@dataclass(frozen=True)
class Policy:
    ident: Raw
    name: str
    description: str
    target: Target
    guardrails: tuple[str, ...]
    content: str  # minified JSON, exactly what is deployed
    policy_type: catalog.PolicyType = "scp"

    @property
    def size(self) -> int:
        return size(self.content)


@dataclass(frozen=True)
class Plan:
    config: Config
    limits: ScpLimits
    slots: int  # SCPs guardgen may attach per target
    ous: tuple[OuPlan, ...]
    targets: tuple[Target, ...]
    policies: tuple[Policy, ...]
    backend: Backend | None
    notes: tuple[str, ...]
    accounts: tuple[iam.AccountPlan, ...] = ()
    guardrails: tuple[catalog.Guardrail, ...] = ()  # every guardrail used, registry order first
    monitoring: monitoring.MonitoringPlan | None = None
    rcps: tuple[Policy, ...] = ()  # resource control policies, packed like SCPs
    rcp_slots: int = 0  # RCPs guardgen may attach per target
    declarative: tuple[Policy, ...] = ()  # one EC2 declarative policy per target that has any


_EMPTY_DOC = size(minify({"Version": POLICY_VERSION, "Statement": []}))


# -- packing ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Unit:
    """Statements that should stay together in one policy (a guardrail, or part of a big one)."""

    order: int
    guardrail: str
    statements: tuple[str, ...]  # each minified

    @property
    def size(self) -> int:
        return sum(size(s) for s in self.statements) + len(self.statements)


def _document(statements: Sequence[str]) -> str:
    return '{"Version":"' + POLICY_VERSION + '","Statement":[' + ",".join(statements) + "]}"


def _split(order: int, guardrail: str, statements: list[str], budget: int) -> list[_Unit]:
    """Split one guardrail that does not fit a single policy into consecutive chunks."""
    units: list[_Unit] = []
    chunk: list[str] = []
    used = 0
    for s in statements:
        cost = size(s) + 1
        if chunk and used + cost > budget:
            units.append(_Unit(order, guardrail, tuple(chunk)))
            chunk, used = [], 0
        chunk.append(s)
        used += cost
    units.append(_Unit(order, guardrail, tuple(chunk)))
    return units


def pack(groups: Sequence[tuple[str, list[str]]], max_bytes: int) -> list[list[_Unit]]:
    """Pack guardrails' minified statements into as few documents of ``max_bytes`` as possible.

    First-fit decreasing over whole guardrails (split only when one alone is too big); bins and
    the statements inside them are then put back in config order, so the result depends only on
    the input. Raises ValueError when a single statement cannot fit any document.
    """
    # Each document is _EMPTY_DOC bytes plus, per statement, its size and a comma (one comma
    # fewer than statements, so budgeting one per statement leaves a byte of slack).
    budget = max_bytes - _EMPTY_DOC + 1
    units: list[_Unit] = []
    for order, (gid, stmts) in enumerate(groups):
        for s in stmts:
            if size(s) + 1 > budget:
                raise ValueError(f"a statement of {gid} is {size(s)} bytes, more than a whole "
                                 f"SCP of {max_bytes} bytes can hold")
        whole = _Unit(order, gid, tuple(stmts))
        units.extend([whole] if whole.size <= budget else _split(order, gid, stmts, budget))
    bins: list[list[_Unit]] = []
    room: list[int] = []
    for unit in sorted(units, key=lambda u: (-u.size, u.order)):
        for i, free in enumerate(room):
            if unit.size <= free:
                bins[i].append(unit)
                room[i] -= unit.size
                break
        else:
            bins.append([unit])
            room.append(budget - unit.size)
    for b in bins:
        b.sort(key=lambda u: u.order)
    bins.sort(key=lambda b: b[0].order)
    return bins


# -- the plan ---------------------------------------------------------------------------------

def _ou_key(path: tuple[str, ...]) -> str:
    return json.dumps(list(path), ensure_ascii=False)


def _describe(guardrails: Sequence[str], display: str, part: str) -> str:
    text = f"guardgen{part} for {display}: " + ", ".join(guardrails)
    if len(text) > MAX_DESCRIPTION:
        text = text[: MAX_DESCRIPTION - 1] + "…"
    return text


@dataclass(frozen=True)
class _Quota:
    """How one policy type is budgeted on a target, and the words its messages use."""

    policy_type: catalog.PolicyType
    word: str  # SCP or RCP
    prefix: str  # of identifiers and names: "scp", "rcp"
    max_bytes: int
    slots: int
    per_target: int
    reserved: int
    advice: str


def _pack_target(target: Target, gids: Sequence[str], guards: dict[str, catalog.Guardrail],
                 params: catalog.Params, break_glass: Sequence[str], q: _Quota) -> list[Policy]:
    """The policies of one type that carry ``gids`` on ``target``, packed within ``q``."""
    groups = []
    for gid in gids:
        try:
            stmts = catalog.statements(guards[gid], params, break_glass)
        except ValueError as exc:
            raise BudgetError(f"{target.display}: guardrail {gid}: {exc}") from None
        groups.append((gid, [minify(s) for s in stmts]))
    try:
        bins = pack(groups, q.max_bytes)
    except ValueError as exc:
        raise BudgetError(f"{target.display}: {exc}") from None
    if len(bins) > q.slots:
        need = sum(u.size for b in bins for u in b) + _EMPTY_DOC
        raise BudgetError(
            f"{target.display}: its {q.word} guardrails ({', '.join(gids)}) need {need:,} bytes "
            f"in {len(bins)} {q.word}s, but only {q.slots} of {q.max_bytes:,} bytes are free "
            f"({q.per_target} per target, minus {q.reserved} reserved). {q.advice}")
    out = []
    for n, b in enumerate(bins, start=1):
        ids = tuple(dict.fromkeys(u.guardrail for u in b))
        part = f" {q.word} {n} of {len(bins)}" if len(bins) > 1 else f" {q.word}"
        ident = Raw(f"{q.prefix}_{target.ident}_{n}")
        name = (f"guardgen-{q.prefix}-" + slug(str(target.ident), "-") + f"-{n}")[:MAX_POLICY_NAME]
        content = _document([s for u in b for s in u.statements])
        out.append(Policy(ident, name, _describe(ids, target.display, part), target, ids, content,
                          q.policy_type))
    return out


def _declarative(target: Target, gids: Sequence[str], guards: dict[str, catalog.Guardrail],
                 params: catalog.Params) -> Policy:
    """The one EC2 declarative policy of ``target``: the attributes of its guardrails merged."""
    attributes: dict[str, object] = {}
    for gid in gids:
        make = guards[gid].document
        if make is not None:
            attributes.update(make(params).get("ec2_attributes", {}))
    content = minify({"ec2_attributes": attributes})
    if size(content) > DECLARATIVE_MAX_BYTES:
        raise BudgetError(f"{target.display}: its EC2 declarative policy is {size(content):,} "
                          f"bytes, more than the {DECLARATIVE_MAX_BYTES:,} AWS accepts")
    ident = Raw(f"ec2_{target.ident}")
    name = ("guardgen-ec2-" + slug(str(target.ident), "-"))[:MAX_POLICY_NAME]
    return Policy(ident, name, _describe(gids, target.display, " EC2 declarative policy"), target,
                  tuple(gids), content, "declarative-ec2")


def build(cfg: Config) -> Plan:
    """Turn a validated config into a :class:`Plan`. Raises :class:`BudgetError`."""
    org = cfg.organization
    limits = PROFILES[org.scp_limits]
    slots = limits.policies_per_target - org.reserved_scp_slots
    params = cfg.params
    notes: list[str] = []

    # Guardrails the config adds beyond the registry: enforced permission boundaries.
    guards = dict(catalog.BY_ID)
    extra_ou: dict[tuple[str, ...], list[str]] = {}
    extra_account: dict[str, list[str]] = {}
    for g, accounts, units in iam.enforcement(cfg):
        guards[g.id] = g
        for name in accounts:
            extra_account.setdefault(name, []).append(g.id)
        for ou_path in units:
            extra_ou.setdefault(tuple(ou_path.split("/")), []).append(g.id)
    # The organization's own guardrails attach by id, like the catalog's.
    guards.update({g.id: g for g in custom_guardrails(cfg)})

    walked = [(path, unit) for path, _, unit in walk(cfg.units)]
    ou_ident = identifiers("ou", [_ou_key(p) for p, _ in walked])
    acct_ident = identifiers("account", [a.name for _, u in walked for a in u.accounts])

    ous: list[OuPlan] = []
    targets: list[Target] = [Target("root", Raw("root"), "the organization root",
                                    tuple(org.guardrails), (),
                                    tuple((g, "the root") for g in org.guardrails))]
    # Guardrails in force at each OU path, with the display name of where they are attached.
    in_force: dict[tuple[str, ...], dict[str, str]] = {(): {g: "the root" for g in org.guardrails}}
    for path, unit in walked:
        ident = ou_ident[_ou_key(path)]
        parent = ou_ident[_ou_key(path[:-1])] if len(path) > 1 else None
        display = "OU " + "/".join(path)
        ous.append(OuPlan(ident, unit.name, path, parent, unit.id,
                          tuple((a.name, a.id) for a in unit.accounts)))
        above = in_force[path[:-1]]
        listed = [*unit.guardrails, *extra_ou.get(path, ())]
        own = tuple(g for g in listed if g not in above)
        inherited = tuple((g, above[g]) for g in listed if g in above)
        in_force[path] = {**above, **{g: display for g in own}}
        targets.append(Target("ou", ident, display, own, inherited,
                              tuple(in_force[path].items()), ou=ident))
        for acct in unit.accounts:
            if acct.id == org.management_account_id:
                notes.append(f"The management account {acct.name} ({acct.id}) sits in {display}, "
                             "but SCPs never restrict the management account: the guardrails "
                             "of that OU do not protect it.")
                if any(guards[g].policy_type == "rcp" for g in in_force[path] if g in guards):
                    notes.append(f"RCPs never restrict the resources of the management account "
                                 f"either: the data perimeter of {display} stops short of "
                                 f"{acct.name}.")
            here = in_force[path]
            a_listed = [*acct.guardrails, *extra_account.get(acct.name, ())]
            a_own = tuple(g for g in a_listed if g not in here)
            a_inh = tuple((g, here[g]) for g in a_listed if g in here)
            here_all = {**here, **{g: "this account" for g in a_own}}
            targets.append(Target("account", acct_ident[acct.name],
                                  f"account {acct.name} ({acct.id})", a_own, a_inh,
                                  tuple(here_all.items()), account_id=acct.id))

    policies: list[Policy] = []
    rcps: list[Policy] = []
    declarative: list[Policy] = []
    rcp_slots = limits.rcps_per_target - org.reserved_rcp_slots
    rcp_quota = _Quota("rcp", "RCP", "rcp", limits.rcp_max_bytes, rcp_slots,
                       limits.rcps_per_target, org.reserved_rcp_slots,
                       "Attach some of them to a parent OU instead, or lower "
                       "organization.reserved_rcp_slots if fewer RCPs are really attached "
                       "outside guardgen (RCPFullAWSAccess always takes one).")
    for target in targets:
        if not target.guardrails:
            continue
        of_type: dict[str, list[str]] = {"scp": [], "rcp": [], "declarative-ec2": []}
        for gid in target.guardrails:
            of_type[guards[gid].policy_type].append(gid)
        if of_type["scp"]:
            policies += _scps(target, of_type["scp"], guards, params, cfg, limits, slots)
        if of_type["rcp"]:
            rcps += _pack_target(target, of_type["rcp"], guards, params,
                                 org.break_glass_principals, rcp_quota)
        if of_type["declarative-ec2"]:
            declarative.append(_declarative(target, of_type["declarative-ec2"], guards, params))
    used = {g for t in targets for g in t.guardrails}
    return Plan(cfg, limits, slots, tuple(ous), tuple(targets), tuple(policies), cfg.backend,
                tuple(notes), tuple(iam.plan_accounts(cfg)),
                tuple(g for g in guards.values() if g.id in used), monitoring.plan(cfg),
                tuple(rcps), rcp_slots, tuple(declarative))


def _scps(target: Target, gids: Sequence[str], guards: dict[str, catalog.Guardrail],
          params: catalog.Params, cfg: Config, limits: ScpLimits, slots: int) -> list[Policy]:
    """The SCPs of one target: packed as :func:`_pack_target` does, named as guardgen always has."""
    org = cfg.organization
    groups = []
    for gid in gids:
        stmts = catalog.statements(guards[gid], params, org.break_glass_principals)
        groups.append((gid, [minify(s) for s in stmts]))
    try:
        bins = pack(groups, limits.max_bytes)
    except ValueError as exc:
        raise BudgetError(f"{target.display}: {exc}") from None
    if len(bins) > slots:
        need = sum(u.size for b in bins for u in b) + _EMPTY_DOC
        raise BudgetError(
            f"{target.display}: its guardrails ({', '.join(gids)}) need "
            f"{need:,} bytes in {len(bins)} SCPs, but only {slots} of "
            f"{limits.max_bytes:,} bytes are free ({limits.policies_per_target} per target "
            f"under scp_limits {org.scp_limits!r}, minus {org.reserved_scp_slots} reserved). "
            "Attach some of them to a parent OU instead, lower "
            "organization.reserved_scp_slots if fewer policies are really attached outside "
            "guardgen, or use scp_limits: current.")
    out = []
    for n, b in enumerate(bins, start=1):
        ids = tuple(dict.fromkeys(u.guardrail for u in b))
        part = f" SCP {n} of {len(bins)}" if len(bins) > 1 else ""
        ident = Raw(f"scp_{target.ident}_{n}")
        name = ("guardgen-" + slug(str(target.ident), "-") + f"-{n}")[:MAX_POLICY_NAME]
        content = _document([s for u in b for s in u.statements])
        out.append(Policy(ident, name, _describe(ids, target.display, part), target, ids, content))
    return out


@dataclass(frozen=True)
class PolicyDoc:
    """One policy document of a plan, for linting and verification."""

    kind: Literal["scp", "rcp", "identity", "boundary", "trust", "resource", "key"]
    path: str  # where it is written in the output tree
    where: str  # what produced it, in the config's words
    document: dict[str, Any]

    @property
    def text(self) -> str:
        """The file as written and deployed. SCP and RCP quotas count every character, so they
        are minified; IAM does not count whitespace, so the others are indented for review."""
        if self.kind in ("scp", "rcp"):
            return minify(self.document)
        return pretty(self.document) + "\n"


def policy_documents(p: Plan) -> list[PolicyDoc]:
    """Every policy document the plan deploys, with its type, in output order."""
    docs = [PolicyDoc("scp", f"management/policies/{pol.ident}.json",
                      f"{pol.target.display}: {', '.join(pol.guardrails)}", json.loads(pol.content))
            for pol in p.policies]
    docs += [PolicyDoc("rcp", f"management/policies/{pol.ident}.json",
                       f"{pol.target.display}: {', '.join(pol.guardrails)}", json.loads(pol.content))
             for pol in p.rcps]
    for a in p.accounts:
        for b in a.boundaries:
            docs.append(PolicyDoc("boundary", f"{a.directory}/policies/{b.ident}.json",
                                  f"permission_boundaries {b.name} in {a.name}", b.document))
        for r in a.roles:
            where = f"role {r.name} in {a.name}"
            docs.append(PolicyDoc("trust", f"{a.directory}/policies/{r.ident}_trust.json", where,
                                  r.trust))
            if r.policy:
                docs.append(PolicyDoc("identity", f"{a.directory}/policies/{r.ident}_policy.json",
                                      where, r.policy))
    m = p.monitoring
    if m is not None:
        base = f"{m.directory}/policies"
        docs.append(PolicyDoc("key", f"{base}/key.json", "monitoring KMS key", m.key_policy))
        docs.append(PolicyDoc("resource", f"{base}/topic.json", "monitoring SNS topic",
                              m.topic_policy))
        if m.bucket_policy:
            docs.append(PolicyDoc("resource", f"{base}/bucket.json", "monitoring trail bucket",
                                  m.bucket_policy))
        if m.cloudtrail_role_trust and m.cloudtrail_role_policy:
            docs.append(PolicyDoc("trust", f"{base}/cloudtrail_role_trust.json",
                                  "monitoring CloudTrail delivery role", m.cloudtrail_role_trust))
            docs.append(PolicyDoc("identity", f"{base}/cloudtrail_role_policy.json",
                                  "monitoring CloudTrail delivery role", m.cloudtrail_role_policy))
    return docs
