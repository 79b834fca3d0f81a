"""The document model the rules read: inputs, options, findings, rules, statements, conditions."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .. import iamcatalog
from ..documents import minify
from ..evaluate import is_policy_variable
from ..iamcatalog import KeyType
from ..limits import SCP_MAX_BYTES

if TYPE_CHECKING:
    pass

Kind = Literal["scp", "rcp", "identity", "boundary", "trust", "resource", "key"]
Severity = Literal["error", "warning", "info"]

KINDS: tuple[Kind, ...] = ("scp", "rcp", "identity", "boundary", "trust", "resource", "key")
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error")  # ascending
RANK = {s: n for n, s in enumerate(SEVERITIES)}
ALL: frozenset[Kind] = frozenset(KINDS)
PRINCIPAL_KINDS: frozenset[Kind] = frozenset({"trust", "resource", "key", "rcp"})

# Quotas. SCPs: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html
# (10,240 characters since 2026-05-15, 5,120 before; UTF-8 bytes of the minified JSON is the
# safe count). IAM: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html

POLICY_VERSION = "2012-10-17"
TOP_KEYS = frozenset({"Version", "Id", "Statement"})
STATEMENT_KEYS = frozenset({"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
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
OPERATOR_FAMILY = {op: fam for fam, ops in _FAMILIES.items() for op in ops}
_CANONICAL = {op.lower(): op for op in OPERATOR_FAMILY}
# Key types each operator family fits. ARN operators also fit String keys: many keys the catalog
# types String hold ARNs, and AWS's own examples compare them with ArnEquals (for example
# kms:EncryptionContext:aws:logs:arn in CloudWatch Logs key policies).
FITS = {"String": {"String"}, "Numeric": {"Numeric"}, "Date": {"Date"}, "Bool": {"Bool"},
         "IPAddress": {"IPAddress"}, "ARN": {"ARN", "String"}}
# Operators that only pass when the key is present and matches (without IfExists).
POSITIVE_OPERATORS = frozenset({"StringEquals", "StringLike", "StringEqualsIgnoreCase", "ArnEquals",
                                "ArnLike"})
_POSITIVE = POSITIVE_OPERATORS

# Actions a role trust policy allows (and nothing else does).
TRUST_SESSION_ACTIONS = frozenset({"sts:tagsession", "sts:setsourceidentity", "sts:setcontext"})
ASSUME = "sts:assumerole"
OIDC_PROVIDER_ARN = re.compile(r"arn:aws[a-z-]*:iam::[^:]*:oidc-provider/(.+)", re.IGNORECASE)
ROOT_PRINCIPAL = re.compile(r"(arn:aws[a-z-]*:iam::)?(\d{12})(:root)?")
ACTION_SHAPE = re.compile(r"[A-Za-z0-9*?-]+:[A-Za-z0-9*?_-]+")

SCP_EXAMPLES_DOC = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_examples.html"
GRAMMAR_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html"
OPERATORS_DOC = ("https://docs.aws.amazon.com/IAM/latest/UserGuide/"
              "reference_policies_elements_condition_operators.html")
SAR_DOC = ("https://docs.aws.amazon.com/service-authorization/latest/reference/"
        "reference_policies_actions-resources-contextkeys.html")
BEST_PRACTICES_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html"



# Template placeholders a policy can be left with: ${Name} that is no policy variable (checked
# with the evaluator's own test, so lint and evaluation agree on what never resolves), <name>,
# [NAME], {{ name }} and {name}. Each needs a letter first, so IPv6 literals, JSON in condition
# values and ARN wildcards do not look like one.
_PLACEHOLDER = re.compile(r"\$\{(?P<var>[^}]*)\}|<[A-Za-z][\w .:/-]*>|\[[A-Za-z][\w -]*\]"
                          r"|\{\{[^{}]*\}\}|(?<![$\w])\{[A-Za-z_][\w.-]*\}")


# What every placeholder above starts with. JSON escapes none of these characters, so a
# document whose JSON text has none of them holds no placeholder in any string (the brackets
# and braces of JSON itself only ever make it say "maybe").
_PLACEHOLDER_START = re.compile(r"\$\{|<[A-Za-z]|\[[A-Za-z]|\{\{|\{[A-Za-z_]")


@functools.lru_cache(maxsize=65536)
def placeholders(text: str) -> tuple[str, ...]:
    """The template placeholders in a policy string, policy variables (``${aws:username}``) and
    their escapes (``${*}``) excluded."""
    return tuple(m.group() for m in _PLACEHOLDER.finditer(text)
                 if m.group("var") is None or not is_policy_variable(m.group("var")))


# -- ARN formats, shared among ARNs that differ only in digits ---------------------------------

_DIGIT = re.compile(r"[0-9]")


@functools.cache
def _digit_free_parts(service: str) -> frozenset[int]:
    """The ARN parts (partition 1, region 3, account 4, resource 5) where no ARN format of the
    service has a digit, placeholders' names included."""
    formats = [f.split(":", 5) for f in iamcatalog.arn_formats().get(service, ())]
    return frozenset(k for k in (1, 3, 4, 5)
                     if not any(len(f) == 6 and _DIGIT.search(f[k]) for f in formats))


