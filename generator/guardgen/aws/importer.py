"""Import: a fetched organization → the text of a guardgen.yaml that reproduces it. Pure.

What the config gets:

- every OU with its ``id:``, so ``generate`` adopts it with an ``import`` block instead of
  creating a second one;
- every account that sits in an OU, with its id and email;
- each SCP whose statements are exactly one or more catalog guardrails' (the break-glass
  exemption aside) becomes those guardrail ids at the targets it is attached to;
- every other SCP attached to a target guardgen can manage (FullAWSAccess included) counts
  against that target's quota, through ``reserved_scp_slots``.

Names come from AWS and may hold anything (quotes, ``${``, newlines, non-ASCII): every string
value is written by PyYAML's own emitter, double-quoted on one line when it is not a plain word,
and every name quoted in a comment is JSON-escaped to ASCII, so no name can end a comment or
reach a key.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from .. import catalog
from ..config.models import EMAIL, PRINCIPAL_ARN, REGION
from ..errors import GuardgenError
from ..policy.limits import PROFILES
from ..policy.lint import normalized_statement
from .organization import OrgAccount, Organization, OrgPolicy, OrgUnit

_EMAIL = re.compile(EMAIL)

DEFAULT_BREAK_GLASS = "arn:aws:iam::*:role/OrganizationAccountAccessRole"
FULL_ACCESS = "FullAWSAccess"  # the AWS managed SCP that allows everything
MAX_ACCOUNT_NAME = 50  # guardgen.yaml's limit, and AWS's

# Plain words: no indicator first, no ": " or trailing ":" (a key), no " #" (a comment).
_PLAIN = re.compile(r"[A-Za-z0-9]([A-Za-z0-9_.@+/:*-]*[A-Za-z0-9_.@+/*-])?\Z")
_SAFE_QUOTED = re.compile(r'[ !#-\[\]-~]*\Z')  # printable ASCII but " and \
_RESOLVER = yaml.resolver.Resolver()  # how a YAML reader types a plain scalar (int, bool, null...)
_STR = "tag:yaml.org,2002:str"


class ImportInputError(GuardgenError):
    """What ``import`` was given cannot make a valid config (a bad break-glass ARN or region)."""


@dataclass(frozen=True)
class Replaced:
    """An SCP that guardgen will manage from now on, as these guardrails."""

    policy: OrgPolicy
    guardrails: tuple[str, ...]


@dataclass(frozen=True)
class Imported:
    """The config text and what a user must know about it."""

    text: str
    reserved_scp_slots: int
    replaced: tuple[Replaced, ...]  # SCPs that became guardrails
    unmanaged: tuple[OrgPolicy, ...]  # attached SCPs guardgen leaves alone
    notes: tuple[str, ...]  # things to check or do before `guardgen generate`


# -- matching SCPs with catalog guardrails -----------------------------------------------------------

def without_exemption(statement: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A statement without its ``ArnNotLike`` on ``aws:PrincipalArn``, and the principals it spared.

    That condition is where guardgen (and most hand-written guardrails) spare break-glass
    principals; which principals it names is organization policy, not what the guardrail does.
    """
    out = dict(statement)
    condition = out.get("Condition")
    if not isinstance(condition, Mapping):
        return out, ()
    spared: list[str] = []
    kept: dict[str, Any] = {}
    for operator, tests in condition.items():
        if operator == "ArnNotLike" and isinstance(tests, Mapping):
            rest = {}
            for key, values in tests.items():
                if key.lower() == "aws:principalarn":
                    spared += [str(v) for v in (values if isinstance(values, list) else [values])]
                else:
                    rest[key] = values
            if rest:
                kept[operator] = rest
        else:
            kept[operator] = tests
    if kept:
        out["Condition"] = kept
    else:
        out.pop("Condition")
    return out, tuple(spared)


def statements_of(content: str) -> list[Mapping[str, Any]] | None:
    """The statements of a policy document, or None when it is not one guardgen can read."""
    try:
        doc = json.loads(content)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    found = doc.get("Statement")
    found = [found] if isinstance(found, dict) else found
    if not isinstance(found, list) or not found or not all(isinstance(s, dict) for s in found):
        return None
    return found


def _signature(statements: Iterable[Mapping[str, Any]]) -> Counter[str]:
    return Counter(normalized_statement(without_exemption(s)[0]) for s in statements)


