"""An offline IAM policy evaluator for requests made within a single AWS account.

It answers "would AWS allow this request?" for SCPs, identity-based policies, a permissions
boundary and same-account resource-based policies, following the documented evaluation logic:

* https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
* https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html

The order is the documented one: (1) an explicit Deny in any applicable policy decides; (2) every
SCP level from the organization root down to the account must contain a matching Allow; (3) a
same-account resource-based policy that grants the calling user or session directly allows; (4)
otherwise an identity-based policy (or a resource-based grant to the role ARN) must allow; (5) a
permissions boundary, when present, must allow as well. Anything else is an implicit deny.

Choices where AWS's documentation is silent or where the model has to simplify (each is tested):

* Resource-based grants (evaluation-logic page, "Resource-based policies" step): a grant naming the
  IAM user ARN, the role session ARN, the federated user ARN, or ``"*"`` allows on its own, even
  when identity policies and a boundary say nothing. A grant naming the role ARN replaces the
  identity-policy allow but is still capped by the role's permissions boundary. A grant naming the
  account (``"111122223333"`` or ``arn:aws:iam::111122223333:root``) delegates to the account's
  IAM policies and grants nothing on its own. ``"*"`` counting as a direct grant is our reading.
* Service principals, federated providers and canonical users in ``Principal`` never match: the
  requests modelled here are made by IAM principals.
* ``NotPrincipal`` with ``Deny`` spares a principal only when every link of its chain is listed
  (account, role and session for a role session; account and user for a user), as the NotPrincipal
  page recommends, and never spares a principal that has a permissions boundary (the permissions
  boundaries page warns that AWS then always denies).
* SCPs do not apply to the management account nor to service-linked roles (role path
  ``/aws-service-role/``), as the SCP pages state. The root user needs no identity-based allow
  ("all requests are implicitly denied with the exception of the AWS account root user"), but a
  member account's root user is still bound by SCPs.
* ARNs (``Resource``, ``NotResource`` and the ``Arn*`` operators) match case-sensitively, each of
  the first five colon-separated components separately (a wildcard there does not cross a ``:``),
  the resource part as a whole. A pattern with fewer than five colons (``"*"``) is matched as a
  whole-string glob. A request for resource ``"*"`` (actions without resource-level permissions)
  only matches a pattern that matches the literal text ``*``.
* Actions match case-insensitively, service prefix and name alike, with ``*`` and ``?``.
* Condition keys (and so tag keys inside them) and operator names match case-insensitively.
* A missing key makes a condition false, except that negated operators (``StringNotEquals``,
  ``ArnNotLike``, ``NotIpAddress``, ...) are then true, ``...IfExists`` is true, ``ForAllValues:``
  is true and ``ForAnyValue:`` is false (condition-operators and multi-value pages). An empty list
  in the context is a "null dataset" and counts as missing.
* A list-valued context key used without ``ForAllValues:``/``ForAnyValue:`` (AWS says it needs one
  and does not say what happens otherwise): a positive operator is true when any context value
  matches; a negated operator is its exact complement.
* Policy variables are substituted only in documents whose ``Version`` is ``2012-10-17`` (older
  documents treat them as literal text, as the variables page says), in ``Resource``/``NotResource``
  and in the values of String and ARN operators. ``${*}``, ``${?}`` and ``${$}`` give the literal
  character; ``${key, 'default'}`` is supported; substituted text never acts as a wildcard. A
  variable that cannot be resolved (missing or list-valued key, no default) makes that one policy
  value match nothing, so a negated operator whose every value is unresolvable is true. Text
  between ``${`` and ``}`` that names no condition key (``${Account}``, ``${AWS::Region}``, a
  template placeholder left in) never resolves, whatever the context holds. The
  variables page says such a statement "might" be invalid; matching nothing is the fail-closed
  reading for Deny statements with negated operators.
* ``aws:PrincipalArn`` (the role ARN, not the session ARN, for a role session; the role path is
  unknown from a session ARN, so pass the key explicitly for roles with a path),
  ``aws:PrincipalAccount`` and, for IAM users, ``aws:username`` are filled from the principal when
  the context lacks them.
* A statement without ``Resource``/``NotResource`` (role trust policies) applies to any resource.
* Resource control policies (RCPs) are passed as the levels of the account that owns the resource
  (``rcp_levels``), each level holding ``RCPFullAWSAccess`` as AWS attaches it. Like SCPs, an
  explicit Deny decides and every level must allow; unlike SCPs they bind every principal, inside
  the organization or not, but only for the services that support RCPs (:data:`RCP_SERVICES`),
  never for resources of the management account, and never for a service assuming a
  service-linked role (the RCP pages state all three). An RCP statement's Principal must be
  ``"*"``. RCPs do not apply to AWS managed KMS keys either; that is not visible in an ARN and is
  not modelled.
* A request may come from an AWS service principal (``cloudtrail.amazonaws.com``): the context
  then gets ``aws:PrincipalServiceName`` and ``aws:PrincipalIsAWSService`` (``true``) instead of
  ``aws:PrincipalArn`` and ``aws:PrincipalAccount``.
* Session policies, VPC endpoint policies and cross-account requests are not modelled; a request
  whose principal is outside the resource's account is evaluated against the resource account's
  RCPs and the policies given, as if the other account's own policies allowed it.

Everything here is pure: no I/O, no clock, no environment.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Literal

from ..errors import GuardgenError

__all__ = [
    "Decision",
    "Match",
    "Policy",
    "PolicyError",
    "PolicyType",
    "Reason",
    "RCP_SERVICES",
    "Request",
    "evaluate",
    "is_policy_variable",
    "substitute",
]

PolicyType = Literal["scp", "resource", "identity", "boundary", "rcp"]
# The normalised request context: lower-cased keys, list values as tuples.
Context = Mapping[str, str | tuple[str, ...]]
Reason = Literal["explicit-deny", "scp-implicit-deny", "boundary-implicit-deny", "no-allow", "allowed",
                 "rcp-implicit-deny"]

# Service prefixes whose resources RCPs govern (Organizations' RCP page): S3, STS, KMS, SQS and
# Secrets Manager from the start (November 2024), ECR and OpenSearch Serverless (June 2025), Cognito
# and CloudWatch Logs (January 2026), DynamoDB (February 2026). Elsewhere an RCP has no effect.
RCP_SERVICES = frozenset({"s3", "sts", "kms", "sqs", "secretsmanager", "ecr", "aoss", "cognito-idp",
                          "cognito-identity", "logs", "dynamodb"})
# An AWS service principal, as a caller: cloudtrail.amazonaws.com, delivery.logs.amazonaws.com.
_SERVICE_PRINCIPAL = re.compile(r"[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?")

# Policy variables are only recognised from this language version on (IAM variables page).
_VARIABLES_VERSION = "2012-10-17"


class PolicyError(GuardgenError):
    """A policy document is malformed: the message names the policy and the statement."""

    def __init__(self, policy: str, statement_index: int | None, message: str) -> None:
        self.policy = policy
        self.statement_index = statement_index
        where = f"policy {policy!r}" + ("" if statement_index is None else f", statement {statement_index}")
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Request:
    """One API request as the evaluator sees it.

    Attributes:
        principal_arn: The caller: an IAM user or role ARN, a role session ARN
            (``arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION``), a federated user ARN or the
            account root ARN (``arn:aws:iam::ACCOUNT:root``).
        principal_account: The caller's 12-digit account id.
        action: ``service:Action``, e.g. ``cloudtrail:StopLogging``.
        resource: The resource ARN, or ``"*"`` for actions without resource-level permissions.
        context: Request context keys (case-insensitive), each a string or a list of strings.
    """

    principal_arn: str
    principal_account: str
    action: str
    resource: str = "*"
    context: Mapping[str, str | list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    """A named policy document (the parsed JSON)."""

    name: str
    document: Mapping[str, Any]


@dataclass(frozen=True)
class Match:
    """A statement, or a whole policy, that decided a request.

    ``statement_index`` and ``sid`` are None when the policy as a whole decided (an SCP level or a
    boundary that lacked an Allow). ``level`` is the SCP level (0 is the organization root).
    """

    policy: str
    policy_type: PolicyType
    statement_index: int | None
    sid: str | None
    level: int | None = None
    level_name: str | None = None

    def describe(self) -> str:
        """A short phrase naming this match, e.g. ``statement 1 (Sid "X") of SCP "p" at the root``."""
        kind = {"scp": "SCP", "resource": "resource-based policy", "identity": "identity-based policy",
                "boundary": "permissions boundary", "rcp": "RCP"}[self.policy_type]
        where = f" attached at {self.level_name}" if self.level_name else ""
        if self.statement_index is None:
            return f'{kind} "{self.policy}"{where}'
        sid = f' (Sid "{self.sid}")' if self.sid else ""
        return f'statement {self.statement_index}{sid} of {kind} "{self.policy}"{where}'


@dataclass(frozen=True)
class Decision:
    """The outcome of :func:`evaluate`.

    Attributes:
        allowed: True when AWS would allow the request.
        decision: ``"allow"`` or ``"deny"``, always consistent with ``allowed``.
        reason: Why: ``explicit-deny``, ``scp-implicit-deny``, ``boundary-implicit-deny``,
            ``no-allow`` or ``allowed``.
        deciding: The denying statements; or the SCP level / boundary that lacked an Allow; or,
            for ``no-allow``, the identity-based policies that were searched; or, when allowed,
            the statements that granted it (and the boundary statements that let it through).
        request: The request evaluated.
        notes: Facts that shaped the result (e.g. "SCPs do not apply to the management account").
    """

    allowed: bool
    decision: Literal["allow", "deny"]
    reason: Reason
    deciding: list[Match]
    request: Request | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.allowed != (self.decision == "allow") or self.allowed != (self.reason == "allowed"):
            raise ValueError(f"inconsistent decision: allowed={self.allowed}, decision={self.decision}, "
                             f"reason={self.reason}")

    def explain(self) -> str:
        """One paragraph saying what was decided and which policy decided it.

        Returns:
            Human-readable text, e.g. "Denied: the request by arn:...:role/Admin to perform
            cloudtrail:StopLogging on * matches an explicit Deny in statement 0 ...".
        """
        what = "the request"
        if self.request is not None:
            r = self.request
            what = f"the request by {r.principal_arn} to perform {r.action} on {r.resource}"
        granting = [m for m in self.deciding if m.policy_type != "boundary" or self.reason != "allowed"]
        capping = [m for m in self.deciding if m.policy_type == "boundary" and self.reason == "allowed"]
        named = "; ".join(m.describe() for m in granting)
        if self.reason == "explicit-deny":
            text = (f"Denied: {what} matches an explicit Deny in {named}. An explicit Deny overrides "
                    "every Allow, whatever the other policies say.")
        elif self.reason == "scp-implicit-deny":
            where = next((m.level_name for m in self.deciding if m.level_name), None)
            policies = ", ".join(f'"{m.policy}"' for m in self.deciding)
            level = (f"the SCPs attached at {where} ({policies})" if where
                     else "the SCPs of one level (none is attached there)")
            text = (f"Denied: none of {level} allows {what}. Every level from the organization root "
                    "down to the account must allow an action, so a level holding only Deny statements "
                    "(for instance once FullAWSAccess is detached) denies everything it does not allow.")
        elif self.reason == "rcp-implicit-deny":
            where = next((m.level_name for m in self.deciding if m.level_name), None)
            policies = ", ".join(f'"{m.policy}"' for m in self.deciding)
            level = (f"the RCPs attached at {where} ({policies})" if where
                     else "the RCPs of one level (none is attached there)")
            text = (f"Denied: none of {level} allows {what}. Every level from the organization root "
                    "down to the resource's account must allow it, which RCPFullAWSAccess does "
                    "wherever AWS has attached it.")
        elif self.reason == "boundary-implicit-deny":
            text = (f"Denied: {what} is allowed by the identity-based policies but not by {named}. A "
                    "permissions boundary sets the maximum permissions and grants nothing itself, so "
                    "the action must be allowed by both.")
        elif self.reason == "no-allow":
            searched = f" (searched: {named})" if named else " (the principal has none)"
            text = (f"Denied: no identity-based or resource-based policy allows {what}{searched}. "
                    "Requests are denied unless something allows them (implicit deny).")
        else:
            granted = f" by {named}" if named else ""
            within = f", within {'; '.join(m.describe() for m in capping)}" if capping else ""
            text = f"Allowed: {what} is granted{granted}{within}, and no Deny, SCP or boundary stops it."
        if self.notes:
            text += " " + " ".join(self.notes)
        return text


# --------------------------------------------------------------------------------------------------
# Parsed policy model

@dataclass(frozen=True)
class _Principals:
    everyone: bool
    aws: frozenset[str]  # IAM ARNs; bare 12-digit account ids are normalised to the root ARN


@dataclass(frozen=True)
class _Condition:
    family: str  # "string", "arn", "numeric", "date", "bool", "binary", "ip", "null"
    compare: str  # "eq", "ieq", "like", "arn", "bool", "ip", "null" or an order key of _ORDER
    negated: bool
    qualifier: Literal["any", "all"] | None
    if_exists: bool
    key: str  # lower-cased
    values: tuple[str, ...]


@dataclass(frozen=True)
class _Statement:
    policy: str
    policy_type: PolicyType
    index: int
    sid: str | None
    effect: Literal["Allow", "Deny"]
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...] | None  # None: no Resource element, applies to any resource
    not_resource: bool
    principals: _Principals | None
    not_principal: bool
    conditions: tuple[_Condition, ...]
    variables: bool  # whether ${...} is substituted (policy language 2012-10-17)

    def match(self, level: int | None = None, level_name: str | None = None) -> Match:
        return Match(self.policy, self.policy_type, self.index, self.sid, level, level_name)


# base operator (lower case) -> (family, comparison, negated)
_OPERATORS: dict[str, tuple[str, str, bool]] = {
    "stringequals": ("string", "eq", False),
    "stringnotequals": ("string", "eq", True),
    "stringequalsignorecase": ("string", "ieq", False),
    "stringnotequalsignorecase": ("string", "ieq", True),
    "stringlike": ("string", "like", False),
    "stringnotlike": ("string", "like", True),
    "arnequals": ("arn", "arn", False),
    "arnlike": ("arn", "arn", False),
    "arnnotequals": ("arn", "arn", True),
    "arnnotlike": ("arn", "arn", True),
    "numericequals": ("numeric", "==", False),
    "numericnotequals": ("numeric", "==", True),
    "numericlessthan": ("numeric", "<", False),
    "numericlessthanequals": ("numeric", "<=", False),
    "numericgreaterthan": ("numeric", ">", False),
    "numericgreaterthanequals": ("numeric", ">=", False),
    "dateequals": ("date", "==", False),
    "datenotequals": ("date", "==", True),
    "datelessthan": ("date", "<", False),
    "datelessthanequals": ("date", "<=", False),
    "dategreaterthan": ("date", ">", False),
    "dategreaterthanequals": ("date", ">=", False),
    "bool": ("bool", "bool", False),
    "binaryequals": ("binary", "eq", False),
    "ipaddress": ("ip", "ip", False),
    "notipaddress": ("ip", "ip", True),
    "null": ("null", "null", False),
}

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: bool(a == b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def _as_list(value: Any, what: str, policy: str, index: int | None) -> tuple[Any, ...]:
    if isinstance(value, list):
        if not value:
            raise PolicyError(policy, index, f"{what} is an empty list")
        return tuple(value)
    return (value,)


def _strings(value: Any, what: str, policy: str, index: int | None) -> tuple[str, ...]:
    items = _as_list(value, what, policy, index)
    for item in items:
        if not isinstance(item, str):
            raise PolicyError(policy, index, f"{what} must be a string or a list of strings, "
                                             f"got {item!r}")
    return items


def _scalar(value: Any, what: str, policy: str, index: int) -> str:
    # JSON allows condition values to be booleans and numbers; AWS compares their text.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value
    raise PolicyError(policy, index, f"{what}: condition values must be strings, numbers or "
                                     f"booleans, got {value!r}")


def _number(text: str) -> Decimal | None:
    # Decimal keeps "2" and "2.0" equal and avoids float rounding on large values.
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _date(text: str) -> datetime | None:
    text = text.strip()
    number = _number(text)
    if number is not None:  # epoch seconds, as aws:EpochTime
        try:
            return datetime.fromtimestamp(float(number), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if text.endswith(("Z", "z")):  # fromisoformat only learned "Z" in Python 3.11
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _parse_condition(op: str, body: Any, policy: str, index: int) -> list[_Condition]:
    qualifier: Literal["any", "all"] | None = None
    base = op
    if ":" in op:
        prefix, _, base = op.partition(":")
        if prefix.lower() == "forallvalues":
            qualifier = "all"
        elif prefix.lower() == "foranyvalue":
            qualifier = "any"
        else:
            raise PolicyError(policy, index, f"unknown condition operator {op!r} (the only set "
                                             "prefixes are ForAllValues: and ForAnyValue:)")
    lowered = base.lower()
    if_exists = lowered.endswith("ifexists") and lowered != "ifexists"
    if if_exists:
        lowered = lowered[: -len("ifexists")]
    spec = _OPERATORS.get(lowered)
    if spec is None or (lowered == "null" and (if_exists or qualifier)):
        raise PolicyError(policy, index, f"unknown condition operator {op!r}")
    family, compare, negated = spec
    if not isinstance(body, Mapping) or not body:
        raise PolicyError(policy, index, f"condition operator {op!r} must map condition keys to values")
    out = []
    for key, raw in body.items():
        if not isinstance(key, str) or not key:
            raise PolicyError(policy, index, f"{op}: condition keys must be non-empty strings")
        what = f"{op} {key}"
        values = tuple(_scalar(v, what, policy, index) for v in _as_list(raw, what, policy, index))
        for v in values:
            bad = ((family == "numeric" and _number(v) is None)
                   or (family == "date" and _date(v) is None)
                   or (family == "ip" and _network(v) is None)
                   or (family in ("bool", "null") and v.lower() not in ("true", "false")))
            if bad:
                raise PolicyError(policy, index, f"{what}: {v!r} is not a valid {family} value")
        out.append(_Condition(family, compare, negated, qualifier, if_exists, key.lower(), values))
    return out


def _parse_principals(value: Any, element: str, policy: str, index: int, partition: str) -> _Principals:
    if value == "*":
        return _Principals(everyone=True, aws=frozenset())
    if not isinstance(value, Mapping) or not value:
        raise PolicyError(policy, index, f'{element} must be "*" or a map such as {{"AWS": [...]}}')
    everyone = False
    aws: set[str] = set()
    for kind, entries in value.items():
        names = _strings(entries, f"{element}.{kind}", policy, index)
        if kind == "AWS":
            for name in names:
                if name == "*":
                    everyone = True
                elif re.fullmatch(r"\d{12}", name):
                    aws.add(f"arn:{partition}:iam::{name}:root")
                else:
                    aws.add(name)
        elif kind not in ("Service", "Federated", "CanonicalUser"):
            raise PolicyError(policy, index, f"{element} has unknown principal type {kind!r}")
        # Service, federated and canonical-user principals never match an IAM caller.
    return _Principals(everyone=everyone, aws=frozenset(aws))


# Parsed statements of recently seen Policy objects. Callers that evaluate many requests against
# the same policies (``guardgen verify``) pass the same objects, so each is parsed once. The key
# is the object's id; the entry keeps the object alive, so an id is never reused while cached.
_PARSED: dict[tuple[int, str, str], tuple[Policy, list[_Statement]]] = {}
_PARSED_MAX = 4096


def _parse(policy: Policy, policy_type: PolicyType, partition: str) -> list[_Statement]:
    key = (id(policy), policy_type, partition)
    hit = _PARSED.get(key)
    if hit is not None and hit[0] is policy:
        return hit[1]
    parsed = _parse_uncached(policy, policy_type, partition)
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[key] = (policy, parsed)
    return parsed


def _parse_uncached(policy: Policy, policy_type: PolicyType, partition: str) -> list[_Statement]:
    doc = policy.document
    name = policy.name
    if not isinstance(doc, Mapping):
        raise PolicyError(name, None, "the document must be a JSON object")
    if "Statement" not in doc:
        raise PolicyError(name, None, "the document has no Statement")
    variables = doc.get("Version") == _VARIABLES_VERSION
    raw = doc["Statement"]
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for index, st in enumerate(items):
        if not isinstance(st, Mapping):
            raise PolicyError(name, index, "a statement must be a JSON object")
        sid = st.get("Sid")
        if sid is not None and not isinstance(sid, str):
            raise PolicyError(name, index, "Sid must be a string")
        if "Effect" not in st:
            raise PolicyError(name, index, "the statement has no Effect")
        effect = st["Effect"]
        if effect not in ("Allow", "Deny"):
            raise PolicyError(name, index, f'Effect must be "Allow" or "Deny", got {effect!r}')
        if ("Action" in st) == ("NotAction" in st):
            raise PolicyError(name, index, "a statement needs exactly one of Action and NotAction")
        not_action = "NotAction" in st
        actions = _strings(st["NotAction" if not_action else "Action"],
                           "NotAction" if not_action else "Action", name, index)
        if "Resource" in st and "NotResource" in st:
            raise PolicyError(name, index, "a statement cannot have both Resource and NotResource")
        not_resource = "NotResource" in st
        resources: tuple[str, ...] | None = None
        if "Resource" in st or not_resource:
            element = "NotResource" if not_resource else "Resource"
            resources = _strings(st[element], element, name, index)
        has_principal = "Principal" in st or "NotPrincipal" in st
        principals: _Principals | None = None
        not_principal = "NotPrincipal" in st
        if policy_type == "resource":
            if "Principal" in st and not_principal:
                raise PolicyError(name, index, "a statement cannot have both Principal and NotPrincipal")
            if not has_principal:
                raise PolicyError(name, index, "a resource-based policy statement needs Principal "
                                               "or NotPrincipal")
            element = "NotPrincipal" if not_principal else "Principal"
            principals = _parse_principals(st[element], element, name, index, partition)
        elif policy_type == "rcp":
            # RCP syntax: Principal is required and may only be "*" (NotPrincipal is not supported).
            if not_principal or "Principal" not in st:
                raise PolicyError(name, index, 'an RCP statement needs Principal "*" (and no '
                                               "NotPrincipal)")
            principals = _parse_principals(st["Principal"], "Principal", name, index, partition)
            if not principals.everyone or principals.aws:
                raise PolicyError(name, index, 'an RCP statement\'s Principal must be "*"')
        elif has_principal:
            raise PolicyError(name, index, f"Principal/NotPrincipal is only valid in resource-based "
                                           f"policies, not in a {policy_type} policy")
        cond = st.get("Condition", {})
        if not isinstance(cond, Mapping):
            raise PolicyError(name, index, "Condition must map operators to {key: values}")
        conditions: list[_Condition] = []
        for op, body in cond.items():
            if not isinstance(op, str):
                raise PolicyError(name, index, f"unknown condition operator {op!r}")
            conditions.extend(_parse_condition(op, body, name, index))
        out.append(_Statement(name, policy_type, index, sid, effect, actions, not_action, resources,
                              not_resource, principals, not_principal, tuple(conditions), variables))
    return out


# --------------------------------------------------------------------------------------------------
# Wildcards and policy variables

# A template is split into segments: (text, is_pattern). Pattern text may hold wildcards;
# substituted variable values and ${*}-style escapes are literal.
Segment = tuple[str, bool]
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}
# A policy variable names a condition key: ``service:name`` (aws:username, aws:PrincipalTag/team,
# kms:EncryptionContext:aws:logs:arn) or an OIDC provider's ``host/path:claim``.
_VARIABLE_KEY = re.compile(r"[^\s:,'{}$]+:[^\s,'{}$]+")
_DEFAULT = re.compile(r"\s*'[^']*'\s*")


def is_policy_variable(name: str) -> bool:
    """Tell whether the text between ``${`` and ``}`` is something IAM substitutes.

    True for a condition key (optionally with a ``, 'default'``) and for the escapes ``*``, ``?``
    and ``$``; false for anything else (``Account``, ``AWS::Region``, ``var.account_id``), which
    is a template placeholder left in the policy and never resolves.
    """
    inner = name.strip()
    if inner in _ESCAPES:
        return True
    key, comma, default = inner.partition(",")
    key = key.strip()
    if comma and not _DEFAULT.fullmatch(default):
        return False
    return "::" not in key and _VARIABLE_KEY.fullmatch(key) is not None


def substitute(template: str, context: Mapping[str, str]) -> str | None:
    """A policy value with its policy variables replaced, as evaluation does.

    Args:
        template: A Resource or condition value.
        context: Lower-cased condition key → value; looked up with ``get``.

    Returns:
        The text (substituted values and escapes inserted as they are), or None when some
        ``${...}`` cannot be resolved: a key the context lacks and no default, or text that is
        not a policy variable at all. Such a value matches nothing.
    """
    segments = _expand(template, context, True)
    return None if segments is None else _literal(segments)


def _expand(template: str, ctx: Context, variables: bool) -> tuple[Segment, ...] | None:
    """Substitutes policy variables; None when one cannot be resolved."""
    if not variables or "${" not in template:
        return ((template, True),)
    segments: list[Segment] = []
    pos = 0
    for m in _VARIABLE.finditer(template):
        segments.append((template[pos:m.start()], True))
        pos = m.end()
        inner = m.group(1).strip()
        if inner in _ESCAPES:
            segments.append((_ESCAPES[inner], False))
            continue
        if not is_policy_variable(inner):
            return None  # a template placeholder, not a variable: nothing supplies it
        key, comma, default = inner.partition(",")
        default = default.strip()
        value = ctx.get(key.strip().lower())
        if isinstance(value, str):
            segments.append((value, False))
        elif comma and len(default) >= 2 and default[0] == default[-1] == "'":
            # Documented default syntax: ${aws:PrincipalTag/team, 'company-wide'}
            segments.append((default[1:-1], False))
        else:
            return None  # missing or multivalued: multivalued keys cannot be variables
    segments.append((template[pos:], True))
    return tuple(s for s in segments if s[0])


def _literal(segments: tuple[Segment, ...]) -> str:
    return "".join(text for text, _ in segments)


@lru_cache(maxsize=4096)
def _glob(segments: tuple[Segment, ...], arn: bool) -> re.Pattern[str]:
    """Compiles wildcards; for ARNs a wildcard stays within one of the first five components."""
    pattern_colons = sum(text.count(":") for text, wild in segments if wild)
    per_component = arn and pattern_colons >= 5
    out: list[str] = []
    colons = 0
    for text, wild in segments:
        if not wild:
            colons += text.count(":")
            out.append(re.escape(text))
            continue
        for ch in text:
            in_prefix = per_component and colons < 5
            if ch == "*":
                out.append("[^:]*" if in_prefix else ".*")
            elif ch == "?":
                out.append("[^:]" if in_prefix else ".")
            else:
                if ch == ":":
                    colons += 1
                out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def _action_matches(pattern: str, action: str) -> bool:
    return _glob(((pattern.lower(), True),), False).fullmatch(action.lower()) is not None


def _arn_matches(template: str, value: str, ctx: Context, variables: bool) -> bool:
    segments = _expand(template, ctx, variables)
    if segments is None:
        return False
    return _glob(segments, True).fullmatch(value) is not None


# --------------------------------------------------------------------------------------------------
# Conditions

def _one(cond: _Condition, request_value: str, policy_value: str,
         ctx: Context, variables: bool) -> bool:
    """Positive comparison of one context value with one policy value."""
    family, compare = cond.family, cond.compare
    if family in ("string", "arn"):
        segments = _expand(policy_value, ctx, variables)
        if segments is None:
            return False
        if compare == "eq":
            return request_value == _literal(segments)
        if compare == "ieq":
            return request_value.casefold() == _literal(segments).casefold()
        return _glob(segments, family == "arn").fullmatch(request_value) is not None
    if family == "binary":
        return request_value == policy_value
    if family == "bool":
        return request_value.strip().lower() == policy_value.lower()
    if family == "numeric":
        a, b = _number(request_value), _number(policy_value)
        return a is not None and b is not None and _ORDER[compare](a, b)
    if family == "date":
        x, y = _date(request_value), _date(policy_value)
        return x is not None and y is not None and _ORDER[compare](x, y)
    if family == "ip":
        net = _network(policy_value)
        try:
            address = ipaddress.ip_address(request_value.strip())
        except ValueError:
            return False
        return net is not None and address.version == net.version and address in net
    raise AssertionError(f"unhandled operator family {family}")  # pragma: no cover


def _condition_holds(cond: _Condition, ctx: Context, variables: bool) -> bool:
    raw = ctx.get(cond.key)
    present: tuple[str, ...] | None
    if raw is None:
        present = None
    elif isinstance(raw, str):
        present = (raw,)
    else:
        present = raw or None  # an empty list is a null dataset: treated as missing
    if cond.family == "null":
        # Null: "true" holds when the key is absent, "false" when it is present; values ORed.
        return any((v.lower() == "true") == (present is None) for v in cond.values)
    if present is None:
        if cond.if_exists or cond.qualifier == "all":
            return True  # ForAllValues over an empty set is vacuously true: why it is dangerous
        if cond.qualifier == "any":
            return False
        return cond.negated  # a missing key never matches, so its negation holds

    def positive(value: str) -> bool:
        # Values within one key are ORed; for a negated operator the caller takes the complement,
        # which is the documented NOR.
        return any(_one(cond, value, p, ctx, variables) for p in cond.values)

    per_value = [positive(v) != cond.negated for v in present]
    if cond.qualifier == "all":
        return all(per_value)
    if cond.qualifier == "any":
        return any(per_value)
    if len(present) == 1:
        return per_value[0]
    any_match = any(positive(v) for v in present)
    return not any_match if cond.negated else any_match


# --------------------------------------------------------------------------------------------------
# Principals and the request context

PrincipalKind = Literal["root", "user", "role", "session", "federated", "service", "other"]
_PRINCIPAL = re.compile(r"arn:(?P<partition>[^:]+):(?P<service>iam|sts)::(?P<account>[^:]*):(?P<rest>.+)")


@dataclass(frozen=True)
class _Caller:
    kind: PrincipalKind
    arn: str
    account: str
    partition: str
    role_arn: str | None  # the role behind a session (or the role itself)
    chain: tuple[str, ...]  # account root, then role/user, then session: NotPrincipal must list all

    @property
    def root_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:root"


def _caller(request: Request, ctx: Context) -> _Caller:
    m = _PRINCIPAL.fullmatch(request.principal_arn)
    partition = m.group("partition") if m else "aws"
    account = request.principal_account
    root = f"arn:{partition}:iam::{account}:root"
    arn = request.principal_arn
    if m is None and _SERVICE_PRINCIPAL.fullmatch(arn):
        return _Caller("service", arn, account, partition, None, (arn,))
    if m is None:
        return _Caller("other", arn, account, partition, None, (root, arn))
    service, rest = m.group("service"), m.group("rest")
    if service == "iam" and rest == "root":
        return _Caller("root", arn, account, partition, None, (root,))
    if service == "iam" and rest.startswith("user/"):
        return _Caller("user", arn, account, partition, None, (root, arn))
    if service == "iam" and rest.startswith("role/"):
        return _Caller("role", arn, account, partition, arn, (root, arn))
    if service == "sts" and rest.startswith("assumed-role/"):
        given = ctx.get("aws:principalarn")
        role = given if isinstance(given, str) else _session_role(arn)
        return _Caller("session", arn, account, partition, role, (root, role, arn))
    if service == "sts" and rest.startswith("federated-user/"):
        return _Caller("federated", arn, account, partition, None, (root, arn))
    return _Caller("other", arn, account, partition, None, (root, arn))


def _session_role(session_arn: str) -> str:
    # arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION -> arn:aws:iam::ACCOUNT:role/NAME (path unknown)
    head, _, rest = session_arn.partition(":assumed-role/")
    role_name = rest.split("/", 1)[0]
    return head.replace(":sts::", ":iam::", 1) + ":role/" + role_name


def _context(request: Request) -> dict[str, str | tuple[str, ...]]:
    ctx: dict[str, str | tuple[str, ...]] = {}
    for key, value in request.context.items():
        low = key.lower()
        if low in ctx:
            raise ValueError(f"request context key {key!r} is given twice (keys are case-insensitive)")
        if isinstance(value, str):
            ctx[low] = value
        elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            ctx[low] = tuple(value)
        else:
            raise ValueError(f"request context key {key!r} must be a string or a list of strings")
    m = _PRINCIPAL.fullmatch(request.principal_arn)
    if m and m.group("account") and m.group("account") != request.principal_account:
        raise ValueError(f"principal_account {request.principal_account!r} does not match the account "
                         f"in {request.principal_arn!r}")
    if m is None and _SERVICE_PRINCIPAL.fullmatch(request.principal_arn):
        # A service principal has no ARN or account of its own in the request context.
        ctx.setdefault("aws:principalservicename", request.principal_arn)
        ctx.setdefault("aws:principalisawsservice", "true")
        return ctx
    if "aws:principalarn" not in ctx:
        arn = request.principal_arn
        is_session = m is not None and m.group("service") == "sts" and ":assumed-role/" in arn
        ctx["aws:principalarn"] = _session_role(arn) if is_session else arn
    ctx.setdefault("aws:principalaccount", request.principal_account)
    if m and m.group("service") == "iam" and m.group("rest").startswith("user/"):
        ctx.setdefault("aws:username", m.group("rest").rsplit("/", 1)[-1])
    return ctx


GrantKind = Literal["none", "account", "role", "direct"]
_RANK: dict[GrantKind, int] = {"none": 0, "account": 1, "role": 2, "direct": 3}


def _grant_kind(st: _Statement, caller: _Caller) -> GrantKind:
    """How strongly an Allow in a resource-based policy names the caller."""
    p = st.principals
    assert p is not None  # resource-based statements always carry one (checked when parsing)
    listed = set(p.aws)
    if st.not_principal:
        return "none" if listed & set(caller.chain) else "direct"
    if p.everyone:
        return "direct"  # "*" names the session (or user) itself; see the module docstring
    if caller.arn in listed and caller.kind != "role":
        return "direct"
    if caller.role_arn is not None and caller.role_arn in listed:
        return "role"
    if caller.root_arn in listed:
        return "account"
    return "none"


def _deny_names(st: _Statement, caller: _Caller, has_boundary: bool) -> bool:
    """Whether a Deny in a resource-based policy applies to the caller."""
    p = st.principals
    assert p is not None
    listed = set(p.aws)
    if st.not_principal:
        # The boundaries page: NotPrincipal with Deny always denies a principal with a boundary.
        return has_boundary or not set(caller.chain) <= listed
    return p.everyone or bool(listed & set(caller.chain))


# --------------------------------------------------------------------------------------------------
# Evaluation

def _applies(st: _Statement, request: Request, ctx: Context) -> bool:
    """Action, resource and condition match (principal is checked separately)."""
    hit = any(_action_matches(a, request.action) for a in st.actions)
    if hit == st.not_action:
        return False
    if st.resources is not None:
        hit = any(_arn_matches(r, request.resource, ctx, st.variables) for r in st.resources)
        if hit == st.not_resource:
            return False
    return all(_condition_holds(c, ctx, st.variables) for c in st.conditions)


def _level_name(index: int, count: int) -> str:
    if index == 0:
        return "the organization root (SCP level 0)"
    if index == count - 1:
        return f"the account (SCP level {index})"
    return f"OU level {index}"


def _rcp_level_name(index: int, count: int) -> str:
    if index == 0:
        return "the organization root (RCP level 0)"
    if index == count - 1:
        return f"the resource's account (RCP level {index})"
    return f"OU level {index} (RCPs)"


def _rcp_exemption(request: Request, resource_in_management_account: bool) -> str | None:
    """Why RCPs do not govern this request, or None when they do."""
    if resource_in_management_account:
        return "RCPs do not apply: the resource belongs to the management account."
    service = request.action.partition(":")[0].lower()
    if service not in RCP_SERVICES:
        return f"RCPs do not apply: {service} is not a service that supports them."
    if service == "sts" and ":role/aws-service-role/" in request.resource:
        return "RCPs do not apply: an AWS service is taking on its service-linked role."
    return None


def evaluate(request: Request, *, scp_levels: Sequence[Sequence[Policy]] | None,
             identity: Sequence[Policy], boundary: Policy | None = None,
             resource_policies: Sequence[Policy] = (), is_management_account: bool = False,
             rcp_levels: Sequence[Sequence[Policy]] | None = None,
             resource_in_management_account: bool = False) -> Decision:
    """Decides a same-account request the way AWS's policy evaluation logic does.

    Args:
        request: The request: principal, action, resource and context.
        scp_levels: SCPs from the organization root down to the account (root, each OU, the
            account), each level the SCPs attached there; None when the account is not in an
            organization.
        identity: The principal's identity-based policies (inline, managed, group).
        boundary: The principal's permissions boundary, if any.
        resource_policies: Resource-based policies on the target resource, in the same account.
        is_management_account: The request is made in the management account, which SCPs never
            restrict.
        rcp_levels: RCPs from the organization root down to the account that owns the resource,
            each level the RCPs attached there (``RCPFullAWSAccess`` included); None when that
            account is not in an organization (or RCPs are not enabled).
        resource_in_management_account: The resource belongs to the management account, whose
            resources RCPs never restrict.

    Returns:
        The decision, its reason and the policies that decided it.

    Raises:
        PolicyError: A policy document is malformed (every document is checked, even those the
            decision did not need).
        ValueError: The request itself is inconsistent (e.g. principal_account does not match the
            principal ARN).
    """
    ctx = _context(request)
    caller = _caller(request, ctx)
    partition = caller.partition
    levels = (None if scp_levels is None
              else [[_parse(p, "scp", partition) for p in level] for level in scp_levels])
    identities = [st for p in identity for st in _parse(p, "identity", partition)]
    bounds = _parse(boundary, "boundary", partition) if boundary is not None else None
    resources = [st for p in resource_policies for st in _parse(p, "resource", partition)]
    rcps = (None if rcp_levels is None
            else [[_parse(p, "rcp", partition) for p in level] for level in rcp_levels])

    notes: list[str] = []
    principal_arn = ctx.get("aws:principalarn")
    service_linked = any(isinstance(a, str) and ":role/aws-service-role/" in a
                         for a in (request.principal_arn, principal_arn))
    scps_apply = levels is not None
    if levels is None:
        notes.append("The account is not in an organization, so no SCP applies.")
    elif is_management_account:
        scps_apply = False
        notes.append("SCPs do not apply: the request is made in the management account.")
    elif service_linked:
        scps_apply = False
        notes.append("SCPs do not apply: the caller is a service-linked role.")
    rcps_apply = rcps is not None
    if rcps is not None:
        why_not = _rcp_exemption(request, resource_in_management_account)
        if why_not is not None:
            rcps_apply = False
            notes.append(why_not)

    def decide(reason: Reason, deciding: list[Match]) -> Decision:
        allowed = reason == "allowed"
        return Decision(allowed, "allow" if allowed else "deny", reason, deciding, request, tuple(notes))

    # 1. Explicit deny, in any applicable policy.
    denies: list[Match] = []
    if scps_apply and levels is not None:
        for i, level in enumerate(levels):
            for policy_statements in level:
                denies += [st.match(i, _level_name(i, len(levels))) for st in policy_statements
                           if st.effect == "Deny" and _applies(st, request, ctx)]
    if rcps_apply and rcps is not None:
        for i, level in enumerate(rcps):
            for policy_statements in level:
                denies += [st.match(i, _rcp_level_name(i, len(rcps))) for st in policy_statements
                           if st.effect == "Deny" and _applies(st, request, ctx)]
    denies += [st.match() for st in resources
               if st.effect == "Deny" and _deny_names(st, caller, bounds is not None)
               and _applies(st, request, ctx)]
    denies += [st.match() for st in identities if st.effect == "Deny" and _applies(st, request, ctx)]
    if bounds is not None:
        denies += [st.match() for st in bounds if st.effect == "Deny" and _applies(st, request, ctx)]
    if denies:
        return decide("explicit-deny", denies)

    # 2. Every SCP level must allow: a level without a matching Allow denies.
    if scps_apply and levels is not None:
        for i, level in enumerate(levels):
            name = _level_name(i, len(levels))
            allowed_here = any(st.effect == "Allow" and _applies(st, request, ctx)
                               for policy_statements in level for st in policy_statements)
            if not allowed_here:
                policies = scp_levels[i] if scp_levels is not None else ()
                lacking = [Match(p.name, "scp", None, None, i, name) for p in policies]
                if not lacking:
                    notes.append(f"No SCP is attached at {name}.")
                return decide("scp-implicit-deny", lacking)

    # 2b. Likewise every RCP level above the resource (RCPFullAWSAccess allows everything).
    if rcps_apply and rcps is not None:
        for i, level in enumerate(rcps):
            name = _rcp_level_name(i, len(rcps))
            if not any(st.effect == "Allow" and _applies(st, request, ctx)
                       for policy_statements in level for st in policy_statements):
                policies = rcp_levels[i] if rcp_levels is not None else ()
                lacking = [Match(p.name, "rcp", None, None, i, name) for p in policies]
                if not lacking:
                    notes.append(f"No RCP is attached at {name}.")
                return decide("rcp-implicit-deny", lacking)

    # 3. Same-account resource-based policies.
    best: GrantKind = "none"
    grants: list[Match] = []
    for st in resources:
        if st.effect != "Allow":
            continue
        kind = _grant_kind(st, caller)
        if kind == "none" or not _applies(st, request, ctx):
            continue
        if _RANK[kind] > _RANK[best]:
            best, grants = kind, []
        if kind == best:
            grants.append(st.match())
    if best == "direct":
        notes.append("A resource-based policy grants the caller directly, so implicit denies in "
                     "identity-based policies and the permissions boundary do not matter.")
        return decide("allowed", grants)

    # 4. The root user has full access unless something denies it.
    if caller.kind == "root":
        notes.append("The account root user needs no identity-based allow.")
        return decide("allowed", [])

    # 5. Identity-based policies (or a resource-based grant to the role ARN) must allow.
    identity_allows = [st.match() for st in identities if st.effect == "Allow" and _applies(st, request, ctx)]
    if best == "role":
        notes.append("A resource-based policy grants the role ARN, which stands in for an "
                     "identity-based allow but stays capped by the permissions boundary.")
        identity_allows = grants + identity_allows
    if not identity_allows:
        searched = [Match(p.name, "identity", None, None) for p in identity]
        if best == "account":
            notes.append("A resource-based policy names the account, which only delegates to the "
                         "account's identity-based policies.")
        return decide("no-allow", searched)

    # 6. The permissions boundary must allow too.
    if bounds is not None and boundary is not None:
        boundary_allows = [st.match() for st in bounds if st.effect == "Allow" and _applies(st, request, ctx)]
        if not boundary_allows:
            return decide("boundary-implicit-deny", [Match(boundary.name, "boundary", None, None)])
        identity_allows += boundary_allows
    return decide("allowed", identity_allows)
