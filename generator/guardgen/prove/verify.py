"""`guardgen verify`: prove, offline, that the planned guardrails do what they claim.

Two sources of scenarios run through :mod:`guardgen.evaluate` against the SCPs each account
really gets (every level from the root down, ``FullAWSAccess`` included, as guardgen leaves it):

* the built-in suite, derived from the catalog: every guardrail declares requests it must deny
  and requests it must leave alone (:class:`guardgen.catalog.Case`); each runs in every account
  the guardrail protects as an administrator, and each denied one again as every break-glass
  principal, who must get through unless the guardrail applies to everyone;
* scenario files written by users (``scenarios:`` lists in YAML).

A built-in case is judged on the guardrail's own statements: "must deny" means one of *its*
Deny statements decides, "leaves alone" means none of them does, whatever other guardrails do.
Removing a statement or an exemption therefore always breaks a case and names it.

Resource control policies (RCPs) are proved the same way against the RCPs above the account
that owns the resource (``RCPFullAWSAccess`` included). Their cases ask as an administrator of the
account (a principal of the organization), as an outsider (a role of an account outside it), as
each trusted partner account, or as an AWS service principal; each denied case is asked again as
every break-glass principal inside the organization and every trusted account and service (who
must get through), and, for an outsider, as a role outside the organization that borrows a
break-glass name (who must not). Each denied case also runs against a resource of the management
account, which RCPs never touch. The EC2 declarative policy sets values rather than deciding
requests; its document is checked when planning, not here.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import catalog
from ..config import source as yamlsrc
from ..errors import ConfigError
from ..plan import Plan, Policy, Target
from ..policy import evaluate

FULL_AWS_ACCESS = evaluate.Policy("FullAWSAccess", {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
ASSUMED_IDENTITY = evaluate.Policy("assumed identity policy (allows the request)", {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
RCP_FULL_AWS_ACCESS = evaluate.Policy("RCPFullAWSAccess", {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]})
ADMIN_ROLE = "guardgen-verify-admin"
OUTSIDER_ROLE = "guardgen-verify-outsider"
PARTNER_ROLE = "guardgen-verify-partner"
# The AWS service principal of RCP cases that do not name one (aws:PrincipalServiceName).
SERVICE = "cloudtrail.amazonaws.com"
# An account and an organization that are not the config's: the first candidates it does not use.
_OUTSIDE_ACCOUNTS = ("210987654321", "123456789012", "112233445566", "998877665544")
_OTHER_ORGS = ("o-outsider0000", "o-outsider0001")
# Regions used where a case needs one the organization does not allow.
FAR_REGIONS = ("ap-southeast-2", "sa-east-1", "af-south-1", "me-central-1")
# Stands in for an account below an OU that has none in the config.
PLACEHOLDER_ACCOUNT = "000000000000"


@dataclass(frozen=True)
class Scenario:
    name: str
    principal: str
    account: str
    action: str
    resource: str = "*"
    context: Mapping[str, str | list[str]] = field(default_factory=dict)
    expect: Literal["allow", "deny"] = "deny"
    identity_policies: tuple[Mapping[str, Any], ...] | None = None
    permissions_boundary: Mapping[str, Any] | None = None
    where: str = "built-in"
    # Without a config: the SCP files (as named on the command line) that form this scenario's
    # chain from the root down; None for all of them, in the order given.
    scps: tuple[str, ...] | None = None
    # Built-in cases are judged on these statements only (see the module docstring).
    guardrail: str | None = None
    sids: frozenset[str] = frozenset()
    # Target idents from the root down; built-in cases carry it, files are placed by account.
    chain: tuple[str, ...] | None = None
    # The account that owns the resource (RCPs apply above it); None: the principal's account.
    resource_account: str | None = None
    # The principal is outside the organization (or an AWS service): no SCP applies to it.
    outside: bool = False
    # Target idents from the root down to the resource's account; built-in RCP cases carry it.
    rcp_chain: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Outcome:
    scenario: Scenario
    decision: evaluate.Decision
    ok: bool

    def describe(self) -> str:
        s = self.scenario
        verdict = "ok" if self.ok else "FAILED"
        lines = [f"{verdict}: {s.where}: {s.name}",
                 f"  expected {s.expect}" + (f" by {s.guardrail}" if s.guardrail else "")
                 + f", got {self.decision.decision}"]
        if not self.ok:
            lines.append("  " + self.decision.explain())
        return "\n".join(lines)


# -- the organization as the evaluator sees it --------------------------------------------------

@dataclass(frozen=True)
class _Place:
    account_id: str
    label: str  # "account shop-prod (444444444444)" or "an account in OU Workloads/Prod"
    chain: tuple[str, ...]  # target idents from the root down
    guardrails: tuple[str, ...]  # in force


def _places(plan: Plan) -> list[_Place]:
    """Every account of the plan, plus a stand-in for each leaf OU without accounts."""
    ou_of = {ou.path: ou for ou in plan.ous}
    parents = {ou.path[:-1] for ou in plan.ous}
    by_ident: dict[str, Target] = {str(t.ident): t for t in plan.targets}
    places: list[_Place] = []
    root = by_ident["root"]
    if not plan.ous:
        places.append(_Place(PLACEHOLDER_ACCOUNT, "an account under the root", ("root",),
                             tuple(g for g, _ in root.in_force)))
    account_targets = {t.account_id: t for t in plan.targets if t.account_id}
    for ou in plan.ous:
        chain = ("root", *(ou_of[ou.path[:i]].ident for i in range(1, len(ou.path) + 1)))
        ou_target = by_ident[ou.ident]
        if not ou.accounts and ou.path not in parents:
            places.append(_Place(PLACEHOLDER_ACCOUNT, "an account in " + ou_target.display, chain,
                                 tuple(g for g, _ in ou_target.in_force)))
        for _, account_id in ou.accounts:
            t = account_targets[account_id]
            places.append(_Place(account_id, t.display, (*chain, t.ident),
                                 tuple(g for g, _ in t.in_force)))
    return places


class _Levels:
    """SCP (or RCP) levels per chain, built once: the evaluator then parses each policy once."""

    def __init__(self, plan: Plan, policies: Sequence[Policy] | None = None,
                 full: evaluate.Policy | None = None) -> None:
        self.full = full or FULL_AWS_ACCESS
        self.by_target: dict[str, list[evaluate.Policy]] = {}
        for p in plan.policies if policies is None else policies:
            self.by_target.setdefault(str(p.target.ident), []).append(_as_policy(p))
        self.cache: dict[tuple[str, ...], list[list[evaluate.Policy]]] = {}

    def signature(self, chain: Sequence[str]) -> tuple[tuple[str, ...], ...]:
        """What decides requests in a place: the policies of each level (empty levels too)."""
        return tuple(tuple(p.name for p in self.by_target.get(i, [])) for i in chain)

    def __call__(self, chain: tuple[str, ...]) -> list[list[evaluate.Policy]]:
        if chain not in self.cache:
            self.cache[chain] = [[self.full, *self.by_target.get(i, [])] for i in chain]
        return self.cache[chain]


def _as_policy(p: Policy) -> evaluate.Policy:
    return evaluate.Policy(p.name, json.loads(p.content))


def concrete_principal(arn: str, account: str) -> str:
    """A principal ARN that a break-glass pattern matches, in ``account``."""
    head, _, rest = arn.partition(":iam::")
    acct, _, resource = rest.partition(":")
    acct = account if acct == "*" else acct
    return f"{head}:iam::{acct}:" + re.sub(r"[*?]", "x", resource)


def admin_principal(kind: str, account: str) -> str:
    """Who asks a built-in case: the root user, or an administrator role of the account."""
    if kind == "root":
        return f"arn:aws:iam::{account}:root"
    return f"arn:aws:iam::{account}:role/{ADMIN_ROLE}"


def fill_case(text: str, account: str, region: str, other: str,
              more: Mapping[str, str] | None = None) -> str:
    """A case's text with its placeholders ({account}, {region}, {other_region}...) filled."""
    text = text.replace("{account}", account).replace("{region}", region).replace(
        "{other_region}", other)
    for key, value in (more or {}).items():
        text = text.replace("{" + key + "}", value)
    return text


