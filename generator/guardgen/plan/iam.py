"""IAM in member accounts: boundaries, OIDC CI roles, instance profiles, cross-account roles.

Pure planning. :func:`check` finds what AWS or guardgen would refuse in what the IAM sections
build (dangerous trust shapes, policy sizes, attachment quotas), each located by its dotted path;
:func:`plan_accounts` turns a valid config into one plan per member account that receives
anything, plus the boundary-enforcement guardrails to pack with the SCPs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import catalog
from ..config import placement
from ..config.models import Config, CrossAccountRole, Grant, PermissionBoundary, Role
from ..config.placement import Resolver
from ..config.source import Loc
from ..hcl import Raw, hashed_identifiers, identifiers, slug
from ..policy.limits import (
    MAX_MANAGED_POLICIES_PER_ROLE,
    MAX_MANAGED_POLICY_CHARS,
    MAX_TRUST_POLICY_CHARS,
)
from . import trust

BOUNDARY_PATH = "/guardgen/"


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


# -- the two entry points -------------------------------------------------------------------

def check(cfg: Config) -> list[tuple[Loc, str]]:
    """What the IAM sections would build that AWS or guardgen refuses, as (dotted path, message).

    Runs on a config whose references are sound (:func:`guardgen.config.check_iam`): trust shapes
    guardgen will not render, trust and managed policies over IAM's size quotas, and roles with
    more managed policies than IAM attaches.
    """
    problems: list[tuple[Loc, str]] = []
    for section, i, role in placement.roles(cfg):
        loc: Loc = (section, i)
        if not (isinstance(role, CrossAccountRole) and role.allow_account_root
                and not role.external_id):  # reported with the config's references
            try:
                # Any 12-digit id gives the size the real account's policy will have.
                size = iam_size(_trust_for(section, role, "000000000000"))
                if size > MAX_TRUST_POLICY_CHARS:
                    problems.append((loc, f"the trust policy is {size:,} characters without "
                                     f"whitespace; IAM allows {MAX_TRUST_POLICY_CHARS:,} by "
                                     "default. Use fewer subjects or wildcards"))
            except trust.TrustError as exc:
                problems.append((loc, f"{role.name!r}: {exc}"))
        n_managed = len(role.managed_policy_arns) + (1 if role.statements else 0)
        if n_managed > MAX_MANAGED_POLICIES_PER_ROLE:
            problems.append(((*loc, "managed_policy_arns"), f"{n_managed} managed policies (its "
                             f"own included); IAM allows {MAX_MANAGED_POLICIES_PER_ROLE} per role"))
        doc = grant_document(role.statements)
        if doc and iam_size(doc) > MAX_MANAGED_POLICY_CHARS:
            problems.append(((*loc, "statements"), f"the role's policy is {iam_size(doc):,} "
                             f"characters without whitespace; IAM allows "
                             f"{MAX_MANAGED_POLICY_CHARS:,}. Split it or use managed policies"))
    for i, b in enumerate(cfg.permission_boundaries):
        size = iam_size(boundary_document(b, "000000000000"))
        if size > MAX_MANAGED_POLICY_CHARS:
            problems.append((("permission_boundaries", i), f"boundary policy is {size:,} "
                             f"characters; IAM allows {MAX_MANAGED_POLICY_CHARS:,}"))
    return problems


def _trust_for(section: str, role: Role, account_id: str) -> dict[str, Any]:
    if section == "ci_roles":
        return trust.ci_trust_policy(role, account_id)  # type: ignore[arg-type]
    if section == "instance_profiles":
        return trust.ec2_trust_policy()
    return trust.cross_account_trust_policy(role)  # type: ignore[arg-type]


_KIND = {"ci_roles": "ci", "instance_profiles": "instance-profile",
         "cross_account_roles": "cross-account"}


def plan_accounts(cfg: Config) -> list[AccountPlan]:
    """One plan per member account that receives a boundary or a role, in config order."""
    res = Resolver(cfg)  # the config was checked already: nothing to report
    b_by_account: dict[str, list[PermissionBoundary]] = {}
    for b in cfg.permission_boundaries:
        for acct in res.resolve(b):
            b_by_account.setdefault(acct, []).append(b)
    enforced = {acct: b.name for acct, bs in b_by_account.items() for b in bs if b.enforce}
    roles_by_account: dict[str, list[tuple[str, Role]]] = {}
    for section, _, role in placement.roles(cfg):
        for acct in res.resolve(role):
            roles_by_account.setdefault(acct, []).append((section, role))

    order = [x.name for us in res.ous.values() for u in us for x in u.accounts]
    wanted = [a for a in order if a in b_by_account or a in roles_by_account]
    dirs = identifiers("account", wanted)
    # What a role contributes without its account's id is the same in every account: built once
    # and shared, so later stages can also format each shared document once.
    shared: dict[int, tuple[str, dict[str, Any] | None, Callable[[str], dict[str, Any]]]] = {}
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
            if id(role) not in shared:
                fixed = None if section == "ci_roles" else _trust_for(section, role, account_id)
                shared[id(role)] = (
                    role.description or _default_description(section, role),
                    grant_document(role.statements),
                    trust.ci_trust_policies(role) if fixed is None  # type: ignore[arg-type]
                    else _same(fixed))
            description, policy, trust_in = shared[id(role)]
            roles.append(RolePlan(
                ident=r_ident[role.name], name=role.name, kind=_KIND[section],
                description=description,
                trust=trust_in(account_id),
                policy=policy,
                managed_policy_arns=tuple(role.managed_policy_arns),
                boundary=b_ident[bname] if bname else None, boundary_name=bname,
                boundary_forced=bname is not None and role.boundary is None,
                instance_profile=section == "instance_profiles",
                max_session_duration=role.max_session_duration, oidc=oidc_ident))
        directory = "accounts/" + str(dirs[acct]).removeprefix("account_").replace("_", "-")
        plans.append(AccountPlan(dirs[acct], directory, acct, account_id, boundaries, oidc,
                                 tuple(roles)))
    return plans


def _same(doc: dict[str, Any]) -> Callable[[str], dict[str, Any]]:
    return lambda _account_id: doc


def _oidc_identifiers(roles: list[tuple[str, Role]]) -> dict[str, Raw]:
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
        if len(urls) == 1:
            out[urls[0]] = Raw(f"oidc_{provider}")
        else:
            out.update(hashed_identifiers(f"oidc_{provider}", urls))
    return out


def _default_description(section: str, role: Role) -> str:
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
