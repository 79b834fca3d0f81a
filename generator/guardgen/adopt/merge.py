"""What was found in Terraform, written into guardgen.yaml: custom guardrails and attachments.

:func:`merge` turns each policy into a ``custom_guardrails:`` entry (its statements exactly as
deployed, hence ``applies_to_everyone: true``; identical policies become one guardrail) and each
attachment into the guardrail's id in the ``guardrails:`` list of the root, the OU or the account
it targets. The config's text is edited in place, so its comments, order and style stay; every
target that guardgen.yaml does not describe is reported. Pure: text and findings in, text out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from .. import catalog
from ..config.models import Config, walk
from ..policy.lint import normalized_statement
from .policies import Found, describe_target
from .terraform import OuRef, RootRef

Target = tuple[str, ...]  # ("root",), ("ou", *path) or ("account", name)

_ROOT_ID = re.compile(r"^r-[0-9a-z]{4,32}$")
_OU_ID = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")
_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
_SID_CHARS = re.compile(r"[^A-Za-z0-9]")
_RESERVED_SID = "EnforceBoundary"
_ORDER = {k: n for n, k in enumerate(("Sid", "Effect", "Principal", "NotPrincipal", "Action",
                                      "NotAction", "Resource", "NotResource", "Condition"))}
_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
WHY_EVERYONE = ("Imported from Terraform with its statements exactly as deployed, which spare "
                "no break-glass principal. Set applies_to_everyone to false to let guardgen "
                "spare break_glass_principals.")


@dataclass(frozen=True)
class Guardrail:
    """A custom guardrail made from one policy (or several identical ones)."""

    id: str
    title: str
    description: str
    type: str  # "scp" | "rcp"
    statements: tuple[dict[str, Any], ...]
    origins: tuple[str, ...]  # "file:line (address)" of each policy it stands for


@dataclass
class Adoption:
    """The new config text and what it took."""

    text: str
    guardrails: list[Guardrail] = field(default_factory=list)
    attached: dict[Target, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-")


def _camel(guardrail_id: str) -> str:
    return "".join(part.capitalize() for part in guardrail_id.split("-"))


def _catalog_sids(params: catalog.Params) -> set[str]:
    sids: set[str] = set()
    for g in catalog.ALL:
        try:
            sids.update(str(s["Sid"]) for s in g.build(params) if "Sid" in s)
        except (ValueError, KeyError, TypeError):
            continue  # a guardrail this organization lacks parameters for
    return sids


def _fix_sids(statements: Sequence[dict[str, Any]], gid: str, taken: set[str]) -> tuple[dict[str, Any], ...]:
    """Sids guardgen accepts: letters and digits, unique, none of guardgen's own. A Sid does not
    change what a statement means, so a clashing one is renamed rather than reported."""
    out = []
    for n, s in enumerate(statements, start=1):
        stmt = dict(s)
        sid = _SID_CHARS.sub("", str(stmt.get("Sid", "")))
        if not sid or sid in taken or sid.startswith(_RESERVED_SID):
            sid = _camel(gid) + (str(n) if len(statements) > 1 else "")
            k = 2
            while sid in taken:
                sid, k = f"{_camel(gid)}{n}x{k}", k + 1
        taken.add(sid)
        # IAM's own order reads best (jsonencode sorts keys alphabetically).
        stmt["Sid"] = sid
        out.append({k: stmt[k] for k in sorted(stmt, key=lambda k: (_ORDER.get(k, len(_ORDER)), k))})
    return tuple(out)


def _signature(statements: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(sorted(normalized_statement(s) for s in statements))


def _targets(cfg: Config) -> tuple[dict[str, Target], dict[str, Target], set[Target]]:
    """OU id → target, account id → target, and every OU path target."""
    by_ou_id: dict[str, Target] = {}
    by_account: dict[str, Target] = {}
    paths: set[Target] = set()
    for path, _, unit in walk(cfg.units):
        paths.add(("ou", *path))
        if unit.id:
            by_ou_id[unit.id] = ("ou", *path)
        for a in unit.accounts:
            by_account[a.id] = ("account", a.name)
    return by_ou_id, by_account, paths


def _ou_path(ref: OuRef, by_ou_id: Mapping[str, Target]) -> tuple[str, ...] | None:
    parent = ref.parent
    if isinstance(parent, RootRef):
        return (ref.name,)
    if isinstance(parent, OuRef):
        up = _ou_path(parent, by_ou_id)
        return None if up is None else (*up, ref.name)
    if isinstance(parent, str) and parent in by_ou_id:
        return (*by_ou_id[parent][1:], ref.name)
    if isinstance(parent, str) and _ROOT_ID.match(parent):
        return (ref.name,)
    return None


def _target(value: Any, cfg: Config, maps: tuple[dict[str, Target], dict[str, Target], set[Target]],
            ) -> tuple[Target | None, str]:
    """Where guardgen.yaml attaches what ``target_id`` names, or None and why not."""
    by_ou_id, by_account, paths = maps
    if isinstance(value, RootRef) or (isinstance(value, str) and _ROOT_ID.match(value)):
        return ("root",), ""
    if isinstance(value, OuRef):
        path = _ou_path(value, by_ou_id)
        if path is None:
            return None, f"the parent of {value} is not known from the files"
        if ("ou", *path) in paths:
            return ("ou", *path), ""
        return None, f"{value} is OU {'/'.join(path)}, which guardgen.yaml does not list under units:"
    if isinstance(value, str) and _OU_ID.match(value):
        if value in by_ou_id:
            return by_ou_id[value], ""
        return None, (f"no OU of guardgen.yaml has id: {value}; add the id to its unit (guardgen "
                      "import, reading AWS, writes them)")
    if isinstance(value, str) and _ACCOUNT_ID.match(value):
        if value == cfg.organization.management_account_id:
            return None, ("it is the management account, which SCPs never restrict: the "
                          "attachment protects nothing")
        if value in by_account:
            return by_account[value], ""
        return None, f"account {value} is not in guardgen.yaml (accounts are listed by OU)"
    return None, f"{describe_target(value)} is not a root, OU or account id"


def merge(found: Found, cfg: Config, text: str, *, origin: str) -> Adoption:
    """Custom guardrails and attachments for ``found``, written into the config ``text``.

    Args:
        found: What :func:`~.policies.read` found.
        cfg: The config ``text`` loads as.
        text: The config's text.
        origin: The Terraform folder, as the user named it (for comments).

    Returns:
        The new text, what went in, and every policy or attachment that did not, located.
    """
    result = Adoption(text, problems=list(found.problems), notes=list(found.notes))
    taken_ids = set(catalog.BY_ID) | {c.id for c in cfg.custom_guardrails}
    taken_sids = _catalog_sids(cfg.params) | {
        str(s["Sid"]) for c in cfg.custom_guardrails for s in c.statements or [] if "Sid" in s}
    by_signature: dict[tuple[str, ...], Guardrail] = {}
    by_address: dict[str, Guardrail] = {}
    # A custom guardrail the config already has with the same statements is that policy: an
    # import run twice adds nothing the second time.
    for c in cfg.custom_guardrails:
        if c.statements and not c.parameters:
            by_signature.setdefault((c.type, *_signature(c.statements)), Guardrail(
                c.id, c.title, c.description, c.type, tuple(c.statements), (f"custom_guardrails {c.id}",)))
    for p in found.policies:
        where = f"{p.where} ({p.address})"
        sig = (p.type,) + _signature(p.statements)
        same = by_signature.get(sig)
        if same is not None:
            merged = Guardrail(same.id, same.title, same.description, same.type, same.statements,
                               (*same.origins, where))
            if same in result.guardrails:
                result.guardrails[result.guardrails.index(same)] = merged
            by_signature[sig] = merged
            by_address.update({a: merged for a, g in by_address.items() if g is same})
            by_address[p.address] = merged
            result.notes.append(f"{where}: the same statements as {same.origins[0]}: "
                                f"{same.id} stands for both")
            continue
        base = _slug(p.name) or _slug(p.address.rsplit(".", 1)[-1]) or "imported"
        gid, n = base, 2
        while gid in taken_ids or gid.startswith("enforce-boundary-"):
            gid, n = f"{base}-{n}", n + 1
        taken_ids.add(gid)
        description = p.description.strip() or f"Imported from {p.address} by guardgen import."
        g = Guardrail(gid, (p.name.strip() or gid)[:200], description[:2000], p.type,
                      _fix_sids(p.statements, gid, taken_sids), (where,))
        result.guardrails.append(g)
        by_signature[sig] = g
        by_address[p.address] = g

    maps = _targets(cfg)
    attached = _existing(cfg)
    for a in found.attachments:
        imported = by_address.get(a.policy)
        if imported is None:
            result.problems.append(f"{a.where}: attaches {a.policy}, which was not imported")
            continue
        target, why = _target(a.target, cfg, maps)
        if target is None:
            result.problems.append(f"{a.where}: {a.policy} is attached to "
                                   f"{describe_target(a.target)}: {why}")
            continue
        have = attached.setdefault(target, [])
        if imported.id not in have:
            have.append(imported.id)
            result.attached.setdefault(target, []).append(imported.id)
    unattached = [g for g in result.guardrails
                  if not any(g.id in ids for ids in result.attached.values())]
    for g in unattached:
        result.notes.append(f"{g.origins[0]}: attached nowhere guardgen.yaml describes; "
                            f"{g.id} is defined but not attached")
    result.text = _edit(text, result, origin)
    return result


def _existing(cfg: Config) -> dict[Target, list[str]]:
    out: dict[Target, list[str]] = {("root",): list(cfg.organization.guardrails)}
    for path, _, unit in walk(cfg.units):
        out[("ou", *path)] = list(unit.guardrails)
        for a in unit.accounts:
            out[("account", a.name)] = list(a.guardrails)
    return out


# -- editing the YAML text ----------------------------------------------------------------------------

def scalar(value: str) -> str:
    """One YAML scalar on one line that reads back as exactly ``value`` (a string)."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.,/()-]*[A-Za-z0-9_.)]|[A-Za-z0-9]", value) \
            and yaml.safe_load(value) == value:
        return value
    dumped: str = yaml.safe_dump(value, default_style='"', allow_unicode=True, width=float("inf"))
    return dumped.rstrip("\n").removesuffix("\n...")


