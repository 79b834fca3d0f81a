"""Trust policies: who may assume a role, in each CI provider's exact claim format. Pure.

Every shape that would trust more than the config names is refused here with the reason, so a
dangerous trust policy can never be rendered: no subject restriction, a bare ``*`` or ``owner/*``,
wildcards in the repository part, ``ForAllValues`` on the claims (true when a claim is missing),
an account's ``:root`` without an external id and an explicit opt-in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..config.models import CiRole, CrossAccountRole

ASSUME_WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"


class TrustError(ValueError):
    """A trust shape guardgen refuses; the message says why it is dangerous."""


@dataclass(frozen=True)
class Issuer:
    url: str  # https://...
    audience: str

    @property
    def host(self) -> str:
        """The issuer without its scheme: the provider's name in ARNs and condition keys."""
        return self.url.removeprefix("https://").rstrip("/")


GITHUB = "https://token.actions.githubusercontent.com"
GITLAB = "https://gitlab.com"
BUILDKITE = "https://agent.buildkite.com"
CIRCLECI = "https://oidc.circleci.com/org/"
TERRAFORM_CLOUD = "https://app.terraform.io"

_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
# Branch, tag and environment names may use * and ? to match several, but never ':' (which
# separates claim fields) nor quotes and spaces (not valid in git refs).
_REF = re.compile(r"[A-Za-z0-9._/*?@+-]+\Z")


def issuer(role: CiRole) -> Issuer:
    """The OIDC issuer and default audience of a CI role's provider."""
    if role.provider == "github":
        return Issuer(GITHUB, role.audience or "sts.amazonaws.com")
    if role.provider == "gitlab":
        url = (role.issuer or GITLAB).rstrip("/")
        return Issuer(url, role.audience or url)
    if role.provider == "buildkite":
        return Issuer(BUILDKITE, role.audience or "sts.amazonaws.com")
    if role.provider == "circleci":
        org = role.organization_id or ""
        return Issuer(CIRCLECI + org, role.audience or org)
    return Issuer(TERRAFORM_CLOUD, role.audience or "aws.workload.identity")


_SINGULAR = {"branches": "branch", "tags": "tag", "environments": "environment"}


def _refs(kind: str, values: list[str]) -> list[str]:
    for v in values:
        if not _REF.match(v):
            raise TrustError(f"{kind} {v!r} may only contain letters, digits and . _ / - @ + "
                             "(with * or ? as wildcards); ':' would let it match other claim "
                             "fields")
        if v.strip("*?/") == "":
            raise TrustError(f"{kind} {v!r} matches every {_SINGULAR[kind]}: name them")
    return values


def _unsupported(role: CiRole, *fields: str) -> None:
    for f in fields:
        if getattr(role, f):
            raise TrustError(f"{role.provider} tokens do not carry `{f}` in a claim AWS can "
                             "check, so it cannot restrict who assumes the role; remove it")


def _repository(role: CiRole, parts: int, example: str) -> list[str]:
    repo = role.repository or ""
    pieces = repo.split("/")
    if not repo:
        raise TrustError(f"needs `repository: {example}`; without it the role would trust "
                         f"every {role.provider} user")
    if any(c in repo for c in "*?"):
        raise TrustError(f"repository {repo!r} contains a wildcard, which would trust "
                         "repositories you do not control; name one repository exactly")
    if (parts and len(pieces) != parts) or len(pieces) < 2 or not all(_SLUG.match(p) for p in pieces):
        raise TrustError(f"repository {repo!r} must look like {example}")
    return pieces


