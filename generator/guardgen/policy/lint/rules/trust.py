"""GG4xx rules. Role trust: who may assume a role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..model import OIDC_PROVIDER_ARN, POSITIVE_OPERATORS, ROOT_PRINCIPAL, Doc, Hit, Rule, Stmt
from .grants import allows

if TYPE_CHECKING:
    pass

# -- rules: trust ----------------------------------------------------------------------------------

def _check_trust_anyone(doc: Doc) -> Iterator[Hit]:
    for s in allows(doc):
        for value, pointer in s.principals("AWS"):
            if value == "*":
                yield pointer, "the role trusts every AWS principal of every account ('*')"
        if "NotPrincipal" in s.data:
            yield s.at("NotPrincipal"), "Allow with NotPrincipal trusts every principal but the ones named"


def _check_trust_root(doc: Doc) -> Iterator[Hit]:
    for s in allows(doc):
        roots = [(v, p) for v, p in s.principals("AWS") if (m := ROOT_PRINCIPAL.fullmatch(v))
                 and (m.group(1) is None) == (m.group(3) is None)]
        if roots and not s.positive("sts:ExternalId"):
            value, pointer = roots[0]
            yield pointer, (f"trusts {value!r}, i.e. every principal of that account allowed to "
                            "call sts:AssumeRole, without an sts:ExternalId condition; name the role "
                            "or add the external id the other party was given")


def _oidc_statements(doc: Doc) -> Iterator[tuple[Stmt, str, str]]:
    """(statement, provider, pointer) for Allow statements that federate an OIDC provider."""
    for s in allows(doc):
        for value, pointer in s.principals("Federated"):
            m = OIDC_PROVIDER_ARN.fullmatch(value)
            if m:
                yield s, m.group(1), pointer


def _tests_audience(s: Stmt, key: str) -> bool:
    """Tell whether the statement restricts the audience. A test under ForAllValues:/ForAnyValue:
    counts: a token always carries its aud, so other audiences fail it all the same; the set
    operator on this single-valued claim is GG501's finding, not a missing audience."""
    return bool(s.positive(key)) or any(
        c.key.lower() == key.lower() and c.set_op and c.base in POSITIVE_OPERATORS and not c.if_exists
        for c in s.conditions)


def _check_oidc_audience(doc: Doc) -> Iterator[Hit]:
    for s, provider, pointer in _oidc_statements(doc):
        if not _tests_audience(s, f"{provider}:aud"):
            yield pointer, (f"trusts {provider} without a condition on {provider}:aud: tokens the "
                            "provider issued for other audiences would be accepted")


_OWNER_REPO = re.compile(r"(repo|project_path):([^:]*)(:.*)?", re.IGNORECASE)


def broad_subject(value: str) -> bool:
    """Tell whether a ``sub`` pattern (tested with StringLike) matches more than one repository.

    Broad: nothing but wildcards (``*``), or a wildcard or no ``/`` in the OWNER/REPO part of a
    GitHub ``repo:`` subject or the path of a GitLab ``project_path:`` one (``repo:*``,
    ``repo:owner/*``, ``project_path:group/*``). A wildcard after it (branch, environment) is fine.
    """
    if value.strip("*?") == "":
        return True
    m = _OWNER_REPO.fullmatch(value)
    if not m:
        return False
    path = m.group(2)
    return "/" not in path or any(c in path for c in "*?")


def _check_oidc_subject(doc: Doc) -> Iterator[Hit]:
    for s, provider, pointer in _oidc_statements(doc):
        key = f"{provider}:sub"
        tests = s.positive(key)
        if not tests:
            yield pointer, (f"trusts {provider} without a condition on {key}: every workflow of "
                            "every repository the provider serves could assume the role")
            continue
        for c in tests:
            like = c.base in ("StringLike", "ArnLike")
            broad = [v for v in c.values if like and broad_subject(v)]
            if broad:
                yield c.pointer, (f"{key} {broad[0]!r} matches repositories you may not control; "
                                  "name OWNER/REPO exactly (wildcards only after it)")



RULES: tuple[Rule, ...] = (
    Rule("GG401", "trust-any-principal", "Role trusts every AWS principal", "error",
         frozenset({"trust"}),
         "Principal '*' or {\"AWS\": \"*\"} (or NotPrincipal in an Allow) lets principals of any "
         "account, yours or not, assume the role; conditions such as aws:PrincipalOrgID narrow it "
         "but a single mistake in them opens the role to the world. Name the principals.",
         "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html",
         _check_trust_anyone),
    Rule("GG402", "trust-account-root-without-external-id",
         "Role trusts a whole account without an external id", "warning", frozenset({"trust"}),
         "Trusting arn:aws:iam::ACCOUNT:root (or the bare account id) delegates to every "
         "principal of that account that may call sts:AssumeRole. For a third party, require the "
         "sts:ExternalId you gave it (confused deputy); otherwise name the role.",
         "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html", _check_trust_root),
    Rule("GG403", "oidc-trust-without-audience", "OIDC trust without an aud condition", "error",
         frozenset({"trust"}),
         "A role trusting an OIDC provider must test <provider>:aud, or tokens the provider "
         "issued for other relying parties are accepted. A test under ForAllValues:/ForAnyValue: "
         "still restricts the audience (GG501 reports the set operator), so it is not reported "
         "here too.",
         "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html",
         _check_oidc_audience),
    Rule("GG404", "oidc-trust-broad-subject", "OIDC trust without a specific sub", "error",
         frozenset({"trust"}),
         "Without a <provider>:sub test that names one repository, anyone who can run a workflow "
         "on the provider (any GitHub user, for token.actions.githubusercontent.com) can assume "
         "the role: a missing sub, sub '*', 'repo:*' or 'repo:owner/*' are all that. Tests under "
         "ForAllValues: or ...IfExists pass when the claim is missing, so they do not count.",
         "https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services",
         _check_oidc_subject),
)