@functools.lru_cache(maxsize=64)
def _guardrail_signatures(params: catalog.Params) -> tuple[tuple[str, Counter[str]], ...]:
    # Cached: choose_params tries each candidate on every SCP. Callers never mutate the Counters.
    return tuple((g.id, _signature(catalog.statements(g, params, ())))
            for g in catalog.REGISTRY if not catalog.missing_parameters(g, params))


def match_guardrails(content: str, params: catalog.Params) -> tuple[str, ...]:
    """The catalog guardrails whose statements make up exactly this SCP, or ``()``.

    Statements are compared after :func:`normalized_statement` (no Sid, sorted lists) and
    without the break-glass ``ArnNotLike``. One SCP may hold several guardrails (guardgen packs
    them so); every statement must belong to one of them, or nothing matches.

    Args:
        content: The SCP's JSON text.
        params: The organization's guardrail parameters (allowed regions, IMDS hop limit).

    Returns:
        Guardrail ids in registry order.
    """
    found = statements_of(content)
    if found is None:
        return ()
    left = _signature(found)
    matched = []
    for gid, signature in _guardrail_signatures(params):
        if all(left[s] >= n for s, n in signature.items()):
            left -= signature
            matched.append(gid)
    return tuple(matched) if matched and not left else ()


def _candidate_params(policies: Iterable[OrgPolicy]) -> list[catalog.Params]:
    """Every combination of the parameter values the SCPs' statements mention, defaults first."""
    regions: dict[tuple[str, ...] | None, None] = {None: None}
    hops: dict[int, None] = {catalog.Params().imds_max_hop_limit: None}
    for p in policies:
        for s in statements_of(p.content) or ():
            condition = s.get("Condition")
            if not isinstance(condition, Mapping):
                continue
            for tests in condition.values():
                if not isinstance(tests, Mapping):
                    continue
                for key, values in tests.items():
                    values = values if isinstance(values, list) else [values]
                    if key.lower() == "aws:requestedregion":
                        regions[tuple(sorted(str(v) for v in values))] = None
                    elif key.lower() == "ec2:metadatahttpputresponsehoplimit" and len(values) == 1:
                        try:
                            hop = int(str(values[0]))
                        except ValueError:
                            continue
                        if 1 <= hop <= 64:
                            hops[hop] = None
    return [catalog.Params(allowed_regions=r, imds_max_hop_limit=h)
            for r, h in itertools.product(regions, hops)]


def choose_params(org: Organization) -> catalog.Params:
    """The guardrail parameters under which the most SCP attachments are catalog guardrails.

    A config has one value per parameter for the whole organization; SCPs written with another
    value stay unmanaged (the import notes say so).
    """
    attached = [p for p in org.policies if p.targets and not p.aws_managed]
    best, best_score = catalog.Params(), -1
    for params in _candidate_params(attached):
        score = sum(len(match_guardrails(p.content, params)) * len(p.targets) for p in attached)
        if score > best_score:
            best, best_score = params, score
    return best


# -- names -------------------------------------------------------------------------------------------

def account_names(accounts: Sequence[OrgAccount]) -> dict[str, tuple[str, str | None]]:
    """Account id → (the name guardgen.yaml uses, why it differs from AWS's, or None).

    guardgen.yaml names accounts uniquely, in at most 50 characters; AWS allows two accounts of
    the same name. A name shared by several accounts (or too long, or empty) becomes the name
    with ``-<account id>`` appended, shortened to fit; the name is only the config's handle on
    the account (it is never deployed), so nothing in AWS changes.
    """
    counts = Counter(a.name for a in accounts)
    taken = {a.name for a in accounts if counts[a.name] == 1 and 0 < len(a.name) <= MAX_ACCOUNT_NAME}
    out: dict[str, tuple[str, str | None]] = {}
    for a in sorted(accounts, key=lambda a: a.id):
        if a.name in taken:
            out[a.id] = (a.name, None)
            continue
        why = ("another account has the same name" if counts[a.name] > 1
               else "AWS returned no name" if not a.name
               else f"longer than {MAX_ACCOUNT_NAME} characters")
        base = a.name[: MAX_ACCOUNT_NAME - 13].rstrip() or "account"
        name, n = f"{base}-{a.id}", 1
        while name in taken:  # only if some account is literally named so
            n += 1
            name = f"{base[: MAX_ACCOUNT_NAME - 15]}-{a.id}-{n}"
        taken.add(name)
        out[a.id] = (name, why)
    return out


# -- YAML --------------------------------------------------------------------------------------------

