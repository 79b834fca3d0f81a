"""Organization policies and their attachments, read from a Terraform configuration.

:func:`read` walks every module instance of a :class:`~.terraform.Program` and returns each
``aws_organizations_policy`` (and each call of cloudposse's SCP module) as statements, each
``aws_organizations_policy_attachment`` as a policy and a target, and every construct it could
not translate as ``file:line: why``. Nothing is guessed: a policy is read exactly or reported.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .evaluate import Files, Untranslatable, to_text
from .syntax import Where
from .terraform import Instance, OuRef, PolicyRef, Program, RemoteModule, ResourceValue, RootRef

SCP = "SERVICE_CONTROL_POLICY"
# The policy types that become custom guardrails, as guardgen.yaml names them.
TYPES = {SCP: "scp", "RESOURCE_CONTROL_POLICY": "rcp"}
# Resources that describe the organization itself: guardgen.yaml's units and accounts say that.
_STRUCTURE = ("aws_organizations_organization", "aws_organizations_organizational_unit",
              "aws_organizations_account")


@dataclass(frozen=True)
class Policy:
    """An SCP found in the configuration, its statements exactly as deployed."""

    address: str
    where: Where
    name: str
    description: str
    statements: tuple[dict[str, Any], ...]
    type: str = "scp"  # "scp" | "rcp"


@dataclass(frozen=True)
class Attachment:
    """``policy`` (an address) attached to ``target``: a RootRef, an OuRef or an id string."""

    policy: str
    target: Any
    where: Where


@dataclass
class Found:
    policies: list[Policy] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what could not be translated, located
    notes: list[str] = field(default_factory=list)  # what was left out on purpose


def read(files: Files) -> Found:
    """Every SCP and attachment of the Terraform configuration whose root module ``files`` reads.

    Raises:
        Untranslatable: the root folder itself cannot be read.
    """
    found = Found()
    program = Program(files, found.problems)
    for inst in program.instances():
        if isinstance(inst, RemoteModule):
            _remote(inst, found)
        else:
            _module(program, inst, found)
    return found


def _problem(found: Found, where: Where | None, fallback: Where, what: str, reason: str) -> None:
    found.problems.append(f"{where or fallback}: {what}: {reason}")


def _module(program: Program, inst: Instance, found: Found) -> None:
    for (rtype, name), block in inst.source.resources.items():
        what = inst.prefix(f"{rtype}.{name}")
        if rtype in _STRUCTURE:
            found.notes.append(f"{block.where}: {what} is part of the organization's structure; "
                               "guardgen.yaml describes OUs and accounts itself (units:), so it "
                               "is not imported")
            continue
        if rtype not in ("aws_organizations_policy", "aws_organizations_policy_attachment"):
            continue
        try:
            objects = program.collection(inst, block, ResourceValue)
        except Untranslatable as exc:
            _problem(found, exc.where, block.where, what, exc.reason)
            continue
        items = objects if isinstance(objects, list) else list(objects.values()) \
            if isinstance(objects, dict) else [objects]
        for obj in items:
            try:
                if rtype == "aws_organizations_policy":
                    policy = _policy(obj)
                    if policy is not None:
                        found.policies.append(policy)
                    else:
                        kind = to_text(obj.attr("type"), block.where)
                        found.problems.append(
                            f"{block.where}: {obj.address} is a {kind}; only service and "
                            "resource control policies become guardgen guardrails")
                else:
                    found.attachments.append(_attachment(obj))
            except Untranslatable as exc:
                _problem(found, exc.where, block.where, obj.address, exc.reason)


def _policy(obj: ResourceValue) -> Policy | None:
    where = obj.block.where
    kind = to_text(obj.attr("type"), where) if obj.has("type") else SCP
    if kind not in TYPES:
        return None
    content = obj.attr("content")
    name = to_text(obj.attr("name"), where) if obj.has("name") else obj.block.labels[1]
    description = to_text(obj.attr("description"), where) if obj.has("description") else ""
    return Policy(obj.address, where, name, description or "", _statements(content, where),
                  TYPES[kind])


def _attachment(obj: ResourceValue) -> Attachment:
    policy = obj.attr("policy_id")
    if not isinstance(policy, PolicyRef):
        raise Untranslatable(obj.block.where, f"policy_id is {policy!r}, not an "
                             "aws_organizations_policy of this configuration")
    try:
        target = obj.attr("target_id")
    except Untranslatable as exc:
        raise Untranslatable(exc.where, f"target_id: {exc.reason}") from None
    return Attachment(policy.address, target, obj.block.where)


def _statements(content: Any, where: Where) -> tuple[dict[str, Any], ...]:
    """The statements of a policy's content (its JSON text), checked for shape."""
    text = to_text(content, where)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Untranslatable(where, f"the content is not JSON ({exc.msg} at character {exc.pos})") from None
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list) or not statements \
            or not all(isinstance(s, dict) for s in statements):
        raise Untranslatable(where, "the content is not a policy document with statements")
    allow = [s.get("Sid") or f"statement {i + 1}" for i, s in enumerate(statements)
             if s.get("Effect") == "Allow"]
    if allow:
        raise Untranslatable(where, f"it allows ({', '.join(map(str, allow))}); an allow-list SCP "
                             "works only where FullAWSAccess is detached, and guardgen keeps "
                             "FullAWSAccess attached, so it cannot become a guardrail")
    bad = [i + 1 for i, s in enumerate(statements) if s.get("Effect") != "Deny"]
    if bad:
        raise Untranslatable(where, f"statement(s) {bad} have no Effect of Deny")
    return tuple(statements)


