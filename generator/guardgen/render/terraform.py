"""Rendering: a :class:`~guardgen.plan.Plan` in, ``{relative path: text}`` out. No disk writes.

Every ``{{ expression }}`` in a Terraform template is finalized into an HCL literal by
:func:`guardgen.hcl.literal`; only identifiers (:class:`~guardgen.hcl.Raw`) and text already
rendered by a filter here (:class:`_Rendered`) pass through as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import jinja2

from .. import forked, hcl
from ..plan import OuPlan, Plan, Policy, Target, monitoring, policy_documents
from ..plan.iam import AccountPlan, RolePlan
from ..policy.limits import DECLARATIVE_MAX_BYTES
from ..resources import data_dir, module_files

MANAGEMENT = "management"
# Below this many account roots a second process costs more than it saves.
_FORK_FROM = 400
# The child's part of the account roots: this process also renders everything else.
_CHILD_SHARE = 0.8
_ROOT_ID = hcl.Raw("data.aws_organizations_organization.this.roots[0].id")


class _Rendered(str):
    """Text a filter has already made safe for its destination."""

    __slots__ = ()


def _tf_finalize(value: Any) -> str:
    if isinstance(value, _Rendered):
        return str(value)
    return hcl.literal(value)


# Anything that could end a line in HCL or in a renderer, plus other control characters.
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def comment(value: Any) -> _Rendered:
    """Text for a ``#`` comment: a name with a newline must not end the comment."""
    return _Rendered(_LINE_BREAKS.sub("?", str(value)))


def label(value: Any) -> _Rendered:
    """A quoted block label or object key."""
    return _Rendered(hcl.string(str(value)))


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


_MD_ANY = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029&\\`*_\[\]<>|~]")


def markdown(value: Any) -> str:
    """Text for a Markdown table cell or heading: no markup, no HTML, one line."""
    if isinstance(value, _Rendered):
        return str(value)
    text = str(value)
    if not _MD_ANY.search(text):  # most names: nothing to escape
        return text
    text = _LINE_BREAKS.sub(" ", text).replace("&", "&amp;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def _code(value: Any) -> _Rendered:
    text = _LINE_BREAKS.sub(" ", str(value)).replace("`", "'")
    return _Rendered(f"`{text}`")


def _codes(values: Any) -> _Rendered:
    return _Rendered(", ".join(_code(v) for v in values))


@cache
def _environment(kind: str) -> jinja2.Environment:
    finalize: Callable[[Any], str] = _tf_finalize if kind == "tf" else markdown
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("templates"))),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        finalize=finalize,
        auto_reload=False,  # templates do not change during a run: no stat per render
    )
    env.filters.update(comment=comment, label=label, code=_code, codes=_codes, raw=hcl.Raw)
    return env


_ATTR = re.compile(
    r'^(?P<indent>[ ]*)(?P<key>[A-Za-z_][A-Za-z0-9_-]*|"(?:[^"\\\n]|\\.)*")[ ]*=[ ]*(?P<rest>.*)$',
    re.MULTILINE)


def align(text: str) -> str:
    """Align ``=`` of consecutive single-line attributes, as ``terraform fmt`` does.

    Templates are written without alignment (but see ``_ALIGNED_IN_SOURCE``); values are
    single-line literals (escaping turns every newline into ``\\n``), so a line is an
    attribute exactly when it matches ``_ATTR``.
    An attribute whose value opens a multi-line expression stands alone, as in hclwrite.
    Only the attribute lines are visited, and only those that change are rebuilt: this runs
    on every file of every account.
    """
    out: list[str] = []
    done = 0  # text[:done] is in out
    group: list[re.Match[str]] = []

    def flush() -> None:
        nonlocal done
        if not group:
            return
        width = max(m.end("key") - m.start("key") for m in group)
        for m in group:
            key_end, rest_start = m.end("key"), m.start("rest")
            if (key_end - m.start("key") == width and rest_start - key_end == 3
                    and text[key_end:rest_start] == " = "):
                continue  # already as aligned
            out.append(text[done:key_end])
            out.append(" " * (width - (key_end - m.start("key"))) + " = ")
            done = rest_start
        group.clear()

    for m in _ATTR.finditer(text):
        if group and (m.start() != group[-1].end() + 1
                      or m.end("indent") - m.start() != group[0].end("indent") - group[0].start()):
            flush()
        if text[m.start("rest"):m.end()].rstrip().endswith(("{", "[", "(")):
            flush()
            group.append(m)  # stands alone: width is its own
            flush()
        else:
            group.append(m)
    flush()
    out.append(text[done:])
    return "".join(out)


