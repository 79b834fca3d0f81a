"""IAM in member accounts: boundaries, OIDC CI roles, instance profiles, cross-account roles.

Pure planning. :func:`check` finds every problem in the IAM sections of a config (each located
by its dotted path); :func:`plan_accounts` turns a valid config into one plan per member account
that receives anything, plus the boundary-enforcement guardrails to pack with the SCPs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from . import catalog, trust
from .config import Config, CrossAccountRole, Grant, PermissionBoundary, Placement, Unit, _Role, walk
from .hcl import Raw, identifiers, short_hash, slug

BOUNDARY_PATH = "/guardgen/"
# IAM quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
MAX_MANAGED_POLICY_CHARS = 6_144  # whitespace not counted
MAX_TRUST_POLICY_CHARS = 2_048  # default; raisable to 4,096
MAX_MANAGED_POLICIES_PER_ROLE = 10

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class RolePlan:
    ident: Raw
    name: str
    kind: str  # "ci" | "instance-profile" | "cross-account"
    description: str
    trust: dict[str, Any]
    policy: dict[str, Any] | None  # the role's own managed policy
    managed_policy_arns: tuple[str, ...]
    boundary: Raw | None  # ident of the boundary module in the same root
    boundary_name: str | None
    boundary_forced: bool  # not in the config: the account's enforced boundary requires it
    instance_profile: bool
    max_session_duration: int
    oidc: Raw | None  # ident of the OIDC provider module the trust names


@dataclass(frozen=True)
class BoundaryPlan:
    ident: Raw
    name: str
    document: dict[str, Any]
    enforced: bool


@dataclass(frozen=True)
class OidcPlan:
    ident: Raw
    url: str
    audiences: tuple[str, ...]


@dataclass(frozen=True)
class AccountPlan:
    ident: Raw
    directory: str  # accounts/<slug>
    name: str
    id: str
    boundaries: tuple[BoundaryPlan, ...]
    oidc: tuple[OidcPlan, ...]
    roles: tuple[RolePlan, ...]


def boundary_arn_pattern(name: str) -> str:
    # Twelve '?' match exactly an account id. A '*' there could be satisfied by a policy path
    # containing ':policy/guardgen/', which would let anyone pick their own "boundary".
    return f"arn:aws:iam::{'?' * 12}:policy{BOUNDARY_PATH}{name}"


def boundary_arn(account_id: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:policy{BOUNDARY_PATH}{name}"


def boundary_guardrail_id(name: str) -> str:
    return "enforce-boundary-" + slug(name, "-")


def boundary_guardrail(b: PermissionBoundary, deploy_role: str) -> catalog.Guardrail:
    """The SCP guardrail that makes a boundary mandatory where it is enforced."""
    sid = "EnforceBoundary" + "".join(p.capitalize() for p in slug(b.name, "-").split("-"))

    def build(_: catalog.Params) -> list[catalog.Statement]:
        return [
            {"Sid": sid + "OnCreate", "Effect": "Deny",
             "Action": ["iam:CreateRole", "iam:CreateUser", "iam:PutRolePermissionsBoundary",
                        "iam:PutUserPermissionsBoundary"],
             "Resource": "*",
             "Condition": {"ArnNotLike": {"iam:PermissionsBoundary":
                                          boundary_arn_pattern(b.name)}}},
            {"Sid": sid + "NoRemoval", "Effect": "Deny",
             "Action": ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"],
             "Resource": "*"},
            {"Sid": sid + "NoEdit", "Effect": "Deny",
             "Action": ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
                        "iam:SetDefaultPolicyVersion"],
             "Resource": f"arn:aws:iam::*:policy{BOUNDARY_PATH}{b.name}"},
        ]

    return catalog.Guardrail(
        id=boundary_guardrail_id(b.name),
        title=f"Permission boundary {b.name} is mandatory",
        description=f"Denies creating roles or users without the {b.name} boundary, removing "
        "boundaries, and editing or deleting the boundary policy. guardgen's deploy role is "
        "exempt along with the break-glass principals.",
        mistake="missing-boundaries",
        source="https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html",
        build=build,
        cases=lambda _: _boundary_cases(b.name),
        # guardgen's own deploy role creates the boundary policy and the roles that carry it.
        also_exempt=(f"arn:aws:iam::*:role/{deploy_role}",),
    )


def _boundary_cases(name: str) -> list[catalog.Case]:
    own = "arn:aws:iam::{account}:policy" + BOUNDARY_PATH + name
    role = "arn:aws:iam::{account}:role/new-role"
    return [
        catalog.Case("creating a role without a boundary", "iam:CreateRole", role),
        catalog.Case("creating a role with another boundary", "iam:CreateRole", role,
                     (("iam:PermissionsBoundary", "arn:aws:iam::{account}:policy/wide-open"),)),
        catalog.Case("removing a role's boundary", "iam:DeleteRolePermissionsBoundary", role),
        catalog.Case("editing the boundary policy", "iam:CreatePolicyVersion", own),
        catalog.Case(f"creating a role with the {name} boundary", "iam:CreateRole", role,
                     (("iam:PermissionsBoundary", own),), denied=False),
        catalog.Case("editing another policy", "iam:CreatePolicyVersion",
                     "arn:aws:iam::{account}:policy/app", denied=False),
    ]


def boundary_document(b: PermissionBoundary, account_id: str) -> dict[str, Any]:
    """The boundary policy: a ceiling of services, and protection of itself."""
    own = boundary_arn(account_id, b.name)
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AllowedServices", "Effect": "Allow",
         "Action": [f"{s}:*" for s in sorted(set(b.allow_services))], "Resource": "*"},
        {"Sid": "NoBoundaryEdits", "Effect": "Deny",
         "Action": ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
                    "iam:SetDefaultPolicyVersion"], "Resource": own},
        {"Sid": "NoBoundaryRemoval", "Effect": "Deny",
         "Action": ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"],
         "Resource": "*"},
        {"Sid": "NoEscapeThroughNewPrincipals", "Effect": "Deny",
         "Action": ["iam:CreateRole", "iam:CreateUser", "iam:PutRolePermissionsBoundary",
                    "iam:PutUserPermissionsBoundary"], "Resource": "*",
         "Condition": {"ArnNotEquals": {"iam:PermissionsBoundary": own}}},
    ]}


def grant_document(grants: Sequence[Grant]) -> dict[str, Any] | None:
    if not grants:
        return None
    stmts = []
    for i, g in enumerate(grants):
        stmt: dict[str, Any] = {"Sid": f"Grant{i}", "Effect": "Allow", "Action": list(g.actions),
                                "Resource": list(g.resources)}
        if g.conditions:
            stmt["Condition"] = g.conditions
        stmts.append(stmt)
    return {"Version": "2012-10-17", "Statement": stmts}


def iam_size(doc: dict[str, Any]) -> int:
    """IAM counts policy size without whitespace."""
    return len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False))


# -- resolving placements -----------------------------------------------------------------------

def _accounts_below(unit: Unit) -> Iterator[str]:
    for _, _, u in walk([unit]):
        yield from (a.name for a in u.accounts)


def _ou_paths(units: Sequence[Unit]) -> dict[str, list[Unit]]:
    """OUs by path (``Workloads/Prod``). A name containing '/' can make two OUs share a path."""
    out: dict[str, list[Unit]] = {}
    for path, _, u in walk(units):
        out.setdefault("/".join(path), []).append(u)
    return out


def _roles(cfg: Config) -> Iterator[tuple[str, int, _Role]]:
    for section in ("ci_roles", "instance_profiles", "cross_account_roles"):
        for i, r in enumerate(getattr(cfg, section)):
            yield section, i, r


class _Resolver:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.ous = _ou_paths(cfg.units)
        self.account_ids = {a.name: a.id for us in self.ous.values() for u in us for a in u.accounts}

    def resolve(self, p: Placement, loc: Loc, err: Any) -> list[str]:
        """Account names a placement covers, in config order, without duplicates."""
        names: list[str] = []
        for j, name in enumerate(p.accounts):
            if name not in self.account_ids:
                err((*loc, "accounts", j), f"unknown account {name!r}")
            names.append(name)
        for j, path in enumerate(p.units):
            found = self.ous.get(path, [])
            if not found:
                err((*loc, "units", j), f"unknown OU {path!r} (use its path, e.g. Workloads/Prod)")
                continue
            if len(found) > 1:
                err((*loc, "units", j), f"OU path {path!r} names {len(found)} OUs (an OU name "
                    "contains '/'); list their accounts instead")
                continue
            names.extend(_accounts_below(found[0]))
        if not p.accounts and not p.units:
            err(loc, "names no accounts or units to create it in")
        mgmt = self.cfg.organization.management_account_id
        out = []
        for n in dict.fromkeys(names):
            if self.account_ids.get(n) == mgmt:
                err(loc, f"{n} is the management account; guardgen creates IAM resources only "
                    "in member accounts")
            elif n in self.account_ids:
                out.append(n)
        return out


def _statement_problems(grants: Sequence[Grant], loc: Loc, err: Any) -> None:
    for i, g in enumerate(grants):
        if "*" in g.actions and "*" in g.resources:
            err((*loc, "statements", i), "grants Action \"*\" on Resource \"*\" (full admin); "
                "name the actions and resources the role needs")
        for op in (g.conditions or {}):
            if op.startswith(("ForAllValues:", "ForAnyValue:")):
                err((*loc, "statements", i, "conditions", op),
                    f"{op.split(':')[0]} is true when the key is missing or single-valued keys "
                    "are used; use a plain operator")


# -- the two entry points -------------------------------------------------------------------

def check(cfg: Config) -> list[tuple[Loc, str]]:
    """Every problem in the IAM sections, as (dotted path, message)."""
    problems: list[tuple[Loc, str]] = []

    def err(loc: Loc, msg: str) -> None:
        problems.append((loc, msg))

    res = _Resolver(cfg)
    boundaries = {b.name: b for b in cfg.permission_boundaries}
    enforced_in: dict[str, str] = {}  # account → enforced boundary name
    seen_b: dict[str, int] = {}
    for i, b in enumerate(cfg.permission_boundaries):
        loc: Loc = ("permission_boundaries", i)
        if slug(b.name, "-") in seen_b:
            err((*loc, "name"), f"boundary name {b.name!r} clashes with "
                f"permission_boundaries[{seen_b[slug(b.name, '-')]}]")
        seen_b.setdefault(slug(b.name, "-"), i)
        for acct in res.resolve(b, loc, err):
            if b.enforce and acct in enforced_in and enforced_in[acct] != b.name:
                err(loc, f"account {acct} would have two enforced boundaries ({enforced_in[acct]} "
                    f"and {b.name}); a role can carry only one")
            if b.enforce:
                enforced_in.setdefault(acct, b.name)
    b_accounts = {b.name: set(res.resolve(b, (), lambda *_: None)) for b in cfg.permission_boundaries}

    names_in_account: dict[tuple[str, str], Loc] = {}
    for section, i, role in _roles(cfg):
        loc = (section, i)
        accounts = res.resolve(role, loc, err)
        for acct in accounts:
            key = (acct, role.name)
            if key in names_in_account:
                err((*loc, "name"), f"role {role.name!r} already exists in {acct} (from "
                    f"{'.'.join(map(str, names_in_account[key]))})")
            names_in_account.setdefault(key, loc)
            forced = enforced_in.get(acct)
            if role.boundary and forced and role.boundary != forced:
                err((*loc, "boundary"), f"{acct} enforces boundary {forced}, so the SCP would "
                    f"deny creating this role with {role.boundary}")
            if role.boundary and role.boundary in b_accounts and acct not in b_accounts[role.boundary]:
                err((*loc, "boundary"), f"boundary {role.boundary} is not created in {acct}; add "
                    "the account to the boundary's accounts or units")
        if role.boundary and role.boundary not in boundaries:
            err((*loc, "boundary"), f"unknown permission boundary {role.boundary!r}")
        _statement_problems(role.statements, loc, err)
        try:
            if isinstance(role, CrossAccountRole) and role.allow_account_root and not role.external_id:
                raise trust.TrustError("allow_account_root needs an external_id")
            # Any 12-digit id gives the size the real account's policy will have.
            size = iam_size(_trust_for(section, role, "000000000000"))
            if size > MAX_TRUST_POLICY_CHARS:
                err(loc, f"the trust policy is {size:,} characters without whitespace; IAM allows "
                    f"{MAX_TRUST_POLICY_CHARS:,} by default. Use fewer subjects or wildcards")
        except trust.TrustError as exc:
            err(loc, f"{role.name!r}: {exc}")
        n_managed = len(role.managed_policy_arns) + (1 if role.statements else 0)
        if n_managed > MAX_MANAGED_POLICIES_PER_ROLE:
            err((*loc, "managed_policy_arns"), f"{n_managed} managed policies (its own included); "
                f"IAM allows {MAX_MANAGED_POLICIES_PER_ROLE} per role")
        doc = grant_document(role.statements)
        if doc and iam_size(doc) > MAX_MANAGED_POLICY_CHARS:
            err((*loc, "statements"), f"the role's policy is {iam_size(doc):,} characters without "
                f"whitespace; IAM allows {MAX_MANAGED_POLICY_CHARS:,}. Split it or use managed "
                "policies")
    for i, b in enumerate(cfg.permission_boundaries):
        size = iam_size(boundary_document(b, "000000000000"))
        if size > MAX_MANAGED_POLICY_CHARS:
            err(("permission_boundaries", i), f"boundary policy is {size:,} characters; IAM "
                f"allows {MAX_MANAGED_POLICY_CHARS:,}")
    return problems


def _trust_for(section: str, role: _Role, account_id: str) -> dict[str, Any]:
    if section == "ci_roles":
        return trust.ci_trust_policy(role, account_id)  # type: ignore[arg-type]
    if section == "instance_profiles":
        return trust.ec2_trust_policy()
    return trust.cross_account_trust_policy(role)  # type: ignore[arg-type]


_KIND = {"ci_roles": "ci", "instance_profiles": "instance-profile",
         "cross_account_roles": "cross-account"}


def plan_accounts(cfg: Config) -> list[AccountPlan]:
    """One plan per member account that receives a boundary or a role, in config order."""
    res = _Resolver(cfg)
    ignore = lambda *_: None  # noqa: E731 - the config was checked already
    b_by_account: dict[str, list[PermissionBoundary]] = {}
    for b in cfg.permission_boundaries:
        for acct in res.resolve(b, (), ignore):
            b_by_account.setdefault(acct, []).append(b)
    enforced = {acct: b.name for acct, bs in b_by_account.items() for b in bs if b.enforce}
    roles_by_account: dict[str, list[tuple[str, _Role]]] = {}
    for section, _, role in _roles(cfg):
        for acct in res.resolve(role, (), ignore):
            roles_by_account.setdefault(acct, []).append((section, role))

    order = [x.name for us in res.ous.values() for u in us for x in u.accounts]
    wanted = [a for a in order if a in b_by_account or a in roles_by_account]
    dirs = identifiers("account", wanted)
    plans: list[AccountPlan] = []
    for acct in wanted:
        account_id = res.account_ids[acct]
        b_ident = identifiers("boundary", [b.name for b in b_by_account.get(acct, [])])
        boundaries = tuple(BoundaryPlan(b_ident[b.name], b.name, boundary_document(b, account_id),
                                        b.enforce) for b in b_by_account.get(acct, []))
        issuers: dict[str, list[str]] = {}
        for section, role in roles_by_account.get(acct, []):
            if section == "ci_roles":
                iss = trust.issuer(role)  # type: ignore[arg-type]
                issuers.setdefault(iss.url, [])
                if iss.audience not in issuers[iss.url]:
                    issuers[iss.url].append(iss.audience)
        o_ident = _oidc_identifiers(roles_by_account.get(acct, []))
        oidc = tuple(OidcPlan(o_ident[url], url, tuple(sorted(auds)))
                     for url, auds in issuers.items())
        r_ident = identifiers("role", [r.name for _, r in roles_by_account.get(acct, [])])
        roles = []
        for section, role in roles_by_account.get(acct, []):
            bname = role.boundary or enforced.get(acct)
            oidc_ident = (o_ident[trust.issuer(role).url]  # type: ignore[arg-type]
                          if section == "ci_roles" else None)
            roles.append(RolePlan(
                ident=r_ident[role.name], name=role.name, kind=_KIND[section],
                description=role.description or _default_description(section, role),
                trust=_trust_for(section, role, account_id),
                policy=grant_document(role.statements),
                managed_policy_arns=tuple(role.managed_policy_arns),
                boundary=b_ident[bname] if bname else None, boundary_name=bname,
                boundary_forced=bname is not None and role.boundary is None,
                instance_profile=section == "instance_profiles",
                max_session_duration=role.max_session_duration, oidc=oidc_ident))
        directory = "accounts/" + str(dirs[acct]).removeprefix("account_").replace("_", "-")
        plans.append(AccountPlan(dirs[acct], directory, acct, account_id, boundaries, oidc,
                                 tuple(roles)))
    return plans


def _oidc_identifiers(roles: list[tuple[str, _Role]]) -> dict[str, Raw]:
    """``oidc_github`` and the like; a hash is added only when one provider has two issuers."""
    by_provider: dict[str, list[str]] = {}
    for section, role in roles:
        if section == "ci_roles":
            url = trust.issuer(role).url  # type: ignore[arg-type]
            urls = by_provider.setdefault(slug(getattr(role, "provider", "")), [])
            if url not in urls:
                urls.append(url)
    out: dict[str, Raw] = {}
    for provider, urls in by_provider.items():
        for url in urls:
            out[url] = Raw(f"oidc_{provider}" if len(urls) == 1
                           else f"oidc_{provider}_{short_hash(url)}")
    return out


def _default_description(section: str, role: _Role) -> str:
    if section == "ci_roles":
        return f"CI role for {getattr(role, 'provider', '')} {getattr(role, 'repository', '') or ''}".strip()
    if section == "instance_profiles":
        return "EC2 instance role"
    return "Cross-account role for " + ", ".join(getattr(role, "trusted_principals", []))


def enforcement(cfg: Config) -> list[tuple[catalog.Guardrail, list[str], list[str]]]:
    """For each enforced boundary: its guardrail, the account names and OU paths it attaches to."""
    deploy = cfg.organization.deploy_role_name
    return [(boundary_guardrail(b, deploy), list(b.accounts), list(b.units))
            for b in cfg.permission_boundaries if b.enforce]