def _outside(plan: Plan) -> tuple[str, str]:
    """An account and an organization id that are neither the config's nor trusted by it."""
    org = plan.config.organization
    used = {org.management_account_id, *plan.config.account_ids().values(),
            *org.data_perimeter.trusted_accounts}
    used |= {a.split(":")[4] for a in org.break_glass_principals if a.count(":") >= 5}
    account = next(a for a in _OUTSIDE_ACCOUNTS if a not in used)
    return account, next(o for o in _OTHER_ORGS if o != org.org_id)


@dataclass(frozen=True)
class _Asker:
    """Who asks an RCP case: a principal and what the request context says about it."""

    label: str
    principal: str
    account: str
    context: Mapping[str, str]
    outside: bool


def _asker(kind: str, plan: Plan, account: str, outsider: tuple[str, str],
           context: Mapping[str, str]) -> list[_Asker]:
    org = plan.config.organization
    member = {"aws:PrincipalOrgID": org.org_id or "", "aws:PrincipalIsAWSService": "false"}
    foreign = {"aws:PrincipalOrgID": outsider[1], "aws:PrincipalIsAWSService": "false"}
    if kind in ("admin", "root"):
        return [_Asker("an administrator" if kind == "admin" else "the root user",
                       admin_principal(kind, account), account, member, False)]
    if kind == "outsider":
        return [_Asker(f"account {outsider[0]} outside the organization",
                       f"arn:aws:iam::{outsider[0]}:role/{OUTSIDER_ROLE}", outsider[0], foreign,
                       True)]
    if kind == "partner":
        return [_Asker(f"trusted account {a}", f"arn:aws:iam::{a}:role/{PARTNER_ROLE}", a,
                       foreign, True) for a in org.data_perimeter.trusted_accounts]
    service = context.get("aws:PrincipalServiceName", SERVICE)
    return [_Asker(service, service, account, {}, True)]


