"""The engine: infer a document's type, run every rule that applies, say whether findings fail."""

from __future__ import annotations

import marshal
import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ... import forked
from .model import (
    ASSUME,
    KINDS,
    RANK,
    TRUST_SESSION_ACTIONS,
    Doc,
    Finding,
    Kind,
    LintInput,
    LintOptions,
    Rule,
    Severity,
    Unreadable,
    as_list,
)
from .positions import locate, positions
from .rules import REGISTRY
from .rules.language import UNREADABLE

if TYPE_CHECKING:
    pass

# -- type inference --------------------------------------------------------------------------------

_SCP_PATH = re.compile(r"(^|[^a-z])scps?([^a-z]|$)|service[-_ ]?control[-_ ]?polic")
_BOUNDARY_PATH = re.compile(r"boundar(y|ies)")


def _statement_objects(document: Any) -> list[dict[str, Any]]:
    statements = document.get("Statement") if isinstance(document, dict) else None
    return [s for s in as_list(statements) if isinstance(s, dict)] if statements is not None else []


def infer_kind(document: Any, path: str = "") -> tuple[Kind, str]:
    """Guess a policy file's type, conservatively, and say why.

    Args:
        document: The parsed JSON.
        path: The file's path; only its directory and file names are read.

    Returns:
        The type and a short reason shown in reports (``inferred: ...`` or ``default: ...``).

    A Principal makes it a trust policy (when every action is sts:AssumeRole* or a session
    option), a key policy (every action kms:) or a resource policy. Without one, the path makes
    it an SCP (a component naming scp, scps or service-control-policies) or a boundary (naming a
    boundary); failing that, a document whose every statement is a Deny is an SCP: the shape of
    a guardrail, and the rules that differ for an SCP (its size limit, break-glass exemptions)
    are the ones such a document needs. Anything else is an identity policy: FullAWSAccess's
    Allow * on * is also an administrator identity policy, which must not escape the identity
    rules by being taken for an SCP. A wrong guess shows as findings that do not fit; --type
    settles it.
    """
    statements = _statement_objects(document)
    if any("Principal" in s or "NotPrincipal" in s for s in statements):
        actions = [a.lower() for s in statements for a in as_list(s.get("Action", []))
                   if isinstance(a, str)]
        if actions and any(a.startswith(ASSUME) for a in actions) and all(
                a.startswith(ASSUME) or a in TRUST_SESSION_ACTIONS for a in actions):
            return "trust", "inferred: names a Principal and allows only sts:AssumeRole* actions"
        if actions and all(a.startswith("kms:") for a in actions):
            return "key", "inferred: names a Principal and only kms: actions"
        return "resource", "inferred: names a Principal"
    parts = [p.lower() for p in re.split(r"[\\/]", path) if p]
    if any(_SCP_PATH.search(p) for p in parts):
        return "scp", "inferred: the path names an SCP"
    if any(_BOUNDARY_PATH.search(p) for p in parts):
        return "boundary", "inferred: the path names a permission boundary"
    if statements and all(s.get("Effect") == "Deny" for s in statements):
        return "scp", "inferred: every statement is a Deny and none names a Principal"
    return "identity", "default: no Principal, nothing marks it as an SCP or boundary (use --type)"



# -- the engine ------------------------------------------------------------------------------------

def applies(rule: Rule, kind: Kind) -> bool:
    """Tell whether a rule checks documents of this type."""
    return kind in rule.applies_to


_Placed = tuple[Rule, str, str, int | None, int | None]  # rule, pointer, message, line, column

# The rules of each type, in registry order.
_RULES: dict[Kind, tuple[Rule, ...]] = {k: tuple(r for r in REGISTRY if applies(r, k)) for k in KINDS}
_BY_ID = {r.id: r for r in (*REGISTRY, UNREADABLE)}
# From this many distinct documents, a forked child checks half of them.
_FORK_FROM = 2_000


def _own_text(item: LintInput) -> str | None:
    return item.text


def _shape(document: Any) -> object:
    """What tells documents apart for the rules: their types, values and key order, which
    equality blurs (1, 1.0 and True; lists and tuples). marshal writes plain data that way, and
    fast; repr covers other types."""
    try:
        return marshal.dumps(document, 0)  # version 0: no references, nothing interned
    except ValueError:  # not plain data, or nested too deep for it
        pass
    try:
        return repr(document)
    except RecursionError:  # nesting that json.loads took just below the limit: not shared
        return object()