def _header(source: str, markdown_file: bool = False) -> _Rendered:
    text = (f"Generated by guardgen from {comment(source)}. Do not edit by hand: change the "
            "config and run `guardgen generate`.")
    return _Rendered(f"<!-- {text.replace('--', '- -')} -->" if markdown_file else f"# {text}")


def _parent_ref(ou: OuPlan) -> hcl.Raw:
    if ou.parent is None:
        return _ROOT_ID
    return hcl.Raw(f"aws_organizations_organizational_unit.{ou.parent}.id")


def _target_ref(target: Target) -> str:
    if target.kind == "root":
        return _ROOT_ID
    if target.kind == "ou":
        return hcl.Raw(f"aws_organizations_organizational_unit.{target.ou}.id")
    assert target.account_id is not None
    return _Rendered(hcl.string(target.account_id))


def _policy_comment(p: Policy, plan: Plan) -> _Rendered:
    limit = {"scp": plan.limits.max_bytes, "rcp": plan.limits.rcp_max_bytes,
             "declarative-ec2": DECLARATIVE_MAX_BYTES}[p.policy_type]
    return comment(f"{p.target.display}: {', '.join(p.guardrails)} "
                   f"({p.size:,} of {limit:,} bytes)")


# Templates written aligned, as `terraform fmt` leaves them: every key is literal and the
# longest key of each group is always there, so no value or condition changes the alignment.
# They make up most of a large tree (the account roots), so they skip align(); tests prove
# align() leaves their output as it is. Every other template is aligned after rendering.
_ALIGNED_IN_SOURCE = frozenset({"account/main.tf.j2", "root/providers.tf.j2", "root/backend.tf.j2"})


def _tf(template: str, **context: Any) -> str:
    text = _environment("tf").get_template(template).render(**context)
    return text if template in _ALIGNED_IN_SOURCE else align(text)


@cache
def _versions(header: str) -> str:
    """versions.tf depends on the header only: the same text in every root."""
    return _tf("root/versions.tf.j2", header=header)


def _root_files(root: str, kind: str, names: tuple[str, ...], *, account_id: str, runs_as: str,
                assume_role: bool, **context: Any) -> dict[str, str]:
    """The files of one Terraform root: versions, provider, backend, and the root's own."""
    plan: Plan = context["plan"]
    files = {f"{root}/versions.tf": _versions(context["header"]),
             f"{root}/providers.tf": _tf("root/providers.tf.j2", account_id=account_id,
                                         runs_as=runs_as, assume_role=assume_role, **context)}
    for name in names:
        files[f"{root}/{name}.tf"] = _tf(f"{kind}/{name}.tf.j2", **context)
    if plan.backend is not None:
        key = "/".join(p for p in (plan.backend.key_prefix.strip("/"), root, "terraform.tfstate")
                       if p)
        files[f"{root}/backend.tf"] = _tf("root/backend.tf.j2", backend=plan.backend,
                                          state_key=key, **context)
    return files


def render(plan: Plan, source: str) -> dict[str, str]:
    """Render every file of the output tree. ``source`` is the config path shown in headers."""
    cfg = plan.config
    header = _header(source)
    common = {"header": header, "plan": plan, "org": cfg.organization,
              "parent_ref": _parent_ref, "target_ref": _target_ref,
              "policy_comment": _policy_comment}
    org = cfg.organization
    deploy = f"assuming guardgen's deploy role {org.deploy_role_name} in"
    management = ("organization", "scps", "placement", "outputs",
                  *(("rcps",) if plan.rcps else ()), *(("declarative",) if plan.declarative else ()))
    files = _root_files(MANAGEMENT, "management", management,
                        account_id=org.management_account_id, assume_role=False,
                        runs_as=f"Runs with credentials for the management account of {org.name}.",
                        **common)

    def account_roots(accounts: Sequence[AccountPlan]) -> dict[str, str]:
        roots: dict[str, str] = {}
        for account in accounts:
            roots.update(_root_files(
                account.directory, "account", ("main", "outputs"), account=account,
                account_id=account.id, assume_role=True,
                runs_as=f"Runs from the management account's credentials, {deploy} "
                f"{account.name} ({account.id}).", **common))
        return roots

    accounts = plan.accounts
    # Most of a large organization's rendering: part of the account roots on the second core
    # while this process renders the others, the README and the policy documents.
    split = round(len(accounts) * (1 - _CHILD_SHARE))
    with forked.maybe(lambda: account_roots(accounts[split:]),
                      when=len(accounts) >= _FORK_FROM) as rest:
        files.update(account_roots(accounts[:split]))
        files.update(_shared_files(plan, source, header, common, deploy))
        files.update(rest.result())
    return dict(sorted(files.items()))