def scalar(value: str, *, quote: bool = False) -> str:
    """One YAML scalar that reads back as exactly ``value``, on one line.

    Plain when it is a simple word that YAML resolves to a string (and ``quote`` is false);
    double-quoted otherwise. Printable ASCII without ``"`` or ``\\`` needs no escape inside
    double quotes; anything else goes through PyYAML's emitter, which escapes line breaks
    (``\\n``, NEL, U+2028), control characters and whatever else YAML could misread. Account
    ids are quoted always: unquoted, a YAML 1.2 reader would take ``012345678901`` for a number.
    """
    plain = not quote and _PLAIN.match(value)
    # types-PyYAML leaves Resolver.resolve unannotated; it returns the tag as a str.
    if plain and _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) == _STR:  # type: ignore[no-untyped-call]
        return value
    if _SAFE_QUOTED.match(value):
        return f'"{value}"'
    text: str = yaml.safe_dump(value, default_style='"', allow_unicode=True, width=float("inf"))
    return text.rstrip("\n")


def quoted(value: str) -> str:
    """A name for a comment: JSON-escaped to ASCII, so it cannot break the line or the comment."""
    return json.dumps(value)


def _policy_label(p: OrgPolicy) -> str:
    return f"{quoted(p.name)} ({p.id})"


def _only_full_access(policies: Sequence[OrgPolicy]) -> bool:
    return len(policies) == 1 and policies[0].aws_managed and policies[0].name == FULL_ACCESS