def builtin_scenarios(plan: Plan) -> list[Scenario]:
    """The catalog's cases, in every place the plan puts each guardrail."""
    cfg = plan.config
    org = cfg.organization
    params = cfg.params
    region = (org.allowed_regions or [org.home_region])[0]
    other = next(r for r in FAR_REGIONS if r not in (org.allowed_regions or []))
    guards = {g.id: g for g in plan.guardrails} | catalog.BY_ID
    out: list[Scenario] = []
    # Places whose every level holds the same policies decide every request alike (cases name
    # the account only inside ARNs): prove one, and say how many it stands for.
    levels = _Levels(plan)
    rcp_levels = _Levels(plan, plan.rcps, RCP_FULL_AWS_ACCESS)
    outsider = _outside(plan)
    groups: dict[tuple[tuple[str, ...], ...], list[_Place]] = {}
    for place in _places(plan):
        signature = (*levels.signature(place.chain), *rcp_levels.signature(place.chain))
        groups.setdefault(signature, []).append(place)
    for same in groups.values():
        place = same[0]
        if len(same) > 1:
            place = dataclasses.replace(place, label=f"{place.label} (and {len(same) - 1} more "
                                        "with the same SCPs)")
        acct = place.account_id
        for gid in place.guardrails:
            g = guards[gid]
            if g.policy_type == "declarative-ec2":
                continue
            sids = frozenset(s["Sid"] for s in catalog.statements(g, params,
                                                                  org.break_glass_principals))
            if g.policy_type == "rcp":
                out += _rcp_scenarios(plan, g, place, sids, region, other, outsider)
                continue
            exempt = [*org.break_glass_principals, *g.also_exempt]
            for case in g.cases(params):
                ctx = {"aws:RequestedRegion": region}
                if plan.rcps:  # what RCPs read of a principal of this organization
                    ctx.update({"aws:PrincipalOrgID": org.org_id or "",
                                "aws:PrincipalIsAWSService": "false"})
                ctx.update({k: fill_case(v, acct, region, other) for k, v in case.context})
                resource = fill_case(case.resource, acct, region, other)
                base = Scenario(
                    name=f"{place.label}: {g.id} {'denies' if case.denied else 'allows'} "
                    f"{case.note}", principal=admin_principal(case.principal, acct), account=acct,
                    action=case.action, resource=resource, context=ctx,
                    expect="deny" if case.denied else "allow", guardrail=g.id, sids=sids,
                    chain=place.chain)
                out.append(base)
                if not case.denied or case.principal == "root":
                    continue
                for arn in dict.fromkeys(exempt):
                    who = concrete_principal(arn, acct)
                    expect: Literal["allow", "deny"] = "deny" if g.applies_to_everyone else "allow"
                    out.append(Scenario(
                        name=f"{place.label}: {g.id} {'still denies' if expect == 'deny' else 'spares'} "
                        f"{arn} {case.note}", principal=who, account=acct, action=case.action,
                        resource=resource, context=ctx, expect=expect, guardrail=g.id, sids=sids,
                        chain=place.chain))
    out += _management_scenarios(plan, guards, region, other, outsider)
    return out