def _guardrail_yaml(g: Guardrail, origin: str) -> str:
    # File names and for_each keys may hold anything: nothing may end the comment's line.
    lines = [_LINE_BREAKS.sub("?", f"  # Imported by `guardgen import --terraform {origin}` from "
                              f"{', '.join(g.origins)}.")]
    lines += [f"  - id: {g.id}", f"    title: {scalar(g.title)}",
              f"    description: {scalar(g.description)}"]
    if g.type != "scp":
        lines.append(f"    type: {g.type}")
    lines += ["    applies_to_everyone: true", f"    why_everyone: {scalar(WHY_EVERYONE)}"]
    denies = _denies(g.statements)
    if denies:
        lines.append("    denies:")
        lines += [f"      - {{ action: {scalar(a)} }}" for a in denies]
    lines.append("    statements:")
    body = yaml.safe_dump(list(g.statements), default_flow_style=False, sort_keys=False,
                          allow_unicode=True, width=100)
    lines += [f"      {line}" if line else line for line in body.rstrip("\n").split("\n")]
    return "\n".join(lines) + "\n"


def _denies(statements: Iterable[Mapping[str, Any]]) -> list[str]:
    """Requests a guardrail's own statements deny for certain: an exact action on ``*`` of a
    statement without conditions (one per statement, for ``guardgen verify``)."""
    out: list[str] = []
    for s in statements:
        actions = s.get("Action")
        actions = [actions] if isinstance(actions, str) else actions
        if s.get("Condition") or s.get("Resource") not in ("*", ["*"]) or "Principal" in s \
                or not isinstance(actions, list):
            continue
        exact = next((a for a in actions if isinstance(a, str) and _ACTION.match(a)), None)
        if exact and exact not in out:
            out.append(exact)
    return out


