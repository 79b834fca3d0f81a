"""GG5xx rules. Condition logic: set operators, operator/key type mismatches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ... import iamcatalog
from ..model import ALL, FITS, OPERATOR_FAMILY, OPERATORS_DOC, Cond, Doc, Hit, Rule
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
)