def _rcp_scenarios(plan: Plan, g: catalog.Guardrail, place: _Place, sids: frozenset[str],
                   region: str, other: str, outsider: tuple[str, str]) -> list[Scenario]:
    """An RCP guardrail's cases on the resources of one place, with their variants."""
    org = plan.config.organization
    acct = place.account_id
    more = {"org_id": org.org_id or "", "other_org": outsider[1], "outside_account": outsider[0]}
    out: list[Scenario] = []

    def ask(who: _Asker, what: str, case: catalog.Case, expect: Literal["allow", "deny"],
            context: Mapping[str, str], resource: str) -> Scenario:
        # A principal of another member account is placed by its own account.
        chain = place.chain if not who.outside and who.account == acct else None
        return Scenario(
            name=f"{place.label}: {g.id} {what}: {case.note}", principal=who.principal,
            account=who.account, action=case.action, resource=resource,
            context={**_resource_context(plan, acct), **context, **who.context}, expect=expect,
            guardrail=g.id, sids=sids, chain=chain, resource_account=acct,
            outside=who.outside, rcp_chain=place.chain)

    # Break-glass roles often live in a central account: ask from another member account when
    # there is one, where an RCP comparing accounts cannot spare them by accident.
    central = next((a for a in plan.config.account_ids().values()
                    if a not in (acct, org.management_account_id)), acct)

    for case in g.cases(plan.config.params):
        context = {"aws:RequestedRegion": region,
                   **{k: fill_case(v, acct, region, other, more) for k, v in case.context}}
        resource = fill_case(case.resource, acct, region, other, more)
        expect: Literal["allow", "deny"] = "deny" if case.denied else "allow"
        verb = "denies" if case.denied else "allows"
        for who in _asker(case.principal, plan, acct, outsider, context):
            label = f" (as {who.label})" if case.principal == "partner" else ""
            out.append(ask(who, f"{verb}{label}", case, expect, context, resource))
        if not case.denied:
            continue
        spared: Literal["allow", "deny"] = "deny" if g.applies_to_everyone else "allow"
        spares = "still denies" if g.applies_to_everyone else "spares"
        variants: list[tuple[str, _Asker]] = []
        if case.principal != "service":
            for arn in dict.fromkeys([*org.break_glass_principals, *g.also_exempt]):
                member = _asker("admin", plan, central, outsider, context)[0]
                inside = concrete_principal(arn, central)
                who = _Asker(arn, inside, _account_of(inside), member.context, False)
                variants.append((f"{spares} {arn} inside the organization, asking as in", who))
        if not g.applies_to_everyone:
            if case.principal != "service":
                variants += [(f"spares {who.label}, asking as in", who)
                             for who in _asker("partner", plan, acct, outsider, context)]
            variants += [(f"spares trusted service {s}, asking as in", _Asker(s, s, acct, {}, True))
                         for s in org.data_perimeter.trusted_services]
        for what, who in variants:
            out.append(ask(who, what, case, spared, context, resource))
        if case.principal == "outsider":
            foreign = _asker("outsider", plan, acct, outsider, context)[0]
            for arn in org.break_glass_principals:
                borrowed = concrete_principal(arn, outsider[0])
                out.append(ask(_Asker(arn, borrowed, outsider[0], foreign.context, True),
                               f"still denies {arn} borrowed by an account outside the "
                               "organization, asking as in", case, "deny", context, resource))
                if g.applies_to_everyone:
                    continue
                # A trusted account's role is spared whatever its name.
                for partner in _asker("partner", plan, acct, outsider, context):
                    named = concrete_principal(arn, partner.account)
                    out.append(ask(_Asker(arn, named, partner.account, partner.context, True),
                                   f"spares {arn} of {partner.label}, asking as in", case,
                                   "allow", context, resource))
    return out