@functools.lru_cache(maxsize=65536)
def matching_arn_formats(arn: str) -> tuple[str, ...]:
    """:func:`iamcatalog.matching_arn_formats`, one answer for ARNs that differ only in digits
    where no format of their service has one (artifacts-1/*, artifacts-2/*...: an
    organization's thousands of accounts each name their own resources).

    Exact: each part is compared with the formats' as a glob, case-insensitively; a digit of
    the ARN there can only meet a wildcard of a format, which takes any digit alike. ARNs with
    a policy variable are passed on as they are.
    """
    parts = arn.split(":", 5)
    if len(parts) == 6 and "$" not in arn and _DIGIT.search(arn):
        free = _digit_free_parts(parts[2].lower())
        arn = ":".join(_DIGIT.sub("0", p) if k in free else p for k, p in enumerate(parts))
    return iamcatalog.matching_arn_formats(arn)


# -- public data --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Unreadable:
    """Why a file could not be linted as a policy (not readable, not UTF-8, not JSON), and where
    in its text, when known."""

    message: str
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class LintInput:
    """One policy document to lint.

    ``path`` is how findings name it (a file, or ``terraform/<path>`` for a plan's documents);
    ``text``, when given, is the file's exact text, used only to turn JSON pointers into lines.
    ``unreadable`` marks a file that could not be parsed: it gets a GG004 finding and nothing else.
    """

    path: str
    kind: Kind
    document: Any
    where: str = ""  # what produced it, in the config's words (plan linting)
    text: str | None = None
    kind_reason: str = ""  # why the kind was chosen (given, inferred from...)
    unreadable: Unreadable | None = None


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
    source: str = ""  # the documentation behind the rule


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

def escape_token(token: str) -> str:
    if "~" not in token and "/" not in token:  # nearly every token: nothing to escape
        return token
    return token.replace("~", "~0").replace("/", "~1")


def as_list(value: Any) -> list[Any]:
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


