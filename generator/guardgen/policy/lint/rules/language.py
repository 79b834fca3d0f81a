"""GG0xx rules. The policy language itself: AWS would reject the document, or read it differently."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..model import (
    ACTION_SHAPE,
    ALL,
    GRAMMAR_DOC,
    POLICY_VERSION,
    PRINCIPAL_KINDS,
    STATEMENT_KEYS,
    TOP_KEYS,
    Doc,
    Hit,
    Kind,
    Rule,
    Stmt,
    Unreadable,
    as_list,
    escape_token,
    placeholders,
)

if TYPE_CHECKING:
    pass

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
        if key not in TOP_KEYS:
            yield "/" + escape_token(key), (f"unknown top-level element {key!r} "
                                            "(allowed: Version, Id, Statement)")
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
    parsed = iter(doc.statements)  # the same statement objects, in order, with these pointers
    for s, pointer in zip(statements, pointers, strict=True):
        if not isinstance(s, dict):
            yield pointer, "a statement must be a JSON object"
            continue
        yield from _statement_grammar(next(parsed), doc.kind)


def _statement_grammar(s: Stmt, kind: Kind) -> Iterator[Hit]:
    data = s.data
    if not STATEMENT_KEYS.issuperset(data):
        for key in data:
            if key not in STATEMENT_KEYS:
                yield s.at(key), f"unknown statement element {key!r}"
    if data.get("Effect") not in ("Allow", "Deny"):
        yield s.at("Effect") if "Effect" in data else s.pointer, \
            f"Effect must be Allow or Deny, not {data.get('Effect')!r}"
    if ("Action" in data) == ("NotAction" in data):
        yield s.pointer, "a statement needs exactly one of Action and NotAction"
    if "Resource" in data and "NotResource" in data:
        yield s.pointer, "a statement cannot have both Resource and NotResource"
    has_principal = "Principal" in data or "NotPrincipal" in data
    if kind in PRINCIPAL_KINDS and not has_principal:
        yield s.pointer, f"a statement of a {kind} policy needs a Principal"
    if kind not in PRINCIPAL_KINDS and has_principal:
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
        # Well-formed values, nearly all of them, need no placeholder search; a value with a
        # placeholder is GG003's.
        if element.endswith("Action"):
            for value, pointer in s.strings(element):
                if value != "*" and not ACTION_SHAPE.fullmatch(value) and not placeholders(value):
                    yield pointer, f"action {value!r} is not of the form service:Action"
        else:
            for value, pointer in s.strings(element):
                if value != "*" and not value.startswith("arn:") and not placeholders(value):
                    yield pointer, (f"resource {value!r} is neither '*' nor an ARN "
                                    "(arn:partition:service:...)")
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
                    if any(isinstance(v, (dict, list)) for v in as_list(value)) or value == []:
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



def _strings_with_pointers(s: Stmt) -> Iterator[tuple[str, str, str]]:
    """(what, value, pointer) for every string of a statement a placeholder can hide in."""
    for element in ("Action", "NotAction", "Resource", "NotResource"):
        for value, pointer in s.strings(element):
            yield element.lower().removeprefix("not"), value, pointer
    for element in ("Principal", "NotPrincipal"):
        principal = s.data.get(element)
        if isinstance(principal, str):
            yield "principal", principal, s.at(element)
        elif isinstance(principal, dict):
            for kind, value in principal.items():
                for n, v in enumerate(as_list(value)):
                    if isinstance(v, str):
                        tail = (n,) if isinstance(value, list) else ()
                        yield "principal", v, s.at(element, kind, *tail)
    for c in s.conditions:
        yield "key", c.key, c.pointer
        raw = s.data["Condition"][c.operator][c.key]
        if isinstance(raw, list):
            for n, v in enumerate(raw):
                if isinstance(v, str):
                    yield "value", v, f"{c.pointer}/{n}"
        elif isinstance(raw, str):
            yield "value", raw, c.pointer


_EFFECT = {
    "action": "no request has that action, so the entry grants or denies nothing",
    "resource": "no resource has that ARN, so the entry matches nothing",
    "principal": "AWS rejects a principal it cannot resolve, or trusts no one through it",
    "key": "no request carries that key, so the test never matches",
    "value": "no request value equals it, so the test never matches as intended (an exemption "
             "with it spares no one)",
}


def _check_placeholders(doc: Doc) -> Iterator[Hit]:
    if not doc.may_hold_placeholders:
        return
    for s in doc.statements:
        for what, value, pointer in _strings_with_pointers(s):
            found = placeholders(value)
            if found:
                yield pointer, (f"{what} {value!r} holds the template placeholder {found[0]!r}, "
                                f"which is not an IAM policy variable and is never filled in: "
                                f"{_EFFECT[what]}; substitute the real value")


def _check_unreadable(doc: Doc) -> Iterator[Hit]:
    problem: Unreadable | None = doc.input.unreadable
    if problem is not None:
        yield "", f"{problem.message}; nothing else in the file was checked"


RULES: tuple[Rule, ...] = (
    Rule("GG001", "invalid-policy", "The document is not a valid policy of its type", "error", ALL,
         "AWS rejects the document, or its type cannot carry it: unknown elements, an Effect other "
         "than Allow/Deny, both or neither of Action/NotAction, values that are not strings, an "
         "action without its service prefix, a resource that is neither '*' nor an ARN, a Principal "
         "in an SCP, identity policy or boundary (or none in a trust, resource or key policy), a "
         "Resource in a trust policy.", GRAMMAR_DOC, _check_grammar),
    Rule("GG002", "old-policy-version", "Version 2012-10-17 is missing", "warning", ALL,
         "Without \"Version\": \"2012-10-17\" (or with 2008-10-17) policy variables such as "
         "${aws:username} are plain text, so a statement meant to scope access per user matches "
         "nothing or the literal string.",
         "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html",
         _check_version),
    Rule("GG003", "unresolved-placeholder", "A value still holds a template placeholder", "error", ALL,
         "Text such as ${PARTITION}, ${ACCELERATOR_PREFIX}, ${AWS::AccountId}, [ROLE], <my-vpc>, "
         "{{ name }} or {account} was meant to be replaced before deployment. AWS substitutes only "
         "policy variables (${aws:username}, ${aws:PrincipalTag/team}, any ${service:key}, and "
         "${*}, ${?}, ${$}); everything else stays as it is and matches nothing: an Allow grants "
         "nothing through that value and a Deny's exemption spares no one (guardgen verify reads "
         "it the same way). Checked in actions, resources, principals and condition keys and "
         "values; other rules leave such values to this one.",
         "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html",
         _check_placeholders),
)

UNREADABLE = Rule(
    "GG004", "unreadable-file", "The file is not a readable JSON document", "error", ALL,
    "The file could not be read, is not UTF-8 text, or is not valid JSON (AWS rejects such a "
    "policy). The finding names the line and column JSON parsing stopped at; the run goes on "
    "with the other files.", GRAMMAR_DOC, _check_unreadable)

RULES += (UNREADABLE,)