def _get(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                found: yaml.Node = v
                return found
    return None


def _line_end(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end < 0 else end


def _nodes(root: yaml.Node) -> dict[Target, yaml.MappingNode]:
    """The mapping of the organization, each unit and each account, by target."""
    out: dict[Target, yaml.MappingNode] = {}
    org = _get(root, "organization")
    if isinstance(org, yaml.MappingNode):
        out[("root",)] = org

    def units(seq: yaml.Node | None, path: tuple[str, ...]) -> None:
        if not isinstance(seq, yaml.SequenceNode):
            return
        for u in seq.value:
            name = _get(u, "name")
            if not isinstance(u, yaml.MappingNode) or not isinstance(name, yaml.ScalarNode):
                continue
            here = (*path, name.value)
            out[("ou", *here)] = u
            accounts = _get(u, "accounts")
            if isinstance(accounts, yaml.SequenceNode):
                for a in accounts.value:
                    aname = _get(a, "name")
                    if isinstance(a, yaml.MappingNode) and isinstance(aname, yaml.ScalarNode):
                        out[("account", aname.value)] = a
            units(_get(u, "units"), here)

    units(_get(root, "units"), ())
    return out


def _insert_ids(text: str, node: yaml.MappingNode, ids: list[str]) -> tuple[int, int, str]:
    """The edit (start, end, replacement) adding ``ids`` to a mapping's guardrails list."""
    items = ", ".join(scalar(i) for i in ids)
    existing = _get(node, "guardrails")
    if isinstance(existing, yaml.SequenceNode):
        if existing.flow_style:
            close = existing.end_mark.index - 1  # the ]
            sep = ", " if existing.value else ""
            return close, close, sep + items
        last = existing.value[-1]
        at = _line_end(text, last.end_mark.index)
        col = existing.start_mark.column
        return at, at, "".join(f"\n{' ' * col}- {scalar(i)}" for i in ids)
    if existing is not None:  # `guardrails:` with nothing after it
        at = existing.start_mark.index
        return at, existing.end_mark.index, f"[{items}]"
    if node.flow_style:
        last = node.value[-1][1]
        at = last.end_mark.index
        return at, at, f", guardrails: [{items}]"
    first_key = node.value[0][0]
    col = first_key.start_mark.column
    name = _get(node, "name")
    if isinstance(name, yaml.ScalarNode) and name.start_mark.line == name.end_mark.line:
        at = _line_end(text, name.end_mark.index)
        return at, at, f"\n{' ' * col}guardrails: [{items}]"
    at = first_key.start_mark.index
    return at, at, f"guardrails: [{items}]\n{' ' * col}"


def _edit(text: str, result: Adoption, origin: str) -> str:
    if not result.guardrails and not result.attached:
        return text
    if not text.endswith("\n"):
        text += "\n"
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    nodes = _nodes(root) if root is not None else {}
    edits: list[tuple[int, int, str]] = []
    for target, ids in result.attached.items():
        node = nodes.get(target)
        if node is None:
            result.problems.append(f"guardrails for {' '.join(target)} could not be placed: no "
                                   "such entry in the config's text")
            continue
        edits.append(_insert_ids(text, node, ids))
    if result.guardrails:
        edit = _section_edit(text, root, "".join(_guardrail_yaml(g, origin)
                                                 for g in result.guardrails))
        if edit is None:
            result.problems.append("custom_guardrails: is written in flow style ([...]) with "
                                   "entries; write it as a block list so guardgen can add to it")
            return text
        edits.append(edit)
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _section_edit(text: str, root: yaml.Node | None, body: str) -> tuple[int, int, str] | None:
    """The edit adding ``body`` (list entries) to custom_guardrails, creating it if needed."""
    section = _get(root, "custom_guardrails") if root is not None else None
    if isinstance(section, yaml.SequenceNode) and not section.flow_style:
        end = section.end_mark
        # A block list ends where the next token starts: insert at the start of that line.
        at = end.index - end.column if end.index < len(text) else len(text)
        return at, at, _reindent(body, section.start_mark.column)
    if isinstance(section, yaml.SequenceNode) and not section.value:
        return section.start_mark.index, section.end_mark.index, "\n" + body.rstrip("\n")
    if section is None:
        return len(text), len(text), "custom_guardrails:\n" + body
    return None


def _reindent(body: str, indent: int) -> str:
    """``body`` (entries indented by two) at the indentation of an existing list."""
    return "\n".join(" " * indent + line[2:] if line else line for line in body.split("\n"))


__all__ = ["Adoption", "Guardrail", "Target", "WHY_EVERYONE", "merge", "scalar"]