# -- cloudposse's module -------------------------------------------------------------------------------

def _cloudposse_statement(raw: Any, where: Where) -> dict[str, Any]:
    """A statement of cloudposse's YAML catalog shape (sid, effect, actions, condition...) as IAM
    JSON, the way the module's ``aws_iam_policy_document`` renders it."""
    if not isinstance(raw, Mapping):
        raise Untranslatable(where, "a catalog statement is not a mapping")
    stmt: dict[str, Any] = {}
    if raw.get("sid"):
        stmt["Sid"] = to_text(raw["sid"], where)
    stmt["Effect"] = to_text(raw.get("effect", "Allow"), where)
    for key, out in (("actions", "Action"), ("not_actions", "NotAction"),
                     ("resources", "Resource"), ("not_resources", "NotResource")):
        values = raw.get(key)
        if values:
            values = [to_text(v, where) for v in (values if isinstance(values, list) else [values])]
            stmt[out] = values[0] if len(values) == 1 else values
    conditions: dict[str, dict[str, Any]] = {}
    condition = raw.get("condition") or raw.get("conditions") or []
    for c in condition if isinstance(condition, list) else [condition]:
        if not isinstance(c, Mapping) or not {"test", "variable", "values"} <= set(c):
            raise Untranslatable(where, f"statement {stmt.get('Sid', '')}: a condition needs test, "
                                 "variable and values")
        values = c["values"] if isinstance(c["values"], list) else [c["values"]]
        texts = [to_text(v, where) for v in values]
        conditions.setdefault(to_text(c["test"], where), {})[to_text(c["variable"], where)] = (
            texts[0] if len(texts) == 1 else texts)
    if conditions:
        stmt["Condition"] = conditions
    return stmt


def _remote(mod: RemoteModule, found: Found) -> None:
    kind = mod.kind()
    if kind == "cloudposse-yaml":
        return  # read when a policy uses its outputs
    if kind is None:
        found.problems.append(f"{mod.block.where}: {mod.address} comes from {mod.source}, which "
                              "guardgen does not read: only local modules (./, ../) and "
                              "cloudposse's SCP modules are followed")
        return
    where = mod.block.where
    address = f"{mod.address}.aws_organizations_policy.this"
    try:
        if mod.arg("enabled", True) is False:
            return
        raw = mod.arg("service_control_policy_statements")
        if not isinstance(raw, list):
            raise Untranslatable(where, "service_control_policy_statements is not a list")
        statements = _statements(json.dumps({"Statement": [_cloudposse_statement(s, where)
                                                           for s in raw]}), where)
        description = mod.arg("service_control_policy_description", "") or ""
        found.policies.append(Policy(address, where, mod.address.rsplit(".", 1)[-1],
                                     to_text(description, where), statements))
    except Untranslatable as exc:
        _problem(found, exc.where, where, mod.address, exc.reason)
        return
    try:
        found.attachments.append(Attachment(address, mod.arg("target_id"), where))
    except Untranslatable as exc:
        _problem(found, exc.where, where, mod.address, f"target_id: {exc.reason}")


def describe_target(target: Any) -> str:
    """A target for a message."""
    if isinstance(target, RootRef):
        return "the organization root"
    if isinstance(target, OuRef):
        return f"OU {target.name!r} ({target.address})"
    return repr(target)


__all__ = ["Attachment", "Found", "Policy", "SCP", "describe_target", "read"]