def _management_scenarios(plan: Plan, guards: Mapping[str, catalog.Guardrail], region: str,
                          other: str, outsider: tuple[str, str]) -> list[Scenario]:
    """Every denied case of every RCP guardrail in use, on a resource of the management account:
    RCPs never restrict it, so each must be left alone."""
    org = plan.config.organization
    mgmt = org.management_account_id
    params = plan.config.params
    more = {"org_id": org.org_id or "", "other_org": outsider[1], "outside_account": outsider[0]}
    out = []
    for g in plan.guardrails:
        if g.policy_type != "rcp":
            continue
        sids = frozenset(s["Sid"] for s in catalog.statements(guards[g.id], params,
                                                              org.break_glass_principals))
        for case in g.cases(params):
            if not case.denied:
                continue
            context = {"aws:RequestedRegion": region,
                       **{k: fill_case(v, mgmt, region, other, more) for k, v in case.context}}
            for who in _asker(case.principal, plan, mgmt, outsider, context):
                out.append(Scenario(
                    name=f"the management account ({mgmt}): {g.id} leaves its resources alone: "
                    f"{case.note}", principal=who.principal, account=who.account,
                    action=case.action, resource=fill_case(case.resource, mgmt, region, other, more),
                    context={**_resource_context(plan, mgmt), **context, **who.context},
                    expect="allow", guardrail=g.id, sids=sids, resource_account=mgmt,
                    outside=who.outside))
    return out


def _resource_context(plan: Plan, account: str) -> dict[str, str]:
    """What every request to a resource of ``account`` says about its owner."""
    org_id = plan.config.organization.org_id
    return {"aws:ResourceAccount": account, **({"aws:ResourceOrgID": org_id} if org_id else {})}


def _account_of(arn: str) -> str:
    return arn.split(":")[4]


def _boundaries(plan: Plan) -> dict[tuple[str, str], Mapping[str, Any]]:
    """The boundary guardgen puts on each role it manages: (account id, role ARN) → document.

    Built once per run, so looking up a scenario's boundary does not walk the organization.
    """
    out: dict[tuple[str, str], Mapping[str, Any]] = {}
    for a in plan.accounts:
        docs = {b.name: b.document for b in a.boundaries}
        for r in a.roles:
            if r.boundary_name:
                out[(a.id, f"arn:aws:iam::{a.id}:role/{r.name}")] = docs[r.boundary_name]
    return out


def run(plan: Plan, scenarios: Iterable[Scenario]) -> list[Outcome]:
    """Evaluate every scenario against the plan. Scenarios run in the given order."""
    chains = {p.account_id: p.chain for p in _places(plan) if p.account_id != PLACEHOLDER_ACCOUNT}
    org = plan.config.organization
    levels_of = _Levels(plan)
    rcp_levels_of = _Levels(plan, plan.rcps, RCP_FULL_AWS_ACCESS)
    boundaries = _boundaries(plan)
    outcomes = []
    for s in scenarios:
        management = s.account == org.management_account_id
        chain = s.chain or chains.get(s.account)
        # A principal of another account may ask for a resource of this organization (RCPs).
        outside = s.outside or (chain is None and not management and s.resource_account is not None)
        if chain is None and not management and not outside:
            raise ConfigError([f"{s.where}: account {s.account} is not in the organization "
                               "description"])
        levels = levels_of(chain) if chain is not None and not management and not outside else None
        owner = s.resource_account or s.account
        owner_is_management = owner == org.management_account_id
        rcp_chain = s.rcp_chain or chains.get(owner)
        rcps = None
        if plan.rcps and owner_is_management:
            rcps = [[RCP_FULL_AWS_ACCESS]]
        elif plan.rcps and rcp_chain is not None:
            rcps = rcp_levels_of(rcp_chain)
        identity = ([evaluate.Policy(f"identity policy {i}", d)
                     for i, d in enumerate(s.identity_policies)]
                    if s.identity_policies is not None else [ASSUMED_IDENTITY])
        boundary_doc = s.permissions_boundary
        if boundary_doc is None and s.identity_policies is None:
            boundary_doc = boundaries.get((s.account, s.principal))
        decision = evaluate.evaluate(
            evaluate.Request(s.principal, s.account, s.action, s.resource, dict(s.context)),
            scp_levels=levels, identity=identity,
            boundary=evaluate.Policy("permissions boundary", boundary_doc) if boundary_doc else None,
            is_management_account=management, rcp_levels=rcps,
            resource_in_management_account=owner_is_management)
        outcomes.append(Outcome(s, decision, _judge(s, decision)))
    return outcomes


