"""GG3xx rules. Over-broad grants: wildcards, NotAction/NotResource in an Allow."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ... import iamcatalog
from ..model import BEST_PRACTICES_DOC, Doc, Hit, Rule, Stmt

if TYPE_CHECKING:
    pass

# -- rules: over-broad grants --------------------------------------------------------------------

def allows(doc: Doc) -> Iterator[Stmt]:
    return (s for s in doc.statements if s.effect == "Allow")


def _all_actions(value: str) -> bool:
    prefix, sep, name = value.partition(":")
    return value == "*" or (bool(sep) and prefix.strip("*") == "" and name.strip("*") == "")


def _check_allow_all_actions(doc: Doc) -> Iterator[Hit]:
    for s in allows(doc):
        for value, pointer in s.strings("Action"):
            if _all_actions(value):
                yield pointer, f"Allow with Action {value!r} grants every action of every service"


def _abac(s: Stmt) -> bool:
    """Tell whether a statement scopes its resources by their tags (attribute-based access
    control): a test that must match on aws:ResourceTag/... or <service>:ResourceTag/...."""
    return any(c.key.partition(":")[2].lower().startswith("resourcetag/")
               for c in s.conditions if c in s.positive(c.key))


def _check_wildcard_resource(doc: Doc) -> Iterator[Hit]:
    for s in allows(doc):
        stars = [p for v, p in s.strings("Resource") if v == "*"]
        if not stars or _abac(s):
            continue
        scoped: list[str] = []
        for value, _ in s.strings("Action"):
            if _all_actions(value):
                scoped = []  # GG301 already says it all
                break
            matched = iamcatalog.expand(value)
            taking = [a for a in matched if iamcatalog.resource_types(a)]
            # A wildcard counts when most of what it matches takes resources: s3:Get* does,
            # ec2:Describe* does not (a handful of its 200 actions do; the rest need '*').
            if ("*" not in value and "?" not in value) or 2 * len(taking) > len(matched):
                scoped += taking
        if scoped:
            scoped = list(dict.fromkeys(scoped))
            more = f" and {len(scoped) - 3} more" if len(scoped) > 3 else ""
            named = ", ".join(scoped[:3]) + more
            yield stars[0], (f"Resource '*' where the actions can be scoped to resources: {named}; "
                             "name the ARNs they need")


def _check_service_wildcard(doc: Doc) -> Iterator[Hit]:
    for s in allows(doc):
        for value, pointer in s.strings("Action"):
            prefix, sep, name = value.partition(":")
            if sep and name == "*" and prefix.strip("*"):
                yield pointer, (f"Allow with {value!r} grants every action of the service, "
                                "including permissions management and actions AWS adds later")


def _check_allow_not_action(doc: Doc) -> Iterator[Hit]:
    for s in allows(doc):
        if "NotAction" in s.data:
            yield s.at("NotAction"), ("Allow with NotAction grants every other action of every "
                                      "service, including ones AWS adds later; list the actions")


def _check_allow_not_resource(doc: Doc) -> Iterator[Hit]:
    for s in allows(doc):
        if "NotResource" in s.data:
            yield s.at("NotResource"), ("Allow with NotResource grants the actions on every other "
                                        "resource, including ones created later; list the resources")



RULES: tuple[Rule, ...] = (
    Rule("GG301", "allow-all-actions", "Allow grants every action ('*')", "error",
         frozenset({"identity", "resource", "key"}),
         "Action '*' in an Allow is administrator access. Not checked in SCPs (FullAWSAccess is "
         "Allow * on *, and SCPs grant nothing: they only cap) nor in permission boundaries, which "
         "are ceilings, not grants: a boundary that allows * and denies a few things is a "
         "documented pattern.", BEST_PRACTICES_DOC, _check_allow_all_actions),
    Rule("GG302", "allow-wildcard-resource", "Allow on Resource '*' for actions that take resources",
         "warning", frozenset({"identity"}),
         "Resource '*' is only needed by actions that have no resource type (List*, Describe* and "
         "the like); for the others the statement should name ARNs. A wildcard action counts when "
         "most of the actions it matches take resources (s3:Get* does, ec2:Describe* does not). "
         "Not checked in boundaries "
         "(ceilings: svc:* on * there caps a role to a service, and grants nothing by itself), "
         "SCPs (caps too), key policies (there '*' means the key itself) or resource policies; "
         "nor when a test on aws:ResourceTag/... or <service>:ResourceTag/... must match: that is "
         "attribute-based access control, which scopes by tag instead of by ARN.",
         "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
         _check_wildcard_resource),
    Rule("GG303", "allow-not-action", "Allow with NotAction", "error",
         frozenset({"identity", "resource", "key", "trust"}),
         "An Allow with NotAction grants every action not listed, of every service, including "
         "services AWS launches later. In SCPs and boundaries an Allow is a ceiling, and a "
         "NotAction there only removes actions from it, so they are not checked.",
         "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html",
         _check_allow_not_action),
    Rule("GG304", "allow-not-resource", "Allow with NotResource", "warning",
         frozenset({"identity", "resource", "key", "trust"}),
         "An Allow with NotResource grants its actions on every resource not listed, including "
         "resources created later. Not checked in SCPs and boundaries (ceilings).",
         "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html",
         _check_allow_not_resource),
    Rule("GG305", "allow-service-wildcard", "Allow grants every action of a service", "info",
         frozenset({"identity"}),
         "svc:* includes the service's permissions-management actions and every action AWS adds "
         "later; list the actions the workload calls. Not checked in boundaries, where svc:* is "
         "the usual way to cap a role to a set of services.", BEST_PRACTICES_DOC, _check_service_wildcard),
)