def scalar(value: Any) -> str:
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
    """One statement (a JSON object) of a policy and its pointer.

    What the rules ask of it again and again (its strings, conditions, actions) is worked out
    once; callers only read the lists they get.
    """

    def __init__(self, data: dict[str, Any], pointer: str) -> None:
        self.data = data
        self.pointer = pointer
        effect = data.get("Effect")
        self.effect = effect if isinstance(effect, str) else None
        self._strings: dict[str, list[tuple[str, str]]] = {}
        self._actions: list[tuple[str, str, str, str]] | None = None
        self._arns: dict[str, list[tuple[str, list[str], str]]] = {}
        self.conditions: list[Cond] = self._conditions() if "Condition" in data else []

    def at(self, *tokens: str | int) -> str:
        """The pointer of something inside the statement."""
        return self.pointer + "".join("/" + escape_token(str(t)) for t in tokens)

    def strings(self, element: str) -> list[tuple[str, str]]:
        """The string values of Action/NotAction/Resource/NotResource with their pointers."""
        found = self._strings.get(element)
        if found is None:
            value = self.data.get(element)
            if isinstance(value, list):
                at = self.at(element)
                found = [(v, f"{at}/{n}") for n, v in enumerate(value) if isinstance(v, str)]
            else:
                found = [(value, self.at(element))] if isinstance(value, str) else []
            self._strings[element] = found
        return found

    def actions(self) -> list[tuple[str, str, str, str]]:
        """(action, prefix, name, pointer) for every well-formed service:Action value of Action
        and NotAction; values with a template placeholder are left to GG003."""
        if self._actions is None:
            self._actions = [
                (value, prefix, name, pointer)
                for element in ("Action", "NotAction") for value, pointer in self.strings(element)
                for prefix, sep, name in (value.partition(":"),)
                if value != "*" and sep and prefix and name and not placeholders(value)]
        return self._actions

    def arns(self, element: str) -> list[tuple[str, list[str], str]]:
        """(arn, six parts, pointer) for the ARNs of Resource or NotResource whose service is
        literal; values with a template placeholder are left to GG003."""
        found = self._arns.get(element)
        if found is None:
            found = self._arns[element] = [
                (value, parts, pointer) for value, pointer in self.strings(element)
                if value.startswith("arn:") and not placeholders(value)
                for parts in (value.split(":", 5),)
                if len(parts) == 6 and parts[2] and "*" not in parts[2] and "?" not in parts[2]]
        return found

    def _conditions(self) -> list[Cond]:
        block = self.data.get("Condition")
        out: list[Cond] = []
        if not isinstance(block, dict):
            return out
        for operator, tests in block.items():
            if not isinstance(tests, dict):
                continue
            base, set_op, if_exists = parse_operator(operator)
            at = self.at("Condition", operator)
            for key, value in tests.items():
                values = tuple(scalar(v) for v in as_list(value) if not isinstance(v, (dict, list)))
                out.append(Cond(operator, base, set_op, if_exists, key, values,
                                f"{at}/{escape_token(str(key))}"))
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
        self._minified: str | None = None
        self._key_types: dict[str, KeyType | None] = {}
        self.statements: list[Stmt] = []
        statements = item.document.get("Statement") if isinstance(item.document, dict) else None
        if isinstance(statements, dict):
            self.statements = [Stmt(statements, "/Statement")]
        elif isinstance(statements, list):
            self.statements = [Stmt(s, f"/Statement/{n}") for n, s in enumerate(statements)
                               if isinstance(s, dict)]

    @property
    def minified(self) -> str:
        """The document as AWS stores it (compact JSON), for the rules that measure or scan it."""
        if self._minified is None:
            self._minified = minify(self.document)
        return self._minified

    @property
    def may_hold_placeholders(self) -> bool:
        """False when no string of the document can hold a template placeholder: most documents,
        which then need no string-by-string search."""
        try:
            return _PLACEHOLDER_START.search(self.minified) is not None
        except (TypeError, ValueError, RecursionError):  # not JSON data: search every string
            return True

    @functools.cached_property
    def providers(self) -> frozenset[str]:
        """The OIDC providers (lower-cased host and path) the document's principals federate."""
        out = set()
        for s in self.statements:
            for value, _ in s.principals("Federated"):
                m = OIDC_PROVIDER_ARN.fullmatch(value)
                if m:
                    out.add(m.group(1).lower())
        return frozenset(out)

    def key_type(self, key: str) -> KeyType | None:
        """The type of a condition key here: catalog keys, plus the claims of trusted providers."""
        # Several rules ask about every key: answered once per document.
        if key not in self._key_types:
            self._key_types[key] = (iamcatalog.condition_key_type(key)
                                    or iamcatalog.oidc_claim_type(key, self.providers))
        return self._key_types[key]
