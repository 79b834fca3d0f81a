"""Who a resource control policy's Deny statements spare: the data perimeter's trusted accounts and
AWS services, and break-glass principals, but only those inside the organization. Pure.

An RCP applies to every principal in the world, so the SCP way of sparing break-glass principals
(``ArnNotLike`` on ``aws:PrincipalArn``) would be a hole here: ``arn:aws:iam::*:role/BreakGlass``
also names a role anyone can create in their own account. "Spare break-glass principals of this
organization" is ``S and not (break-glass and in the organization)``, which one statement cannot
say (its conditions are ANDed), so the Deny ``S`` becomes two:

* ``S`` with ``ArnNotLike`` on the break-glass principals (everyone else), and
* its companion ``S`` with ``ArnLike`` on them and ``aws:PrincipalOrgID`` not this organization
  (principals that only borrow a break-glass name).

A statement that already matches only principals outside the organization (a negated test of
``aws:PrincipalOrgID`` against this organization) or only AWS service principals (``Bool``
``aws:PrincipalIsAWSService`` ``true``) cannot reach a break-glass principal and is left as it is;
likewise trusted services are not added to a statement that never matches a service principal
(the companion is one: it names IAM principals), nor trusted accounts to one that matches only
service principals. So every exemption written is one that some request needs, and removing any
of them changes what `guardgen verify` sees.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

Statement = dict[str, Any]

PRINCIPAL_ARN = "aws:PrincipalArn"
PRINCIPAL_ACCOUNT = "aws:PrincipalAccount"
PRINCIPAL_ORG_ID = "aws:PrincipalOrgID"
PRINCIPAL_SERVICE = "aws:PrincipalServiceName"
IS_SERVICE = "aws:PrincipalIsAWSService"
# The Sid suffix of a companion statement.
OUTSIDE_ORG = "OutsideOrg"


def _values(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [("true" if v else "false") if isinstance(v, bool) else str(v) for v in items]


def _tests(stmt: Statement) -> list[tuple[str, str, list[str]]]:
    """(operator, key, values) of every test of the statement's Condition, lower-cased names."""
    cond = stmt.get("Condition")
    if not isinstance(cond, dict):
        return []
    return [(op.lower(), key.lower(), _values(values)) for op, block in cond.items()
            if isinstance(block, dict) for key, values in block.items()]


def only_outside(stmt: Statement, org_id: str | None) -> bool:
    """Tell whether the statement matches only principals outside organization ``org_id``."""
    return org_id is not None and any(
        key == PRINCIPAL_ORG_ID.lower() and op in ("stringnotequals", "stringnotequalsifexists")
        and org_id in values for op, key, values in _tests(stmt))


def only_services(stmt: Statement) -> bool:
    """Tell whether the statement matches only AWS service principals."""
    return any(key == IS_SERVICE.lower() and op == "bool" and values == ["true"]
               for op, key, values in _tests(stmt))


def never_services(stmt: Statement) -> bool:
    """Tell whether the statement never matches an AWS service principal."""
    return any(key == IS_SERVICE.lower() and op in ("bool", "boolifexists") and values == ["false"]
               for op, key, values in _tests(stmt))


def _block(cond: dict[str, Any], operator: str) -> dict[str, Any]:
    for op, block in cond.items():
        if op.lower() == operator.lower() and isinstance(block, dict):
            return block
    block = {}
    cond[operator] = block
    return block


def _widen(cond: dict[str, Any], operator: str, key: str, values: Sequence[str]) -> None:
    """Add values to ``operator: {key: [...]}``: for a negated operator, sparing more."""
    block = _block(cond, operator)
    have_key = next((k for k in block if k.lower() == key.lower()), key)
    have = _values(block[have_key]) if have_key in block else []
    block[have_key] = list(dict.fromkeys([*have, *values]))


def _require(cond: dict[str, Any], key: str, values: Sequence[str]) -> None:
    """Add a positive glob test of ``key``; a key already tested positively gets an equivalent
    operator of its own, since adding values to its test would widen it instead."""
    for operator in ("ArnLike", "ArnEquals", "StringLike"):
        taken = any(op.lower() == operator.lower() and isinstance(block, dict)
                    and any(k.lower() == key.lower() for k in block) for op, block in cond.items())
        if not taken:
            _block(cond, operator)[key] = list(values)
            return
    raise ValueError(f"the statement already tests {key} with ArnLike, ArnEquals and StringLike; "
                     "guardgen cannot add the break-glass test beside them")


def spare_rcp(statements: Sequence[Statement], *, break_glass: Sequence[str], org_id: str | None,
              trusted_accounts: Sequence[str], trusted_services: Sequence[str]) -> list[Statement]:
    """The RCP statements with every Deny sparing who the organization trusts.

    Args:
        statements: The guardrail's statements, as built (not modified).
        break_glass: Break-glass principal ARN patterns (spared inside the organization only).
        org_id: The organization id (``o-...``); needed when a Deny must spare break-glass.
        trusted_accounts: Account ids outside the organization whose principals are spared
            (``aws:PrincipalAccount``).
        trusted_services: AWS service principals spared (``aws:PrincipalServiceName``).

    Returns:
        New statements: each Deny with its exemptions, followed by its companion when it needs
        one (see the module docstring).

    Raises:
        ValueError: A Deny must spare break-glass principals but ``org_id`` is not known.
    """
    out: list[Statement] = []
    for original in statements:
        if original.get("Effect") != "Deny":
            out.append(copy.deepcopy(original))
            continue
        accounts = bool(trusted_accounts) and not only_services(original)
        stmt = copy.deepcopy(original)
        cond: dict[str, Any] = stmt.get("Condition") or {}
        if accounts:
            _widen(cond, "StringNotEqualsIfExists", PRINCIPAL_ACCOUNT, trusted_accounts)
        if trusted_services and not never_services(original):
            _widen(cond, "StringNotEqualsIfExists", PRINCIPAL_SERVICE, trusted_services)
        if not break_glass or only_services(original) or only_outside(original, org_id):
            if cond:
                stmt["Condition"] = cond
            out.append(stmt)
            continue
        if org_id is None:
            raise ValueError("an RCP Deny spares break-glass principals only inside the "
                             "organization, so it needs organization.org_id")
        _widen(cond, "ArnNotLike", PRINCIPAL_ARN, break_glass)
        stmt["Condition"] = cond
        # The companion matches IAM principals by name only: no service principal reaches it,
        # so it spares the trusted accounts but needs no service exemption.
        companion = copy.deepcopy(original)
        other: dict[str, Any] = companion.setdefault("Condition", {})
        if accounts:
            _widen(other, "StringNotEqualsIfExists", PRINCIPAL_ACCOUNT, trusted_accounts)
        _require(other, PRINCIPAL_ARN, break_glass)
        _widen(other, "StringNotEqualsIfExists", PRINCIPAL_ORG_ID, [org_id])
        if isinstance(companion.get("Sid"), str):
            companion["Sid"] += OUTSIDE_ORG
        out += [stmt, companion]
    return out