def _check(item: LintInput, options: LintOptions) -> list[tuple[Rule, str, str]]:
    """(rule, pointer, message) for every problem of one document."""
    doc = Doc(item, options)
    # An unreadable file has no document: only the rule that says so looks at it.
    rules = (UNREADABLE,) if item.unreadable else _RULES[item.kind]
    return [(rule, pointer, message) for rule in rules for pointer, message in rule.check(doc)]


def _place(found: list[tuple[Rule, str, str]], text: str | None,
           unreadable: Unreadable | None) -> list[_Placed]:
    """A document's findings with their lines and columns, in report order."""
    where = positions(text) if text is not None and not unreadable else {}
    out: list[_Placed] = []
    for rule, pointer, message in found:
        line, column = locate(where, pointer)
        if unreadable:
            line, column = unreadable.line, unreadable.column
        out.append((rule, pointer, message, line, column))
    out.sort(key=lambda f: (f[3] or 0, f[4] or 0, f[1], f[0].id))
    return out


def lint(docs: Sequence[LintInput], options: LintOptions | None = None,
         text: Callable[[LintInput], str | None] | None = None) -> list[Finding]:
    """Run every rule that applies to each document's type over it.

    Pure, given the IAM catalog (loaded on the first rule that asks) and ``text``. A document
    that is not even a policy yields GG001 findings, a file that could not be read one GG004
    finding; no input makes a rule raise.

    Args:
        docs: The documents, each with its type and, optionally, its text (for line numbers).
        options: SCP size limit, break-glass principals and exempt statements; defaults to
            :class:`LintOptions` ().
        text: The text of a document, asked only for documents with findings (their lines and
            columns); by default the input's own ``text``. Lets a caller read only the files
            it needs.

    Returns:
        The findings, in the order of ``docs``, then by line (or JSON pointer), then rule id.
    """
    options = options or LintOptions()
    read = text or _own_text
    # A plan hands the same document object to many inputs: its shape is worked out once. The
    # object is kept with it, so no other one can take its id during the run.
    shapes: dict[int, tuple[Any, object]] = {}
    keys: list[tuple[Any, ...]] = []
    first: dict[tuple[Any, ...], LintInput] = {}
    for item in docs:
        # Findings depend on the type, the document and whether it could be read, never on the
        # path: an organization repeats documents across accounts, and each distinct one is
        # checked once (and placed once per distinct text).
        known = shapes.get(id(item.document))
        if known is None:
            known = shapes[id(item.document)] = (item.document, _shape(item.document))
        key = (item.kind, item.unreadable, known[1])
        keys.append(key)
        first.setdefault(key, item)
    checked = _check_all(list(first.items()), options)
    placed: dict[tuple[Any, ...], list[_Placed]] = {}
    out: list[Finding] = []
    for item, key in zip(docs, keys, strict=True):
        found = checked[key]
        if not found:
            continue
        source = None if item.unreadable else read(item)
        mine = placed.get((key, source))
        if mine is None:
            mine = placed[(key, source)] = _place(found, source, item.unreadable)
        out += [Finding(rule.id, rule.name, rule.severity, message, item.path, pointer,
                        item.where, line, column, rule.source)
                for rule, pointer, message, line, column in mine]
    return out


def _check_all(todo: list[tuple[tuple[Any, ...], LintInput]], options: LintOptions
               ) -> dict[tuple[Any, ...], list[tuple[Rule, str, str]]]:
    """:func:`_check` of each distinct document; many of them are shared between this process
    and a forked child."""
    half = len(todo) // 2
    # Rules go by id: a rule holds functions, which do not cross a pipe.
    with forked.maybe(lambda: [[(rule.id, pointer, message) for rule, pointer, message
                                in _check(item, options)] for _, item in todo[:half]],
                      when=len(todo) >= _FORK_FROM) as theirs:
        checked = {key: _check(item, options) for key, item in todo[half:]}
        for (key, _), found in zip(todo[:half], theirs.result(), strict=True):
            checked[key] = [(_BY_ID[rule], pointer, message) for rule, pointer, message in found]
    return checked


def fails(findings: Iterable[Finding], fail_on: Severity) -> bool:
    """Tell whether any finding is at or above the ``fail_on`` severity."""
    return any(RANK[f.severity] >= RANK[fail_on] for f in findings)