def subjects(role: CiRole) -> list[str]:
    """The ``sub`` claim values that may assume the role. Raises :class:`TrustError`."""
    if role.provider == "github":
        owner, repo = _repository(role, 2, "OWNER/REPO")
        if (role.owner_id is None) != (role.repository_id is None):
            raise TrustError("give both owner_id and repository_id for GitHub's immutable "
                             "OWNER@ID/REPO@ID subject, or neither")
        prefix = (f"repo:{owner}@{role.owner_id}/{repo}@{role.repository_id}" if role.owner_id
                  else f"repo:{owner}/{repo}")
        subs = [f"{prefix}:ref:refs/heads/{b}" for b in _refs("branches", role.branches)]
        subs += [f"{prefix}:environment:{e}" for e in _refs("environments", role.environments)]
        subs += [f"{prefix}:ref:refs/tags/{t}" for t in _refs("tags", role.tags)]
        if role.pull_requests:
            subs.append(f"{prefix}:pull_request")
    elif role.provider == "gitlab":
        _unsupported(role, "environments", "pull_requests")
        path = "/".join(_repository(role, 0, "GROUP/PROJECT"))
        subs = [f"project_path:{path}:ref_type:branch:ref:{b}"
                for b in _refs("branches", role.branches)]
        subs += [f"project_path:{path}:ref_type:tag:ref:{t}" for t in _refs("tags", role.tags)]
    elif role.provider == "buildkite":
        _unsupported(role, "environments", "pull_requests")
        org, pipeline = _repository(role, 2, "ORGANIZATION/PIPELINE")
        prefix = f"organization:{org}:pipeline:{pipeline}"
        subs = [f"{prefix}:ref:refs/heads/{b}:commit:*:step:*"
                for b in _refs("branches", role.branches)]
        subs += [f"{prefix}:ref:refs/tags/{t}:commit:*:step:*" for t in _refs("tags", role.tags)]
    elif role.provider == "circleci":
        _unsupported(role, "branches", "environments", "tags", "pull_requests", "repository")
        org = role.organization_id or ""
        if not _UUID.match(org):
            raise TrustError("needs `organization_id:` (the CircleCI organization UUID)")
        if not role.project_ids:
            raise TrustError("needs `project_ids:`; without them every project of the "
                             "CircleCI organization could assume the role")
        for p in role.project_ids:
            if not _UUID.match(p):
                raise TrustError(f"project id {p!r} must be a CircleCI project UUID")
        subs = [f"org/{org}/project/{p}/user/*" for p in role.project_ids]
    else:  # terraform-cloud
        _unsupported(role, "branches", "environments", "tags", "pull_requests", "repository")
        org = role.organization_id or ""
        if not _SLUG.match(org):
            raise TrustError("needs `organization_id:` (the HCP Terraform organization name)")
        if not role.workspaces:
            raise TrustError("needs `workspaces: [PROJECT/WORKSPACE]`; without them every "
                             "workspace of the organization could assume the role")
        phases: list[str] = list(role.run_phases) or ["*"]
        subs = []
        for ws in role.workspaces:
            pieces = ws.split("/")
            if len(pieces) != 2 or not all(_SLUG.match(p) for p in pieces):
                raise TrustError(f"workspace {ws!r} must be PROJECT/WORKSPACE, without wildcards")
            subs += [f"organization:{org}:project:{pieces[0]}:workspace:{pieces[1]}:"
                     f"run_phase:{phase}" for phase in phases]
    if not subs:
        raise TrustError("has no subject restriction (set branches, environments, tags or "
                         "pull_requests); the role would trust every workflow of the "
                         "repository, including ones anyone can start")
    return subs


def ci_trust_policy(role: CiRole, account_id: str) -> dict[str, Any]:
    """The trust policy of an OIDC CI role in ``account_id``."""
    return ci_trust_policies(role)(account_id)


def ci_trust_policies(role: CiRole) -> Callable[[str], dict[str, Any]]:
    """:func:`ci_trust_policy` of ``role`` for any account id: the subjects are worked out once
    and the condition is shared by every document it returns."""
    iss = issuer(role)
    subs = subjects(role)
    wildcard = any(c in s for s in subs for c in "*?")
    # One operator for all subjects: two operators would be ANDed, not ORed.
    condition = ({"StringEquals": {f"{iss.host}:aud": iss.audience, f"{iss.host}:sub": subs}}
                 if not wildcard else {"StringEquals": {f"{iss.host}:aud": iss.audience},
                                       "StringLike": {f"{iss.host}:sub": subs}})

    def policy(account_id: str) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": [{
            "Sid": "TrustCiOidc",
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::{account_id}:oidc-provider/{iss.host}"},
            "Action": ASSUME_WEB_IDENTITY,
            "Condition": condition,
        }]}

    return policy


def ec2_trust_policy() -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "TrustEc2", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}


def cross_account_trust_policy(role: CrossAccountRole) -> dict[str, Any]:
    """Trust exactly the listed principals, with the external id when one is configured."""
    roots = [p for p in role.trusted_principals if p.endswith(":root")]
    if roots and not (role.allow_account_root and role.external_id):
        raise TrustError(f"trusts {roots[0]}, i.e. every principal of that account; name the "
                         "role or user instead, or set both `external_id` and "
                         "`allow_account_root: true`")
    stmt: dict[str, Any] = {
        "Sid": "TrustNamedPrincipals", "Effect": "Allow",
        "Principal": {"AWS": sorted(role.trusted_principals)}, "Action": "sts:AssumeRole"}
    if role.external_id:
        stmt["Condition"] = {"StringEquals": {"sts:ExternalId": role.external_id}}
    return {"Version": "2012-10-17", "Statement": [stmt]}
