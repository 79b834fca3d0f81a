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
ADMIN_ROLE = "guardgen-verify-admin"
# Regions used where a case needs one the organization does not allow.
_FAR_REGIONS = ("ap-southeast-2", "sa-east-1", "af-south-1", "me-central-1")
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
    """SCP levels per chain, built once: the evaluator then parses each policy once."""

    def __init__(self, plan: Plan) -> None:
        self.by_target: dict[str, list[evaluate.Policy]] = {}
        for p in plan.policies:
            self.by_target.setdefault(str(p.target.ident), []).append(_as_policy(p))
        self.cache: dict[tuple[str, ...], list[list[evaluate.Policy]]] = {}

    def signature(self, chain: Sequence[str]) -> tuple[tuple[str, ...], ...]:
        """What decides requests in a place: the policies of each level (empty levels too)."""
        return tuple(tuple(p.name for p in self.by_target.get(i, [])) for i in chain)

    def __call__(self, chain: tuple[str, ...]) -> list[list[evaluate.Policy]]:
        if chain not in self.cache:
            self.cache[chain] = [[FULL_AWS_ACCESS, *self.by_target.get(i, [])] for i in chain]
        return self.cache[chain]


def _as_policy(p: Policy) -> evaluate.Policy:
    return evaluate.Policy(p.name, json.loads(p.content))


def _concrete(arn: str, account: str) -> str:
    """A principal ARN that a break-glass pattern matches, in ``account``."""
    head, _, rest = arn.partition(":iam::")
    acct, _, resource = rest.partition(":")
    acct = account if acct == "*" else acct
    return f"{head}:iam::{acct}:" + re.sub(r"[*?]", "x", resource)


def _principal(kind: str, account: str) -> str:
    if kind == "root":
        return f"arn:aws:iam::{account}:root"
    return f"arn:aws:iam::{account}:role/{ADMIN_ROLE}"


def _fill(text: str, account: str, region: str, other: str) -> str:
    return text.replace("{account}", account).replace("{region}", region).replace(
        "{other_region}", other)


def builtin_scenarios(plan: Plan) -> list[Scenario]:
    """The catalog's cases, in every place the plan puts each guardrail."""
    cfg = plan.config
    org = cfg.organization
    params = cfg.params
    region = (org.allowed_regions or [org.home_region])[0]
    other = next(r for r in _FAR_REGIONS if r not in (org.allowed_regions or []))
    guards = {g.id: g for g in plan.guardrails} | catalog.BY_ID
    out: list[Scenario] = []
    # Places whose every level holds the same policies decide every request alike (cases name
    # the account only inside ARNs): prove one, and say how many it stands for.
    levels = _Levels(plan)
    groups: dict[tuple[tuple[str, ...], ...], list[_Place]] = {}
    for place in _places(plan):
        groups.setdefault(levels.signature(place.chain), []).append(place)
    for same in groups.values():
        place = same[0]
        if len(same) > 1:
            place = dataclasses.replace(place, label=f"{place.label} (and {len(same) - 1} more "
                                        "with the same SCPs)")
        acct = place.account_id
        for gid in place.guardrails:
            g = guards[gid]
            sids = frozenset(s["Sid"] for s in g.build(params))
            exempt = [*org.break_glass_principals, *g.also_exempt]
            for case in g.cases(params):
                ctx = {"aws:RequestedRegion": region}
                ctx.update({k: _fill(v, acct, region, other) for k, v in case.context})
                resource = _fill(case.resource, acct, region, other)
                base = Scenario(
                    name=f"{place.label}: {g.id} {'denies' if case.denied else 'allows'} "
                    f"{case.note}", principal=_principal(case.principal, acct), account=acct,
                    action=case.action, resource=resource, context=ctx,
                    expect="deny" if case.denied else "allow", guardrail=g.id, sids=sids,
                    chain=place.chain)
                out.append(base)
                if not case.denied or case.principal == "root":
                    continue
                for arn in dict.fromkeys(exempt):
                    who = _concrete(arn, acct)
                    expect: Literal["allow", "deny"] = "deny" if g.applies_to_everyone else "allow"
                    out.append(Scenario(
                        name=f"{place.label}: {g.id} {'still denies' if expect == 'deny' else 'spares'} "
                        f"{arn} {case.note}", principal=who, account=acct, action=case.action,
                        resource=resource, context=ctx, expect=expect, guardrail=g.id, sids=sids,
                        chain=place.chain))
    return out


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
    boundaries = _boundaries(plan)
    outcomes = []
    for s in scenarios:
        management = s.account == org.management_account_id
        chain = s.chain or chains.get(s.account)
        if chain is None and not management:
            raise ConfigError([f"{s.where}: account {s.account} is not in the organization "
                               "description"])
        levels = levels_of(chain) if chain is not None and not management else None
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
            is_management_account=management)
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
            scps=tuple(m.scps) if m.scps is not None else None))
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

