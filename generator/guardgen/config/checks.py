"""Loading: parsed YAML validated into a :class:`~.models.Config`, every problem located.

Model validation first (types, patterns, unknown keys), then cross-reference checks: the OU
tree, guardrail ids, the IAM sections' references and the monitoring section. Checks that need
what is built from the config (trust policy shapes, policy sizes) belong to planning; a caller
passes them in ``checks`` so that every problem is still reported at once, located the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .. import catalog
from ..catalog import alarms as alarm_catalog
from ..errors import ConfigError
from ..hcl import slug
from ..policy.limits import CLOUDWATCH_RETENTION_DAYS, MAX_OU_DEPTH, PROFILES
from . import source
from .custom import ACCOUNT_ID, GUARDRAIL_ID
from .custom_load import guardrails as custom_guardrails
from .custom_load import resolve as resolve_custom
from .models import (
    EMAIL,
    PRINCIPAL_ARN,
    REGION,
    Config,
    CrossAccountRole,
    Grant,
    Loaded,
    walk,
)
from .placement import Resolver, roles
from .source import Loc

# A check of a valid model: (dotted path, message) pairs.
Check = Callable[[Config], list[tuple[Loc, str]]]
# What SNS accepts as an email endpoint, conservatively: no quotes, spaces or control characters.
_EMAIL = re.compile(EMAIL)


_FRIENDLY = {
    "string_pattern_mismatch": {
        ACCOUNT_ID: "must be exactly 12 digits, quoted (\"012345678901\")",
        GUARDRAIL_ID: "must be a guardrail id such as deny-root-user",
        REGION: "must be an AWS region name such as eu-west-1",
        PRINCIPAL_ARN: "must be an IAM role or user ARN such as "
        "arn:aws:iam::*:role/BreakGlassAdmin",
        EMAIL: "must be an email address such as aws+shop@example.com",
    },
}


def _message(err: Any) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "string_pattern_mismatch":
        msg = _FRIENDLY[kind].get(ctx.get("pattern", ""), err["msg"])
        return f"{msg}, got {source.quote(str(value))}"
    if kind == "extra_forbidden":
        return "unknown key (check its spelling and indentation)"
    if kind == "value_error":  # our own validators' messages, without pydantic's prefix
        return str(err["msg"]).removeprefix("Value error, ")
    if kind == "string_type" and isinstance(value, bool):
        return ("must be a quoted string (YAML reads an unquoted yes, no, on, off, true or false "
                "as a boolean)")
    if kind == "string_type" and isinstance(value, int):
        return "must be a quoted string (unquoted numbers lose leading zeros)"
    return str(err["msg"])


def _cross_check(cfg: Config, src: source.Located) -> list[str]:
    problems: list[str] = []

    def err(loc: Loc, msg: str) -> None:
        problems.append(f"{src.where(loc)}: {source.dotted(loc)}: {msg}")

    params = cfg.params
    org = cfg.organization
    # Custom guardrails attach by id like the catalog's (a clashing id is reported on its own).
    known = {**{g.id: g for g in custom_guardrails(cfg)}, **catalog.BY_ID}

    def check_guardrails(ids: list[str], loc: Loc) -> None:
        seen: set[str] = set()
        for i, gid in enumerate(ids):
            g = known.get(gid)
            if g is None:
                err((*loc, i), f"unknown guardrail {gid!r} (run `guardgen guardrails` for the list)")
                continue
            if gid in seen:
                err((*loc, i), f"guardrail {gid!r} is listed twice")
            seen.add(gid)
            for name in catalog.missing_parameters(g, params):
                err((*loc, i), f"guardrail {gid!r} needs organization.{name}")

    check_guardrails(org.guardrails, ("organization", "guardrails"))
    if org.reserved_scp_slots >= _slot_limit(org.scp_limits):
        err(("organization", "reserved_scp_slots"),
            f"{org.reserved_scp_slots} reserved slots leave no room for guardgen's SCPs under the "
            f"{org.scp_limits!r} limit of {_slot_limit(org.scp_limits)} per target")
    if org.reserved_rcp_slots >= PROFILES[org.scp_limits].rcps_per_target:
        err(("organization", "reserved_rcp_slots"),
            f"{org.reserved_rcp_slots} reserved slots leave no room for guardgen's RCPs: AWS "
            f"allows {PROFILES[org.scp_limits].rcps_per_target} per target")

    ids: dict[str, Loc] = {}
    names: dict[str, Loc] = {}
    for path, loc, unit in walk(cfg.units):
        depth = len(path)
        if depth > MAX_OU_DEPTH:
            err((*loc, "name"), f"OU {unit.name!r} is {depth} levels below the root; AWS allows "
                f"at most {MAX_OU_DEPTH}")
        check_guardrails(unit.guardrails, (*loc, "guardrails"))
        siblings: dict[str, int] = {}
        for j, child in enumerate(unit.units):
            if child.name in siblings:
                err((*loc, "units", j, "name"),
                    f"duplicate OU name {child.name!r} (also units[{siblings[child.name]}])")
            siblings.setdefault(child.name, j)
        for k, acct in enumerate(unit.accounts):
            aloc = (*loc, "accounts", k)
            if acct.id in ids:
                err((*aloc, "id"), f"account id {acct.id} is also used at {source.dotted(ids[acct.id])}")
            ids.setdefault(acct.id, aloc)
            if acct.name in names:
                err((*aloc, "name"),
                    f"account name {acct.name!r} is also used at {source.dotted(names[acct.name])}")
            names.setdefault(acct.name, aloc)
            check_guardrails(acct.guardrails, (*aloc, "guardrails"))
            if acct.id == org.management_account_id and acct.guardrails:
                err((*aloc, "guardrails"), "SCPs never restrict the management account, so these "
                    "guardrails would protect nothing; remove them")
    top: dict[str, int] = {}
    for j, unit in enumerate(cfg.units):
        if unit.name in top:
            err(("units", j, "name"), f"duplicate OU name {unit.name!r} (also units[{top[unit.name]}])")
        top.setdefault(unit.name, j)
    return problems


def _slot_limit(profile: str) -> int:
    return PROFILES[profile].policies_per_target


def _statement_problems(grants: Sequence[Grant], loc: Loc, err: Callable[[Loc, str], None]) -> None:
    for i, g in enumerate(grants):
        if "*" in g.actions and "*" in g.resources:
            err((*loc, "statements", i), "grants Action \"*\" on Resource \"*\" (full admin); "
                "name the actions and resources the role needs")
        for op in (g.conditions or {}):
            if op.startswith(("ForAllValues:", "ForAnyValue:")):
                err((*loc, "statements", i, "conditions", op),
                    f"{op.split(':')[0]} is true when the key is missing or single-valued keys "
                    "are used; use a plain operator")


def check_iam(cfg: Config) -> list[tuple[Loc, str]]:
    """Every reference problem in the IAM sections, as (dotted path, message)."""
    problems: list[tuple[Loc, str]] = []

    def err(loc: Loc, msg: str) -> None:
        problems.append((loc, msg))

    res = Resolver(cfg)
    boundaries = {b.name: b for b in cfg.permission_boundaries}
    enforced_in: dict[str, str] = {}  # account → enforced boundary name
    seen_b: dict[str, int] = {}
    for i, b in enumerate(cfg.permission_boundaries):
        loc: Loc = ("permission_boundaries", i)
        # Boundaries become Terraform identifiers and SCP guardrail ids by their slug.
        b_slug = slug(b.name, "-")
        if b_slug in seen_b:
            err((*loc, "name"), f"boundary name {b.name!r} clashes with "
                f"permission_boundaries[{seen_b[b_slug]}]")
        seen_b.setdefault(b_slug, i)
        for acct in res.resolve(b, loc, err):
            if b.enforce and acct in enforced_in and enforced_in[acct] != b.name:
                err(loc, f"account {acct} would have two enforced boundaries ({enforced_in[acct]} "
                    f"and {b.name}); a role can carry only one")
            if b.enforce:
                enforced_in.setdefault(acct, b.name)
    b_accounts = {b.name: set(res.resolve(b)) for b in cfg.permission_boundaries}

    names_in_account: dict[tuple[str, str], Loc] = {}
    for section, i, role in roles(cfg):
        loc = (section, i)
        for acct in res.resolve(role, loc, err):
            key = (acct, role.name)
            if key in names_in_account:
                err((*loc, "name"), f"role {role.name!r} already exists in {acct} (from "
                    f"{'.'.join(map(str, names_in_account[key]))})")
            names_in_account.setdefault(key, loc)
            forced = enforced_in.get(acct)
            if role.boundary and forced and role.boundary != forced:
                err((*loc, "boundary"), f"{acct} enforces boundary {forced}, so the SCP would "
                    f"deny creating this role with {role.boundary}")
            if role.boundary and role.boundary in b_accounts and acct not in b_accounts[role.boundary]:
                err((*loc, "boundary"), f"boundary {role.boundary} is not created in {acct}; add "
                    "the account to the boundary's accounts or units")
        if role.boundary and role.boundary not in boundaries:
            err((*loc, "boundary"), f"unknown permission boundary {role.boundary!r}")
        _statement_problems(role.statements, loc, err)
        if isinstance(role, CrossAccountRole) and role.allow_account_root and not role.external_id:
            err(loc, f"{role.name!r}: allow_account_root needs an external_id")
    return problems


def check_monitoring(cfg: Config) -> list[tuple[Loc, str]]:
    """Every problem in the monitoring section, as (dotted path, message)."""
    m = cfg.monitoring
    if m is None:
        return []
    problems: list[tuple[Loc, str]] = []
    for i, a in enumerate(m.alarms):
        if a not in alarm_catalog.BY_ID:
            problems.append((("monitoring", "alarms", i), f"unknown alarm {a!r} (run `guardgen "
                             "alarms` for the list)"))
    if len(set(m.alarms)) != len(m.alarms):
        problems.append((("monitoring", "alarms"), "an alarm is listed twice"))
    if m.trail == "existing" and not m.log_group_name:
        problems.append((("monitoring", "trail"), "trail: existing needs log_group_name, the "
                         "CloudWatch Logs group the trail already delivers to"))
    if m.log_retention_days not in CLOUDWATCH_RETENTION_DAYS:
        problems.append((("monitoring", "log_retention_days"), "CloudWatch Logs accepts only "
                         + ", ".join(map(str, CLOUDWATCH_RETENTION_DAYS)) + " days"))
    for i, email in enumerate(m.notify_emails):
        if not _EMAIL.fullmatch(email):
            problems.append((("monitoring", "notify_emails", i), f"{email!r} is not an email "
                             "address"))
    if m.account is not None:
        ids = cfg.account_ids()
        if m.account not in ids:
            problems.append((("monitoring", "account"), f"unknown account {m.account!r}"))
        elif ids[m.account] == cfg.organization.management_account_id:
            problems.append((("monitoring", "account"), "that is the management account; leave "
                             "`account` out to deploy there"))
    return problems


def validate(src: source.Located, path: Path, checks: Sequence[Check] = ()) -> Loaded:
    """Validate parsed YAML into a :class:`Loaded` config or raise :class:`ConfigError`.

    Args:
        src: The parsed YAML with its positions.
        path: The config file.
        checks: More checks of the valid model (planning's limits), run with the IAM and
            monitoring checks once the OU tree and guardrail ids are sound.

    Raises:
        ConfigError: With every problem found, each as ``file:line:col: dotted.path: message``.
    """
    if not isinstance(src.data, dict):
        raise ConfigError([f"{src.file}:1:1: expected a mapping with `version: 1` and "
                           "`organization:` at the top level"])
    try:
        cfg = Config.model_validate(src.data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            problems.append(f"{src.where(loc)}: {source.dotted(loc)}: {_message(e)}")
        raise ConfigError(problems) from None
    cfg, problems = resolve_custom(cfg, path.parent, src)
    problems += _cross_check(cfg, src)
    if not problems:  # these checks resolve names that the checks above vouch for
        found = [*check_iam(cfg), *check_monitoring(cfg)]
        for more in checks:
            found += more(cfg)
        problems = [f"{src.where(loc)}: {source.dotted(loc)}: {msg}" for loc, msg in found]
    if problems:
        raise ConfigError(problems)
    return Loaded(cfg, path, src)


def load(path: Path, display: str | None = None, checks: Sequence[Check] = ()) -> Loaded:
    """Read, parse and validate a guardgen.yaml (see :func:`validate` for ``checks``)."""
    return validate(source.load(path, display), path, checks)


def loads(text: str, file: str = "guardgen.yaml", checks: Sequence[Check] = ()) -> Loaded:
    """Validate config text (tests and ``init``)."""
    return validate(source.loads(text, file), Path(file), checks)