def _judge(s: Scenario, d: evaluate.Decision) -> bool:
    if not s.sids:
        return d.decision == s.expect
    by_guardrail = d.reason == "explicit-deny" and any(m.sid in s.sids for m in d.deciding)
    return by_guardrail if s.expect == "deny" else not by_guardrail


# -- scenario files ---------------------------------------------------------------------------

class _ScenarioModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1)
    principal: str = Field(pattern=r"^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:.+$")
    account: str = Field(pattern=r"^[0-9]{12}$")
    action: str = Field(pattern=r"^[a-z0-9-]+:[A-Za-z0-9*?]+$")
    resource: str = "*"
    context: dict[str, str | list[str]] = Field(default_factory=dict)
    expect: Literal["allow", "deny"]
    identity_policies: list[dict[str, Any]] | None = None
    permissions_boundary: dict[str, Any] | None = None
    scps: list[str] | None = Field(default=None, min_length=1)
    resource_account: str | None = Field(default=None, pattern=r"^[0-9]{12}$")


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    scenarios: list[_ScenarioModel] = Field(min_length=1)


def load_scenarios(path: Path) -> list[Scenario]:
    """Read a scenario file; errors name the file, line and path."""
    src = yamlsrc.load(path)
    try:
        model = _FileModel.model_validate(src.data)
    except ValidationError as exc:
        raise ConfigError([f"{src.where(tuple(e['loc']))}: {yamlsrc.dotted(tuple(e['loc']))}: "
                           f"{e['msg']}" for e in exc.errors()]) from None
    out = []
    for i, m in enumerate(model.scenarios):
        mark = src.where(("scenarios", i))
        out.append(Scenario(
            name=m.name, principal=m.principal, account=m.account, action=m.action,
            resource=m.resource, context=m.context, expect=m.expect,
            identity_policies=tuple(m.identity_policies) if m.identity_policies is not None else None,
            permissions_boundary=m.permissions_boundary, where=mark,
            scps=tuple(m.scps) if m.scps is not None else None,
            resource_account=m.resource_account))
    return out


# -- SCP files without a config ----------------------------------------------------------------

def load_scp(path: Path, shown: str | None = None) -> evaluate.Policy:
    """Read an SCP file (JSON) for :func:`run_scps`; errors name the file, line and column."""
    name = shown or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{name}: cannot read it: {exc}"]) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError([f"{name}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"]) from None
    if not isinstance(document, dict) or "Statement" not in document:
        raise ConfigError([f"{name}:1:1: not a policy document (no Statement)"])
    return evaluate.Policy(name, document)


def run_scps(scps: Sequence[evaluate.Policy], scenarios: Iterable[Scenario]) -> list[Outcome]:
    """Prove scenarios against SCPs alone, with no organization description.

    Each SCP is one level of the chain from the root down to the account, in the order given,
    and each level also holds ``FullAWSAccess`` as AWS attaches it by default; a scenario that
    names ``scps`` uses those files, in its order, as its chain instead.

    Raises:
        ConfigError: A scenario names an SCP file that was not given.
    """
    by_name = {p.name: p for p in scps}
    outcomes = []
    for s in scenarios:
        names = s.scps if s.scps is not None else tuple(by_name)
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ConfigError([f"{s.where}: scps: {', '.join(unknown)} not given with --scp "
                               f"(given: {', '.join(by_name) or 'none'})"])
        levels = [[FULL_AWS_ACCESS], *([FULL_AWS_ACCESS, by_name[n]] for n in names)]
        identity = ([evaluate.Policy(f"identity policy {i}", d)
                     for i, d in enumerate(s.identity_policies)]
                    if s.identity_policies is not None else [ASSUMED_IDENTITY])
        boundary = (evaluate.Policy("permissions boundary", s.permissions_boundary)
                    if s.permissions_boundary is not None else None)
        decision = evaluate.evaluate(
            evaluate.Request(s.principal, s.account, s.action, s.resource, dict(s.context)),
            scp_levels=levels, identity=identity, boundary=boundary)
        outcomes.append(Outcome(s, decision, _judge(s, decision)))
    return outcomes


def failures(outcomes: Iterable[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if not o.ok]