def where(org: Organization, target_id: str) -> str:
    """A target for a comment or a note, its names JSON-escaped: ``OU "A/B"``."""
    if target_id == org.root_id:
        return "the root"
    found = org.unit(target_id)
    if found is not None:
        return "OU " + quoted("/".join(found.path))
    account = org.account(target_id)
    return f"account {quoted(account.name)} ({account.id})" if account else target_id


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, indent: int, text: str) -> None:
        self.lines.append(" " * indent + text)

    def comment(self, indent: int, text: str) -> None:
        self.lines.append(" " * indent + "# " + text)

    def guardrails(self, indent: int, ids: Sequence[tuple[str, str]]) -> None:
        if not ids:
            return
        self.line(indent, "guardrails:")
        for gid, why in ids:
            self.line(indent + 2, f"- {scalar(gid)}  # {why}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def check_break_glass(break_glass: Sequence[str]) -> None:
    """Refuse break-glass principals guardgen.yaml would reject, before anything is read.

    Raises:
        ImportInputError: None given, or one that is not an IAM role or user ARN.
    """
    bad = [a for a in break_glass if not re.match(PRINCIPAL_ARN, a)]
    if bad or not break_glass:
        raise ImportInputError(
            f"--break-glass must be IAM role or user ARNs such as {DEFAULT_BREAK_GLASS}, got "
            + (", ".join(map(repr, bad)) or "none"))


# -- the import ---------------------------------------------------------------------------------------

def import_config(org: Organization, *, home_region: str,
                  break_glass: Sequence[str] = (DEFAULT_BREAK_GLASS,),
                  scp_limits: str = "current") -> Imported:
    """Write a guardgen.yaml that reproduces ``org``.

    Args:
        org: The fetched organization.
        home_region: The region guardgen's Terraform providers use (the session's region).
        break_glass: Principals every guardgen Deny spares (``--break-glass``).
        scp_limits: The SCP quota profile to write (``current`` or ``legacy``).

    Returns:
        The config text, with what replaced what and what to check.

    Raises:
        ImportInputError: A break-glass ARN or the region guardgen.yaml would reject.
    """
    check_break_glass(break_glass)
    if not re.match(REGION, home_region):
        raise ImportInputError(f"{home_region!r} is not an AWS region name; pass --region")
    siblings = Counter((u.parent_id, u.name) for u in org.units)
    twins = sorted(u.id for u in org.units if siblings[(u.parent_id, u.name)] > 1)
    if twins:
        raise ImportInputError(
            "OUs with the same name under the same parent: " + ", ".join(
                f"{where(org, t)} ({t})" for t in twins) + ". AWS refuses such names and "
            "guardgen.yaml tells OUs apart by name; rename all but one in AWS and run the import again")
    limits = PROFILES[scp_limits]
    params = choose_params(org)
    names = account_names(org.accounts)
    notes: list[str] = []
    mgmt = org.management_account_id

    # Every target guardgen may attach to: the root, each OU read, each account inside an OU
    # except the management account (SCPs never restrict it; the config refuses guardrails there).
    in_ou = [a for a in org.accounts if org.unit(a.parent_id) is not None]
    targets = [org.root_id, *(u.id for u in org.units), *(a.id for a in in_ou if a.id != mgmt)]
    managed = set(targets)
    matches = {p.id: match_guardrails(p.content, params) for p in org.policies}
    guardrails: dict[str, list[tuple[str, str]]] = {}
    unmanaged: dict[str, list[OrgPolicy]] = {}
    for t in targets:
        for p in org.attached(t):
            if matches[p.id]:
                have = guardrails.setdefault(t, [])
                have += [(g, f"was SCP {_policy_label(p)}") for g in matches[p.id]
                         if g not in {x for x, _ in have}]
            else:
                unmanaged.setdefault(t, []).append(p)

    counts = {t: len(unmanaged.get(t, ())) for t in targets}
    most = max(counts.values(), default=0)
    reserved = max(1, most)
    if reserved >= limits.policies_per_target:
        full = [where(org, t) for t in targets if counts[t] >= limits.policies_per_target - 1]
        notes.append(f"{', '.join(full)} already use {most} of {limits.policies_per_target} SCP "
                     f"slots with SCPs guardgen does not manage; reserved_scp_slots is set to "
                     f"{limits.policies_per_target - 1}, the most the config accepts, and guardgen "
                     "cannot attach anything there until some of them are removed")
        reserved = limits.policies_per_target - 1

    replaced = tuple(Replaced(p, matches[p.id]) for p in org.policies
                     if matches[p.id] and any(t in managed for t in p.targets))
    spared = {a for r in replaced for s in statements_of(r.policy.content) or ()
              for a in without_exemption(s)[1]}
    if spared - set(break_glass):
        notes.append("SCPs that became guardrails spare principals that break_glass_principals "
                     "does not list: " + ", ".join(sorted(spared - set(break_glass)))
                     + ". guardgen's SCPs spare only break_glass_principals; add them with "
                     "--break-glass if they must keep working")
    if replaced:
        notes.append("Once `guardgen generate` and `terraform apply` have attached guardgen's "
                     "SCPs, detach and delete the SCPs they replace: " + ", ".join(
                         _policy_label(r.policy) for r in replaced)
                     + ". Until then both are attached and each takes a slot.")
    for p in org.policies:
        for t in p.targets:
            if t == mgmt and matches[p.id]:
                notes.append(f"SCP {_policy_label(p)} is attached to the management account, "
                             "which SCPs never restrict: it protects nothing there and is not "
                             "imported there")
            elif t not in managed and t != mgmt and matches[p.id]:
                notes.append(f"SCP {_policy_label(p)} is attached to {where(org, t)}, "
                             "which sits directly under the root: guardgen.yaml has no place for "
                             "such accounts, so its guardrails are not imported there")
    at_root = [a for a in org.accounts if a.parent_id == org.root_id and a.id != mgmt]
    if at_root:
        notes.append("Accounts directly under the root are not in guardgen.yaml (it lists "
                     "accounts by OU); the root's guardrails still apply to them: "
                     + ", ".join(f"{quoted(a.name)} ({a.id})" for a in at_root))
    renamed = [(a, names[a.id]) for a in in_ou if names[a.id][1]]
    for a, (name, why) in renamed:
        notes.append(f"account {a.id} is {quoted(name)} in guardgen.yaml ({why}: AWS calls it "
                     f"{quoted(a.name)}); the name is only the config's handle on the account")

    w = _Writer()
    w.comment(0, f"guardgen.yaml imported from AWS Organization {org.id} by `guardgen import`.")
    w.comment(0, "OUs carry their id, so `guardgen generate` adopts them with import blocks.")
    w.comment(0, "SCPs whose statements are guardgen guardrails became guardrail ids; the others stay")
    w.comment(0, "as they are and count against each target's SCP slots (reserved_scp_slots).")
    for n in notes:
        for i, part in enumerate(textwrap.wrap(n, 96, break_long_words=False, break_on_hyphens=False)):
            w.comment(0, ("NOTE: " if i == 0 else "  ") + part)
    w.line(0, "version: 1")
    w.line(0, "organization:")
    w.comment(2, "An organization id; the name appears only in the generated README. Rename at will.")
    w.line(2, f"name: {scalar(org.id)}")
    w.line(2, f"management_account_id: {scalar(mgmt, quote=True)}")
    w.comment(2, "The region `guardgen import` ran in; the Terraform providers use it.")
    w.line(2, f"home_region: {scalar(home_region)}")
    w.line(2, f"scp_limits: {scalar(scp_limits)}")
    only_full = {t for t in targets if _only_full_access(unmanaged.get(t, []))}
    w.comment(2, "SCPs guardgen does not manage count against each target's slots, FullAWSAccess "
                 "included (it must")
    w.comment(2, f"stay attached: guardgen's SCPs only deny). FullAWSAccess alone: {len(only_full)} "
                 f"of {len(targets)} targets.")
    for t in targets:
        if t not in only_full:
            w.comment(2, f"  {where(org, t)}: "
                         + (", ".join(_policy_label(p) for p in unmanaged.get(t, [])) or "none"))
    peak = next((where(org, t) for t in targets if counts[t] == most), "the root")
    w.comment(2, "guardgen.yaml has one number for every target, so it is the most any target has "
                 f"({most}, at {peak}).")
    w.comment(2, "Targets with fewer leave a slot unused rather than let guardgen plan more SCPs "
                 "than AWS lets one hold.")
    w.line(2, f"reserved_scp_slots: {reserved}")
    if tuple(break_glass) == (DEFAULT_BREAK_GLASS,):
        w.comment(2, "The default of `guardgen import`: the role AWS creates in accounts it creates. "
                     "Every guardgen Deny")
        w.comment(2, "spares these principals; pass --break-glass ARN (repeatable) to name yours.")
    else:
        w.comment(2, "Given with --break-glass: every guardgen Deny spares these principals.")
    w.line(2, "break_glass_principals:")
    for arn in break_glass:
        w.line(4, f"- {scalar(arn)}")
    if params.allowed_regions is not None:
        w.comment(2, "From the SCPs that became deny-unapproved-regions.")
        w.line(2, "allowed_regions: [" + ", ".join(scalar(r) for r in params.allowed_regions) + "]")
    if params.imds_max_hop_limit != catalog.Params().imds_max_hop_limit:
        w.comment(2, "From the SCPs that became require-imdsv2.")
        w.line(2, f"imds_max_hop_limit: {params.imds_max_hop_limit}")
    w.guardrails(2, guardrails.get(org.root_id, []))

    def _unmanaged_comment(target: str, indent: int) -> None:
        policies = unmanaged.get(target, [])
        if not _only_full_access(policies):
            w.comment(indent, "SCPs not managed by guardgen here: "
                      + (", ".join(_policy_label(p) for p in policies) or "none (not even FullAWSAccess)"))

    def unit(u: OrgUnit, indent: int) -> None:
        w.line(indent, f"- name: {scalar(u.name)}")
        w.line(indent + 2, f"id: {scalar(u.id)}")
        _unmanaged_comment(u.id, indent + 2)
        w.guardrails(indent + 2, guardrails.get(u.id, []))
        accounts = org.members(u.id)
        if accounts:
            w.line(indent + 2, "accounts:")
        for a in sorted(accounts, key=lambda a: (names[a.id][0], a.id)):
            name, why = names[a.id]
            w.line(indent + 4, f"- name: {scalar(name)}")
            if why:
                w.comment(indent + 6, f"AWS name {quoted(a.name)}: {why}")
            w.line(indent + 6, f"id: {scalar(a.id, quote=True)}")
            if a.email and _EMAIL.fullmatch(a.email) and len(a.email) <= 254:
                w.line(indent + 6, f"email: {scalar(a.email)}")
            elif a.email:  # informational only: left out rather than fail the whole import
                w.comment(indent + 6, f"AWS email {quoted(a.email)} is not an address guardgen "
                          "accepts; left out")
            if a.id == mgmt:
                w.comment(indent + 6, "the management account: SCPs never restrict it")
            else:
                _unmanaged_comment(a.id, indent + 6)
                if a.status != "ACTIVE":
                    w.comment(indent + 6, f"status {a.status}")
            w.guardrails(indent + 6, guardrails.get(a.id, []) if a.id != mgmt else [])
        children = org.children(u.id)
        if children:
            w.line(indent + 2, "units:")
        for c in children:
            unit(c, indent + 4)

    top = org.children(org.root_id)
    w.line(0, "units:" if top else "units: []")
    for u in top:
        unit(u, 2)
    listed = {p.id for ps in unmanaged.values() for p in ps}
    return Imported(w.text(), reserved, replaced,
                    tuple(p for p in org.policies if p.id in listed), tuple(notes))