def _shared_files(plan: Plan, source: str, header: str, common: dict[str, Any],
                  deploy: str) -> dict[str, str]:
    """Everything but the management and account roots: monitoring, policy documents, modules,
    the README."""
    files: dict[str, str] = {}
    mon = plan.monitoring
    if mon is not None:
        runs_as = (f"Runs from the management account's credentials, {deploy} the delegated "
                   f"security account {mon.account_name} ({mon.account_id})." if mon.delegated
                   else f"Runs with credentials for the management account ({mon.account_id}).")
        files.update(_root_files(mon.directory, "monitoring", ("main", "outputs"),
                                 account_id=mon.account_id, assume_role=mon.delegated,
                                 runs_as=runs_as, mon=mon, key_alias=monitoring.KEY_ALIAS,
                                 topic_name=monitoring.TOPIC_NAME, trail_name=monitoring.TRAIL_NAME,
                                 cloudtrail_role=monitoring.CLOUDTRAIL_ROLE,
                                 namespace=monitoring.NAMESPACE, **common))
    texts: dict[tuple[int, str], str] = {}  # planning shares a document among the accounts
    for doc in policy_documents(plan):
        key = (id(doc.document), doc.kind)
        if key not in texts:
            texts[key] = doc.text
        files[doc.path] = texts[key]
    for pol in plan.declarative:
        files[f"{MANAGEMENT}/policies/{pol.ident}.json"] = pol.content
    used = {"scp"}
    used |= {"cloudtrail-alarms"} if mon is not None else set()
    used |= {"organization-trail"} if mon is not None and mon.create_trail else set()
    used |= {"permission-boundary"} if any(a.boundaries for a in plan.accounts) else set()
    used |= {"oidc-provider"} if any(a.oidc for a in plan.accounts) else set()
    used |= {"iam-role"} if any(a.roles for a in plan.accounts) else set()
    for rel, text in module_files(used).items():
        if rel.endswith(".tf"):
            text = f"{header}\n{text}"
        elif rel.endswith(".md"):
            text = f"{_header(source, markdown_file=True)}\n{text}"
        files[rel] = text
    files["README.md"] = _environment("md").get_template("README.md.j2").render(
        header=_header(source, markdown_file=True), plan=plan, by_target=_by_target(plan),
        used=plan.guardrails, trust_summary=_trust_summary,
        extended=bool(plan.rcps or plan.declarative
                      or any(g.origin for g in plan.guardrails)),
        type_name=_TYPE_NAMES)
    return files


def _trust_summary(role: RolePlan) -> _Rendered:
    """Who may assume a role, in one Markdown cell."""
    stmt = role.trust["Statement"][0]
    principal = stmt["Principal"]
    if "Service" in principal:
        who = [principal["Service"]]
    elif "Federated" in principal:
        cond = stmt["Condition"]
        subs = next(v for op in cond.values() for k, v in op.items() if k.endswith(":sub"))
        who = list(subs)
    else:
        who = list(principal["AWS"])
        ext = stmt.get("Condition", {}).get("StringEquals", {}).get("sts:ExternalId")
        if ext:
            who.append("with external id")
    return _Rendered("<br>".join(str(_code(w)) if w != "with external id" else w for w in who))


_TYPE_NAMES = {"scp": "SCP", "rcp": "RCP", "declarative-ec2": "EC2 declarative policy"}


def _by_target(plan: Plan) -> list[tuple[Target, list[str]]]:
    names: dict[str, list[str]] = {}
    for p in (*plan.policies, *plan.rcps, *plan.declarative):
        names.setdefault(p.target.ident, []).append(p.name)
    return [(t, names.get(t.ident, [])) for t in plan.targets]
