"""GG5xx rules. Condition logic: set operators, operator/key type mismatches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ... import iamcatalog
from ..model import (
    ALL,
    FITS,
    OPERATOR_FAMILY,
    OPERATORS_DOC,
    Cond,
    Doc,
    Hit,
    Rule,
    Stmt,
    matching_arn_formats,
    placeholders,
)
from .grants import allows

if TYPE_CHECKING:
    pass

# -- rules: condition logic ------------------------------------------------------------------------

def _check_set_operator_single(doc: Doc) -> Iterator[Hit]:
    for s in doc.statements:
        for c in s.conditions:
            kind = doc.key_type(c.key) if c.set_op else None
            if kind is not None and not kind.multivalued:
                yield c.pointer, (f"{c.set_op} on {c.key!r}, which holds a single value: "
                                  f"use {c.operator.split(':', 1)[1]} without the set operator")


def _check_for_all_values_allow(doc: Doc) -> Iterator[Hit]:
    for s in allows(doc):
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
    family = OPERATOR_FAMILY[c.base]
    kind = doc.key_type(c.key)
    if family in ("Null", "Binary") or kind is None:
        return None
    if kind.types & FITS[family]:
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



# Operators that are true when their key is missing (the negation of a comparison that fails).
_NEGATED = frozenset({"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals",
                      "ArnNotLike", "NotIpAddress", "NumericNotEquals", "DateNotEquals"})
_GREATER = frozenset({"NumericGreaterThan", "NumericGreaterThanEquals"})


def _denies(doc: Doc) -> Iterator[Stmt]:
    return (s for s in doc.statements if s.effect == "Deny")


def _null_guarded(s: Stmt, key: str, value: str) -> bool:
    """Tell whether the statement has ``"Null": {key: value}``."""
    return any(c.base == "Null" and c.key.lower() == key.lower()
               and any(v.lower() == value for v in c.values) for c in s.conditions)


def _skips_absent(c: Cond) -> bool:
    """A test that means "missing or insufficient" but needs its key present to match."""
    if c.if_exists or c.set_op:
        return False
    key = c.key.lower()
    if key == "aws:multifactorauthpresent":
        return c.base == "Bool" and any(v.lower() == "false" for v in c.values)
    return key == "aws:multifactorauthage" and c.base in _GREATER


def _check_deny_skips_absent(doc: Doc) -> Iterator[Hit]:
    # Another Deny that catches the absent key ("Null": {key: "true"}) closes the gap.
    caught = {c.key.lower() for s in _denies(doc) for c in s.conditions
              if c.base == "Null" and any(v.lower() == "true" for v in c.values)}
    for s in _denies(doc):
        for c in s.conditions:
            if _skips_absent(c) and c.key.lower() not in caught:
                why = iamcatalog.ABSENT_KEYS[c.key.lower()].when
                yield c.pointer, (f"{c.operator} on {c.key!r} needs the key to be present, but "
                                  f"{why}: this Deny never applies to them; use "
                                  f"{c.operator}IfExists (or add a Deny with \"Null\": "
                                  f"{{\"{c.key}\": \"true\"}})")


def _covers(c: Cond, value: str, text: str) -> bool:
    """Tell whether one value of a negated test matches ``text`` (the test then spares it)."""
    if c.base in ("StringNotLike", "ArnNotLike", "ArnNotEquals"):
        return iamcatalog.glob_match(value, text)
    if c.base == "StringNotEqualsIgnoreCase":
        return value.lower() == text.lower()
    return value == text


def _covered(s: Stmt, service: str) -> list[tuple[str, str]] | None:
    """The (action, resource type) pairs of ``service`` that the statement's Action and Resource
    cover ("" for an action that takes no resource); None when that cannot be known."""
    if "NotAction" in s.data or "Action" not in s.data:
        return None
    actions: list[str] = []
    for value, _ in s.strings("Action"):
        if value == "*":
            value = f"{service}:*"
        matched = iamcatalog.expand(value) if not placeholders(value) else ()
        if not matched:
            return None
        actions += [a for a in matched if a.partition(":")[0].lower() == service]
    resources = [v for v, _ in s.strings("Resource")]
    every = "NotResource" in s.data or "*" in resources
    arns = {f for v in resources if not placeholders(v) for f in matching_arn_formats(v)}
    pairs: list[tuple[str, str]] = []
    for action in dict.fromkeys(actions):
        types = iamcatalog.action_resources(action) or (("", ()),)
        pairs += [(action, t) for t, formats in types if every or arns & set(formats)]
    return pairs


def _check_negated_absent(doc: Doc) -> Iterator[Hit]:
    for s in _denies(doc):
        for c in s.conditions:
            if c.base not in _NEGATED or c.set_op or placeholders(c.key) \
                    or _null_guarded(s, c.key, "false"):
                continue
            key = c.key.lower()
            fix = f"add \"Null\": {{\"{c.key}\": \"false\"}} to the statement"
            documented = iamcatalog.ABSENT_KEYS.get(key)
            if documented is not None:
                # Only a test that lists what the missing key stands for contradicts itself: a
                # region list without us-east-1 means to deny us-east-1 buckets anyway.
                means = documented.means
                listed = [v for v in c.values if means and _covers(c, v, means)]
                if listed:
                    yield c.pointer, (f"{c.operator} on {c.key!r} spares {listed[0]!r}, but "
                                      f"{documented.when}: the key is missing, the test is true and "
                                      f"this Deny denies those requests after all; {fix}")
                continue
            service = key.partition(":")[0]
            # ...IfExists says the author knows the key can be missing and wants the test to
            # hold then: an exemption that does not apply where the key cannot exist.
            pairs = _covered(s, service) if service != "aws" and not c.if_exists else None
            if not pairs:
                continue
            lacking = [p for p in pairs if not iamcatalog.key_in_context(p[0], p[1], c.key)]
            if lacking and len(lacking) < len(pairs):
                shown = ", ".join(f"{a} on {t or 'no resource'}" for a, t in lacking[:2])
                more = f" and {len(lacking) - 2} more" if len(lacking) > 2 else ""
                yield c.pointer, (f"{c.operator} is true when {c.key!r} is missing, and the "
                                  f"catalog lists no such key for {shown}{more}: for those "
                                  "requests the test always holds, so this Deny denies them "
                                  f"whatever the value was meant to allow; {fix}, or narrow the "
                                  "Resource to the resource types that carry the key")


def _check_multivalued_without_set(doc: Doc) -> Iterator[Hit]:
    for s in doc.statements:
        for c in s.conditions:
            kind = doc.key_type(c.key) if not c.set_op and c.base not in (None, "Null") else None
            if kind is not None and kind.multivalued:
                yield c.pointer, (f"{c.key!r} holds a set of values, tested with {c.operator} "
                                  "without a set operator: say which values must match with "
                                  f"ForAnyValue:{c.operator} (at least one) or "
                                  f"ForAllValues:{c.operator} (every one)")


RULES: tuple[Rule, ...] = (
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
         OPERATORS_DOC, _check_operator_type),
    Rule("GG504", "string-operator-on-arn-key", "String operator on an ARN key", "warning", ALL,
         "AWS accepts a String operator on an ARN-typed key but compares plain text: StringLike's "
         "* then spans the colons between ARN parts. AWS recommends the Arn operators.",
         OPERATORS_DOC + "#Conditions_ARN", _check_string_on_arn),
    Rule("GG505", "deny-skips-requests-without-key",
         "Deny condition never applies to requests that lack its key", "error", ALL,
         "Some keys are missing from a whole class of requests: requests signed with long-term "
         "access keys carry no aws:MultiFactorAuthPresent, requests without MFA no "
         "aws:MultiFactorAuthAge. A Deny testing Bool aws:MultiFactorAuthPresent false (or "
         "NumericGreaterThan aws:MultiFactorAuthAge) needs the key to be present, so it never "
         "denies those requests: the access keys it was meant to stop go through. Use "
         "BoolIfExists (NumericGreaterThanIfExists), or a second Deny with Null true on the key; "
         "a Deny of the document with that Null test spares this one.",
         iamcatalog.ABSENT_KEYS_SOURCES[0], _check_deny_skips_absent),
    Rule("GG506", "negated-test-on-absent-key", "Negated condition in a Deny also matches requests "
         "without the key", "warning", ALL,
         "StringNotEquals, StringNotLike, ArnNotLike, NotIpAddress and the other negated operators "
         "are true when the key is missing. On a key that many "
         "requests lack, the Deny then denies all of them: StringNotLike on s3:LocationConstraint "
         "listing us-east-1 still denies every bucket created there, which sends none; "
         "StringNotEquals on "
         "ec2:InstanceType for ec2:RunInstances on Resource '*' also denies the image, subnet and "
         "security-group parts of every launch, which carry no instance type. Keys come from a "
         "short documented list and, for service keys, from the catalog's keys per action and "
         "resource type; for the latter, ...IfExists says the test is meant to hold where the key "
         "is missing and is not reported. Add \"Null\": {key: \"false\"} or narrow the Resource.",
         iamcatalog.ABSENT_KEYS_SOURCES[1], _check_negated_absent),
    Rule("GG507", "multivalued-key-without-set-operator", "Multivalued key tested without a set operator",
         "warning", ALL,
         "Keys such as aws:TagKeys, aws:CalledVia, aws:PrincipalOrgPaths and service keys the "
         "catalog types ArrayOf... hold a set of values. AWS documents set operators for them: "
         "ForAnyValue: (at least one value matches) or ForAllValues: (every value does). Without "
         "one, what the test means for a request with several values is not what a reader "
         "expects.", iamcatalog.MULTIVALUED_SOURCE, _check_multivalued_without_set),
)
